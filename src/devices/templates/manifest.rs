//! A vendor folder's `manifest.toml`: which file names the phones request and which template
//! answers each (patterns with `{mac}`, `{model}`, `{digit}` placeholders, matched without
//! regard to case), the output format that decides escaping, the content type, and the SIP
//! events NOTIFY sends for a resync and a reboot. Pure: parsing and matching only.

use crate::types::Mac;
use serde::Deserialize;

/// Longest file name a phone may request that we try to match.
pub const MAX_FILE_NAME: usize = 128;

/// How values are escaped when a template prints them (chosen by the manifest, never by the
/// template author, so an override cannot forget it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// XML: `& < > " '` become entities; characters XML 1.0 forbids are dropped.
    Xml,
    /// `key = value` / `key: value` lines: CR, LF and every other control character in a value
    /// become a space, so a value can never start a line (a key) of its own.
    Keyvalue,
}

/// The manifest as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    format: Format,
    content_type: String,
    notify: RawNotify,
    #[serde(rename = "file")]
    files: Vec<RawFile>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNotify {
    resync: String,
    reboot: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    name: String,
    template: String,
    format: Option<Format>,
    content_type: Option<String>,
}

/// One vendor's manifest, checked.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The format of the vendor's files (and of templates no `[[file]]` names, e.g. includes).
    pub format: Format,
    pub files: Vec<FileEntry>,
    pub notify_resync: String,
    pub notify_reboot: String,
}

/// A file name pattern and the template that answers it.
#[derive(Debug, Clone)]
pub struct FileEntry {
    pub pattern: Pattern,
    /// Template file name inside the vendor folder (`device.cfg.j2`).
    pub template: String,
    pub format: Format,
    pub content_type: String,
}

impl Manifest {
    /// Parses and checks a manifest; errors name the key (and TOML's line).
    pub fn parse(text: &str) -> Result<Self, String> {
        let deserializer = toml::Deserializer::parse(text).map_err(|e| e.to_string())?;
        let raw: RawManifest = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let path = e.path().to_string();
            format!("{path}: {}", e.into_inner().message())
        })?;
        if raw.files.is_empty() {
            return Err("file: at least one [[file]] is needed".into());
        }
        for (key, value) in [
            ("notify.resync", &raw.notify.resync),
            ("notify.reboot", &raw.notify.reboot),
            ("content_type", &raw.content_type),
        ] {
            check_header_value(key, value)?;
        }
        let mut files = Vec::with_capacity(raw.files.len());
        for (i, file) in raw.files.into_iter().enumerate() {
            let at = |key: &str| format!("file[{i}].{key}");
            let pattern = Pattern::parse(&file.name).map_err(|e| format!("{}: {e}", at("name")))?;
            if file.template.is_empty()
                || file.template.contains(['/', '\\'])
                || file.template.starts_with('.')
            {
                return Err(format!(
                    "{}: must be a file name in the vendor folder, got {:?}",
                    at("template"),
                    file.template
                ));
            }
            let content_type = file
                .content_type
                .unwrap_or_else(|| raw.content_type.clone());
            check_header_value(&at("content_type"), &content_type)?;
            files.push(FileEntry {
                pattern,
                template: file.template,
                format: file.format.unwrap_or(raw.format),
                content_type,
            });
        }
        Ok(Self {
            format: raw.format,
            files,
            notify_resync: raw.notify.resync,
            notify_reboot: raw.notify.reboot,
        })
    }
}

/// Manifest values end up in HTTP and SIP headers: printable ASCII only.
fn check_header_value(key: &str, value: &str) -> Result<(), String> {
    if value.is_empty() || value.len() > 200 || !value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(format!(
            "{key}: must be 1 to 200 printable ASCII characters, got {value:?}"
        ));
    }
    Ok(())
}

/// One piece of a file name pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// Literal text, lower-cased.
    Literal(String),
    /// 12 hex digits naming a device (not the all-zero address).
    Mac,
    /// A model name: 1 to 32 letters, digits, `_` or `-`.
    Model,
    /// One decimal digit.
    Digit,
}

