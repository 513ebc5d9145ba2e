//! Job files: what a data engineer writes ([`spec`]) and what the pipeline runs ([`Job`]).
//!
//! Loading goes in two layers, as in ripgrep: TOML → [`spec::JobSpec`] (shape, unknown keys,
//! line numbers), then [`validate`] → [`Job`] (meaning: every column has one explicit action
//! with the parameters its method needs, names do not collide, files exist). Everything after
//! this module works on a [`Job`] and never sees the raw TOML.

pub mod key;
pub mod lock;
pub mod models;
pub mod spec;
pub mod validate;

use std::path::{Path, PathBuf};

pub use crate::method::Generalizer;
pub use crate::method::truncate::TruncateTo;
pub use spec::{Format, Invalid, Role, Scope, Unlisted, ValueType};

use crate::error::{Error, Result};
use crate::files;
pub use spec::MetricName;

/// A validated job: every path resolved, every column's action complete.
#[derive(Debug, Clone)]
pub struct Job {
    pub name: String,
    pub purpose: Option<String>,
    /// The job file, as given.
    pub path: PathBuf,
    /// SHA-256 of the job file's bytes, hex: ties a report to the exact job that made it.
    pub sha256: String,
    pub output: PathBuf,
    /// The nights of each table the output keeps (`keep_runs`); `None` keeps every night.
    pub keep_runs: Option<u32>,
    /// Where the key comes from; `None` when no column is pseudonymized.
    pub key: Option<key::KeySource>,
    pub tables: Vec<Table>,
}

#[derive(Debug, Clone)]
pub struct Table {
    pub name: String,
    /// Path or glob of the input files; `{run_date}` not yet substituted.
    pub input: String,
    pub format: Option<Format>,
    pub delimiter: u8,
    pub subject: Option<String>,
    /// The erasure list (`exclude_subjects`), resolved.
    pub exclude_subjects: Option<PathBuf>,
    pub unlisted: Unlisted,
    pub retention: Option<Retention>,
    pub bad_rows: BadRows,
    pub privacy: Option<Privacy>,
    /// The table whose people this one's are joined to and counted with (`privacy.link`).
    pub link: Option<String>,
    /// In job-file order; the output follows the input's order instead (see [`crate::read`]).
    pub columns: Vec<Column>,
}

/// The key a pseudonymized column is made with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyScope {
    /// The job's key: the pseudonyms join across the job's tables.
    Job,
    /// A key derived from the job's for this table: its pseudonyms join nothing outside it.
    Table(String),
    /// A key derived from the job's for the run date: the job's tables join within a night,
    /// and nights do not join each other.
    Run,
}

impl KeyScope {
    /// Its name in the job file and the report.
    pub fn name(&self) -> &'static str {
        match self {
            KeyScope::Job => "job",
            KeyScope::Table(_) => "table",
            KeyScope::Run => "run",
        }
    }
}

/// A table's answer to bad rows (`on_bad_row`, `max_bad_rows`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BadRows {
    /// The run stops at the first.
    Error,
    /// Left out and counted, up to `max_share` of the table's rows.
    Skip { max_share: f64 },
}

#[derive(Debug, Clone)]
pub struct Retention {
    pub column: String,
    pub days: u32,
}

#[derive(Debug, Clone, Copy)]
pub struct Privacy {
    pub k: u32,
    pub max_suppression: f64,
    /// How the quasi-identifiers are generalized.
    pub recoding: Recoding,
    pub metric: MetricName,
    /// l-diversity and t-closeness on the sensitive columns.
    pub models: models::Models,
    /// Rows above this prosecutor risk are counted in the report.
    pub risk_threshold: f64,
    /// k^m: how many of a person's facts an attacker may know (1: plain k).
    pub known_events: u32,
}

/// How a table's quasi-identifiers are generalized: one mode, from the job's `search`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recoding {
    /// Every quasi-identifier at the level the job gives (no `search`).
    Fixed,
    /// `search = "optimal"`: the levels of the quasi-identifiers that are not pinned are
    /// searched, one level per column for the whole table.
    Optimal,
    /// `search = "mondrian"`: partitioned with Mondrian, each class at its own ranges and
    /// levels; the quasi-identifiers are read at their finest levels.
    Mondrian,
}

