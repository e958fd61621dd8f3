//! The `Authorization` header of a provisioning request, parsed once into what it claims:
//! Basic user and password, or the parameters of a Digest answer. Anything malformed is
//! `None`, which the server treats like no credentials at all. Pure.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Longest `Authorization` header looked at; phones send a few hundred bytes.
const MAX_LEN: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorization {
    Basic { username: String, password: String },
    Digest(DigestParams),
}

impl Authorization {
    pub fn username(&self) -> &str {
        match self {
            Authorization::Basic { username, .. } => username,
            Authorization::Digest(p) => &p.username,
        }
    }
}

/// The parameters of a Digest answer (RFC 7616 §3.4) that the check needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestParams {
    pub username: String,
    pub realm: String,
    pub nonce: String,
    pub uri: String,
    pub response: String,
    pub algorithm: Option<String>,
    pub qop: Option<String>,
    pub nc: Option<String>,
    pub cnonce: Option<String>,
}

pub fn parse(header: &str) -> Option<Authorization> {
    if header.len() > MAX_LEN {
        return None;
    }
    let (scheme, rest) = header.trim().split_once(' ')?;
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = STANDARD.decode(rest.trim()).ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (username, password) = text.split_once(':')?;
        return Some(Authorization::Basic {
            username: username.to_string(),
            password: password.to_string(),
        });
    }
    if !scheme.eq_ignore_ascii_case("digest") {
        return None;
    }
    let mut username = None;
    let mut realm = None;
    let mut nonce = None;
    let mut uri = None;
    let mut response = None;
    let mut algorithm = None;
    let mut qop = None;
    let mut nc = None;
    let mut cnonce = None;
    for (name, value) in params(rest)? {
        let slot = match name.to_ascii_lowercase().as_str() {
            "username" => &mut username,
            "realm" => &mut realm,
            "nonce" => &mut nonce,
            "uri" => &mut uri,
            "response" => &mut response,
            "algorithm" => &mut algorithm,
            "qop" => &mut qop,
            "nc" => &mut nc,
            "cnonce" => &mut cnonce,
            // `username*` (RFC 8187 encoding) and `userhash=true` are not offered, so an
            // answer using them cannot be checked.
            "username*" => return None,
            "userhash" if value.eq_ignore_ascii_case("true") => return None,
            _ => continue,
        };
        if slot.replace(value).is_some() {
            return None;
        }
    }
    Some(Authorization::Digest(DigestParams {
        username: username?,
        realm: realm?,
        nonce: nonce?,
        uri: uri?,
        response: response?,
        algorithm,
        qop,
        nc,
        cnonce,
    }))
}

/// `name=token` / `name="quoted \"string\""` pairs separated by commas.
fn params(text: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        if chars.peek().is_none() {
            return Some(out);
        }
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            name.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') || name.is_empty() {
            return None;
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => value.push(chars.next()?),
                    c => value.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' || c.is_whitespace() {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        out.push((name, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_basic() {
        assert_eq!(
            parse("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="),
            Some(Authorization::Basic {
                username: "Aladdin".into(),
                password: "open sesame".into()
            })
        );
        assert_eq!(parse("basic bm9jb2xvbg=="), None, "no colon");
        assert_eq!(parse("Basic !!!"), None);
    }

    #[test]
    fn parses_digest_as_curl_and_phones_send_it() {
        let header = r#"Digest username="0015651234ab", realm="dialtone provisioning", nonce="abc-_", uri="/y000000000044.cfg?x=1", cnonce="ZTg4", nc=00000001, qop=auth, response="deadbeef", algorithm=SHA-256"#;
        let Some(Authorization::Digest(p)) = parse(header) else {
            panic!("not digest");
        };
        assert_eq!(p.username, "0015651234ab");
        assert_eq!(p.uri, "/y000000000044.cfg?x=1");
        assert_eq!(p.nc.as_deref(), Some("00000001"));
        assert_eq!(p.qop.as_deref(), Some("auth"));
        assert_eq!(p.algorithm.as_deref(), Some("SHA-256"));
        let escaped = r#"Digest username="a\"b",realm="r",nonce="n",uri="/",response="x""#;
        let Some(Authorization::Digest(p)) = parse(escaped) else {
            panic!("not digest");
        };
        assert_eq!(p.username, "a\"b");
        assert_eq!(p.algorithm, None);
    }

    #[test]
    fn malformed_digest_is_none() {
        for bad in [
            r#"Digest realm="r", nonce="n", uri="/", response="x""#,
            r#"Digest username="u", username="v", realm="r", nonce="n", uri="/", response="x""#,
            r#"Digest username="u, realm="r""#,
            r#"Digest username*=UTF-8''u, realm="r", nonce="n", uri="/", response="x""#,
            r#"Digest =x"#,
            "Bearer abc",
            "Digest",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        assert_eq!(parse(&format!("Basic {}", "A".repeat(5000))), None);
    }
}
