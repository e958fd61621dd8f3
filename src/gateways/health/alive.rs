//! Which SIP reply codes prove a gateway alive (`2xx,4xx,!408`), as a trunk stores and the
//! health machine reads them.

use crate::types::text::quote_prefix;
use serde::{Serialize, Serializer};
use std::fmt;

/// Reply codes that prove a gateway alive, written like `2xx,4xx,!408`: classes or single codes,
/// `!` excluding. By default a 403/404/405 counts (the peer's SIP stack answered), 408, 5xx, 6xx
/// and silence do not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliveCodes {
    include: Vec<(u16, u16)>,
    exclude: Vec<(u16, u16)>,
}

/// The text of [`AliveCodes::default`] (a unit test proves the two agree).
pub const DEFAULT_ALIVE: &str = "2xx,4xx,!408";

impl Default for AliveCodes {
    /// Built directly rather than parsed from [`DEFAULT_ALIVE`], so there is no parse to fail.
    fn default() -> Self {
        Self {
            include: vec![(200, 299), (400, 499)],
            exclude: vec![(408, 408)],
        }
    }
}

impl AliveCodes {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut include = Vec::new();
        let mut exclude = Vec::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (negated, item) = match item.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, item),
            };
            let range =
                if let Some(class) = item.strip_suffix("xx").or_else(|| item.strip_suffix("XX")) {
                    match class.parse::<u16>() {
                        Ok(c @ 1..=6) => (c * 100, c * 100 + 99),
                        _ => {
                            return Err(format!(
                                "{} is not a reply class (1xx-6xx)",
                                quote_prefix(item)
                            ));
                        }
                    }
                } else {
                    match item.parse::<u16>() {
                        Ok(code @ 100..=699) => (code, code),
                        _ => {
                            return Err(format!(
                                "{} is not a SIP reply code (100-699)",
                                quote_prefix(item)
                            ));
                        }
                    }
                };
            if negated {
                exclude.push(range);
            } else {
                include.push(range);
            }
        }
        if include.is_empty() {
            return Err("must include at least one code or class".into());
        }
        Ok(Self { include, exclude })
    }

    pub fn contains(&self, code: u16) -> bool {
        let within =
            |ranges: &[(u16, u16)]| ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&code));
        within(&self.include) && !within(&self.exclude)
    }
}

impl fmt::Display for AliveCodes {
    /// The canonical text: what is stored and shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |(lo, hi): &(u16, u16)| {
            if lo == hi {
                lo.to_string()
            } else {
                format!("{}xx", lo / 100)
            }
        };
        let parts: Vec<String> = self
            .include
            .iter()
            .map(show)
            .chain(self.exclude.iter().map(|r| format!("!{}", show(r))))
            .collect();
        f.write_str(&parts.join(","))
    }
}

impl Serialize for AliveCodes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

crate::text_column!(AliveCodes, "alive_codes", AliveCodes::parse);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::column::corrupt_of;
    use crate::types::column::tests::{sqlite_decode, sqlite_round_trip};

    #[test]
    fn default_alive_set_follows_the_issue() {
        let alive = AliveCodes::default();
        for code in [200, 202, 403, 404, 405, 480, 489] {
            assert!(alive.contains(code), "{code}");
        }
        for code in [100, 180, 302, 408, 500, 503, 603] {
            assert!(!alive.contains(code), "{code}");
        }
        let custom = AliveCodes::parse("200, 404").unwrap();
        assert!(custom.contains(404) && !custom.contains(403));
        for bad in ["", "7xx", "abc", "99", "!408", "2xx,!1000"] {
            assert!(AliveCodes::parse(bad).is_err(), "{bad}");
        }
    }

    /// The default is written twice (as text and as a value): they must say the same.
    #[test]
    fn the_default_text_parses_to_the_default_value() {
        assert_eq!(AliveCodes::parse(DEFAULT_ALIVE), Ok(AliveCodes::default()));
        assert_eq!(AliveCodes::default().to_string(), DEFAULT_ALIVE);
    }

    #[tokio::test]
    async fn canonical_text_round_trips_through_json_and_the_database() {
        let codes = AliveCodes::parse(" 2xx, 404 ,!408").unwrap();
        assert_eq!(codes.to_string(), "2xx,404,!408");
        assert_eq!(serde_json::to_value(&codes).unwrap(), "2xx,404,!408");
        assert_eq!(
            sqlite_round_trip(&codes).await,
            (codes.clone(), "2xx,404,!408".to_string())
        );
        let e = sqlite_decode::<AliveCodes>("7xx").await.unwrap_err();
        assert_eq!(corrupt_of(&e).unwrap().column, "alive_codes");
    }
}
