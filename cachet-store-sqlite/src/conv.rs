//! Conversions between SQLite values and domain types. Everything read back is checked
//! again (enums through `TryFrom<i64>`, instants through chrono), so a corrupt row is an
//! error, never a panic or a made-up value.

use std::collections::BTreeMap;

use cachet_core::enums::UnknownValue;
use cachet_core::secret::TokenHash;
use chrono::{DateTime, Utc};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ValueRef};

use crate::error::Corrupt;

/// An instant stored as INTEGER unix seconds.
pub(crate) struct Ts(pub(crate) DateTime<Utc>);

impl FromSql for Ts {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let secs = i64::column_result(value)?;
        DateTime::from_timestamp(secs, 0)
            .map(Ts)
            .ok_or(FromSqlError::OutOfRange(secs))
    }
}

/// An optional instant.
pub(crate) fn opt_ts(v: Option<Ts>) -> Option<DateTime<Utc>> {
    v.map(|t| t.0)
}

/// A member of a closed enum stored as INTEGER.
pub(crate) struct En<T>(pub(crate) T);

impl<T: TryFrom<i64, Error = UnknownValue>> FromSql for En<T> {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let raw = i64::column_result(value)?;
        T::try_from(raw)
            .map(En)
            .map_err(|e| FromSqlError::Other(Box::new(e)))
    }
}

/// An optional member of a closed enum.
pub(crate) fn opt_en<T>(v: Option<En<T>>) -> Option<T> {
    v.map(|e| e.0)
}

/// A JSON value stored as TEXT.
pub(crate) struct JsonValue(pub(crate) serde_json::Value);

impl FromSql for JsonValue {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        serde_json::from_str(text)
            .map(JsonValue)
            .map_err(|e| FromSqlError::Other(Box::new(e)))
    }
}

/// A JSON object stored as TEXT.
pub(crate) struct JsonMap(pub(crate) BTreeMap<String, serde_json::Value>);

impl FromSql for JsonMap {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        serde_json::from_str(text)
            .map(JsonMap)
            .map_err(|e| FromSqlError::Other(Box::new(e)))
    }
}

/// A SHA-256 digest stored as 64 lowercase hex digits.
pub(crate) struct Hash(pub(crate) TokenHash);

impl FromSql for Hash {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        TokenHash::from_hex(text)
            .map(Hash)
            .ok_or_else(|| FromSqlError::Other(Box::new(Corrupt("digest"))))
    }
}

/// A list of ids as a JSON array, for `IN (SELECT value FROM json_each(?))`: one bound
/// parameter whatever the number of ids.
pub(crate) fn id_array(ids: impl IntoIterator<Item = i64>) -> String {
    let mut out = String::from("[");
    for (i, id) in ids.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&id.to_string());
    }
    out.push(']');
    out
}

/// Whole seconds of an instant, as stored.
pub(crate) fn secs(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

/// The first whole second at or after `t`: for `stored >= t` and `stored < t` comparisons
/// against whole-second columns, exact even when `t` has a fraction.
pub(crate) fn secs_ceil(t: DateTime<Utc>) -> i64 {
    let s = t.timestamp();
    if t.timestamp_subsec_nanos() > 0 {
        s.saturating_add(1)
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_arrays_are_json() {
        assert_eq!(id_array([]), "[]");
        assert_eq!(id_array([1, -2, 3]), "[1,-2,3]");
    }

    #[test]
    fn ceil_rounds_fractions_up() {
        let whole = DateTime::from_timestamp(10, 0).unwrap_or_default();
        let half = DateTime::from_timestamp(10, 500_000_000).unwrap_or_default();
        assert_eq!(secs_ceil(whole), 10);
        assert_eq!(secs_ceil(half), 11);
        let before = DateTime::from_timestamp(-10, 500_000_000).unwrap_or_default();
        assert_eq!(secs_ceil(before), -9);
    }
}
