//! Checks of device and provisioning-settings input. Every error names its field (`lines[2].registrar:
//! …`); values come back normalised. Pure: no pool, no socket, no clock.

use super::model::{Line, LineTransport, Variables};
use crate::error::{Error, Result};
use crate::types::sip_uri::SipUri;
use crate::types::text::quote_prefix;
use serde_json::Value;
use std::ops::RangeInclusive;

/// Lines one device may have.
pub const LINES: RangeInclusive<usize> = 1..=16;
/// Template variables one device or organization may set.
pub const MAX_VARIABLES: usize = 100;
/// Longest string value of a template variable.
pub const MAX_VARIABLE_CHARS: usize = 1024;
/// Length of a generated line password.
pub const LINE_PASSWORD_LEN: usize = 20;
/// Length of a generated provisioning password.
pub const PROVISIONING_PASSWORD_LEN: usize = 24;
/// Longest `host[:port]` as given, white space around included (a DNS name has at most 253).
pub const MAX_HOST_CHARS: usize = 253;
/// Longest URL as given, white space around included.
pub const MAX_URL_CHARS: usize = 2048;

/// A model name such as `T54W`, `VVX 410` or `SPA504G`: 1-64 letters, digits, spaces and
/// `- _ . + / ( )`.
pub fn model(text: &str) -> Result<String> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > 64 {
        return Err(Error::field("model", "must be 1-64 characters"));
    }
    if !text.chars().all(|c| {
        c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.' | '+' | '/' | '(' | ')')
    }) {
        return Err(Error::field(
            "model",
            "may contain only letters, digits, spaces and - _ . + / ( )",
        ));
    }
    Ok(text.to_string())
}

/// A SIP user name (line user, auth user) or provisioning user name: 1-64 letters, digits and
/// `. _ - + * ! ~ @`, nothing that needs escaping in a URI or a phone's file.
pub fn account(field: &str, text: &str) -> Result<String> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > 64 {
        return Err(Error::field(field, "must be 1-64 characters"));
    }
    if !text.chars().all(|c| {
        c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '*' | '!' | '~' | '@')
    }) {
        return Err(Error::field(
            field,
            "may contain only letters, digits and . _ - + * ! ~ @",
        ));
    }
    Ok(text.to_string())
}

/// A given password: 8-128 printable ASCII characters, no spaces (phones' config formats and
/// keypads cope with nothing else).
pub fn password(field: &str, text: &str) -> Result<String> {
    let len = text.chars().count();
    if !(8..=128).contains(&len) || !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::field(
            field,
            "must be 8-128 printable ASCII characters without spaces",
        ));
    }
    Ok(text.to_string())
}

/// A line's display name: at most 64 characters, no control characters.
pub fn display_name(field: &str, text: &str) -> Result<String> {
    let text = text.trim();
    if text.chars().count() > 64 {
        return Err(Error::field(field, "must be at most 64 characters"));
    }
    if text.chars().any(char::is_control) {
        return Err(Error::field(field, "must not contain control characters"));
    }
    Ok(text.to_string())
}

