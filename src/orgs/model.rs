//! The organization tree's types: platform › distributor › partner › tenant.

use crate::error::{Error, Result};
use crate::types::Name;
use crate::types::text::quote_prefix;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The rank of an organization in the reseller hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OrgType {
    Platform,
    Distributor,
    Partner,
    Tenant,
}

pub const ORG_TYPES: [&str; 4] = ["platform", "distributor", "partner", "tenant"];

impl OrgType {
    pub fn as_str(self) -> &'static str {
        match self {
            OrgType::Platform => "platform",
            OrgType::Distributor => "distributor",
            OrgType::Partner => "partner",
            OrgType::Tenant => "tenant",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "platform" => Some(OrgType::Platform),
            "distributor" => Some(OrgType::Distributor),
            "partner" => Some(OrgType::Partner),
            "tenant" => Some(OrgType::Tenant),
            _ => None,
        }
    }

    /// A stored type, or why it is not one.
    pub fn parse_stored(text: &str) -> std::result::Result<Self, String> {
        Self::parse(text).ok_or_else(|| format!("not one of {}", ORG_TYPES.join(", ")))
    }

    /// Types an organization of this type may have as children: any lower rank, so a platform
    /// may sell directly to tenants and a distributor may skip partners.
    pub fn child_types(self) -> impl Iterator<Item = OrgType> {
        [OrgType::Distributor, OrgType::Partner, OrgType::Tenant]
            .into_iter()
            .filter(move |t| *t > self)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OrgStatus {
    Active,
    Suspended,
}

impl OrgStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrgStatus::Active => "active",
            OrgStatus::Suspended => "suspended",
        }
    }

    /// A stored status, or why it is not one.
    pub fn parse_stored(text: &str) -> std::result::Result<Self, String> {
        match text {
            "active" => Ok(OrgStatus::Active),
            "suspended" => Ok(OrgStatus::Suspended),
            _ => Err("not one of active, suspended".into()),
        }
    }
}

/// The longest organization name.
pub const NAME_MAX: usize = 200;

/// An organization's name: trimmed, 1–200 characters, no control characters.
pub type OrgName = Name<NAME_MAX>;

/// An organization as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Organization {
    pub id: i64,
    pub name: OrgName,
    #[serde(rename = "type")]
    pub org_type: OrgType,
    pub parent_id: Option<i64>,
    pub status: OrgStatus,
    pub timezone: String,
    /// ISO 3166-1 alpha-2 country (upper case): how national numbers are read and which
    /// country's number classes apply.
    pub country: String,
    #[serde(skip)]
    pub path: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Organization {
    pub fn kind(&self) -> OrgType {
        self.org_type
    }
}

/// Parses an organization type named in input; the error lists the valid ones.
pub fn parse_type(field: &str, text: &str) -> Result<OrgType> {
    OrgType::parse(text).ok_or_else(|| {
        Error::field(
            field,
            format!(
                "unknown organization type {}; expected one of {}",
                quote_prefix(text),
                ORG_TYPES.join(", ")
            ),
        )
    })
}

/// Parses an organization name given in input (the error names `field`).
pub fn parse_name(field: &str, text: &str) -> Result<OrgName> {
    as_given(field, text, NAME_MAX)?;
    OrgName::parse(text).map_err(|e| Error::field(field, e))
}

/// `text` is at most `max` characters as given, before trimming: the document's `maxLength`
/// counts white space around too, so what it allows is what is taken and what it refuses is
/// refused.
pub fn as_given(field: &str, text: &str, max: usize) -> Result<()> {
    if text.chars().count() > max {
        return Err(Error::field(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(())
}

/// An IANA time zone name such as `Europe/Berlin`.
pub fn validate_timezone(field: &str, tz: &str) -> Result<String> {
    tz.trim()
        .parse::<chrono_tz::Tz>()
        .map(|tz| tz.name().to_string())
        .map_err(|_| {
            Error::field(
                field,
                format!("unknown IANA time zone {}", quote_prefix(tz)),
            )
        })
}

/// An ISO 3166-1 alpha-2 country code such as `US` or `GB`, returned upper case.
pub fn validate_country(field: &str, country: &str) -> Result<String> {
    let code = country.trim().to_ascii_uppercase();
    if code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(code)
    } else {
        Err(Error::field(
            field,
            format!(
                "expected an ISO 3166-1 alpha-2 country code such as \"US\", got {}",
                quote_prefix(country)
            ),
        ))
    }
}

/// The schema of [`validate_country`]: two ASCII letters, either case, white space around.
pub fn country_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use crate::types::schema::{WHITE_SPACE, string};
    string(
        "ISO 3166-1 alpha-2 country code such as `US` or `GB` (either case)",
        Some(&format!("^{WHITE_SPACE}*[A-Za-z]{{2}}{WHITE_SPACE}*$")),
        (None, None),
        None,
    )
}

pub fn country_or_null() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    crate::types::schema::nullable(country_schema())
}

