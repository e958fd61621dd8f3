//! How value types are stored: as their canonical text on both backends, parsed again on the
//! way out, so a corrupt stored value is a decode error that names it instead of a default.
//!
//! [`text_column!`] gives a type sqlx `Type`/`Encode`/`Decode` for SQLite and PostgreSQL from
//! its `Display` and a parser; [`Corrupt`] is the error a store returns when a row it read
//! holds a value its type refuses, with the row named (the HTTP edge shows that much, and
//! logs the rest).

use std::fmt;

/// A stored value its type refused. Column decoders return it without a row (they cannot see
/// one); stores that read rows wrap it with [`Corrupt::row`] so the table and id are named.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Corrupt {
    /// `numbers 17`; empty when decoded outside a row.
    pub row: String,
    pub column: &'static str,
    pub value: String,
    pub why: String,
}

impl fmt::Display for Corrupt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.row.is_empty() {
            write!(
                f,
                "stored {} {:?} is corrupt: {}",
                self.column, self.value, self.why
            )
        } else {
            write!(
                f,
                "{}: stored {} {:?} is corrupt: {}",
                self.row, self.column, self.value, self.why
            )
        }
    }
}

impl Corrupt {
    /// A value of `column` that failed to parse.
    pub fn value(column: &'static str, value: &str, why: impl fmt::Display) -> Self {
        Self {
            row: String::new(),
            column,
            value: value.to_string(),
            why: why.to_string(),
        }
    }

    /// The same, in row `id` of `table`.
    pub fn row(mut self, table: &str, id: i64) -> Self {
        self.row = format!("{table} {id}");
        self
    }

    /// What a client is told: which row and column, not the value (that goes to the log).
    pub fn public_message(&self) -> String {
        if self.row.is_empty() {
            format!("Stored data is corrupt ({})", self.column)
        } else {
            format!("Stored data is corrupt: {} ({})", self.row, self.column)
        }
    }

    /// As the `sqlx::Error` a store returns.
    pub fn into_sqlx(self) -> sqlx::Error {
        sqlx::Error::Decode(Box::new(self))
    }
}

/// Parses `value` of `column` in row `id` of `table`, or the [`Corrupt`] error naming them.
pub fn parse_stored<T, E: fmt::Display>(
    table: &str,
    id: i64,
    column: &'static str,
    value: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> sqlx::Result<T> {
    parse(value).map_err(|why| {
        Corrupt::value(column, value, why)
            .row(table, id)
            .into_sqlx()
    })
}

/// The [`Corrupt`] inside a `sqlx::Error`, if that is what it is.
pub fn corrupt_of(error: &sqlx::Error) -> Option<&Corrupt> {
    match error {
        sqlx::Error::Decode(inner) => inner.downcast_ref::<Corrupt>(),
        sqlx::Error::ColumnDecode { source, .. } => source.downcast_ref::<Corrupt>(),
        _ => None,
    }
}

/// Implements sqlx `Type`, `Encode` and `Decode` on SQLite and PostgreSQL for `$ty`, stored as
/// TEXT: encoded with `Display`, decoded with `$parse: fn(&str) -> Result<$ty, impl Display>`.
/// A value that does not parse is a [`Corrupt`] decode error naming `$column`.
#[macro_export]
macro_rules! text_column {
    ([$($generics:tt)*] $ty:ty, $column:literal, $parse:expr) => {
        $crate::text_column!(@backend [$($generics)*] $ty, $column, $parse, sqlx::Sqlite);
        $crate::text_column!(@backend [$($generics)*] $ty, $column, $parse, sqlx::Postgres);
    };
    (@backend [$($generics:tt)*] $ty:ty, $column:literal, $parse:expr, $db:ty) => {
        impl<$($generics)*> sqlx::Type<$db> for $ty {
            fn type_info() -> <$db as sqlx::Database>::TypeInfo {
                <String as sqlx::Type<$db>>::type_info()
            }
            fn compatible(ty: &<$db as sqlx::Database>::TypeInfo) -> bool {
                <String as sqlx::Type<$db>>::compatible(ty)
            }
        }

        impl<'q, $($generics)*> sqlx::Encode<'q, $db> for $ty {
            fn encode_by_ref(
                &self,
                buf: &mut <$db as sqlx::Database>::ArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <String as sqlx::Encode<'q, $db>>::encode(self.to_string(), buf)
            }
        }

        impl<'r, $($generics)*> sqlx::Decode<'r, $db> for $ty {
            fn decode(
                value: <$db as sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <&str as sqlx::Decode<'r, $db>>::decode(value)?;
                ($parse)(text).map_err(|why| {
                    Box::new($crate::types::column::Corrupt::value($column, text, why))
                        as sqlx::error::BoxDynError
                })
            }
        }
    };
    ($ty:ty, $column:literal, $parse:expr) => {
        $crate::text_column!(@backend [] $ty, $column, $parse, sqlx::Sqlite);
        $crate::text_column!(@backend [] $ty, $column, $parse, sqlx::Postgres);
    };
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Writes `value` (bound with sqlx's encoder for `T`) to an in-memory SQLite table and reads
    /// it back, as `T` and as the stored text.
    pub async fn sqlite_round_trip<T>(value: &T) -> (T, String)
    where
        T: for<'q> sqlx::Encode<'q, sqlx::Sqlite>
            + for<'r> sqlx::Decode<'r, sqlx::Sqlite>
            + sqlx::Type<sqlx::Sqlite>
            + Send
            + Sync
            + Unpin,
    {
        let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
        sqlx::query("CREATE TABLE t (v TEXT NOT NULL)")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO t (v) VALUES ($1)")
            .bind(value)
            .execute(&pool)
            .await
            .unwrap();
        let back: (T,) = sqlx::query_as("SELECT v FROM t")
            .fetch_one(&pool)
            .await
            .unwrap();
        let text: (String,) = sqlx::query_as("SELECT v FROM t")
            .fetch_one(&pool)
            .await
            .unwrap();
        (back.0, text.0)
    }

    /// Reads `stored` (written as raw text) as `T`: the decode error a corrupt row gives.
    pub async fn sqlite_decode<T>(stored: &str) -> Result<T, sqlx::Error>
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite> + Send + Unpin,
    {
        let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
        let row: Result<(T,), _> = sqlx::query_as("SELECT $1")
            .bind(stored.to_string())
            .fetch_one(&pool)
            .await;
        row.map(|r| r.0)
    }

    #[test]
    fn a_corrupt_row_names_row_column_and_value() {
        let e = Corrupt::value("state", "availble", "not a number state").row("numbers", 7);
        assert_eq!(
            e.to_string(),
            "numbers 7: stored state \"availble\" is corrupt: not a number state"
        );
        assert_eq!(
            e.public_message(),
            "Stored data is corrupt: numbers 7 (state)"
        );
        let sqlx = e.clone().into_sqlx();
        assert_eq!(corrupt_of(&sqlx), Some(&e));
        assert!(corrupt_of(&sqlx::Error::RowNotFound).is_none());
    }
}
