//! Dial strings as the evaluator compares them: E.164 (`+` and digits) for everything that
//! has a country code, the dialled digits (`*`, `#` allowed) for short codes such as `911`,
//! `999` or `*67`.
//!
//! Numbers are read with the one numbering table, [`crate::types::e164`], for the calling
//! organization's country, so the router turns a national form into the same E.164 number
//! the inventory stored for it. This file keeps only what dialling adds: URI user parts,
//! `*`/`#`, and short codes (digits that are not a whole number of the country).

use crate::types::E164;
use crate::types::e164::Country;

/// Longest dial string accepted (an E.164 number has at most 15 digits; short codes and
/// prefixes such as `*67` add a few).
pub const MAX_LEN: usize = 32;

/// Where no country is known, `00` is still read as the international prefix (ITU-T E.164
/// recommends it, and most of the world uses it).
const INTERNATIONAL: &str = "00";

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
/// parentheses ignored) as dialled in `country` (none: only `+…`, `00…` and short codes).
pub fn normalise(input: &str, country: Option<&Country>) -> Result<Dialled, String> {
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
        return international_form(digits);
    }
    if text.contains('+') {
        return Err("'+' is only allowed first".into());
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(Dialled::Short(text));
    }
    let international = country.map_or(&[INTERNATIONAL][..], |c| c.international_prefixes);
    if let Some(rest) = international.iter().find_map(|p| text.strip_prefix(p))
        && !rest.is_empty()
    {
        return international_form(rest);
    }
    // Digits that are not a whole national number of the country are a short code.
    match country.map(|c| E164::parse(&text, Some(c.iso))) {
        Some(Ok(number)) => Ok(Dialled::E164(number.into_string())),
        _ => Ok(Dialled::Short(text)),
    }
}

/// A dialled international form is checked for its shape only (`+`, a country code, at most
/// 15 digits), not against the country's national lengths: the plan's translate rules exist to
/// repair what PBXs send (`+440207…`), so the router must let such a string reach them. The
/// inventory, which stores numbers, parses them strictly ([`E164::parse`]).
fn international_form(digits: &str) -> Result<Dialled, String> {
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

    fn nanp() -> &'static Country {
        crate::types::e164::country_of("US").unwrap()
    }

    fn uk() -> &'static Country {
        crate::types::e164::country_of("GB").unwrap()
    }

    fn e(s: &str) -> Dialled {
        Dialled::E164(s.into())
    }

    #[test]
    fn nanp_formats() {
        let n = nanp();
        assert_eq!(normalise("(415) 555-0100", Some(n)), Ok(e("+14155550100")));
        assert_eq!(normalise("1-415-555-0100", Some(n)), Ok(e("+14155550100")));
        assert_eq!(normalise("+1 415 555 0100", Some(n)), Ok(e("+14155550100")));
        assert_eq!(
            normalise("011 44 20 7946 0000", Some(n)),
            Ok(e("+442079460000"))
        );
        assert_eq!(normalise("911", Some(n)), Ok(Dialled::Short("911".into())));
        assert_eq!(normalise("*67", Some(n)), Ok(Dialled::Short("*67".into())));
    }

    #[test]
    fn uk_formats() {
        let n = uk();
        assert_eq!(normalise("020 7946 0000", Some(n)), Ok(e("+442079460000")));
        assert_eq!(normalise("07700 900123", Some(n)), Ok(e("+447700900123")));
        assert_eq!(
            normalise("0044 20 7946 0000", Some(n)),
            Ok(e("+442079460000"))
        );
        assert_eq!(
            normalise("001 202 555 0100", Some(n)),
            Ok(e("+12025550100"))
        );
        assert_eq!(normalise("999", Some(n)), Ok(Dialled::Short("999".into())));
        assert_eq!(
            normalise("118500", Some(n)),
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

    /// Where the dial plan's own `[numbering]` tables disagreed with the inventory's, the
    /// inventory's (ITU-T E.164 and the national plans) now decides for both.
    #[test]
    fn numbers_that_changed_when_the_tables_became_one() {
        // NANP area codes start with 2-9: `015…` is not a number but digits, as it is to the
        // inventory (the router used to make +10155550134 of it).
        assert_eq!(
            normalise("(015) 555-0134", Some(nanp())),
            Ok(Dialled::Short("0155550134".into()))
        );
        // Dialled international forms keep their shape check only, so translate rules can
        // still repair them (`+440207…` → `+44207…`); the inventory refuses them.
        assert_eq!(normalise("+4402079460000", None), Ok(e("+4402079460000")));
        assert!(E164::parse("+4402079460000", None).is_err());
        // Countries without a template read their national forms too, as the inventory does.
        let de = crate::types::e164::country_of("DE");
        assert_eq!(normalise("030 1234567", de), Ok(e("+49301234567")));
        assert_eq!(normalise("110", de), Ok(Dialled::Short("110".into())));
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
