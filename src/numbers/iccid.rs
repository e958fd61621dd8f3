//! SIM identities, parsed once at the edge: ICCIDs (ITU-T E.118, 19 or 20 digits, `89…`, the
//! last a Luhn check digit) and IMSIs (ITU-T E.212, 15 digits: MCC, MNC, subscriber).
//!
//! Pure: no I/O.

use crate::types::text::quote_prefix;
use std::fmt;

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
fn digits_of(text: &str) -> Result<String, String> {
    let digits: String = text
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .collect();
    if digits.is_empty() {
        return Err("must not be empty".into());
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("may contain only digits: {}", quote_prefix(text)));
    }
    Ok(digits)
}

/// An Integrated Circuit Card Identifier: 19 or 20 digits starting `89` (telecom), Luhn-valid.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Iccid(String);

impl Iccid {
    pub fn parse(text: &str) -> Result<Self, String> {
        let digits = digits_of(text)?;
        if !(19..=20).contains(&digits.len()) {
            return Err(format!(
                "an ICCID has 19 or 20 digits, {} has {}",
                quote_prefix(text),
                digits.len()
            ));
        }
        if !digits.starts_with("89") {
            return Err(format!(
                "an ICCID starts with 89 (telecommunications): {}",
                quote_prefix(text)
            ));
        }
        if !luhn_valid(&digits) {
            return Err(format!(
                "check digit (Luhn) does not match: {}",
                quote_prefix(text)
            ));
        }
        Ok(Self(digits))
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

/// An International Mobile Subscriber Identity: 15 digits, the first three the Mobile Country
/// Code (2xx-7xx, or the test network 001). Where the MNC (2 or 3 digits) ends depends on the
/// country, so only the MCC is exposed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Imsi(String);

impl Imsi {
    pub fn parse(text: &str) -> Result<Self, String> {
        let digits = digits_of(text)?;
        if digits.len() != 15 {
            return Err(format!(
                "an IMSI has 15 digits, {} has {}",
                quote_prefix(text),
                digits.len()
            ));
        }
        let mcc = &digits[..3];
        if mcc != "001" && !(b'2'..=b'7').contains(&digits.as_bytes()[0]) {
            return Err(format!(
                "MCC {mcc} is not a mobile country code (2xx-7xx, or 001 for test networks)"
            ));
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(
            Iccid::parse("89440001234567890121")
                .unwrap_err()
                .contains("Luhn")
        );
        assert!(
            Iccid::parse("8944000123456789")
                .unwrap_err()
                .contains("19 or 20")
        );
        assert!(
            Iccid::parse("79927398713000000006")
                .unwrap_err()
                .contains("89")
        );
        assert!(
            Iccid::parse("8944000123456789012X")
                .unwrap_err()
                .contains("only digits")
        );
        assert!(Iccid::parse("").is_err());
    }

    #[test]
    fn imsis() {
        let imsi = Imsi::parse("310150123456789").unwrap();
        assert_eq!(imsi.mcc(), "310");
        assert!(Imsi::parse("001010000000001").is_ok(), "test network");
        assert!(
            Imsi::parse("31015012345678")
                .unwrap_err()
                .contains("15 digits")
        );
        assert!(Imsi::parse("910150123456789").unwrap_err().contains("MCC"));
        assert!(
            Imsi::parse("31015012345678x")
                .unwrap_err()
                .contains("only digits")
        );
    }
}
