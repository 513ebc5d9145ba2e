//! The job file as written: plain serde types, one per TOML table, each field documented.
//!
//! The same types, with their `///` docs, give the job file's JSON Schema (`anonymize schema`,
//! for editors).
//!
//! These types only describe the shape; [`super::validate`] turns them into a [`super::Job`] that
//! the pipeline can trust. Every struct rejects unknown keys so that a typo (`max_supression`) is
//! an error at its line, not a silently ignored setting. Actions are a plain enum field rather
//! than an internally tagged enum because serde's tagged enums buffer the table and then report
//! unknown keys at the wrong line.

use std::path::PathBuf;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;

pub use crate::method::{age::AsOf, bins::Edges, truncate::TruncateTo};

/// A whole job file (`jobs/*.toml`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    /// Name of the job; recorded in the report and in the Parquet metadata.
    pub name: String,
    /// Why this processing is allowed (the policy clause). Recorded in the report.
    #[serde(default)]
    pub purpose: Option<String>,
    /// Output directory, relative to the job file. `--output` overrides it.
    pub output: PathBuf,
    /// How many nights of each table the output keeps: after each commit, the run dates beyond
    /// the newest `keep_runs` are removed (their reports stay). Unset, every night is kept:
    /// nothing is deleted unless the job says so. Old nights still hold rows that retention has
    /// since removed from newer ones (policy clause 4.3), and the check across nights compares
    /// only the nights kept: choose it with both in mind (README, "Nights and `_latest`").
    #[serde(default)]
    pub keep_runs: Option<u32>,
    /// Where the pseudonym key comes from. Required when a column is pseudonymized.
    #[serde(default)]
    pub key: Option<KeySpec>,
    /// The tables to read, by name. The name is the output sub-directory.
    pub tables: IndexMap<String, TableSpec>,
}

/// `[key]`: exactly one of `env` or `file`. There is no built-in key.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeySpec {
    /// Name of an environment variable holding the key (at least 32 bytes).
    #[serde(default)]
    pub env: Option<String>,
    /// Path of a file holding the key (at least 32 bytes; surrounding white space is ignored),
    /// relative to the job file.
    #[serde(default)]
    pub file: Option<PathBuf>,
}

/// `[tables.NAME]`: one input table and what to do with each of its columns.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TableSpec {
    /// Input files: a path or glob, relative to the job file. `{run_date}` is replaced by the
    /// run date (`YYYY-MM-DD`). `--input TABLE=GLOB` overrides it.
    pub input: String,
    /// `csv`, `ndjson` or `parquet`. Default: from the file extension.
    #[serde(default)]
    pub format: Option<Format>,
    /// CSV field delimiter, one ASCII character. Default `,`.
    #[serde(default)]
    pub delimiter: Option<String>,
    /// The column that identifies a person. k counts distinct values of this column. Omitted:
    /// every row is a different person.
    #[serde(default)]
    pub subject: Option<String>,
    /// What to do with an input column the job does not name: `error` (default) or `drop`.
    #[serde(default)]
    pub unlisted: Unlisted,
    /// A file of subject ids (one a line) whose rows are removed before anything else: erasure
    /// requests. Relative to the job file; needs `subject`.
    #[serde(default)]
    pub exclude_subjects: Option<PathBuf>,
    /// Remove rows older than `days` days before the run date, before anything else.
    #[serde(default)]
    pub retention: Option<RetentionSpec>,
    /// What to do with a bad row: one the reader cannot take apart (a wrong number of fields,
    /// broken quoting, invalid UTF-8, an NDJSON line that is not an object), or one holding a
    /// value that a column's method cannot read (a date that does not parse, `1,5` for a float,
    /// an IPv6 address with a zone) in a column whose `invalid` is `bad_row` (the default).
    /// `error` (default): the run stops, naming the file, line and column. `skip`: the row is
    /// left out before anything else and counted in the report, up to `max_bad_rows`.
    #[serde(default)]
    pub on_bad_row: OnBadRow,
    /// With `on_bad_row = "skip"` (and required by it): the largest share of the table's rows
    /// that may be skipped, from 0 to 1. More stops the run: an export that is mostly broken
    /// is not a night's data.
    #[serde(default)]
    pub max_bad_rows: Option<f64>,
    /// k-anonymity settings. Required when a column has `role = "quasi"`.
    #[serde(default)]
    pub privacy: Option<PrivacySpec>,
    /// One entry per input column, in any order. The output keeps the input's column order.
    pub columns: IndexMap<String, ColumnSpec>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Ndjson,
    Parquet,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnBadRow {
    #[default]
    Error,
    Skip,
}

