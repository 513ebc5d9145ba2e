//! Generalizing methods: what each one means, free of any engine.
//!
//! A method is one file here, whole: the job-file keys it takes and what they must hold
//! ([`Method::build`]), its levels, finest first, and what each level does to one value
//! ([`Generalize::apply`]), with the value's plain unit tests. Everything above uses a method
//! only through these two traits: the job layer validates a column with [`Method::build`], the
//! polars adapter ([`crate::transform::generalize`]) runs [`Generalize::apply`] over every
//! value, and the level search counts [`Generalize::base`] values once and relabels them with
//! [`Generalize::label`]. Nothing here knows polars, so a second engine needs a second adapter,
//! not a second copy of every method.
//!
//! This module sits below the job layer (which builds its columns with it) and imports nothing
//! from the layers above.
//!
//! To add a method: a file here implementing [`Method`] and [`Generalize`] (`url.rs` is the
//! smallest), and its line in [`METHODS`].

pub mod age;
pub mod bins;
pub mod birth_year;
pub mod hierarchy;
pub mod ip_prefix;
pub mod parse;
pub mod prefix;
pub mod truncate;
pub mod url;
pub mod user_agent;

use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;

/// Every generalizing method, in the order the job-file reference lists them: the registry.
pub static METHODS: &[&dyn Method] = &[
    &age::Age,
    &birth_year::BirthYear,
    &truncate::Truncate,
    &ip_prefix::IpPrefix,
    &bins::Bins,
    &hierarchy::HierarchyMethod,
    &prefix::Prefix,
    &url::Url,
    &user_agent::UserAgent,
];

/// The method a job file names.
pub fn find(name: &str) -> Option<&'static dyn Method> {
    METHODS.iter().copied().find(|m| m.name() == name)
}

/// The methods' names for a message: `age, truncate, … or user_agent`.
pub fn names() -> String {
    let names: Vec<&str> = METHODS.iter().map(|m| m.name()).collect();
    match names.split_last() {
        Some((last, [])) => (*last).to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// A generalizing method as the job file names it: the keys it takes and how a column's
/// values for them become its levels.
pub trait Method: Sync {
    /// The name a job file gives it (`method = "age"`).
    fn name(&self) -> &'static str;

    /// The job-file keys it takes besides `level`, `levels` and `invalid`, which every method
    /// takes. Any other key on the column is an error.
    fn keys(&self) -> &'static [&'static str];

    /// The column's levels from its keys; the error, a sentence without the column's name
    /// (the job layer prefixes file and key path).
    fn build(&self, p: &Params<'_>) -> Result<Generalizer, String>;
}

/// A built method: a column's levels and what they do.
pub type Generalizer = Arc<dyn Generalize>;

/// A column's method keys as the job file gives them: shape-checked, their meaning the method's
/// business.
#[derive(Debug, Default)]
pub struct Params<'a> {
    pub band: Option<u32>,
    pub top: Option<u32>,
    pub as_of: Option<age::AsOf>,
    pub to: Option<truncate::TruncateTo>,
    pub v4: Option<u8>,
    pub v6: Option<u8>,
    pub edges: Option<&'a bins::Edges>,
    /// `file`, resolved against the job file's folder.
    pub file: Option<PathBuf>,
    pub delimiter: Option<&'a str>,
    pub level_names: Option<&'a [String]>,
    /// `length` (prefix: the characters kept at level 0).
    pub length: Option<usize>,
    /// Whether `level` or `levels` is given.
    pub level_given: bool,
    /// Whether the job picks from the method's built-in levels (`level`, `levels`, or a
    /// searched quasi-identifier) rather than fixing its parameters.
    pub picks_levels: bool,
}

impl Params<'_> {
    /// Whether fixed parameters are given (`band`, `to`, …); an error when `level` or `levels`
    /// is given too, as they pick from the built-in levels instead.
    pub fn fixed(&self, given: &[(&str, bool)]) -> Result<bool, String> {
        match given.iter().find(|(_, set)| *set) {
            Some((name, _)) if self.level_given => Err(format!(
                "`{name}` fixes the generalization; `level`/`levels` pick from the method's \
                 built-in levels instead: give one or the other"
            )),
            Some(_) => Ok(true),
            None => Ok(false),
        }
    }
}

/// What a level's values are, which fixes the output column's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// Text that follows from the value (a band, a network, a path): the leak scan reads it.
    Text,
    /// The top level: `*` for every value the method can read.
    Star,
    /// A date, as days since 1970-01-01 ([`Outcome::Number`]).
    Date,
    /// A UTC timestamp in microseconds ([`Outcome::Number`]).
    Timestamp,
}

/// What [`Generalize::apply`] made of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The text written to the buffer.
    Text,
    /// A date or timestamp (see [`Output`]).
    Number(i64),
    /// Null, by design: not counted (a date's top level).
    Null,
    /// The method cannot read the value: null, counted in `invalid_values`, and a bad row
    /// unless the column says `invalid = "null"`.
    Invalid,
    /// The method's file does not list the value: its top level was written, counted in
    /// `unmapped_values`, and a bad row unless the column says `invalid = "top"`.
    Unmapped,
}

