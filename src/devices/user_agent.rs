//! What a phone's HTTP User-Agent says about it: vendor, model, firmware and, where the vendor
//! puts it there, the MAC. Each vendor has its own shape (see `shared/reference/phones.md`);
//! anything else gives an empty answer. Pure, bounded (only the first 512 bytes are read) and
//! never panics on garbage.

use crate::types::{Mac, Vendor};

/// Longest User-Agent prefix looked at.
const MAX_LEN: usize = 512;

/// What the User-Agent told (every part optional).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserAgent {
    pub vendor: Option<Vendor>,
    pub model: Option<String>,
    pub firmware: Option<String>,
    pub mac: Option<Mac>,
}

/// Parses a User-Agent header value.
pub fn parse(ua: &str) -> UserAgent {
    let ua = bounded(ua);
    let lower = ua.to_ascii_lowercase();
    if lower.starts_with("yealink") {
        trailing_mac(ua, Vendor::Yealink, &["sip-", "sip ", "vp-"])
    } else if lower.starts_with("fanvil") {
        trailing_mac(ua, Vendor::Fanvil, &[])
    } else if lower.starts_with("grandstream") {
        grandstream(ua)
    } else if lower.contains("polycom") || lower.contains("filetransport poly") {
        polycom(ua)
    } else if lower.starts_with("cisco") || lower.starts_with("linksys") {
        cisco(ua)
    } else if lower.contains("snom") {
        snom(ua)
    } else {
        UserAgent::default()
    }
}

/// The first `MAX_LEN` bytes, cut at a character boundary.
fn bounded(ua: &str) -> &str {
    if ua.len() <= MAX_LEN {
        return ua;
    }
    let mut end = MAX_LEN;
    while !ua.is_char_boundary(end) {
        end -= 1;
    }
    &ua[..end]
}

/// Keeps a short token of printable ASCII (what we store as model or firmware).
fn token(text: &str) -> Option<String> {
    let text = text.trim_matches(|c: char| c == ',' || c == ';' || c.is_whitespace());
    (!text.is_empty() && text.len() <= 64 && text.bytes().all(|b| b.is_ascii_graphic()))
        .then(|| text.to_string())
}

/// A MAC in any notation, but only as a whole token of 12 hex digits (with or without `:`).
fn mac_token(text: &str) -> Option<Mac> {
    let text = text.trim_matches(|c: char| matches!(c, '(' | ')' | ',' | ';'));
    let digits = text.chars().filter(|c| *c != ':' && *c != '-').count();
    (digits == 12).then(|| Mac::parse(text).ok()).flatten()
}

/// A version such as `58.80.0.25`, `1.0.7.97` or `7.6.2b`: starts with a digit, has a dot.
fn looks_like_version(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_digit()) && text.contains('.')
}

/// `Vendor MODEL… FIRMWARE MAC` (Yealink, Fanvil): model words up to the version, MAC last.
fn trailing_mac(ua: &str, vendor: Vendor, model_prefixes: &[&str]) -> UserAgent {
    let words: Vec<&str> = ua.split_whitespace().skip(1).collect();
    let mac = words.last().and_then(|w| mac_token(w));
    let version_at = words.iter().position(|w| looks_like_version(w));
    let model_words = &words[..version_at.unwrap_or(words.len().min(1))];
    let mut model = model_words.join(" ");
    for prefix in model_prefixes {
        if let Some(head) = model.get(..prefix.len())
            && head.eq_ignore_ascii_case(prefix)
            && model.len() > prefix.len()
        {
            model = model[prefix.len()..].to_string();
        }
    }
    UserAgent {
        vendor: Some(vendor),
        model: token(&model).filter(|m| mac_token(m).is_none()),
        firmware: version_at.and_then(|i| token(words[i])),
        mac,
    }
}

