//! Creating devices, one or a bulk list (all rows checked first, then one transaction).

use super::super::model::{CreatedDevice, DeviceStatus, Variables};
use super::super::store::{self, DeviceFields, LineFields};
use super::super::validate::{self, LineInput, PROVISIONING_PASSWORD_LEN, ParsedLine};
use super::{check_user, reread, to_json};
use crate::auth::{Caller, Permission};
use crate::db::{Db, Tx};
use crate::error::{Error, Result, RowError, RowErrors};
use crate::system::audit::{self, Actor, Change};
use crate::system::changes::{Changes, DeviceChanged};
use crate::system::secrets::{Secrets, generate_password};
use crate::types::Mac;
use crate::types::Vendor;
use chrono::{DateTime, Utc};
use std::collections::{BTreeSet, HashMap};

/// Devices one bulk request may create.
pub const MAX_BULK: usize = 1000;
/// Row errors the message of a refused bulk request spells out (its `errors` lists more, up to
/// [`RowErrors::LISTED`]).
const LISTED_ROW_ERRORS: usize = 20;

/// Input of a new device; `organization_id` defaults to the caller's organization, absent
/// passwords are generated.
#[derive(Debug, Clone)]
pub struct NewDevice {
    pub organization_id: Option<i64>,
    pub mac: Mac,
    pub vendor: Vendor,
    pub model: String,
    pub user_id: Option<i64>,
    pub lines: Vec<LineInput>,
    pub variables: Option<Variables>,
    pub contact: Option<String>,
    pub status: Option<DeviceStatus>,
    pub provisioning_username: Option<String>,
    pub provisioning_password: Option<String>,
}

/// A [`NewDevice`] checked against the caller and its organization, ready to insert.
struct Plan {
    organization_id: i64,
    user_id: Option<i64>,
    mac: Mac,
    vendor: Vendor,
    model: String,
    lines: Vec<ParsedLine>,
    variables: Variables,
    contact: Option<String>,
    status: DeviceStatus,
    provisioning_username: String,
    provisioning_password: Option<String>,
}

async fn plan(db: &Db, caller: &Caller, input: NewDevice) -> Result<Plan> {
    let organization_id = input.organization_id.unwrap_or(caller.organization_id);
    crate::orgs::visible_field(db, caller, "organization_id", organization_id).await?;
    let model = validate::model(&input.model)?;
    let lines = validate::lines(&input.lines)?;
    let variables = validate::variables("variables", &input.variables.unwrap_or_default())?;
    let contact = input
        .contact
        .as_deref()
        .map(|c| validate::sip_uri("contact", c))
        .transpose()?;
    let provisioning_username = match &input.provisioning_username {
        Some(u) => validate::account("provisioning_username", u)?,
        None => input.mac.to_string(),
    };
    let provisioning_password = input
        .provisioning_password
        .as_deref()
        .map(|p| validate::password("provisioning_password", p))
        .transpose()?;
    let user_id = match input.user_id {
        Some(u) => Some(check_user(db, caller, u, organization_id).await?),
        None => None,
    };
    Ok(Plan {
        organization_id,
        user_id,
        mac: input.mac,
        vendor: input.vendor,
        model,
        lines,
        variables,
        contact,
        status: input.status.unwrap_or_default(),
        provisioning_username,
        provisioning_password,
    })
}

/// Inserts a planned device with its lines, generating missing passwords, and audits it.
async fn insert(
    tx: &mut Tx,
    secrets: &Secrets,
    actor: &Actor,
    plan: Plan,
    now: DateTime<Utc>,
) -> Result<CreatedDevice> {
    let provisioning_password = plan
        .provisioning_password
        .unwrap_or_else(|| generate_password(PROVISIONING_PASSWORD_LEN));
    let line_passwords: Vec<String> = plan
        .lines
        .iter()
        .map(|l| {
            l.password
                .clone()
                .unwrap_or_else(|| generate_password(validate::LINE_PASSWORD_LEN))
        })
        .collect();
    let sealed: Vec<String> = line_passwords.iter().map(|p| secrets.encrypt(p)).collect();
    let mac = plan.mac.to_string();
    let variables_json = to_json(&plan.variables);
    let fields = DeviceFields {
        user_id: plan.user_id,
        mac: &mac,
        vendor: plan.vendor.as_str(),
        model: &plan.model,
        variables_json: &variables_json,
        contact: plan.contact.as_deref(),
        status: plan.status.as_str(),
        provisioning_username: &plan.provisioning_username,
    };
    let id = store::insert_device(
        tx,
        plan.organization_id,
        &fields,
        &secrets.encrypt(&provisioning_password),
        now,
    )
    .await?;
    store::replace_lines(tx, id, &line_fields(&plan.lines, &sealed)).await?;
    let device = reread(tx, id).await?;
    audit::record(
        tx,
        actor,
        Change::of(&device, "create", None, Some(&device)),
    )
    .await?;
    Ok(CreatedDevice {
        device,
        provisioning_password,
        line_passwords,
    })
}

