//! Escaping of every value a template prints, by the output format of the file (the manifest
//! decides, so a template author cannot forget it): XML entities for XML files, no line breaks
//! or other control characters in `key = value` files. `none` prints as nothing. A template
//! opts out explicitly with `|safe`.

use super::manifest::Format;
use minijinja::value::Value;
use minijinja::{AutoEscape, Error, Output, State};

/// The custom auto-escape names the formatter understands.
pub const XML: &str = "xml";
pub const KEYVALUE: &str = "keyvalue";

pub fn auto_escape(format: Format) -> AutoEscape {
    match format {
        Format::Xml => AutoEscape::Custom(XML),
        Format::Keyvalue => AutoEscape::Custom(KEYVALUE),
    }
}

/// Text for an XML element or attribute value.
pub fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Line breaks and tabs are legal XML, but an attribute value would lose them anyway.
            '\t' | '\n' | '\r' => out.push(' '),
            c if !xml_char(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// XML 1.0 `Char`, less the C0/C1 controls phones choke on.
fn xml_char(c: char) -> bool {
    !c.is_control() && !matches!(c, '\u{FFFE}' | '\u{FFFF}')
}

/// Text for the value side of a `key = value` line: control characters (CR, LF, NUL, NEL …)
/// and Unicode line and paragraph separators become a space, so a value can never begin a
/// line of its own.
pub fn keyvalue(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// The environment's formatter: applies the escaping of the template's format.
pub fn formatter(out: &mut Output, state: &State, value: &Value) -> Result<(), Error> {
    if value.is_none() || value.is_undefined() {
        return Ok(());
    }
    let text = value.to_string();
    let escaped = if value.is_safe() {
        text
    } else {
        match state.auto_escape() {
            AutoEscape::Custom(XML) => xml(&text),
            AutoEscape::Custom(KEYVALUE) => keyvalue(&text),
            // Templates outside a manifest (shared includes) still get the strict choice.
            _ => xml(&keyvalue(&text)),
        }
    };
    out.write_str(&escaped).map_err(Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes_markup_and_drops_what_xml_forbids() {
        assert_eq!(
            xml("Tom & Jerry <\"x\"> 'y' ]]>"),
            "Tom &amp; Jerry &lt;&quot;x&quot;&gt; &apos;y&apos; ]]&gt;"
        );
        assert_eq!(xml("a\u{0}b\u{1b}c\nd"), "abc d");
        assert_eq!(xml("Jürgen 日本"), "Jürgen 日本");
    }

    #[test]
    fn keyvalue_values_cannot_start_a_line() {
        assert_eq!(
            keyvalue("Bob\naccount.1.sip_server.1.address = evil\r"),
            "Bob account.1.sip_server.1.address = evil "
        );
        assert_eq!(keyvalue("a\u{0}\u{85}b\u{2028}c\u{2029}"), "a  b c ");
        assert_eq!(keyvalue("Jürgen & <x>"), "Jürgen & <x>");
    }
}
