//! `age`: a birth date becomes an age band on the run date (`"30-39"`, open top `"80+"`).
//!
//! A birth date is one of the strongest quasi-identifiers there is (with gender and a city it
//! singles out most people); an age band keeps what marketing needs. The age is taken on the
//! run date, so re-running a past date gives the bands of that date.

use chrono::{Datelike, NaiveDate};
use std::fmt::Write;
use std::sync::Arc;

use super::{Env, Generalize, Generalizer, Method, Outcome, Output, Params, parse};

/// Oldest age accepted; anything older is a data error, not a person.
const MAX_AGE: i32 = 130;

/// The day an age is taken on (`as_of`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AsOf {
    /// The run date: a person's band changes on their birthday, so two nights of one pseudonym
    /// can give the day they were born.
    #[default]
    RunDate,
    /// January 1 of the run's year: everyone's band moves on the same night (New Year), which
    /// gives away no day, only a birth year for those who cross a band.
    Year,
}

impl AsOf {
    /// The day ages are taken on for a run on `run_date`.
    pub fn day(self, run_date: NaiveDate) -> NaiveDate {
        match self {
            AsOf::RunDate => run_date,
            AsOf::Year => NaiveDate::from_ymd_opt(run_date.year(), 1, 1).unwrap_or(run_date),
        }
    }
}

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

/// `method = "age"`: `band` (years, default 10) and `top`, or the built-in levels 1, 5, 10 and
/// 20 years and `*`.
pub struct Age;

impl Method for Age {
    fn name(&self) -> &'static str {
        "age"
    }

    fn keys(&self) -> &'static [&'static str] {
        &["band", "top", "as_of"]
    }

    fn build(&self, p: &Params<'_>) -> Result<Generalizer, String> {
        if p.top == Some(0) {
            return Err("`top` must be at least 1 year".into());
        }
        Ok(Arc::new(AgeLevels {
            bands: YearBands::of(p)?,
            top: p.top,
            as_of: p.as_of.unwrap_or_default(),
        }))
    }
}

/// The levels of `age` and `birth_year`: band widths in years, finest first, then `*` when the
/// job picks levels.
#[derive(Debug)]
pub(crate) struct YearBands {
    pub(crate) widths: Vec<u32>,
    pub(crate) star: bool,
}

impl YearBands {
    /// `band` alone (default 10), or when the job picks levels 1, 5, 10 and 20 years, then `*`.
    pub(crate) fn of(p: &Params<'_>) -> Result<YearBands, String> {
        if p.fixed(&[("band", p.band.is_some())])? || !p.picks_levels {
            let band = p.band.unwrap_or(10);
            if band == 0 {
                return Err("`band` must be at least 1 year".into());
            }
            Ok(YearBands {
                widths: vec![band],
                star: false,
            })
        } else {
            Ok(YearBands {
                widths: vec![1, 5, 10, 20],
                star: true,
            })
        }
    }

    pub(crate) fn levels(&self) -> usize {
        self.widths.len() + usize::from(self.star)
    }

    /// A band's label, or `*` at the top level.
    pub(crate) fn output(&self, level: usize) -> Output {
        if level < self.widths.len() {
            Output::Text
        } else {
            Output::Star
        }
    }
}

/// Age bands, finest first, then `*` when the job picks levels.
#[derive(Debug)]
pub struct AgeLevels {
    bands: YearBands,
    top: Option<u32>,
    as_of: AsOf,
}

impl AgeLevels {
    fn age(&self, value: &str, env: &Env) -> Option<u32> {
        parse::date(value).and_then(|b| years(b, self.as_of.day(env.run_date)))
    }
}

impl Generalize for AgeLevels {
    fn method(&self) -> &'static str {
        "age"
    }

    fn levels(&self) -> usize {
        self.bands.levels()
    }

    fn describe(&self, level: usize) -> String {
        match self.bands.widths.get(level) {
            Some(b) => format!("band {b}"),
            None => "* (everything)".into(),
        }
    }

    fn level_name(&self, level: usize) -> String {
        match self.bands.widths.get(level) {
            Some(1) => "years".into(),
            Some(b) => format!("{b}-year"),
            None => "*".into(),
        }
    }

    // Ages are quantities: Mondrian may write any range of them (`31-35`).
    fn ranges(&self) -> bool {
        true
    }

    fn shared(&self) -> Option<String> {
        let as_of = (self.as_of == AsOf::Year).then(|| "as of January 1".to_string());
        let parts: Vec<String> = self
            .top
            .map(|t| format!("top {t}+"))
            .into_iter()
            .chain(as_of)
            .collect();
        (!parts.is_empty()).then(|| parts.join(", "))
    }

    fn output(&self, level: usize) -> Output {
        self.bands.output(level)
    }

    fn apply(&self, level: usize, value: &str, env: &Env, out: &mut String) -> Outcome {
        let Some(age) = self.age(value, env) else {
            return Outcome::Invalid;
        };
        match self.bands.widths.get(level) {
            Some(band) => band_label(age, *band, self.top, out),
            None => out.push('*'),
        }
        Outcome::Text
    }

    fn base(&self, value: &str, env: &Env, out: &mut String) -> bool {
        self.age(value, env)
            .is_some_and(|years| write!(out, "{years}").is_ok())
    }

    fn label(&self, base: Option<&str>, level: usize, out: &mut String) -> bool {
        match self.bands.widths.get(level) {
            Some(band) => match base.and_then(|b| b.parse::<u32>().ok()) {
                Some(years) => {
                    band_label(years, *band, self.top, out);
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

    /// `as_of = "year"`: everyone's age is taken on January 1, so a band moves on New Year's
    /// night for all, never on a birthday.
    #[test]
    fn as_of_year_moves_nobody_on_their_birthday() {
        let levels = |as_of| AgeLevels {
            bands: YearBands {
                widths: vec![10],
                star: false,
            },
            top: None,
            as_of,
        };
        let band = |g: &AgeLevels, run: &str| {
            let mut out = String::new();
            let env = Env { run_date: d(run) };
            g.apply(0, "1986-06-15", &env, &mut out);
            out
        };
        let (by_day, by_year) = (levels(AsOf::RunDate), levels(AsOf::Year));
        assert_ne!(band(&by_day, "2026-06-14"), band(&by_day, "2026-06-15"));
        assert_eq!(band(&by_year, "2026-06-14"), band(&by_year, "2026-06-15"));
        // On January 1 the person is 39 (their 40th birthday is in June).
        assert_eq!(band(&by_year, "2026-12-31"), "30-39");
        assert_eq!(band(&by_year, "2027-01-01"), "40-49");
    }
}
