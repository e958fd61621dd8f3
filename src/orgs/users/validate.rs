//! What users type about themselves, checked: usernames, e-mail addresses, role names.

use crate::auth::Role;
use crate::error::{Error, Result};
use crate::types::schema::{WHITE_SPACE, nullable, string};
use crate::types::text::quote_prefix;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;

/// The longest e-mail address (RFC 5321's path limit, less the angle brackets).
const EMAIL_MAX: usize = 254;

/// The schema of [`validate_username`].
pub fn username_schema() -> RefOr<Schema> {
    string(
        "3-64 of letters, digits and `. _ @ -` (stored lower case)",
        Some(&format!(
            "^{WHITE_SPACE}*[A-Za-z0-9._@-]{{3,64}}{WHITE_SPACE}*$"
        )),
        (None, None),
        None,
    )
}

/// The schema of [`validate_email`]: `local@domain`, the domain with a dot inside; blank clears
/// it; at most 254 characters as given. The document offers printable ASCII only (the check also
/// takes other non-space characters).
fn email_schema() -> RefOr<Schema> {
    // Printable ASCII but `@`, and but `.`.
    let local = "[!-?A-~]";
    let edge = "[!-\\-/-~]";
    string(
        "An e-mail address (`local@domain.tld`), at most 254 characters; blank or null clears it",
        Some(&format!(
            r"^{WHITE_SPACE}*(?:{local}+@{edge}[!-~]*\.[!-~]*{edge})?{WHITE_SPACE}*$"
        )),
        (None, Some(EMAIL_MAX)),
        None,
    )
}

pub fn email_or_null() -> RefOr<Schema> {
    nullable(email_schema())
}

/// The schema of [`crate::auth::password::validate`] for a new password.
pub fn password_schema() -> RefOr<Schema> {
    use crate::auth::password::{MAX_LENGTH, MIN_LENGTH};
    string(
        "A new password: 8-1024 characters",
        None,
        (Some(MIN_LENGTH), Some(MAX_LENGTH)),
        None,
    )
}

pub fn password_or_null() -> RefOr<Schema> {
    nullable(password_schema())
}

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
    // The document's `maxLength` counts the text as given, white space around included.
    if let Some(given) = text {
        crate::orgs::model::as_given("email", given, EMAIL_MAX)?;
    }
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let valid = text.len() <= EMAIL_MAX
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

    #[test]
    fn the_schemas_agree_with_the_checks() {
        use crate::types::schema::check::{Allows, texts};
        let username = Allows::new(&username_schema());
        for text in [
            "abc",
            " Alice.Smith@Acme ",
            "a-b_c",
            &"x".repeat(64),
            "\u{3000}bob\t",
            "ab",
            "",
            "with space",
            "colon:x",
            "ünï",
            &"x".repeat(65),
            "a\nbc",
        ] {
            assert_eq!(
                username.allows(text),
                validate_username(text).is_ok(),
                "{text:?}"
            );
        }
        let pieces = [
            "a", "Z", "9", ".", "_", "@", "-", " ", ":", "ü", "\t", "abc",
        ];
        for text in texts(&pieces, 30, 4000) {
            assert_eq!(
                username.allows(&text),
                validate_username(&text).is_ok(),
                "{text:?}"
            );
        }

        let email = Allows::new(&email_or_null());
        let takes = |t: &str| validate_email(Some(t)).is_ok();
        for text in [
            "a@b.co",
            " x.y+z@mail.example.com ",
            "a@b@c.d",
            "",
            "  ",
            "nope",
            "a@b",
            "a b@c.d",
            "@c.d",
            "a@.c",
            "a@c.",
            "a@c\u{7}.d",
            &format!("a@{}.com", "b".repeat(248)),
            &format!("a@{}.com", "b".repeat(249)),
        ] {
            assert_eq!(email.allows(text), takes(text), "{text:?}");
        }
        let fits = format!("a@b.co{}", "\u{85}".repeat(EMAIL_MAX - 6));
        assert!(email.allows(&fits) && takes(&fits));
        let over = format!("{fits} ");
        assert!(!email.allows(&over) && !takes(&over));
        // What the document leaves out: addresses beyond ASCII.
        assert!(takes("ü@b.co") && !email.allows("ü@b.co"));
        let pieces = ["a", "@", ".", " ", "b", "-", "ü", "\u{1}", "x.y", "@c"];
        let mut allowed = 0;
        for text in texts(&pieces, 10, 4000) {
            if email.allows(&text) {
                assert!(takes(&text), "allowed but refused: {text:?}");
                allowed += 1;
            }
        }
        assert!(allowed > 100, "{allowed}");

        let password = Allows::new(&password_schema());
        for text in [
            "12345678",
            "pässwörd",
            " spaces ",
            "short",
            &"x".repeat(1025),
        ] {
            assert_eq!(
                password.allows(text),
                crate::auth::password::validate("p", text).is_ok(),
                "{text:?}"
            );
        }
    }
}
