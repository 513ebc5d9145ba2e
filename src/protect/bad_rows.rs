//! Bad rows: rows the reader cannot take apart (see [`crate::read::validate`]) and rows holding
//! a value that a column's method cannot read, in a column whose `invalid` is `bad_row` (the
//! default). A table's `on_bad_row` decides: `error` stops the run at the first, naming its
//! file, line and column; `skip` leaves them out before anything else and counts them, up to
//! `max_bad_rows` of the table's rows.
//!
//! A table that skips marks bad rows in every pass, riding on the row state: a row that would
//! be kept but has an unreadable value gets the state [`BAD`] + the column's index in the job,
//! so pass 1's counts say how many rows each column made bad, and every pass leaves them out.
//! A table that does not skip only marks its retention column's unreadable dates (retention
//! reads them anyway); its other unreadable values are counted by pass 2's methods, and a count
//! above zero stops the run before the commit, so a good night pays nothing for the check. Only
//! when there is a bad row is the first one looked for, file by file, to name it.

use std::path::Path;

use indexmap::IndexMap;
use polars::prelude::*;

use super::STATE;
use super::retention::KEPT;
use crate::error::{Error, Result};
use crate::job::{BadRows, ColumnAction, Format, Table};
use crate::method::Miss;
use crate::transform::{self, Context};

/// The state of a row made bad by column `i` of the table is `BAD + i`.
pub const BAD: i32 = 16;

/// The reason under which malformed rows are counted in the report.
pub const MALFORMED: &str = "malformed";

/// The state of the retention column's unreadable dates, when they make rows bad.
pub fn retention_state(t: &Table) -> Option<i32> {
    let r = t.retention.as_ref()?;
    let (i, c) = t
        .columns
        .iter()
        .enumerate()
        .find(|(_, c)| c.name == r.column)?;
    (c.invalid.unwrap_or_default() == crate::job::Invalid::BadRow).then_some(BAD + i as i32)
}

/// The columns whose unreadable values make rows bad (the retention column aside: retention
/// marks its own), with their indices.
fn checked_columns(t: &Table) -> impl Iterator<Item = (usize, &crate::job::Column)> {
    let retention = t.retention.as_ref().map(|r| r.column.as_str());
    t.columns
        .iter()
        .enumerate()
        .filter(move |(_, c)| c.invalid_is_bad_row() && Some(c.name.as_str()) != retention)
}

/// The new [`STATE`] of each row: [`BAD`] + the first column (in job order) whose value is
/// unreadable, for rows that were to be kept; `None` when no column can make a row bad.
pub fn mark(t: &Table, ctx: &Context) -> Option<Expr> {
    let checks: Vec<(usize, Expr)> = checked_columns(t)
        .filter_map(|(i, c)| Some((i, transform::unreadable(c, ctx)?)))
        .collect();
    if checks.is_empty() {
        return None;
    }
    let mut first_bad = lit(KEPT);
    for (i, bad) in checks.into_iter().rev() {
        first_bad = when(bad).then(lit(BAD + i as i32)).otherwise(first_bad);
    }
    Some(
        when(col(STATE).eq(lit(KEPT)))
            .then(first_bad)
            .otherwise(col(STATE))
            .cast(DataType::Int32),
    )
}

/// The input column that made rows of state `state` bad.
pub fn column_of(t: &Table, state: i32) -> Option<&str> {
    let i = usize::try_from(state.checked_sub(BAD)?).ok()?;
    t.columns.get(i).map(|c| c.name.as_str())
}

/// Whether the table skips bad rows (and so marks them in every pass).
pub fn skips(t: &Table) -> bool {
    matches!(t.bad_rows, BadRows::Skip { .. })
}

