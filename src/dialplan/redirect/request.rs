//! What the redirect listener reads from an INVITE: the dialled number (the Request-URI's user
//! part), the caller (P-Asserted-Identity's user part, else From's), and the organization claim
//! (a header or a Request-URI parameter). Pure, tolerant string work over the scanned message.

use crate::sip::message::Scan;

/// The fields of an INVITE the dial plan needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    /// The Request-URI's user part, unescaped (empty when it has none).
    pub to: String,
    /// The asserted or From user part, unescaped (empty when there is none).
    pub from: String,
    /// The organization claim's raw value, if the configured header or parameter is present.
    pub claim: Option<String>,
}

/// Splits a `sip:`/`sips:`/`tel:` URI into (user part, host-and-parameters). The user part ends
/// at `@`; a URI without `@` has no user (except `tel:`, which is all number).
fn split_uri(uri: &str) -> (Option<&str>, &str) {
    let uri = uri.trim();
    let lower = uri.get(..5).unwrap_or(uri).to_ascii_lowercase();
    if lower.starts_with("tel:") {
        let rest = &uri[4..];
        let number = rest.split(';').next().unwrap_or(rest);
        return (Some(number), "");
    }
    let rest = if lower.starts_with("sips:") {
        &uri[5..]
    } else if lower.starts_with("sip:") {
        &uri[4..]
    } else {
        uri
    };
    match rest.rfind('@') {
        Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
        None => (None, rest),
    }
}

/// `%XX` escapes decoded; an invalid escape stays as written.
fn unescape(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = text.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The user part of a URI without user parameters (`;phone-context=…`), unescaped.
pub fn uri_user(uri: &str) -> String {
    match split_uri(uri).0 {
        Some(user) => unescape(user.split(';').next().unwrap_or(user)),
        None => String::new(),
    }
}

/// A URI parameter's value (`;name=value` after the host), matched case-insensitively.
pub fn uri_param(uri: &str, name: &str) -> Option<String> {
    let (_, host_and_params) = split_uri(uri);
    let params = host_and_params.split('?').next().unwrap_or("");
    params.split(';').skip(1).find_map(|p| {
        let (n, v) = p.split_once('=').unwrap_or((p, ""));
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| unescape(v.trim()))
    })
}

/// The URI of a name-addr or addr-spec header value (`"Alice" <sip:a@h>;tag=1` → `sip:a@h`).
pub fn header_uri(value: &str) -> &str {
    let value = value.trim();
    // A quoted display name may itself hold `<`; look after it.
    let start = if value.starts_with('"') {
        let mut escaped = false;
        value
            .char_indices()
            .skip(1)
            .find(|&(_, c)| {
                let end = c == '"' && !escaped;
                escaped = c == '\\' && !escaped;
                end
            })
            .map_or(value.len(), |(i, _)| i + 1)
    } else {
        0
    };
    let value = &value[start..];
    if let Some(open) = value.find('<')
        && let Some(close) = value[open..].find('>')
    {
        return &value[open + 1..open + close];
    }
    value.split(';').next().unwrap_or(value).trim()
}

/// The Request-URI of a request line.
pub fn request_uri(scan: &Scan) -> &str {
    scan.start_line.split(' ').nth(1).unwrap_or("")
}

/// Reads a scanned INVITE. `org_header` (lower-case, empty: off) is looked up first, then
/// `org_param` (empty: off) on the Request-URI.
pub fn read(scan: &Scan, org_header: &str, org_param: &str) -> Invite {
    let ruri = request_uri(scan);
    let caller = scan
        .get("p-asserted-identity")
        .map(|v| v.split(',').next().unwrap_or(v))
        .or_else(|| scan.get("from"))
        .map(|v| uri_user(header_uri(v)))
        .unwrap_or_default();
    let claim = (!org_header.is_empty())
        .then(|| scan.get(org_header).map(str::to_string))
        .flatten()
        .or_else(|| {
            (!org_param.is_empty())
                .then(|| uri_param(ruri, org_param))
                .flatten()
        });
    Invite {
        to: uri_user(ruri),
        from: caller,
        claim,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message::scan;

    fn invite(ruri: &str, extra: &str) -> Scan {
        let text = format!(
            "INVITE {ruri} SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\nFrom: \"Alice\" <sip:+14155550100@pbx.example.invalid>;tag=a\r\nTo: <{ruri}>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n{extra}\r\n"
        );
        scan(text.as_bytes()).unwrap()
    }

    #[test]
    fn numbers_come_from_the_request_uri_and_from_or_the_asserted_identity() {
        let call = read(
            &invite("sip:+442071234567@192.0.2.1:5070", ""),
            "x-dialtone-org",
            "dialtone_org",
        );
        assert_eq!(call.to, "+442071234567");
        assert_eq!(call.from, "+14155550100");
        assert_eq!(call.claim, None);
        let call = read(
            &invite(
                "sip:%2B4420;phone-context=x@192.0.2.1;user=phone",
                "P-Asserted-Identity: <sip:+15550001111@sbc.example.invalid>, <tel:+15550001111>\r\n",
            ),
            "",
            "",
        );
        assert_eq!(call.to, "+4420");
        assert_eq!(call.from, "+15550001111");
        assert_eq!(uri_user("tel:+4420;phone-context=+44"), "+4420");
        assert_eq!(uri_user("sip:192.0.2.1"), "");
        assert_eq!(uri_user("sip:%zz@h"), "%zz");
    }

    #[test]
    fn the_header_claim_comes_before_the_parameter() {
        let s = invite(
            "sip:100@192.0.2.1;transport=udp;Dialtone_Org=7",
            "X-Dialtone-Org: 42\r\n",
        );
        assert_eq!(
            read(&s, "x-dialtone-org", "dialtone_org").claim.as_deref(),
            Some("42")
        );
        assert_eq!(read(&s, "", "dialtone_org").claim.as_deref(), Some("7"));
        assert_eq!(
            read(&s, "x-other", "dialtone_org").claim.as_deref(),
            Some("7")
        );
        assert_eq!(read(&s, "", "").claim, None);
        assert_eq!(uri_param("sip:1@h;a;b=2?x=y;c=3", "c"), None);
        assert_eq!(uri_param("sip:1@h;a;b=2", "a").as_deref(), Some(""));
    }

    #[test]
    fn header_uris_are_found_in_name_addrs_and_addr_specs() {
        assert_eq!(header_uri("\"A <b>\" <sip:a@h>;tag=1"), "sip:a@h");
        assert_eq!(header_uri("sip:a@h;tag=1"), "sip:a@h");
        assert_eq!(header_uri("<sip:a@h"), "<sip:a@h");
    }
}
