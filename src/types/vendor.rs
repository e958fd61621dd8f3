//! The phone families dialtone provisions: one enum, parsed once from the stored or requested
//! name, so template lookup, NOTIFY and provisioning never re-read a vendor string.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The phone families dialtone provisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Vendor {
    Yealink,
    /// Poly (Polycom) VVX, SoundPoint, Edge.
    Polycom,
    Grandstream,
    /// Cisco SPA and MPP (3PCC firmware).
    Cisco,
    Snom,
    Fanvil,
}

pub const VENDORS: [&str; 6] = [
    "yealink",
    "polycom",
    "grandstream",
    "cisco",
    "snom",
    "fanvil",
];

impl Vendor {
    pub fn as_str(self) -> &'static str {
        match self {
            Vendor::Yealink => "yealink",
            Vendor::Polycom => "polycom",
            Vendor::Grandstream => "grandstream",
            Vendor::Cisco => "cisco",
            Vendor::Snom => "snom",
            Vendor::Fanvil => "fanvil",
        }
    }

    /// The vendor named `text` (lower case, as stored and in the API).
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "yealink" => Some(Vendor::Yealink),
            "polycom" => Some(Vendor::Polycom),
            "grandstream" => Some(Vendor::Grandstream),
            "cisco" => Some(Vendor::Cisco),
            "snom" => Some(Vendor::Snom),
            "fanvil" => Some(Vendor::Fanvil),
            _ => None,
        }
    }
}

/// Why a vendor name was refused (shown to API users; names the accepted ones).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be one of {}, got {}", VENDORS.join(", "), crate::types::text::quote_prefix(.0))]
pub struct VendorError(pub String);

impl std::str::FromStr for Vendor {
    type Err = VendorError;
    fn from_str(text: &str) -> Result<Self, VendorError> {
        Self::parse(text).ok_or_else(|| VendorError(text.to_string()))
    }
}

impl std::fmt::Display for Vendor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

crate::text_column!(Vendor, "vendor", str::parse::<Vendor>);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::column::corrupt_of;
    use crate::types::column::tests::{sqlite_decode, sqlite_round_trip};

    #[tokio::test]
    async fn every_vendor_round_trips_through_text_json_and_the_database() {
        for name in VENDORS {
            let vendor: Vendor = name.parse().unwrap();
            assert_eq!(vendor.to_string(), name);
            let json = serde_json::to_string(&vendor).unwrap();
            assert_eq!(json, format!("\"{name}\""));
            assert_eq!(serde_json::from_str::<Vendor>(&json).unwrap(), vendor);
            assert_eq!(sqlite_round_trip(&vendor).await, (vendor, name.to_string()));
        }
    }

    #[tokio::test]
    async fn an_unknown_vendor_is_refused_by_name() {
        let e = "Yealink".parse::<Vendor>().unwrap_err().to_string();
        assert!(
            e.contains("yealink, polycom") && e.contains("\"Yealink\""),
            "{e}"
        );
        assert!(serde_json::from_str::<Vendor>("\"avaya\"").is_err());
        let stored = sqlite_decode::<Vendor>("avaya").await.unwrap_err();
        let corrupt = corrupt_of(&stored).expect("a corrupt-value error");
        assert_eq!(
            (corrupt.column, corrupt.value.as_str()),
            ("vendor", "avaya")
        );
    }
}
