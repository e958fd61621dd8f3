//! A phone's MAC address, parsed once at the edge from whatever notation the operator pasted
//! (`AA:BB:CC:DD:EE:FF`, `aa-bb-cc-dd-ee-ff`, Cisco's `aabb.ccdd.eeff`, bare hex) into the one
//! canonical form everything inside uses: 12 lower-case hex digits, as in provisioning file names.

use crate::types::text::quote_prefix;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A unicast MAC address, canonical lower-case hex (`0015651234ab`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mac([u8; 6]);

/// Why a MAC was refused (the message is shown to API users).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MacError(pub String);

impl Mac {
    /// Parses any common notation. Separators (`:`, `-`, `.`) are optional but must split the
    /// digits evenly (pairs, or Cisco's groups of four); the all-zero address (Poly's master
    /// file name, `000000000000.cfg`) and multicast/broadcast addresses are not phones.
    pub fn parse(text: &str) -> Result<Self, MacError> {
        let err = |why: &str| Err(MacError(format!("{why}: {}", quote_prefix(text))));
        // The document's `maxLength`, white space around included.
        if text.chars().count() > 64 {
            return err("must be at most 64 characters");
        }
        let trimmed = text.trim();
        let separators: Vec<char> = trimmed
            .chars()
            .filter(|c| matches!(c, ':' | '-' | '.'))
            .collect();
        let groups: Vec<&str> = if separators.is_empty() {
            vec![trimmed]
        } else {
            let separator = separators[0];
            if separators.iter().any(|c| *c != separator) {
                return err("mixes separators");
            }
            trimmed.split(separator).collect()
        };
        let group_len = match groups.len() {
            1 => 12,
            3 => 4,
            6 => 2,
            _ => return err("must be 12 hex digits, e.g. aa:bb:cc:dd:ee:ff"),
        };
        if groups.iter().any(|g| g.len() != group_len) {
            return err("must be 12 hex digits, e.g. aa:bb:cc:dd:ee:ff");
        }
        let digits: String = groups.concat();
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return err("must contain only hex digits");
        }
        let mut bytes = [0u8; 6];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&digits[2 * i..2 * i + 2], 16).map_err(|_| {
                MacError(format!(
                    "must contain only hex digits: {}",
                    quote_prefix(text)
                ))
            })?;
        }
        if bytes == [0; 6] {
            return err("000000000000 is not a device (it names the common file)");
        }
        if bytes[0] & 0x01 != 0 {
            return err("is a multicast or broadcast address, not a device");
        }
        Ok(Self(bytes))
    }

    /// `0015651234AB`: the form Snom and Cisco put in file names and User-Agents.
    pub fn upper(&self) -> String {
        self.to_string().to_ascii_uppercase()
    }

    /// `00:15:65:12:34:ab`: the form people read.
    pub fn colon(&self) -> String {
        self.0
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    }

    pub fn bytes(&self) -> [u8; 6] {
        self.0
    }
}

impl fmt::Display for Mac {
    /// The canonical form: 12 lower-case hex digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl FromStr for Mac {
    type Err = MacError;
    fn from_str(text: &str) -> Result<Self, MacError> {
        Self::parse(text)
    }
}

crate::text_column!(Mac, "mac", Mac::parse);

