use super::*;
use crate::devices::validate;
use crate::types::schema::check::{Allows, texts};
use serde_json::json;

fn allows(schema: &RefOr<Schema>, text: &str) -> bool {
    Allows::new(schema).allows(text)
}

/// `schema` allows exactly what `accepts` takes among `samples`; among generated texts (each
/// `prefix` and pieces), what the schema allows is taken, and (where `both_ways`) what is
/// taken is allowed.
fn agree(
    schema: RefOr<Schema>,
    accepts: impl Fn(&str) -> bool,
    samples: &[&str],
    (prefix, pieces): (&str, &[&str]),
    both_ways: bool,
) {
    let checks = Allows::new(&schema);
    for text in samples {
        assert_eq!(checks.allows(text), accepts(text), "{text:?}");
    }
    let mut allowed = 0;
    for text in texts(pieces, 12, 4000) {
        let text = format!("{prefix}{text}");
        let (schema_says, parser_says) = (checks.allows(&text), accepts(&text));
        assert!(!schema_says || parser_says, "allowed but refused: {text:?}");
        if both_ways {
            assert!(
                schema_says || !parser_says,
                "taken but not allowed: {text:?}"
            );
        }
        allowed += usize::from(schema_says);
    }
    assert!(allowed > 100, "too few generated texts allowed ({allowed})");
}

const HOSTS: [&str; 20] = [
    "a", "B", "0", "9", "-", ".", ":", "::", "[", "]", "f", "1:", "ab", "x", " ", "\u{a0}", "_",
    "@", "12", "%",
];

#[test]
fn models_and_accounts() {
    agree(
        model(),
        |t| validate::model(t).is_ok(),
        &[
            "T54W",
            " VVX 410 ",
            "SPA504G (x)",
            "",
            "   ",
            "T54W<script>",
            "a\u{a0}",
            "é",
        ],
        (
            "",
            &[
                "T", "5", " ", "-", "(", "/", "<", "\u{3000}", "é", "\t", "x",
            ],
        ),
        true,
    );
    assert!(!allows(&model(), &"x".repeat(65)));
    agree(
        account(),
        |t| validate::account("u", t).is_ok(),
        &["201", "alice@example", " a.b ", "", "a b", "a:b", "ü"],
        ("", &["a", "2", ".", "@", "~", " ", ":", "ü", "\n", "*"]),
        true,
    );
    let password = password_or_null();
    agree(
        password,
        |t| validate::password("p", t).is_ok(),
        &[
            "given-password",
            "short",
            "has space1",
            "pässwörd1",
            "12345678",
        ],
        ("", &["a", "B", "1", "!", "~", " ", "é", "\t", "ab", "xyz"]),
        true,
    );
}

#[test]
fn hosts_and_ports() {
    agree(
        host_port(),
        |t| validate::host_port("r", t).is_ok(),
        &[
            "pbx.example.com",
            "PBX.Example.com:5060",
            "[2001:db8::1]:5061",
            "192.0.2.1",
            "[::1]",
            "[::]",
            "[1:2:3:4:5:6:7:8]",
            "host.",
            "",
            "a b",
            "x@y",
            "h:0",
            "h:65536",
            "h;transport=tcp",
            "http://x",
            "-bad",
            "a..b",
            "[::1",
            "[:::]",
            "[1:2:3:4:5:6:7:8:9]",
            "[1:2:3:4:5:6:7::]",
            "[::2:3:4:5:6:7:8]",
            &format!("pbx{}", " ".repeat(250)),
            &format!("pbx{}", " ".repeat(251)),
            &format!("{}.example", "a".repeat(63)),
        ],
        ("", &HOSTS),
        false,
    );
    agree(
        settings::host(),
        |t| t.trim().is_empty() || validate::host("ntp_server", t).is_ok(),
        &["pool.ntp.org", "", "  ", "pool.ntp.org:123", "[::1]", "a b"],
        ("", &HOSTS),
        false,
    );
    agree(
        settings::host_port(),
        |t| t.trim().is_empty() || validate::host_port("registrar", t).is_ok(),
        &["", " ", "pbx:5060", "pbx:0"],
        ("", &HOSTS),
        false,
    );
}

