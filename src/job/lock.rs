//! Pinned levels: `anonymize run --pin` writes the levels a search chose into a lock file beside
//! the job (`jobs/NAME.lock.toml`), and later runs use them instead of searching again.
//!
//! A nightly dataset whose columns change granularity from one night to the next breaks every
//! analysis built on it; the lock keeps them stable. If the pinned levels no longer meet k
//! within the suppression limit, the run fails (exit code 4) rather than quietly changing
//! them: a person decides, by running `--pin` again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Column, ColumnAction, Job, LevelRange};
use crate::error::{Error, Result};

/// The lock file: table → input column → its pinned level.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    pub tables: BTreeMap<String, BTreeMap<String, Pin>>,
}

/// One pinned column.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pin {
    pub level: usize,
    /// What the column's levels were when pinned; a job edit that changes them makes the pin
    /// stale rather than silently meaning something else.
    pub levels: String,
}

/// The column's levels in words (and a hierarchy file's digest), as a pin records them.
pub fn meaning(c: &Column) -> String {
    let ColumnAction::Generalize(g) = &c.action else {
        return String::new();
    };
    let steps: Vec<String> = (0..g.levels()).map(|l| g.describe(l)).collect();
    let mut extra = String::new();
    if let Some(shared) = g.shared() {
        extra.push_str(&format!("; {shared}"));
    }
    if let Some(digest) = g.digest() {
        extra.push_str(&format!("; sha256 {digest}"));
    }
    format!("{}: {}{extra}", g.method(), steps.join(" | "))
}

/// `jobs/x.toml` → `jobs/x.lock.toml`.
pub fn path(job: &Path) -> PathBuf {
    let stem = job
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "job".into());
    job.with_file_name(format!("{stem}.lock.toml"))
}

/// A lock file written beside its target, to be renamed into place when the run commits.
pub struct Staged {
    tmp: PathBuf,
    target: PathBuf,
}

impl Staged {
    pub fn commit(self) -> Result<PathBuf> {
        std::fs::rename(&self.tmp, &self.target).map_err(Error::io(
            "the data was committed, but the lock file could not be",
            &self.target,
        ))?;
        Ok(self.target.clone())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.tmp);
    }
}

impl Lock {
    /// Reads the lock file beside the job, if there is one.
    pub fn load(job: &Path) -> Result<Option<Lock>> {
        let p = path(job);
        let text = match crate::files::read(&p, crate::files::Kind::Lock) {
            Ok(t) => String::from_utf8(t)
                .map_err(|_| Error::Job(format!("{}: the lock file is not UTF-8", p.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::Job(format!("cannot read {}: {e}", p.display()))),
        };
        toml::from_str(&text)
            .map(Some)
            .map_err(|e| Error::Job(format!("{}: {}", p.display(), e.message())))
    }

    /// Pins the job's columns to the locked levels. A table or column the job no longer has,
    /// levels that changed meaning, or a level out of its bounds is an error: the lock no
    /// longer fits the job.
    pub fn apply(&self, job: &mut Job, lock_path: &Path) -> Result<()> {
        let stale = |what: String| {
            Error::Job(format!(
                "{}: {what}; the lock no longer fits the job: run with --pin to search again, or \
                 delete the lock file",
                lock_path.display()
            ))
        };
        for (table, columns) in &self.tables {
            let t = job
                .tables
                .iter_mut()
                .find(|t| &t.name == table)
                .ok_or_else(|| stale(format!("table `{table}` is not in the job")))?;
            // Mondrian reads the quasi-identifiers from their floors and gives each class its
            // own levels: one level a column does not apply.
            if t.privacy
                .is_some_and(|p| p.recoding == super::Recoding::Mondrian)
            {
                return Err(stale(format!(
                    "table `{table}` now uses `search = \"mondrian\"`"
                )));
            }
            for (column, pin) in columns {
                let c = t
                    .columns
                    .iter_mut()
                    .find(|c| &c.name == column)
                    .filter(|c| matches!(c.action, ColumnAction::Generalize(_)))
                    .ok_or_else(|| {
                        stale(format!(
                            "`{table}.{column}` is not a generalized column of the job"
                        ))
                    })?;
                if meaning(c) != pin.levels {
                    return Err(stale(format!(
                        "the levels of `{table}.{column}` changed since they were pinned"
                    )));
                }
                if c.levels.is_pinned() {
                    return Err(stale(format!(
                        "`{table}.{column}` is now pinned by the job itself"
                    )));
                }
                if pin.level < c.levels.min || pin.level > c.levels.max {
                    return Err(stale(format!(
                        "`{table}.{column}` is pinned to level {}, outside the job's {}-{}",
                        pin.level, c.levels.min, c.levels.max
                    )));
                }
                // The job's floor stays: the night's loss counts from it, as the search did.
                c.levels = LevelRange {
                    floor: c.levels.floor,
                    ..LevelRange::pinned(pin.level)
                };
            }
        }
        Ok(())
    }

    /// Writes the lock beside the job under a temporary name; [`Staged::commit`] renames it
    /// into place once the run's data is committed, so a failed run pins nothing.
    pub fn stage(&self, job: &Path, run_date: chrono::NaiveDate) -> Result<Staged> {
        let target = path(job);
        let body = toml::to_string(self)
            .map_err(|e| Error::Job(format!("cannot write {}: {e}", target.display())))?;
        let text = format!(
            "# Generalization levels pinned by `anonymize run --pin` for run date {run_date}.\n\
             # Runs use them instead of searching; `--pin` searches and pins again.\n\n{body}"
        );
        let tmp = target.with_extension("toml.tmp");
        std::fs::write(&tmp, text).map_err(Error::io("cannot write the lock file", &tmp))?;
        // It sits beside the job file and goes into version control with it: not private.
        crate::scratch::publish(&tmp)?;
        Ok(Staged { tmp, target })
    }
}
