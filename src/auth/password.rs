//! Password hashing with argon2id, run off the async threads (it is deliberately slow).

use crate::error::{Error, Result};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

pub const MIN_LENGTH: usize = 8;
pub const MAX_LENGTH: usize = 1024;

/// Checks a new password's length; the error names the field.
pub fn validate(field: &str, password: &str) -> Result<()> {
    let chars = password.chars().count();
    if chars < MIN_LENGTH {
        return Err(Error::field(
            field,
            format!("must be at least {MIN_LENGTH} characters"),
        ));
    }
    if chars > MAX_LENGTH {
        return Err(Error::field(
            field,
            format!("must be at most {MAX_LENGTH} characters"),
        ));
    }
    Ok(())
}

fn new_salt() -> SaltString {
    let bytes: [u8; 16] = rand::random();
    // 16 random bytes always encode to a valid salt.
    SaltString::encode_b64(&bytes).expect("16-byte salt encodes")
}

/// Argon2 takes ~19 MiB and a core for tens of milliseconds; at most this many run at once, so a
/// login flood queues instead of exhausting memory.
fn hashing_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        tokio::sync::Semaphore::new(cores.max(2))
    })
}

pub async fn hash(password: &str) -> Result<String> {
    let password = password.to_string();
    let _slot = hashing_slots().acquire().await;
    tokio::task::spawn_blocking(move || {
        let salt = new_salt();
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(format!("hashing password: {e}")))
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?
}

/// Verifies `password` against a stored hash. With no hash (unknown user) it still spends the
/// same time on a dummy hash, so response times do not reveal which usernames exist.
pub async fn verify(password: &str, stored: Option<&str>) -> bool {
    let known = stored.is_some();
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let stored = match stored {
        Some(s) => s.to_string(),
        None => DUMMY
            .get_or_init(|| {
                let salt = new_salt();
                Argon2::default()
                    .hash_password(b"dummy-password", &salt)
                    .map(|h| h.to_string())
                    .unwrap_or_default()
            })
            .clone(),
    };
    let password = password.to_string();
    let _slot = hashing_slots().acquire().await;
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
        && known
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_differ() {
        let a = hash("correct horse").await.unwrap();
        let b = hash("correct horse").await.unwrap();
        assert_ne!(a, b, "salted");
        assert!(a.starts_with("$argon2id$"));
        assert!(verify("correct horse", Some(&a)).await);
        assert!(!verify("wrong horse", Some(&a)).await);
        assert!(!verify("dummy-password", None).await);
        assert!(validate("password", "short").is_err());
        assert!(validate("password", "long enough").is_ok());
    }
}