impl Recoding {
    /// Whether the run chooses the levels (a search or Mondrian) rather than the job.
    pub fn searches(self) -> bool {
        self != Recoding::Fixed
    }

    /// The name the report gives it.
    pub fn name(self) -> &'static str {
        match self {
            Recoding::Fixed => "fixed",
            Recoding::Optimal => "optimal",
            Recoding::Mondrian => "mondrian",
        }
    }
}

/// The default of `risk_threshold`.
pub const DEFAULT_RISK_THRESHOLD: f64 = 0.2;

impl Privacy {
    /// The settings of a table without privacy settings: k = 1 suppresses nothing.
    pub fn none() -> Privacy {
        Privacy {
            k: 1,
            max_suppression: 0.0,
            recoding: Recoding::Fixed,
            metric: Default::default(),
            models: Default::default(),
            risk_threshold: DEFAULT_RISK_THRESHOLD,
            known_events: 1,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Column {
    /// Name in the input.
    pub name: String,
    /// Name in the output (`as`); meaningless for dropped columns.
    pub output: String,
    pub role: Role,
    pub action: ColumnAction,
    /// The generalization levels this column may take, inclusive; one level when pinned (and
    /// always `0..=0` for columns that are not generalized).
    pub levels: LevelRange,
    /// What a value the method cannot read does (see [`Column::can_be_invalid`]); `None` when
    /// the job leaves it at the default (`bad_row`).
    pub invalid: Option<Invalid>,
    /// The job's `description` of the output column, trimmed.
    pub description: Option<String>,
    /// `sortable`: the companion column with each band's lower bound (`<output>_from`).
    pub sort_column: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelRange {
    pub min: usize,
    pub max: usize,
    /// The lowest level the job lets the column take, which the loss counts from: `min` of
    /// the job's `levels = [min, max]`, kept when a lock pins the column (so a pinned night's
    /// loss is the one the search measured for the same levels); the level itself when the job
    /// fixes it with `level`.
    pub floor: usize,
}

impl LevelRange {
    pub fn pinned(level: usize) -> LevelRange {
        LevelRange {
            min: level,
            max: level,
            floor: level,
        }
    }

    /// A searched range, `min` to `max` inclusive.
    pub fn searched(min: usize, max: usize) -> LevelRange {
        LevelRange {
            min,
            max,
            floor: min,
        }
    }

    pub fn is_pinned(&self) -> bool {
        self.min == self.max
    }
}

#[derive(Debug, Clone)]
pub enum ColumnAction {
    Drop,
    Keep(ValueType),
    Pseudonymize {
        length: usize,
        normalize: Option<spec::Normalize>,
        /// The key's scope: the job's key, or one derived for the table named here.
        scope: KeyScope,
    },
    Generalize(Generalizer),
}

impl Job {
    /// Reads, parses and validates a job file. Errors are [`Error::Job`] (exit code 2).
    pub fn load(path: &Path) -> Result<Job> {
        let bytes = files::read(path, files::Kind::JobFile)
            .map_err(|e| Error::Job(format!("cannot read job file {}: {e}", path.display())))?;
        Job::parse(path, &bytes)
    }

    /// Parses and validates the bytes of a job file; `path` is where it lives (relative paths
    /// in it are resolved against its directory, and messages name it). The fuzz target's
    /// entry point: whatever the bytes, an error, never a panic.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Job> {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| Error::Job(format!("{}: the job file is not UTF-8", path.display())))?;
        let spec = validate::parse(path, text)?;
        let sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes));
        validate::validate(path, sha256, spec)
    }

    /// The job's name for the logs, before the job is loaded: the file's `name` when it is a
    /// regular file with one, else the file's name without extension. Why: the start event and
    /// an error about the job file itself must say which job they are about too. A pipe
    /// (`run <(vault read …)`) is not read here, or the real load would find it empty.
    pub fn name_for_logs(path: &Path) -> String {
        let named = std::fs::metadata(path)
            .is_ok_and(|m| m.is_file())
            .then(|| files::read(path, files::Kind::JobFile).ok())
            .flatten()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|text| text.parse::<toml::Table>().ok())
            .and_then(|t| t.get("name")?.as_str().map(str::to_string))
            .filter(|n| !n.trim().is_empty());
        named.unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
    }

    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// The directory relative paths in the job file are resolved against.
    pub fn dir(path: &Path) -> PathBuf {
        match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Columns that reach the output, in job-file order.
    pub fn outputs(&self) -> impl Iterator<Item = &Column> {
        self.columns
            .iter()
            .filter(|c| !matches!(c.action, ColumnAction::Drop))
    }

    /// Every column name the table writes, in order: each output, followed by its `sortable`
    /// companion.
    pub fn written_names(&self) -> impl Iterator<Item = &str> {
        self.outputs()
            .flat_map(|c| std::iter::once(c.output.as_str()).chain(c.sort_column.as_deref()))
    }

    pub fn quasi_identifiers(&self) -> impl Iterator<Item = &Column> {
        self.outputs().filter(|c| c.role == Role::Quasi)
    }

    /// The sensitive columns that reach the output: what l-diversity and t-closeness watch.
    pub fn sensitive(&self) -> impl Iterator<Item = &Column> {
        self.outputs().filter(|c| c.role == Role::Sensitive)
    }
}

impl Column {
    /// Whether none of the column's input values reach the output as they are (dropped, or
    /// replaced by a pseudonym): the values the leak scan looks for in the output.
    pub fn withheld(&self) -> bool {
        matches!(
            self.action,
            ColumnAction::Drop | ColumnAction::Pseudonymize { .. }
        )
    }

