//! Mobile (SIM) records: ICCID (Luhn-checked, unique), IMSI, the number the SIM answers to
//! (a number of the same organization), state. Tenancy-checked, audited, one transaction each.

pub(super) mod api;
pub mod model;
mod store;

use self::store::{MobileFields, MobileFilter};
use crate::auth::{Caller, Permission};
use crate::db::Page;
use crate::db::{Db, Tx};
use crate::error::{Error, Result};
use crate::system::audit::{self, Change};
use crate::types::iccid::{Iccid, Imsi};
use chrono::Utc;
use model::{Mobile, MobileState};

const MOBILE: &str = "mobile";

/// The mobile `id` if the caller may see it; 404 otherwise.
pub async fn visible(db: &Db, caller: &Caller, id: i64) -> Result<Mobile> {
    match store::get(db, id).await? {
        Some(m) if caller.scope().contains(&m.organization_path) => Ok(m),
        _ => Err(Error::not_found(MOBILE)),
    }
}

pub async fn list(
    db: &Db,
    caller: &Caller,
    filter: &MobileFilter,
    page: Page,
) -> Result<(Vec<Mobile>, i64)> {
    Ok(store::list(db, &caller.scope().like(), filter, page).await?)
}

impl crate::system::audit::Audited for Mobile {
    const ENTITY_TYPE: &'static str = MOBILE;
    fn audit_id(&self) -> i64 {
        self.id
    }
    fn audit_owner(&self) -> (i64, &str) {
        (self.organization_id, &self.organization_path)
    }
}

async fn reread(tx: &mut Tx, id: i64) -> Result<Mobile> {
    store::get_in_tx(tx, id)
        .await?
        .ok_or_else(|| Error::not_found(MOBILE))
}

/// The number `id` as an MSISDN of a SIM of `organization_id`: visible to the caller and owned
/// by the same organization.
async fn check_msisdn(db: &Db, caller: &Caller, id: i64, organization_id: i64) -> Result<i64> {
    let number = crate::numbers::service::visible_field(db, caller, "msisdn_number_id", id).await?;
    if number.organization_id != organization_id {
        // It exists and is visible, but serves another organization: a conflict with the SIM's.
        return Err(Error::Conflict(format!(
            "msisdn_number_id: number {id} belongs to organization {}, not to the SIM's organization {organization_id}",
            number.organization_id
        )));
    }
    Ok(id)
}

fn parse_iccid(text: &str) -> Result<Iccid> {
    Iccid::parse(text).map_err(|e| Error::field("iccid", e))
}

fn parse_imsi(text: &str) -> Result<Imsi> {
    Imsi::parse(text).map_err(|e| Error::field("imsi", e))
}

/// Input of a new SIM record; `organization_id` defaults to the caller's, `state` to inactive.
#[derive(Debug, Clone, Default)]
pub struct NewMobile {
    pub organization_id: Option<i64>,
    pub iccid: String,
    pub imsi: Option<String>,
    pub msisdn_number_id: Option<i64>,
    pub state: Option<MobileState>,
}

pub async fn create(db: &Db, caller: &Caller, input: NewMobile) -> Result<Mobile> {
    let organization_id = input.organization_id.unwrap_or(caller.organization_id);
    crate::orgs::visible_field(db, caller, "organization_id", organization_id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    let iccid = parse_iccid(&input.iccid)?;
    let imsi = input.imsi.as_deref().map(parse_imsi).transpose()?;
    let msisdn = match input.msisdn_number_id {
        Some(id) => Some(check_msisdn(db, caller, id, organization_id).await?),
        None => None,
    };
    let fields = MobileFields {
        iccid: &iccid,
        imsi: imsi.as_ref(),
        msisdn_number_id: msisdn,
        state: input.state.unwrap_or(MobileState::Inactive),
    };
    let mut tx = db.begin().await?;
    let id = store::insert(&mut tx, organization_id, &fields, Utc::now()).await?;
    let created = reread(&mut tx, id).await?;
    audit::record(
        &mut tx,
        &caller.actor(),
        Change::of(&created, "create", None, Some(&created)),
    )
    .await?;
    tx.commit().await?;
    Ok(created)
}

/// Changes to a SIM record: absent fields keep their value; `Some(None)` clears the IMSI or
/// the MSISDN. `organization_id` may be repeated but not changed.
#[derive(Debug, Clone, Default)]
pub struct MobileUpdate {
    pub organization_id: Option<i64>,
    pub iccid: Option<String>,
    pub imsi: Option<Option<String>>,
    pub msisdn_number_id: Option<Option<i64>>,
    pub state: Option<MobileState>,
}

pub async fn update(db: &Db, caller: &Caller, id: i64, input: MobileUpdate) -> Result<Mobile> {
    let current = visible(db, caller, id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    if let Some(org) = input.organization_id
        && org != current.organization_id
    {
        return Err(Error::immutable("organization_id", ""));
    }
    let iccid = input.iccid.as_deref().map(parse_iccid).transpose()?;
    let imsi = match &input.imsi {
        Some(Some(text)) => Some(Some(parse_imsi(text)?)),
        Some(None) => Some(None),
        None => None,
    };
    let msisdn = match input.msisdn_number_id {
        Some(Some(n)) => Some(Some(
            check_msisdn(db, caller, n, current.organization_id).await?,
        )),
        other => other,
    };
    let mut tx = db.begin().await?;
    let before = reread(&mut tx, id).await?;
    let fields = MobileFields {
        iccid: iccid.as_ref().unwrap_or(&before.iccid),
        imsi: match &imsi {
            Some(i) => i.as_ref(),
            None => before.imsi.as_ref(),
        },
        msisdn_number_id: msisdn.unwrap_or(before.msisdn_number_id),
        state: input.state.unwrap_or(before.state),
    };
    store::update(&mut tx, id, &fields, Utc::now()).await?;
    let after = reread(&mut tx, id).await?;
    audit::record(
        &mut tx,
        &caller.actor(),
        Change::of(&after, "update", Some(&before), Some(&after)),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

pub async fn delete(db: &Db, caller: &Caller, id: i64) -> Result<()> {
    visible(db, caller, id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    let mut tx = db.begin().await?;
    let before = reread(&mut tx, id).await?;
    store::delete(&mut tx, id).await?;
    audit::record(
        &mut tx,
        &caller.actor(),
        Change::of(&before, "delete", Some(&before), None),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