#[test]
fn display_names() {
    agree(
        display_name_or_null(),
        |t| validate::display_name("d", t).is_ok(),
        &[
            "Reception",
            " Front desk ",
            "",
            " ",
            "a\nb",
            "ümlaut",
            &"x".repeat(65),
        ],
        (
            "",
            &[
                "a",
                " ",
                "\u{a0}",
                "\t",
                "\u{85}",
                "é",
                "\u{7}",
                "bcdefghij",
            ],
        ),
        true,
    );
}

#[test]
fn languages_and_urls() {
    agree(
        settings::language(),
        |t| t.trim().is_empty() || validate::language(t).is_ok(),
        &["en", " de-DE ", "pt_BR", "x", "en us", "", &"a".repeat(36)],
        ("", &["e", "n", "-", "_", " ", "1", "é", "\t"]),
        true,
    );
    agree(
        settings::http_url(),
        |t| t.trim().is_empty() || validate::http_url("u", t).is_ok(),
        &[
            "https://fw.example.com/yealink/",
            "HTTP://192.0.2.1:8080/fw?x=1",
            "http://user:pw@host/a@b",
            "http://a@b@host",
            "http://@@/@host",
            "https://fw.example.com/ümlaut",
            &format!("http://h/{}", "x".repeat(2039)),
            &format!("http://h/{}", "x".repeat(2040)),
            &format!("http://h/ {}", " ".repeat(2038)),
            "https://",
            "https://bad host/",
            "ftp://x",
            "example.com",
            "",
        ],
        (
            "http://",
            &[
                "h", "x", ".", "/", "?", "#", "@", ":", "1", " ", "é", "%", "[::1]",
            ],
        ),
        false,
    );
}

#[test]
fn outbound_proxies_and_time_zones() {
    agree(
        settings::sip_uri(),
        |t| t.trim().is_empty() || validate::sip_uri("outbound_proxy", t).is_ok(),
        &[
            "sip:proxy.example.com:5060",
            "",
            " ",
            "proxy.example.com",
            "sips:x",
        ],
        ("sip:", &["a", "@", ":", "5", ".", " ", ";", "=", "x"]),
        false,
    );
    let checks = Allows::new(&settings::timezone());
    for (text, taken) in [
        ("Europe/Berlin", true),
        ("", true),
        ("  ", true),
        ("Mars/Olympus", false),
    ] {
        assert_eq!(checks.allows(text), taken, "{text:?}");
    }
    let schema = serde_json::to_value(settings::timezone()).unwrap();
    let zones = schema["anyOf"][0]["enum"].as_array().unwrap();
    assert!(zones.len() > 400, "{}", zones.len());
    for zone in zones {
        let zone = zone.as_str().unwrap();
        assert!(
            crate::orgs::model::validate_timezone("timezone", zone).is_ok(),
            "{zone}"
        );
    }
    assert!(zones.contains(&json!("Europe/Berlin")));
    assert!(crate::orgs::model::validate_timezone("timezone", "Mars/Olympus").is_err());
    assert_eq!(schema["anyOf"][2]["type"], "null");
}

#[test]
fn variables_are_described_as_checked() {
    let schema = serde_json::to_value(variables_or_null()).unwrap();
    assert_eq!(schema["maxProperties"], MAX_VARIABLES);
    assert_eq!(schema["propertyNames"]["pattern"], "^[a-z0-9_.]{1,64}$");
    let value = &schema["additionalProperties"];
    assert_eq!(value["maxLength"], MAX_VARIABLE_CHARS);
    let pattern = regex::Regex::new(value["pattern"].as_str().unwrap()).unwrap();
    for text in ["x", "ümlaut", "a\tb", "a\nb", "\u{85}", ""] {
        let input: super::super::model::Variables = [("k".to_string(), json!(text))].into();
        assert_eq!(
            pattern.is_match(text),
            validate::variables("variables", &input).is_ok(),
            "{text:?}"
        );
    }
}