/// A column's answer to a value its method cannot read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Invalid {
    /// The row is bad: the table's `on_bad_row` decides.
    #[default]
    BadRow,
    /// The value becomes null and is counted (`invalid_values` in the report).
    Null,
    /// With `hierarchy`: a value the file does not list goes to its top level and is counted
    /// (`unmapped_values` in the report).
    Top,
    /// Strict: the night stops at such a value (exit 3, its file, row and column named). The
    /// same as `bad_row` in a table that does not skip bad rows, and refused in one that does.
    Error,
}

/// `scope` of a pseudonymized column: which pseudonyms join.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// One key for the job: the pseudonyms join across its tables.
    #[default]
    Job,
    /// A key derived for the table: the pseudonyms join nothing outside it.
    Table,
    /// A key derived for the run date: the job's tables join within one night, and no night's
    /// pseudonyms join another's.
    Run,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Unlisted {
    #[default]
    Error,
    Drop,
}

/// `retention = { column = "ts", days = 1826 }`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionSpec {
    /// The timestamp or date column that dates a row (as named in the input).
    pub column: String,
    /// Rows dated more than this many days before the run date are removed.
    pub days: u32,
}

/// `[tables.NAME.privacy]`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PrivacySpec {
    /// Every equivalence class (rows sharing all quasi-identifier values) must hold at least
    /// `k` distinct subjects.
    pub k: u32,
    /// Share of the table's rows (after retention) that may be suppressed to reach k, from 0 to 1.
    /// Default 0.
    #[serde(default)]
    pub max_suppression: f64,
    /// The table this one's people are joined to (`link = "users"`): each class is counted
    /// over this table's quasi-identifiers **and** the person's quasi-identifier values as
    /// written in the linked table, so k holds on the join an analyst makes on the pseudonymized
    /// subject. The linked table comes earlier in the job, holds one row a person, and does not
    /// link itself. Default: none, and then the table's pseudonyms may not join another table's.
    #[serde(default)]
    pub link: Option<String>,
    /// k^m-anonymity over people's event histories: someone who knows up to `known_events` of a
    /// person's facts (the distinct quasi-identifier combinations of their rows, with their
    /// linked table's values) finds at least k people who share them all. Facts too rare for
    /// that are suppressed (the rows that carry them), within `max_suppression`. 1 to 4;
    /// default 1 (plain k on the rows, or on the join with `link`). Needs a `subject`.
    #[serde(default)]
    pub known_events: Option<u32>,
    /// `optimal`: search the generalization levels of the quasi-identifiers that are not pinned
    /// for the least loss (see `metric`); in linked tables, set in both, the levels of both are
    /// searched together (loss metric, no models). Default: every level is given in the job file.
    #[serde(default)]
    pub search: Option<Search>,
    /// What the search minimizes: `loss` (default), `entropy` or `discernibility`.
    #[serde(default)]
    pub metric: Option<MetricName>,
    /// l-diversity on every sensitive column (`role = "sensitive"`): each class must hold
    /// enough different sensitive values, counted in distinct subjects. `{ l = 3 }` (distinct),
    /// `{ variant = "entropy", l = 3 }` or `{ variant = "recursive", c = 4, l = 3 }`.
    #[serde(default)]
    pub l_diversity: Option<LDiversitySpec>,
    /// t-closeness on every sensitive column: each class's distribution of sensitive values is
    /// within `t` (earth mover's distance, 0 to 1) of the table's. `{ t = 0.2 }`. Numbers use the
    /// ordered distance, other values the equal distance.
    #[serde(default)]
    pub t_closeness: Option<TClosenessSpec>,
    /// The report's `records_at_risk` counts the rows whose prosecutor risk (1 / class size in
    /// people) is above this, from 0 to 1. Default 0.2 (classes under 5 people), the threshold
    /// the European Medicines Agency uses for published clinical data.
    #[serde(default)]
    pub risk_threshold: Option<f64>,
}