/// An IANA time zone name as [`validate_timezone`] takes it: one of `chrono_tz`'s names (its
/// schema lists them, once, as a component).
pub struct TimeZone;

impl utoipa::PartialSchema for TimeZone {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let names: Vec<&str> = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect();
        crate::types::schema::one_of("IANA time zone, e.g. `Europe/Berlin`", &names)
    }
}

impl ToSchema for TimeZone {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hierarchy_only_goes_down() {
        let kids: Vec<_> = OrgType::Partner.child_types().collect();
        assert_eq!(kids, vec![OrgType::Tenant]);
        assert_eq!(OrgType::Tenant.child_types().count(), 0);
        assert_eq!(OrgType::Platform.child_types().count(), 3);
        assert!(
            OrgType::Distributor
                .child_types()
                .all(|t| t != OrgType::Platform)
        );
    }

    #[test]
    fn validation_names_the_field() {
        assert!(
            parse_type("type", "reseller")
                .unwrap_err()
                .to_string()
                .starts_with("type:")
        );
        assert_eq!(
            validate_timezone("timezone", "Europe/Berlin").unwrap(),
            "Europe/Berlin"
        );
        assert!(validate_timezone("timezone", "Mars/Olympus").is_err());
        assert_eq!(validate_country("country", " gb ").unwrap(), "GB");
        assert!(validate_country("country", "GBR").is_err());
        assert!(validate_country("country", "1A").is_err());
        let name = |text: &str| parse_name("name", text).map_err(|e| e.to_string());
        assert_eq!(name("  ").unwrap_err(), "name: must not be empty");
        assert_eq!(
            name("a\nb").unwrap_err(),
            "name: must not contain control characters"
        );
        assert_eq!(
            name(&"x".repeat(201)).unwrap_err(),
            "name: must be at most 200 characters"
        );
        assert_eq!(name(" Acme ").unwrap().as_str(), "Acme");
    }

    #[test]
    fn the_schemas_agree_with_the_checks() {
        use crate::types::schema::check::Allows;
        use utoipa::PartialSchema;
        let country = Allows::new(&country_schema());
        for text in [
            "US",
            "gb",
            " De ",
            "\u{3000}fr\t",
            "",
            "U",
            "USA",
            "1A",
            "Ü1",
            "U S",
            "ÜS",
            "\u{1}US",
        ] {
            assert_eq!(
                country.allows(text),
                validate_country("country", text).is_ok(),
                "{text:?}"
            );
        }
        let zone = Allows::new(&TimeZone::schema());
        for text in ["Europe/Berlin", "UTC", "America/Argentina/Buenos_Aires"] {
            assert!(
                zone.allows(text) && validate_timezone("t", text).is_ok(),
                "{text}"
            );
        }
        for text in ["", "Mars/Olympus", "europe/berlin", " UTC"] {
            assert!(!zone.allows(text), "{text:?}");
        }
        for name in chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()) {
            assert!(
                zone.allows(name) && validate_timezone("t", name).is_ok(),
                "{name}"
            );
        }
        let name = Allows::new(&OrgName::schema());
        let fits = format!("Acme{}", "\u{85}".repeat(NAME_MAX - 4));
        assert!(name.allows(&fits) && parse_name("name", &fits).is_ok());
        let over = format!("{fits} ");
        assert!(!name.allows(&over) && parse_name("name", &over).is_err());
        assert!(!Allows::new(&OrgType::schema()).allows("reseller"));
        for t in ORG_TYPES {
            assert!(Allows::new(&OrgType::schema()).allows(t) && parse_type("type", t).is_ok());
        }
    }
}
