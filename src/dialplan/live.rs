//! The live dial plan of this instance: the compiled [`Plan`] (swapped atomically after every
//! committed change, and when another instance's change arrives through `system::changes`),
//! the in-memory snapshot of trunks and gateways evaluation routes to, and the
//! channel counts PBXs report. Evaluation reads only these; it never waits on the database.

use super::channels::Channels;
use super::engine::compile::CompiledPolicy;
use super::engine::model::PolicyBody;
use super::engine::plan::{GroupInput, OrgInput, Plan, PlanError};
use super::policies::store::{self, groups::GroupRow, organizations::OrgRow, policies::PolicyRow};
use crate::db::{Db, Tx};
use crate::error::{Error, Result};
use crate::gateways::Trunk;
use arc_swap::ArcSwap;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A compiled plan and what it was built from.
pub struct Compiled {
    pub plan: Plan,
    /// The revision counter's value the plan reflects (0 before the first load).
    pub revision: i64,
    /// The organizations it was assembled over: a new organization (which moves no revision)
    /// reassembles the plan at the next refresh.
    orgs: Vec<OrgRow>,
    /// Compiled policies by id with the version they were compiled from, reused by the next
    /// assembly when unchanged.
    policies: HashMap<i64, (i64, Arc<CompiledPolicy>)>,
}

/// One gateway of a route target.
#[derive(Debug, Clone)]
pub struct GatewaySnapshot {
    pub id: i64,
    pub uri: String,
    pub enabled: bool,
}

/// A trunk as evaluation sees it.
#[derive(Debug, Clone)]
pub struct TrunkSnapshot {
    pub id: i64,
    pub organization_id: i64,
    pub name: String,
    pub max_channels: i64,
    pub gateways: Vec<GatewaySnapshot>,
}

impl From<Trunk> for TrunkSnapshot {
    fn from(trunk: Trunk) -> Self {
        Self {
            id: trunk.id,
            organization_id: trunk.organization_id,
            name: trunk.name.into_string(),
            max_channels: trunk.max_channels,
            gateways: trunk
                .gateways
                .into_iter()
                .map(|g| GatewaySnapshot {
                    id: g.id,
                    uri: g.uri.to_string(),
                    enabled: g.enabled,
                })
                .collect(),
        }
    }
}

/// Every trunk, by id.
pub type Trunks = HashMap<i64, TrunkSnapshot>;

/// A plan built inside a write's transaction, installed after the commit.
pub struct Prepared(Compiled);

pub struct DialPlans {
    current: ArcSwap<Compiled>,
    trunks: ArcSwap<Trunks>,
    pub channels: Channels,
}

impl DialPlans {
    pub fn new(channel_report_ttl: Duration) -> Self {
        Self {
            current: ArcSwap::from_pointee(Compiled {
                plan: Plan::empty(),
                revision: 0,
                orgs: Vec::new(),
                policies: HashMap::new(),
            }),
            trunks: ArcSwap::from_pointee(HashMap::new()),
            channels: Channels::new(channel_report_ttl),
        }
    }

    /// The plan in force (a cheap pointer copy; hold it for one evaluation).
    pub fn current(&self) -> Arc<Compiled> {
        self.current.load_full()
    }

    pub fn trunks(&self) -> Arc<Trunks> {
        self.trunks.load_full()
    }

    /// Builds the plan as `tx` sees the database. A write whose result does not assemble (a
    /// cycle, a missing reference) is refused here, before its commit.
    pub async fn prepare_in_tx(&self, tx: &mut Tx) -> Result<Prepared> {
        let revision = store::revision::revision_in_tx(tx).await?;
        let orgs = store::organizations::all_orgs_in_tx(tx).await?;
        let policies = store::policies::all_policies_in_tx(tx).await?;
        let groups = store::groups::all_groups_in_tx(tx).await?;
        let compiled = self
            .build(revision, orgs, &policies, groups)
            .map_err(|e| match e {
                BuildError::Plan(PlanError::Cycle(_)) => Error::Conflict(e.to_string()),
                other => Error::bad_request(other.to_string()),
            })?;
        Ok(Prepared(compiled))
    }

    pub fn install(&self, prepared: Prepared) {
        self.store_if_newer(prepared.0);
    }

    /// A refresh that read the database before a write committed must not put the older plan
    /// back over the write's.
    fn store_if_newer(&self, compiled: Compiled) {
        let compiled = Arc::new(compiled);
        self.current.rcu(|current| {
            if current.revision > compiled.revision {
                current.clone()
            } else {
                compiled.clone()
            }
        });
    }

    /// Rebuilds from the database if its revision moved past the plan's (another instance
    /// wrote, or this is the first load), and refreshes the trunk snapshot. Returns whether the
    /// plan was rebuilt.
    pub async fn refresh(&self, db: &Db) -> Result<bool> {
        self.refresh_trunks(db).await?;
        let revision = store::revision::revision(db).await?;
        let orgs = store::organizations::all_orgs(db).await?;
        let current = self.current();
        if revision == current.revision && orgs == current.orgs {
            return Ok(false);
        }
        let policies = store::policies::all_policies(db).await?;
        let groups = store::groups::all_groups(db).await?;
        let compiled = self
            .build(revision, orgs, &policies, groups)
            .map_err(|e| Error::Internal(format!("dial plan does not compile: {e}")))?;
        self.store_if_newer(compiled);
        Ok(true)
    }

    pub async fn refresh_trunks(&self, db: &Db) -> Result<()> {
        let trunks: Trunks = crate::gateways::all_trunks(db)
            .await?
            .into_iter()
            .map(|t| (t.id, TrunkSnapshot::from(t)))
            .collect();
        self.trunks.store(Arc::new(trunks));
        Ok(())
    }

