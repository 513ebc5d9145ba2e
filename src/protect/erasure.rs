//! Erasure requests: a table's `exclude_subjects` file lists people whose rows must never be
//! released again. Their rows are removed before anything else (retention and k included),
//! every night, and counted in the report.
//!
//! The list holds raw subject ids, one a line (a first line equal to the subject column's name
//! is a header and skipped). Ids are compared as the k-anonymity stage counts people: each goes
//! through the subject column's own expression (trimmed, normalized, typed as it is kept).

use std::collections::BTreeSet;
use std::path::Path;

use polars::prelude::*;

use crate::error::{Error, Result};
use crate::transform::pseudonymize::canonical;

/// The listed ids, trimmed (see [`canonical`]; the run then puts them in the form the subject
/// is counted in), never logged: they are identifiers.
pub fn load(path: &Path, subject_column: &str) -> Result<Vec<String>> {
    let bytes = crate::files::read(path, crate::files::Kind::ErasureList).map_err(|e| {
        Error::Job(format!(
            "cannot read the erasure list {}: {e}",
            path.display()
        ))
    })?;
    let text = String::from_utf8(bytes).map_err(|_| {
        Error::Job(format!(
            "the erasure list {} is not UTF-8 text",
            path.display()
        ))
    })?;
    let mut ids = BTreeSet::new();
    for (i, line) in text.lines().enumerate() {
        let Some(id) = canonical(line, None) else {
            continue;
        };
        if i == 0 && id == subject_column {
            continue;
        }
        ids.insert(id.into_owned());
    }
    Ok(ids.into_iter().collect())
}

/// True for rows whose subject (as `subject`, the counted form) is listed.
pub fn listed(subject: Expr, ids: &[String]) -> Expr {
    let list = Series::new("erased".into(), ids);
    // One list value to look in (`implode`): polars deprecates `is_in` against a column of
    // the same type, and says so on standard error, in the middle of JSON logs.
    subject
        .is_in(lit(list).implode(false), false)
        .fill_null(lit(false))
}
