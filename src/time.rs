//! Timestamps: stored as naive UTC, shown as ISO 8601 with a `Z`, as DRF shows them.

use chrono::{NaiveDateTime, SubsecRound, Utc};
use serde::Serializer;

/// Now, in UTC, to the microsecond both databases keep.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

pub fn iso(t: &NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// `#[serde(serialize_with = "crate::time::serialize")]`
pub fn serialize<S: Serializer>(t: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&t.format("%Y-%m-%dT%H:%M:%S%.6fZ"))
}

/// The same for an optional timestamp (`null` when absent).
pub fn serialize_opt<S: Serializer>(t: &Option<NaiveDateTime>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => serialize(t, s),
        None => s.serialize_none(),
    }
}
