//! SQL of policy groups, their ordered member policies and their dependencies.

use crate::db::Page;
use crate::db::{Db, Tx};
use crate::dialplan::policies::model::{PolicyDescription, PolicyName};
use crate::{on_db, on_snapshot, on_tx};
use chrono::{DateTime, Utc};

/// A policy group as stored, with its ordered policies and dependencies filled in (the service
/// parses name and description).
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
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(&*list_sql))
            .bind(scope_like).bind(organization_id).bind(page.limit).bind(page.offset)
            .fetch_all(&mut *conn).await?;
        let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(&*count_sql))
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
    pub name: &'a PolicyName,
    pub description: &'a PolicyDescription,
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
