//! Ids in URL paths. Ids are opaque to clients, so a malformed one is simply "not found".

use crate::error::{Error, Result};

/// Parses a path id; anything but a positive integer is a 404 for `what`.
pub fn id(text: &str, what: &str) -> Result<i64> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| Error::not_found(what))
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_positive_integers_are_ids() {
        assert_eq!(super::id("42", "user").unwrap(), 42);
        for bad in ["0", "-1", "abc", "1.5", "", "99999999999999999999"] {
            assert_eq!(
                super::id(bad, "user").unwrap_err().to_string(),
                "user not found"
            );
        }
    }
}
