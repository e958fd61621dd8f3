//! An IP network (`10.0.0.0/8`, `2001:db8::/32`) or a single address (stored as `/32` or
//! `/128`), as organizations' allowed IPs and trunks' ACLs hold them.

use crate::types::text::quote_prefix;
use ipnet::IpNet;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::net::IpAddr;

/// A network with no host bits set, so two spellings of one network are one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cidr(IpNet);

/// Why a network was refused (shown after the field's name).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CidrError(pub String);

impl Cidr {
    /// Parses an address or network. Host bits set (`10.0.0.1/8`) is refused with the network
    /// the operator probably meant, rather than silently widened or narrowed.
    pub fn parse(text: &str) -> Result<Self, CidrError> {
        let text = text.trim();
        let net = match text.parse::<IpNet>() {
            Ok(net) => net,
            Err(_) => match text.parse::<IpAddr>() {
                Ok(ip) => IpNet::from(ip),
                Err(_) => {
                    return Err(CidrError(format!(
                        "not an IP address or CIDR: {}",
                        quote_prefix(text)
                    )));
                }
            },
        };
        if net.trunc() != net {
            return Err(CidrError(format!(
                "{text} has host bits set; did you mean {}?",
                net.trunc()
            )));
        }
        Ok(Self(net))
    }

    pub fn net(&self) -> IpNet {
        self.0
    }

    pub fn contains(&self, ip: &IpAddr) -> bool {
        self.0.contains(ip)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for Cidr {
    type Err = CidrError;
    fn from_str(text: &str) -> Result<Self, CidrError> {
        Self::parse(text)
    }
}

impl From<Cidr> for IpNet {
    fn from(cidr: Cidr) -> Self {
        cidr.0
    }
}

impl Serialize for Cidr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

crate::text_column!(Cidr, "cidr", Cidr::parse);

/// An IPv4 address in dotted decimal, no leading zeros (as `std` parses it).
const IPV4: &str = r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";

/// An IPv6 address as RFC 4291 writes it (RFC 3986's `IPv6address`): eight groups, `::` for
/// a run of zero groups, the last two groups possibly an IPv4 address.
fn ipv6() -> String {
    let h = "[0-9A-Fa-f]{1,4}";
    let ls32 = format!("(?:{h}:{h}|{IPV4})");
    // Up to `n` groups before a `::`.
    let before = |n: usize| match n {
        0 => String::new(),
        n => format!("(?:(?:{h}:){{0,{}}}{h})?", n - 1),
    };
    let alternatives = [
        format!("(?:{h}:){{6}}{ls32}"),
        format!("::(?:{h}:){{5}}{ls32}"),
        format!("{}::(?:{h}:){{4}}{ls32}", before(1)),
        format!("{}::(?:{h}:){{3}}{ls32}", before(2)),
        format!("{}::(?:{h}:){{2}}{ls32}", before(3)),
        format!("{}::{h}:{ls32}", before(4)),
        format!("{}::{ls32}", before(5)),
        format!("{}::{h}", before(6)),
        format!("{}::", before(7)),
    ];
    format!("(?:{})", alternatives.join("|"))
}

impl utoipa::PartialSchema for Cidr {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use crate::types::schema::WHITE_SPACE;
        // No host bits set: a pattern cannot say that (the `cidr` format names it).
        let pattern = format!(
            r"^{WHITE_SPACE}*(?:{IPV4}(?:/(?:3[0-2]|[12]?[0-9]))?|{}(?:/(?:12[0-8]|1[01][0-9]|[1-9]?[0-9]))?){WHITE_SPACE}*$",
            ipv6()
        );
        crate::types::schema::string(
            "An IP address or network in CIDR notation (`192.0.2.0/24`, `2001:db8::/32`), with no host bits set (`10.0.0.1/8` is refused, naming `10.0.0.0/8`)",
            Some(&pattern),
            (Some(2), Some(64)),
            Some("cidr"),
        )
    }
}

impl utoipa::ToSchema for Cidr {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_pattern_admits_everything_the_parser_takes() {
        use utoipa::PartialSchema;
        let pattern = crate::types::schema::check::pattern_of(Cidr::schema());
        for text in [
            "192.0.2.0/24",
            "10.0.0.7",
            " 10.0.0.0/8 ",
            "2001:db8::/32",
            "::1",
            "::/0",
            "0.0.0.0/0",
        ] {
            assert!(Cidr::parse(text).is_ok(), "{text}");
            assert!(pattern.is_match(text), "{text:?}");
        }
        for text in [
            "",
            "10.0.0.0/33",
            "01.2.3.4",
            "256.1.1.1",
            "example.com",
            "10.0.0/8",
            "::/129",
            ":",
            ":\u{85}",
            ":::",
            "1:2:3:4:5:6:7:8:9",
            "1::2::3",
            "12345::",
            "::1.2.3",
        ] {
            assert!(Cidr::parse(text).is_err(), "{text}");
            assert!(!pattern.is_match(text), "{text:?}");
        }
    }

