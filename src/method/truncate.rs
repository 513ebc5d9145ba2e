//! `truncate`: a timestamp or date cut down to its hour, day, week (Monday), month or year.
//!
//! The exact second of an event, joined with anything else known about a person, is a strong
//! quasi-identifier; the day is usually all an analysis needs. `hour` gives a UTC timestamp,
//! the others a `Date` (the first day of the week, month or year), so notebooks get real
//! temporal types rather than strings.

use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, NaiveDate};
use schemars::JsonSchema;
use serde::Deserialize;

use super::{Env, Generalize, Generalizer, Method, Outcome, Output, Params, parse};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TruncateTo {
    Hour,
    Day,
    Week,
    Month,
    Year,
}

impl TruncateTo {
    pub fn name(self) -> &'static str {
        match self {
            TruncateTo::Hour => "hour",
            TruncateTo::Day => "day",
            TruncateTo::Week => "week",
            TruncateTo::Month => "month",
            TruncateTo::Year => "year",
        }
    }
}

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

/// `method = "truncate"`: `to`, or the built-in levels hour, day, month, year and null.
pub struct Truncate;

impl Method for Truncate {
    fn name(&self) -> &'static str {
        "truncate"
    }

    fn keys(&self) -> &'static [&'static str] {
        &["to"]
    }

    fn build(&self, p: &Params<'_>) -> Result<Generalizer, String> {
        let levels = if p.fixed(&[("to", p.to.is_some())])? {
            TruncateLevels {
                steps: p.to.into_iter().collect(),
                star: false,
            }
        } else if p.picks_levels {
            // No week: weeks straddle months and years, so a week is not inside one month and
            // the levels would not nest (`to = "week"` remains, as a fixed level).
            TruncateLevels {
                steps: vec![
                    TruncateTo::Hour,
                    TruncateTo::Day,
                    TruncateTo::Month,
                    TruncateTo::Year,
                ],
                star: true,
            }
        } else {
            return Err(
                "method `truncate` needs `to` = hour, day, week, month or year (or `level`)".into(),
            );
        };
        Ok(Arc::new(levels))
    }
}

/// Periods, finest first; then, when the job picks levels, null for every row (dates have no
/// `*`, and null says as much).
#[derive(Debug)]
pub struct TruncateLevels {
    steps: Vec<TruncateTo>,
    star: bool,
}

impl Generalize for TruncateLevels {
    fn method(&self) -> &'static str {
        "truncate"
    }

    fn levels(&self) -> usize {
        self.steps.len() + usize::from(self.star)
    }

    fn describe(&self, level: usize) -> String {
        match self.steps.get(level) {
            Some(to) => format!("to {}", to.name()),
            None => "* (everything)".into(),
        }
    }

    // The top is null for every row: dates have no `*`.
    fn level_name(&self, level: usize) -> String {
        match self.steps.get(level) {
            Some(to) => to.name().into(),
            None => "null".into(),
        }
    }

    fn output(&self, level: usize) -> Output {
        match self.steps.get(level) {
            Some(TruncateTo::Hour) => Output::Timestamp,
            _ => Output::Date,
        }
    }

    fn apply(&self, level: usize, value: &str, _: &Env, _: &mut String) -> Outcome {
        let number = match self.steps.get(level) {
            None => return Outcome::Null,
            Some(TruncateTo::Hour) => parse::timestamp_micros(value)
                .map(|t| t.div_euclid(MICROS_PER_HOUR) * MICROS_PER_HOUR),
            Some(to) => {
                parse::date(value).map(|d| i64::from(parse::epoch_days(truncate_date(d, *to))))
            }
        };
        number.map_or(Outcome::Invalid, Outcome::Number)
    }

    fn base(&self, value: &str, _: &Env, out: &mut String) -> bool {
        use std::fmt::Write;
        parse::timestamp_micros(value).is_some_and(|t| write!(out, "{t}").is_ok())
    }

    fn label(&self, base: Option<&str>, level: usize, out: &mut String) -> bool {
        use std::fmt::Write;
        // At the top every row is null, one class.
        let Some(to) = self.steps.get(level) else {
            return false;
        };
        let Some(t) = base
            .and_then(|b| b.parse::<i64>().ok())
            .and_then(DateTime::from_timestamp_micros)
        else {
            return false;
        };
        let _ = match to {
            TruncateTo::Hour => write!(out, "{}", t.format("%Y-%m-%dT%H:00")),
            _ => write!(out, "{}", truncate_date(t.date_naive(), *to)),
        };
        true
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
}
