//! The read-back check: the written file, before it is committed, holds as many rows as pass 1
//! decided, and k in what is actually there.

use super::*;

/// Checks the written file before it is committed: as many rows as pass 1 decided, and k on
/// what is actually there. The write pass reads what pass 1 staged, so this fails only on a
/// defect (or a staged file changed behind the run's back); it makes "k holds on the output"
/// true by construction rather than by assumption. `subject` is the subject's output column, if it has one; without it (the
/// subject was dropped) every written class must be one that pass 1 approved. `scratch` is a
/// private directory for the written rows' fingerprints when they are counted in slices.
pub fn verify(
    file: &std::path::Path,
    qis: &[String],
    subject: Subject<'_>,
    k: u32,
    decision: &Decision,
    table: &str,
    scratch: &std::path::Path,
) -> Result<()> {
    let changed = |what: String| {
        Error::Privacy(format!(
            "tables.{table}: the written output does not hold what the counts decided \
             ({what}); nothing was committed. This is a defect of anonymize (or the staged \
             table under $TMPDIR was changed during the run): please report it"
        ))
    };
    let reading = || format!("tables.{table}: reading the output back");
    let scan = || crate::read::scan_own(file, reading());
    let rows = collect(
        scan()?.select([len().cast(DataType::UInt64)]),
        "reading the output back",
    )?;
    let written = rows
        .columns()
        .first()
        .and_then(|c| c.u64().ok()?.get(0))
        .unwrap_or(0);
    if written != decision.rows_out {
        return Err(changed(format!(
            "{} rows were counted, {written} written",
            decision.rows_out
        )));
    }
    if qis.is_empty() || written == 0 {
        return Ok(());
    }
    // Classes as pass 1 named them: by fingerprint or by value.
    let (class, names): (Vec<Expr>, Vec<&str>) = match decision.key {
        Some(key) => (key.exprs(qis), CLASS_KEYS.to_vec()),
        None => (
            qis.iter().map(|q| col(q.as_str())).collect(),
            qis.iter().map(String::as_str).collect(),
        ),
    };
    let keys: Vec<Expr> = names.iter().map(|n| col(*n)).collect();
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    // People as fingerprints, as pass 1 counts them: 8 bytes a value instead of a pseudonym.
    let people = match subject {
        Subject::Column(name) => Some((
            scan()?.select(
                class
                    .iter()
                    .cloned()
                    .chain([subject_key(col(name)).alias(SUBJECT)])
                    .collect::<Vec<_>>(),
            ),
            true,
        )),
        Subject::Rows => Some((scan()?.select(class.clone()), false)),
        Subject::Dropped => None,
    };
    let first_u64 = |df: &DataFrame| {
        df.columns()
            .first()
            .and_then(|c| c.u64().ok()?.get(0))
            .unwrap_or(0)
    };
    match people {
        Some((rows, with_people)) => {
            // Counted as pass 1 counted: one slice of fingerprints at a time when the output is
            // large. The fingerprints are computed once, into the scratch directory, for the
            // slices to read.
            let slices = if decision.key.is_some() {
                slices_for(written)
            } else {
                1
            };
            let rows = if slices > 1 {
                let staged = scratch.join(format!("verify-{table}.parquet"));
                crate::write::sink_parquet(rows, &staged, crate::write::scratch_options())
                    .map_err(Error::engine(reading()))?;
                crate::read::scan_own(&staged, reading())?
            } else {
                rows
            };
            let classes = class_table(
                rows,
                &names,
                with_people,
                slices,
                &format!("tables.{table}: reading the output back"),
            )?;
            let smallest = collect(
                classes.lazy().select([col(SUBJECTS).min()]),
                "reading the output back",
            )?;
            let min = first_u64(&smallest);
            if min < u64::from(k) {
                return Err(changed(format!(
                    "a written class holds {min} people, k = {k}"
                )));
            }
        }
        None => {
            let unapproved = collect(
                scan()?
                    .select(class)
                    .unique(None, UniqueKeepStrategy::Any)
                    .join(
                        decision.keep.clone().lazy(),
                        keys.clone(),
                        keys,
                        join_args(JoinType::Anti),
                    )
                    .select([len().cast(DataType::UInt64)]),
                "reading the output back",
            )?;
            let n = first_u64(&unapproved);
            if n > 0 {
                return Err(changed(format!("{n} written classes were not counted")));
            }
        }
    }
    Ok(())
}

/// Who the written rows are about, for [`verify`].
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    /// The subject's output column (a pseudonym, say).
    Column(&'a str),
    /// No subject column: every row is a person.
    Rows,
    /// The subject was dropped from the output.
    Dropped,
}