pub(super) fn line_fields<'a>(
    lines: &'a [ParsedLine],
    sealed: &'a [String],
) -> Vec<LineFields<'a>> {
    lines
        .iter()
        .zip(sealed)
        .map(|(line, password)| LineFields {
            username: &line.username,
            auth_user: &line.auth_user,
            password,
            display_name: &line.display_name,
            registrar: &line.registrar,
            proxy: line.proxy.as_deref(),
            transport: line.transport.as_str(),
        })
        .collect()
}

/// Creates a device and its lines in one transaction; the result carries the passwords in
/// clear, to be shown once.
pub async fn create(
    db: &Db,
    changes: &Changes,
    secrets: &Secrets,
    caller: &Caller,
    input: NewDevice,
) -> Result<CreatedDevice> {
    caller.require(Permission::OrganizationsWrite)?;
    let plan = plan(db, caller, input).await?;
    let mut tx = db.begin().await?;
    let created = insert(&mut tx, secrets, &caller.actor(), plan, Utc::now()).await?;
    tx.commit().await?;
    changes
        .publish(DeviceChanged {
            macs: vec![created.device.mac],
        })
        .await;
    Ok(created)
}

/// Creates every device or none. Each row is a parsed [`NewDevice`] or the error its parsing
/// gave; all rows are checked (also against each other and against registered MACs) before
/// anything is written, and a 400 ([`Error::Rows`]) lists the bad rows (the first
/// [`RowErrors::LISTED`], the rest counted) by their 0-based index in the request with the field
/// and what is wrong, conflicts among them. When every row is valid by itself and the only
/// faults are conflicts (a MAC registered already, also by someone else between the check and
/// the insert, or twice in the request; a user of another organization), the answer is the 409
/// a single create gives, naming the rows: no schema can say those, the stored state (or the
/// rest of the request) is in the way.
pub async fn create_many(
    db: &Db,
    changes: &Changes,
    secrets: &Secrets,
    caller: &Caller,
    rows: Vec<Result<NewDevice>>,
) -> Result<Vec<CreatedDevice>> {
    caller.require(Permission::OrganizationsWrite)?;
    if rows.is_empty() {
        return Err(Error::field("devices", "give at least one device"));
    }
    if rows.len() > MAX_BULK {
        return Err(Error::field(
            "devices",
            format!("at most {MAX_BULK} devices per request, got {}", rows.len()),
        ));
    }
    let total = rows.len();
    let mut errors: Vec<RowError> = Vec::new();
    let mut conflicts: Vec<RowError> = Vec::new();
    let mut plans: Vec<(usize, Plan)> = Vec::with_capacity(total);
    let mut seen: HashMap<Mac, usize> = HashMap::new();
    for (row, parsed) in rows.into_iter().enumerate() {
        let outcome = match parsed {
            Ok(input) => match seen.get(&input.mac) {
                Some(first) => Err(Error::Conflict(format!(
                    "mac: {} is also devices[{first}]",
                    input.mac
                ))),
                None => {
                    seen.insert(input.mac, row);
                    plan(db, caller, input).await
                }
            },
            Err(e) => Err(e),
        };
        match outcome {
            Ok(plan) => plans.push((row, plan)),
            Err(Error::BadRequest(message)) => errors.push(row_error(row, &message)),
            Err(Error::Conflict(message)) => conflicts.push(row_error(row, &message)),
            Err(other) => return Err(other),
        }
    }
    let macs: Vec<Mac> = plans.iter().map(|(_, p)| p.mac).collect();
    let taken = store::existing_macs(db, &macs).await?;
    conflicts.extend(
        plans
            .iter()
            .filter(|(_, plan)| taken.contains(&plan.mac))
            .map(|(row, _)| row_error(*row, "mac: already exists")),
    );
    if !errors.is_empty() {
        errors.extend(conflicts);
        return Err(bulk_error(total, errors));
    }
    if !conflicts.is_empty() {
        return Err(bulk_conflict(total, conflicts));
    }
    let now = Utc::now();
    let actor = caller.actor();
    let mut tx = db.begin().await?;
    let mut created = Vec::with_capacity(plans.len());
    for (row, plan) in plans {
        match insert(&mut tx, secrets, &actor, plan, now).await {
            Ok(device) => created.push(device),
            // Dropping the transaction undoes the rows already inserted.
            Err(Error::Conflict(message)) => {
                return Err(bulk_conflict(total, vec![row_error(row, &message)]));
            }
            Err(other) => return Err(other),
        }
    }
    tx.commit().await?;
    // Many devices: one sweep of the cache is cheaper than a targeted drop per MAC.
    changes.publish(DeviceChanged::all()).await;
    Ok(created)
}

