//! Organization IPs (orgips): the addresses and networks an organization's equipment and users
//! come from, used for API access restriction, provisioning allow-lists and recognising a
//! SIP request's organization. Every change is published as `OrgAccessChanged`.

pub mod api;
mod store;

use super::Organization;
use crate::auth::{Caller, Permission};
use crate::db::{Db, Page};
use crate::error::{Error, Result};
use crate::system::audit::{self, Change};
use crate::system::changes::{Changes, OrgAccessChanged};
use crate::types::{Cidr, Description};
use chrono::{DateTime, Utc};
use ipnet::IpNet;
use serde::Serialize;
use std::net::IpAddr;

/// The longest description of an org IP.
pub const DESCRIPTION_MAX: usize = 500;

/// What an operator wrote about an org IP: at most 500 characters, one line.
pub type OrgIpDescription = Description<DESCRIPTION_MAX>;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrgIp {
    pub id: i64,
    pub organization_id: i64,
    /// Canonical CIDR (`192.0.2.0/24`, `2001:db8::/32`; a bare address becomes /32 or /128).
    pub cidr: Cidr,
    pub description: OrgIpDescription,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Parses an address or network given as `cidr` (host bits set is refused with the network
/// the operator probably meant: see [`Cidr::parse`]).
/// The longest CIDR text, as given (the `Cidr` schema's `maxLength`).
const CIDR_MAX: usize = 64;

pub fn parse_cidr(text: &str) -> Result<Cidr> {
    crate::orgs::model::as_given("cidr", text, CIDR_MAX)?;
    Cidr::parse(text).map_err(|e| Error::field("cidr", e))
}

fn parse_description(text: &str) -> Result<OrgIpDescription> {
    crate::orgs::model::as_given("description", text, DESCRIPTION_MAX)?;
    OrgIpDescription::parse(text).map_err(|e| Error::field("description", e))
}

/// The org IP `id` and its organization, if the caller may see them.
pub async fn visible(db: &Db, caller: &Caller, id: i64) -> Result<(OrgIp, Organization)> {
    let ip = store::fetch(db, id)
        .await?
        .ok_or_else(|| Error::not_found("org IP"))?;
    let org = super::visible(db, caller, ip.organization_id)
        .await
        .map_err(|e| match e {
            Error::NotFound(_) => Error::not_found("org IP"),
            other => other,
        })?;
    Ok((ip, org))
}

fn change<'a>(
    org: &'a Organization,
    action: &'a str,
    id: i64,
    before: Option<&OrgIp>,
    after: Option<&OrgIp>,
) -> Change<'a> {
    Change {
        organization_id: org.id,
        organization_path: &org.path,
        action,
        entity_type: "orgip",
        entity_id: id.to_string(),
        before: crate::system::audit::snapshot(before),
        after: crate::system::audit::snapshot(after),
    }
}

/// The org IPs of the caller's subtree (of one organization, if given), a page of them.
pub async fn list(
    db: &Db,
    caller: &Caller,
    organization_id: Option<i64>,
    page: Page,
) -> Result<(Vec<OrgIp>, i64)> {
    Ok(store::list(db, &caller.scope().like(), organization_id, page).await?)
}

