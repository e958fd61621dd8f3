//! Where a number is in its life, and the moves between states. Pure.
//!
//! The state machine of a number (every other move is refused with 409 naming both states):
//!
//! ```text
//! from \ to   available  reserved  active  suspended  porting  released
//! available       -          yes      yes       -        yes      yes
//! reserved       yes          -       yes       -        yes      yes
//! active         yes          -        -       yes       yes       -
//! suspended      yes          -       yes       -        yes      yes
//! porting        yes          -       yes       -         -       yes
//! released       yes          -        -        -        yes       -
//! ```
//!
//! `activate` is the move to `active` (from available, reserved, suspended or porting);
//! `deactivate` the move from active or suspended back to `available` in the same
//! organization (the assignment is kept, so activating again restores the routing; the dial
//! plan routes only active numbers). `released` numbers left the operator's inventory; they
//! may come back (`available`) or be ported. A number may be deleted only when `available`
//! or `released`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where a number is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum NumberState {
    Available,
    Reserved,
    Active,
    Suspended,
    Porting,
    Released,
}

pub const STATES: [&str; 6] = [
    "available",
    "reserved",
    "active",
    "suspended",
    "porting",
    "released",
];

impl NumberState {
    pub fn as_str(self) -> &'static str {
        match self {
            NumberState::Available => "available",
            NumberState::Reserved => "reserved",
            NumberState::Active => "active",
            NumberState::Suspended => "suspended",
            NumberState::Porting => "porting",
            NumberState::Released => "released",
        }
    }

    /// The state named `text` (lower case, as stored and in the API).
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "available" => Some(NumberState::Available),
            "reserved" => Some(NumberState::Reserved),
            "active" => Some(NumberState::Active),
            "suspended" => Some(NumberState::Suspended),
            "porting" => Some(NumberState::Porting),
            "released" => Some(NumberState::Released),
            _ => None,
        }
    }

    /// A stored state, or why it is not one.
    pub fn parse_stored(text: &str) -> Result<Self, String> {
        Self::parse(text).ok_or_else(|| format!("not one of {}", STATES.join(", ")))
    }

    /// Whether a number may move from `self` to `to` (staying put is not a move).
    pub fn can_become(self, to: NumberState) -> bool {
        use NumberState::*;
        match (self, to) {
            (from, to) if from == to => false,
            (_, Porting) => true,
            (Available, Reserved | Active | Released) => true,
            (Reserved, Available | Active | Released) => true,
            (Active, Suspended | Available) => true,
            (Suspended, Active | Available | Released) => true,
            (Porting, Available | Active | Released) => true,
            (Released, Available) => true,
            _ => false,
        }
    }

    /// Only numbers out of service may be deleted.
    pub fn deletable(self) -> bool {
        matches!(self, NumberState::Available | NumberState::Released)
    }
}

impl std::fmt::Display for NumberState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The move from `from` to `to`, or why not (the message names both states).
pub fn transition(from: NumberState, to: NumberState) -> Result<(), String> {
    if from.can_become(to) {
        return Ok(());
    }
    let why = match (from, to) {
        (a, b) if a == b => format!("the number is already {}", a.as_str()),
        (NumberState::Active, NumberState::Released) => {
            "an active number cannot be released; deactivate or suspend it first".to_string()
        }
        (a, b) => format!("a number cannot go from {} to {}", a.as_str(), b.as_str()),
    };
    Err(why)
}

#[cfg(test)]
mod tests {
    use super::*;
    use NumberState::*;

    #[test]
    fn the_documented_state_machine() {
        let allowed = [
            (Available, Reserved),
            (Reserved, Active),
            (Active, Suspended),
            (Suspended, Active),
            (Active, Available),
            (Suspended, Available),
            (Reserved, Available),
            (Available, Released),
            (Suspended, Released),
            (Released, Available),
            (Porting, Active),
            (Porting, Released),
        ];
        for (from, to) in allowed {
            assert!(transition(from, to).is_ok(), "{from:?} -> {to:?}");
        }
        for from in [Available, Reserved, Active, Suspended, Released] {
            assert!(from.can_become(Porting), "{from:?} -> porting");
        }
        let refused = [
            (Active, Released),
            (Released, Active),
            (Released, Reserved),
            (Active, Reserved),
            (Suspended, Reserved),
            (Porting, Porting),
            (Active, Active),
        ];
        for (from, to) in refused {
            assert!(transition(from, to).is_err(), "{from:?} -> {to:?}");
        }
        assert!(
            transition(Active, Released)
                .unwrap_err()
                .contains("deactivate")
        );
        assert!(
            transition(Active, Active)
                .unwrap_err()
                .contains("already active")
        );
        assert!(Available.deletable() && Released.deletable());
        assert!(!Active.deletable() && !Reserved.deletable() && !Porting.deletable());
        for s in STATES {
            assert_eq!(NumberState::parse(s).unwrap().as_str(), s);
        }
    }
}
