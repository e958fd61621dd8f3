//! Small secrets that must be recoverable (SIP line and provisioning passwords, which phones need
//! in clear), encrypted at rest with ChaCha20-Poly1305 under one key file.
//!
//! A stored value is `v1:<base64 of nonce ‖ ciphertext ‖ tag>` with a random 96-bit nonce per
//! value, so equal passwords do not look equal in the database and a changed byte is detected.
//! Instances sharing one PostgreSQL must share the key file.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use rand::Rng;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Bytes of a key file.
pub const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const PREFIX: &str = "v1:";

/// Letters and digits a generated password is drawn from: no look-alikes (0/O, 1/l/I), nothing
/// that needs escaping in a phone's XML or `key = value` file.
const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

/// What can go wrong loading the key or opening a value.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("secrets key file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("secrets key file {path}: must hold exactly {KEY_LEN} bytes, found {len}")]
    KeySize { path: PathBuf, len: usize },
    #[error("stored secret is not a v1 value")]
    Format,
    #[error("stored secret does not decrypt with this key (tampered, or another key file)")]
    Decrypt,
}

/// The loaded key. Cheap to share behind an `Arc`; its `Debug` never shows the key.
pub struct Secrets {
    cipher: ChaCha20Poly1305,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secrets(..)")
    }
}

impl Secrets {
    pub fn from_key(key: &[u8; KEY_LEN]) -> Self {
        Self {
            cipher: ChaCha20Poly1305::new(key.into()),
        }
    }

    /// Reads the key file, creating it (32 random bytes, mode 0600, parent directories too) if
    /// it does not exist yet. Two instances starting at once both end up with the one file.
    pub fn load_or_create(path: &Path) -> Result<Self, SecretsError> {
        let io = |source| SecretsError::Io {
            path: path.to_path_buf(),
            source,
        };
        match std::fs::read(path) {
            Ok(bytes) => return Self::from_file_bytes(path, &bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let mut key = [0u8; KEY_LEN];
        rand::rng().fill(&mut key[..]);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(path) {
            Ok(mut file) => {
                file.write_all(&key).map_err(io)?;
                file.sync_all().map_err(io)?;
                tracing::info!(path = %path.display(), "created a new secrets key file");
                Ok(Self::from_key(&key))
            }
            // Another instance created it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let bytes = std::fs::read(path).map_err(io)?;
                Self::from_file_bytes(path, &bytes)
            }
            Err(e) => Err(io(e)),
        }
    }

    fn from_file_bytes(path: &Path, bytes: &[u8]) -> Result<Self, SecretsError> {
        let key: &[u8; KEY_LEN] = bytes.try_into().map_err(|_| SecretsError::KeySize {
            path: path.to_path_buf(),
            len: bytes.len(),
        })?;
        #[cfg(unix)]
        if let Ok(meta) = std::fs::metadata(path) {
            use std::os::unix::fs::PermissionsExt;
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(path = %path.display(), "secrets key file is readable by others; chmod 600 it");
            }
        }
        Ok(Self::from_key(key))
    }

    /// Encrypts `plaintext` under a fresh random nonce.
    pub fn encrypt(&self, plaintext: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill(&mut nonce[..]);
        let sealed = self
            .cipher
            .encrypt(&Nonce::from(nonce), plaintext.as_bytes())
            .expect("ChaCha20-Poly1305 encrypts any message that fits in memory");
        let mut raw = Vec::with_capacity(NONCE_LEN + sealed.len());
        raw.extend_from_slice(&nonce);
        raw.extend_from_slice(&sealed);
        format!("{PREFIX}{}", STANDARD.encode(raw))
    }

    /// Opens a value made by [`Secrets::encrypt`] with the same key.
    pub fn decrypt(&self, stored: &str) -> Result<String, SecretsError> {
        let encoded = stored.strip_prefix(PREFIX).ok_or(SecretsError::Format)?;
        let raw = STANDARD.decode(encoded).map_err(|_| SecretsError::Format)?;
        if raw.len() < NONCE_LEN + TAG_LEN {
            return Err(SecretsError::Format);
        }
        let (nonce, sealed) = raw.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| SecretsError::Format)?;
        let plain = self
            .cipher
            .decrypt(&Nonce::from(nonce), sealed)
            .map_err(|_| SecretsError::Decrypt)?;
        String::from_utf8(plain).map_err(|_| SecretsError::Decrypt)
    }
}

/// A random password of `len` characters from an alphabet safe in any phone file format
/// (about 5.8 bits each: 20 characters are 116 bits).
pub fn generate_password(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(byte: u8) -> Secrets {
        Secrets::from_key(&[byte; KEY_LEN])
    }

    #[test]
    fn round_trip_with_a_fresh_nonce_each_time() {
        let s = secrets(7);
        let a = s.encrypt("line-password-1");
        let b = s.encrypt("line-password-1");
        assert!(a.starts_with("v1:"), "{a}");
        assert_ne!(a, b, "same plaintext, different nonce");
        assert!(!a.contains("line-password-1"));
        assert_eq!(s.decrypt(&a).unwrap(), "line-password-1");
        assert_eq!(s.decrypt(&b).unwrap(), "line-password-1");
        assert_eq!(s.decrypt(&s.encrypt("")).unwrap(), "");
        assert_eq!(
            s.decrypt(&s.encrypt("päss wörd & <x>")).unwrap(),
            "päss wörd & <x>"
        );
    }

    #[test]
    fn tampering_is_detected() {
        let s = secrets(7);
        let stored = s.encrypt("secret");
        let mut raw = STANDARD.decode(&stored[3..]).unwrap();
        for i in [0, NONCE_LEN, raw.len() - 1] {
            raw[i] ^= 0x01;
            let tampered = format!("v1:{}", STANDARD.encode(&raw));
            assert!(
                matches!(s.decrypt(&tampered), Err(SecretsError::Decrypt)),
                "byte {i}"
            );
            raw[i] ^= 0x01;
        }
        for bad in ["", "secret", "v2:AAAA", "v1:not base64!", "v1:AAAA"] {
            assert!(matches!(s.decrypt(bad), Err(SecretsError::Format)), "{bad}");
        }
    }

    #[test]
    fn another_key_cannot_read_it() {
        let stored = secrets(7).encrypt("secret");
        assert!(matches!(
            secrets(8).decrypt(&stored),
            Err(SecretsError::Decrypt)
        ));
    }

    #[test]
    fn key_file_is_created_once_private_and_checked_for_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("secrets.key");
        let first = Secrets::load_or_create(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), KEY_LEN);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        }
        let stored = first.encrypt("kept across restarts");
        let again = Secrets::load_or_create(&path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "not regenerated");
        assert_eq!(again.decrypt(&stored).unwrap(), "kept across restarts");

        let short = dir.path().join("short.key");
        std::fs::write(&short, [1u8; 16]).unwrap();
        let err = Secrets::load_or_create(&short).unwrap_err().to_string();
        assert!(
            err.contains("short.key") && err.contains("32 bytes") && err.contains("16"),
            "{err}"
        );
    }

    #[test]
    fn generated_passwords_use_the_safe_alphabet() {
        let a = generate_password(20);
        assert_eq!(a.len(), 20);
        assert!(a.bytes().all(|b| ALPHABET.contains(&b)), "{a}");
        assert_ne!(a, generate_password(20));
        assert_eq!(generate_password(24).len(), 24);
    }
}
