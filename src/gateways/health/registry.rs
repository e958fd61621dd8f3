//! The live health of every pinged gateway: one map shared by the pinger (its only writer
//! while it holds the lease, or the mirror of another instance's verdicts) and the API and dial
//! plan (readers).

use super::{GatewayHealth, State};
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};
use std::sync::RwLock;

/// The live health of every pinged gateway, shared by the pinger (writer) and the API (readers).
#[derive(Default)]
pub struct Registry {
    by_gateway: RwLock<HashMap<i64, GatewayHealth>>,
}

impl Registry {
    pub fn get(&self, gateway_id: i64) -> Option<GatewayHealth> {
        self.by_gateway
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&gateway_id)
            .cloned()
    }

    /// Applies `f` to the gateway's health (created if new) under the write lock.
    pub fn update<R>(
        &self,
        gateway_id: i64,
        now: DateTime<Utc>,
        f: impl FnOnce(&mut GatewayHealth) -> R,
    ) -> R {
        let mut map = self.by_gateway.write().unwrap_or_else(|p| p.into_inner());
        f(map
            .entry(gateway_id)
            .or_insert_with(|| GatewayHealth::new(now)))
    }

    /// Takes over another instance's verdicts (`(gateway, state, since)`), for an instance that
    /// does not ping: states and their start change, probe details stay empty; gateways missing
    /// from `verdicts` are forgotten.
    pub fn mirror(&self, verdicts: &[(i64, State, DateTime<Utc>)]) {
        let known: HashSet<i64> = verdicts.iter().map(|(id, _, _)| *id).collect();
        let mut map = self.by_gateway.write().unwrap_or_else(|p| p.into_inner());
        map.retain(|id, _| known.contains(id));
        for (id, state, since) in verdicts {
            let health = map.entry(*id).or_insert_with(|| GatewayHealth::new(*since));
            health.state = *state;
            health.since = *since;
        }
    }

    /// Every gateway's state and since when.
    pub fn states(&self) -> Vec<(i64, State, DateTime<Utc>)> {
        self.by_gateway
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(id, h)| (*id, h.state, h.since))
            .collect()
    }

    /// Forgets one gateway's health (its URI changed: a new peer).
    pub fn remove(&self, gateway_id: i64) {
        self.by_gateway
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&gateway_id);
    }

    /// Forgets gateways that no longer exist or are disabled.
    pub fn retain(&self, keep: impl Fn(i64) -> bool) {
        self.by_gateway
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|id, _| keep(*id));
    }

    pub fn len(&self) -> usize {
        self.by_gateway
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateways::health::{Outcome, Policy};
    use std::time::Duration;

    fn reply(code: u16) -> Outcome {
        Outcome::Reply {
            code,
            rtt: Duration::from_millis(20),
        }
    }

    #[test]
    fn a_mirror_takes_the_states_and_forgets_the_rest() {
        let registry = Registry::default();
        let t = Utc::now();
        registry.update(7, t, |h| h.record(&reply(200), &Policy::default(), t));
        registry.update(8, t, |h| h.record(&reply(200), &Policy::default(), t));
        let since = t - chrono::Duration::seconds(5);
        registry.mirror(&[(7, State::Down, since), (9, State::Up, t)]);
        let seven = registry.get(7).unwrap();
        assert_eq!((seven.state, seven.since), (State::Down, since));
        assert!(registry.get(8).is_none(), "no verdict: forgotten");
        assert_eq!(registry.get(9).unwrap().state, State::Up);
        assert_eq!(registry.len(), 2);
    }
}
