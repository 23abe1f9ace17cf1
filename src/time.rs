//! Timestamps: stored as naive UTC, shown as ISO 8601 with a `Z`, as DRF shows them.

use chrono::{Datelike, NaiveDate, NaiveDateTime, SubsecRound, Timelike, Utc};
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::pg::Pg;
use diesel::sql_types::{Nullable, Timestamp};
use diesel::sqlite::Sqlite;
use serde::Serializer;

use crate::db::MultiBackend;

/// Now, in UTC, to the microsecond both databases keep.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

fn push_digits(out: &mut [u8], mut value: u32) {
    for slot in out.iter_mut().rev() {
        // value % 10 < 10, so the cast keeps it
        *slot = b'0' + u8::try_from(value % 10).unwrap_or(0);
        value /= 10;
    }
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ`, written by hand: chrono's `format` parses its
/// pattern on every call, which showed in the profile of a 100-row list.
fn iso_bytes(t: &NaiveDateTime) -> [u8; 27] {
    let mut buf = *b"0000-00-00T00:00:00.000000Z";
    push_digits(&mut buf[0..4], u32::try_from(t.year()).unwrap_or(0));
    push_digits(&mut buf[5..7], t.month());
    push_digits(&mut buf[8..10], t.day());
    push_digits(&mut buf[11..13], t.hour());
    push_digits(&mut buf[14..16], t.minute());
    push_digits(&mut buf[17..19], t.second());
    push_digits(&mut buf[20..26], (t.nanosecond() % 1_000_000_000) / 1000);
    buf
}

pub fn iso(t: &NaiveDateTime) -> String {
    String::from_utf8_lossy(&iso_bytes(t)).into_owned()
}

/// `#[serde(serialize_with = "crate::time::serialize")]`
pub fn serialize<S: Serializer>(t: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
    let buf = iso_bytes(t);
    // only ASCII digits and separators were written
    s.serialize_str(std::str::from_utf8(&buf).unwrap_or_default())
}

/// The same for an optional timestamp (`null` when absent).
pub fn serialize_opt<S: Serializer>(t: &Option<NaiveDateTime>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => serialize(t, s),
        None => s.serialize_none(),
    }
}

/// A timestamp as read from the database, for `#[diesel(deserialize_as = Stored)]`.
///
/// SQLite keeps timestamps as text, which Diesel parses by trying chrono format
/// strings in turn: a sixth of the instructions of a 100-row list. The shape Hearth
/// writes (`YYYY-MM-DD HH:MM:SS[.ffffff]`) is read here by hand; anything else still
/// goes through Diesel.
#[derive(Debug, Clone, Copy, diesel::deserialize::FromSqlRow)]
pub struct Stored(pub NaiveDateTime);

/// The nullable form, for `Option<NaiveDateTime>` fields.
#[derive(Debug, Clone, Copy, diesel::deserialize::FromSqlRow)]
pub struct MaybeStored(pub Option<NaiveDateTime>);

impl From<Stored> for NaiveDateTime {
    fn from(t: Stored) -> Self {
        t.0
    }
}

impl From<MaybeStored> for Option<NaiveDateTime> {
    fn from(t: MaybeStored) -> Self {
        t.0
    }
}

fn digits(s: &[u8]) -> Option<u32> {
    s.iter().try_fold(0u32, |n, &c| {
        c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
    })
}

/// `YYYY-MM-DD HH:MM:SS` with an optional fraction of 1 to 9 digits.
fn parse_sqlite(text: &str) -> Option<NaiveDateTime> {
    let b = text.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b' '
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let nanos = match &b[19..] {
        [] => 0,
        [b'.', frac @ ..] if (1..=9).contains(&frac.len()) => {
            digits(frac)? * 10u32.pow(9 - u32::try_from(frac.len()).ok()?)
        }
        _ => return None,
    };
    let year = i32::try_from(digits(&b[0..4])?).ok()?;
    NaiveDate::from_ymd_opt(year, digits(&b[5..7])?, digits(&b[8..10])?)?.and_hms_nano_opt(
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
        nanos,
    )
}

impl FromSql<Timestamp, Sqlite> for Stored {
    fn from_sql(
        mut value: <Sqlite as diesel::backend::Backend>::RawValue<'_>,
    ) -> deserialize::Result<Self> {
        if let Some(t) = parse_sqlite(value.read_text()) {
            return Ok(Self(t));
        }
        <NaiveDateTime as FromSql<Timestamp, Sqlite>>::from_sql(value).map(Self)
    }
}

impl FromSql<Timestamp, Pg> for Stored {
    fn from_sql(
        value: <Pg as diesel::backend::Backend>::RawValue<'_>,
    ) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Timestamp, Pg>>::from_sql(value).map(Self)
    }
}

impl FromSql<Timestamp, MultiBackend> for Stored {
    fn from_sql(
        value: <MultiBackend as diesel::backend::Backend>::RawValue<'_>,
    ) -> deserialize::Result<Self> {
        value.from_sql::<Self, Timestamp>()
    }
}

impl<DB: Backend> FromSql<Nullable<Timestamp>, DB> for MaybeStored
where
    Stored: FromSql<Timestamp, DB>,
{
    fn from_sql(value: DB::RawValue<'_>) -> deserialize::Result<Self> {
        Ok(Self(Some(Stored::from_sql(value)?.0)))
    }

    fn from_nullable_sql(value: Option<DB::RawValue<'_>>) -> deserialize::Result<Self> {
        value.map_or(Ok(Self(None)), Self::from_sql)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_matches_drf() {
        let t = chrono::NaiveDate::from_ymd_opt(2026, 1, 2)
            .unwrap()
            .and_hms_micro_opt(3, 4, 5, 67)
            .unwrap();
        assert_eq!(iso(&t), "2026-01-02T03:04:05.000067Z");
        assert_eq!(iso(&t), t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string());
    }

    #[test]
    fn reads_what_sqlite_keeps() {
        let t = chrono::NaiveDate::from_ymd_opt(2026, 1, 2)
            .unwrap()
            .and_hms_micro_opt(3, 4, 5, 67)
            .unwrap();
        // What Diesel writes for a NaiveDateTime, read back the same.
        let written = t.format("%F %T%.f").to_string();
        assert_eq!(parse_sqlite(&written), Some(t));
        assert_eq!(
            parse_sqlite("2026-01-02 03:04:05"),
            Some(t.with_nanosecond(0).unwrap())
        );
        assert_eq!(
            parse_sqlite("2026-01-02 03:04:05.5").unwrap().nanosecond(),
            500_000_000
        );
        for other in [
            "2026-01-02T03:04:05",
            "2026-13-02 03:04:05",
            "2026-01-02 03:04:05Z",
            "x",
            "",
        ] {
            assert_eq!(parse_sqlite(other), None, "{other}");
        }
    }
}
