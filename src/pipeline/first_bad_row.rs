//! Bad rows during a run, the pipeline's side: settling what pass 1 counted, and finding the
//! first bad row again, file by file, to name it. What a bad row is, its state, the limit and
//! the message are [`crate::protect::bad_rows`]'s.

use super::*;

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
            released_elsewhere: p.released_elsewhere.clone(),
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
        return Ok(bad_rows::first_row_error(t, file, &at, state));
    }
    // Counted but not found again: the input changed under the run.
    Ok(Error::Input(format!(
        "tables.{}: the first pass counted bad rows that a second reading does not find; did \
         the input change during the run?",
        t.name
    )))
}
