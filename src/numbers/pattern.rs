//! Number search patterns as operators write them (`+1415555xxxx`, `+4930nxxxxxx`): digits
//! match themselves, `x` any digit, `n` 2–9, `z` 1–9. A pattern matches whole numbers (same
//! length). It compiles to an exact SQL filter: a `LIKE` text (`_` per wildcard, so the
//! literal prefix uses the index) plus a digit range per `n`/`z` position, which the store
//! inlines as `SUBSTR(…) BETWEEN` conditions (positions and digits are ours, never user text).
//!
//! Pure: no I/O.

use crate::types::text::quote_prefix;
use std::fmt;

/// One position of a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Digit(u8),
    /// `x`
    Any,
    /// `n`
    TwoToNine,
    /// `z`
    OneToNine,
}

/// A parsed pattern: `+` and 1–15 slots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern(Vec<Slot>);

/// A digit range one character of the number must fall in, for SQL: the 1-based character
/// position in the stored text (the `+` is position 1) and the lowest and highest digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigitRange {
    pub position: usize,
    pub low: char,
    pub high: char,
}

impl Pattern {
    /// Parses `+` (optional) then digits and `x`/`n`/`z` (either case); spaces and dashes are
    /// ignored. At most 15 positions, the first not `0`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let body = text.trim();
        let body = body.strip_prefix('+').unwrap_or(body);
        let mut slots = Vec::new();
        for c in body.chars() {
            let slot = match c.to_ascii_lowercase() {
                d @ '0'..='9' => Slot::Digit(d as u8 - b'0'),
                'x' => Slot::Any,
                'n' => Slot::TwoToNine,
                'z' => Slot::OneToNine,
                ' ' | '-' => continue,
                _ => {
                    return Err(format!(
                        "may contain only digits and x (any digit), n (2-9), z (1-9): {}",
                        quote_prefix(text)
                    ));
                }
            };
            slots.push(slot);
        }
        if slots.is_empty() {
            return Err("must not be empty".into());
        }
        if slots.len() > 15 {
            return Err(format!(
                "an E.164 number has at most 15 digits: {}",
                quote_prefix(text)
            ));
        }
        if slots[0] == Slot::Digit(0) {
            return Err(format!(
                "a country code does not start with 0: {}",
                quote_prefix(text)
            ));
        }
        Ok(Self(slots))
    }

    /// The `LIKE` text that matches every number of the pattern's length with its literal
    /// digits in place (numbers hold only `+` and digits, so nothing needs escaping).
    pub fn like(&self) -> String {
        let mut like = String::with_capacity(self.0.len() + 1);
        like.push('+');
        for slot in &self.0 {
            like.push(match slot {
                Slot::Digit(d) => char::from(b'0' + d),
                _ => '_',
            });
        }
        like
    }

    /// The positions `LIKE` cannot express.
    pub fn ranges(&self) -> Vec<DigitRange> {
        self.0
            .iter()
            .enumerate()
            .filter_map(|(i, slot)| {
                let (low, high) = match slot {
                    Slot::TwoToNine => ('2', '9'),
                    Slot::OneToNine => ('1', '9'),
                    _ => return None,
                };
                Some(DigitRange {
                    position: i + 2,
                    low,
                    high,
                })
            })
            .collect()
    }

    /// Whether the canonical number `number` (`+…`) matches.
    pub fn matches(&self, number: &str) -> bool {
        let Some(digits) = number.strip_prefix('+') else {
            return false;
        };
        digits.len() == self.0.len()
            && digits.bytes().zip(&self.0).all(|(b, slot)| match slot {
                Slot::Digit(d) => b == b'0' + d,
                Slot::Any => b.is_ascii_digit(),
                Slot::TwoToNine => (b'2'..=b'9').contains(&b),
                Slot::OneToNine => (b'1'..=b'9').contains(&b),
            })
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("+")?;
        for slot in &self.0 {
            let c = match slot {
                Slot::Digit(d) => char::from(b'0' + d),
                Slot::Any => 'x',
                Slot::TwoToNine => 'n',
                Slot::OneToNine => 'z',
            };
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

/// A search prefix: `+` (optional) and 1–15 digits, returned canonical (`+1415`).
pub fn prefix(text: &str) -> Result<String, String> {
    let body = text.trim();
    let body = body.strip_prefix('+').unwrap_or(body);
    let digits: String = body.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if digits.is_empty() || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "must be '+' and 1-15 digits: {}",
            quote_prefix(text)
        ));
    }
    Ok(format!("+{digits}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiles_to_like_and_ranges() {
        let p = Pattern::parse("+1415555xxxx").unwrap();
        assert_eq!(p.like(), "+1415555____");
        assert!(p.ranges().is_empty());
        let p = Pattern::parse("+1 NXX-555-xxxx").unwrap();
        assert_eq!(p.to_string(), "+1nxx555xxxx");
        assert_eq!(p.like(), "+1___555____");
        assert_eq!(
            p.ranges(),
            vec![DigitRange {
                position: 3,
                low: '2',
                high: '9'
            }]
        );
        let p = Pattern::parse("4930zx").unwrap();
        assert_eq!(p.ranges()[0].position, 6);
        assert_eq!(
            &"+4930zx"[5..6],
            "z",
            "position is 1-based in the stored text"
        );
    }

    #[test]
    fn matches_whole_numbers_only() {
        let p = Pattern::parse("+1415555xxxx").unwrap();
        assert!(p.matches("+14155550134"));
        assert!(!p.matches("+141555501345"), "longer");
        assert!(!p.matches("+1415555013"), "shorter");
        assert!(!p.matches("+14165550134"));
        assert!(!p.matches("14155550134"), "not canonical");
        let p = Pattern::parse("+1nxx555xxxx").unwrap();
        assert!(p.matches("+12125550100"));
        assert!(!p.matches("+11125550100"), "n excludes 1");
        assert!(!p.matches("+10125550100"), "n excludes 0");
        let z = Pattern::parse("+49z").unwrap();
        assert!(z.matches("+491") && z.matches("+499") && !z.matches("+490"));
    }

    #[test]
    fn refuses_garbage() {
        for bad in [
            "",
            "+",
            "+1415%",
            "+1415_555",
            "+1415555xxxy",
            "+0xx",
            "+1234567890123456",
        ] {
            assert!(Pattern::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn prefixes_are_canonical_digits() {
        assert_eq!(prefix("1415").unwrap(), "+1415");
        assert_eq!(prefix(" +44 20 ").unwrap(), "+4420");
        for bad in ["", "+", "+14a", "+1415%", "1234567890123456"] {
            assert!(prefix(bad).is_err(), "{bad:?}");
        }
    }
}
