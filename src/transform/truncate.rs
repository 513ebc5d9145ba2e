//! `truncate`: a timestamp or date cut down to its hour, day, week (Monday), month or year.
//!
//! The exact second of an event, joined with anything else known about a person, is a strong
//! quasi-identifier; the day is usually all an analysis needs. `hour` gives a UTC timestamp,
//! the others a `Date` (the first day of the week, month or year), so notebooks get real
//! temporal types rather than strings.

use chrono::{Datelike, Duration, NaiveDate};
use polars::prelude::*;

use super::Tally;
use crate::job::TruncateTo;

const MICROS_PER_HOUR: i64 = 3_600_000_000;

/// The first day of the period `to` that holds `d` (for `Hour`, the day itself).
pub fn truncate_date(d: NaiveDate, to: TruncateTo) -> NaiveDate {
    match to {
        TruncateTo::Hour | TruncateTo::Day => d,
        // Dates come from `parse`, years 1 to 9999, whose Mondays all exist.
        TruncateTo::Week => d
            .checked_sub_signed(Duration::days(d.weekday().num_days_from_monday() as i64))
            .unwrap_or(d),
        TruncateTo::Month => d.with_day(1).unwrap_or(d),
        TruncateTo::Year => NaiveDate::from_ymd_opt(d.year(), 1, 1).unwrap_or(d),
    }
}

/// The output type: a timestamp for `hour`, a date otherwise.
pub fn output_type(to: TruncateTo) -> DataType {
    match to {
        TruncateTo::Hour => DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC)),
        _ => DataType::Date,
    }
}

pub fn expr(input: Expr, to: TruncateTo, tally: Tally) -> Expr {
    match to {
        TruncateTo::Hour => {
            super::map_physical::<Int64Type, _>(input, output_type(to), tally, |v| {
                let t = super::parse::timestamp_micros(v)?;
                Some(t.div_euclid(MICROS_PER_HOUR) * MICROS_PER_HOUR)
            })
        }
        _ => super::map_physical::<Int32Type, _>(input, output_type(to), tally, move |v| {
            let d = super::parse::date(v)?;
            Some(super::parse::epoch_days(truncate_date(d, to)))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn periods() {
        let x = d("2026-11-26"); // a Thursday
        assert_eq!(truncate_date(x, TruncateTo::Day), x);
        assert_eq!(truncate_date(x, TruncateTo::Week), d("2026-11-23"));
        assert_eq!(
            truncate_date(d("2026-11-23"), TruncateTo::Week),
            d("2026-11-23")
        );
        assert_eq!(truncate_date(x, TruncateTo::Month), d("2026-11-01"));
        assert_eq!(truncate_date(x, TruncateTo::Year), d("2026-01-01"));
    }

    #[test]
    fn column_types_and_utc() {
        let df =
            df!("ts" => [Some("2026-11-26T01:30:00+05:00"), Some("not a time"), None]).unwrap();
        let tally = Tally::default();
        let out = df
            .lazy()
            .select([
                expr(col("ts"), TruncateTo::Day, tally.clone()).alias("day"),
                expr(col("ts"), TruncateTo::Hour, tally.clone()).alias("hour"),
            ])
            .collect()
            .unwrap();
        assert_eq!(out.column("day").unwrap().dtype(), &DataType::Date);
        // 01:30 at +05:00 is 20:30 UTC the day before.
        let day = out.column("day").unwrap().date().unwrap().physical().get(0);
        assert_eq!(day, Some(super::super::parse::epoch_days(d("2026-11-25"))));
        let hour = out
            .column("hour")
            .unwrap()
            .datetime()
            .unwrap()
            .physical()
            .get(0);
        assert_eq!(
            hour,
            super::super::parse::timestamp_micros("2026-11-25T20:00:00Z")
        );
        assert_eq!(tally.get(), 2); // the bad value, once per expression
    }
}
