//! `birth_year`: a birth date becomes a birth cohort (`"1980-1989"`), which never changes.
//!
//! An age band moves on a person's birthday, so two nights' releases of one person (the same
//! pseudonym) give away the day they were born: `30-39` one night and `40-49` the next means
//! born on the second run date, 40 years earlier. A cohort is a function of the birth date
//! alone: every night gives the same band, and a nightly dataset's bands stay comparable across
//! nights. Cohorts are aligned to whole multiples of the band (1980-1989, not 1983-1992) so that
//! the levels nest.

use chrono::{Datelike, NaiveDate};
use std::fmt::Write;
use std::sync::Arc;

use super::age::{YearBands, years};
use super::{Env, Generalize, Generalizer, Method, Outcome, Output, Params, parse};

/// The cohort label of a birth year: `"1980-1989"` for band 10, `"1987"` for band 1.
pub fn cohort_label(year: i32, band: u32, out: &mut String) {
    let band = band as i32;
    let lo = year.div_euclid(band) * band;
    if band == 1 {
        let _ = write!(out, "{lo}");
    } else {
        let _ = write!(out, "{lo}-{}", lo + band - 1);
    }
}

/// `method = "birth_year"`: `band` (years, default 10), or the built-in levels 1, 5, 10 and 20
/// years and `*`.
pub struct BirthYear;

impl Method for BirthYear {
    fn name(&self) -> &'static str {
        "birth_year"
    }

    fn keys(&self) -> &'static [&'static str] {
        &["band"]
    }

    fn build(&self, p: &Params<'_>) -> Result<Generalizer, String> {
        Ok(Arc::new(Cohorts {
            bands: YearBands::of(p)?,
        }))
    }
}

/// Cohort bands, finest first, then `*` when the job picks levels.
#[derive(Debug)]
pub struct Cohorts {
    bands: YearBands,
}

impl Cohorts {
    /// The birth year of a readable, plausible birth date: not after the run date, and not
    /// older than a person can be (as `age` reads them, so that both count the same values
    /// unreadable).
    fn year(value: &str, env: &Env) -> Option<i32> {
        parse::date(value)
            .filter(|b| years(*b, env.run_date).is_some())
            .map(|b: NaiveDate| b.year())
    }
}

impl Generalize for Cohorts {
    fn method(&self) -> &'static str {
        "birth_year"
    }

    fn levels(&self) -> usize {
        self.bands.levels()
    }

    fn describe(&self, level: usize) -> String {
        match self.bands.widths.get(level) {
            Some(1) => "the year".into(),
            Some(b) => format!("cohorts of {b} years"),
            None => "* (everything)".into(),
        }
    }

    fn level_name(&self, level: usize) -> String {
        match self.bands.widths.get(level) {
            Some(1) => "year".into(),
            Some(b) => format!("{b}-year"),
            None => "*".into(),
        }
    }

    // Birth years are quantities: Mondrian may write any range of them (`1983-1987`).
    fn ranges(&self) -> bool {
        true
    }

    fn output(&self, level: usize) -> Output {
        self.bands.output(level)
    }

    fn apply(&self, level: usize, value: &str, env: &Env, out: &mut String) -> Outcome {
        let Some(year) = Self::year(value, env) else {
            return Outcome::Invalid;
        };
        match self.bands.widths.get(level) {
            Some(band) => cohort_label(year, *band, out),
            None => out.push('*'),
        }
        Outcome::Text
    }

    fn base(&self, value: &str, env: &Env, out: &mut String) -> bool {
        Self::year(value, env).is_some_and(|y| write!(out, "{y}").is_ok())
    }

    fn label(&self, base: Option<&str>, level: usize, out: &mut String) -> bool {
        match self.bands.widths.get(level) {
            Some(band) => match base.and_then(|b| b.parse::<i32>().ok()) {
                Some(year) => {
                    cohort_label(year, *band, out);
                    true
                }
                None => false,
            },
            None => super::star(base, out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(year: i32, band: u32) -> String {
        let mut s = String::new();
        cohort_label(year, band, &mut s);
        s
    }

    fn env(run_date: &str) -> Env {
        Env {
            run_date: NaiveDate::parse_from_str(run_date, "%Y-%m-%d").unwrap_or_default(),
        }
    }

    fn apply(g: &Cohorts, level: usize, value: &str, run_date: &str) -> Option<String> {
        let mut out = String::new();
        (g.apply(level, value, &env(run_date), &mut out) == Outcome::Text).then_some(out)
    }

    #[test]
    fn cohorts_are_aligned_and_nest() {
        assert_eq!(label(1987, 10), "1980-1989");
        assert_eq!(label(1980, 10), "1980-1989");
        assert_eq!(label(1989, 5), "1985-1989");
        assert_eq!(label(1987, 20), "1980-1999");
        assert_eq!(label(1987, 1), "1987");
        // Every 5-year cohort falls in one 10-year and one 20-year cohort.
        for y in 1900..2030 {
            let (five, ten) = (label(y, 5), label(y, 10));
            let (lo5, lo10): (i32, i32) = (
                five[..4].parse().unwrap_or_default(),
                ten[..4].parse().unwrap_or_default(),
            );
            assert!(lo10 <= lo5 && lo5 + 4 <= lo10 + 9, "{y}: {five} in {ten}");
        }
    }

    /// The case that made this method: a person born 1986-06-15 is 39 on 2026-06-14 and 40
    /// on 2026-06-15, so their age band moves that night; their cohort does not.
    #[test]
    fn a_birthday_does_not_move_the_band() {
        let g = Cohorts {
            bands: YearBands {
                widths: vec![10],
                star: false,
            },
        };
        let before = apply(&g, 0, "1986-06-15", "2026-06-14");
        let after = apply(&g, 0, "1986-06-15", "2026-06-15");
        assert_eq!(before.as_deref(), Some("1980-1989"));
        assert_eq!(before, after);
        // What `age` does to the same person on the same two nights.
        let (mut a, mut b) = (String::new(), String::new());
        super::super::age::band_label(years_on("2026-06-14"), 10, None, &mut a);
        super::super::age::band_label(years_on("2026-06-15"), 10, None, &mut b);
        assert_ne!(a, b, "the age band moves on the birthday");
    }

    fn years_on(run_date: &str) -> u32 {
        let birth = NaiveDate::from_ymd_opt(1986, 6, 15).unwrap_or_default();
        years(birth, env(run_date).run_date).unwrap_or_default()
    }

    #[test]
    fn unreadable_and_implausible_dates_are_invalid() {
        let g = Cohorts {
            bands: YearBands {
                widths: vec![10],
                star: false,
            },
        };
        assert_eq!(apply(&g, 0, "15.06.1990", "2026-06-15"), None);
        assert_eq!(apply(&g, 0, "2027-01-01", "2026-06-15"), None);
        assert_eq!(apply(&g, 0, "1800-01-01", "2026-06-15"), None);
        assert_eq!(apply(&g, 0, "", "2026-06-15"), None);
    }
}