pub async fn create(
    db: &Db,
    changes: &Changes,
    caller: &Caller,
    organization_id: i64,
    cidr: &str,
    description: &str,
) -> Result<OrgIp> {
    let org = super::visible_field(db, caller, "organization_id", organization_id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    let cidr = parse_cidr(cidr)?;
    let description = parse_description(description)?;
    let mut tx = db.begin().await?;
    let row = store::insert(&mut tx, organization_id, cidr, &description, Utc::now()).await?;
    audit::record(
        &mut tx,
        &caller.actor(),
        change(&org, "create", row.id, None, Some(&row)),
    )
    .await?;
    tx.commit().await?;
    changes.publish(access_of(organization_id)).await;
    Ok(row)
}

pub async fn update(
    db: &Db,
    changes: &Changes,
    caller: &Caller,
    id: i64,
    cidr: Option<&str>,
    description: Option<&str>,
) -> Result<OrgIp> {
    let (before, org) = visible(db, caller, id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    let cidr = match cidr {
        Some(c) => parse_cidr(c)?,
        None => before.cidr,
    };
    let description = match description {
        Some(d) => parse_description(d)?,
        None => before.description.clone(),
    };
    keep_caller_inside(
        db,
        caller,
        before.organization_id,
        None,
        Some((id, Some(cidr))),
    )
    .await?;
    let mut tx = db.begin().await?;
    let after = store::update(&mut tx, id, cidr, &description, Utc::now()).await?;
    audit::record(
        &mut tx,
        &caller.actor(),
        change(&org, "update", id, Some(&before), Some(&after)),
    )
    .await?;
    tx.commit().await?;
    changes.publish(access_of(after.organization_id)).await;
    Ok(after)
}

pub async fn delete(db: &Db, changes: &Changes, caller: &Caller, id: i64) -> Result<()> {
    let (before, org) = visible(db, caller, id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    keep_caller_inside(db, caller, before.organization_id, None, Some((id, None))).await?;
    let mut tx = db.begin().await?;
    store::delete(&mut tx, id).await?;
    audit::record(
        &mut tx,
        &caller.actor(),
        change(&org, "delete", id, Some(&before), None),
    )
    .await?;
    tx.commit().await?;
    changes.publish(access_of(before.organization_id)).await;
    Ok(())
}

/// Refuses (409) a change that would shut the caller out of its own organization's API: while
/// the organization restricts access to its IPs (`restrict_to_orgips`, or `restricting` when
/// that is being turned on), the caller's address must stay inside one of them. `change` is a
/// row being replaced by a network or (`None`) deleted. Another organization's list is its
/// own business: an administrator above it may lock it down.
pub async fn keep_caller_inside(
    db: &Db,
    caller: &Caller,
    organization_id: i64,
    restricting: Option<bool>,
    change: Option<(i64, Option<Cidr>)>,
) -> Result<()> {
    let Some(ip) = caller.client_ip else {
        return Ok(());
    };
    if organization_id != caller.organization_id {
        return Ok(());
    }
    let restricted = match restricting {
        Some(on) => on,
        None => {
            super::store::client_access(db, organization_id)
                .await?
                .restrict_to_orgips
        }
    };
    if !restricted {
        return Ok(());
    }
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    let mut networks: Vec<Cidr> = store::cidrs_by_id(db, organization_id)
        .await?
        .into_iter()
        .filter(|(row, _)| change.is_none_or(|(changed, _)| *row != changed))
        .map(|(_, cidr)| cidr)
        .collect();
    networks.extend(change.and_then(|(_, replacement)| replacement));
    if networks.iter().any(|net| net.contains(&ip)) {
        return Ok(());
    }
    Err(Error::Conflict(format!(
        "Your address {ip} would no longer be allowed: organization {organization_id} restricts API access to its IPs (restrict_to_orgips); add a network that contains it first"
    )))
}

fn access_of(organization_id: i64) -> OrgAccessChanged {
    OrgAccessChanged {
        organization_id: Some(organization_id),
    }
}

/// (organization id, CIDR) of every org IP, unscoped: the SIP redirect listener's source table
/// (which counts and logs the ones that do not parse, rather than refusing every source).
pub async fn all_networks(db: &Db) -> Result<Vec<(i64, String)>> {
    Ok(store::all_networks(db).await?)
}

/// Whether `ip` is inside one of the organization's networks.
pub async fn contains(db: &Db, organization_id: i64, ip: IpAddr) -> Result<bool> {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    Ok(networks(db, organization_id)
        .await?
        .iter()
        .any(|net| net.contains(&ip)))
}

/// The organization's networks (for callers that cache them, like the provisioning server);
/// a stored network that does not parse is an error naming its row, never a network skipped.
pub async fn networks(db: &Db, organization_id: i64) -> Result<Vec<IpNet>> {
    let cidrs = store::cidrs(db, organization_id).await?;
    Ok(cidrs.iter().map(Cidr::net).collect())
}

#[cfg(test)]
mod tests {
    use super::{parse_cidr, parse_description};

    #[test]
    fn cidrs_are_canonical_and_strict() {
        assert_eq!(parse_cidr("192.0.2.7").unwrap().to_string(), "192.0.2.7/32");
        assert_eq!(
            parse_cidr(" 10.0.0.0/8 ").unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(
            parse_cidr("2001:db8::/32").unwrap().to_string(),
            "2001:db8::/32"
        );
        assert_eq!(parse_cidr("::1").unwrap().to_string(), "::1/128");
        let err = parse_cidr("10.0.0.1/8").unwrap_err().to_string();
        assert_eq!(
            err,
            "cidr: 10.0.0.1/8 has host bits set; did you mean 10.0.0.0/8?"
        );
        assert_eq!(
            parse_cidr(" example.com ").unwrap_err().to_string(),
            "cidr: not an IP address or CIDR: \"example.com\""
        );
        for bad in ["10.0.0.0/33", "300.1.1.1", "example.com", "", "10.0.0.0/-1"] {
            assert!(parse_cidr(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn descriptions_are_one_bounded_line() {
        let err = |text: &str| parse_description(text).unwrap_err().to_string();
        assert_eq!(parse_description(" rack 4 ").unwrap().as_str(), "rack 4");
        assert_eq!(parse_description("").unwrap().as_str(), "");
        assert_eq!(
            err(&"x".repeat(501)),
            "description: must be at most 500 characters"
        );
        assert_eq!(
            err("a\nb"),
            "description: must not contain control characters"
        );
    }

    /// The lengths are counted as the document counts them: padded to its `maxLength` with
    /// white space a value is taken, one character more is refused by both.
    #[test]
    fn the_lengths_are_the_documents() {
        use super::{Cidr, OrgIpDescription};
        use crate::types::schema::check::Allows;
        use utoipa::PartialSchema;
        type Parses = dyn Fn(&str) -> bool;
        let cases: [(_, &str, &Parses); 2] = [
            (Cidr::schema(), "::", &|t| parse_cidr(t).is_ok()),
            (OrgIpDescription::schema(), "rack 4", &|t| {
                parse_description(t).is_ok()
            }),
        ];
        for (schema, value, parses) in cases {
            let max = serde_json::to_value(&schema).unwrap()["maxLength"]
                .as_u64()
                .unwrap() as usize;
            let allows = Allows::new(&schema);
            let fits = format!("{value}{}", "\u{85}".repeat(max - value.len()));
            assert!(allows.allows(&fits) && parses(&fits), "{fits:?}");
            let over = format!("{fits} ");
            assert!(!allows.allows(&over) && !parses(&over), "{over:?}");
        }
    }
}
