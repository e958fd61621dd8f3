//! Names and descriptions people type: trimmed, bounded, no control characters. One check,
//! one message each, whatever room holds them; the limit is the room's (a type parameter), so
//! an organization name (200) and a gateway name (100) are different types that cannot be
//! swapped by accident. Also how any refused text is quoted back in an error
//! ([`quote_prefix`]): a short prefix, never the whole value, so a 5 MB value cannot make a
//! 5 MB answer.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// The refusal of text with control characters, written once for every room.
pub const NO_CONTROL_CHARACTERS: &str = "must not contain control characters";

/// Characters of a refused value an error message quotes; the rest is counted, not shown.
pub const QUOTED_PREFIX: usize = 64;

/// A refused value as an error message shows it: quoted like `{:?}` when it is short, else its
/// first [`QUOTED_PREFIX`] characters quoted, `…` and how long it was
/// (`"aaaa…aaaa"… (5242880 characters)`). Every message that echoes input goes through this.
pub fn quote_prefix(text: &str) -> QuotePrefix<'_> {
    QuotePrefix(text)
}

/// See [`quote_prefix`].
#[derive(Debug, Clone, Copy)]
pub struct QuotePrefix<'a>(&'a str);

impl fmt::Display for QuotePrefix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.char_indices().nth(QUOTED_PREFIX) {
            None => write!(f, "{:?}", self.0),
            Some((end, _)) => write!(
                f,
                "{:?}… ({} characters)",
                &self.0[..end],
                self.0.chars().count()
            ),
        }
    }
}

/// A message written by code we do not control (serde's `invalid type: string "…"`, `unknown
/// variant `…``) with every quoted value in it cut the way [`quote_prefix`] cuts one. A quote
/// is `"…"` (with `\"` escapes) or `` `…` ``; a quote left open runs to the end of the message.
pub fn shorten_quotes(message: &str) -> std::borrow::Cow<'_, str> {
    if message.chars().count() <= QUOTED_PREFIX {
        return std::borrow::Cow::Borrowed(message);
    }
    let mut out = String::with_capacity(message.len().min(4 * QUOTED_PREFIX));
    let mut rest = message;
    while let Some(open) = rest.find(['"', '`']) {
        let quote = rest.as_bytes()[open];
        out.push_str(&rest[..=open]);
        let inside = &rest[open + 1..];
        let close = quoted_len(inside, quote);
        let value = &inside[..close];
        match value.char_indices().nth(QUOTED_PREFIX) {
            None => out.push_str(value),
            Some((end, _)) => {
                // Never cut an escape in half: `\` then `"` would read as an escaped quote.
                let backslashes = value[..end]
                    .bytes()
                    .rev()
                    .take_while(|b| *b == b'\\')
                    .count();
                let end = if quote == b'"' && backslashes % 2 == 1 {
                    end - 1
                } else {
                    end
                };
                out.push_str(&value[..end]);
                out.push(quote as char);
                out.push_str(&format!("… ({} characters)", value.chars().count()));
                rest = inside.get(close + 1..).unwrap_or("");
                continue;
            }
        }
        match inside.get(close..close + 1) {
            Some(_) => {
                out.push(quote as char);
                rest = &inside[close + 1..];
            }
            None => rest = "",
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// Bytes of `text` before the quote that closes it (all of it when none does).
fn quoted_len(text: &str, quote: u8) -> usize {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote == b'"' => i += 2,
            b if b == quote => return i,
            _ => i += 1,
        }
    }
    bytes.len()
}

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

impl<const MAX: usize> utoipa::PartialSchema for Name<MAX> {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::types::schema::string(
            &format!("1-{MAX} characters (trimmed), no control characters"),
            Some(&crate::types::schema::text_pattern(true, false)),
            (Some(1), Some(MAX)),
            None,
        )
    }
}

impl<const MAX: usize> utoipa::ToSchema for Name<MAX> {
    fn name() -> std::borrow::Cow<'static, str> {
        format!("Name{MAX}").into()
    }
}

