//! Operator regexes: compiled anchored and size-limited, and the literal head that lets a regex
//! rule sit deeper in the trie than the root.

use super::{MAX_REGEX, REGEX_SIZE_LIMIT};
use regex::Regex;

/// Compiles an operator's regex anchored at both ends, with a bounded program size.
pub(super) fn compile_regex(source: &str) -> Result<Regex, String> {
    if source.is_empty() {
        return Err("must not be empty".into());
    }
    // Counted in characters, as the document's `maxLength` counts (the program size is bounded
    // below either way).
    if source.chars().count() > MAX_REGEX {
        return Err(format!("must be at most {MAX_REGEX} characters"));
    }
    regex::RegexBuilder::new(&format!("^(?:{source})$"))
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => "is too complex".to_string(),
            other => format!(
                "does not compile: {}",
                other.to_string().lines().last().unwrap_or("")
            ),
        })
}

/// The literal `+`/digit head every match of `source` starts with, so the rule can sit deeper
/// in the trie; empty (the root) whenever that is not certain.
pub(super) fn regex_literal_prefix(source: &str) -> String {
    let body = source.strip_prefix('^').unwrap_or(source);
    if has_top_level_alternative(body) {
        return String::new();
    }
    let mut prefix = String::new();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        let literal = match c {
            '\\' if chars.peek() == Some(&'+') => {
                chars.next();
                '+'
            }
            '0'..='9' => c,
            _ => break,
        };
        if matches!(chars.peek(), Some('?' | '*' | '{')) {
            break; // the character may be absent or repeated: not a certain prefix
        }
        prefix.push(literal);
    }
    prefix
}

/// Whether `source` has a `|` outside any group or class (`a|b`, not `a(b|c)`).
fn has_top_level_alternative(source: &str) -> bool {
    let mut depth = 0usize;
    let mut in_class = false;
    let mut chars = source.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '[' => in_class = true,
            ']' => in_class = false,
            '(' if !in_class => depth += 1,
            ')' if !in_class => depth = depth.saturating_sub(1),
            '|' if !in_class && depth == 0 => return true,
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regexes_are_anchored_and_bounded() {
        let re = compile_regex(r"\+1(800|888)\d{7}").unwrap();
        assert!(re.is_match("+18005550199"));
        assert!(!re.is_match("x+18005550199"), "anchored at the start");
        assert!(!re.is_match("+180055501990"), "anchored at the end");
        assert!(compile_regex(&"a".repeat(MAX_REGEX + 1)).is_err());
        assert_eq!(
            compile_regex(r"\d{1000}{1000}").unwrap_err(),
            "is too complex"
        );
    }

    #[test]
    fn regex_literal_heads() {
        assert_eq!(regex_literal_prefix(r"\+1800\d+"), "+1800");
        assert_eq!(regex_literal_prefix(r"^\+44(7|8)\d+"), "+44");
        assert_eq!(regex_literal_prefix(r"\+441?2"), "+44");
        assert_eq!(regex_literal_prefix(r"\+1800|\+1888"), "");
        assert_eq!(regex_literal_prefix(r"\+1[8|9]00|x"), "");
        assert_eq!(regex_literal_prefix(r"\+1(8|9)00"), "+1");
        assert_eq!(regex_literal_prefix(r"\d+"), "");
    }
}
