//! Dial-plan evaluation against a generated 1,000,000-prefix route table (one policy, one rule
//! per prefix, each routing to one of 100 trunks), behind the platform's enforced
//! emergency-first group, as a tenant in the US would be evaluated.
//!
//! `cargo bench --bench dialplan` prints, besides criterion's mean time per evaluation:
//! - evaluations per second and p50/p99/p99.9 latency of single evaluations on one thread,
//! - the memory of the compiled structure (trie arrays, rule and action tables),
//! - the time to recompile the 1M-rule policy,
//! - the process's first plan assembly (which also builds the per-country class tables, once)
//!   and, after a warm-up, the median and p99 of single re-assemblies (what a policy change
//!   costs; criterion measures the same as "plan assembly").
//!
//! `DIALPLAN_BENCH_PREFIXES=100000` makes a smaller table for a quick run. Figures, with the
//! commands that produced them: `bench/README.md`, "Dial plan evaluation".

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use dialtone::dialplan::engine::compile::CompiledPolicy;
use dialtone::dialplan::engine::evaluate::{self, Call, GatewayState, Network, TrunkState};
use dialtone::dialplan::engine::model::{
    Action, Conditions, PolicyBody, RouteTarget, Rule, Strategy,
};
use dialtone::dialplan::engine::plan::{GroupInput, OrgInput, Plan};
use dialtone::dialplan::engine::templates;
use dialtone::gateways::health::State;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

const TRUNKS: i64 = 100;
/// Plan assemblies timed one by one, after as many unmeasured ones.
const ASSEMBLIES: usize = 10_000;
const ASSEMBLY_WARM_UP: usize = 10_000;
const EMERGENCY_TRUNK: i64 = 1000;
/// Country codes the generated prefixes start with (a rate deck's spread).
const COUNTRY_CODES: [&str; 12] = [
    "1", "44", "33", "49", "34", "39", "52", "55", "61", "81", "86", "91",
];

struct AllUp;

impl Network for AllUp {
    fn trunk(&self, trunk_id: i64) -> Option<TrunkState> {
        Some(TrunkState {
            enabled: true,
            gateways: vec![GatewayState {
                uri: format!("sip:gw{trunk_id}.example"),
                health: State::Up,
            }],
            channels_in_use: 0,
            max_channels: None,
        })
    }
}

