//! Number classes per country: which destinations are emergency, toll-free, premium, mobile,
//! local, national or international, as the country templates in `dialplans/*.toml` declare
//! them (prefixes or patterns in E.164, short codes as dialled).
//!
//! A number gets the class of its **longest** matching entry, so a table can say
//! `international = ["+"]`, `national = ["+1"]`, `toll-free = ["+1800"]` and `+18005550199`
//! is toll-free only (a rule wanting all domestic calls lists the classes it means).

use super::model::NumberClass;
use super::pattern::Pattern;
use super::templates;
use super::trie::Trie;
use crate::types::e164::{self, Country};
use crate::types::text::quote_prefix;
use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

/// A set of classes as one byte (rule conditions carry these).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClassSet(u8);

impl ClassSet {
    pub fn of(classes: &[NumberClass]) -> Self {
        Self(classes.iter().fold(0, |bits, c| bits | bit(*c)))
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn contains(self, class: NumberClass) -> bool {
        self.0 & bit(class) != 0
    }
}

fn bit(class: NumberClass) -> u8 {
    1 << (class as u8)
}

/// The compiled class table of one country.
#[derive(Debug, Clone)]
pub struct ClassTable {
    trie: Trie,
    entries: Vec<(NumberClass, Option<Pattern>)>,
}

impl ClassTable {
    /// Builds a table from `class → [prefix or pattern]`; an entry with `x`, `n`, `z` or a
    /// final `.` is a pattern, anything else a literal prefix.
    pub fn new(classes: &BTreeMap<NumberClass, Vec<String>>) -> Result<Self, String> {
        let mut keys = Vec::new();
        let mut entries = Vec::new();
        for (class, list) in classes {
            for text in list {
                let is_pattern = text.contains(['x', 'X', 'n', 'N', 'z', 'Z', '.']);
                let (key, pattern) = if is_pattern {
                    let pattern = Pattern::parse(text).map_err(|e| {
                        format!("{}: {}: {e}", class_name(*class), quote_prefix(text))
                    })?;
                    (pattern.literal_prefix(), Some(pattern))
                } else {
                    super::compile::checks::check_prefix(text).map_err(|e| {
                        format!("{}: {}: {e}", class_name(*class), quote_prefix(text))
                    })?;
                    (text.clone(), None)
                };
                keys.push((key, entries.len() as u32));
                entries.push((*class, pattern));
            }
        }
        Ok(Self {
            trie: Trie::build(keys),
            entries,
        })
    }

    /// The class of `number` (E.164 or a short code), if any entry matches.
    pub fn classify(&self, number: &str) -> Option<NumberClass> {
        self.trie
            .matches(number.as_bytes())
            .flat_map(|(_, slots)| slots.iter())
            .map(|slot| &self.entries[*slot as usize])
            .find(|(_, pattern)| pattern.as_ref().is_none_or(|p| p.matches(number)))
            .map(|(class, _)| *class)
    }
}

/// What the evaluator needs to know about an organization's country.
#[derive(Debug, Clone)]
pub struct CountryPlan {
    /// The template that declared the country; `None` for the fallback.
    pub template: Option<&'static str>,
    /// How the country writes its numbers, from the one numbering table; `None` for a country
    /// the table does not know (only `+…`/`00…` numbers and short codes are read).
    pub numbering: Option<&'static Country>,
    /// Shared by every country of one template, and by every country without one.
    pub classes: Arc<ClassTable>,
}

/// For countries no template declares: only `+…`/`00…` numbers and short codes are read, the
/// two emergency numbers every mobile phone knows (3GPP TS 22.101: 112 and 911) are emergency
/// and everything in E.164 is international.
fn fallback_classes() -> ClassTable {
    let classes = BTreeMap::from([
        (
            NumberClass::Emergency,
            vec!["112".to_string(), "911".to_string()],
        ),
        (NumberClass::International, vec!["+".to_string()]),
    ]);
    ClassTable::new(&classes).unwrap_or_else(|_| ClassTable {
        trie: Trie::default(),
        entries: Vec::new(),
    })
}

/// An ISO 3166-1 alpha-2 code in upper case, the key of the per-country table (looked up
/// without allocating or hashing, once per organization on every assembly).
type Iso = [u8; 2];

fn iso(country: &str) -> Option<Iso> {
    match country.as_bytes() {
        [a, b] => Some([a.to_ascii_uppercase(), b.to_ascii_uppercase()]),
        _ => None,
    }
}

/// Every country's plan, and the one for countries the numbering table does not know.
struct Countries {
    /// Sorted by code: a binary search over some fifty entries, no hashing.
    by_code: Vec<(Iso, CountryPlan)>,
    unknown: CountryPlan,
}

impl Countries {
    fn get(&self, key: Iso) -> Option<&CountryPlan> {
        let at = self.by_code.binary_search_by_key(&key, |(k, _)| *k).ok()?;
        Some(&self.by_code[at].1)
    }
}

/// Built once, on the first plan assembly: one class table per template and one fallback
/// table, each shared by all the countries that use it, in one sorted vector (a table per
/// country made that first assembly two to three times slower, see `bench/README.md`).
static COUNTRIES: LazyLock<Countries> = LazyLock::new(|| {
    let fallback = Arc::new(fallback_classes());
    let plan = |numbering| CountryPlan {
        template: None,
        numbering,
        classes: fallback.clone(),
    };
    let mut by_code: Vec<(Iso, CountryPlan)> = e164::COUNTRIES
        .iter()
        .filter_map(|country| Some((iso(country.iso)?, plan(Some(country)))))
        .collect();
    by_code.sort_by_key(|(key, _)| *key);
    for template in templates::shipped() {
        let Ok(classes) = ClassTable::new(&template.file.classes) else {
            continue; // a unit test proves every shipped table compiles
        };
        let classes = Arc::new(classes);
        // A unit test proves every shipped country is two letters.
        for key in template.file.countries.iter().filter_map(|c| iso(c)) {
            let at = match by_code.binary_search_by_key(&key, |(k, _)| *k) {
                Ok(at) => at,
                Err(at) => {
                    by_code.insert(at, (key, plan(None)));
                    at
                }
            };
            let country = &mut by_code[at].1;
            country.template = Some(template.file.name.as_str());
            country.classes = classes.clone();
        }
    }
    Countries {
        by_code,
        unknown: plan(None),
    }
});

/// The numbering and classes of an ISO 3166-1 alpha-2 country (the fallback classes when no
/// shipped template declares it).
pub fn for_country(country: &str) -> &'static CountryPlan {
    let countries = &*COUNTRIES;
    iso(country)
        .and_then(|key| countries.get(key))
        .unwrap_or(&countries.unknown)
}

