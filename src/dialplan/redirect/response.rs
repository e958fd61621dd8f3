//! What the redirect listener answers, as header values: the 302's Contacts (one per route, in
//! route order, with decreasing q-values), the refusal codes and the RFC 3326 Reason header.
//! Pure: the listener turns these into bytes with `sip::message::build_response`.

use crate::types::sip_uri::SipUri;

/// Most Contacts one 302 carries; the q-value formula stays strictly decreasing up to 1000.
pub const MAX_CONTACTS: usize = 100;

/// One route as the evaluator gave it: where to send the call and the (translated) number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target<'a> {
    pub gateway_uri: &'a str,
    pub number: &'a str,
}

/// The q-value of the route at `index` (0-based) of `count`: `(count − index) / count`,
/// rounded down to thousandths — 1.0 for the first, strictly decreasing, always above 0.
/// Two routes: 1.0, 0.5; three: 1.0, 0.666, 0.333; four: 1.0, 0.75, 0.5, 0.25.
pub fn q_value(index: usize, count: usize) -> String {
    let count = count.max(1);
    let thousandths = (count.saturating_sub(index) * 1000 / count).max(1);
    if thousandths >= 1000 {
        return "1.0".to_string();
    }
    let text = format!("0.{thousandths:03}");
    let trimmed = text.trim_end_matches('0');
    if trimmed.ends_with('.') {
        format!("{trimmed}0")
    } else {
        trimmed.to_string()
    }
}

/// Escapes a number for the user part of a SIP URI (RFC 3261 §25: unreserved and user-unreserved
/// characters stay, everything else becomes `%XX`).
fn escape_user(number: &str) -> String {
    let mut out = String::with_capacity(number.len());
    for b in number.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()&=+$,;?/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The Contact header values for `targets`, in order: `<sip:NUMBER@host:port;transport=udp>;q=1.0`.
/// A target whose gateway URI does not parse or whose number is empty is left out (and reported
/// in the second value), so one bad gateway does not hide the others.
pub fn contacts(targets: &[Target<'_>]) -> (Vec<String>, usize) {
    let mut usable: Vec<(SipUri, &str)> = Vec::with_capacity(targets.len());
    let mut skipped = 0;
    for target in targets {
        match SipUri::parse(target.gateway_uri) {
            Ok(uri) if !target.number.is_empty() => usable.push((uri, target.number)),
            _ => skipped += 1,
        }
    }
    usable.truncate(MAX_CONTACTS);
    let count = usable.len();
    let values = usable
        .into_iter()
        .enumerate()
        .map(|(i, (mut uri, number))| {
            uri.user = Some(escape_user(number));
            format!("<{uri}>;q={}", q_value(i, count))
        })
        .collect();
    (values, skipped)
}

/// The status a refusal is answered with: the evaluator's code when it is a 4xx–6xx, else 403.
/// (The dial plan model's own codes are 403 denied, 404 no rule, 480 temporarily unavailable,
/// 503 no usable gateway; operators may configure any 4xx–6xx.)
pub fn refusal_code(code: u16) -> u16 {
    if (400..=699).contains(&code) {
        code
    } else {
        403
    }
}

/// An RFC 3326 Reason header value: `SIP;cause=403;text="Premium numbers blocked"`. The text
/// loses control characters and has quotes and backslashes escaped; it is cut at 200 characters.
pub fn reason(code: u16, text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 8);
    for c in text.chars().filter(|c| !c.is_control()).take(200) {
        if c == '"' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    format!("SIP;cause={code};text=\"{quoted}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q_values_start_at_one_and_strictly_decrease() {
        assert_eq!(q_value(0, 1), "1.0");
        assert_eq!(
            (0..2).map(|i| q_value(i, 2)).collect::<Vec<_>>(),
            ["1.0", "0.5"]
        );
        assert_eq!(
            (0..3).map(|i| q_value(i, 3)).collect::<Vec<_>>(),
            ["1.0", "0.666", "0.333"]
        );
        assert_eq!(
            (0..4).map(|i| q_value(i, 4)).collect::<Vec<_>>(),
            ["1.0", "0.75", "0.5", "0.25"]
        );
        let many: Vec<f64> = (0..MAX_CONTACTS)
            .map(|i| q_value(i, MAX_CONTACTS).parse().unwrap())
            .collect();
        assert!(many.windows(2).all(|w| w[0] > w[1]), "{many:?}");
        assert!(many.iter().all(|q| *q > 0.0 && *q <= 1.0));
        assert_eq!(q_value(0, 0), "1.0");
    }

    #[test]
    fn contacts_carry_the_number_the_gateway_and_its_transport_in_order() {
        let (values, skipped) = contacts(&[
            Target {
                gateway_uri: "sip:192.0.2.10:5080;transport=udp",
                number: "+442071234567",
            },
            Target {
                gateway_uri: "sip:[2001:db8::1];transport=tcp",
                number: "442071234567",
            },
            Target {
                gateway_uri: "not a uri",
                number: "+1",
            },
            Target {
                gateway_uri: "sip:gw.example.invalid",
                number: "*99#",
            },
        ]);
        assert_eq!(skipped, 1);
        assert_eq!(
            values,
            [
                "<sip:+442071234567@192.0.2.10:5080;transport=udp>;q=1.0",
                "<sip:442071234567@[2001:db8::1];transport=tcp>;q=0.666",
                "<sip:*99%23@gw.example.invalid>;q=0.333",
            ]
        );
    }

    #[test]
    fn contacts_are_capped() {
        let targets: Vec<Target<'_>> = (0..150)
            .map(|_| Target {
                gateway_uri: "sip:192.0.2.1",
                number: "1",
            })
            .collect();
        let (values, skipped) = contacts(&targets);
        assert_eq!(values.len(), MAX_CONTACTS);
        assert_eq!(skipped, 0);
    }

    #[test]
    fn refusal_codes_pass_4xx_to_6xx_only() {
        for code in [403, 404, 480, 503, 486, 600, 699] {
            assert_eq!(refusal_code(code), code);
        }
        for code in [0, 100, 200, 302, 399, 700] {
            assert_eq!(refusal_code(code), 403);
        }
    }

    #[test]
    fn reason_text_is_quoted_safely() {
        assert_eq!(
            reason(403, "Premium blocked"),
            "SIP;cause=403;text=\"Premium blocked\""
        );
        assert_eq!(
            reason(404, "a \"b\" \\c\r\nd"),
            "SIP;cause=404;text=\"a \\\"b\\\" \\\\cd\""
        );
        assert_eq!(reason(403, &"x".repeat(500)).len(), 200 + 21);
    }
}