    /// `action` and `method` as the report and `check` show them.
    pub fn describe(&self) -> (&'static str, Option<&'static str>) {
        match &self.action {
            ColumnAction::Drop => ("drop", None),
            ColumnAction::Keep(_) => ("keep", None),
            ColumnAction::Pseudonymize { .. } => ("pseudonymize", None),
            ColumnAction::Generalize(g) => ("generalize", Some(g.method())),
        }
    }

    /// Whether the column's method can meet a value it cannot read: typed `keep` and every
    /// generalizing method (for `hierarchy`, a value its file does not list).
    pub fn can_be_invalid(&self) -> bool {
        match &self.action {
            ColumnAction::Keep(ty) => *ty != ValueType::String,
            ColumnAction::Generalize(_) => true,
            ColumnAction::Drop | ColumnAction::Pseudonymize { .. } => false,
        }
    }

    /// Whether an unreadable value of this column makes its row bad (rather than null).
    pub fn invalid_is_bad_row(&self) -> bool {
        self.invalid.unwrap_or_default() == Invalid::BadRow && self.can_be_invalid()
    }
}

impl Column {
    /// The action's parameters in a few words, for `check`: `band 10, top 70+`, or the range of
    /// levels a search may choose from.
    pub fn details(&self) -> String {
        match &self.action {
            ColumnAction::Drop => String::new(),
            ColumnAction::Keep(ty) => format!("type {}", ty.name()),
            ColumnAction::Pseudonymize {
                length,
                normalize,
                scope,
            } => {
                let mut d = format!("{length} hex characters");
                if let Some(n) = normalize {
                    d.push_str(&format!(", normalized as {n:?}"));
                }
                match scope {
                    KeyScope::Table(_) => d.push_str(", this table's own key"),
                    KeyScope::Run => d.push_str(", this night's own key"),
                    KeyScope::Job => {}
                }
                d
            }
            ColumnAction::Generalize(g) => {
                let shared = g.shared().map(|s| format!(", {s}")).unwrap_or_default();
                let at = |l: usize| g.describe(l);
                if self.levels.is_pinned() {
                    format!("{}{shared}", at(self.levels.min))
                } else {
                    format!(
                        "levels {}-{} searched: {} … {}{shared}",
                        self.levels.min,
                        self.levels.max,
                        at(self.levels.min),
                        at(self.levels.max)
                    )
                }
            }
        }
    }
}
