//! A money amount as a database column: NUMERIC on PostgreSQL (exact, sqlx's rust_decimal
//! codec), TEXT on SQLite, where a NUMERIC column would turn `12.3400` into the float 12.34.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::{Postgres, Sqlite};
use std::str::FromStr;

/// An exact decimal; JSON as a string (`"12.3400"`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Amount(#[serde(with = "rust_decimal::serde::str")] pub Decimal);

impl FromStr for Amount {
    type Err = rust_decimal::Error;
    /// Exactly as written: no rounding of digits beyond the 28 a decimal holds (refused).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Decimal::from_str_exact(text.trim()).map(Amount)
    }
}

impl std::fmt::Display for Amount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl sqlx::Type<Sqlite> for Amount {
    fn type_info() -> <Sqlite as sqlx::Database>::TypeInfo {
        <String as sqlx::Type<Sqlite>>::type_info()
    }
    fn compatible(ty: &<Sqlite as sqlx::Database>::TypeInfo) -> bool {
        <String as sqlx::Type<Sqlite>>::compatible(ty)
    }
}

impl<'q> sqlx::Encode<'q, Sqlite> for Amount {
    fn encode_by_ref(
        &self,
        buf: &mut <Sqlite as sqlx::Database>::ArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        <String as sqlx::Encode<'q, Sqlite>>::encode(self.0.to_string(), buf)
    }
}

impl<'r> sqlx::Decode<'r, Sqlite> for Amount {
    fn decode(
        value: <Sqlite as sqlx::Database>::ValueRef<'r>,
    ) -> Result<Self, sqlx::error::BoxDynError> {
        let text = <&str as sqlx::Decode<'r, Sqlite>>::decode(value)?;
        text.parse().map_err(|why| {
            Box::new(crate::types::column::Corrupt::value("amount", text, why))
                as sqlx::error::BoxDynError
        })
    }
}

impl sqlx::Type<Postgres> for Amount {
    fn type_info() -> <Postgres as sqlx::Database>::TypeInfo {
        <Decimal as sqlx::Type<Postgres>>::type_info()
    }
    fn compatible(ty: &<Postgres as sqlx::Database>::TypeInfo) -> bool {
        <Decimal as sqlx::Type<Postgres>>::compatible(ty)
    }
}

impl<'q> sqlx::Encode<'q, Postgres> for Amount {
    fn encode_by_ref(
        &self,
        buf: &mut <Postgres as sqlx::Database>::ArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        <Decimal as sqlx::Encode<'q, Postgres>>::encode_by_ref(&self.0, buf)
    }
}

impl<'r> sqlx::Decode<'r, Postgres> for Amount {
    fn decode(
        value: <Postgres as sqlx::Database>::ValueRef<'r>,
    ) -> Result<Self, sqlx::error::BoxDynError> {
        <Decimal as sqlx::Decode<'r, Postgres>>::decode(value).map(Amount)
    }
}

impl utoipa::PartialSchema for Amount {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("Exact decimal, e.g. \"12.3400\""))
            .into()
    }
}

impl utoipa::ToSchema for Amount {}
