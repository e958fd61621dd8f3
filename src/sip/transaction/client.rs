//! The RFC 3261 §17.1.2 non-INVITE client transaction as a pure state machine: time comes in as
//! arguments, effects go out as [`Action`]s, so the retransmit schedule is testable to the
//! millisecond without a socket or a clock.

use crate::sip::consts::{T1, T2, TIMER_F, TIMER_K_UNRELIABLE};
use std::time::Duration;
use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Trying,
    Proceeding,
    Completed,
    Terminated,
}

/// The timers of a non-INVITE client transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timer {
    /// Retransmission (unreliable transports only).
    E,
    /// Transaction timeout.
    F,
    /// Absorbing retransmitted responses after completion.
    K,
}

/// What the transaction asks its driver to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Send the request again.
    Retransmit,
    /// Arm `Timer` to fire at the instant.
    Schedule(Timer, Instant),
    /// Hand the final response (its status code) to the transaction user.
    Deliver(u16),
    /// Tell the transaction user no final response came.
    TimedOut,
    /// Forget the transaction.
    Terminate,
}

#[derive(Debug, Clone)]
pub struct ClientTransaction {
    state: State,
    reliable: bool,
    /// The current Timer E interval.
    interval: Duration,
}

impl ClientTransaction {
    /// Starts in Trying, the request just sent at `now`.
    pub fn start(reliable: bool, now: Instant) -> (Self, Vec<Action>) {
        let mut actions = vec![Action::Schedule(Timer::F, now + TIMER_F)];
        if !reliable {
            actions.push(Action::Schedule(Timer::E, now + T1));
        }
        (
            Self {
                state: State::Trying,
                reliable,
                interval: T1,
            },
            actions,
        )
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// A timer fired at `now`. Timers of a state already left are ignored.
    pub fn on_timer(&mut self, timer: Timer, now: Instant) -> Vec<Action> {
        match (timer, self.state) {
            (Timer::E, State::Trying) if !self.reliable => {
                self.interval = (self.interval * 2).min(T2);
                vec![
                    Action::Retransmit,
                    Action::Schedule(Timer::E, now + self.interval),
                ]
            }
            (Timer::E, State::Proceeding) if !self.reliable => {
                self.interval = T2;
                vec![Action::Retransmit, Action::Schedule(Timer::E, now + T2)]
            }
            (Timer::F, State::Trying | State::Proceeding) => {
                self.state = State::Terminated;
                vec![Action::TimedOut, Action::Terminate]
            }
            (Timer::K, State::Completed) => {
                self.state = State::Terminated;
                vec![Action::Terminate]
            }
            _ => Vec::new(),
        }
    }

    /// A response with status `code` arrived at `now`.
    pub fn on_response(&mut self, code: u16, now: Instant) -> Vec<Action> {
        match (self.state, code) {
            (State::Trying | State::Proceeding, 100..=199) => {
                self.state = State::Proceeding;
                Vec::new()
            }
            (State::Trying | State::Proceeding, _) => {
                self.state = State::Completed;
                if self.reliable {
                    self.state = State::Terminated;
                    vec![Action::Deliver(code), Action::Terminate]
                } else {
                    vec![
                        Action::Deliver(code),
                        Action::Schedule(Timer::K, now + TIMER_K_UNRELIABLE),
                    ]
                }
            }
            // Completed: retransmitted responses are absorbed.
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drives a transaction on UDP with no answer and records when the request went out.
    #[test]
    fn udp_retransmits_on_the_rfc_schedule_then_times_out_at_64_t1() {
        let t0 = Instant::now();
        let (mut tx, mut pending) = ClientTransaction::start(false, t0);
        let mut sends = vec![Duration::ZERO];
        let mut timed_out_at = None;
        // A tiny event loop over the scheduled timers, earliest first.
        let mut timers: Vec<(Instant, Timer)> = Vec::new();
        loop {
            for action in pending.drain(..) {
                if let Action::Schedule(timer, at) = action {
                    timers.push((at, timer));
                }
            }
            if tx.state() == State::Terminated || timers.is_empty() {
                break;
            }
            timers.sort_by_key(|(at, _)| *at);
            let (at, timer) = timers.remove(0);
            let actions = tx.on_timer(timer, at);
            if actions.contains(&Action::Retransmit) {
                sends.push(at - t0);
            }
            if actions.contains(&Action::TimedOut) {
                timed_out_at = Some(at);
            }
            pending = actions;
        }
        let ms: Vec<u128> = sends.iter().map(|d| d.as_millis()).collect();
        // 0, then T1=0.5 s, doubling to T2=4 s, then every 4 s until Timer F at 32 s.
        assert_eq!(
            ms,
            vec![
                0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500
            ]
        );
        assert_eq!(timed_out_at.map(|at| (at - t0).as_millis()), Some(32_000));
    }

    #[test]
    fn tcp_never_retransmits_and_terminates_on_the_final_response() {
        let t0 = Instant::now();
        let (mut tx, actions) = ClientTransaction::start(true, t0);
        assert_eq!(actions, vec![Action::Schedule(Timer::F, t0 + TIMER_F)]);
        assert_eq!(tx.on_timer(Timer::E, t0 + T1), vec![]);
        assert_eq!(
            tx.on_response(200, t0 + T1),
            vec![Action::Deliver(200), Action::Terminate]
        );
    }

    #[test]
    fn provisional_moves_to_proceeding_where_retransmits_use_t2() {
        let t0 = Instant::now();
        let (mut tx, _) = ClientTransaction::start(false, t0);
        assert_eq!(tx.on_response(100, t0 + Duration::from_millis(10)), vec![]);
        assert_eq!(tx.state(), State::Proceeding);
        let at = t0 + T1;
        assert_eq!(
            tx.on_timer(Timer::E, at),
            vec![Action::Retransmit, Action::Schedule(Timer::E, at + T2)]
        );
    }

    #[test]
    fn final_response_completes_absorbs_retransmissions_and_ends_after_timer_k() {
        let t0 = Instant::now();
        let (mut tx, _) = ClientTransaction::start(false, t0);
        let at = t0 + Duration::from_millis(700);
        assert_eq!(
            tx.on_response(503, at),
            vec![
                Action::Deliver(503),
                Action::Schedule(Timer::K, at + TIMER_K_UNRELIABLE)
            ]
        );
        assert_eq!(
            tx.on_response(503, at),
            vec![],
            "retransmitted response absorbed"
        );
        assert_eq!(
            tx.on_response(200, at),
            vec![],
            "a late different answer too"
        );
        assert_eq!(
            tx.on_timer(Timer::E, at + T1),
            vec![],
            "no retransmit once completed"
        );
        assert_eq!(
            tx.on_timer(Timer::F, t0 + TIMER_F),
            vec![],
            "no timeout once completed"
        );
        assert_eq!(
            tx.on_timer(Timer::K, at + TIMER_K_UNRELIABLE),
            vec![Action::Terminate]
        );
    }

    #[test]
    fn a_response_after_timeout_is_ignored() {
        let t0 = Instant::now();
        let (mut tx, _) = ClientTransaction::start(false, t0);
        assert_eq!(
            tx.on_timer(Timer::F, t0 + TIMER_F),
            vec![Action::TimedOut, Action::Terminate]
        );
        assert_eq!(tx.on_response(200, t0 + TIMER_F), vec![]);
    }
}