/// A file name pattern such as `{mac}.cfg` or `y0000000000{digit}{digit}.cfg`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    text: String,
    parts: Vec<Part>,
}

/// What a matched file name names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    pub mac: Option<Mac>,
    pub model: Option<String>,
}

impl Pattern {
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.is_empty() || text.len() > MAX_FILE_NAME {
            return Err(format!("must be 1 to {MAX_FILE_NAME} characters"));
        }
        let mut parts = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('{') {
                let Some(end) = after.find('}') else {
                    return Err(format!("unclosed {{ in {text:?}"));
                };
                parts.push(match &after[..end] {
                    "mac" => Part::Mac,
                    "model" => Part::Model,
                    "digit" => Part::Digit,
                    other => {
                        return Err(format!(
                            "unknown placeholder {{{other}}} in {text:?} (known: {{mac}}, {{model}}, {{digit}})"
                        ));
                    }
                });
                rest = &after[end + 1..];
            } else {
                let end = rest.find('{').unwrap_or(rest.len());
                let literal = &rest[..end];
                if literal.contains('}') || literal.contains('/') || !literal.is_ascii() {
                    return Err(format!(
                        "literal text must be ASCII without / or }}, in {text:?}"
                    ));
                }
                parts.push(Part::Literal(literal.to_ascii_lowercase()));
                rest = &rest[end..];
            }
        }
        if parts.iter().filter(|p| **p == Part::Mac).count() > 1 {
            return Err(format!("{{mac}} may appear only once, in {text:?}"));
        }
        if parts.iter().filter(|p| **p == Part::Model).count() > 1 {
            return Err(format!("{{model}} may appear only once, in {text:?}"));
        }
        Ok(Self {
            text: text.to_string(),
            parts,
        })
    }

    /// True when the pattern names one device's file.
    pub fn is_per_device(&self) -> bool {
        self.parts.contains(&Part::Mac)
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Matches a requested file name (any case). A `{mac}` must be a device's MAC.
    pub fn matches(&self, name: &str) -> Option<Matched> {
        if name.len() > MAX_FILE_NAME || !name.is_ascii() {
            return None;
        }
        let lower = name.to_ascii_lowercase();
        let mut found = Matched {
            mac: None,
            model: None,
        };
        match_parts(&self.parts, lower.as_bytes(), name.as_bytes(), &mut found).then_some(found)
    }
}

