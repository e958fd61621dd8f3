//! Assignment targets of numbers: what a number may route to, checked through the other rooms'
//! services (gateways, users, devices, dial plans), never their stores.

use super::model::{Assignment, AssignmentType};
use crate::auth::Caller;
use crate::db::{Db, Tx};
use crate::error::{Error, Result};
use crate::orgs::Organization;

/// Checks that the assignment target exists, the caller sees it, and it may serve a number of
/// `org`: a trunk of `org` or an ancestor; a user or device of `org` itself; a device line
/// the device has; a dial plan policy of `org` or an ancestor.
pub async fn check_assignment(
    db: &Db,
    caller: &Caller,
    org: &Organization,
    a: Assignment,
) -> Result<Assignment> {
    if a.id < 1 {
        return Err(Error::field("assignment.id", "must be a positive id"));
    }
    if a.kind != AssignmentType::DeviceLine && a.line.is_some() {
        return Err(Error::field(
            "assignment.line",
            "only a device_line has a line",
        ));
    }
    // Outside the caller's subtree reads like missing; database errors stay errors.
    let not_found = |what: &'static str| {
        move |e: Error| match e {
            Error::NotFound(_) => Error::missing("assignment.id", format_args!("{what} {}", a.id)),
            other => other,
        }
    };
    // A target that exists but serves another organization conflicts with the number's owner.
    let elsewhere = |what: &str, owner: i64| {
        Error::Conflict(format!(
            "assignment.id: {what} {} belongs to organization {owner}, not to the number's organization {}",
            a.id, org.id
        ))
    };
    match a.kind {
        AssignmentType::Trunk => {
            let trunk = crate::gateways::visible_trunk(db, caller, a.id)
                .await
                .map_err(not_found("trunk"))?;
            if !org.path.starts_with(&trunk.organization_path) {
                return Err(Error::Conflict(format!(
                    "assignment.id: trunk {} belongs to organization {}, which is not organization {} or one of its ancestors",
                    a.id, trunk.organization_id, org.id
                )));
            }
        }
        AssignmentType::User => {
            let user = crate::orgs::users::visible(db, caller, a.id)
                .await
                .map_err(not_found("user"))?;
            if user.organization_id != org.id {
                return Err(elsewhere("user", user.organization_id));
            }
        }
        AssignmentType::DeviceLine => {
            let device = crate::devices::visible(db, caller, a.id)
                .await
                .map_err(not_found("device"))?;
            if device.organization_id != org.id {
                return Err(elsewhere("device", device.organization_id));
            }
            let Some(line) = a.line else {
                return Err(Error::field(
                    "assignment.line",
                    "a device_line needs the line's position (from 0)",
                ));
            };
            if !device.lines.iter().any(|l| l.position == line) {
                return Err(Error::missing(
                    "assignment.line",
                    format_args!("line {line} on device {}", a.id),
                ));
            }
        }
        AssignmentType::Dialplan => {
            let policy = crate::dialplan::policies::visible_policy(db, caller, a.id)
                .await
                .map_err(not_found("dial plan"))?;
            if !org.path.starts_with(&policy.organization_path) {
                return Err(Error::Conflict(format!(
                    "assignment.id: dial plan {} belongs to organization {}, which is not organization {} or one of its ancestors",
                    a.id, policy.organization_id, org.id
                )));
            }
        }
    }
    Ok(a)
}

/// Inside the write's transaction, after [`check_assignment`]: the target still exists, and is
/// held against a concurrent delete until commit (so that delete's in-use check sees the number,
/// see `assigned_to`). 400 naming `assignment.id` if it was deleted in between.
pub async fn hold_assignment(tx: &mut Tx, a: Assignment) -> Result<()> {
    let (what, held) = match a.kind {
        AssignmentType::Trunk => ("trunk", crate::gateways::hold_trunk(tx, a.id).await?),
        AssignmentType::User => ("user", crate::orgs::users::hold(tx, a.id).await?),
        AssignmentType::DeviceLine => (
            "device line",
            crate::devices::hold_line(tx, a.id, a.line.unwrap_or(0)).await?,
        ),
        AssignmentType::Dialplan => (
            "dial plan",
            crate::dialplan::policies::hold_policy(tx, a.id).await?,
        ),
    };
    if held {
        return Ok(());
    }
    Err(Error::missing(
        "assignment.id",
        format_args!("{what} {}", a.id),
    ))
}