pub fn class_name(class: NumberClass) -> &'static str {
    match class {
        NumberClass::Emergency => "emergency",
        NumberClass::Premium => "premium",
        NumberClass::International => "international",
        NumberClass::National => "national",
        NumberClass::Local => "local",
        NumberClass::TollFree => "toll-free",
        NumberClass::Mobile => "mobile",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_entry_decides_and_patterns_must_match() {
        let table = ClassTable::new(&BTreeMap::from([
            (NumberClass::International, vec!["+".into()]),
            (NumberClass::National, vec!["+1nxxnxxxxxx".into()]),
            (NumberClass::TollFree, vec!["+1800".into()]),
            (NumberClass::Emergency, vec!["911".into()]),
        ]))
        .unwrap();
        assert_eq!(table.classify("+18005550199"), Some(NumberClass::TollFree));
        assert_eq!(table.classify("+14155550100"), Some(NumberClass::National));
        assert_eq!(
            table.classify("+11555550100"),
            Some(NumberClass::International),
            "not a valid NANP number: the pattern fails and the shorter entry applies"
        );
        assert_eq!(table.classify("911"), Some(NumberClass::Emergency));
        assert_eq!(table.classify("9110"), Some(NumberClass::Emergency));
        assert_eq!(table.classify("411"), None);
    }

    #[test]
    fn bad_entries_name_the_class() {
        let err = ClassTable::new(&BTreeMap::from([(
            NumberClass::Premium,
            vec!["+19a0".into()],
        )]))
        .unwrap_err();
        assert!(err.starts_with("premium"), "{err}");
    }

    #[test]
    fn class_sets() {
        let set = ClassSet::of(&[NumberClass::Premium, NumberClass::International]);
        assert!(set.contains(NumberClass::Premium));
        assert!(!set.contains(NumberClass::National));
        assert!(ClassSet::of(&[]).is_empty());
    }

    #[test]
    fn numbering_comes_from_the_one_table() {
        let us = for_country("US");
        assert_eq!(us.template, Some("nanp"));
        assert_eq!(us.numbering.map(|c| c.iso), Some("US"));
        assert_eq!(
            for_country("je").numbering.map(|c| c.calling_code),
            Some("44")
        );
        // A country without a template still reads its national forms (fallback classes).
        let de = for_country("DE");
        assert!(de.template.is_none());
        assert_eq!(de.numbering.map(|c| c.iso), Some("DE"));
        assert!(for_country("ZZ").numbering.is_none());
    }

    #[test]
    fn unknown_countries_get_the_fallback() {
        let plan = for_country("ZZ");
        assert!(plan.template.is_none());
        assert_eq!(plan.classes.classify("112"), Some(NumberClass::Emergency));
        assert_eq!(
            plan.classes.classify("+33199001234"),
            Some(NumberClass::International)
        );
    }

    #[test]
    fn every_shipped_country_is_read_with_its_template() {
        for template in templates::shipped() {
            for country in &template.file.countries {
                assert_eq!(
                    for_country(country).template,
                    Some(template.file.name.as_str()),
                    "{country}"
                );
            }
        }
        for country in e164::COUNTRIES {
            let numbering = for_country(country.iso).numbering;
            assert_eq!(numbering.map(|c| c.iso), Some(country.iso));
        }
        assert!(for_country("USA").template.is_none());
        assert_eq!(for_country("gb").template, Some("uk"));
    }

    #[test]
    fn countries_of_one_template_share_one_table() {
        assert!(Arc::ptr_eq(
            &for_country("US").classes,
            &for_country("PR").classes
        ));
        assert!(Arc::ptr_eq(
            &for_country("DE").classes,
            &for_country("ZZ").classes
        ));
        assert!(!Arc::ptr_eq(
            &for_country("US").classes,
            &for_country("GB").classes
        ));
    }
}