fn prefix_count() -> usize {
    std::env::var("DIALPLAN_BENCH_PREFIXES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

/// `count` distinct prefixes: a country code and 2 to 8 further digits.
fn prefixes(count: usize, rng: &mut StdRng) -> Vec<String> {
    let mut seen = HashSet::with_capacity(count);
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let cc = COUNTRY_CODES[rng.random_range(0..COUNTRY_CODES.len())];
        let extra = rng.random_range(2..=8);
        let mut p = String::with_capacity(12);
        p.push('+');
        p.push_str(cc);
        for _ in 0..extra {
            p.push(char::from(b'0' + rng.random_range(0..10u8)));
        }
        if seen.insert(p.clone()) {
            out.push(p);
        }
    }
    out
}

fn route_table(prefixes: &[String]) -> PolicyBody {
    PolicyBody {
        name: "rate deck routes".into(),
        description: String::new(),
        rules: prefixes
            .iter()
            .enumerate()
            .map(|(i, p)| Rule {
                name: String::new(),
                conditions: Conditions {
                    prefixes: vec![p.clone()],
                    ..Conditions::default()
                },
                action: Action::Route {
                    strategy: Strategy::Ordered,
                    routes: vec![RouteTarget {
                        trunk_id: 1 + (i as i64 % TRUNKS),
                        weight: None,
                        rewrite: Default::default(),
                    }],
                },
            })
            .collect(),
    }
}

struct Fixture {
    orgs: Vec<OrgInput>,
    groups: Vec<GroupInput>,
    policies: HashMap<i64, Arc<CompiledPolicy>>,
}

fn fixture(table: CompiledPolicy) -> Fixture {
    let emergency = templates::instantiate(
        "emergency-first",
        &BTreeMap::from([("emergency".to_string(), EMERGENCY_TRUNK)]),
    )
    .expect("template instantiates");
    let emergency = CompiledPolicy::compile(1, &emergency[0].policies[0]).expect("compiles");
    let orgs = vec![
        OrgInput {
            id: 1,
            parent_id: None,
            country: "US".into(),
            timezone: "America/New_York".into(),
            suspended: false,
        },
        OrgInput {
            id: 2,
            parent_id: Some(1),
            country: "US".into(),
            timezone: "America/Chicago".into(),
            suspended: false,
        },
    ];
    let groups = vec![
        GroupInput {
            id: 1,
            organization_id: 1,
            name: "Emergency first".into(),
            enforced: true,
            policy_ids: vec![1],
            depends_on: vec![],
        },
        GroupInput {
            id: 2,
            organization_id: 2,
            name: "Routes".into(),
            enforced: false,
            policy_ids: vec![2],
            depends_on: vec![],
        },
    ];
    let policies = HashMap::from([(1, Arc::new(emergency)), (2, Arc::new(table))]);
    Fixture {
        orgs,
        groups,
        policies,
    }
}

/// Destinations: 90% extend a prefix of the table to a full number, 10% random numbers.
fn destinations(prefixes: &[String], rng: &mut StdRng) -> Vec<String> {
    (0..100_000)
        .map(|_| {
            let mut n = if rng.random_bool(0.9) {
                prefixes[rng.random_range(0..prefixes.len())].clone()
            } else {
                format!(
                    "+{}",
                    COUNTRY_CODES[rng.random_range(0..COUNTRY_CODES.len())]
                )
            };
            while n.len() < 13 {
                n.push(char::from(b'0' + rng.random_range(0..10u8)));
            }
            n
        })
        .collect()
}

fn call(to: &str) -> Call {
    Call {
        organization_id: 2,
        from: "+13125550100".into(),
        to: to.into(),
        at: chrono::DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default(),
        trunk_id: None,
    }
}

/// Resident set size from /proc (Linux), 0 elsewhere: a cross-check of the counted bytes.
fn rss_bytes() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<usize>().ok())
        .map_or(0, |pages| pages * 4096)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn bench(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(20261122);
    let count = prefix_count();
    let started = Instant::now();
    let prefixes = prefixes(count, &mut rng);
    let body = route_table(&prefixes);
    println!("generated {count} prefixes in {:.2?}", started.elapsed());

    let rss_before = rss_bytes();
    let first = CompiledPolicy::compile(2, &body).expect("route table compiles");
    let rss_growth = rss_bytes().saturating_sub(rss_before);
    drop(first);
    let mut compile_times = Vec::new();
    let mut compiled = None;
    for _ in 0..3 {
        let t = Instant::now();
        let policy = CompiledPolicy::compile(2, &body).expect("route table compiles");
        compile_times.push(t.elapsed());
        compiled = Some(policy);
    }
    drop(body);
    compile_times.sort();
    let Some(policy) = compiled else { return };
    println!(
        "recompile of the {count}-rule policy: min {:.2?}, median {:.2?} (3 runs)",
        compile_times[0], compile_times[1]
    );
    println!(
        "compiled policy: {} trie nodes, {} slots, {} distinct actions; trie {:.1} MiB, whole policy {:.1} MiB ({:.1} bytes per prefix)",
        policy.trie.node_count(),
        policy.trie.slot_count(),
        policy.actions.len(),
        policy.trie.memory_bytes() as f64 / 1_048_576.0,
        policy.memory_bytes() as f64 / 1_048_576.0,
        policy.memory_bytes() as f64 / count as f64
    );
    println!(
        "resident memory grew {:.1} MiB while compiling the first copy (counted bytes plus allocator slack)",
        rss_growth as f64 / 1_048_576.0
    );

    let f = fixture(policy);
    // The process's first assembly also builds the per-country class tables (once, lazily);
    // every later one is what a policy change costs.
    let t = Instant::now();
    let plan = Plan::assemble(&f.orgs, &f.groups, &f.policies).expect("plan assembles");
    println!(
        "first assembly (includes building the per-country tables once): {:.2?}; plan memory {:.1} MiB",
        t.elapsed(),
        plan.memory_bytes() as f64 / 1_048_576.0
    );
    for _ in 0..ASSEMBLY_WARM_UP {
        drop(black_box(Plan::assemble(&f.orgs, &f.groups, &f.policies)));
    }
    let mut assemblies = Vec::with_capacity(ASSEMBLIES);
    for _ in 0..ASSEMBLIES {
        let t = Instant::now();
        let again = black_box(Plan::assemble(&f.orgs, &f.groups, &f.policies));
        assemblies.push(t.elapsed());
        drop(again);
    }
    assemblies.sort();
    println!(
        "plan assembly (re-link after a change): median {:.2?}, p99 {:.2?} over {ASSEMBLIES} assemblies after {ASSEMBLY_WARM_UP} unmeasured",
        percentile(&assemblies, 0.50),
        percentile(&assemblies, 0.99),
    );

    let targets = destinations(&prefixes, &mut rng);
    let calls: Vec<Call> = targets.iter().map(|t| call(t)).collect();
    let mut eval_rng = StdRng::seed_from_u64(1);
    let routed = calls
        .iter()
        .filter(|c| {
            evaluate::evaluate(&plan, c, &AllUp, &mut eval_rng).action == evaluate::Verdict::Route
        })
        .count();
    println!("{routed} of {} sample destinations routed", calls.len());

    // Single evaluations, timed one by one on this thread.
    let mut samples = Vec::with_capacity(calls.len() * 3);
    let loop_start = Instant::now();
    for _ in 0..3 {
        for c in &calls {
            let t = Instant::now();
            black_box(evaluate::evaluate(
                &plan,
                black_box(c),
                &AllUp,
                &mut eval_rng,
            ));
            samples.push(t.elapsed());
        }
    }
    let total = loop_start.elapsed();
    samples.sort();
    println!(
        "one thread: {:.0} evaluations/s over {} evaluations; p50 {:.2?}, p99 {:.2?}, p99.9 {:.2?}, max {:.2?}",
        samples.len() as f64 / total.as_secs_f64(),
        samples.len(),
        percentile(&samples, 0.50),
        percentile(&samples, 0.99),
        percentile(&samples, 0.999),
        samples[samples.len() - 1]
    );

    // One assembly per batch: the plan is dropped untimed before the next (as in the printed
    // median), so the allocator reuses its memory as it does after a real change.
    c.bench_function("plan assembly (re-link after a change)", |b| {
        b.iter_batched(
            || (),
            |()| Plan::assemble(black_box(&f.orgs), &f.groups, &f.policies),
            BatchSize::NumIterations(1),
        )
    });
    let mut i = 0;
    c.bench_function("evaluate (1M-prefix route table)", |b| {
        b.iter(|| {
            i = (i + 1) % calls.len();
            evaluate::evaluate(&plan, black_box(&calls[i]), &AllUp, &mut eval_rng)
        })
    });
    c.bench_function("trie lookup only (1M prefixes)", |b| {
        let trie = &f.policies[&2].trie;
        b.iter(|| {
            i = (i + 1) % targets.len();
            trie.matches(black_box(targets[i].as_bytes())).next()
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
