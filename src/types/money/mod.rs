//! Money: an exact decimal amount with its ISO 4217 currency. Arithmetic refuses to mix
//! currencies (a `Result`, never a panic or a silent conversion) and never rounds on its own:
//! rounding happens only through [`Money::round`], with the mode named by the caller.
//!
//! JSON: `{"amount": "12.3400", "currency": "EUR"}`, the amount a string so no client reads it
//! as a float. Storage: the amount ([`Amount`]) as NUMERIC on PostgreSQL and exact text on
//! SQLite (scale kept: `12.3400` reads back as `12.3400`), the currency as its code.

mod amount;
mod currency;

pub use amount::Amount;
pub use currency::{Currency, CurrencyError};

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// An amount in one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Money {
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    pub currency: Currency,
}

/// Why a sum or product of money was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("cannot combine {left} with {right}: different currencies")]
    MixedCurrencies { left: Currency, right: Currency },
    #[error("amount out of range")]
    Overflow,
}

/// How [`Money::round`] treats the discarded digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// Half to even ("banker's rounding"): 0.125 → 0.12, 0.135 → 0.14. No bias over many
    /// roundings; what ledgers and IEEE 754 use by default.
    HalfEven,
    /// Half away from zero: 0.125 → 0.13, -0.125 → -0.13. What invoices usually print.
    HalfUp,
    /// Toward zero (truncation): 0.129 → 0.12.
    Down,
    /// Away from zero: 0.121 → 0.13 (a charge never rounds in the payer's favour).
    Up,
}

impl Rounding {
    fn strategy(self) -> RoundingStrategy {
        match self {
            Rounding::HalfEven => RoundingStrategy::MidpointNearestEven,
            Rounding::HalfUp => RoundingStrategy::MidpointAwayFromZero,
            Rounding::Down => RoundingStrategy::ToZero,
            Rounding::Up => RoundingStrategy::AwayFromZero,
        }
    }
}

impl Money {
    pub fn new(amount: Decimal, currency: Currency) -> Self {
        Self { amount, currency }
    }

    pub fn zero(currency: Currency) -> Self {
        Self::new(Decimal::ZERO, currency)
    }

    fn same_currency(&self, other: &Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::MixedCurrencies {
                left: self.currency,
                right: other.currency,
            })
        }
    }

    /// `self + other`, exactly, in their common currency.
    pub fn add(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount = self
            .amount
            .checked_add(other.amount)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }

    /// `self - other`, exactly, in their common currency.
    pub fn sub(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount = self
            .amount
            .checked_sub(other.amount)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }

    /// `self × quantity` (minutes, units), exactly: the scale grows, nothing is rounded.
    pub fn times(&self, quantity: Decimal) -> Result<Money, MoneyError> {
        let amount = self
            .amount
            .checked_mul(quantity)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }

    /// The sum of `items` in `currency` (zero for none); refuses any other currency.
    pub fn sum<'a>(
        currency: Currency,
        items: impl IntoIterator<Item = &'a Money>,
    ) -> Result<Money, MoneyError> {
        items
            .into_iter()
            .try_fold(Money::zero(currency), |total, item| total.add(item))
    }

    /// The amount rounded to `places` decimal places by `mode`; the only way money is rounded.
    pub fn round(&self, places: u32, mode: Rounding) -> Money {
        Money::new(
            self.amount.round_dp_with_strategy(places, mode.strategy()),
            self.currency,
        )
    }
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

impl utoipa::PartialSchema for Money {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .property(
                "amount",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some("Exact decimal, e.g. \"12.3400\"")),
            )
            .required("amount")
            .property(
                "currency",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some("ISO 4217 code, e.g. \"EUR\"")),
            )
            .required("currency")
            .into()
    }
}

impl utoipa::ToSchema for Money {}

#[cfg(test)]
mod tests;
