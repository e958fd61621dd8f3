//! Gateway health as a pure state machine (Kamailio dispatcher's semantics with hysteresis):
//! probe outcomes in, state changes with their reason out. Time is passed in.

use super::AliveCodes;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::VecDeque;
use std::time::Duration;

/// How many probe results each gateway keeps.
pub const HISTORY: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Unknown,
    Up,
    Down,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Unknown => "unknown",
            State::Up => "up",
            State::Down => "down",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "unknown" => Some(State::Unknown),
            "up" => Some(State::Up),
            "down" => Some(State::Down),
            _ => None,
        }
    }
}

/// Thresholds of one trunk's gateways.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Consecutive failures that take an up (or unknown) gateway down.
    pub failures_to_down: u32,
    /// Consecutive successes that bring a down gateway back up.
    pub successes_to_up: u32,
    pub alive: AliveCodes,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            failures_to_down: 3,
            successes_to_up: 2,
            alive: AliveCodes::default(),
        }
    }
}

/// What one OPTIONS probe came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Reply { code: u16, rtt: Duration },
    Timeout,
    TransportError(String),
}

/// One entry of a gateway's bounded history.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Probe {
    pub at: DateTime<Utc>,
    pub alive: bool,
    pub code: Option<u16>,
    pub rtt_ms: Option<f64>,
    pub error: Option<String>,
}

/// A state change and why it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub from: State,
    pub to: State,
    pub reason: String,
}

/// Everything kept about one gateway's health.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct GatewayHealth {
    pub state: State,
    pub since: DateTime<Utc>,
    pub rtt_ms: Option<f64>,
    /// Smoothed RTT (RFC 6298 weighting, 1/8 per sample).
    pub srtt_ms: Option<f64>,
    pub last_code: Option<u16>,
    pub consecutive_failures: u32,
    pub consecutive_successes: u32,
    pub last_probe_at: Option<DateTime<Utc>>,
    #[schema(value_type = Vec<Probe>)]
    pub history: VecDeque<Probe>,
}

impl GatewayHealth {
    pub fn new(now: DateTime<Utc>) -> Self {
        Self {
            state: State::Unknown,
            since: now,
            rtt_ms: None,
            srtt_ms: None,
            last_code: None,
            consecutive_failures: 0,
            consecutive_successes: 0,
            last_probe_at: None,
            history: VecDeque::with_capacity(HISTORY),
        }
    }

