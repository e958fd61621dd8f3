//! Money: exact sums, refused mixtures, explicit rounding, and both storage forms.

use super::*;
use crate::types::column::corrupt_of;
use crate::types::column::tests::{sqlite_decode, sqlite_round_trip};
use rand::{Rng, SeedableRng};
use std::str::FromStr;

fn eur(text: &str) -> Money {
    Money::new(
        Decimal::from_str_exact(text).unwrap(),
        Currency::parse("EUR").unwrap(),
    )
}

fn usd(text: &str) -> Money {
    Money::new(
        Decimal::from_str_exact(text).unwrap(),
        Currency::parse("usd").unwrap(),
    )
}

#[test]
fn a_million_small_prices_sum_exactly() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    // Prices of 0.0001 to 0.9999 with four places, as per-minute rates are quoted; the
    // expected total is summed in integer ten-thousandths.
    let mut minor: i64 = 0;
    let mut total = Money::zero(Currency::parse("EUR").unwrap());
    for _ in 0..1_000_000 {
        let units = rng.random_range(1..10_000i64);
        minor += units;
        total = total
            .add(&Money::new(Decimal::new(units, 4), total.currency))
            .unwrap();
    }
    assert_eq!(total.amount, Decimal::new(minor, 4));
    // The same with a float drifts: the reason money is never an f64.
    let float: f64 = (0..1_000_000).map(|_| 0.0001).sum();
    assert_ne!(float, 100.0);
    let tenth = eur("0.0001");
    let many = vec![tenth; 1_000_000];
    assert_eq!(
        Money::sum(tenth.currency, &many).unwrap().amount,
        Decimal::from(100)
    );
}

#[test]
fn mixed_currencies_are_refused_not_converted() {
    assert_eq!(
        eur("1.00").add(&usd("1.00")),
        Err(MoneyError::MixedCurrencies {
            left: Currency::parse("EUR").unwrap(),
            right: Currency::parse("USD").unwrap(),
        })
    );
    assert!(eur("1").sub(&usd("1")).is_err());
    let err = Money::sum(eur("0").currency, &[eur("1"), usd("2")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot combine EUR with USD: different currencies"
    );
    assert_eq!(eur("2.50").sub(&eur("3")).unwrap(), eur("-0.50"));
    let max = Money::new(Decimal::MAX, eur("0").currency);
    assert_eq!(max.add(&eur("1")), Err(MoneyError::Overflow));
    assert_eq!(max.times(Decimal::TWO), Err(MoneyError::Overflow));
}

#[test]
fn arithmetic_keeps_every_digit_until_rounded_explicitly() {
    let rate = eur("0.0125");
    let cost = rate.times(Decimal::from_str("3.5").unwrap()).unwrap();
    assert_eq!(cost.amount.to_string(), "0.04375");
    assert_eq!(
        cost.round(4, Rounding::HalfEven).amount.to_string(),
        "0.0438"
    );
    assert_eq!(
        eur("0.125").round(2, Rounding::HalfEven).amount.to_string(),
        "0.12"
    );
    assert_eq!(
        eur("0.135").round(2, Rounding::HalfEven).amount.to_string(),
        "0.14"
    );
    assert_eq!(
        eur("0.125").round(2, Rounding::HalfUp).amount.to_string(),
        "0.13"
    );
    assert_eq!(
        eur("-0.125").round(2, Rounding::HalfUp).amount.to_string(),
        "-0.13"
    );
    assert_eq!(
        eur("0.129").round(2, Rounding::Down).amount.to_string(),
        "0.12"
    );
    assert_eq!(
        eur("0.121").round(2, Rounding::Up).amount.to_string(),
        "0.13"
    );
}

#[test]
fn json_carries_the_amount_as_a_string_and_the_currency() {
    let price = eur("12.3400");
    let json = serde_json::to_string(&price).unwrap();
    assert_eq!(json, r#"{"amount":"12.3400","currency":"EUR"}"#);
    assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), price);
    assert_eq!(
        serde_json::to_string(&Amount(price.amount)).unwrap(),
        r#""12.3400""#
    );
    for bad in [
        r#"{"amount":"12.34","currency":"EURO"}"#,
        r#"{"amount":"12,34","currency":"EUR"}"#,
        r#"{"amount":"12.34"}"#,
        r#"{"amount":"1","currency":"EUR","rate":1}"#,
    ] {
        assert!(serde_json::from_str::<Money>(bad).is_err(), "{bad}");
    }
    let e = Currency::parse("E1R").unwrap_err().to_string();
    assert!(e.contains("ISO 4217") && e.contains("E1R"), "{e}");
}

#[test]
fn generated_amounts_round_trip_through_text_and_json() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for _ in 0..5000 {
        let amount = Decimal::new(
            rng.random_range(-10_i64.pow(15)..10_i64.pow(15)),
            rng.random_range(0..=8),
        );
        let text = amount.to_string();
        let back: Amount = text.parse().unwrap();
        assert_eq!((back.0, back.0.scale()), (amount, amount.scale()), "{text}");
        let json = serde_json::to_string(&Amount(amount)).unwrap();
        assert_eq!(
            serde_json::from_str::<Amount>(&json).unwrap(),
            Amount(amount)
        );
    }
}

#[tokio::test]
async fn sqlite_stores_the_exact_text() {
    let amount = Amount(Decimal::from_str_exact("12.3400").unwrap());
    let (back, text) = sqlite_round_trip(&amount).await;
    assert_eq!((back.0.scale(), text.as_str()), (4, "12.3400"));
    let currency = Currency::parse("chf").unwrap();
    assert_eq!(sqlite_round_trip(&currency).await, (currency, "CHF".into()));
    let e = sqlite_decode::<Amount>("12.34.5").await.unwrap_err();
    assert_eq!(corrupt_of(&e).unwrap().column, "amount");
}

/// On PostgreSQL (when the integration database is configured) the amount is a NUMERIC that
/// keeps its scale.
#[tokio::test]
async fn postgres_stores_numeric() {
    let Ok(url) = std::env::var("DIALTONE_TEST_POSTGRES_URL") else {
        return;
    };
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let amount = Amount(Decimal::from_str_exact("-12.3400").unwrap());
    let (back, kind): (Amount, String) =
        sqlx::query_as("SELECT $1::NUMERIC, pg_typeof($1::NUMERIC)::TEXT")
            .bind(amount)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (back, back.0.scale(), kind.as_str()),
        (amount, 4, "numeric")
    );
    let currency: (Currency,) = sqlx::query_as("SELECT $1::TEXT")
        .bind(Currency::parse("EUR").unwrap())
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(currency.0.as_str(), "EUR");
}
