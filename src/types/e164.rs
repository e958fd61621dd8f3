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

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::ops::RangeInclusive;

/// Digits of a complete E.164 number (calling code included), as the issue asks.
pub const DIGITS: RangeInclusive<usize> = 8..=15;

/// How one country writes its numbers nationally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Country {
    /// ISO 3166-1 alpha-2, upper case.
    pub iso: &'static str,
    /// Country calling code, digits without `+`.
    pub calling_code: &'static str,
    /// Dialled before national numbers and dropped in E.164 (`0` in GB/DE/FR, `1` in NANP,
    /// `8` in RU, `06` in HU); `None` where the leading digit is part of the number (IT, ES).
    pub trunk_prefix: Option<&'static str>,
    /// Dialled to reach another country (`00`, `011` in NANP, `0011` in AU).
    pub international_prefixes: &'static [&'static str],
    /// Plausible lengths of the national significant number (after the trunk prefix).
    pub national_lengths: RangeInclusive<usize>,
}

const fn country(
    iso: &'static str,
    calling_code: &'static str,
    trunk_prefix: Option<&'static str>,
    international_prefixes: &'static [&'static str],
    national_lengths: RangeInclusive<usize>,
) -> Country {
    Country {
        iso,
        calling_code,
        trunk_prefix,
        international_prefixes,
        national_lengths,
    }
}

const OO: &[&str] = &["00"];

/// The countries whose national formats dialtone reads. Sources: ITU-T E.164 assignments and
/// the national numbering plans as published by the regulators (summarised; see the module
/// doc for why the lengths are ranges).
pub const COUNTRIES: &[Country] = &[
    // North American Numbering Plan: NXX-NXX-XXXX, the trunk prefix 1 is optional.
    country("US", "1", Some("1"), &["011"], 10..=10),
    country("CA", "1", Some("1"), &["011"], 10..=10),
    // US territories that dial as domestic NANP (the `nanp` dial-plan template covers them).
    country("PR", "1", Some("1"), &["011"], 10..=10),
    country("VI", "1", Some("1"), &["011"], 10..=10),
    country("GU", "1", Some("1"), &["011"], 10..=10),
    country("AS", "1", Some("1"), &["011"], 10..=10),
    country("MP", "1", Some("1"), &["011"], 10..=10),
    country("GB", "44", Some("0"), OO, 9..=10),
    // The Crown Dependencies share +44 and the UK's national plan (Ofcom).
    country("IM", "44", Some("0"), OO, 9..=10),
    country("JE", "44", Some("0"), OO, 9..=10),
    country("GG", "44", Some("0"), OO, 9..=10),
    country("IE", "353", Some("0"), OO, 7..=9),
    country("DE", "49", Some("0"), OO, 5..=13),
    country("AT", "43", Some("0"), OO, 4..=13),
    country("CH", "41", Some("0"), OO, 9..=9),
    country("FR", "33", Some("0"), OO, 9..=9),
    country("BE", "32", Some("0"), OO, 8..=9),
    country("NL", "31", Some("0"), OO, 9..=9),
    country("LU", "352", None, OO, 4..=11),
    // Italy, Spain, Portugal, Greece, Poland, Czechia, the Nordics but Sweden and Finland:
    // no trunk prefix; Italy's leading 0 of fixed lines is part of the number.
    country("IT", "39", None, OO, 6..=11),
    country("ES", "34", None, OO, 9..=9),
    country("PT", "351", None, OO, 9..=9),
    country("GR", "30", None, OO, 10..=10),
    country("PL", "48", None, OO, 9..=9),
    country("CZ", "420", None, OO, 9..=9),
    country("SK", "421", Some("0"), OO, 9..=9),
    country("HU", "36", Some("06"), OO, 8..=9),
    country("RO", "40", Some("0"), OO, 9..=9),
    country("DK", "45", None, OO, 8..=8),
    country("NO", "47", None, OO, 8..=8),
    country("SE", "46", Some("0"), OO, 7..=13),
    country("FI", "358", Some("0"), OO, 5..=12),
    country("TR", "90", Some("0"), OO, 10..=10),
    country("RU", "7", Some("8"), &["810", "00"], 10..=10),
    country("IL", "972", Some("0"), OO, 8..=9),
    country("AE", "971", Some("0"), OO, 8..=9),
    country("ZA", "27", Some("0"), OO, 9..=9),
    country("IN", "91", Some("0"), OO, 10..=10),
    country("CN", "86", Some("0"), OO, 9..=11),
    country("JP", "81", Some("0"), &["010"], 9..=10),
    country("KR", "82", Some("0"), &["001", "002"], 8..=11),
    country("SG", "65", None, &["000", "001"], 8..=8),
    country("HK", "852", None, &["001"], 8..=8),
    country("AU", "61", Some("0"), &["0011"], 9..=9),
    country("NZ", "64", Some("0"), OO, 8..=10),
    country("BR", "55", Some("0"), OO, 10..=11),
    // Mexico dropped its trunk prefixes in 2019.
    country("MX", "52", None, OO, 10..=10),
    country("AR", "54", Some("0"), OO, 10..=11),
];

