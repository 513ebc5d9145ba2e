//! `age`: a birth date becomes an age band on the run date (`"30-39"`, open top `"80+"`).
//!
//! A birth date is one of the strongest quasi-identifiers there is (with gender and a city it
//! singles out most people); an age band keeps what marketing needs. The age is taken on the
//! run date, so re-running a past date gives the bands of that date.

use chrono::{Datelike, NaiveDate};
use polars::prelude::*;
use std::fmt::Write;

use super::Tally;

/// Oldest age accepted; anything older is a data error, not a person.
const MAX_AGE: i32 = 130;

/// Whole years from `birth` to `on`; `None` for a birth after `on` or an implausible age.
pub fn years(birth: NaiveDate, on: NaiveDate) -> Option<u32> {
    let mut age = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    (0..=MAX_AGE).contains(&age).then_some(age as u32)
}

/// The band label of an age: `"30-39"` for band 10, `"80+"` from `top` on. A band that `top`
/// cuts short ends just below it (`band = 10, top = 75`: `"70-74"`, `"75+"`).
pub fn band_label(age: u32, band: u32, top: Option<u32>, out: &mut String) {
    if let Some(top) = top
        && age >= top
    {
        let _ = write!(out, "{top}+");
        return;
    }
    let lo = age / band * band;
    let mut hi = lo + band - 1;
    if let Some(top) = top {
        hi = hi.min(top - 1);
    }
    if band == 1 {
        let _ = write!(out, "{lo}");
    } else {
        let _ = write!(out, "{lo}-{hi}");
    }
}

pub fn expr(input: Expr, run_date: NaiveDate, band: u32, top: Option<u32>, tally: Tally) -> Expr {
    super::map_text(input, tally, move |v, out| {
        match super::parse::date(v).and_then(|b| years(b, run_date)) {
            Some(age) => {
                band_label(age, band, top, out);
                true
            }
            None => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn label(age: u32, band: u32, top: Option<u32>) -> String {
        let mut s = String::new();
        band_label(age, band, top, &mut s);
        s
    }

    #[test]
    fn whole_years_turn_on_the_birthday() {
        assert_eq!(years(d("1990-06-15"), d("2026-06-14")), Some(35));
        assert_eq!(years(d("1990-06-15"), d("2026-06-15")), Some(36));
        assert_eq!(years(d("2000-02-29"), d("2026-02-28")), Some(25));
        assert_eq!(years(d("2027-01-01"), d("2026-06-15")), None);
        assert_eq!(years(d("1800-01-01"), d("2026-06-15")), None);
    }

    #[test]
    fn bands_and_open_top() {
        assert_eq!(label(35, 10, Some(80)), "30-39");
        assert_eq!(label(0, 10, None), "0-9");
        assert_eq!(label(80, 10, Some(80)), "80+");
        assert_eq!(label(99, 10, Some(80)), "80+");
        assert_eq!(label(72, 10, Some(75)), "70-74");
        assert_eq!(label(33, 5, None), "30-34");
        assert_eq!(label(33, 1, None), "33");
    }

    #[test]
    fn column_with_empty_and_bad_values() {
        let df = df!("b" => [Some("1990-06-15"), Some(""), None, Some("15.06.1990"), Some("1930-01-01")])
            .unwrap();
        let tally = Tally::default();
        let out = df
            .lazy()
            .select([expr(col("b"), d("2026-11-26"), 10, Some(80), tally.clone())])
            .collect()
            .unwrap();
        let v: Vec<Option<&str>> = out.column("b").unwrap().str().unwrap().iter().collect();
        assert_eq!(v, [Some("30-39"), None, None, None, Some("80+")]);
        assert_eq!(tally.get(), 1);
    }
}
