//! SQL of dial plan policies, their archived versions, policy groups (members and
//! dependencies) and the revision counter other instances poll.

use crate::db::Page;
use crate::db::{Db, Tx};
use crate::{on_db, on_snapshot, on_tx};
use chrono::{DateTime, Utc};

/// A policy as stored; `rules_json` is parsed by the service.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PolicyRow {
    pub id: i64,
    pub organization_id: i64,
    pub organization_path: String,
    pub name: String,
    pub description: String,
    pub rules_json: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One archived version of a policy.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VersionRow {
    pub policy_id: i64,
    pub organization_id: i64,
    pub version: i64,
    pub name: String,
    pub description: String,
    pub rules_json: String,
    pub change_kind: String,
    pub changed_by: String,
    pub changed_at: DateTime<Utc>,
}

/// A policy group as stored, with its ordered policies and dependencies filled in.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GroupRow {
    pub id: i64,
    pub organization_id: i64,
    pub organization_path: String,
    pub name: String,
    pub description: String,
    pub enforced: bool,
    pub priority: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[sqlx(skip)]
    pub policy_ids: Vec<i64>,
    #[sqlx(skip)]
    pub depends_on: Vec<i64>,
}

/// What the compiler needs of an organization.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OrgRow {
    pub id: i64,
    pub parent_id: Option<i64>,
    #[sqlx(rename = "type")]
    pub org_type: String,
    pub path: String,
    pub timezone: String,
    pub country: String,
    /// `active` or `suspended` (of this organization alone).
    pub status: String,
}

/// Filters of `GET /v1/dialplans` that SQL applies (the prefix filter is applied by the
/// service on parsed rules).
#[derive(Debug, Default)]
pub struct PolicyFilter {
    pub organization_id: Option<i64>,
    /// Case-insensitive substring of the name.
    pub name: Option<String>,
    /// Case-insensitive substring of the rules' JSON or the description.
    pub q: Option<String>,
}

const POLICY_COLUMNS: &str = "p.id, p.organization_id, o.path AS organization_path, p.name, \
    p.description, p.rules_json, p.version, p.created_at, p.updated_at";
const POLICY_FROM: &str =
    " FROM dialplan_policies p JOIN organizations o ON o.id = p.organization_id";
const POLICY_WHERE: &str = " WHERE o.path LIKE $1 \
    AND (CAST($2 AS BIGINT) IS NULL OR p.organization_id = $2) \
    AND (CAST($3 AS TEXT) IS NULL OR LOWER(p.name) LIKE $3) \
    AND (CAST($4 AS TEXT) IS NULL OR LOWER(p.rules_json) LIKE $4 OR LOWER(p.description) LIKE $4)";

fn like(text: &Option<String>) -> Option<String> {
    text.as_ref().map(|t| {
        let escaped = t.to_lowercase().replace(['%', '_'], "");
        format!("%{escaped}%")
    })
}

/// A page of the policies under `scope_like` (all of them when `page` is None).
pub async fn list_policies(
    db: &Db,
    scope_like: &str,
    f: &PolicyFilter,
    page: Option<Page>,
) -> sqlx::Result<(Vec<PolicyRow>, i64)> {
    let (limit, offset) = page.map_or((i64::MAX, 0), |p| (p.limit, p.offset));
    let list_sql = format!(
        "SELECT {POLICY_COLUMNS}{POLICY_FROM}{POLICY_WHERE} ORDER BY p.id LIMIT $5 OFFSET $6"
    );
    let count_sql = format!("SELECT COUNT(*){POLICY_FROM}{POLICY_WHERE}");
    let (name, q) = (like(&f.name), like(&f.q));
    on_snapshot!(db, conn => {
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(list_sql))
            .bind(scope_like).bind(f.organization_id).bind(&name).bind(&q)
            .bind(limit).bind(offset)
            .fetch_all(&mut *conn).await?;
        let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(count_sql))
            .bind(scope_like).bind(f.organization_id).bind(&name).bind(&q)
            .fetch_one(&mut *conn).await?;
        Ok((rows, total))
    })
}

pub async fn get_policy(db: &Db, id: i64) -> sqlx::Result<Option<PolicyRow>> {
    let sql = format!("SELECT {POLICY_COLUMNS}{POLICY_FROM} WHERE p.id = $1");
    on_db!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await)
}

pub async fn get_policy_in_tx(tx: &mut Tx, id: i64) -> sqlx::Result<Option<PolicyRow>> {
    let sql = format!("SELECT {POLICY_COLUMNS}{POLICY_FROM} WHERE p.id = $1");
    on_tx!(tx, conn => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(conn).await)
}

