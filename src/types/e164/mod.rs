//! E.164 telephone numbers, parsed once at the edge from whatever the operator typed
//! (`+44 20 7946 0958`, `020 7946 0958` in a GB organization, `(415) 555-0134` or
//! `1-415-555-0134` in a US one, `0049 30 1234567`, `011 44 20 7946 0958`) into the one
//! canonical form everything inside stores and compares: `+` and 8–15 digits.
//!
//! National formats are read with the organization's country from a small table of common
//! countries (calling code, trunk prefix, international prefixes, lengths of the national
//! significant number). Why a table and not the `phonenumber` crate: that crate compiles all of
//! libphonenumber's metadata (a 1 MB XML parsed by a build script, a second `quick-xml`, `nom`,
//! `regex`, `postcard`) to answer questions we do not ask (number types, carriers, formatting).
//! Storing and searching numbers needs only normalisation plus a plausibility check on length,
//! which the table below gives in a page that can be read and corrected. The lengths are
//! deliberately generous ranges: a wrong "too short" would refuse a real number, while a
//! mistyped number that slips through is still caught by a person reading it. Countries not in
//! the table accept E.164 input only.
//!
//! This is the one numbering table: the inventory (`numbers/`) parses with it, and the dial
//! plan (`dialplan/number.rs`) reads dialled national forms with the same entry for the
//! calling organization's country, so both turn the same text into the same number.
//!
//! Pure: no I/O.

mod countries;
#[cfg(test)]
mod tests;

use crate::types::text::quote_prefix;
use countries::countries_by_code;
pub use countries::{COUNTRIES, Country, country_of};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::ops::RangeInclusive;

/// Digits of a complete E.164 number (calling code included), as the issue asks.
pub const DIGITS: RangeInclusive<usize> = 8..=15;

/// A telephone number in canonical E.164 form: `+` and 8–15 digits, the first not `0`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct E164(String);

/// Why a number was refused (the message is shown to API users).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NumberError(pub String);

