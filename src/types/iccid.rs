//! SIM identities, parsed once at the edge: ICCIDs (ITU-T E.118, 19 or 20 digits, `89…`, the
//! last a Luhn check digit) and IMSIs (ITU-T E.212, 15 digits: MCC, MNC, subscriber), kept as
//! their bare digits (the form people paste has spaces or dashes; the stored one has none).

use crate::types::text::quote_prefix;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Why an ICCID or IMSI was refused (shown after the field's name).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SimIdError(pub String);

/// Whether the digits pass the Luhn (mod 10) check, the last digit being the check digit.
pub fn luhn_valid(digits: &str) -> bool {
    if digits.len() < 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Digits of `text` with spaces and dashes removed, or an error naming what else was there.
fn digits_of(text: &str) -> Result<String, SimIdError> {
    // The document's `maxLength`, white space around included.
    if text.chars().count() > 64 {
        return Err(SimIdError("must be at most 64 characters".into()));
    }
    let digits: String = text
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .collect();
    if digits.is_empty() {
        return Err(SimIdError("must not be empty".into()));
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SimIdError(format!(
            "may contain only digits: {}",
            quote_prefix(text)
        )));
    }
    Ok(digits)
}

/// An Integrated Circuit Card Identifier: 19 or 20 digits starting `89` (telecom), Luhn-valid.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Iccid(String);

impl Iccid {
    pub fn parse(text: &str) -> Result<Self, SimIdError> {
        let digits = digits_of(text)?;
        if !(19..=20).contains(&digits.len()) {
            return Err(SimIdError(format!(
                "an ICCID has 19 or 20 digits, {} has {}",
                quote_prefix(text),
                digits.len()
            )));
        }
        if !digits.starts_with("89") {
            return Err(SimIdError(format!(
                "an ICCID starts with 89 (telecommunications): {}",
                quote_prefix(text)
            )));
        }
        if !luhn_valid(&digits) {
            return Err(SimIdError(format!(
                "check digit (Luhn) does not match: {}",
                quote_prefix(text)
            )));
        }
        Ok(Self(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An International Mobile Subscriber Identity: 15 digits, the first three the Mobile Country
/// Code (2xx-7xx, or the test network 001). Where the MNC (2 or 3 digits) ends depends on the
/// country, so only the MCC is exposed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Imsi(String);

impl Imsi {
    pub fn parse(text: &str) -> Result<Self, SimIdError> {
        let digits = digits_of(text)?;
        if digits.len() != 15 {
            return Err(SimIdError(format!(
                "an IMSI has 15 digits, {} has {}",
                quote_prefix(text),
                digits.len()
            )));
        }
        let mcc = &digits[..3];
        if mcc != "001" && !(b'2'..=b'7').contains(&digits.as_bytes()[0]) {
            return Err(SimIdError(format!(
                "MCC {mcc} is not a mobile country code (2xx-7xx, or 001 for test networks)"
            )));
        }
        Ok(Self(digits))
    }

    /// The Mobile Country Code.
    pub fn mcc(&self) -> &str {
        &self.0[..3]
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Iccid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Imsi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Iccid {
    type Err = SimIdError;
    fn from_str(text: &str) -> Result<Self, SimIdError> {
        Self::parse(text)
    }
}

impl std::str::FromStr for Imsi {
    type Err = SimIdError;
    fn from_str(text: &str) -> Result<Self, SimIdError> {
        Self::parse(text)
    }
}

impl Serialize for Iccid {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Iccid {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl Serialize for Imsi {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Imsi {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

crate::text_column!(Iccid, "iccid", Iccid::parse);
crate::text_column!(Imsi, "imsi", Imsi::parse);

impl utoipa::PartialSchema for Iccid {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let ws = crate::types::schema::WHITE_SPACE;
        // Spaces and dashes may separate the digits; the Luhn check digit is the `iccid`
        // format's part.
        let pattern = format!("^{ws}*8[ -]*9(?:[ -]*[0-9]){{17,18}}[ -]*{ws}*$");
        crate::types::schema::string(
            "An ICCID: 19 or 20 digits starting 89 with a valid Luhn check digit (spaces and dashes between them are ignored)",
            Some(&pattern),
            (Some(19), Some(64)),
            Some("iccid"),
        )
    }
}

impl utoipa::ToSchema for Iccid {}

impl utoipa::PartialSchema for Imsi {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let ws = crate::types::schema::WHITE_SPACE;
        let pattern = format!(
            "^{ws}*[ -]*(?:[2-7](?:[ -]*[0-9]){{14}}|0[ -]*0[ -]*1(?:[ -]*[0-9]){{12}})[ -]*{ws}*$"
        );
        crate::types::schema::string(
            "An IMSI: 15 digits, the first three a mobile country code (2xx-7xx, or 001 for test networks); spaces and dashes between them are ignored",
            Some(&pattern),
            (Some(15), Some(64)),
            None,
        )
    }
}

impl utoipa::ToSchema for Imsi {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_patterns_agree_with_the_parsers() {
        use utoipa::PartialSchema;
        let iccid = crate::types::schema::check::pattern_of(Iccid::schema());
        let imsi = crate::types::schema::check::pattern_of(Imsi::schema());
        for text in [
            "8944500102198304826",
            "89445001021983048260",
            "8944 5001 0219 8304 826",
            "9944500102198304826",
            "894450010219830482",
            "",
            "89-44500102198304826 ",
        ] {
            // The pattern admits a text when only its check digit can be wrong.
            let luhn_only = Iccid::parse(text).is_err_and(|e| e.0.contains("Luhn"));
            assert_eq!(
                iccid.is_match(text),
                Iccid::parse(text).is_ok() || luhn_only,
                "{text:?}"
            );
        }
        for text in [
            "310150123456789",
            "001010123456789",
            "810150123456789",
            "31015012345678",
            "002010123456789",
            " 310-150-123456789",
        ] {
            assert_eq!(imsi.is_match(text), Imsi::parse(text).is_ok(), "{text:?}");
        }
    }
    use crate::types::column::corrupt_of;
    use crate::types::column::tests::{sqlite_decode, sqlite_round_trip};
    use rand::{Rng, SeedableRng};

    #[test]
    fn luhn_examples() {
        assert!(luhn_valid("79927398713"));
        assert!(!luhn_valid("79927398710"));
        assert!(luhn_valid("4111111111111111"));
        assert!(!luhn_valid("4111111111111112"));
        assert!(!luhn_valid("7"));
        assert!(!luhn_valid("79a27398713"));
    }

    #[test]
    fn iccids() {
        // 19 digits + Luhn check digit.
        let good = "89440001234567890120";
        assert!(luhn_valid(good), "fixture");
        assert_eq!(Iccid::parse(good).unwrap().as_str(), good);
        assert_eq!(
            Iccid::parse("8944 0001 2345 6789 0120").unwrap().as_str(),
            good
        );
        let nineteen = "8901260123456789011";
        assert!(luhn_valid(nineteen), "fixture");
        assert!(Iccid::parse(nineteen).is_ok());
        let err = |text: &str| Iccid::parse(text).unwrap_err().0;
        assert!(err("89440001234567890121").contains("Luhn"));
        assert!(err("8944000123456789").contains("19 or 20"));
        assert!(err("79927398713000000006").contains("89"));
        assert!(err("8944000123456789012X").contains("only digits"));
        assert_eq!(err(""), "must not be empty");
    }

    #[test]
    fn imsis() {
        let imsi = Imsi::parse("310150123456789").unwrap();
        assert_eq!(imsi.mcc(), "310");
        assert!(Imsi::parse("001010000000001").is_ok(), "test network");
        let err = |text: &str| Imsi::parse(text).unwrap_err().0;
        assert!(err("31015012345678").contains("15 digits"));
        assert!(err("910150123456789").contains("MCC"));
        assert!(err("31015012345678x").contains("only digits"));
    }

    /// The check digit that makes `body` Luhn-valid.
    fn check_digit(body: &str) -> char {
        (b'0'..=b'9')
            .map(char::from)
            .find(|d| luhn_valid(&format!("{body}{d}")))
            .unwrap()
    }

    /// Generated ICCIDs (with their check digit) and IMSIs round-trip through the notations
    /// people paste, JSON and the database; a changed digit is refused.
    #[tokio::test]
    async fn generated_identities_round_trip() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        for _ in 0..2000 {
            let len = rng.random_range(19..=20);
            let mut body = String::from("89");
            while body.len() < len - 1 {
                body.push(char::from(b'0' + rng.random_range(0..10u8)));
            }
            let digits = format!("{body}{}", check_digit(&body));
            let iccid = Iccid::parse(&digits).unwrap();
            assert_eq!(iccid.to_string(), digits);
            let grouped: Vec<String> = digits
                .as_bytes()
                .chunks(4)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect();
            for form in [grouped.join(" "), grouped.join("-"), format!(" {digits} ")] {
                assert_eq!(Iccid::parse(&form).unwrap(), iccid, "{form}");
            }
            let json = serde_json::to_string(&iccid).unwrap();
            assert_eq!(json, format!("\"{digits}\""));
            assert_eq!(serde_json::from_str::<Iccid>(&json).unwrap(), iccid);
            let last = digits.as_bytes()[digits.len() - 1] - b'0';
            let wrong = format!("{body}{}", (last + 1) % 10);
            assert!(Iccid::parse(&wrong).is_err(), "{wrong}");

            let imsi_digits: String = std::iter::once(char::from(b'2' + rng.random_range(0..6u8)))
                .chain((0..14).map(|_| char::from(b'0' + rng.random_range(0..10u8))))
                .collect();
            let imsi = Imsi::parse(&imsi_digits).unwrap();
            assert_eq!(imsi.mcc(), &imsi_digits[..3]);
            let json = serde_json::to_string(&imsi).unwrap();
            assert_eq!(serde_json::from_str::<Imsi>(&json).unwrap(), imsi);
        }
        let iccid = Iccid::parse("89440001234567890120").unwrap();
        assert_eq!(
            sqlite_round_trip(&iccid).await,
            (iccid, "89440001234567890120".to_string())
        );
        let imsi = Imsi::parse("234150123456789").unwrap();
        assert_eq!(
            sqlite_round_trip(&imsi).await,
            (imsi, "234150123456789".to_string())
        );
        let e = sqlite_decode::<Iccid>("89440001234567890121")
            .await
            .unwrap_err();
        let corrupt = corrupt_of(&e).unwrap();
        assert_eq!(
            (corrupt.column, corrupt.value.as_str()),
            ("iccid", "89440001234567890121")
        );
        let e = sqlite_decode::<Imsi>("12").await.unwrap_err();
        assert_eq!(corrupt_of(&e).unwrap().column, "imsi");
        assert!(serde_json::from_str::<Iccid>("\"8944\"").is_err());
    }
}
