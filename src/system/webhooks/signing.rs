//! Standard Webhooks signing: a secret shown as `whsec_<base64 of 24 random bytes>`, and the
//! `webhook-signature` header, space-separated `v1,<base64 HMAC-SHA256>` entries over
//! `{webhook-id}.{webhook-timestamp}.{body}` keyed with the decoded secret, one per secret in
//! force (two during a rotation's overlap).

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::Rng;

/// What every webhook secret starts with.
pub const PREFIX: &str = "whsec_";
/// Random bytes of a new secret (192 bits).
const SECRET_BYTES: usize = 24;

/// A new secret, as shown to the user once.
pub fn generate() -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    rand::rng().fill(&mut bytes[..]);
    format!("{PREFIX}{}", STANDARD.encode(bytes))
}

/// The key bytes of a `whsec_…` secret; `None` when it is not one.
pub fn key_of(secret: &str) -> Option<Vec<u8>> {
    let encoded = secret.strip_prefix(PREFIX)?;
    STANDARD.decode(encoded).ok().filter(|k| !k.is_empty())
}

/// The signing keys of one endpoint, built once per delivery run.
pub struct Signer {
    keys: Vec<hmac::Key>,
}

impl Signer {
    /// A signer over the key bytes of each secret in force (newest first).
    pub fn new(keys: &[Vec<u8>]) -> Self {
        Self {
            keys: keys
                .iter()
                .map(|k| hmac::Key::new(hmac::HMAC_SHA256, k))
                .collect(),
        }
    }

    /// The `webhook-signature` value for one message.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut entries = Vec::with_capacity(self.keys.len());
        for key in &self.keys {
            let mut context = hmac::Context::with_key(key);
            context.update(id.as_bytes());
            context.update(b".");
            context.update(timestamp.to_string().as_bytes());
            context.update(b".");
            context.update(body);
            entries.push(format!("v1,{}", STANDARD.encode(context.sign().as_ref())));
        }
        entries.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks reference libraries: secret, id, timestamp and
    /// payload with the signature they publish.
    #[test]
    fn signs_the_specifications_example() {
        let key = key_of("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("a secret");
        let signer = Signer::new(&[key]);
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            signer.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn a_rotation_signs_with_both_secrets_and_secrets_differ() {
        let (a, b) = (generate(), generate());
        assert_ne!(a, b);
        assert!(a.starts_with(PREFIX));
        let keys = [key_of(&a).expect("a"), key_of(&b).expect("b")];
        assert_eq!(keys[0].len(), SECRET_BYTES);
        let both = Signer::new(&keys).sign("msg_1", 1, b"{}");
        let entries: Vec<&str> = both.split(' ').collect();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0], Signer::new(&keys[..1]).sign("msg_1", 1, b"{}"));
        assert_ne!(entries[0], entries[1]);
        assert_ne!(
            Signer::new(&keys[..1]).sign("msg_1", 2, b"{}"),
            entries[0],
            "the timestamp is signed"
        );
    }

    #[test]
    fn only_whsec_secrets_have_keys() {
        assert!(key_of("whsec_").is_none());
        assert!(key_of("whsec_not base64!").is_none());
        assert!(key_of("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_none());
    }
}