/// What a row-level field is called when the row as a whole is wrong (e.g. not an object).
const WHOLE_ROW: &str = "device";

/// A bad row from an `Error::field` message (`field: what`); a message naming no field is
/// about the whole row.
fn row_error(row: usize, message: &str) -> RowError {
    let named = message.split_once(": ").filter(|(field, _)| {
        !field.is_empty()
            && field
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.[]".contains(c))
    });
    let (field, message) = named.unwrap_or((WHOLE_ROW, message));
    RowError {
        row,
        field: field.to_string(),
        message: message.to_string(),
    }
}

/// The 400 of a refused bulk request: the rows in order, and a summary message that still
/// spells out the first rows (`devices[1]: mac: …`) for clients reading only the message.
fn bulk_error(total: usize, mut errors: Vec<RowError>) -> Error {
    errors.sort_by_key(|e| e.row);
    let message = summary(total, "are invalid", &errors);
    Error::Rows(RowErrors::new(message, errors))
}

/// The 409 of a bulk request whose rows are valid but conflict with what is stored or with
/// each other.
fn bulk_conflict(total: usize, mut errors: Vec<RowError>) -> Error {
    errors.sort_by_key(|e| e.row);
    Error::Conflict(summary(
        total,
        "conflict with what is stored or with each other",
        &errors,
    ))
}

/// "`n` of `total` devices `what`; nothing was created: devices[1]: mac: …", the first rows
/// spelled out and the rest counted.
fn summary(total: usize, what: &str, errors: &[RowError]) -> String {
    let bad: BTreeSet<usize> = errors.iter().map(|e| e.row).collect();
    let listed: Vec<String> = errors
        .iter()
        .take(LISTED_ROW_ERRORS)
        .map(|e| format!("devices[{}]: {}: {}", e.row, e.field, e.message))
        .collect();
    let mut message = format!(
        "{} of {total} devices {what}; nothing was created: {}",
        bad.len(),
        listed.join("; ")
    );
    if errors.len() > LISTED_ROW_ERRORS {
        message.push_str(&format!("; and {} more", errors.len() - LISTED_ROW_ERRORS));
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_errors_split_the_field_from_the_message() {
        assert_eq!(
            row_error(
                3,
                "lines[1].registrar: must be host[:port], got \"sip:x@y\""
            ),
            RowError {
                row: 3,
                field: "lines[1].registrar".into(),
                message: "must be host[:port], got \"sip:x@y\"".into(),
            }
        );
        let whole = row_error(6, "must be a JSON object");
        assert_eq!(
            (whole.field.as_str(), whole.message.as_str()),
            ("device", "must be a JSON object")
        );
        let prose = row_error(0, "expected value: at line 1");
        assert_eq!(prose.field, "device", "{prose:?}");
    }

    #[test]
    fn bulk_error_lists_rows_in_order_and_summarises_the_rest() {
        let Error::Rows(rows) = bulk_error(
            5,
            vec![
                row_error(4, "vendor: unknown variant"),
                row_error(1, "mac: already exists"),
            ],
        ) else {
            panic!("not Rows");
        };
        assert_eq!(
            rows.message,
            "2 of 5 devices are invalid; nothing was created: devices[1]: mac: already exists; \
             devices[4]: vendor: unknown variant"
        );
        assert_eq!(rows.errors[0].row, 1);
        assert_eq!(rows.errors[1].field, "vendor");
        let many: Vec<RowError> = (0..25).map(|i| row_error(i, "model: bad")).collect();
        let Error::Rows(rows) = bulk_error(30, many) else {
            panic!("not Rows");
        };
        assert_eq!(rows.errors.len(), 25, "every row in errors");
        assert_eq!(rows.omitted, 0);
        assert!(
            rows.message.starts_with("25 of 30 devices"),
            "{}",
            rows.message
        );
        assert!(rows.message.ends_with("; and 5 more"), "{}", rows.message);
        assert!(
            rows.message.contains("devices[19]: model: bad")
                && !rows.message.contains("devices[20]")
        );
        let all: Vec<RowError> = (0..MAX_BULK).map(|i| row_error(i, "mac: bad")).collect();
        let Error::Rows(rows) = bulk_error(MAX_BULK, all) else {
            panic!("not Rows");
        };
        assert_eq!(rows.errors.len(), RowErrors::LISTED);
        assert_eq!(rows.omitted, MAX_BULK - RowErrors::LISTED);
        assert!(
            rows.message.starts_with("1000 of 1000 devices"),
            "{}",
            rows.message
        );
    }
}