/// The table entry of an ISO country code (either case).
pub fn country_of(iso: &str) -> Option<&'static Country> {
    COUNTRIES.iter().find(|c| c.iso.eq_ignore_ascii_case(iso))
}

/// The countries an E.164 number (digits after `+`) may belong to, by the longest calling
/// code in the table that prefixes it (`1` gives US and CA).
fn countries_by_code(digits: &str) -> Vec<&'static Country> {
    let best = COUNTRIES
        .iter()
        .filter(|c| digits.starts_with(c.calling_code))
        .map(|c| c.calling_code.len())
        .max();
    match best {
        Some(len) => COUNTRIES
            .iter()
            .filter(|c| c.calling_code.len() == len && digits.starts_with(c.calling_code))
            .collect(),
        None => Vec::new(),
    }
}

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
                        "may contain only digits, a leading '+', spaces, dashes, dots and parentheses: {text:?}"
                    ));
                }
            }
        }
        if digits.is_empty() {
            return err(format!("has no digits: {text:?}"));
        }
        if plus {
            return Self::international(&digits, text);
        }
        let home = country.map(|iso| {
            country_of(iso).ok_or_else(|| {
                NumberError(format!(
                    "national numbers of country {iso} are not known; give {text:?} in E.164 form (+…)"
                ))
            })
        });
        let home = match home {
            Some(Ok(c)) => c,
            Some(Err(e)) => return Err(e),
            None => {
                return err(format!(
                    "must be in E.164 form (+ and the country code): {text:?}"
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
        if digits.starts_with('0') {
            return Err(NumberError(format!(
                "a country code does not start with 0: {text:?}"
            )));
        }
        if !DIGITS.contains(&digits.len()) {
            return Err(NumberError(format!(
                "an E.164 number has {}-{} digits, {text:?} has {}",
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
                    "not a valid +{} number: {text:?} (national numbers have {} digits)",
                    c.calling_code,
                    lengths(c)
                )));
            }
        }
        Ok(Self(format!("+{digits}")))
    }

    fn national(home: &Country, digits: &str, text: &str) -> Result<Self, NumberError> {
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
                "not a valid {} number: {text:?} (national numbers have {} digits{})",
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
            _ => Err(NumberError(format!("not an E.164 number: {text:?}"))),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str, country: Option<&str>) -> String {
        E164::parse(text, country)
            .unwrap_or_else(|e| panic!("{text:?} in {country:?}: {e}"))
            .into_string()
    }

    fn bad(text: &str, country: Option<&str>) -> String {
        match E164::parse(text, country) {
            Ok(n) => panic!("{text:?} in {country:?} accepted as {n}"),
            Err(e) => e.0,
        }
    }

    #[test]
    fn us_national_forms_with_and_without_the_trunk_prefix() {
        let us = Some("US");
        for text in [
            "(415) 555-0134",
            "415-555-0134",
            "415.555.0134",
            "1 415 555 0134",
            "1-415-555-0134",
            "+1 (415) 555-0134",
            "+14155550134",
            "011 1 415 555 0134",
        ] {
            assert_eq!(ok(text, us), "+14155550134", "{text}");
        }
        // From the US, 011 reaches other countries.
        assert_eq!(ok("011 44 20 7946 0958", us), "+442079460958");
        assert!(bad("555-0134", us).contains("not a valid US number"));
        assert!(bad("(015) 555-0134", us).contains("not a valid US number"));
        assert!(bad("415 155 0134", us).contains("not a valid US number"));
        assert!(bad("+1 415 555 01345", us).contains("not a valid +1 number"));
    }

    #[test]
    fn gb_de_fr_au_national_forms() {
        assert_eq!(ok("020 7946 0958", Some("GB")), "+442079460958");
        assert_eq!(ok("07700 900123", Some("GB")), "+447700900123");
        assert_eq!(ok("0044 20 7946 0958", Some("GB")), "+442079460958");
        assert_eq!(ok("+44 (0)20 7946 0958", None), "+442079460958");
        assert_eq!(ok("030 1234567", Some("DE")), "+49301234567");
        assert_eq!(ok("0151/12345678", Some("DE")), "+4915112345678");
        assert_eq!(ok("0049 30 1234567", Some("DE")), "+49301234567");
        assert_eq!(ok("01 23 45 67 89", Some("FR")), "+33123456789");
        assert_eq!(ok("06.12.34.56.78", Some("FR")), "+33612345678");
        assert_eq!(ok("(02) 9876 5432", Some("AU")), "+61298765432");
        assert_eq!(ok("0412 345 678", Some("AU")), "+61412345678");
        assert_eq!(ok("0011 44 20 7946 0958", Some("AU")), "+442079460958");
        // The same national text means different numbers in different countries.
        assert_ne!(ok("030 1234567", Some("DE")), ok("0301234567", Some("GB")));
    }

    #[test]
    fn countries_without_a_trunk_prefix_keep_the_leading_digit() {
        assert_eq!(ok("06 1234 5678", Some("IT")), "+390612345678");
        assert_eq!(ok("912 345 678", Some("ES")), "+34912345678");
    }

    #[test]
    fn refuses_bad_input_with_a_reason() {
        assert!(bad("", Some("US")).contains("empty"));
        assert!(bad("  ", Some("US")).contains("empty"));
        assert!(bad("+", None).contains("no digits"));
        assert!(bad("415-555-CALL", Some("US")).contains("only digits"));
        assert!(bad("+1 415 555 0134 ext 5", None).contains("only digits"));
        assert!(bad("++14155550134", None).contains("only digits"));
        assert!(bad("+0 123 456 789", None).contains("does not start with 0"));
        assert!(bad("+1234567", None).contains("8-15 digits"));
        assert!(bad("+1234567890123456", None).contains("8-15 digits"));
        assert!(bad("020 7946 0958", None).contains("E.164 form"));
        assert!(bad("020 7946 0958", Some("ZZ")).contains("not known"));
        assert!(bad("020 7946", Some("GB")).contains("not a valid GB number"));
        assert!(bad("01 23 45 67", Some("FR")).contains("not a valid FR number"));
        assert!(bad("+33 1 23 45 67 8", None).contains("not a valid +33 number"));
        assert!(bad("02 9876 54", Some("AU")).contains("not a valid AU number"));
    }

    #[test]
    fn numbers_outside_the_table_are_taken_in_e164_form() {
        // +298 (Faroe Islands) is not in the table: only the E.164 length rule applies.
        assert_eq!(ok("+298 123 45678", None), "+29812345678");
        assert_eq!(ok("00 298 12345678", Some("DE")), "+29812345678");
    }

    #[test]
    fn canonical_round_trip() {
        for text in ["+14155550134", "+442079460958", "+4915112345678"] {
            let n = E164::canonical(text).unwrap();
            assert_eq!(n.as_str(), text);
            let json = serde_json::to_string(&n).unwrap();
            assert_eq!(serde_json::from_str::<E164>(&json).unwrap(), n);
        }
        assert!(E164::canonical("14155550134").is_err());
        assert!(E164::canonical("+1 415 555 0134").is_err());
        assert!(serde_json::from_str::<E164>("\"020 7946 0958\"").is_err());
    }

    #[test]
    fn territories_and_dependencies_read_like_their_plan() {
        assert_eq!(ok("(787) 555-0134", Some("PR")), "+17875550134");
        assert_eq!(ok("01624 555123", Some("IM")), "+441624555123");
        assert_eq!(ok("020 7946 0958", Some("gb")), "+442079460958");
    }

    /// A seeded loop over generated national numbers of every country: written with the trunk
    /// prefix and separators, read back to the same canonical number, which round-trips
    /// through its own text, JSON and the database.
    #[tokio::test]
    async fn generated_numbers_round_trip() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        for _ in 0..2000 {
            let c = &COUNTRIES[rng.random_range(0..COUNTRIES.len())];
            // E.164 needs 8 digits in all, more than some countries' shortest numbers give.
            let len = rng
                .random_range(c.national_lengths.clone())
                .max(DIGITS.start() - c.calling_code.len());
            let mut national: String = (0..len)
                .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
                .collect();
            // Keep the first digit off the trunk prefix and NANP's N rule.
            national.replace_range(0..1, "2");
            if c.calling_code == "1" {
                national.replace_range(3..4, "5");
            }
            let expected = format!("+{}{national}", c.calling_code);
            let spaced: String = national
                .chars()
                .enumerate()
                .flat_map(|(i, d)| (i > 0 && i % 3 == 0).then_some(' ').into_iter().chain([d]))
                .collect();
            let written = format!("{}{spaced}", c.trunk_prefix.unwrap_or(""));
            assert_eq!(
                ok(&written, Some(c.iso)),
                expected,
                "{written} in {}",
                c.iso
            );
            assert_eq!(ok(&format!("+{} {spaced}", c.calling_code), None), expected);
            let n = E164::canonical(&expected).unwrap();
            let json = serde_json::to_string(&n).unwrap();
            assert_eq!(serde_json::from_str::<E164>(&json).unwrap(), n);
        }
        let n = E164::canonical("+442079460958").unwrap();
        let stored = crate::types::column::tests::sqlite_round_trip(&n).await;
        assert_eq!(stored, (n, "+442079460958".to_string()));
        let corrupt = crate::types::column::tests::sqlite_decode::<E164>("020 7946")
            .await
            .unwrap_err();
        let corrupt = crate::types::column::corrupt_of(&corrupt).unwrap();
        assert_eq!(
            (corrupt.column, corrupt.value.as_str()),
            ("number", "020 7946")
        );
    }

    #[test]
    fn the_table_is_consistent() {
        for c in COUNTRIES {
            assert_eq!(c.iso.len(), 2, "{c:?}");
            assert!(c.calling_code.bytes().all(|b| b.is_ascii_digit()), "{c:?}");
            assert!(!c.international_prefixes.is_empty(), "{c:?}");
            let total = c.calling_code.len() + c.national_lengths.end();
            assert!(total <= 15, "{} numbers would exceed 15 digits", c.iso);
            assert_eq!(COUNTRIES.iter().filter(|o| o.iso == c.iso).count(), 1);
        }
    }
}
