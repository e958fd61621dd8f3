//! Parsing, canonical form, the table and storage of E.164 numbers.

use super::*;

fn ok(text: &str, country: Option<&str>) -> String {
    E164::parse(text, country)
        .unwrap_or_else(|e| panic!("{text:?} in {country:?}: {e}"))
        .into_string()
}

fn bad(text: &str, country: Option<&str>) -> String {
    match E164::parse(text, country) {
        Ok(n) => panic!("{text:?} in {country:?} accepted as {n}"),
        Err(e) => e.0,
    }
}

#[test]
fn us_national_forms_with_and_without_the_trunk_prefix() {
    let us = Some("US");
    for text in [
        "(415) 555-0134",
        "415-555-0134",
        "415.555.0134",
        "1 415 555 0134",
        "1-415-555-0134",
        "+1 (415) 555-0134",
        "+14155550134",
        "011 1 415 555 0134",
    ] {
        assert_eq!(ok(text, us), "+14155550134", "{text}");
    }
    // From the US, 011 reaches other countries.
    assert_eq!(ok("011 44 20 7946 0958", us), "+442079460958");
    assert!(bad("555-0134", us).contains("not a valid US number"));
    assert!(bad("(015) 555-0134", us).contains("not a valid US number"));
    assert!(bad("415 155 0134", us).contains("not a valid US number"));
    assert!(bad("+1 415 555 01345", us).contains("not a valid +1 number"));
}

#[test]
fn gb_de_fr_au_national_forms() {
    assert_eq!(ok("020 7946 0958", Some("GB")), "+442079460958");
    assert_eq!(ok("07700 900123", Some("GB")), "+447700900123");
    assert_eq!(ok("0044 20 7946 0958", Some("GB")), "+442079460958");
    assert_eq!(ok("+44 (0)20 7946 0958", None), "+442079460958");
    assert_eq!(ok("030 1234567", Some("DE")), "+49301234567");
    assert_eq!(ok("0151/12345678", Some("DE")), "+4915112345678");
    assert_eq!(ok("0049 30 1234567", Some("DE")), "+49301234567");
    assert_eq!(ok("01 23 45 67 89", Some("FR")), "+33123456789");
    assert_eq!(ok("06.12.34.56.78", Some("FR")), "+33612345678");
    assert_eq!(ok("(02) 9876 5432", Some("AU")), "+61298765432");
    assert_eq!(ok("0412 345 678", Some("AU")), "+61412345678");
    assert_eq!(ok("0011 44 20 7946 0958", Some("AU")), "+442079460958");
    // The same national text means different numbers in different countries.
    assert_ne!(ok("030 1234567", Some("DE")), ok("0301234567", Some("GB")));
}

#[test]
fn countries_without_a_trunk_prefix_keep_the_leading_digit() {
    assert_eq!(ok("06 1234 5678", Some("IT")), "+390612345678");
    assert_eq!(ok("912 345 678", Some("ES")), "+34912345678");
}

#[test]
fn refuses_bad_input_with_a_reason() {
    assert!(bad("", Some("US")).contains("empty"));
    assert!(bad("  ", Some("US")).contains("empty"));
    assert!(bad("+", None).contains("no digits"));
    assert!(bad("415-555-CALL", Some("US")).contains("only digits"));
    assert!(bad("+1 415 555 0134 ext 5", None).contains("only digits"));
    assert!(bad("++14155550134", None).contains("only digits"));
    assert!(bad("+0 123 456 789", None).contains("does not start with 0"));
    assert!(bad("+1234567", None).contains("8-15 digits"));
    assert!(bad("+1234567890123456", None).contains("8-15 digits"));
    assert!(bad("020 7946 0958", None).contains("E.164 form"));
    assert!(bad("020 7946 0958", Some("ZZ")).contains("not known"));
    assert!(bad("020 7946", Some("GB")).contains("not a valid GB number"));
    assert!(bad("01 23 45 67", Some("FR")).contains("not a valid FR number"));
    assert!(bad("+33 1 23 45 67 8", None).contains("not a valid +33 number"));
    assert!(bad("02 9876 54", Some("AU")).contains("not a valid AU number"));
}

