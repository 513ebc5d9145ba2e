//! Bad rows during a run: whether a table skips them, what to do about those pass 1 counted,
//! and the message that names the first one (file, line, column; never a value).

use super::*;
use crate::method::Miss;

/// Whether the table skips bad rows (and so marks them in every pass).
pub(super) fn skips(t: &Table) -> bool {
    matches!(t.bad_rows, BadRows::Skip { .. })
}

/// What to do about the bad rows pass 1 counted (and the malformed ones the reader left out):
/// stop at the first (`on_bad_row = "error"`), or count them within the table's limit (and,
/// with `log`, say so: a searching table settles them twice, once for its search).
pub(super) fn settle_bad_rows(
    p: &Planned,
    ctx: &Context,
    counts: &kanon::Counts,
    log: bool,
) -> Result<Skipped> {
    let t = p.table;
    let skipped = Skipped::new(t, p.malformed.rows, &counts.rows_bad);
    if skipped.rows == 0 {
        return Ok(skipped);
    }
    match t.bad_rows {
        BadRows::Skip { .. } => {
            skipped.check(t, counts.rows_in + p.malformed.rows)?;
            if !log {
                return Ok(skipped);
            }
            tracing::warn!(
                table = %t.name,
                rows = skipped.rows,
                "skipping {} bad rows ({})",
                skipped.rows,
                skipped
                    .by
                    .iter()
                    .map(|(r, n)| format!("{r}: {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            Ok(skipped)
        }
        BadRows::Error => Err(first_bad_row(p, ctx)?),
    }
}

/// The error naming the first bad row: file, line and column, never the value.
pub(super) fn first_bad_row(p: &Planned, ctx: &Context) -> Result<Error> {
    const ROW: &str = "__anonymize_row";
    let t = p.table;
    for i in 0..p.source.files.len() {
        let one = Planned {
            table: t,
            pattern: p.pattern.clone(),
            source: p.source.only(i),
            erase: p.erase.clone(),
            malformed: read::Malformed::default(),
        };
        let found = scan_with_state(&one, ctx, true)?
            .with_row_index(ROW, None)
            .filter(col(STATE).gt_eq(lit(bad_rows::BAD)))
            .select([col(ROW).cast(DataType::UInt64), col(STATE)])
            .limit(1)
            .collect()
            .map_err(Error::engine(format!(
                "tables.{}: looking for the first bad row",
                t.name
            )))?;
        if found.height() == 0 {
            continue;
        }
        let row = found.column(ROW).ok().and_then(|c| c.u64().ok()?.get(0));
        let state = found.column(STATE).ok().and_then(|c| c.i32().ok()?.get(0));
        let (Some(row), Some(state)) = (row, state) else {
            continue;
        };
        let file = &p.source.files[i];
        let at = bad_rows::position(p.source.format, t.delimiter, file, row);
        let column = bad_rows::column_of(t, state).unwrap_or("?");
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
        return Ok(Error::Input(format!(
            "{}: {at}, column `{column}`: {what}. Set `invalid = \"{}\"` on \
             tables.{}.columns.{column} to write such values as {} (counted), or \
             `on_bad_row = \"skip\"` with `max_bad_rows` on tables.{} to leave such rows out \
             (counted)",
            file.display(),
            invalid,
            t.name,
            written_as,
            t.name
        )));
    }
    // Counted but not found again: the input changed under the run.
    Ok(Error::Input(format!(
        "tables.{}: the first pass counted bad rows that a second reading does not find; did \
         the input change during the run?",
        t.name
    )))
}