/// `search`: how the levels of the quasi-identifiers are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Search {
    /// Full-domain generalization: one level per quasi-identifier for the whole table, the one
    /// with the least loss (every night's output has the same columns at the same levels).
    Optimal,
    /// Mondrian multidimensional partitioning: each class gets its own ranges and hierarchy
    /// levels, as fine as k and the models allow (more detail, less stable from night to night).
    Mondrian,
}

/// `l_diversity = { ... }`
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LDiversitySpec {
    /// `distinct` (default): at least `l` different values per class; `entropy`: the entropy
    /// of each class's values is at least log(`l`); `recursive`: the most frequent value is
    /// less than `c` times the `l`-th most frequent and rarer ones together.
    #[serde(default)]
    pub variant: LVariant,
    /// The l of l-diversity: at least 1 (2 or more to mean anything).
    pub l: f64,
    /// With `recursive` only: the constant c (> 0).
    #[serde(default)]
    pub c: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LVariant {
    #[default]
    Distinct,
    Entropy,
    Recursive,
}

/// `t_closeness = { t = 0.2 }`
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TClosenessSpec {
    /// The largest distance allowed, from 0 (every class like the table) to 1 (no constraint).
    pub t: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MetricName {
    #[default]
    Loss,
    Entropy,
    Discernibility,
}

/// One column's entry: `name = { action = "...", ... }`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ColumnSpec {
    /// `drop`, `keep`, `pseudonymize` or `generalize`.
    pub action: Action,
    /// With `generalize`: `age`, `birth_year`, `truncate`, `ip_prefix`, `bins`, `hierarchy`,
    /// `prefix`, `url`, `user_agent`.
    #[serde(default)]
    pub method: Option<Method>,
    /// `quasi` (a quasi-identifier for k-anonymity), `sensitive`, or `insensitive` (default).
    #[serde(default)]
    pub role: Role,
    /// Output column name. Default: the input name.
    #[serde(default, rename = "as")]
    pub rename: Option<String>,
    /// What the output column holds, for the people who read it: written to the Parquet
    /// field's metadata (`description`), to `anonymize.columns` in the file's metadata, and to
    /// the report, so the dataset carries its own data dictionary. Never a value of the data.
    #[serde(default)]
    pub description: Option<String>,
    /// Band labels (`15-19`, `70+`, `*`) sort as text, not as numbers. `sortable = true` writes
    /// beside the column `<output>_from`, the band's lower bound as an integer (rounded down;
    /// null for `*` and for a band open below, `<0`), to sort and plot by. For `age`,
    /// `birth_year` and `bins` columns, and the quasi-identifiers of a Mondrian table.
    #[serde(default)]
    pub sortable: Option<bool>,
    /// With `keep`: the output type, `string` (default), `int`, `float`, `bool`, `date`,
    /// `timestamp`, or `decimal(P,S)` for money (exact: sums print `20865702.17`, not
    /// `20865702.16999999`; digits beyond S are rounded half to even by polars' parser, a value
    /// with more than P − S integer digits is unreadable). What happens to a value that does
    /// not parse is `invalid`'s business.
    #[serde(default, rename = "type")]
    pub value_type: Option<ValueType>,
    /// A value the column's method cannot read (a typed `keep`, a generalizing method, or a
    /// value a hierarchy file does not list; and the retention column's dates, whatever its
    /// action): `bad_row` makes the row bad, and the table's `on_bad_row` decides (by default
    /// the night stops); `null` writes null and counts the value in the report's
    /// `invalid_values` (a retention column's row is then undated, and removed); `top`, for
    /// `hierarchy` only, writes the hierarchy's top level and counts the value in
    /// `unmapped_values`. Default: `top` for `hierarchy` (a new village must not stop the
    /// night: it is generalized away and counted), except on a `sensitive` column, and
    /// `bad_row` for every other method.
    #[serde(default)]
    pub invalid: Option<Invalid>,
    /// With `pseudonymize`: the canonical form a value takes before it is hashed, so that
    /// spellings of one value get one pseudonym: `email` (trimmed, lower case), `phone` (digits
    /// only, a KZ number as +7XXXXXXXXXX) or `trim_lower`. Default: the value as it is.
    #[serde(default)]
    pub normalize: Option<Normalize>,
    /// With `pseudonymize`: whose pseudonyms join. `job` (default): one key for the whole job,
    /// so the column's pseudonyms equal those of the same values in the job's other tables, and
    /// tables joined that way must be protected together (`privacy.link`); `table`: a key
    /// derived for this table alone, so its pseudonyms join nothing outside it; `run`: a key
    /// derived for the run date, shared by the job's tables, so they join within a night (and
    /// must be linked like `job`) while no night joins another.
    #[serde(default)]
    pub scope: Option<Scope>,
    /// With `pseudonymize`: hex characters of the pseudonym, an even number from 16 to 64.
    /// Default 32 (128 bits: collision-free at any realistic scale, half the size of 64).
    /// With `prefix` (required): the characters a code keeps at level 0, from 1 to 32; each
    /// level keeps one fewer, and the last is `*` (`length = 6`: `050123`, `05012`, … `0`, `*`).
    #[serde(default)]
    pub length: Option<usize>,
    /// With `age`: band width in years; with `birth_year`: cohort width in years (`1980-1989`).
    /// Default 10.
    #[serde(default)]
    pub band: Option<u32>,
    /// With `age`: ages from this value up form one open band (`"80+"`). Default: none.
    #[serde(default)]
    pub top: Option<u32>,
    /// With `age`: the day ages are taken on: `run_date` (default; a band moves on the
    /// person's birthday) or `year` (January 1 of the run's year: everyone's band moves on the
    /// same night). For a nightly release prefer `method = "birth_year"`, which never moves.
    #[serde(default)]
    pub as_of: Option<AsOf>,
    /// With `truncate`: `hour`, `day`, `week` (Monday), `month` or `year`.
    #[serde(default)]
    pub to: Option<TruncateTo>,
    /// With `ip_prefix`: IPv4 prefix length, 0–32. Default 24.
    #[serde(default)]
    pub v4: Option<u8>,
    /// With `ip_prefix`: IPv6 prefix length, 0–128. Default 48.
    #[serde(default)]
    pub v6: Option<u8>,
    /// With `bins`: strictly increasing bin edges; values fall in `[edge, next edge)`. A list of
    /// such lists, finest first, makes levels (each list's edges a subset of the one before).
    #[serde(default)]
    pub edges: Option<Edges>,
    /// With `hierarchy`: the hierarchy CSV (ARX format: `value;level1;…;*`, no header), relative
    /// to the job file.
    #[serde(default)]
    pub file: Option<PathBuf>,
    /// With `hierarchy`: a name for each column of its file, finest first, shown beside the
    /// level numbers in `explore`, the report and the files' metadata:
    /// `["city as typed", "city", "macro-region", "*"]`. Default: the value, how many groups
    /// each level holds, and `*`.
    #[serde(default)]
    pub level_names: Option<Vec<String>>,
    /// With a generalizing method: the level to generalize to (0 is the finest), which pins it.
    /// Built-in levels: `age` 1, 5, 10, 20 years, `*`; `truncate` hour, day, month, year, `*`
    /// (no week: weeks straddle months, so they do not nest); `ip_prefix` /32, /24, /16, /8, `*` (IPv6 /128, /64, /48, /32, `*`); `bins` the edge
    /// lists, `*`; `hierarchy` the file's columns; `prefix` `length` characters, one fewer at
    /// each level, `*`.
    #[serde(default)]
    pub level: Option<usize>,
    /// With a generalizing method: `[min, max]`, the levels the search may choose from.
    #[serde(default)]
    pub levels: Option<[usize; 2]>,
    /// With `hierarchy`: the hierarchy file's delimiter. Default `;`.
    #[serde(default)]
    pub delimiter: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Normalize {
    Email,
    Phone,
    TrimLower,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Drop,
    Keep,
    Pseudonymize,
    Generalize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Quasi,
    Sensitive,
    #[default]
    Insensitive,
}

/// `type` of a kept column: `string`, `int`, `float`, `bool`, `date`, `timestamp`, or
/// `decimal(P,S)` (P digits in all, S after the point: money, exact in sums).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    String,
    Int,
    Float,
    Bool,
    Date,
    Timestamp,
    /// `decimal(precision,scale)`: 1 ≤ precision ≤ 38, scale ≤ precision.
    Decimal {
        precision: u8,
        scale: u8,
    },
}

impl ValueType {
    pub fn name(self) -> &'static str {
        match self {
            ValueType::String => "string",
            ValueType::Int => "int",
            ValueType::Float => "float",
            ValueType::Bool => "bool",
            ValueType::Date => "date",
            ValueType::Timestamp => "timestamp",
            ValueType::Decimal { .. } => "decimal",
        }
    }

    /// The largest precision: Parquet's and Arrow's 128-bit decimals.
    pub const MAX_PRECISION: u8 = 38;
}