/// At most `max` characters as given (before trimming), as the document's `maxLength` says.
fn at_most(field: &str, text: &str, max: usize) -> Result<()> {
    if text.chars().count() > max {
        return Err(Error::field(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(())
}

/// `host[:port]` (a DNS name or an address, IPv6 in brackets), normalised (lower-case name).
pub fn host_port(field: &str, text: &str) -> Result<String> {
    at_most(field, text, MAX_HOST_CHARS)?;
    let text = text.trim();
    if text.contains(['@', ';', '/', '?', '#']) || text.is_empty() {
        return Err(Error::field(
            field,
            format!("must be host[:port], got {}", quote_prefix(text)),
        ));
    }
    SipUri::parse(&format!("sip:{text}"))
        .map(|uri| uri.host_port())
        .map_err(|_| {
            Error::field(
                field,
                format!("must be host[:port], got {}", quote_prefix(text)),
            )
        })
}

/// A host name or address without a port.
pub fn host(field: &str, text: &str) -> Result<String> {
    at_most(field, text, MAX_HOST_CHARS)?;
    let text = text.trim();
    let err = || {
        Error::field(
            field,
            format!("must be a host name or address, got {}", quote_prefix(text)),
        )
    };
    if text.contains(['@', ';', '/', '?', '#']) || text.is_empty() {
        return Err(err());
    }
    match SipUri::parse(&format!("sip:{text}")) {
        Ok(uri) if uri.port.is_none() => Ok(uri.host_port()),
        _ => Err(err()),
    }
}

/// A SIP URI (`sip:user@host[:port][;transport=…]`), normalised.
pub fn sip_uri(field: &str, text: &str) -> Result<String> {
    SipUri::parse(text)
        .map(|uri| uri.to_string())
        .map_err(|e| Error::field(field, e))
}

/// A UI language tag such as `en`, `de-DE` or `pt_BR`: 2-35 letters, digits, `-` and `_`.
pub fn language(text: &str) -> Result<String> {
    let text = text.trim();
    let len = text.chars().count();
    if !(2..=35).contains(&len)
        || !text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(Error::field(
            "language",
            format!(
                "must be a language tag such as en or de-DE, got {}",
                quote_prefix(text)
            ),
        ));
    }
    Ok(text.to_string())
}

/// An `http://` or `https://` URL with a valid host, no spaces or control characters.
pub fn http_url(field: &str, text: &str) -> Result<String> {
    at_most(field, text, MAX_URL_CHARS)?;
    let text = text.trim();
    let err = |why: &str| {
        Err(Error::field(
            field,
            format!("{why}, got {}", quote_prefix(text)),
        ))
    };
    let lower = text.to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &text[8..]
    } else if lower.starts_with("http://") {
        &text[7..]
    } else {
        return err("must be an http:// or https:// URL");
    };
    if text.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return err("must not contain spaces or control characters");
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host_port(field, hostport).is_err() {
        return err("must name a valid host");
    }
    Ok(text.to_string())
}

/// A flat object of template variables: names `[a-z0-9_.]{1,64}`, values strings (at most
/// 1024 characters, no control characters), numbers or booleans; at most 100 of them.
pub fn variables(field: &str, input: &Variables) -> Result<Variables> {
    if input.len() > MAX_VARIABLES {
        return Err(Error::field(
            field,
            format!("at most {MAX_VARIABLES} variables, got {}", input.len()),
        ));
    }
    for (name, value) in input {
        let valid_name = (1..=64).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.');
        if !valid_name {
            return Err(Error::field(
                field,
                format!(
                    "name {} must be 1-64 of a-z, 0-9, _ and .",
                    quote_prefix(name)
                ),
            ));
        }
        let here = format!("{field}.{name}");
        match value {
            Value::String(text) => {
                if text.chars().count() > MAX_VARIABLE_CHARS {
                    return Err(Error::field(
                        &here,
                        format!("must be at most {MAX_VARIABLE_CHARS} characters"),
                    ));
                }
                if text.chars().any(char::is_control) {
                    return Err(Error::field(&here, "must not contain control characters"));
                }
            }
            Value::Number(_) | Value::Bool(_) => {}
            _ => {
                return Err(Error::field(
                    &here,
                    "must be a string, a number or a boolean",
                ));
            }
        }
    }
    Ok(input.clone())
}

/// A line as a request gives it. An absent password is generated for a new line and kept for
/// an existing one (matched by position).
#[derive(Debug, Clone, Default)]
pub struct LineInput {
    pub username: String,
    pub auth_user: Option<String>,
    pub password: Option<String>,
    pub display_name: Option<String>,
    pub registrar: String,
    pub proxy: Option<String>,
    pub transport: Option<LineTransport>,
}

/// A [`LineInput`] checked and normalised; the password still in clear, if one was given.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedLine {
    pub username: String,
    pub auth_user: String,
    pub password: Option<String>,
    pub display_name: String,
    pub registrar: String,
    pub proxy: Option<String>,
    pub transport: LineTransport,
}

