//! Timestamps: stored as naive UTC, shown as ISO 8601 with a `Z`, as DRF shows them.

use std::cell::Cell;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, SubsecRound, Timelike, Utc};
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

thread_local! {
    /// The last date written, as text: the rows of a page are mostly of a few
    /// days, and a date's year, month and day are each worked out from chrono's
    /// packed form. It starts as the earliest date's own text (its negative year
    /// is written as 0000, as by `iso_bytes`).
    static LAST_DATE: Cell<(NaiveDate, [u8; 10])> =
        const { Cell::new((NaiveDate::MIN, *b"0000-01-01")) };
    /// The last day read from PostgreSQL (days since 2000-01-01) and its date.
    static LAST_PG_DAY: Cell<(i64, NaiveDate)> = const { Cell::new((i64::MIN, NaiveDate::MIN)) };
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ`, written by hand: chrono's `format` parses its
/// pattern on every call, which showed in the profile of a 100-row list.
fn iso_bytes(t: &NaiveDateTime) -> [u8; 27] {
    let mut buf = *b"0000-00-00T00:00:00.000000Z";
    let date = t.date();
    let (last, text) = LAST_DATE.get();
    if last == date {
        buf[..10].copy_from_slice(&text);
    } else {
        push_digits(&mut buf[0..4], u32::try_from(t.year()).unwrap_or(0));
        push_digits(&mut buf[5..7], t.month());
        push_digits(&mut buf[8..10], t.day());
        let mut text = [0; 10];
        text.copy_from_slice(&buf[..10]);
        LAST_DATE.set((date, text));
    }
    let seconds = t.num_seconds_from_midnight();
    push_digits(&mut buf[11..13], seconds / 3600);
    push_digits(&mut buf[14..16], seconds / 60 % 60);
    push_digits(&mut buf[17..19], seconds % 60);
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

/// PostgreSQL sends a timestamp as microseconds since 2000-01-01. Diesel adds
/// them to that day with chrono's calendar arithmetic, a tenth of the instructions
/// of a 100-task page; here the day is looked up once for the rows that share it.
impl FromSql<Timestamp, Pg> for Stored {
    fn from_sql(
        value: <Pg as diesel::backend::Backend>::RawValue<'_>,
    ) -> deserialize::Result<Self> {
        const DAY: i64 = 86_400_000_000;
        let Ok(bytes) = <[u8; 8]>::try_from(value.as_bytes()) else {
            return <NaiveDateTime as FromSql<Timestamp, Pg>>::from_sql(value).map(Self);
        };
        let micros = i64::from_be_bytes(bytes);
        let (day, in_day) = (micros.div_euclid(DAY), micros.rem_euclid(DAY));
        let (last, date) = LAST_PG_DAY.get();
        let date = if last == day {
            date
        } else {
            let Some(date) = i32::try_from(day)
                .ok()
                .and_then(|d| d.checked_add(PG_EPOCH_DAYS_FROM_CE))
                .and_then(NaiveDate::from_num_days_from_ce_opt)
            else {
                return <NaiveDateTime as FromSql<Timestamp, Pg>>::from_sql(value).map(Self);
            };
            LAST_PG_DAY.set((day, date));
            date
        };
        // in_day < DAY: its seconds fit a u32, its microseconds' nanoseconds too
        let seconds = u32::try_from(in_day / 1_000_000)?;
        let nanos = u32::try_from(in_day % 1_000_000 * 1000)?;
        let time = NaiveTime::from_num_seconds_from_midnight_opt(seconds, nanos)
            .ok_or("a time of day out of range")?;
        Ok(Self(date.and_time(time)))
    }
}

/// 2000-01-01, PostgreSQL's epoch, in chrono's days from 0001-01-01 (day 1).
const PG_EPOCH_DAYS_FROM_CE: i32 = 730_120;

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
    fn iso_of_days_in_turn_is_each_its_own() {
        let day = |d| chrono::NaiveDate::from_ymd_opt(2026, 1, d).unwrap();
        for t in [
            day(2).and_hms_micro_opt(23, 59, 59, 999_999).unwrap(),
            day(2).and_hms_micro_opt(0, 0, 0, 0).unwrap(),
            day(3).and_hms_micro_opt(12, 30, 1, 5).unwrap(),
            day(2).and_hms_micro_opt(1, 2, 3, 4).unwrap(),
            chrono::NaiveDate::from_ymd_opt(1, 1, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap(),
        ] {
            assert_eq!(iso(&t), t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string());
        }
    }

    #[test]
    fn the_earliest_date_is_written_as_before_on_a_fresh_thread() {
        let earliest = NaiveDate::MIN.and_hms_opt(0, 0, 0).unwrap();
        let text = std::thread::spawn(move || iso(&earliest)).join().unwrap();
        assert_eq!(text, "0000-01-01T00:00:00.000000Z");
    }

    #[test]
    fn the_postgres_epoch_is_the_first_day_of_2000() {
        assert_eq!(
            NaiveDate::from_num_days_from_ce_opt(PG_EPOCH_DAYS_FROM_CE),
            NaiveDate::from_ymd_opt(2000, 1, 1)
        );
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