    /// Random strings of the address alphabet: the pattern says of each address exactly what
    /// `std` does (networks aside).
    #[test]
    fn the_ipv6_pattern_is_the_parser() {
        let pattern = regex::Regex::new(&format!("^{}$", super::ipv6())).unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let alphabet = b"0f1a:::..9";
        let mut accepted = 0;
        for _ in 0..200_000 {
            let len = rng.random_range(1..=24);
            let text: String = (0..len)
                .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
                .collect();
            let parsed = text.parse::<std::net::Ipv6Addr>().is_ok();
            accepted += usize::from(parsed);
            assert_eq!(pattern.is_match(&text), parsed, "{text:?}");
        }
        assert!(
            accepted > 100,
            "the sample reaches valid addresses: {accepted}"
        );
        for _ in 0..2000 {
            let ip = std::net::Ipv6Addr::from(rng.random::<u128>() & rng.random::<u128>());
            for text in [ip.to_string(), format!("{ip:?}")] {
                assert!(pattern.is_match(&text), "{text}");
            }
        }
        for text in [
            "::ffff:192.0.2.1",
            "1:2:3:4:5:6:192.0.2.1",
            "::",
            "1::",
            "1:2:3:4:5:6:7::",
        ] {
            assert!(text.parse::<std::net::Ipv6Addr>().is_ok(), "{text}");
            assert!(pattern.is_match(text), "{text}");
        }
    }
    use crate::types::column::corrupt_of;
    use crate::types::column::tests::{sqlite_decode, sqlite_round_trip};
    use rand::{Rng, SeedableRng};

    #[test]
    fn addresses_and_networks() {
        assert_eq!(Cidr::parse("10.0.0.0/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(
            Cidr::parse(" 192.0.2.7 ").unwrap().to_string(),
            "192.0.2.7/32"
        );
        assert_eq!(
            Cidr::parse("2001:db8::/32").unwrap().to_string(),
            "2001:db8::/32"
        );
        assert_eq!(Cidr::parse("::1").unwrap().to_string(), "::1/128");
        let e = Cidr::parse("10.0.0.1/8").unwrap_err().to_string();
        assert!(e.contains("did you mean 10.0.0.0/8"), "{e}");
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(
            Cidr::parse("example.com")
                .unwrap_err()
                .0
                .contains("not an IP")
        );
        assert!(
            Cidr::parse("10.0.0.0/8")
                .unwrap()
                .contains(&"10.9.8.7".parse().unwrap())
        );
    }

    /// Generated networks (truncated to their prefix) round-trip through text and JSON.
    #[test]
    fn generated_networks_round_trip() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        for _ in 0..2000 {
            let net = if rng.random_bool(0.5) {
                let ip = std::net::Ipv4Addr::from(rng.random::<u32>());
                IpNet::new(ip.into(), rng.random_range(0..=32))
                    .unwrap()
                    .trunc()
            } else {
                let ip = std::net::Ipv6Addr::from(rng.random::<u128>());
                IpNet::new(ip.into(), rng.random_range(0..=128))
                    .unwrap()
                    .trunc()
            };
            let cidr = Cidr::parse(&net.to_string()).unwrap();
            assert_eq!(cidr.net(), net);
            let json = serde_json::to_string(&cidr).unwrap();
            assert_eq!(serde_json::from_str::<Cidr>(&json).unwrap(), cidr);
        }
    }

    #[tokio::test]
    async fn stored_networks_are_checked() {
        let cidr = Cidr::parse("192.0.2.0/24").unwrap();
        assert_eq!(
            sqlite_round_trip(&cidr).await,
            (cidr, "192.0.2.0/24".into())
        );
        let e = sqlite_decode::<Cidr>("192.0.2.1/24").await.unwrap_err();
        assert_eq!(corrupt_of(&e).unwrap().value, "192.0.2.1/24");
    }
}