impl ParsedLine {
    /// `prefix` names the line in errors (`lines[2].`).
    fn parse(prefix: &str, input: &LineInput) -> Result<Self> {
        let name = |f: &str| format!("{prefix}{f}");
        let username = account(&name("username"), &input.username)?;
        let auth_user = match &input.auth_user {
            Some(a) => account(&name("auth_user"), a)?,
            None => username.clone(),
        };
        Ok(Self {
            username,
            auth_user,
            password: input
                .password
                .as_deref()
                .map(|p| password(&name("password"), p))
                .transpose()?,
            display_name: display_name(
                &name("display_name"),
                input.display_name.as_deref().unwrap_or(""),
            )?,
            registrar: host_port(&name("registrar"), &input.registrar)?,
            proxy: input
                .proxy
                .as_deref()
                .map(|p| host_port(&name("proxy"), p))
                .transpose()?,
            transport: input.transport.unwrap_or_default(),
        })
    }
}

/// Checks a device's whole line list: 1-16 lines, each valid.
pub fn lines(inputs: &[LineInput]) -> Result<Vec<ParsedLine>> {
    if !LINES.contains(&inputs.len()) {
        return Err(Error::field(
            "lines",
            format!(
                "a device has {}-{} lines, got {}",
                LINES.start(),
                LINES.end(),
                inputs.len()
            ),
        ));
    }
    inputs
        .iter()
        .enumerate()
        .map(|(i, input)| ParsedLine::parse(&format!("lines[{i}]."), input))
        .collect()
}

