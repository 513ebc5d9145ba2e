//! Retention (policy clause 4.3): activity is kept at most N days.
//!
//! Each row gets a state: kept, expired (dated before the cut-off) or undated (the retention
//! column is empty or unreadable). Undated rows are removed too: a row whose age cannot be
//! shown to be within the limit may not be kept. Both are counted in the report.

use chrono::{Duration, NaiveDate};
use polars::prelude::*;

use crate::job::Retention;
use crate::method::parse;
use crate::transform::{Tally, map_physical};

pub const KEPT: i32 = 0;
pub const EXPIRED: i32 = 1;
pub const UNDATED: i32 = 2;
/// Listed in an erasure request (see [`super::erasure`]); decided before the others.
pub const ERASED: i32 = 3;

/// The first instant that is still kept: midnight UTC of the run date, minus `days`.
pub fn cutoff_micros(run_date: NaiveDate, days: u32) -> i64 {
    let day = run_date - Duration::days(i64::from(days));
    day.and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp_micros())
        .unwrap_or(i64::MIN)
}

/// The state of each row (Int32: [`KEPT`], [`EXPIRED`], [`UNDATED`]); every row is kept when
/// the table has no retention. With `unreadable`, a row whose date is present but cannot be
/// read gets that state instead of [`UNDATED`] (a bad row, see [`super::bad_rows`]).
pub fn state_expr(
    retention: Option<&Retention>,
    run_date: NaiveDate,
    unreadable: Option<i32>,
) -> Expr {
    let Some(r) = retention else {
        return lit(KEPT).cast(DataType::Int32);
    };
    let cutoff = cutoff_micros(run_date, r.days);
    let ts = map_physical::<Int64Type, _>(
        col(r.column.as_str()),
        DataType::Int64,
        Tally::default(),
        parse::timestamp_micros,
    );
    let missing = match unreadable {
        Some(bad) => when(crate::transform::present(col(r.column.as_str())))
            .then(lit(bad))
            .otherwise(lit(UNDATED)),
        None => lit(UNDATED),
    };
    when(ts.clone().is_null())
        .then(missing)
        .when(ts.lt(lit(cutoff)))
        .then(lit(EXPIRED))
        .otherwise(lit(KEPT))
        .cast(DataType::Int32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states() {
        let run = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        let r = Retention {
            column: "ts".into(),
            days: 1826,
        };
        let df = df!("ts" => [
            Some("2021-11-26T00:00:00Z"),       // exactly the cut-off: kept
            Some("2021-11-25T23:59:59Z"),       // a second before: expired
            Some("2021-11-26T04:00:00+05:00"),  // 23:00 UTC the day before: expired
            Some("2026-11-25T12:00:00+05:00"),
            None,
            Some("garbage"),
        ])
        .unwrap();
        let out = df
            .lazy()
            .select([
                state_expr(Some(&r), run, None).alias("s"),
                state_expr(Some(&r), run, Some(99)).alias("b"),
            ])
            .collect()
            .unwrap();
        let states = |name: &str| -> Vec<i32> {
            let c = out.column(name).unwrap().i32().unwrap().clone();
            c.iter().flatten().collect()
        };
        assert_eq!(
            states("s"),
            [KEPT, EXPIRED, EXPIRED, KEPT, UNDATED, UNDATED]
        );
        // Marking unreadable dates: `garbage` is bad, the missing date still undated.
        let b = states("b");
        assert_eq!(b, [KEPT, EXPIRED, EXPIRED, KEPT, UNDATED, 99]);
    }
}