/// Backtracking match of `parts` against `lower` (the lower-cased name; `original` keeps the
/// case a model was written in).
fn match_parts(parts: &[Part], lower: &[u8], original: &[u8], found: &mut Matched) -> bool {
    let Some((first, rest)) = parts.split_first() else {
        return lower.is_empty();
    };
    match first {
        Part::Literal(text) => lower
            .strip_prefix(text.as_bytes())
            .is_some_and(|tail| match_parts(rest, tail, &original[text.len()..], found)),
        Part::Digit => {
            lower.first().is_some_and(u8::is_ascii_digit)
                && match_parts(rest, &lower[1..], &original[1..], found)
        }
        Part::Mac => {
            if lower.len() < 12 || !lower[..12].iter().all(u8::is_ascii_hexdigit) {
                return false;
            }
            let Ok(mac) = Mac::parse(&String::from_utf8_lossy(&lower[..12])) else {
                return false;
            };
            found.mac = Some(mac);
            match_parts(rest, &lower[12..], &original[12..], found)
        }
        Part::Model => {
            let allowed = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-');
            let longest = lower.iter().take(32).take_while(|b| allowed(b)).count();
            for len in (1..=longest).rev() {
                if match_parts(rest, &lower[len..], &original[len..], found) {
                    found.model = Some(String::from_utf8_lossy(&original[..len]).into_owned());
                    return true;
                }
            }
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
format = "xml"
content_type = "application/xml"
[notify]
resync = "check-sync"
reboot = "check-sync;reboot=true"
[[file]]
name = "{mac}.xml"
template = "device.xml.j2"
"#;

    #[test]
    fn patterns_match_any_case_and_capture_mac_and_model() {
        let p = Pattern::parse("{mac}.cfg").unwrap();
        let m = p.matches("0015651234AB.CFG").unwrap();
        assert_eq!(m.mac.unwrap().to_string(), "0015651234ab");
        assert!(p.is_per_device());
        assert!(
            p.matches("000000000000.cfg").is_none(),
            "zero MAC is no device"
        );
        assert!(p.matches("0015651234ab.cfg.bak").is_none());
        assert!(p.matches("0015651234a.cfg").is_none());
        assert!(
            p.matches("ffffffffffff.cfg").is_none(),
            "broadcast is no device"
        );

        let p = Pattern::parse("y0000000000{digit}{digit}.cfg").unwrap();
        assert!(p.matches("y000000000070.cfg").is_some());
        assert!(p.matches("Y000000000065.CFG").is_some());
        assert!(p.matches("y0000000000a0.cfg").is_none());
        assert!(!p.is_per_device());

        let p = Pattern::parse("{model}-{mac}.htm").unwrap();
        let m = p.matches("snomD785-000413A1B2C3.htm").unwrap();
        assert_eq!(m.model.as_deref(), Some("snomD785"));
        assert_eq!(m.mac.unwrap().upper(), "000413A1B2C3");
        let p = Pattern::parse("{model}.htm").unwrap();
        assert_eq!(
            p.matches("snom-D785.htm").unwrap().model.as_deref(),
            Some("snom-D785")
        );
        assert!(p.matches(".htm").is_none());
        assert!(p.matches("a.b.htm").is_none());
    }

    #[test]
    fn garbage_names_never_match_or_panic() {
        let p = Pattern::parse("cfg{mac}.xml").unwrap();
        for name in [
            "",
            "cfg",
            "cfg.xml",
            "cfgé00000000000.xml",
            "cfg0015651234ab\u{0}.xml",
            &"a".repeat(10_000),
            "../cfg0015651234ab.xml",
        ] {
            assert!(p.matches(name).is_none(), "{name:?}");
        }
        let p = Pattern::parse("{model}{model2}").unwrap_err();
        assert!(p.contains("unknown placeholder"), "{p}");
    }

    #[test]
    fn bad_patterns_are_named() {
        for (text, want) in [
            ("{mac", "unclosed"),
            ("{mac}{mac}.cfg", "only once"),
            ("{ip}.cfg", "unknown placeholder"),
            ("a/{mac}.cfg", "literal"),
            ("", "1 to"),
        ] {
            let err = Pattern::parse(text).unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
        }
    }

    #[test]
    fn manifest_parses_and_errors_name_the_key() {
        let m = Manifest::parse(MINIMAL).unwrap();
        assert_eq!(m.files.len(), 1);
        assert_eq!(m.files[0].format, Format::Xml);
        assert_eq!(m.files[0].content_type, "application/xml");
        assert_eq!(m.notify_reboot, "check-sync;reboot=true");

        let err =
            Manifest::parse(&MINIMAL.replace("format = \"xml\"", "format = \"ini\"")).unwrap_err();
        assert!(err.starts_with("format"), "{err}");
        let err = Manifest::parse(&MINIMAL.replace("{mac}.xml", "{serial}.xml")).unwrap_err();
        assert!(err.starts_with("file[0].name"), "{err}");
        let err = Manifest::parse(&MINIMAL.replace("device.xml.j2", "../etc/passwd")).unwrap_err();
        assert!(err.starts_with("file[0].template"), "{err}");
        let err = Manifest::parse(&MINIMAL.replace("check-sync\"", "check-sync\\r\\nX: y\""))
            .unwrap_err();
        assert!(err.starts_with("notify.resync"), "{err}");
        let err = Manifest::parse(&format!("{MINIMAL}\nextra = 1\n")).unwrap_err();
        assert!(err.contains("extra"), "{err}");
        let err = Manifest::parse("format = \"xml\"\ncontent_type = \"a/b\"\nfile = []\n[notify]\nresync = \"a\"\nreboot = \"b\"\n").unwrap_err();
        assert!(err.contains("at least one"), "{err}");
        let err = Manifest::parse("format = ").unwrap_err();
        assert!(err.contains("line 1"), "{err}");
    }
}
