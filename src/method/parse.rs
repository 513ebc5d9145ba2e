//! Reading dates and timestamps from text, shared by the methods that need them (`age`,
//! `truncate`, `keep` with a date type) and by retention.
//!
//! Exports carry ISO 8601 with an offset (`2024-03-05T14:22:11+05:00`); Parquet and NDJSON
//! inputs that polars already typed arrive here as `2024-03-05 09:22:11.000000`. Both are read;
//! times with an offset are converted to UTC, times without one are taken as UTC.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime};

/// Years a date may have: ISO 8601's four digits. chrono reads years from -262143 to 262142,
/// and arithmetic near those ends overflows (the Monday of `-262143-01-01`'s week does not
/// exist); no export means them.
const YEARS: std::ops::RangeInclusive<i32> = 1..=9999;
/// The same years as microseconds since the epoch, from `0001-01-01T00:00:00Z` to
/// `9999-12-31T23:59:59.999999Z`: a range check instead of a calendar conversion per value.
const MICROS: std::ops::RangeInclusive<i64> = -62_135_596_800_000_000..=253_402_300_799_999_999;

/// Microseconds since the Unix epoch, UTC, of a time in years 1 to 9999.
pub fn timestamp_micros(s: &str) -> Option<i64> {
    any_timestamp_micros(s).filter(|t| MICROS.contains(t))
}

fn any_timestamp_micros(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_micros());
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc().timestamp_micros());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().timestamp_micros());
    }
    None
}

/// A calendar date in years 1 to 9999: `YYYY-MM-DD`, or the UTC date of a timestamp.
pub fn date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    // Only a bare date has ten characters (`2024-03-05`): a timestamp column skips the failing
    // date parse (and dates written `2024-3-5` are read by the timestamp fallbacks).
    if s.len() == 10
        && let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d")
    {
        return YEARS.contains(&d.year()).then_some(d);
    }
    let micros = timestamp_micros(s)?;
    DateTime::from_timestamp_micros(micros).map(|t| t.date_naive())
}

/// Days since the Unix epoch: the physical value of a polars `Date`.
pub fn epoch_days(d: NaiveDate) -> i32 {
    (d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date")).num_days() as i32
}

/// A delimiter a job file gives (`delimiter = ";"`): one ASCII character that cannot end a line
/// or open a quote.
pub fn single_ascii(s: &str) -> Option<u8> {
    match s.as_bytes() {
        [b] if b.is_ascii() && *b != b'\n' && *b != b'\r' && *b != b'"' => Some(*b),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_offsets_fractions_and_typed_forms() {
        let utc = timestamp_micros("2024-03-05T09:22:11Z").unwrap();
        assert_eq!(timestamp_micros("2024-03-05T14:22:11+05:00"), Some(utc));
        assert_eq!(timestamp_micros("2024-03-05 09:22:11.000000"), Some(utc));
        assert_eq!(timestamp_micros("2024-03-05T09:22:11"), Some(utc));
        assert_eq!(
            timestamp_micros("2024-03-05T14:22:11.250+05:00"),
            Some(utc + 250_000)
        );
        assert_eq!(
            timestamp_micros("2024-03-05"),
            timestamp_micros("2024-03-05T00:00:00Z")
        );
        for bad in [
            "",
            "yesterday",
            "2024-13-01T00:00:00Z",
            "2024-03-05T25:00:00+05:00",
        ] {
            assert_eq!(timestamp_micros(bad), None, "{bad}");
        }
    }

    #[test]
    fn dates() {
        let d = NaiveDate::from_ymd_opt(1990, 2, 28).unwrap();
        assert_eq!(date("1990-02-28"), Some(d));
        assert_eq!(date("1990-02-28T23:00:00+00:00"), Some(d));
        assert_eq!(date("1990-02-30"), None);
        assert_eq!(epoch_days(NaiveDate::from_ymd_opt(1970, 1, 2).unwrap()), 1);
    }

    /// Regression (found by the `values` fuzz target): chrono's extreme years were read, and
    /// truncating `-262143-01-01` to its week overflowed into a panic.
    #[test]
    fn years_outside_1_to_9999_are_unreadable() {
        for bad in [
            "-262143-1-1",
            "-262143-01-03T00:00:00Z",
            "0000-01-01",
            "10000-01-01",
        ] {
            assert_eq!(date(bad), None, "{bad}");
            assert_eq!(timestamp_micros(bad), None, "{bad}");
        }
        assert!(date("0001-01-01").is_some());
        assert!(date("9999-12-31").is_some());
        // The ends of the range, as timestamps.
        assert!(timestamp_micros("0001-01-01T00:00:00Z").is_some());
        assert!(timestamp_micros("9999-12-31T23:59:59.999999Z").is_some());
        assert_eq!(timestamp_micros("0000-12-31T23:59:59.999999Z"), None);
        assert_eq!(timestamp_micros("0001-01-01T00:00:00+00:01"), None);
        assert!(date("2024-3-5").is_some());
    }
}
