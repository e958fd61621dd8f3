//! Organization domains: the DNS names an organization's phones and users live under
//! (unique platform-wide, so a SIP or provisioning request's host names one organization).

pub mod api;
mod store;

use super::Organization;
use crate::auth::{Caller, Permission};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::system::audit::{self, Change};
use crate::types::text::quote_prefix;
use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct Domain {
    pub id: i64,
    pub organization_id: i64,
    pub domain: String,
    pub created_at: DateTime<Utc>,
}

/// A DNS name: lower-cased, labels of letters, digits and hyphens, at least two labels.
pub fn validate_domain(text: &str) -> Result<String> {
    crate::orgs::model::as_given("domain", text, DOMAIN_MAX)?;
    let domain = text.trim().trim_end_matches('.').to_ascii_lowercase();
    let bad = |why: &str| {
        Err(Error::field(
            "domain",
            format!("{why}: {}", quote_prefix(text)),
        ))
    };
    if domain.len() > DOMAIN_MAX {
        return bad("longer than 253 characters");
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return bad("must have at least two labels");
    }
    for label in &labels {
        if label.is_empty() || label.len() > 63 {
            return bad("each label must be 1-63 characters");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            || label.starts_with('-')
            || label.ends_with('-')
        {
            return bad("not a valid host name");
        }
    }
    if labels
        .last()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return bad("an IP address is not a domain");
    }
    Ok(domain)
}

/// The longest domain [`validate_domain`] takes.
const DOMAIN_MAX: usize = 253;

/// The schema of [`validate_domain`]: labels of letters, digits and inner hyphens, at least two,
/// a final dot and white space allowed around, 253 characters as given. The document offers only
/// domains whose last label starts with a letter (the check takes any last label that is not all
/// digits).
pub fn domain_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use crate::types::schema::{WHITE_SPACE, string};
    let label = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
    let tld = "[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
    string(
        "A DNS name of at least two labels, e.g. `pbx.example.com` (stored lower case)",
        Some(&format!(
            r"^{WHITE_SPACE}*(?:{label}\.)+{tld}\.?{WHITE_SPACE}*$"
        )),
        (None, Some(DOMAIN_MAX)),
        None,
    )
}

pub async fn list(db: &Db, caller: &Caller, org_id: i64) -> Result<Vec<Domain>> {
    super::visible(db, caller, org_id).await?;
    Ok(store::list(db, org_id).await?)
}

fn change<'a>(org: &'a Organization, action: &'a str, d: &Domain, before: bool) -> Change<'a> {
    let value = serde_json::to_value(d).ok();
    Change {
        organization_id: org.id,
        organization_path: &org.path,
        action,
        entity_type: "domain",
        entity_id: d.id.to_string(),
        before: if before { value.clone() } else { None },
        after: if before { None } else { value },
    }
}

pub async fn add(db: &Db, caller: &Caller, org_id: i64, domain: &str) -> Result<Domain> {
    let org = super::visible(db, caller, org_id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    let domain = validate_domain(domain)?;
    let mut tx = db.begin().await?;
    let row = store::insert(&mut tx, org_id, &domain, Utc::now()).await?;
    audit::record(
        &mut tx,
        &caller.actor(),
        change(&org, "create", &row, false),
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

pub async fn remove(db: &Db, caller: &Caller, org_id: i64, domain_id: i64) -> Result<()> {
    let org = super::visible(db, caller, org_id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    let mut tx = db.begin().await?;
    let row = store::delete(&mut tx, org_id, domain_id)
        .await?
        .ok_or_else(|| Error::not_found("domain"))?;
    audit::record(&mut tx, &caller.actor(), change(&org, "delete", &row, true)).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::validate_domain;

    #[test]
    fn domains_are_normalised_and_checked() {
        assert_eq!(
            validate_domain(" PBX.Example.COM. ").unwrap(),
            "pbx.example.com"
        );
        for bad in [
            "localhost",
            "a..b",
            "-a.com",
            "a_b.com",
            "10.0.0.1",
            "exa mple.com",
            "",
        ] {
            assert!(validate_domain(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_schema_agrees_with_the_check() {
        use crate::types::schema::check::{Allows, texts};
        let schema = Allows::new(&super::domain_schema());
        let takes = |t: &str| validate_domain(t).is_ok();
        for text in [
            "pbx.example.com",
            " PBX.Example.COM. ",
            "a-b.c1",
            "x.y.z.example",
            &format!("{}.com", "a".repeat(63)),
            "",
            "localhost",
            "a..b",
            "-a.com",
            "a-.com",
            "a_b.com",
            "10.0.0.1",
            "exa mple.com",
            ".a.com",
            &format!("{}.com", "a".repeat(64)),
            &format!("{}com", "a.".repeat(126)),
            "ü.com",
        ] {
            assert_eq!(schema.allows(text), takes(text), "{text:?}");
        }
        let fits = format!("a.com{}", "\u{85}".repeat(super::DOMAIN_MAX - 5));
        assert!(schema.allows(&fits) && takes(&fits));
        let over = format!("{fits} ");
        assert!(!schema.allows(&over) && !takes(&over));
        // What the document leaves out: last labels not starting with a letter, more than one
        // final dot.
        for text in ["a.1com", "a.com.."] {
            assert!(takes(text) && !schema.allows(text), "{text}");
        }
        let mut allowed = 0;
        for text in texts(
            &["a", "Z", "0", "-", ".", " ", "_", "ab", "c.", "\u{a0}"],
            12,
            4000,
        ) {
            if schema.allows(&text) {
                assert!(takes(&text), "allowed but refused: {text:?}");
                allowed += 1;
            }
        }
        assert!(allowed > 100, "{allowed}");
    }
}
