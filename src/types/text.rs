//! Names and descriptions people type: trimmed, bounded, no control characters. One check,
//! one message each, whatever room holds them; the limit is the room's (a type parameter), so
//! an organization name (200) and a gateway name (100) are different types that cannot be
//! swapped by accident.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// The refusal of text with control characters, written once for every room.
pub const NO_CONTROL_CHARACTERS: &str = "must not contain control characters";

/// Why a name or description was refused (shown after the field's name).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TextError(pub String);

/// `Err` when `text` has a control character (`newlines`: `\n` is allowed).
pub fn check_control(text: &str, newlines: bool) -> Result<(), TextError> {
    if text
        .chars()
        .any(|c| c.is_control() && !(newlines && c == '\n'))
    {
        return Err(TextError(NO_CONTROL_CHARACTERS.into()));
    }
    Ok(())
}

fn check(text: &str, min: usize, max: usize, newlines: bool) -> Result<String, TextError> {
    let text = text.trim();
    if min > 0 && text.is_empty() {
        return Err(TextError("must not be empty".into()));
    }
    if text.chars().count() > max {
        return Err(TextError(format!("must be at most {max} characters")));
    }
    check_control(text, newlines)?;
    Ok(text.to_string())
}

/// A name: trimmed, 1 to `MAX` characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name<const MAX: usize>(String);

impl<const MAX: usize> Name<MAX> {
    pub fn parse(text: &str) -> Result<Self, TextError> {
        check(text, 1, MAX, false).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A description: trimmed, at most `MAX` characters (empty is fine), no control characters
/// but, where `NEWLINES`, line breaks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Description<const MAX: usize, const NEWLINES: bool = false>(String);

impl<const MAX: usize, const NEWLINES: bool> Description<MAX, NEWLINES> {
    pub fn parse(text: &str) -> Result<Self, TextError> {
        check(text, 0, MAX, NEWLINES).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl<const MAX: usize> fmt::Display for Name<MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<const MAX: usize, const NEWLINES: bool> fmt::Display for Description<MAX, NEWLINES> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<const MAX: usize> Serialize for Name<MAX> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de, const MAX: usize> Deserialize<'de> for Name<MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl<const MAX: usize, const NEWLINES: bool> Serialize for Description<MAX, NEWLINES> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de, const MAX: usize, const NEWLINES: bool> Deserialize<'de> for Description<MAX, NEWLINES> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

crate::text_column!([const MAX: usize] Name<MAX>, "name", Name::<MAX>::parse);
crate::text_column!(
    [const MAX: usize, const NEWLINES: bool] Description<MAX, NEWLINES>,
    "description",
    Description::<MAX, NEWLINES>::parse
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::column::corrupt_of;
    use crate::types::column::tests::{sqlite_decode, sqlite_round_trip};
    use rand::{Rng, SeedableRng};

    type Short = Name<10>;

    #[test]
    fn names_are_trimmed_bounded_and_printable() {
        assert_eq!(Short::parse("  Acme  ").unwrap().as_str(), "Acme");
        assert_eq!(Short::parse("ümlautäöüß").unwrap().as_str(), "ümlautäöüß");
        let err = |t: &str| Short::parse(t).unwrap_err().to_string();
        assert_eq!(err(""), "must not be empty");
        assert_eq!(err("   "), "must not be empty");
        assert_eq!(err("elevenchars"), "must be at most 10 characters");
        assert_eq!(err("a\u{7}b"), NO_CONTROL_CHARACTERS);
        assert_eq!(err("a\nb"), NO_CONTROL_CHARACTERS);
    }

    #[test]
    fn descriptions_may_be_empty_and_some_may_span_lines() {
        assert_eq!(Description::<5>::parse(" ").unwrap().as_str(), "");
        assert!(Description::<5>::parse("a\nb").is_err());
        assert_eq!(
            Description::<5, true>::parse("a\nb").unwrap().as_str(),
            "a\nb"
        );
        assert!(Description::<5, true>::parse("a\rb").is_err());
        assert!(Description::<5>::parse("sixsix").is_err());
    }

    /// Generated strings: whatever is accepted is stored trimmed and reads back unchanged
    /// through JSON; whatever is refused has a reason.
    #[test]
    fn generated_text_round_trips_or_is_refused() {
        let alphabet = ['a', 'Z', ' ', 'é', '\u{0}', '\n', '\t', '€', '7', '\u{85}'];
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        for _ in 0..5000 {
            let len = rng.random_range(0..14);
            let text: String = (0..len)
                .map(|_| alphabet[rng.random_range(0..alphabet.len())])
                .collect();
            match Short::parse(&text) {
                Ok(name) => {
                    assert_eq!(name.as_str(), text.trim());
                    assert!(!name.as_str().chars().any(char::is_control));
                    let json = serde_json::to_string(&name).unwrap();
                    assert_eq!(serde_json::from_str::<Short>(&json).unwrap(), name);
                }
                Err(e) => assert!(!e.0.is_empty()),
            }
        }
    }

    #[tokio::test]
    async fn stored_text_is_checked_on_the_way_out() {
        let name = Short::parse("Acme").unwrap();
        assert_eq!(sqlite_round_trip(&name).await, (name, "Acme".to_string()));
        let e = sqlite_decode::<Short>("bad\u{1b}[2J").await.unwrap_err();
        assert_eq!(corrupt_of(&e).unwrap().column, "name");
        assert!(serde_json::from_str::<Short>("\"\"").is_err());
    }
}
