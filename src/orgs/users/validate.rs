//! What users type about themselves, checked: usernames, e-mail addresses, role names.

use crate::auth::Role;
use crate::error::{Error, Result};
use crate::types::text::quote_prefix;

/// Usernames: 3–64 of letters, digits and `. _ @ -`, stored lower-case (logins are
/// case-insensitive).
pub fn validate_username(text: &str) -> Result<String> {
    let name = text.trim().to_lowercase();
    let len = name.chars().count();
    if !(3..=64).contains(&len) {
        return Err(Error::field("username", "must be 3-64 characters"));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-'))
    {
        return Err(Error::field(
            "username",
            "may contain only letters, digits, '.', '_', '@' and '-'",
        ));
    }
    Ok(name)
}

pub(super) fn validate_email(text: Option<&str>) -> Result<Option<String>> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let valid = text.len() <= 254
        && !text.chars().any(|c| c.is_whitespace() || c.is_control())
        && text.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if valid {
        Ok(Some(text.to_string()))
    } else {
        Err(Error::field(
            "email",
            format!("not an e-mail address: {}", quote_prefix(text)),
        ))
    }
}

pub(super) fn parse_role(text: &str) -> Result<Role> {
    Role::parse(text).ok_or_else(|| {
        Error::field(
            "role",
            format!(
                "unknown role {}; expected one of admin, user, readonly",
                quote_prefix(text)
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_and_emails() {
        assert_eq!(
            validate_username(" Alice.Smith@Acme ").unwrap(),
            "alice.smith@acme"
        );
        for bad in ["ab", "with space", "colon:x", "ünï", &"x".repeat(65)] {
            assert!(validate_username(bad).is_err(), "{bad}");
        }
        assert_eq!(
            validate_email(Some("a@b.co")).unwrap().as_deref(),
            Some("a@b.co")
        );
        assert_eq!(validate_email(Some(" ")).unwrap(), None);
        for bad in ["nope", "a@b", "a b@c.d", "@c.d", "a@.c"] {
            assert!(validate_email(Some(bad)).is_err(), "{bad}");
        }
    }
}
