//! The immutable dial plan of the whole installation: compiled policies linked into policy
//! groups, groups ordered per organization into its effective plan, with its country's number
//! classes and its time zone. The store builds one with [`Plan::assemble`] after every policy
//! change and swaps it in atomically (`arc_swap::ArcSwap<Plan>`); evaluation only reads it.
//!
//! Assembly is cheap (no policy is recompiled; it links `Arc`s and orders groups) and is also
//! the write-time check: it refuses a group that references a missing group or policy, a group
//! of an organization that is neither the referrer's own nor an ancestor, and any cycle through
//! `depends_on` or `continue`, naming the groups of the cycle.
//!
//! `depends_on`: the groups a group lists there are evaluated just before it (each group at
//! most once per call), e.g. a tenant's routing group depending on its partner's "barred
//! destinations" group without the partner having to enforce it on every tenant.

use super::classes::{self, CountryPlan};
use super::compile::CompiledPolicy;
use chrono_tz::Tz;
use std::collections::HashMap;
use std::sync::Arc;

/// An organization as the plan needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgInput {
    pub id: i64,
    pub parent_id: Option<i64>,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// IANA zone name; an unknown name falls back to UTC (organizations validate it on write).
    pub timezone: String,
    /// The organization is suspended: it and its descendants reach emergency numbers only.
    pub suspended: bool,
}

/// A policy group as the plan needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupInput {
    pub id: i64,
    pub organization_id: i64,
    pub name: String,
    /// Evaluated before the ordinary groups of this organization and all its descendants.
    pub enforced: bool,
    /// Policies in evaluation order.
    pub policy_ids: Vec<i64>,
    /// Groups evaluated just before this one.
    pub depends_on: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("policy groups form a cycle: {}", describe_cycle(.0))]
    Cycle(Vec<(i64, String)>),
    #[error("policy group {referrer} refers to policy group {group_id}, which does not exist")]
    UnknownGroup { group_id: i64, referrer: i64 },
    #[error(
        "policy group {referrer} refers to policy group {group_id} of an organization that is neither its own nor an ancestor"
    )]
    ForeignGroup { group_id: i64, referrer: i64 },
    #[error("policy group {group_id} lists policy {policy_id}, which does not exist")]
    UnknownPolicy { policy_id: i64, group_id: i64 },
    #[error("policy group {group_id} belongs to organization {organization_id}, which is unknown")]
    UnknownOrganization { organization_id: i64, group_id: i64 },
    #[error("organization {0} is its own ancestor")]
    OrganizationLoop(i64),
}

fn describe_cycle(cycle: &[(i64, String)]) -> String {
    cycle
        .iter()
        .map(|(id, name)| format!("{name:?} ({id})"))
        .collect::<Vec<_>>()
        .join(" → ")
}

#[derive(Debug)]
pub struct GroupPlan {
    pub id: i64,
    pub organization_id: i64,
    pub name: String,
    pub enforced: bool,
    pub policies: Box<[Arc<CompiledPolicy>]>,
    /// Indices into `Plan::groups`.
    pub depends_on: Box<[usize]>,
}

#[derive(Debug)]
pub struct OrgPlan {
    pub id: i64,
    /// Root first, this organization last.
    pub lineage: Box<[i64]>,
    pub country: Arc<CountryPlan>,
    pub tz: Tz,
    /// Indices into `Plan::groups`: enforced groups from the root down, then this
    /// organization's ordinary groups, then its ancestors' nearest first.
    pub order: Box<[usize]>,
    /// The nearest suspended organization of the lineage (this one or an ancestor), if any.
    pub suspended_by: Option<i64>,
}

/// The whole installation's dial plan, immutable once assembled.
#[derive(Debug, Default)]
pub struct Plan {
    pub groups: Vec<GroupPlan>,
    group_index: HashMap<i64, usize>,
    orgs: HashMap<i64, OrgPlan>,
}

impl Plan {
    /// A plan with no organizations: every evaluation answers "no dial plan".
    pub fn empty() -> Self {
        Self::default()
    }