    /// Compiles what changed since the plan in force and assembles the whole plan.
    fn build(
        &self,
        revision: i64,
        orgs: Vec<OrgRow>,
        policies: &[PolicyRow],
        mut groups: Vec<GroupRow>,
    ) -> Result<Compiled, BuildError> {
        let started = Instant::now();
        let previous = self.current();
        let mut compiled = HashMap::with_capacity(policies.len());
        for row in policies {
            let reused = previous
                .policies
                .get(&row.id)
                .filter(|(version, _)| *version == row.version);
            let policy = match reused {
                Some((_, policy)) => policy.clone(),
                None => Arc::new(compile_row(row)?),
            };
            compiled.insert(row.id, (row.version, policy));
        }
        let org_inputs: Vec<OrgInput> = orgs
            .iter()
            .map(|o| OrgInput {
                id: o.id,
                parent_id: o.parent_id,
                country: o.country.clone(),
                timezone: o.timezone.clone(),
                suspended: o.status == "suspended",
            })
            .collect();
        groups.sort_by_key(|g| (g.organization_id, g.priority, g.id));
        let group_inputs: Vec<GroupInput> = groups
            .into_iter()
            .map(|g| GroupInput {
                id: g.id,
                organization_id: g.organization_id,
                name: g.name,
                enforced: g.enforced,
                policy_ids: g.policy_ids,
                depends_on: g.depends_on,
            })
            .collect();
        let by_id: HashMap<i64, Arc<CompiledPolicy>> = compiled
            .iter()
            .map(|(id, (_, p))| (*id, p.clone()))
            .collect();
        let plan = Plan::assemble(&org_inputs, &group_inputs, &by_id).map_err(BuildError::Plan)?;
        metrics::histogram!("dialplan_compile_seconds").record(started.elapsed().as_secs_f64());
        Ok(Compiled {
            plan,
            revision,
            orgs,
            policies: compiled,
        })
    }
}

#[derive(Debug, thiserror::Error)]
enum BuildError {
    #[error("{0}")]
    Plan(PlanError),
    #[error("policy {id}: {message}")]
    Policy { id: i64, message: String },
}

fn compile_row(row: &PolicyRow) -> Result<CompiledPolicy, BuildError> {
    let rules = serde_json::from_str(&row.rules_json).map_err(|e| BuildError::Policy {
        id: row.id,
        message: format!("stored rules do not parse: {e}"),
    })?;
    let body = PolicyBody {
        name: row.name.clone(),
        description: row.description.clone(),
        rules,
    };
    CompiledPolicy::compile(row.id, &body).map_err(|errors| BuildError::Policy {
        id: row.id,
        message: errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; "),
    })
}

/// How soon a failed refresh is tried again.
const RETRY: Duration = Duration::from_secs(5);

/// Keeps this instance's plan current on every change it depends on (this instance's or
/// another's, through `system::changes`): a policy or the tree recompiles what moved (the
/// revision counter says whether the policies did), a trunk refreshes the trunk snapshot. A
/// plan that no longer compiles keeps the last good one in force and is recorded in the event
/// log, and retried every [`RETRY`] until it works (a database that was briefly away, a fix
/// committed elsewhere); otherwise no timer: the change feed's poll is the only one.
pub async fn run(state: crate::state::AppState, shutdown: tokio_util::sync::CancellationToken) {
    use crate::system::changes::Change;
    let mut changes = state.changes.subscribe();
    // What changed between the start-up compile and the subscription.
    let mut next = Some(Change::Everything);
    let mut failing = false;
    loop {
        let change = match next.take() {
            Some(change) => change,
            None => tokio::select! {
                _ = shutdown.cancelled() => return,
                change = changes.recv() => change,
                _ = tokio::time::sleep(RETRY), if failing => Change::Everything,
            },
        };
        let outcome = match change {
            Change::Trunk(_) => state
                .dialplan
                .refresh_trunks(&state.db)
                .await
                .map(|()| false),
            Change::Policy(_) | Change::Organization(_) | Change::Everything => {
                state.dialplan.refresh(&state.db).await
            }
            Change::Device(_) | Change::OrgAccess(_) | Change::Templates(_) => continue,
        };
        match outcome {
            Ok(rebuilt) => {
                if rebuilt {
                    tracing::info!("dial plan recompiled after a change elsewhere");
                }
                failing = false;
            }
            Err(e) if !failing => {
                failing = true;
                tracing::error!(error = %e, "dial plan refresh failed; keeping the plan in force");
                recompile_failed(&state, &e.to_string()).await;
            }
            Err(e) => tracing::debug!(error = %e, "dial plan refresh still failing"),
        }
    }
}

/// Records a failed recompile in the platform's event log.
async fn recompile_failed(state: &crate::state::AppState, message: &str) {
    use crate::system::events::{self, NewEvent, Severity};
    metrics::counter!("dialplan_recompile_failures_total").increment(1);
    // The platform (the root) sees it; without a readable tree there is only the log line.
    let Ok(orgs) = store::organizations::all_orgs(&state.db).await else {
        return;
    };
    let Some(root) = orgs.iter().find(|o| o.parent_id.is_none()) else {
        return;
    };
    let event = NewEvent {
        organization_id: root.id,
        organization_path: &root.path,
        source: "dialplan",
        severity: Severity::Error,
        entity_type: "dialplan",
        entity_id: "plan".to_string(),
        event: "dialplan.compile_failed",
        message: format!("the dial plan could not be recompiled: {message}"),
        detail: None,
    };
    if let Err(e) = events::record(&state.db, event).await {
        tracing::warn!(error = %e, "could not record the dial plan event");
    }
}