/// What a method may need besides its parameters.
#[derive(Debug, Clone, Copy)]
pub struct Env {
    /// Ages are taken on the run date, so a past date re-runs to the same bands.
    pub run_date: NaiveDate,
}

/// What a value the method cannot read may become when its row is kept (`invalid`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Miss {
    /// Null (`invalid = "null"`).
    Null,
    /// The top level (`invalid = "top"`): a hierarchy's unlisted values.
    Top,
}

/// A column's levels and what each does to a value. Levels are numbered from 0, the finest; a
/// coarser level's value follows from a finer one's (they nest), which the search relies on.
pub trait Generalize: Debug + Send + Sync {
    /// The method's name (as in [`Method::name`]).
    fn method(&self) -> &'static str;

    /// The number of levels, the top included.
    fn levels(&self) -> usize;

    /// What `level` does, in a few words, for `check`, pins and the report: `band 10`,
    /// `to month`, `* (everything)`.
    fn describe(&self, level: usize) -> String;

    /// A short name for `level`, shown beside its number (`explore` prints `birth_cohort 3
    /// (20-year)`): what the level's values are, in a word or two, where
    /// [`Generalize::describe`] says what the level does and is the wording a pin records (so it
    /// cannot change without making pins stale). `*` for the top of a ladder.
    fn level_name(&self, level: usize) -> String;

    /// The level a column without `level` takes when its table does not search it. Most
    /// methods have none, so the job must choose; `url` keeps its level 0 (the path, which is
    /// what `method = "url"` meant before it had a ladder), so that older job files still run.
    fn default_level(&self) -> Option<usize> {
        None
    }

    /// A parameter every level shares that [`Generalize::describe`] does not show (`top 70+`).
    fn shared(&self) -> Option<String> {
        None
    }

    /// A digest of what the levels were read from (a hierarchy file's SHA-256), so a pin on a
    /// level goes stale when its file changes.
    fn digest(&self) -> Option<&str> {
        None
    }

    /// What the values at `level` are.
    fn output(&self, level: usize) -> Output;

    /// Whether `level` makes every value one (`*`): the column then carries nothing.
    fn everything(&self, level: usize) -> bool {
        self.output(level) == Output::Star
    }

    /// Whether Mondrian may label a class with a range of the finest values (`31-35`) when they
    /// all read as numbers, rather than climbing the levels. Only quantities: ages and birth
    /// years, and a hierarchy of short plain numbers (Adult's ages: see
    /// [`hierarchy::Hierarchy::quantities`]). A ladder of codes (a prefix, a hierarchy of postal
    /// codes) is climbed as it is: a code that looks like a number is not one, a range of
    /// postal codes means nothing, and `160101-160110` reads as an IIN to the leak scan.
    fn ranges(&self) -> bool {
        false
    }

    /// Whether a blank value is read (looked up) rather than missing. Missing values stay null
    /// without reaching [`Generalize::apply`] and are not counted.
    fn reads_blank(&self) -> bool {
        false
    }

    /// Whether values repeat so much, and cost so much to read, that a batch should read each
    /// distinct one once (user agents).
    fn memoize(&self) -> bool {
        false
    }

    /// What an unreadable value may become instead of a bad row.
    fn miss(&self) -> Miss {
        Miss::Null
    }

    /// What an unreadable value is, for the bad-row hint: `a value the `age` method cannot
    /// read`.
    fn unreadable(&self) -> String {
        format!("a value the `{}` method cannot read", self.method())
    }

    /// The value at `level`: text into `out` (empty on entry), a number, or why not.
    fn apply(&self, level: usize, value: &str, env: &Env, out: &mut String) -> Outcome;

    /// The finest form of a value that every level's label follows from (an age in years, a
    /// timestamp in microseconds, a canonical address), written to `out`; `false` when the
    /// method cannot read it. The level search counts these once and labels them in memory.
    fn base(&self, value: &str, env: &Env, out: &mut String) -> bool {
        let _ = env;
        out.push_str(value);
        true
    }

    /// The label at `level` of a [`Generalize::base`] value (`None`: missing or unreadable),
    /// exactly as the output holds it: written to `out`, or `false` where the output is null.
    /// For a date or a timestamp, its text (`2024-03-05`, `2024-03-05T14:00`).
    fn label(&self, base: Option<&str>, level: usize, out: &mut String) -> bool;
}

/// The usual top level's label: `*` for a value the method reads, null for one it cannot.
pub(crate) fn star(base: Option<&str>, out: &mut String) -> bool {
    if base.is_some() {
        out.push('*');
    }
    base.is_some()
}

/// A file a method reads its levels from, for the bad-row hint.
pub(crate) fn file_name(file: &Path) -> String {
    file.file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default()
}
