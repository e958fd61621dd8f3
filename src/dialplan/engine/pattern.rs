//! Destination patterns in the dial-plan notation operators know from Asterisk-style PBXs:
//! literal `+`, digits, `*`, `#`; `x` any digit, `n` 2–9, `z` 1–9; a trailing `.` for one or
//! more further characters of any kind. Parsed once at compile time; matching is a loop over
//! bytes without allocation.

/// Longest pattern accepted (an E.164 number is at most 16 characters with its `+`).
pub const MAX_LEN: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Element {
    Literal(u8),
    Digit { low: u8, high: u8 },
}

impl Element {
    fn accepts(self, byte: u8) -> bool {
        match self {
            Element::Literal(l) => byte == l,
            Element::Digit { low, high } => (low..=high).contains(&byte),
        }
    }
}

/// A parsed destination pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    elements: Box<[Element]>,
    /// A trailing `.`: one or more further characters after the elements.
    open: bool,
}

impl Pattern {
    /// Parses `text`; the error says which character is wrong and why.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.is_empty() {
            return Err("must not be empty".into());
        }
        if text.len() > MAX_LEN {
            return Err(format!("must be at most {MAX_LEN} characters"));
        }
        let (body, open) = match text.strip_suffix('.') {
            Some(body) => (body, true),
            None => (text, false),
        };
        let mut elements = Vec::with_capacity(body.len());
        for (i, c) in body.chars().enumerate() {
            let element = match c {
                '+' if i == 0 => Element::Literal(b'+'),
                '+' => return Err(format!("'+' is only allowed first (position {})", i + 1)),
                '0'..='9' | '*' | '#' => Element::Literal(c as u8),
                'x' | 'X' => Element::Digit {
                    low: b'0',
                    high: b'9',
                },
                'n' | 'N' => Element::Digit {
                    low: b'2',
                    high: b'9',
                },
                'z' | 'Z' => Element::Digit {
                    low: b'1',
                    high: b'9',
                },
                '.' => return Err(format!("'.' is only allowed last (position {})", i + 1)),
                other => {
                    return Err(format!(
                        "unexpected {other:?} at position {}; use +, digits, *, #, x, n, z and a final .",
                        i + 1
                    ));
                }
            };
            elements.push(element);
        }
        if elements.is_empty() {
            return Err("'.' alone matches everything; leave the pattern out instead".into());
        }
        Ok(Self {
            elements: elements.into_boxed_slice(),
            open,
        })
    }

    /// The literal characters before the first wildcard: where the pattern sits in the trie and
    /// how it ranks against prefixes.
    pub fn literal_prefix(&self) -> String {
        self.elements
            .iter()
            .map_while(|e| match e {
                Element::Literal(b) => Some(*b as char),
                Element::Digit { .. } => None,
            })
            .collect()
    }

    /// Whether the whole `number` matches.
    pub fn matches(&self, number: &str) -> bool {
        let bytes = number.as_bytes();
        let fixed = self.elements.len();
        let length_ok = if self.open {
            bytes.len() > fixed
        } else {
            bytes.len() == fixed
        };
        length_ok && self.elements.iter().zip(bytes).all(|(e, b)| e.accepts(*b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_their_digit_ranges() {
        let p = Pattern::parse("+1nxxnxxxxxx").unwrap();
        assert!(p.matches("+14155550100"));
        assert!(
            !p.matches("+11555550100"),
            "an area code cannot start with 1"
        );
        assert!(!p.matches("+1415155010"), "too short");
        assert!(!p.matches("+141555501000"), "too long");
        let z = Pattern::parse("9z").unwrap();
        assert!(z.matches("91") && !z.matches("90"));
    }

    #[test]
    fn a_trailing_dot_wants_at_least_one_more_character() {
        let p = Pattern::parse("+44.").unwrap();
        assert!(p.matches("+442079460000"));
        assert!(p.matches("+449"));
        assert!(!p.matches("+44"));
        assert!(!p.matches("+33"));
    }

    #[test]
    fn literal_prefix_stops_at_the_first_wildcard() {
        assert_eq!(
            Pattern::parse("+1415555xxxx").unwrap().literal_prefix(),
            "+1415555"
        );
        assert_eq!(Pattern::parse("xxx").unwrap().literal_prefix(), "");
        assert_eq!(Pattern::parse("*67.").unwrap().literal_prefix(), "*67");
    }

    #[test]
    fn bad_patterns_say_what_is_wrong() {
        assert!(Pattern::parse("").unwrap_err().contains("empty"));
        assert!(Pattern::parse("1+2").unwrap_err().contains("'+'"));
        assert!(Pattern::parse("12.3").unwrap_err().contains("'.'"));
        assert!(Pattern::parse("12a").unwrap_err().contains("'a'"));
        assert!(Pattern::parse(".").is_err());
        assert!(Pattern::parse(&"1".repeat(33)).is_err());
    }
}