impl std::fmt::Display for ValueType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ValueType::Decimal { precision, scale } => write!(f, "decimal({precision},{scale})"),
            other => f.write_str(other.name()),
        }
    }
}

impl std::str::FromStr for ValueType {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<ValueType, String> {
        let simple = [
            ValueType::String,
            ValueType::Int,
            ValueType::Float,
            ValueType::Bool,
            ValueType::Date,
            ValueType::Timestamp,
        ];
        if let Some(t) = simple.into_iter().find(|t| t.name() == s) {
            return Ok(t);
        }
        let wrong = || {
            format!(
                "unknown type {s:?}: expected string, int, float, bool, date, timestamp or \
                 decimal(P,S) (P digits in all, 1 to {}; S of them after the point)",
                ValueType::MAX_PRECISION
            )
        };
        let args = s
            .strip_prefix("decimal(")
            .and_then(|r| r.strip_suffix(')'))
            .ok_or_else(wrong)?;
        let (p, sc) = args.split_once(',').ok_or_else(wrong)?;
        let precision: u8 = p.trim().parse().map_err(|_| wrong())?;
        let scale: u8 = sc.trim().parse().map_err(|_| wrong())?;
        if !(1..=ValueType::MAX_PRECISION).contains(&precision) || scale > precision {
            return Err(wrong());
        }
        Ok(ValueType::Decimal { precision, scale })
    }
}