impl<const MAX: usize, const NEWLINES: bool> utoipa::PartialSchema for Description<MAX, NEWLINES> {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let lines = if NEWLINES {
            ", line breaks allowed"
        } else {
            ""
        };
        crate::types::schema::string(
            &format!("At most {MAX} characters (trimmed), no control characters{lines}"),
            Some(&crate::types::schema::text_pattern(false, NEWLINES)),
            (None, Some(MAX)),
            None,
        )
    }
}

impl<const MAX: usize, const NEWLINES: bool> utoipa::ToSchema for Description<MAX, NEWLINES> {
    fn name() -> std::borrow::Cow<'static, str> {
        let lines = if NEWLINES { "Lines" } else { "" };
        format!("Description{MAX}{lines}").into()
    }
}

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
    fn the_schema_patterns_agree_with_the_parsers() {
        use crate::types::schema::check::pattern_of;
        use utoipa::PartialSchema;
        let name = pattern_of(Short::schema());
        let lines = pattern_of(Description::<10, true>::schema());
        let line = pattern_of(Description::<10>::schema());
        for text in [
            "Acme",
            "  Acme ",
            "ümlaut",
            "a b",
            "\u{a0}x",
            "",
            " ",
            "a\nb",
            "a\u{7}b",
            "\u{85}x",
            "\t a",
            "a\u{85}b",
            "x\u{3000}",
            "\u{a0}",
            "a\n",
            "\n",
            "\u{1c}a",
            "a\r\nb",
        ] {
            assert_eq!(
                name.is_match(text),
                Short::parse(text).is_ok(),
                "name {text:?}"
            );
            assert_eq!(
                line.is_match(text),
                Description::<10>::parse(text).is_ok(),
                "description {text:?}"
            );
            assert_eq!(
                lines.is_match(text),
                Description::<10, true>::parse(text).is_ok(),
                "multi-line description {text:?}"
            );
        }
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

    #[test]
    fn a_refused_value_is_quoted_whole_when_short_and_by_its_prefix_when_long() {
        assert_eq!(quote_prefix("ab\"c").to_string(), "\"ab\\\"c\"");
        let exact = "x".repeat(QUOTED_PREFIX);
        assert_eq!(quote_prefix(&exact).to_string(), format!("{exact:?}"));
        let long = "é".repeat(5 * 1024 * 1024);
        let quoted = quote_prefix(&long).to_string();
        assert_eq!(
            quoted,
            format!(
                "\"{}\"… ({} characters)",
                "é".repeat(QUOTED_PREFIX),
                5 * 1024 * 1024
            )
        );
    }

    #[test]
    fn foreign_messages_have_their_quoted_values_cut() {
        let short = "invalid type: string \"x\", expected u32";
        assert!(matches!(
            shorten_quotes(short),
            std::borrow::Cow::Borrowed(_)
        ));
        let value = "a".repeat(10_000);
        let serde = format!("invalid type: string \"{value}\", expected u32");
        assert_eq!(
            shorten_quotes(&serde),
            format!(
                "invalid type: string \"{}\"… (10000 characters), expected u32",
                "a".repeat(QUOTED_PREFIX)
            )
        );
        let variant = format!("unknown variant `{value}`, expected one of `up`, `down`");
        assert_eq!(
            shorten_quotes(&variant),
            format!(
                "unknown variant `{}`… (10000 characters), expected one of `up`, `down`",
                "a".repeat(QUOTED_PREFIX)
            )
        );
        // An escape is never cut in half, and a quote left open is cut too.
        let escaped = format!("got \"{}\\\"tail\" ok", "b".repeat(QUOTED_PREFIX - 1));
        let cut = shorten_quotes(&escaped);
        assert!(
            cut.starts_with(&format!("got \"{}\"…", "b".repeat(QUOTED_PREFIX - 1))),
            "{cut}"
        );
        assert!(cut.ends_with(" ok"), "{cut}");
        let open = format!("unknown field `{value}");
        assert!(shorten_quotes(&open).len() < 200);
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
