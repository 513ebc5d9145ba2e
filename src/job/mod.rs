//! Job files: what a data engineer writes ([`spec`]) and what the pipeline runs ([`Job`]).
//!
//! Loading goes in two layers, as in ripgrep: TOML → [`spec::JobSpec`] (shape, unknown keys,
//! line numbers), then [`validate`] → [`Job`] (meaning: every column has one explicit action
//! with the parameters its method needs, names do not collide, files exist). Everything after
//! this module works on a [`Job`] and never sees the raw TOML.

pub mod key;
pub mod spec;
pub mod validate;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use spec::{Format, Role, TruncateTo, Unlisted, ValueType};

use crate::error::{Error, Result};
use crate::transform::hierarchy::Hierarchy;

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
    pub key: key::KeySource,
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
    pub unlisted: Unlisted,
    pub retention: Option<Retention>,
    pub privacy: Option<Privacy>,
    /// In job-file order; the output follows the input's order instead (see [`crate::read`]).
    pub columns: Vec<Column>,
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
}

#[derive(Debug, Clone)]
pub struct Column {
    /// Name in the input.
    pub name: String,
    /// Name in the output (`as`); meaningless for dropped columns.
    pub output: String,
    pub role: Role,
    pub action: ColumnAction,
}

#[derive(Debug, Clone)]
pub enum ColumnAction {
    Drop,
    Keep(ValueType),
    Pseudonymize { length: usize },
    Generalize(Generalizer),
}

#[derive(Debug, Clone)]
pub enum Generalizer {
    Age {
        band: u32,
        top: Option<u32>,
    },
    Truncate(TruncateTo),
    IpPrefix {
        v4: u8,
        v6: u8,
    },
    Bins(Vec<f64>),
    Hierarchy {
        file: PathBuf,
        level: usize,
        hierarchy: Arc<Hierarchy>,
    },
    Url,
    UserAgent,
}

impl Job {
    /// Reads, parses and validates a job file. Errors are [`Error::Job`] (exit code 2).
    pub fn load(path: &Path) -> Result<Job> {
        let bytes = std::fs::read(path)
            .map_err(|e| Error::Job(format!("cannot read job file {}: {e}", path.display())))?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| Error::Job(format!("{}: the job file is not UTF-8", path.display())))?;
        let spec = validate::parse(path, text)?;
        let sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
        validate::validate(path, sha256, spec)
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

    pub fn quasi_identifiers(&self) -> impl Iterator<Item = &Column> {
        self.outputs().filter(|c| c.role == Role::Quasi)
    }
}

impl Column {
    /// `action` and `method` as the report and `check` show them.
    pub fn describe(&self) -> (&'static str, Option<&'static str>) {
        match &self.action {
            ColumnAction::Drop => ("drop", None),
            ColumnAction::Keep(_) => ("keep", None),
            ColumnAction::Pseudonymize { .. } => ("pseudonymize", None),
            ColumnAction::Generalize(g) => ("generalize", Some(g.method_name())),
        }
    }
}

impl Column {
    /// The action's parameters in a few words, for `check`: `band 10, top 70`, `level 2 of …`.
    pub fn details(&self) -> String {
        match &self.action {
            ColumnAction::Drop => String::new(),
            ColumnAction::Keep(ty) => format!("type {}", ty.name()),
            ColumnAction::Pseudonymize { length } => format!("{length} hex characters"),
            ColumnAction::Generalize(g) => match g {
                Generalizer::Age { band, top } => match top {
                    Some(top) => format!("band {band}, top {top}+"),
                    None => format!("band {band}"),
                },
                Generalizer::Truncate(to) => format!("to {}", to.name()),
                Generalizer::IpPrefix { v4, v6 } => format!("IPv4 /{v4}, IPv6 /{v6}"),
                Generalizer::Bins(edges) => format!(
                    "edges {}",
                    edges
                        .iter()
                        .map(|e| e.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Generalizer::Hierarchy { file, level, .. } => format!(
                    "level {level} of {}",
                    file.file_name()
                        .map(|f| f.to_string_lossy())
                        .unwrap_or_default()
                ),
                Generalizer::Url => "scheme, host, path".into(),
                Generalizer::UserAgent => "browser / OS / device".into(),
            },
        }
    }
}

impl Generalizer {
    pub fn method_name(&self) -> &'static str {
        match self {
            Generalizer::Age { .. } => "age",
            Generalizer::Truncate(_) => "truncate",
            Generalizer::IpPrefix { .. } => "ip_prefix",
            Generalizer::Bins(_) => "bins",
            Generalizer::Hierarchy { .. } => "hierarchy",
            Generalizer::Url => "url",
            Generalizer::UserAgent => "user_agent",
        }
    }
}