/// The encrypted password each new line gets: the given one (encrypted by `seal`), else the
/// existing line's at the same position, else a generated one. Returns (stored, clear-if-known).
pub fn line_password(
    parsed: &ParsedLine,
    existing: Option<&Line>,
    seal: &dyn Fn(&str) -> String,
) -> (String, Option<String>) {
    match (&parsed.password, existing) {
        (Some(clear), _) => (seal(clear), Some(clear.clone())),
        (None, Some(old)) => (old.password.clone(), None),
        (None, None) => {
            let clear = crate::system::secrets::generate_password(LINE_PASSWORD_LEN);
            (seal(&clear), Some(clear))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn line(registrar: &str) -> LineInput {
        LineInput {
            username: "201".into(),
            registrar: registrar.into(),
            ..Default::default()
        }
    }

    #[test]
    fn lines_default_and_name_the_bad_entry() {
        let parsed = lines(&[line("PBX.Example.com:5060")]).unwrap();
        assert_eq!(parsed[0].auth_user, "201");
        assert_eq!(parsed[0].registrar, "pbx.example.com:5060");
        assert_eq!(parsed[0].transport, LineTransport::Udp);
        assert_eq!(parsed[0].password, None);

        let err = lines(&[line("pbx.example.com"), line("sip:pbx@x")])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("lines[1].registrar: "), "{err}");
        let mut bad = line("pbx.example.com");
        bad.password = Some("short".into());
        let err = lines(&[bad]).unwrap_err().to_string();
        assert!(err.starts_with("lines[0].password: "), "{err}");
        let mut bad = line("pbx.example.com");
        bad.username = "a b".into();
        assert!(
            lines(&[bad])
                .unwrap_err()
                .to_string()
                .starts_with("lines[0].username: ")
        );
        assert!(lines(&[]).unwrap_err().to_string().starts_with("lines: "));
        let many: Vec<LineInput> = (0..17).map(|_| line("pbx.example.com")).collect();
        assert!(lines(&many).unwrap_err().to_string().starts_with("lines: "));
        assert_eq!(lines(&many[..16]).unwrap().len(), 16);
    }

    #[test]
    fn passwords_are_kept_given_or_generated() {
        let seal = |clear: &str| format!("sealed({clear})");
        let existing = Line {
            position: 0,
            username: "201".into(),
            auth_user: "201".into(),
            password: "sealed(old)".into(),
            display_name: String::new(),
            registrar: "pbx.example.com".into(),
            proxy: None,
            transport: crate::devices::model::LineTransport::Udp,
        };
        let mut parsed = lines(&[line("pbx.example.com")]).unwrap().remove(0);
        assert_eq!(
            line_password(&parsed, Some(&existing), &seal),
            ("sealed(old)".to_string(), None)
        );
        let (stored, clear) = line_password(&parsed, None, &seal);
        let clear = clear.unwrap();
        assert_eq!(clear.len(), LINE_PASSWORD_LEN);
        assert_eq!(stored, format!("sealed({clear})"));
        parsed.password = Some("given-password".into());
        assert_eq!(
            line_password(&parsed, Some(&existing), &seal),
            (
                "sealed(given-password)".to_string(),
                Some("given-password".to_string())
            )
        );
    }

    #[test]
    fn variables_are_flat_and_named_safely() {
        let ok: Variables =
            serde_json::from_value(json!({"a.b_c1": "x", "n": 3, "f": 1.5, "b": true})).unwrap();
        assert_eq!(variables("variables", &ok).unwrap(), ok);
        for (bad, needle) in [
            (json!({"Upper": 1}), "variables: name"),
            (json!({"sp ace": 1}), "variables: name"),
            (json!({"": 1}), "variables: name"),
            (json!({"k": null}), "variables.k: "),
            (json!({"k": [1]}), "variables.k: "),
            (json!({"k": {"x": 1}}), "variables.k: "),
            (json!({"k": "a\nb"}), "variables.k: "),
            (json!({"k": "x".repeat(1025)}), "variables.k: "),
        ] {
            let input: Variables = serde_json::from_value(bad.clone()).unwrap();
            let err = variables("variables", &input).unwrap_err().to_string();
            assert!(err.starts_with(needle), "{bad}: {err}");
        }
        let many: Variables = (0..101).map(|i| (format!("k{i}"), json!(i))).collect();
        assert!(variables("variables", &many).is_err());
        let long_name: Variables = [("a".repeat(65), json!(1))].into_iter().collect();
        assert!(variables("variables", &long_name).is_err());
    }

    #[test]
    fn hosts_urls_and_names() {
        assert_eq!(
            host_port("r", "[2001:db8::1]:5061").unwrap(),
            "[2001:db8::1]:5061"
        );
        assert_eq!(host_port("r", "192.0.2.1").unwrap(), "192.0.2.1");
        for bad in ["", "a b", "x@y", "h:0", "h;transport=tcp", "http://x"] {
            assert!(host_port("r", bad).is_err(), "{bad}");
        }
        assert_eq!(host("ntp_server", "Pool.NTP.org").unwrap(), "pool.ntp.org");
        assert!(host("ntp_server", "pool.ntp.org:123").is_err());
        assert!(http_url("u", "https://fw.example.com/yealink/").is_ok());
        assert!(http_url("u", "HTTP://192.0.2.1:8080/fw?x=1").is_ok());
        for bad in [
            "ftp://x",
            "https://",
            "https://bad host/",
            "https://x/a\nb",
            "example.com",
        ] {
            assert!(http_url("u", bad).is_err(), "{bad}");
        }
        assert_eq!(language(" de-DE ").unwrap(), "de-DE");
        assert!(language("x").is_err());
        assert!(language("en us").is_err());
        assert_eq!(model(" VVX 410 ").unwrap(), "VVX 410");
        assert!(model("").is_err());
        assert!(model("T54W<script>").is_err());
        assert_eq!(
            sip_uri("contact", "sip:201@192.0.2.5:5062").unwrap(),
            "sip:201@192.0.2.5:5062"
        );
        assert!(
            sip_uri("contact", "tel:+15551234")
                .unwrap_err()
                .to_string()
                .starts_with("contact: ")
        );
        assert!(password("p", "has space1").is_err());
        assert!(password("p", "pässwörd1").is_err());
        assert!(account("u", "alice@example").is_ok());
    }
}