/// The error naming a table's first bad row, at `at` (see [`position`]) of `file`, made bad by
/// the column of `state`: file, line and column, never the value, and the settings that would
/// keep such rows.
pub fn first_row_error(t: &Table, file: &Path, at: &str, state: i32) -> Error {
    let column = column_of(t, state).unwrap_or("?");
    // What the value is, and which `invalid` would keep the row (writing the value as…).
    let (what, invalid, written_as) = match t.column(column).map(|c| &c.action) {
        _ if t.retention.as_ref().is_some_and(|r| r.column == column) => (
            "a date its retention cannot read".to_string(),
            "null",
            "null",
        ),
        Some(ColumnAction::Keep(ty)) => (
            format!("a value that is not a valid {}", ty.name()),
            "null",
            "null",
        ),
        Some(ColumnAction::Generalize(g)) => match g.miss() {
            Miss::Top => (g.unreadable(), "top", "the hierarchy's top level"),
            Miss::Null => (g.unreadable(), "null", "null"),
        },
        _ => ("a value that cannot be read".to_string(), "null", "null"),
    };
    Error::Input(format!(
        "{}: {at}, column `{column}`: {what}. Set `invalid = \"{}\"` on \
         tables.{}.columns.{column} to write such values as {} (counted), or \
         `on_bad_row = \"skip\"` with `max_bad_rows` on tables.{} to leave such rows out \
         (counted)",
        file.display(),
        invalid,
        t.name,
        written_as,
        t.name
    ))
}

/// What a table skipped, for the report.
#[derive(Debug, Clone, Default)]
pub struct Skipped {
    pub rows: u64,
    /// By reason: [`MALFORMED`], or the input column whose value could not be read.
    pub by: IndexMap<String, u64>,
}

impl Skipped {
    /// `malformed` rows the reader left out, and the pass's bad rows by state.
    pub fn new(t: &Table, malformed: u64, bad: &[(i32, u64)]) -> Skipped {
        let mut s = Skipped::default();
        if malformed > 0 {
            s.by.insert(MALFORMED.into(), malformed);
        }
        let mut by_column: Vec<(usize, &str, u64)> = bad
            .iter()
            .filter_map(|&(state, n)| Some(((state - BAD) as usize, column_of(t, state)?, n)))
            .collect();
        by_column.sort();
        for (_, c, n) in by_column {
            *s.by.entry(c.to_string()).or_default() += n;
        }
        s.rows = s.by.values().sum();
        s
    }

    /// Checks the table's limit: `rows_in` counts every row of the input, the skipped ones
    /// included.
    pub fn check(&self, t: &Table, rows_in: u64) -> Result<()> {
        let BadRows::Skip { max_share } = t.bad_rows else {
            return Ok(());
        };
        let allowed = super::allowed_rows(max_share, rows_in);
        if self.rows <= allowed {
            return Ok(());
        }
        let reasons: Vec<String> = self.by.iter().map(|(r, n)| format!("{r}: {n}")).collect();
        Err(Error::Input(format!(
            "tables.{}: {} of {rows_in} rows are bad ({}), more than max_bad_rows = {max_share} \
             allows ({allowed}); the export looks broken, so nothing is written",
            t.name,
            self.rows,
            reasons.join(", ")
        )))
    }
}

/// Where row `row` (0-based, as the engine counts data rows) of `file` is, in words a person
/// finds it by: `line N` in text formats (the header is line 1; a CSV field may span lines),
/// `row N` in Parquet.
pub fn position(format: Format, delimiter: u8, file: &Path, row: u64) -> String {
    let line = match format {
        Format::Parquet => None,
        Format::Csv => std::fs::File::open(file).ok().and_then(|f| {
            let mut r = csv::ReaderBuilder::new()
                .delimiter(delimiter)
                .from_reader(std::io::BufReader::new(f));
            let mut record = csv::ByteRecord::new();
            for _ in 0..=row {
                if !r.read_byte_record(&mut record).ok()? {
                    return None;
                }
            }
            record.position().map(|p| p.line())
        }),
        Format::Ndjson => std::fs::File::open(file).ok().and_then(|f| {
            use std::io::BufRead;
            // The engine skips blank lines; so does the count.
            let mut seen = 0u64;
            for (i, line) in std::io::BufReader::new(f).split(b'\n').enumerate() {
                if line.ok()?.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                if seen == row {
                    return Some(i as u64 + 1);
                }
                seen += 1;
            }
            None
        }),
    };
    match line {
        Some(l) => format!("line {l}"),
        None => format!("row {}", row + 1),
    }
}
