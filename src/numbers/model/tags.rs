//! A number's tags: checked (lower-case `[a-z0-9_-]{1,32}`, at most 20) and stored as one
//! searchable column.

use crate::types::text::quote_prefix;

pub const MAX_TAGS: usize = 20;

/// Tags: each lower-cased and checked against `[a-z0-9_-]{1,32}`; duplicates dropped, order
/// kept; at most 20 given (duplicates counted, as the document's `maxItems` counts them).
pub fn validate_tags(field: &str, tags: &[String]) -> Result<Vec<String>, String> {
    if tags.len() > MAX_TAGS {
        return Err(format!(
            "{field}: at most {MAX_TAGS} tags, got {}",
            tags.len()
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(tags.len());
    for tag in tags {
        let tag = tag.trim().to_ascii_lowercase();
        let ok = (1..=32).contains(&tag.len())
            && tag
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !ok {
            return Err(format!(
                "{field}: each tag is 1-32 of a-z, 0-9, '_' and '-', got {}",
                quote_prefix(&tag)
            ));
        }
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    if out.len() > MAX_TAGS {
        return Err(format!(
            "{field}: at most {MAX_TAGS} tags, got {}",
            out.len()
        ));
    }
    Ok(out)
}

/// Tags as stored: `,a,b,` so a tag filter is one `LIKE '%,a,%'`; empty for none.
pub fn tags_to_column(tags: &[String]) -> String {
    if tags.is_empty() {
        String::new()
    } else {
        format!(",{},", tags.join(","))
    }
}

pub fn tags_from_column(text: &str) -> Vec<String> {
    text.split(',')
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_checked_and_stored_searchably() {
        let tags = validate_tags(
            "tags",
            &[
                "VIP".into(),
                "sales-east".into(),
                "vip".into(),
                "a_b".into(),
            ],
        )
        .unwrap();
        assert_eq!(tags, vec!["vip", "sales-east", "a_b"]);
        assert_eq!(tags_to_column(&tags), ",vip,sales-east,a_b,");
        assert_eq!(tags_from_column(",vip,sales-east,a_b,"), tags);
        assert!(tags_from_column("").is_empty());
        assert_eq!(tags_to_column(&[]), "");
        for bad in ["", "has space", "comma,inside", &"x".repeat(33), "ümlaut"] {
            assert!(
                validate_tags("tags", &[bad.to_string()]).is_err(),
                "{bad:?}"
            );
        }
        let many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
        assert!(
            validate_tags("tags", &many)
                .unwrap_err()
                .contains("at most 20")
        );
        // Counted as given, as the document's maxItems counts them.
        assert!(validate_tags("tags", &vec!["a".to_string(); 20]).is_ok());
        assert!(validate_tags("tags", &vec!["a".to_string(); 21]).is_err());
    }
}
