//! API key secrets: `dt_live_` and 256 random bits (base64url), shown once and stored only as a
//! SHA-256 hash, like the login tokens (`auth::token`): the secret is high-entropy, so a fast
//! hash is enough and a request costs one indexed lookup. HTTP Basic carries the key id as the
//! user name and the secret as the password, for clients that cannot send a bearer token.

use crate::auth::{TokenKind, token};
use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// What every API key secret starts with, so a token can be told apart (and found in a leak
/// scan) before any lookup.
pub const PREFIX: &str = "dt_live_";

/// Characters of a secret shown in lists, so operators recognise a key: the prefix and four
/// random characters, 24 bits that tell keys apart but do not help guess one.
pub const SHOWN: usize = 12;

/// A new secret.
pub fn generate() -> String {
    token::generate(TokenKind::ApiKey)
}

/// The stored form of a secret (hex SHA-256).
pub fn hash(secret: &str) -> String {
    token::hash(secret)
}

/// The recognisable start of a secret (see [`SHOWN`]).
pub fn shown(secret: &str) -> String {
    secret.chars().take(SHOWN).collect()
}

/// The credentials of an `Authorization: Basic` header: `None` when the request has no Basic
/// header, `Some(None)` when it has one that is not `base64(id:secret)` with a numeric id.
pub fn basic_credentials(headers: &HeaderMap) -> Option<Option<(i64, String)>> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    Some(parse_basic(encoded.trim()))
}

fn parse_basic(encoded: &str) -> Option<(i64, String)> {
    let decoded = STANDARD.decode(encoded).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, secret) = text.split_once(':')?;
    let id = user.trim().parse::<i64>().ok().filter(|id| *id > 0)?;
    (!secret.is_empty()).then(|| (id, secret.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn secrets_are_prefixed_unique_and_hashed() {
        let a = generate();
        let b = generate();
        assert!(a.starts_with(PREFIX), "{a}");
        assert_eq!(a.len(), PREFIX.len() + 43, "256 bits in base64url: {a}");
        assert_ne!(a, b);
        assert_eq!(hash(&a).len(), 64);
        assert_ne!(hash(&a), hash(&b));
        assert_eq!(shown(&a), &a[..SHOWN]);
        assert!(!a.contains(':'), "usable as a Basic password");
    }

    fn headers(value: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        map
    }

    #[test]
    fn basic_takes_a_numeric_id_and_a_secret() {
        let encoded = STANDARD.encode("7:dt_live_abc:def");
        assert_eq!(
            basic_credentials(&headers(&format!("Basic {encoded}"))),
            Some(Some((7, "dt_live_abc:def".to_string())))
        );
        assert_eq!(
            basic_credentials(&headers(&format!("basic  {encoded} "))),
            Some(Some((7, "dt_live_abc:def".to_string())))
        );
        for bad in ["alice:secret", "7:", "0:x", "-1:x", "7"] {
            let value = format!("Basic {}", STANDARD.encode(bad));
            assert_eq!(basic_credentials(&headers(&value)), Some(None), "{bad}");
        }
        assert_eq!(basic_credentials(&headers("Basic !!!")), Some(None));
        assert_eq!(basic_credentials(&headers("Bearer abc")), None);
        assert_eq!(basic_credentials(&HeaderMap::new()), None);
    }
}
