//! HTTP Digest (RFC 7616) for the provisioning server: the challenges (SHA-256 preferred, MD5
//! for the phones that know nothing else, `qop=auth`), the stateless nonces (issue time plus an
//! HMAC under a key derived from the shared secrets key, so any instance verifies any
//! instance's nonce and an expired one is recognised as *stale*), and the response check.
//! Also accepts RFC 2069 responses without `qop` from old firmware. Pure: time is passed in.

use super::authorization::DigestParams;
use aws_lc_rs::{constant_time, digest, hmac};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use md5::{Digest as _, Md5};

/// The realm every challenge names (the HA1 of a device's password depends on it).
pub const REALM: &str = "dialtone provisioning";

/// A digest algorithm a client may answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Md5,
    Sha256,
}

impl Algorithm {
    /// The `algorithm` parameter; absent means MD5 (RFC 7616 §3.3).
    pub fn parse(name: Option<&str>) -> Option<Self> {
        match name {
            None => Some(Algorithm::Md5),
            Some(n) if n.eq_ignore_ascii_case("MD5") => Some(Algorithm::Md5),
            Some(n) if n.eq_ignore_ascii_case("SHA-256") => Some(Algorithm::Sha256),
            Some(_) => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
        }
    }

    fn hex(self, data: &str) -> String {
        match self {
            Algorithm::Md5 => hex(&Md5::digest(data.as_bytes())),
            Algorithm::Sha256 => hex(digest::digest(&digest::SHA256, data.as_bytes()).as_ref()),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The `WWW-Authenticate` values of a Digest challenge, preferred algorithm first.
pub fn challenges(nonce: &str, stale: bool) -> [String; 2] {
    let stale = if stale { ", stale=true" } else { "" };
    [Algorithm::Sha256, Algorithm::Md5].map(|alg| {
        format!(
            "Digest realm=\"{REALM}\", qop=\"auth\", algorithm={}, nonce=\"{nonce}\"{stale}",
            alg.name()
        )
    })
}

/// Issues and checks nonces: `base64url(issued_at ‖ random ‖ HMAC-SHA256(issued_at ‖ random)[..16])`.
pub struct Nonces {
    key: hmac::Key,
    lifetime_s: u64,
}

/// What a nonce turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceState {
    Fresh,
    /// Ours, but older than its lifetime: a right answer to it earns a new challenge with
    /// `stale=true` instead of a failure.
    Stale,
    /// Not ours, or tampered with.
    Invalid,
}

const TAG_LEN: usize = 16;
const PAYLOAD_LEN: usize = 16;

impl Nonces {
    pub fn new(key_material: &[u8], lifetime_s: u64) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, key_material),
            lifetime_s,
        }
    }

    /// A nonce issued at `now_unix` (seconds) with caller-supplied randomness.
    pub fn issue(&self, now_unix: u64, random: [u8; 8]) -> String {
        let mut bytes = Vec::with_capacity(PAYLOAD_LEN + TAG_LEN);
        bytes.extend_from_slice(&now_unix.to_be_bytes());
        bytes.extend_from_slice(&random);
        let tag = hmac::sign(&self.key, &bytes);
        bytes.extend_from_slice(&tag.as_ref()[..TAG_LEN]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    pub fn check(&self, nonce: &str, now_unix: u64) -> NonceState {
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(nonce) else {
            return NonceState::Invalid;
        };
        if bytes.len() != PAYLOAD_LEN + TAG_LEN {
            return NonceState::Invalid;
        }
        let (payload, tag) = bytes.split_at(PAYLOAD_LEN);
        let expected = hmac::sign(&self.key, payload);
        if constant_time::verify_slices_are_equal(&expected.as_ref()[..TAG_LEN], tag).is_err() {
            return NonceState::Invalid;
        }
        let mut issued = [0u8; 8];
        issued.copy_from_slice(&payload[..8]);
        let issued = u64::from_be_bytes(issued);
        // A nonce from the future (clock skew between instances) is fine within a minute.
        if issued > now_unix.saturating_add(60) {
            return NonceState::Invalid;
        }
        if now_unix.saturating_sub(issued) > self.lifetime_s {
            NonceState::Stale
        } else {
            NonceState::Fresh
        }
    }
}

/// Whether `params` is a right answer for `password` to a `method` request (the `uri`
/// parameter is checked against the request by the caller).
pub fn verify(params: &DigestParams, password: &str, method: &str) -> bool {
    let Some(expected) = expected_response(params, REALM, password, method) else {
        return false;
    };
    let given = params.response.to_ascii_lowercase();
    constant_time::verify_slices_are_equal(expected.as_bytes(), given.as_bytes()).is_ok()
}

fn expected_response(
    params: &DigestParams,
    realm: &str,
    password: &str,
    method: &str,
) -> Option<String> {
    let alg = Algorithm::parse(params.algorithm.as_deref())?;
    let ha1 = alg.hex(&format!("{}:{realm}:{password}", params.username));
    let ha2 = alg.hex(&format!("{method}:{}", params.uri));
    match params.qop.as_deref() {
        Some("auth") => {
            let (Some(nc), Some(cnonce)) = (&params.nc, &params.cnonce) else {
                return None;
            };
            Some(alg.hex(&format!("{ha1}:{}:{nc}:{cnonce}:auth:{ha2}", params.nonce)))
        }
        Some(_) => None,
        None => Some(alg.hex(&format!("{ha1}:{}:{ha2}", params.nonce))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(alg: Option<&str>, response: &str) -> DigestParams {
        DigestParams {
            username: "Mufasa".into(),
            realm: REALM.into(),
            nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v".into(),
            uri: "/dir/index.html".into(),
            response: response.into(),
            algorithm: alg.map(str::to_string),
            qop: Some("auth".into()),
            nc: Some("00000001".into()),
            cnonce: Some("f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ".into()),
        }
    }

    /// RFC 7616 §3.9.1's example, both algorithms.
    #[test]
    fn rfc_7616_example_responses() {
        for (alg, response) in [
            (
                "SHA-256",
                "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
            ),
            ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ] {
            let p = params(Some(alg), response);
            let expected = expected_response(&p, "http-auth@example.org", "Circle of Life", "GET");
            assert_eq!(expected.as_deref(), Some(response), "{alg}");
        }
    }

    #[test]
    fn verify_checks_password_method_and_accepts_upper_case_hex() {
        for alg in [Algorithm::Sha256, Algorithm::Md5] {
            let mut p = params(Some(alg.name()), "");
            p.response = expected_response(&p, REALM, "Circle of Life", "GET").unwrap();
            assert!(verify(&p, "Circle of Life", "GET"), "{alg:?}");
            assert!(!verify(&p, "Circle of life", "GET"), "{alg:?}");
            assert!(!verify(&p, "Circle of Life", "POST"), "{alg:?}");
            p.response = p.response.to_ascii_uppercase();
            assert!(verify(&p, "Circle of Life", "GET"), "{alg:?}");
        }
    }

    #[test]
    fn known_md5_vector_from_rfc_2617() {
        // RFC 2617 §3.5: realm testrealm@host.com; recomputed here with the RFC's realm.
        let ha1 = Algorithm::Md5.hex("Mufasa:testrealm@host.com:Circle Of Life");
        assert_eq!(ha1, "939e7578ed9e3c518a452acee763bce9");
        let ha2 = Algorithm::Md5.hex("GET:/dir/index.html");
        assert_eq!(ha2, "39aff3a2bab6126f332b942af96d3366");
        let response = Algorithm::Md5.hex(&format!(
            "{ha1}:dcd98b7102dd2f0e8b11d0f600bfb0c093:00000001:0a4f113b:auth:{ha2}"
        ));
        assert_eq!(response, "6629fae49393a05397450978507c4ef1");
    }

    #[test]
    fn unknown_algorithm_or_qop_is_refused() {
        let p = params(Some("SHA-512-256"), "00");
        assert!(!verify(&p, "Circle of Life", "GET"));
        let mut p = params(None, "00");
        p.qop = Some("auth-int".into());
        assert!(!verify(&p, "Circle of Life", "GET"));
    }

    #[test]
    fn rfc_2069_answers_without_qop_verify() {
        let ha1 = Algorithm::Md5.hex(&format!("Mufasa:{REALM}:pw"));
        let ha2 = Algorithm::Md5.hex("GET:/dir/index.html");
        let mut p = params(None, "");
        p.qop = None;
        p.response = Algorithm::Md5.hex(&format!("{ha1}:{}:{ha2}", p.nonce));
        assert!(verify(&p, "pw", "GET"));
    }

    #[test]
    fn nonces_verify_across_instances_and_go_stale() {
        let a = Nonces::new(b"shared key", 300);
        let b = Nonces::new(b"shared key", 300);
        let other = Nonces::new(b"another key", 300);
        let nonce = a.issue(1_000_000, [7; 8]);
        assert_eq!(b.check(&nonce, 1_000_100), NonceState::Fresh);
        assert_eq!(b.check(&nonce, 1_000_301), NonceState::Stale);
        assert_eq!(other.check(&nonce, 1_000_100), NonceState::Invalid);
        assert_eq!(
            b.check(&nonce, 999_000),
            NonceState::Invalid,
            "from the future"
        );
        let mut tampered = URL_SAFE_NO_PAD.decode(&nonce).unwrap();
        tampered[7] ^= 1;
        assert_eq!(
            b.check(&URL_SAFE_NO_PAD.encode(tampered), 1_000_100),
            NonceState::Invalid
        );
        for junk in ["", "!!", "abc", &"A".repeat(500)] {
            assert_eq!(b.check(junk, 1_000_100), NonceState::Invalid, "{junk}");
        }
        assert_ne!(a.issue(1_000_000, [8; 8]), nonce);
    }

    #[test]
    fn challenges_offer_sha256_first_then_md5() {
        let [first, second] = challenges("n0nce", true);
        assert!(first.starts_with("Digest realm=\"dialtone provisioning\", qop=\"auth\", algorithm=SHA-256, nonce=\"n0nce\""));
        assert!(first.ends_with("stale=true"));
        assert!(second.contains("algorithm=MD5"));
        assert!(!challenges("n", false)[0].contains("stale"));
    }
}
