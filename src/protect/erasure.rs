//! Erasure requests: a table's `exclude_subjects` file lists people whose rows must never be
//! released again. Their rows are removed before anything else (retention and k included),
//! every night, and counted in the report.
//!
//! The list holds raw subject ids, one a line (a first line equal to the subject column's name
//! is a header and skipped). Ids are compared as the k-anonymity stage counts people: trimmed,
//! and in the subject's canonical form when the subject is pseudonymized with `normalize`.

use std::collections::BTreeSet;
use std::path::Path;

use polars::prelude::*;

use crate::error::{Error, Result};

/// The listed ids (never logged: they are identifiers).
pub fn load(path: &Path, subject_column: &str) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::Job(format!(
            "cannot read the erasure list {}: {e}",
            path.display()
        ))
    })?;
    let mut ids = BTreeSet::new();
    for (i, line) in text.lines().enumerate() {
        let id = line.trim().trim_start_matches('\u{feff}');
        if id.is_empty() || (i == 0 && id == subject_column) {
            continue;
        }
        ids.insert(id.to_string());
    }
    Ok(ids.into_iter().collect())
}

/// True for rows whose subject (as `subject`, the counted form) is listed.
pub fn listed(subject: Expr, ids: &[String]) -> Expr {
    let list = Series::new("erased".into(), ids);
    subject.is_in(lit(list), false).fill_null(lit(false))
}