/// `Grandstream Model HW GXP2135 SW 1.0.7.97 DevId 000b828aa872`.
fn grandstream(ua: &str) -> UserAgent {
    let words: Vec<&str> = ua.split_whitespace().collect();
    let after = |key: &str| {
        words
            .iter()
            .position(|w| w.eq_ignore_ascii_case(key))
            .and_then(|i| words.get(i + 1))
            .copied()
    };
    let model = after("HW").or_else(|| {
        // `Grandstream GXP2000 1.2.5.3`: the model right after the name.
        words
            .get(1)
            .copied()
            .filter(|w| !w.eq_ignore_ascii_case("model"))
    });
    UserAgent {
        vendor: Some(Vendor::Grandstream),
        model: model.and_then(token),
        firmware: after("SW")
            .or_else(|| words.get(2).copied().filter(|w| looks_like_version(w)))
            .and_then(token),
        mac: after("DevId").and_then(mac_token),
    }
}

/// `FileTransport PolycomVVX-VVX_410-UA/5.9.5.0614` (no MAC: Poly puts it in the path).
fn polycom(ua: &str) -> UserAgent {
    let product = ua
        .split_whitespace()
        .find(|w| w.to_ascii_lowercase().starts_with("poly") && w.contains("-UA/"));
    let Some(product) = product else {
        return UserAgent {
            vendor: Some(Vendor::Polycom),
            ..Default::default()
        };
    };
    let (name, firmware) = product.split_once("-UA/").unwrap_or((product, ""));
    // `PolycomVVX-VVX_410`: the family, then the model.
    let model = name.split_once('-').map_or(name, |(_, model)| model);
    UserAgent {
        vendor: Some(Vendor::Polycom),
        model: token(model),
        firmware: token(firmware),
        mac: None,
    }
}

/// `Cisco/SPA504G-7.6.2b (001122334455)(CCQ…)`, `Cisco-CP-8841-3PCC/11.3.1 (00562b043615)`.
fn cisco(ua: &str) -> UserAgent {
    let first = ua.split_whitespace().next().unwrap_or("");
    let (model, firmware) = if let Some((_, rest)) = first.split_once('/')
        && (first.starts_with("Cisco/") || first.starts_with("Linksys/"))
    {
        // `SPA504G-7.6.2b`: the model, a dash, the firmware.
        rest.split_once('-').unwrap_or((rest, ""))
    } else {
        // `Cisco-CP-8841-3PCC/11.3.1`
        let rest = first.split_once('-').map_or("", |(_, rest)| rest);
        rest.split_once('/').unwrap_or((rest, ""))
    };
    let mac = ua.split(['(', ')']).skip(1).step_by(2).find_map(mac_token);
    UserAgent {
        vendor: Some(Vendor::Cisco),
        model: token(model),
        firmware: token(firmware),
        mac,
    }
}

