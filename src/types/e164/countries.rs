//! The one numbering table: how each common country writes its numbers nationally (calling
//! code, trunk prefix, international prefixes, lengths of the national significant number).

use std::ops::RangeInclusive;

/// How one country writes its numbers nationally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Country {
    /// ISO 3166-1 alpha-2, upper case.
    pub iso: &'static str,
    /// Country calling code, digits without `+`.
    pub calling_code: &'static str,
    /// Dialled before national numbers and dropped in E.164 (`0` in GB/DE/FR, `1` in NANP,
    /// `8` in RU, `06` in HU); `None` where the leading digit is part of the number (IT, ES).
    pub trunk_prefix: Option<&'static str>,
    /// Dialled to reach another country (`00`, `011` in NANP, `0011` in AU).
    pub international_prefixes: &'static [&'static str],
    /// Plausible lengths of the national significant number (after the trunk prefix).
    pub national_lengths: RangeInclusive<usize>,
}

const fn country(
    iso: &'static str,
    calling_code: &'static str,
    trunk_prefix: Option<&'static str>,
    international_prefixes: &'static [&'static str],
    national_lengths: RangeInclusive<usize>,
) -> Country {
    Country {
        iso,
        calling_code,
        trunk_prefix,
        international_prefixes,
        national_lengths,
    }
}

const OO: &[&str] = &["00"];

/// The countries whose national formats dialtone reads. Sources: ITU-T E.164 assignments and
/// the national numbering plans as published by the regulators (summarised; see the module
/// doc for why the lengths are ranges).
pub const COUNTRIES: &[Country] = &[
    // North American Numbering Plan: NXX-NXX-XXXX, the trunk prefix 1 is optional.
    country("US", "1", Some("1"), &["011"], 10..=10),
    country("CA", "1", Some("1"), &["011"], 10..=10),
    // US territories that dial as domestic NANP (the `nanp` dial-plan template covers them).
    country("PR", "1", Some("1"), &["011"], 10..=10),
    country("VI", "1", Some("1"), &["011"], 10..=10),
    country("GU", "1", Some("1"), &["011"], 10..=10),
    country("AS", "1", Some("1"), &["011"], 10..=10),
    country("MP", "1", Some("1"), &["011"], 10..=10),
    country("GB", "44", Some("0"), OO, 9..=10),
    // The Crown Dependencies share +44 and the UK's national plan (Ofcom).
    country("IM", "44", Some("0"), OO, 9..=10),
    country("JE", "44", Some("0"), OO, 9..=10),
    country("GG", "44", Some("0"), OO, 9..=10),
    country("IE", "353", Some("0"), OO, 7..=9),
    country("DE", "49", Some("0"), OO, 5..=13),
    country("AT", "43", Some("0"), OO, 4..=13),
    country("CH", "41", Some("0"), OO, 9..=9),
    country("FR", "33", Some("0"), OO, 9..=9),
    country("BE", "32", Some("0"), OO, 8..=9),
    country("NL", "31", Some("0"), OO, 9..=9),
    country("LU", "352", None, OO, 4..=11),
    // Italy, Spain, Portugal, Greece, Poland, Czechia, the Nordics but Sweden and Finland:
    // no trunk prefix; Italy's leading 0 of fixed lines is part of the number.
    country("IT", "39", None, OO, 6..=11),
    country("ES", "34", None, OO, 9..=9),
    country("PT", "351", None, OO, 9..=9),
    country("GR", "30", None, OO, 10..=10),
    country("PL", "48", None, OO, 9..=9),
    country("CZ", "420", None, OO, 9..=9),
    country("SK", "421", Some("0"), OO, 9..=9),
    country("HU", "36", Some("06"), OO, 8..=9),
    country("RO", "40", Some("0"), OO, 9..=9),
    country("DK", "45", None, OO, 8..=8),
    country("NO", "47", None, OO, 8..=8),
    country("SE", "46", Some("0"), OO, 7..=13),
    country("FI", "358", Some("0"), OO, 5..=12),
    country("TR", "90", Some("0"), OO, 10..=10),
    country("RU", "7", Some("8"), &["810", "00"], 10..=10),
    country("IL", "972", Some("0"), OO, 8..=9),
    country("AE", "971", Some("0"), OO, 8..=9),
    country("ZA", "27", Some("0"), OO, 9..=9),
    country("IN", "91", Some("0"), OO, 10..=10),
    country("CN", "86", Some("0"), OO, 9..=11),
    country("JP", "81", Some("0"), &["010"], 9..=10),
    country("KR", "82", Some("0"), &["001", "002"], 8..=11),
    country("SG", "65", None, &["000", "001"], 8..=8),
    country("HK", "852", None, &["001"], 8..=8),
    country("AU", "61", Some("0"), &["0011"], 9..=9),
    country("NZ", "64", Some("0"), OO, 8..=10),
    country("BR", "55", Some("0"), OO, 10..=11),
    // Mexico dropped its trunk prefixes in 2019.
    country("MX", "52", None, OO, 10..=10),
    country("AR", "54", Some("0"), OO, 10..=11),
];

/// The table entry of an ISO country code (either case).
pub fn country_of(iso: &str) -> Option<&'static Country> {
    COUNTRIES.iter().find(|c| c.iso.eq_ignore_ascii_case(iso))
}

/// The countries an E.164 number (digits after `+`) may belong to, by the longest calling
/// code in the table that prefixes it (`1` gives US and CA).
pub(super) fn countries_by_code(digits: &str) -> Vec<&'static Country> {
    let best = COUNTRIES
        .iter()
        .filter(|c| digits.starts_with(c.calling_code))
        .map(|c| c.calling_code.len())
        .max();
    match best {
        Some(len) => COUNTRIES
            .iter()
            .filter(|c| c.calling_code.len() == len && digits.starts_with(c.calling_code))
            .collect(),
        None => Vec::new(),
    }
}
