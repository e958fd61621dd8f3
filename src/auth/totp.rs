//! Two-factor codes (RFC 6238 TOTP, SHA-1, 6 digits, 30 s), otpauth URIs and QR images.

use crate::error::{Error, Result};
use totp_rs::{Builder, Secret, Totp};

/// A new random base32 secret.
pub fn new_secret() -> String {
    Secret::generate().to_base32()
}

fn totp(secret_b32: &str, issuer: &str, account: &str) -> Result<Totp> {
    let secret = Secret::try_from_base32(secret_b32)
        .map_err(|e| Error::Internal(format!("stored TOTP secret unreadable: {e:?}")))?;
    Builder::new()
        .with_secret(secret)
        .with_issuer(Some(issuer))
        .with_account_name(account)
        .build()
        .map_err(|e| Error::Internal(format!("TOTP setup: {e}")))
}

/// The `otpauth://` URI an authenticator app imports.
pub fn uri(secret_b32: &str, issuer: &str, account: &str) -> Result<String> {
    totp(secret_b32, issuer, account)?
        .to_url()
        .map_err(|e| Error::Internal(format!("TOTP URI: {e}")))
}

/// The time step (unix time / 30) of `code` if it is valid at `unix_time`, one step of clock
/// skew either way accepted. The caller makes each step usable once ([`super::store`]'s
/// `consume_totp_step`), as RFC 6238 §5.2 asks.
pub fn verify_step(secret_b32: &str, code: &str, unix_time: u64) -> Option<u64> {
    if !well_formed(code) {
        return None;
    }
    let code = code.trim();
    let totp = totp(secret_b32, "dialtone", "check").ok()?;
    let now = unix_time / STEP_S;
    [now.saturating_sub(1), now, now + 1]
        .into_iter()
        .find(|step| {
            same(
                totp.generate(step * STEP_S).to_string().as_bytes(),
                code.as_bytes(),
            )
        })
}

/// Whether `code` has a code's shape: six digits, white space around.
pub fn well_formed(code: &str) -> bool {
    let code = code.trim();
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

/// The schema of a code as [`well_formed`] takes it.
pub fn code_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use crate::types::schema::{WHITE_SPACE, string};
    string(
        "The current six-digit code of the authenticator app",
        Some(&format!("^{WHITE_SPACE}*[0-9]{{6}}{WHITE_SPACE}*$")),
        (None, None),
        None,
    )
}

/// Whether `code` is valid at `unix_time` (one step of clock skew either way is accepted).
pub fn verify(secret_b32: &str, code: &str, unix_time: u64) -> bool {
    verify_step(secret_b32, code, unix_time).is_some()
}

const STEP_S: u64 = 30;

/// Compares without stopping at the first difference.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The code valid at `unix_time` (tests and tooling).
pub fn code_at(secret_b32: &str, unix_time: u64) -> Result<String> {
    Ok(totp(secret_b32, "dialtone", "check")?
        .generate(unix_time)
        .to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_verify_within_one_step() {
        let secret = new_secret();
        let now = 1_800_000_000;
        let code = code_at(&secret, now).unwrap();
        assert!(verify(&secret, &code, now));
        assert!(verify(&secret, &code, now + 30), "one step of skew");
        assert!(!verify(&secret, &code, now + 120));
        assert!(!verify(&secret, "12345", now));
        assert!(!verify(&secret, "abcdef", now));
    }

    #[test]
    fn the_step_of_a_code_is_the_one_it_was_made_for() {
        let secret = new_secret();
        let now = 1_800_000_000;
        let code = code_at(&secret, now).unwrap();
        assert_eq!(verify_step(&secret, &code, now), Some(now / 30));
        assert_eq!(verify_step(&secret, &code, now + 30), Some(now / 30));
        assert_eq!(verify_step(&secret, &code, now - 30), Some(now / 30));
        assert_eq!(verify_step(&secret, &code, now + 90), None);
    }

    #[test]
    fn the_schema_agrees_with_the_shape_of_a_code() {
        use crate::types::schema::check::Allows;
        let schema = Allows::new(&code_schema());
        for text in [
            "123456",
            " 000000\t",
            "\u{3000}987654",
            "12345",
            "1234567",
            "12345a",
            "",
            "12 3456",
            "١٢٣٤٥٦",
        ] {
            assert_eq!(schema.allows(text), well_formed(text), "{text:?}");
        }
        let secret = new_secret();
        let code = code_at(&secret, 1_800_000_000).unwrap();
        assert!(verify(&secret, &format!(" {code} "), 1_800_000_000));
    }

    #[test]
    fn uri_and_qr() {
        let secret = new_secret();
        let uri = uri(&secret, "dialtone", "alice").unwrap();
        assert!(uri.starts_with("otpauth://totp/dialtone:alice?"), "{uri}");
        assert!(uri.contains(&format!("secret={secret}")));
        let svg = crate::system::qrcode::render(&uri, crate::system::qrcode::QrFormat::Svg, 256);
        assert!(svg.unwrap().starts_with(b"<?xml"));
    }
}