/// Every policy (what the compiler reads), inside `tx` so it sees the write being checked.
pub async fn all_policies_in_tx(tx: &mut Tx) -> sqlx::Result<Vec<PolicyRow>> {
    let sql = format!("SELECT {POLICY_COLUMNS}{POLICY_FROM} ORDER BY p.id");
    on_tx!(tx, conn => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(conn).await)
}

pub async fn all_policies(db: &Db) -> sqlx::Result<Vec<PolicyRow>> {
    let sql = format!("SELECT {POLICY_COLUMNS}{POLICY_FROM} ORDER BY p.id");
    on_db!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await)
}

/// The writable columns of a policy, validated.
pub struct PolicyFields<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub rules_json: &'a str,
}

pub async fn insert_policy(
    tx: &mut Tx,
    organization_id: i64,
    fields: &PolicyFields<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    const SQL: &str = "INSERT INTO dialplan_policies \
        (organization_id, name, description, rules_json, version, created_at, updated_at) \
        VALUES ($1, $2, $3, $4, 1, $5, $5) RETURNING id";
    on_tx!(tx, conn => sqlx::query_scalar(SQL)
        .bind(organization_id).bind(fields.name).bind(fields.description)
        .bind(fields.rules_json).bind(now)
        .fetch_one(conn).await)
}

pub async fn update_policy(
    tx: &mut Tx,
    id: i64,
    fields: &PolicyFields<'_>,
    version: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    const SQL: &str = "UPDATE dialplan_policies SET name = $2, description = $3, \
        rules_json = $4, version = $5, updated_at = $6 WHERE id = $1";
    on_tx!(tx, conn => sqlx::query(SQL)
        .bind(id).bind(fields.name).bind(fields.description).bind(fields.rules_json)
        .bind(version).bind(now)
        .execute(conn).await.map(|_| ()))?;
    Ok(())
}

pub async fn delete_policy(tx: &mut Tx, id: i64) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query("DELETE FROM dialplan_policies WHERE id = $1")
        .bind(id).execute(conn).await.map(|_| ()))?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The archive.

const VERSION_COLUMNS: &str = "policy_id, organization_id, version, name, description, \
    rules_json, change_kind, changed_by, changed_at";

pub async fn insert_version(tx: &mut Tx, row: &VersionRow) -> sqlx::Result<()> {
    let sql = format!(
        "INSERT INTO dialplan_policy_versions ({VERSION_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    );
    on_tx!(tx, conn => sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(row.policy_id).bind(row.organization_id).bind(row.version).bind(&row.name)
        .bind(&row.description).bind(&row.rules_json).bind(&row.change_kind)
        .bind(&row.changed_by).bind(row.changed_at)
        .execute(conn).await.map(|_| ()))?;
    Ok(())
}

/// A page of a policy's versions, newest first, and how many there are.
pub async fn versions(db: &Db, policy_id: i64, page: Page) -> sqlx::Result<(Vec<VersionRow>, i64)> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM dialplan_policy_versions WHERE policy_id = $1 \
         ORDER BY version DESC LIMIT $2 OFFSET $3"
    );
    on_snapshot!(db, conn => {
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(policy_id).bind(page.limit).bind(page.offset)
            .fetch_all(&mut *conn).await?;
        let total: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM dialplan_policy_versions WHERE policy_id = $1")
            .bind(policy_id).fetch_one(&mut *conn).await?;
        Ok((rows, total))
    })
}

pub async fn version(db: &Db, policy_id: i64, version: i64) -> sqlx::Result<Option<VersionRow>> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM dialplan_policy_versions \
         WHERE policy_id = $1 AND version = $2"
    );
    on_db!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(policy_id).bind(version).fetch_optional(pool).await)
}

/// The organization path of an archived policy (also after it was deleted).
pub async fn archived_policy_path(db: &Db, policy_id: i64) -> sqlx::Result<Option<String>> {
    const SQL: &str = "SELECT o.path FROM dialplan_policy_versions v \
        JOIN organizations o ON o.id = v.organization_id \
        WHERE v.policy_id = $1 ORDER BY v.version DESC LIMIT 1";
    on_db!(db, pool => sqlx::query_scalar(SQL).bind(policy_id).fetch_optional(pool).await)
}

// ---------------------------------------------------------------------------------------------
// Groups.

const GROUP_COLUMNS: &str = "g.id, g.organization_id, o.path AS organization_path, g.name, \
    g.description, g.enforced, g.priority, g.created_at, g.updated_at";
const GROUP_FROM: &str = " FROM dialplan_groups g JOIN organizations o ON o.id = g.organization_id";
const GROUP_WHERE: &str = " WHERE o.path LIKE $1 \
    AND (CAST($2 AS BIGINT) IS NULL OR g.organization_id = $2)";