impl<'de> Deserialize<'de> for ValueType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<ValueType, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for ValueType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl JsonSchema for ValueType {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ValueType".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^(string|int|float|bool|date|timestamp|decimal\\( *[0-9]+ *, *[0-9]+ *\\))$",
            "description": "string, int, float, bool, date, timestamp, or decimal(P,S)"
        })
    }
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Ndjson => "ndjson",
            Format::Parquet => "parquet",
        }
    }
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Drop => "drop",
            Action::Keep => "keep",
            Action::Pseudonymize => "pseudonymize",
            Action::Generalize => "generalize",
        }
    }
}

/// `method`: a generalizing method of [`crate::method::METHODS`], found by its name.
#[derive(Clone, Copy)]
pub struct Method(pub &'static dyn crate::method::Method);

impl std::fmt::Debug for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.name())
    }
}

impl<'de> Deserialize<'de> for Method {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Method, D::Error> {
        let name = String::deserialize(d)?;
        crate::method::find(&name).map(Method).ok_or_else(|| {
            let names: Vec<String> = crate::method::METHODS
                .iter()
                .map(|m| format!("`{}`", m.name()))
                .collect();
            serde::de::Error::custom(format!(
                "unknown method `{name}`, expected one of {}",
                names.join(", ")
            ))
        })
    }
}

// The registry's names, so the schema lists what a job file may write.
impl JsonSchema for Method {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Method".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let names: Vec<&str> = crate::method::METHODS.iter().map(|m| m.name()).collect();
        schemars::json_schema!({ "type": "string", "enum": names })
    }
}