impl Serialize for Mac {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Mac {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for Mac {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use crate::types::schema::WHITE_SPACE;
        // Bare, 6 groups of 2 (`:` or `-`), 3 groups of 4 (`.`, `:` or `-`).
        let notations = [
            ["", "", "", "", ""],
            [":", ":", ":", ":", ":"],
            ["-", "-", "-", "-", "-"],
            ["", r"\.", "", r"\.", ""],
            ["", ":", "", ":", ""],
            ["", "-", "", "-", ""],
        ];
        let any = notations
            .map(|separators| unicast_not_zero(&separators))
            .join("|");
        let pattern = format!("^{WHITE_SPACE}*(?:{any}){WHITE_SPACE}*$");
        crate::types::schema::string(
            "A unicast MAC address, not all zero, in any common notation (`AA:BB:CC:DD:EE:FF`, `aa-bb-…`, `aabb.ccdd.eeff`, bare hex); answers give 12 lower-case hex digits",
            Some(&pattern),
            (Some(12), Some(64)),
            Some("mac"),
        )
    }
}

/// Six octets with `separators` between them, the first even (unicast), not all zero: one
/// alternative per octet that can be the first non-zero one.
fn unicast_not_zero(separators: &[&str; 5]) -> String {
    const HEX: &str = "[0-9A-Fa-f]";
    const NON_ZERO: &str = "[1-9A-Fa-f]";
    const EVEN: &str = "[02468ACEace]";
    const EVEN_NON_ZERO: &str = "[2468ACEace]";
    let first_non_zero = |first: usize| {
        let mut text = String::new();
        for octet in 0..6 {
            if octet > 0 {
                text.push_str(separators[octet - 1]);
            }
            let low = if octet == 0 { EVEN } else { HEX };
            let low_non_zero = if octet == 0 { EVEN_NON_ZERO } else { NON_ZERO };
            let here = match octet.cmp(&first) {
                std::cmp::Ordering::Less => "00".to_string(),
                std::cmp::Ordering::Equal => {
                    format!("(?:{NON_ZERO}{low}|0{low_non_zero})")
                }
                std::cmp::Ordering::Greater => format!("{HEX}{low}"),
            };
            text.push_str(&here);
        }
        text
    };
    (0..6).map(first_non_zero).collect::<Vec<_>>().join("|")
}

impl utoipa::ToSchema for Mac {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_pattern_agrees_with_the_parser() {
        use utoipa::PartialSchema;
        let pattern = crate::types::schema::check::pattern_of(Mac::schema());
        for text in [
            "00:15:65:12:34:ab",
            "00-15-65-12-34-AB",
            "0015.6512.34ab",
            "0015651234AB",
            " 0015651234ab ",
            "01:15:65:12:34:ab",
            "ff:ff:ff:ff:ff:ff",
            "00:15-65:12:34:ab",
            "0015:6512:34ab",
            "0015-6512.34ab",
            "0015651234a",
            "0015651234abc",
            "00:15:65:12:34:ag",
            "",
            "00 15 65 12 34 ab",
            "\u{a0}0015651234ab",
            "000000000000",
            "00:00:00:00:00:00",
            "0000.0000.0000",
            "0000-0000-0000",
            "00:00:00:00:00:01",
            "0000.0000.0100",
            "02:00:00:00:00:00",
            "01:00:00:00:00:00",
            "00-00-00-00-10-00",
            "000000000010",
        ] {
            assert_eq!(pattern.is_match(text), Mac::parse(text).is_ok(), "{text:?}");
        }
        let pieces = ["0", "1", "2", "a", "F", ":", "-", ".", "00", "0000", " "];
        for text in crate::types::schema::check::texts(&pieces, 18, 5000) {
            assert_eq!(
                pattern.is_match(&text),
                Mac::parse(&text).is_ok(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn every_notation_gives_the_canonical_form() {
        for text in [
            "00:15:65:12:34:ab",
            "00:15:65:12:34:AB",
            "00-15-65-12-34-AB",
            "0015.6512.34ab",
            "0015651234AB",
            " 0015651234ab ",
        ] {
            let mac = Mac::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(mac.to_string(), "0015651234ab", "{text}");
        }
    }

    #[test]
    fn round_trips_through_every_form() {
        let mac = Mac::parse("0c:38:3e:00:00:01").unwrap();
        assert_eq!(mac.upper(), "0C383E000001");
        assert_eq!(mac.colon(), "0c:38:3e:00:00:01");
        for form in [mac.to_string(), mac.upper(), mac.colon()] {
            assert_eq!(Mac::parse(&form).unwrap(), mac, "{form}");
        }
        let json = serde_json::to_string(&mac).unwrap();
        assert_eq!(json, "\"0c383e000001\"");
        assert_eq!(serde_json::from_str::<Mac>(&json).unwrap(), mac);
        assert_eq!(
            mac.bytes(),
            [0x0c, 0x38, 0x3e, 0x00, 0x00, 0x01],
            "bytes in order"
        );
    }

    /// Generated unicast addresses round-trip through every notation, JSON and the database.
    #[tokio::test]
    async fn generated_addresses_round_trip() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        for _ in 0..2000 {
            let mut bytes: [u8; 6] = rng.random();
            bytes[0] &= 0xfe;
            bytes[5] |= 1;
            let mac = Mac(bytes);
            let cisco = format!(
                "{}.{}.{}",
                &mac.to_string()[..4],
                &mac.to_string()[4..8],
                &mac.to_string()[8..]
            );
            for form in [
                mac.to_string(),
                mac.upper(),
                mac.colon(),
                mac.colon().replace(':', "-"),
                cisco,
            ] {
                assert_eq!(Mac::parse(&form).unwrap(), mac, "{form}");
            }
            let json = serde_json::to_string(&mac).unwrap();
            assert_eq!(serde_json::from_str::<Mac>(&json).unwrap(), mac);
        }
        let mac = Mac::parse("0015651234ab").unwrap();
        let stored = crate::types::column::tests::sqlite_round_trip(&mac).await;
        assert_eq!(stored, (mac, "0015651234ab".to_string()));
        let e = crate::types::column::tests::sqlite_decode::<Mac>("00:15:65:zz")
            .await
            .unwrap_err();
        let corrupt = crate::types::column::corrupt_of(&e).unwrap();
        assert_eq!(
            (corrupt.column, corrupt.value.as_str()),
            ("mac", "00:15:65:zz")
        );
    }

    #[test]
    fn refuses_what_is_not_a_phone() {
        for bad in [
            "",
            "0015651234a",
            "0015651234abc",
            "00:15:65:12:34",
            "00:15:65:12:34:ab:cd",
            "0015:6512:34ab:",
            "00:15:65-12:34:ab",
            "001:565:123:4ab",
            "00:15:65:12:34:zz",
            "0015651234ag",
            "00 15 65 12 34 ab",
            "000000000000",
            "00:00:00:00:00:00",
            "ff:ff:ff:ff:ff:ff",
            "01:00:5e:00:00:01",
            "33:33:00:00:00:01",
            "+015651234ab",
        ] {
            assert!(Mac::parse(bad).is_err(), "{bad:?} accepted");
        }
        let err = Mac::parse("000000000000").unwrap_err().to_string();
        assert!(err.contains("common file"), "{err}");
        assert!(serde_json::from_str::<Mac>("\"ff:ff:ff:ff:ff:ff\"").is_err());
    }
}