pub async fn list_groups(
    db: &Db,
    scope_like: &str,
    organization_id: Option<i64>,
    page: Page,
) -> sqlx::Result<(Vec<GroupRow>, i64)> {
    let list_sql =
        format!("SELECT {GROUP_COLUMNS}{GROUP_FROM}{GROUP_WHERE} ORDER BY g.id LIMIT $3 OFFSET $4");
    let count_sql = format!("SELECT COUNT(*){GROUP_FROM}{GROUP_WHERE}");
    let (mut rows, total): (Vec<GroupRow>, i64) = on_snapshot!(db, conn => {
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(list_sql))
            .bind(scope_like).bind(organization_id).bind(page.limit).bind(page.offset)
            .fetch_all(&mut *conn).await?;
        let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(count_sql))
            .bind(scope_like).bind(organization_id)
            .fetch_one(&mut *conn).await?;
        Ok::<_, sqlx::Error>((rows, total))
    })?;
    let ids: Vec<i64> = rows.iter().map(|g| g.id).collect();
    let (members, deps) = links_of(db, &ids).await?;
    fill_links(&mut rows, &members, &deps);
    Ok((rows, total))
}

/// A (group, policy) membership or a (group, dependency) edge.
type Link = (i64, i64);

/// Memberships and dependency edges of the groups `ids`, in position order.
async fn links_of(db: &Db, ids: &[i64]) -> sqlx::Result<(Vec<Link>, Vec<Link>)> {
    if ids.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let list = placeholders.join(", ");
    let members_sql = format!(
        "SELECT group_id, policy_id FROM dialplan_group_policies WHERE group_id IN ({list}) \
         ORDER BY group_id, position"
    );
    let deps_sql = format!(
        "SELECT group_id, depends_on_id FROM dialplan_group_dependencies \
         WHERE group_id IN ({list}) ORDER BY group_id, position"
    );
    on_db!(db, pool => {
        let mut members = sqlx::query_as(sqlx::AssertSqlSafe(members_sql));
        let mut deps = sqlx::query_as(sqlx::AssertSqlSafe(deps_sql));
        for id in ids {
            members = members.bind(id);
            deps = deps.bind(id);
        }
        Ok((members.fetch_all(pool).await?, deps.fetch_all(pool).await?))
    })
}

fn fill_links(groups: &mut [GroupRow], members: &[(i64, i64)], deps: &[(i64, i64)]) {
    for group in groups {
        group.policy_ids = members
            .iter()
            .filter(|(g, _)| *g == group.id)
            .map(|(_, p)| *p)
            .collect();
        group.depends_on = deps
            .iter()
            .filter(|(g, _)| *g == group.id)
            .map(|(_, d)| *d)
            .collect();
    }
}

pub async fn get_group(db: &Db, id: i64) -> sqlx::Result<Option<GroupRow>> {
    let sql = format!("SELECT {GROUP_COLUMNS}{GROUP_FROM} WHERE g.id = $1");
    let row: Option<GroupRow> = on_db!(db, pool =>
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await)?;
    let Some(mut row) = row else {
        return Ok(None);
    };
    let (members, deps) = links_of(db, &[id]).await?;
    fill_links(std::slice::from_mut(&mut row), &members, &deps);
    Ok(Some(row))
}

/// Every group with its members and dependencies, inside `tx`.
pub async fn all_groups_in_tx(tx: &mut Tx) -> sqlx::Result<Vec<GroupRow>> {
    let sql = format!("SELECT {GROUP_COLUMNS}{GROUP_FROM} ORDER BY g.id");
    on_tx!(tx, conn => {
        let mut rows: Vec<GroupRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut *conn).await?;
        let members: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT group_id, policy_id FROM dialplan_group_policies ORDER BY group_id, position")
            .fetch_all(&mut *conn).await?;
        let deps: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT group_id, depends_on_id FROM dialplan_group_dependencies \
             ORDER BY group_id, position")
            .fetch_all(&mut *conn).await?;
        fill_links(&mut rows, &members, &deps);
        Ok(rows)
    })
}

pub async fn all_groups(db: &Db) -> sqlx::Result<Vec<GroupRow>> {
    let sql = format!("SELECT {GROUP_COLUMNS}{GROUP_FROM} ORDER BY g.id");
    on_db!(db, pool => {
        let mut rows: Vec<GroupRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(pool).await?;
        let members: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT group_id, policy_id FROM dialplan_group_policies ORDER BY group_id, position")
            .fetch_all(pool).await?;
        let deps: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT group_id, depends_on_id FROM dialplan_group_dependencies \
             ORDER BY group_id, position")
            .fetch_all(pool).await?;
        fill_links(&mut rows, &members, &deps);
        Ok(rows)
    })
}

/// The writable columns of a group, validated.
pub struct GroupFields<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub enforced: bool,
    pub priority: i64,
}