/// `Mozilla/4.0 (compatible; snomD785-SIP 10.1.169.16 1.1.3-s 00041396D9B4 …)`.
fn snom(ua: &str) -> UserAgent {
    let words: Vec<&str> = ua
        .split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | ';'))
        .filter(|w| !w.is_empty())
        .collect();
    let at = words
        .iter()
        .position(|w| w.to_ascii_lowercase().starts_with("snom"));
    let Some(at) = at else {
        return UserAgent::default();
    };
    let product = words[at];
    let model = product
        .get(4..)
        .map(|m| m.strip_suffix("-SIP").unwrap_or(m))
        .filter(|m| !m.is_empty());
    UserAgent {
        vendor: Some(Vendor::Snom),
        model: model.and_then(token),
        firmware: words
            .get(at + 1)
            .filter(|w| looks_like_version(w))
            .and_then(|w| token(w)),
        mac: words[at + 1..].iter().find_map(|w| mac_token(w)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ua(vendor: Vendor, model: &str, firmware: Option<&str>, mac: Option<&str>) -> UserAgent {
        UserAgent {
            vendor: Some(vendor),
            model: Some(model.into()),
            firmware: firmware.map(Into::into),
            mac: mac.map(|m| Mac::parse(m).unwrap()),
        }
    }

    #[test]
    fn every_vendor_shape() {
        for (text, want) in [
            (
                "Yealink SIP-T56A 58.80.0.25 001565f429a4",
                ua(
                    Vendor::Yealink,
                    "T56A",
                    Some("58.80.0.25"),
                    Some("001565f429a4"),
                ),
            ),
            (
                "Yealink SIP-T54W 96.86.0.10 00:15:65:12:34:ab",
                ua(
                    Vendor::Yealink,
                    "T54W",
                    Some("96.86.0.10"),
                    Some("0015651234ab"),
                ),
            ),
            (
                "Yealink W52P 25.81.0.10 001565aabbcc",
                ua(
                    Vendor::Yealink,
                    "W52P",
                    Some("25.81.0.10"),
                    Some("001565aabbcc"),
                ),
            ),
            (
                "FileTransport PolycomVVX-VVX_410-UA/5.9.5.0614",
                ua(Vendor::Polycom, "VVX_410", Some("5.9.5.0614"), None),
            ),
            (
                "FileTransport PolycomSoundPointIP-SPIP_650-UA/4.0.15.1009",
                ua(Vendor::Polycom, "SPIP_650", Some("4.0.15.1009"), None),
            ),
            (
                "Grandstream Model HW GXP2135 SW 1.0.7.97 DevId 000b828aa872",
                ua(
                    Vendor::Grandstream,
                    "GXP2135",
                    Some("1.0.7.97"),
                    Some("000b828aa872"),
                ),
            ),
            (
                "Grandstream GXP2000 1.2.5.3",
                ua(Vendor::Grandstream, "GXP2000", Some("1.2.5.3"), None),
            ),
            (
                "Cisco/SPA504G-7.6.2b (001122334455)(CCQ162206CX)",
                ua(
                    Vendor::Cisco,
                    "SPA504G",
                    Some("7.6.2b"),
                    Some("001122334455"),
                ),
            ),
            (
                "Cisco-CP-8841-3PCC/11.3.1 (00562b043615)",
                ua(
                    Vendor::Cisco,
                    "CP-8841-3PCC",
                    Some("11.3.1"),
                    Some("00562b043615"),
                ),
            ),
            (
                "Mozilla/4.0 (compatible; snomD785-SIP 10.1.169.16 1.1.3-s 00041396D9B4 SIP/2.0)",
                ua(
                    Vendor::Snom,
                    "D785",
                    Some("10.1.169.16"),
                    Some("00041396d9b4"),
                ),
            ),
            (
                "Mozilla/4.0 (compatible; snom370-SIP 8.7.5.35 1.1.3-n)",
                ua(Vendor::Snom, "370", Some("8.7.5.35"), None),
            ),
            (
                "Fanvil X5U-V2 2.12.1 0c3800000000",
                ua(
                    Vendor::Fanvil,
                    "X5U-V2",
                    Some("2.12.1"),
                    Some("0c3800000000"),
                ),
            ),
        ] {
            assert_eq!(parse(text), want, "{text}");
        }
    }

    #[test]
    fn garbage_gives_nothing_and_never_panics() {
        for text in [
            "",
            "curl/8.5.0",
            "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0",
            "Yealink",
            "Yealink ",
            "Cisco",
            "Cisco/",
            "Cisco-",
            "Grandstream DevId",
            "Grandstream HW",
            "Mozilla/4.0 (compatible; snom",
            "FileTransport PolycomVVX-UA/",
            "Fanvil 000000000000",
            "Yealink SIP-T56A 58.80.0.25 ffffffffffff",
            "Yealink SIP-T56A 58.80.0.25 0015651234a\u{e9}",
            "snom\u{0}\u{ff}(((;;))",
            "\u{1f4de}\u{1f4de}\u{1f4de}",
        ] {
            let got = parse(text);
            assert!(got.mac.is_none(), "{text:?}: {got:?}");
        }
        assert_eq!(parse("curl/8.5.0"), UserAgent::default());
        assert_eq!(parse("Yealink").vendor, Some(Vendor::Yealink));
    }

    #[test]
    fn long_input_is_bounded() {
        let long = format!(
            "Yealink SIP-T56A 58.80.0.25 {}001565f429a4",
            "x ".repeat(100_000)
        );
        let got = parse(&long);
        assert_eq!(got.vendor, Some(Vendor::Yealink));
        assert_eq!(got.mac, None, "the MAC lies past the bound");
        let multibyte = format!("Fanvil {}", "é".repeat(1000));
        assert_eq!(parse(&multibyte).vendor, Some(Vendor::Fanvil));
        let huge_token = format!("Fanvil X{} 1.0 0c3800000000", "9".repeat(200));
        assert_eq!(parse(&huge_token).model, None);
    }
}
