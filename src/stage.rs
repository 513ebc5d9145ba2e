//! The first pass reads each input once. Every output column of the kept rows is computed at its
//! chosen level and streamed into a staged Parquet file (LZ4, no statistics), together with the
//! person of each row as a 64-bit fingerprint and its class as a 128-bit one. The class counts and the write pass then read
//! that file instead of the input.
//!
//! Why: parsing CSV was the largest single cost of a run. With two parses of each input,
//! polars' line counting alone took a fifth of the CPU. Reading a staged column file costs a
//! fraction of that, and every method (HMAC, user agents, URLs) now runs once a row, not twice
//! for the quasi-identifiers.
//!
//! The staged file holds no value of a dropped column and no raw value of a pseudonymized one.
//! But it is not yet k-anonymous, so it lives in a private scratch directory (see
//! [`crate::scratch`]) that is removed when the run ends.

use std::collections::BTreeMap;
use std::path::Path;

use polars::prelude::*;

use crate::error::{Error, Result};
use crate::protect::kanon::{self, StateTally};
use crate::protect::retention::KEPT;
use crate::protect::{STATE, SUBJECT};
use crate::write;

/// What goes into the staged file of one table.
pub struct Plan {
    /// The output columns, aliased to their output names, in output order.
    pub columns: Vec<Expr>,
    /// The subject's expression (see `pipeline::plan::subject_expr`), if the table has one; staged as
    /// its fingerprint under [`SUBJECT`].
    pub subject: Option<Expr>,
    /// The class fingerprint (see [`kanon::ClassKey::exprs`]) over the quasi-identifiers'
    /// output columns.
    pub class: Vec<Expr>,
    /// Side computations that must see every row, kept or not (the leak scan remembering
    /// dropped values). Each yields zeros.
    pub side: Vec<Expr>,
}

/// One table to stage: its input (which carries [`STATE`]), what to stage, and where.
pub struct Staged {
    pub input: LazyFrame,
    pub plan: Plan,
    pub file: std::path::PathBuf,
}

/// Streams the kept rows of each table's input into its file, all in one query, and returns,
/// for each, the rows of every other state (expired, undated, erased, bad), counted on the way.
/// Tables that read the same input (`activity` and `page_views` of one export) parse it once:
/// the engine runs the scan their plans share once for all of them. `tables` names them in
/// an error.
pub fn stage(staged: Vec<Staged>, tables: &str) -> Result<Vec<BTreeMap<i32, u64>>> {
    let mut tallies = Vec::with_capacity(staged.len());
    let mut sinks = Vec::with_capacity(staged.len());
    for s in staged {
        let states = StateTally::default();
        // The side computations are added to the state, which they leave as it is (they yield
        // zeros): that way the engine evaluates them on every row, before the filter, and
        // cannot optimize them away.
        let mut state = states.observe(col(STATE));
        for e in s.plan.side {
            state = state + e.cast(DataType::Int32);
        }
        let mut select = s.plan.columns;
        if let Some(subject) = s.plan.subject {
            select.push(kanon::subject_key(subject).alias(SUBJECT));
        }
        let mut lf = s
            .input
            .with_column(state.alias(STATE))
            .filter(col(STATE).eq(lit(KEPT)))
            .select(select);
        if !s.plan.class.is_empty() {
            lf = lf.with_columns(s.plan.class);
        }
        sinks.push(
            write::parquet_sink(lf, &s.file, write::scratch_options())
                .map_err(Error::engine(format!("{tables}: reading the input")))?,
        );
        tallies.push(states);
    }
    write::run_sinks(sinks).map_err(Error::engine(format!("{tables}: reading the input")))?;
    Ok(tallies
        .into_iter()
        .map(|states| {
            let mut others = states.get();
            others.remove(&KEPT);
            others
        })
        .collect())
}

/// The staged file, to be read by the later passes.
pub fn scan(file: &Path, table: &str) -> Result<LazyFrame> {
    crate::read::scan_own(file, format!("tables.{table}: reading the staged table"))
}
