//! Dial strings as the evaluator compares them: E.164 (`+` and digits) for everything that
//! has a country code, the dialled digits (`*`, `#` allowed) for short codes such as `911`,
//! `999` or `*67`. National formats are read with the organization's country's numbering
//! (trunk prefix, international prefix, national number lengths from `dialplans/*.toml`).
//!
//! This is deliberately minimal: the numbers room (number inventory, built in parallel on
//! another branch) owns the full E.164 type; when it lands this normaliser should defer to it
//! for E.164 and keep only the short-code rule.

use serde::{Deserialize, Serialize};

/// Longest dial string accepted (an E.164 number has at most 15 digits; short codes and
/// prefixes such as `*67` add a few).
pub const MAX_LEN: usize = 32;

/// How a country's numbers are dialled, as its template declares under `[numbering]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Numbering {
    /// ITU-T E.164 country code without `+` (`1`, `44`).
    pub country_code: String,
    /// National (trunk) prefix dialled before a national number (`1` in NANP, `0` in the UK).
    pub trunk_prefix: String,
    /// Prefix for international calls (`011` in NANP, `00` in the UK).
    pub international_prefix: String,
    /// Lengths of the national significant number (after the trunk prefix).
    pub national_lengths: Vec<usize>,
    /// Whether a national number may be dialled without the trunk prefix (NANP 10-digit
    /// dialling).
    #[serde(default)]
    pub trunk_prefix_optional: bool,
}

/// The result of reading a dial string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dialled {
    /// `+` and 1–15 digits.
    E164(String),
    /// Digits, `*` and `#` that are not a national or international number: service codes.
    Short(String),
}

impl Dialled {
    pub fn as_str(&self) -> &str {
        match self {
            Dialled::E164(s) | Dialled::Short(s) => s,
        }
    }

    pub fn into_string(self) -> String {
        match self {
            Dialled::E164(s) | Dialled::Short(s) => s,
        }
    }
}

/// Reads `input` (a bare number, `tel:` or `sip:` URI user part; spaces, dashes, dots and
/// parentheses ignored) with `numbering` (none: only `+…`, `00…` and short codes).
pub fn normalise(input: &str, numbering: Option<&Numbering>) -> Result<Dialled, String> {
    let user = strip_uri(input.trim());
    let mut text = String::with_capacity(user.len());
    for c in user.chars() {
        match c {
            '0'..='9' | '+' | '*' | '#' => text.push(c),
            ' ' | '-' | '.' | '(' | ')' => {}
            other => return Err(format!("unexpected {other:?} in the number")),
        }
    }
    if text.is_empty() {
        return Err("is empty".into());
    }
    if text.len() > MAX_LEN {
        return Err(format!("must be at most {MAX_LEN} characters"));
    }
    if let Some(digits) = text.strip_prefix('+') {
        return e164(digits);
    }
    if text.contains('+') {
        return Err("'+' is only allowed first".into());
    }
    let international = numbering.map_or("00", |n| n.international_prefix.as_str());
    if let Some(rest) = text.strip_prefix(international)
        && !rest.is_empty()
        && rest.bytes().all(|b| b.is_ascii_digit())
    {
        return e164(rest);
    }
    if let Some(n) = numbering
        && text.bytes().all(|b| b.is_ascii_digit())
    {
        let national = text
            .strip_prefix(n.trunk_prefix.as_str())
            .filter(|rest| n.national_lengths.contains(&rest.len()))
            .or_else(|| {
                (n.trunk_prefix_optional && n.national_lengths.contains(&text.len()))
                    .then_some(text.as_str())
            });
        if let Some(national) = national {
            return e164(&format!("{}{national}", n.country_code));
        }
    }
    Ok(Dialled::Short(text))
}

fn e164(digits: &str) -> Result<Dialled, String> {
    if digits.is_empty() || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("an international number is '+' and 1 to 15 digits".into());
    }
    if digits.starts_with('0') {
        return Err("a country code never starts with 0".into());
    }
    Ok(Dialled::E164(format!("+{digits}")))
}

/// `sip:+4420…@host;user=phone` → `+4420…`; `tel:+1-415…;ext=1` → `+1-415…`.
fn strip_uri(input: &str) -> &str {
    let lower = input
        .get(..5)
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let rest = if lower.starts_with("sips:") {
        &input[5..]
    } else if lower.starts_with("sip:") || lower.starts_with("tel:") {
        &input[4..]
    } else {
        input
    };
    let end = rest.find(['@', ';']).unwrap_or(rest.len());
    &rest[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nanp() -> Numbering {
        Numbering {
            country_code: "1".into(),
            trunk_prefix: "1".into(),
            international_prefix: "011".into(),
            national_lengths: vec![10],
            trunk_prefix_optional: true,
        }
    }

    fn uk() -> Numbering {
        Numbering {
            country_code: "44".into(),
            trunk_prefix: "0".into(),
            international_prefix: "00".into(),
            national_lengths: vec![9, 10],
            trunk_prefix_optional: false,
        }
    }

    fn e(s: &str) -> Dialled {
        Dialled::E164(s.into())
    }

    #[test]
    fn nanp_formats() {
        let n = nanp();
        assert_eq!(normalise("(415) 555-0100", Some(&n)), Ok(e("+14155550100")));
        assert_eq!(normalise("1-415-555-0100", Some(&n)), Ok(e("+14155550100")));
        assert_eq!(
            normalise("+1 415 555 0100", Some(&n)),
            Ok(e("+14155550100"))
        );
        assert_eq!(
            normalise("011 44 20 7946 0000", Some(&n)),
            Ok(e("+442079460000"))
        );
        assert_eq!(normalise("911", Some(&n)), Ok(Dialled::Short("911".into())));
        assert_eq!(normalise("*67", Some(&n)), Ok(Dialled::Short("*67".into())));
    }

    #[test]
    fn uk_formats() {
        let n = uk();
        assert_eq!(normalise("020 7946 0000", Some(&n)), Ok(e("+442079460000")));
        assert_eq!(normalise("07700 900123", Some(&n)), Ok(e("+447700900123")));
        assert_eq!(
            normalise("0044 20 7946 0000", Some(&n)),
            Ok(e("+442079460000"))
        );
        assert_eq!(
            normalise("001 202 555 0100", Some(&n)),
            Ok(e("+12025550100"))
        );
        assert_eq!(normalise("999", Some(&n)), Ok(Dialled::Short("999".into())));
        assert_eq!(
            normalise("118500", Some(&n)),
            Ok(Dialled::Short("118500".into()))
        );
    }

    #[test]
    fn uris_and_unknown_countries() {
        assert_eq!(
            normalise("sip:+442079460000@gw.example;user=phone", None),
            Ok(e("+442079460000"))
        );
        assert_eq!(
            normalise("tel:+1-415-555-0100", None),
            Ok(e("+14155550100"))
        );
        assert_eq!(normalise("0033199001234", None), Ok(e("+33199001234")));
        assert_eq!(normalise("112", None), Ok(Dialled::Short("112".into())));
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        assert!(normalise("", None).unwrap_err().contains("empty"));
        assert!(normalise("anonymous", None).unwrap_err().contains("'a'"));
        assert!(normalise("+", None).is_err());
        assert!(
            normalise("+0441", None)
                .unwrap_err()
                .contains("country code")
        );
        assert!(normalise("+1234567890123456", None).is_err());
        assert!(normalise("12+3", None).is_err());
        assert!(normalise(&"1".repeat(40), None).is_err());
    }
}