#[test]
fn numbers_outside_the_table_are_taken_in_e164_form() {
    // +298 (Faroe Islands) is not in the table: only the E.164 length rule applies.
    assert_eq!(ok("+298 123 45678", None), "+29812345678");
    assert_eq!(ok("00 298 12345678", Some("DE")), "+29812345678");
}

#[test]
fn canonical_round_trip() {
    for text in ["+14155550134", "+442079460958", "+4915112345678"] {
        let n = E164::canonical(text).unwrap();
        assert_eq!(n.as_str(), text);
        let json = serde_json::to_string(&n).unwrap();
        assert_eq!(serde_json::from_str::<E164>(&json).unwrap(), n);
    }
    assert!(E164::canonical("14155550134").is_err());
    assert!(E164::canonical("+1 415 555 0134").is_err());
    assert!(serde_json::from_str::<E164>("\"020 7946 0958\"").is_err());
}

#[test]
fn territories_and_dependencies_read_like_their_plan() {
    assert_eq!(ok("(787) 555-0134", Some("PR")), "+17875550134");
    assert_eq!(ok("01624 555123", Some("IM")), "+441624555123");
    assert_eq!(ok("020 7946 0958", Some("gb")), "+442079460958");
}

/// A seeded loop over generated national numbers of every country: written with the trunk
/// prefix and separators, read back to the same canonical number, which round-trips
/// through its own text, JSON and the database.
#[tokio::test]
async fn generated_numbers_round_trip() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    for _ in 0..2000 {
        let c = &COUNTRIES[rng.random_range(0..COUNTRIES.len())];
        // E.164 needs 8 digits in all, more than some countries' shortest numbers give.
        let len = rng
            .random_range(c.national_lengths.clone())
            .max(DIGITS.start() - c.calling_code.len());
        let mut national: String = (0..len)
            .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
            .collect();
        // Keep the first digit off the trunk prefix and NANP's N rule.
        national.replace_range(0..1, "2");
        if c.calling_code == "1" {
            national.replace_range(3..4, "5");
        }
        let expected = format!("+{}{national}", c.calling_code);
        let spaced: String = national
            .chars()
            .enumerate()
            .flat_map(|(i, d)| (i > 0 && i % 3 == 0).then_some(' ').into_iter().chain([d]))
            .collect();
        let written = format!("{}{spaced}", c.trunk_prefix.unwrap_or(""));
        assert_eq!(
            ok(&written, Some(c.iso)),
            expected,
            "{written} in {}",
            c.iso
        );
        assert_eq!(ok(&format!("+{} {spaced}", c.calling_code), None), expected);
        let n = E164::canonical(&expected).unwrap();
        let json = serde_json::to_string(&n).unwrap();
        assert_eq!(serde_json::from_str::<E164>(&json).unwrap(), n);
    }
    let n = E164::canonical("+442079460958").unwrap();
    let stored = crate::types::column::tests::sqlite_round_trip(&n).await;
    assert_eq!(stored, (n, "+442079460958".to_string()));
    let corrupt = crate::types::column::tests::sqlite_decode::<E164>("020 7946")
        .await
        .unwrap_err();
    let corrupt = crate::types::column::corrupt_of(&corrupt).unwrap();
    assert_eq!(
        (corrupt.column, corrupt.value.as_str()),
        ("number", "020 7946")
    );
}

#[test]
fn the_table_is_consistent() {
    for c in COUNTRIES {
        assert_eq!(c.iso.len(), 2, "{c:?}");
        assert!(c.calling_code.bytes().all(|b| b.is_ascii_digit()), "{c:?}");
        assert!(!c.international_prefixes.is_empty(), "{c:?}");
        let total = c.calling_code.len() + c.national_lengths.end();
        assert!(total <= 15, "{} numbers would exceed 15 digits", c.iso);
        assert_eq!(COUNTRIES.iter().filter(|o| o.iso == c.iso).count(), 1);
    }
}