impl E164 {
    /// Reads `text` as written in `country` (ISO code; `None` accepts only `+…` and
    /// international-prefix forms that need no country). Spaces, dashes, dots, slashes and
    /// parentheses are ignored.
    pub fn parse(text: &str, country: Option<&str>) -> Result<Self, NumberError> {
        let err = |why: String| Err(NumberError(why));
        let quoted = quote_prefix(text);
        // The document's `maxLength`, white space around included.
        if text.chars().count() > 64 {
            return err(format!("must be at most 64 characters: {quoted}"));
        }
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return err("must not be empty".into());
        }
        // `+44 (0)20 …`: the bracketed trunk prefix is for national callers; E.164 drops it.
        let (plus, rest) = match trimmed.strip_prefix('+') {
            Some(rest) => (true, rest.replacen("(0)", "", 1)),
            None => (false, trimmed.to_string()),
        };
        let mut digits = String::with_capacity(rest.len());
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' | '/' | '\u{a0}' => {}
                _ => {
                    return err(format!(
                        "may contain only digits, a leading '+', spaces, dashes, dots and parentheses: {quoted}"
                    ));
                }
            }
        }
        if digits.is_empty() {
            return err(format!("has no digits: {quoted}"));
        }
        if plus {
            return Self::international(&digits, text);
        }
        let home = country.map(|iso| {
            country_of(iso).ok_or_else(|| {
                NumberError(format!(
                    "national numbers of country {iso} are not known; give {quoted} in E.164 form (+…)"
                ))
            })
        });
        let home = match home {
            Some(Ok(c)) => c,
            Some(Err(e)) => return Err(e),
            None => {
                return err(format!(
                    "must be in E.164 form (+ and the country code): {quoted}"
                ));
            }
        };
        // International prefix before trunk prefix: `00…` must not be read as `0` + `0…`.
        if let Some(after) = home
            .international_prefixes
            .iter()
            .find_map(|p| digits.strip_prefix(p))
        {
            return Self::international(after, text);
        }
        Self::national(home, &digits, text)
    }

    /// `digits` follow a `+` (or an international prefix): calling code and national number.
    fn international(digits: &str, text: &str) -> Result<Self, NumberError> {
        let quoted = quote_prefix(text);
        if digits.starts_with('0') {
            return Err(NumberError(format!(
                "a country code does not start with 0: {quoted}"
            )));
        }
        if !DIGITS.contains(&digits.len()) {
            return Err(NumberError(format!(
                "an E.164 number has {}-{} digits, {quoted} has {}",
                DIGITS.start(),
                DIGITS.end(),
                digits.len()
            )));
        }
        let candidates = countries_by_code(digits);
        if !candidates.is_empty() {
            let fits = candidates.iter().any(|c| {
                let national = &digits[c.calling_code.len()..];
                c.national_lengths.contains(&national.len()) && plausible(c, national)
            });
            if !fits {
                let c = candidates[0];
                return Err(NumberError(format!(
                    "not a valid +{} number: {quoted} (national numbers have {} digits)",
                    c.calling_code,
                    lengths(c)
                )));
            }
        }
        Ok(Self(format!("+{digits}")))
    }

    fn national(home: &Country, digits: &str, text: &str) -> Result<Self, NumberError> {
        let quoted = quote_prefix(text);
        let national = match home.trunk_prefix {
            // The trunk prefix is dropped when what follows is a whole national number (in
            // NANP `1` is optional, so a bare 10-digit number is fine too).
            Some(trunk) => match digits.strip_prefix(trunk) {
                Some(rest) if home.national_lengths.contains(&rest.len()) => rest,
                _ => digits,
            },
            None => digits,
        };
        if !home.national_lengths.contains(&national.len()) || !plausible(home, national) {
            return Err(NumberError(format!(
                "not a valid {} number: {quoted} (national numbers have {} digits{})",
                home.iso,
                lengths(home),
                home.trunk_prefix
                    .map(|t| format!(" after the trunk prefix {t}"))
                    .unwrap_or_default()
            )));
        }
        Self::international(&format!("{}{national}", home.calling_code), text)
    }

    /// Parses the canonical form only (`+` and digits), as stored.
    pub fn canonical(text: &str) -> Result<Self, NumberError> {
        match text.strip_prefix('+') {
            Some(digits) if digits.bytes().all(|b| b.is_ascii_digit()) => {
                Self::international(digits, text)
            }
            _ => Err(NumberError(format!(
                "not an E.164 number: {}",
                quote_prefix(text)
            ))),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl utoipa::PartialSchema for E164 {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::types::schema::string(
            "An E.164 number: `+`, the country code and the national number (8-15 digits)",
            Some("^\\+[1-9][0-9]{7,14}$"),
            (Some(9), Some(16)),
            Some("e164"),
        )
    }
}

impl utoipa::ToSchema for E164 {}

/// A telephone number as a request may give it: E.164 (`+44 20 7946 0958`), or national or
/// with an international prefix where the organization's country is known (`020 7946 0958`,
/// `(415) 555-0134`, `011 44 …`); spaces, dashes, dots, slashes and parentheses are ignored. The
/// `phone-number` format stands for the country's lengths, which a pattern cannot say.
pub fn input_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    let ws = crate::types::schema::WHITE_SPACE;
    let separator = "[ \\-.()/\\xa0]";
    crate::types::schema::string(
        "A telephone number: E.164 (`+44 20 7946 0958`) or, in an organization whose country is known, national (`020 7946 0958`, `(415) 555-0134`) or with an international prefix",
        Some(&format!(
            "^{ws}*\\+?{separator}*[0-9](?:{separator}*[0-9]){{2,}}{separator}*{ws}*$"
        )),
        (Some(3), Some(64)),
        Some("phone-number"),
    )
}

/// Rules beyond length a country's table entry implies: NANP area codes and exchanges start
/// with 2-9.
fn plausible(country: &Country, national: &str) -> bool {
    if country.calling_code == "1" {
        let b = national.as_bytes();
        return b.len() == 10 && (b'2'..=b'9').contains(&b[0]) && (b'2'..=b'9').contains(&b[3]);
    }
    true
}

fn lengths(c: &Country) -> String {
    if c.national_lengths.start() == c.national_lengths.end() {
        c.national_lengths.start().to_string()
    } else {
        format!(
            "{}-{}",
            c.national_lengths.start(),
            c.national_lengths.end()
        )
    }
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for E164 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for E164 {
    /// Only the canonical form: national numbers need a country, which a bare value lacks.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        E164::canonical(&text).map_err(serde::de::Error::custom)
    }
}

impl std::str::FromStr for E164 {
    type Err = NumberError;
    /// The canonical form only, like [`E164::canonical`].
    fn from_str(text: &str) -> Result<Self, NumberError> {
        Self::canonical(text)
    }
}

crate::text_column!(E164, "number", E164::canonical);
