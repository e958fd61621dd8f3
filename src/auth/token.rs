//! Bearer tokens: random, shown once, stored only as a SHA-256 hash.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// What a token may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
    Temp,
    /// An API key (`system::apikeys`), never stored in `auth_tokens`.
    ApiKey,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Access => "access",
            TokenKind::Refresh => "refresh",
            TokenKind::Temp => "temp",
            TokenKind::ApiKey => "apikey",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "access" => Some(TokenKind::Access),
            "refresh" => Some(TokenKind::Refresh),
            "temp" => Some(TokenKind::Temp),
            "apikey" => Some(TokenKind::ApiKey),
            _ => None,
        }
    }

    /// A stored kind, or why it is not one (an API key is never a stored token).
    pub fn parse_stored(text: &str) -> Result<Self, String> {
        Self::parse(text)
            .filter(|kind| *kind != TokenKind::ApiKey)
            .ok_or_else(|| "not one of access, refresh, temp".to_string())
    }
}

/// A new secret token: a readable prefix naming its kind, then 256 random bits.
pub fn generate(kind: TokenKind) -> String {
    let bytes: [u8; 32] = rand::random();
    let prefix = match kind {
        TokenKind::Access => "dta",
        TokenKind::Refresh => "dtr",
        TokenKind::Temp => "dtt",
        TokenKind::ApiKey => "dt_live",
    };
    format!("{prefix}_{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The stored form of a token (hex SHA-256).
pub fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A random opaque id grouping the tokens of one login.
pub fn session_id() -> String {
    let bytes: [u8; 16] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_hash_stably() {
        let a = generate(TokenKind::Access);
        let b = generate(TokenKind::Access);
        assert_ne!(a, b);
        assert!(a.starts_with("dta_") && a.len() > 40);
        assert_eq!(hash(&a), hash(&a));
        assert_eq!(hash(&a).len(), 64);
        assert_ne!(hash(&a), hash(&b));
    }
}