    /// Links `groups` (in each organization's priority order) over `orgs` and the compiled
    /// `policies`, or says why the combination is invalid.
    pub fn assemble(
        orgs: &[OrgInput],
        groups: &[GroupInput],
        policies: &HashMap<i64, Arc<CompiledPolicy>>,
    ) -> Result<Self, PlanError> {
        let org_by_id: HashMap<i64, &OrgInput> = orgs.iter().map(|o| (o.id, o)).collect();
        let mut lineages: HashMap<i64, Vec<i64>> = HashMap::with_capacity(orgs.len());
        for org in orgs {
            let mut chain = vec![org.id];
            let mut parent = org.parent_id;
            while let Some(p) = parent {
                if chain.contains(&p) || chain.len() > orgs.len() {
                    return Err(PlanError::OrganizationLoop(org.id));
                }
                chain.push(p);
                parent = org_by_id.get(&p).and_then(|o| o.parent_id);
            }
            chain.reverse();
            lineages.insert(org.id, chain);
        }
        let group_index: HashMap<i64, usize> =
            groups.iter().enumerate().map(|(i, g)| (g.id, i)).collect();
        let mut linked = Vec::with_capacity(groups.len());
        for group in groups {
            let Some(lineage) = lineages.get(&group.organization_id) else {
                return Err(PlanError::UnknownOrganization {
                    organization_id: group.organization_id,
                    group_id: group.id,
                });
            };
            let mut compiled = Vec::with_capacity(group.policy_ids.len());
            for policy_id in &group.policy_ids {
                let policy = policies.get(policy_id).ok_or(PlanError::UnknownPolicy {
                    policy_id: *policy_id,
                    group_id: group.id,
                })?;
                compiled.push(policy.clone());
            }
            let references = group
                .depends_on
                .iter()
                .copied()
                .chain(compiled.iter().flat_map(|p| p.continue_targets()));
            for target in references {
                let index = *group_index.get(&target).ok_or(PlanError::UnknownGroup {
                    group_id: target,
                    referrer: group.id,
                })?;
                if !lineage.contains(&groups[index].organization_id) {
                    return Err(PlanError::ForeignGroup {
                        group_id: target,
                        referrer: group.id,
                    });
                }
            }
            linked.push(GroupPlan {
                id: group.id,
                organization_id: group.organization_id,
                name: group.name.clone(),
                enforced: group.enforced,
                policies: compiled.into_boxed_slice(),
                depends_on: group.depends_on.iter().map(|d| group_index[d]).collect(),
            });
        }
        find_cycle(&linked, &group_index)?;

        let mut by_org: HashMap<i64, Vec<usize>> = HashMap::new();
        for (i, group) in groups.iter().enumerate() {
            by_org.entry(group.organization_id).or_default().push(i);
        }
        let none = Vec::new();
        let mut org_plans = HashMap::with_capacity(orgs.len());
        for org in orgs {
            let lineage = &lineages[&org.id];
            let own_groups = |id: &i64| by_org.get(id).unwrap_or(&none).iter().copied();
            let enforced = lineage
                .iter()
                .flat_map(own_groups)
                .filter(|i| linked[*i].enforced);
            let ordinary = lineage
                .iter()
                .rev()
                .flat_map(own_groups)
                .filter(|i| !linked[*i].enforced);
            org_plans.insert(
                org.id,
                OrgPlan {
                    id: org.id,
                    lineage: lineage.clone().into_boxed_slice(),
                    country: classes::for_country(&org.country),
                    // Documented fallback, not a silent default: organizations validate their
                    // zone on write, so only a zone a later chrono-tz dropped gets here, and one
                    // organization's time-of-day rules on UTC beat no dial plan for anyone.
                    tz: org.timezone.parse().unwrap_or(Tz::UTC),
                    order: enforced.chain(ordinary).collect(),
                    suspended_by: lineage
                        .iter()
                        .rev()
                        .copied()
                        .find(|id| org_by_id.get(id).is_some_and(|o| o.suspended)),
                },
            );
        }
        Ok(Self {
            groups: linked,
            group_index,
            orgs: org_plans,
        })
    }

    pub fn org(&self, id: i64) -> Option<&OrgPlan> {
        self.orgs.get(&id)
    }

    pub fn group_index(&self, id: i64) -> Option<usize> {
        self.group_index.get(&id).copied()
    }

    /// Approximate bytes held by the plan, counting each distinct compiled policy once.
    pub fn memory_bytes(&self) -> usize {
        let mut seen = std::collections::HashSet::new();
        let policies: usize = self
            .groups
            .iter()
            .flat_map(|g| g.policies.iter())
            .filter(|p| seen.insert(Arc::as_ptr(p)))
            .map(|p| p.memory_bytes())
            .sum();
        let groups = self.groups.len() * size_of::<GroupPlan>();
        let orgs = self.orgs.len() * (size_of::<OrgPlan>() + 64);
        policies + groups + orgs
    }
}

/// Depth-first search over `depends_on` and `continue` edges; the first cycle found is named.
fn find_cycle(groups: &[GroupPlan], index: &HashMap<i64, usize>) -> Result<(), PlanError> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let edges = |g: usize| -> Vec<usize> {
        let group = &groups[g];
        group
            .depends_on
            .iter()
            .copied()
            .chain(
                group
                    .policies
                    .iter()
                    .flat_map(|p| p.continue_targets())
                    .filter_map(|id| index.get(&id).copied()),
            )
            .collect()
    };
    let mut marks = vec![Mark::New; groups.len()];
    for start in 0..groups.len() {
        if marks[start] != Mark::New {
            continue;
        }
        // Explicit stack of (group, its edges, next edge) so deep chains cannot overflow.
        let mut stack = vec![(start, edges(start), 0usize)];
        marks[start] = Mark::Open;
        while let Some((node, next_edges, at)) = stack.last_mut() {
            if *at == next_edges.len() {
                marks[*node] = Mark::Done;
                stack.pop();
                continue;
            }
            let target = next_edges[*at];
            *at += 1;
            match marks[target] {
                Mark::Done => {}
                Mark::Open => {
                    let from = stack.iter().position(|(n, _, _)| *n == target).unwrap_or(0);
                    let mut cycle: Vec<(i64, String)> = stack[from..]
                        .iter()
                        .map(|(n, _, _)| (groups[*n].id, groups[*n].name.clone()))
                        .collect();
                    cycle.push((groups[target].id, groups[target].name.clone()));
                    return Err(PlanError::Cycle(cycle));
                }
                Mark::New => {
                    marks[target] = Mark::Open;
                    stack.push((target, edges(target), 0));
                }
            }
        }
    }
    Ok(())
}
