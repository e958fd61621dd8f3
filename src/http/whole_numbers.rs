//! JSON Schema's integers include `3.0` and `1e3`: rewriting such literals in a body's text
//! into plain integers, digit for digit, so a whole float of any size up to `i64` reads exactly
//! (parsed as an `f64` first, `9007199254740993.0` would lose its last digit).

use std::borrow::Cow;

/// `text` with every number literal that has a fraction or an exponent but is a whole number
/// within `i64` written as that integer; strings and every other literal are left as they are.
/// Borrowed when nothing changes (most bodies), so the common case copies nothing.
pub fn rewrite(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    let mut start = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let end = bytes[i..]
                    .iter()
                    .position(|b| !matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                    .map_or(bytes.len(), |n| i + n);
                if let Some(whole) = text.get(i..end).and_then(integer) {
                    out.push_str(&text[start..i]);
                    out.push_str(&whole);
                    start = end;
                }
                i = end;
            }
            _ => i += 1,
        }
    }
    if start == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(text.get(start..).unwrap_or(""));
    Cow::Owned(out)
}

/// The integer a `3.0`/`1.5e1`-style literal stands for, if whole and within `i64`.
fn integer(literal: &str) -> Option<String> {
    if !literal.contains(['.', 'e', 'E']) {
        return None;
    }
    let (negative, body) = match literal.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, literal),
    };
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(at) => (&body[..at], body[at + 1..].parse::<i32>().ok()?),
        None => (body, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() || !(int.bytes().chain(frac.bytes())).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut digits = format!("{int}{frac}");
    let shift = exponent.checked_sub(i32::try_from(frac.len()).ok()?)?;
    if shift >= 0 {
        if shift > 19 {
            return None;
        }
        digits.push_str(&"0".repeat(shift as usize));
    } else {
        let cut = digits.len().checked_sub(shift.unsigned_abs() as usize)?;
        if !digits[cut..].bytes().all(|b| b == b'0') {
            return None;
        }
        digits.truncate(cut);
    }
    let digits = digits.trim_start_matches('0');
    let text = match (negative, digits.is_empty()) {
        (_, true) => "0".to_string(),
        (true, false) => format!("-{digits}"),
        (false, false) => digits.to_string(),
    };
    text.parse::<i64>().ok().map(|n| n.to_string())
}

#[cfg(test)]
mod tests {
    use super::rewrite;

    #[test]
    fn whole_literals_become_integers_digit_for_digit() {
        assert_eq!(
            rewrite(r#"{"a": 9007199254740993.0, "b": [1e3, -2.50e1, 0.0, 1.5, 3]}"#),
            r#"{"a": 9007199254740993, "b": [1000, -25, 0, 1.5, 3]}"#
        );
        assert_eq!(
            rewrite(r#"{"s": "1.0 \" 2.0", "t": 1E2}"#),
            r#"{"s": "1.0 \" 2.0", "t": 100}"#
        );
        // Past i64, or not whole: as written.
        assert_eq!(
            rewrite("[9223372036854775808.0, 1e40, 1e-3]"),
            "[9223372036854775808.0, 1e40, 1e-3]"
        );
        assert_eq!(rewrite("[9223372036854775807.0]"), "[9223372036854775807]");
        assert!(matches!(
            rewrite(r#"{"e": 1.5, "n": 3}"#),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