    /// Records a probe result; returns the state change it caused, if any.
    pub fn record(
        &mut self,
        outcome: &Outcome,
        policy: &Policy,
        now: DateTime<Utc>,
    ) -> Option<Transition> {
        let (alive, code, rtt, error) = match outcome {
            Outcome::Reply { code, rtt } => {
                (policy.alive.contains(*code), Some(*code), Some(*rtt), None)
            }
            Outcome::Timeout => (false, None, None, Some("no reply (timeout)".to_string())),
            Outcome::TransportError(e) => (false, None, None, Some(e.clone())),
        };
        self.last_probe_at = Some(now);
        if let Some(code) = code {
            self.last_code = Some(code);
        }
        if let Some(rtt) = rtt {
            let ms = rtt.as_secs_f64() * 1000.0;
            self.rtt_ms = Some(ms);
            self.srtt_ms = Some(match self.srtt_ms {
                Some(s) => s + (ms - s) / 8.0,
                None => ms,
            });
        }
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(Probe {
            at: now,
            alive,
            code,
            rtt_ms: rtt.map(|r| r.as_secs_f64() * 1000.0),
            error: error.clone(),
        });
        if alive {
            self.consecutive_successes = self.consecutive_successes.saturating_add(1);
            self.consecutive_failures = 0;
        } else {
            self.consecutive_failures = self.consecutive_failures.saturating_add(1);
            self.consecutive_successes = 0;
        }
        let next = match self.state {
            // With no state to protect, the first answer is believed.
            State::Unknown if alive => State::Up,
            State::Down if alive && self.consecutive_successes >= policy.successes_to_up => {
                State::Up
            }
            State::Unknown | State::Up
                if !alive && self.consecutive_failures >= policy.failures_to_down =>
            {
                State::Down
            }
            same => same,
        };
        if next == self.state {
            return None;
        }
        let reason = if alive {
            format!(
                "{} consecutive alive replies (last {})",
                self.consecutive_successes,
                code.map_or_else(String::new, |c| c.to_string())
            )
        } else {
            let last = match (code, &error) {
                (Some(c), _) => format!("reply {c} is not in the alive set {}", policy.alive),
                (None, Some(e)) => e.clone(),
                (None, None) => "failure".into(),
            };
            format!(
                "{} consecutive failures; last: {last}",
                self.consecutive_failures
            )
        };
        let transition = Transition {
            from: self.state,
            to: next,
            reason,
        };
        self.state = next;
        self.since = now;
        Some(transition)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(code: u16) -> Outcome {
        Outcome::Reply {
            code,
            rtt: Duration::from_millis(20),
        }
    }

    fn policy(down: u32, up: u32) -> Policy {
        Policy {
            failures_to_down: down,
            successes_to_up: up,
            alive: AliveCodes::default(),
        }
    }

    #[test]
    fn goes_down_after_n_failures_and_up_after_m_successes() {
        let p = policy(3, 2);
        let t = Utc::now();
        let mut h = GatewayHealth::new(t);
        assert_eq!(h.record(&reply(200), &p, t).map(|x| x.to), Some(State::Up));
        assert_eq!(h.record(&Outcome::Timeout, &p, t), None);
        assert_eq!(h.record(&reply(503), &p, t), None);
        let down = h.record(&Outcome::Timeout, &p, t).unwrap();
        assert_eq!((down.from, down.to), (State::Up, State::Down));
        assert!(
            down.reason.contains("3 consecutive failures"),
            "{}",
            down.reason
        );
        assert_eq!(h.consecutive_failures, 3);
        // Hysteresis: one success is not enough, a failure resets the count.
        assert_eq!(h.record(&reply(200), &p, t), None);
        assert_eq!(h.record(&Outcome::Timeout, &p, t), None);
        assert_eq!(h.record(&reply(404), &p, t), None);
        let up = h.record(&reply(200), &p, t).unwrap();
        assert_eq!((up.from, up.to), (State::Down, State::Up));
        assert_eq!(h.consecutive_successes, 2);
    }

    #[test]
    fn unknown_goes_down_only_after_n_failures() {
        let p = policy(2, 2);
        let t = Utc::now();
        let mut h = GatewayHealth::new(t);
        assert_eq!(h.record(&reply(408), &p, t), None);
        let down = h.record(&reply(500), &p, t).unwrap();
        assert_eq!((down.from, down.to), (State::Unknown, State::Down));
        assert!(
            down.reason.contains("500 is not in the alive set"),
            "{}",
            down.reason
        );
    }

    #[test]
    fn keeps_rtt_smoothed_rtt_last_code_and_bounded_history() {
        let p = policy(3, 2);
        let t = Utc::now();
        let mut h = GatewayHealth::new(t);
        h.record(
            &Outcome::Reply {
                code: 200,
                rtt: Duration::from_millis(80),
            },
            &p,
            t,
        );
        h.record(
            &Outcome::Reply {
                code: 200,
                rtt: Duration::from_millis(16),
            },
            &p,
            t,
        );
        assert_eq!(h.rtt_ms, Some(16.0));
        assert_eq!(h.srtt_ms, Some(72.0));
        h.record(&Outcome::TransportError("connection refused".into()), &p, t);
        assert_eq!(h.last_code, Some(200), "an error has no code");
        for _ in 0..50 {
            h.record(&reply(200), &p, t);
        }
        assert_eq!(h.history.len(), HISTORY);
    }
}