pub async fn insert_group(
    tx: &mut Tx,
    organization_id: i64,
    fields: &GroupFields<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    const SQL: &str = "INSERT INTO dialplan_groups \
        (organization_id, name, description, enforced, priority, created_at, updated_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id";
    on_tx!(tx, conn => sqlx::query_scalar(SQL)
        .bind(organization_id).bind(fields.name).bind(fields.description)
        .bind(fields.enforced).bind(fields.priority).bind(now)
        .fetch_one(conn).await)
}

pub async fn update_group(
    tx: &mut Tx,
    id: i64,
    fields: &GroupFields<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    const SQL: &str = "UPDATE dialplan_groups SET name = $2, description = $3, enforced = $4, \
        priority = $5, updated_at = $6 WHERE id = $1";
    on_tx!(tx, conn => sqlx::query(SQL)
        .bind(id).bind(fields.name).bind(fields.description).bind(fields.enforced)
        .bind(fields.priority).bind(now)
        .execute(conn).await.map(|_| ()))?;
    Ok(())
}

/// Makes `policy_ids` (in order) the group's members and `depends_on` its dependencies.
pub async fn set_group_links(
    tx: &mut Tx,
    id: i64,
    policy_ids: &[i64],
    depends_on: &[i64],
) -> sqlx::Result<()> {
    on_tx!(tx, conn => {
        sqlx::query("DELETE FROM dialplan_group_policies WHERE group_id = $1")
            .bind(id).execute(&mut *conn).await.map(|_| ())?;
        sqlx::query("DELETE FROM dialplan_group_dependencies WHERE group_id = $1")
            .bind(id).execute(&mut *conn).await.map(|_| ())?;
        for (position, policy_id) in policy_ids.iter().enumerate() {
            sqlx::query("INSERT INTO dialplan_group_policies (group_id, policy_id, position) \
                         VALUES ($1, $2, $3)")
                .bind(id).bind(policy_id).bind(position as i64)
                .execute(&mut *conn).await.map(|_| ())?;
        }
        for (position, other) in depends_on.iter().enumerate() {
            sqlx::query("INSERT INTO dialplan_group_dependencies \
                         (group_id, depends_on_id, position) VALUES ($1, $2, $3)")
                .bind(id).bind(other).bind(position as i64)
                .execute(&mut *conn).await.map(|_| ())?;
        }
        Ok(())
    })
}

pub async fn delete_group(tx: &mut Tx, id: i64) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query("DELETE FROM dialplan_groups WHERE id = $1")
        .bind(id).execute(conn).await.map(|_| ()))?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Organizations (what the compiler needs of the tree) and the revision counter.

const ORG_COLUMNS: &str = "id, parent_id, type, path, timezone, country, status";

/// Every organization, for the compiled plan's view of the tree.
pub async fn all_orgs(db: &Db) -> sqlx::Result<Vec<OrgRow>> {
    let sql = format!("SELECT {ORG_COLUMNS} FROM organizations ORDER BY id");
    on_db!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await)
}

pub async fn all_orgs_in_tx(tx: &mut Tx) -> sqlx::Result<Vec<OrgRow>> {
    let sql = format!("SELECT {ORG_COLUMNS} FROM organizations ORDER BY id");
    on_tx!(tx, conn => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(conn).await)
}

/// Moves the revision on; called in every dial plan write's transaction.
pub async fn bump_revision(tx: &mut Tx) -> sqlx::Result<i64> {
    const SQL: &str =
        "UPDATE dialplan_revision SET revision = revision + 1 WHERE id = 1 RETURNING revision";
    on_tx!(tx, conn => sqlx::query_scalar(SQL).fetch_one(conn).await)
}

pub async fn revision(db: &Db) -> sqlx::Result<i64> {
    const SQL: &str = "SELECT revision FROM dialplan_revision WHERE id = 1";
    on_db!(db, pool => sqlx::query_scalar(SQL).fetch_one(pool).await)
}

pub async fn revision_in_tx(tx: &mut Tx) -> sqlx::Result<i64> {
    const SQL: &str = "SELECT revision FROM dialplan_revision WHERE id = 1";
    on_tx!(tx, conn => sqlx::query_scalar(SQL).fetch_one(conn).await)
}

/// Whether policy `id` exists, held against a concurrent delete until `tx` ends.
pub async fn hold_policy(tx: &mut Tx, id: i64) -> sqlx::Result<bool> {
    let sql = format!(
        "SELECT id FROM dialplan_policies WHERE id = $1{}",
        tx.key_share()
    );
    let found: Option<i64> = on_tx!(tx, conn => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(id).fetch_optional(conn).await)?;
    Ok(found.is_some())
}
