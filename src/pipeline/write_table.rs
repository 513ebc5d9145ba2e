//! Pass 2 for one table: the staged rows of the kept classes into the staging directory,
//! through the leak scan, with the Parquet metadata that describes the dataset.

use super::*;

/// Pass 2: the staged rows of the kept classes into the staging directory, through the leak
/// scan (which needs every table's first pass to have remembered its dropped values).
pub(super) fn write_table(
    staging: &Staging,
    job: &Job,
    p: &Planned,
    ctx: &Context,
    protected: &Protected,
    remembered: &Remembered,
    linked: Option<(&Table, &Path)>,
) -> Result<(String, PathBuf)> {
    let t = p.table;
    let decision = &protected.decision;
    let findings = Findings::default();
    let exprs: Vec<Expr> = p
        .source
        .columns
        .iter()
        .filter_map(|name| t.column(name))
        .filter(|c| protected.tallies.contains_key(&c.output))
        .map(|c| {
            let e = col(c.output.as_str());
            if scanned(c, protected.level(c)) {
                findings.scan(e, &c.output, remembered)
            } else {
                e
            }
        })
        .collect();
    let lf = decision
        .kept(stage::scan(&protected.staged, &t.name)?)
        .select(exprs);
    let (file, path) = step(t, "sink", "writing", || {
        staging.write_table(lf, &t.name, metadata(job, ctx, t))
    })?;

    let qis: Vec<String> = t.quasi_identifiers().map(|c| c.output.clone()).collect();
    let subject = match t.subject.as_deref().and_then(|s| t.column(s)) {
        None => Subject::Rows,
        Some(c) if matches!(c.action, ColumnAction::Drop) => Subject::Dropped,
        Some(c) => Subject::Column(c.output.as_str()),
    };
    if let Some(msg) = findings.report(&t.name) {
        return Err(Error::Privacy(msg));
    }
    let k = t.privacy.map(|p| p.k).unwrap_or(1);
    // The staged table's directory: private, and removed at the end of the run.
    let scratch = protected
        .staged
        .parent()
        .map_or_else(std::env::temp_dir, Path::to_path_buf);
    step(t, "verify", "reading the output back", || {
        kanon::verify(&path, &qis, subject, k, decision, &t.name, &scratch)
    })?;
    if let Some((target, target_path)) = linked {
        step(
            t,
            "verify",
            "reading the linked tables back, joined",
            || verify_linked(t, &path, target, target_path, k),
        )?;
    }
    Ok((file, path))
}

/// The read-back check of a linking table: the written table joined to the written linked
/// table on the subject's pseudonym, by value, holds k people in every class. Pass 1 counted by
/// fingerprint; this counts the values themselves, from the two files alone.
fn verify_linked(t: &Table, path: &Path, target: &Table, target_path: &Path, k: u32) -> Result<()> {
    let smallest = protect::link::smallest_written_class(
        (t, path),
        (target, target_path),
        &format!("tables.{}: reading the output back", t.name),
    )?;
    match smallest {
        Some(n) if n < u64::from(k) => Err(Error::Privacy(format!(
            "tables.{}: joined to tables.{} on the pseudonym, a written class holds {n} \
             people, k = {k}; nothing was committed. This is a defect of anonymize: please \
             report it",
            t.name, target.name
        ))),
        _ => Ok(()),
    }
}

/// Whether the leak scan reads a column: kept or generalized text (pseudonyms are hashes;
/// typed columns hold no free text).
pub(super) fn scanned(c: &crate::job::Column, level: usize) -> bool {
    use crate::job::ValueType;
    use crate::method::Output;
    match &c.action {
        // Numbers too: an IIN or a phone number in a numeric column is still one.
        ColumnAction::Keep(ty) => {
            matches!(ty, ValueType::String | ValueType::Int | ValueType::Float)
        }
        ColumnAction::Generalize(g) => g.output(level) == Output::Text,
        ColumnAction::Drop | ColumnAction::Pseudonymize { .. } => false,
    }
}

/// Key-value metadata of each Parquet file, so a dataset describes itself without the job.
pub(super) fn metadata(job: &Job, ctx: &Context, t: &Table) -> Vec<(String, String)> {
    let columns: IndexMap<&str, ColumnReport> = t
        .outputs()
        .map(|c| (c.output.as_str(), column_report(c)))
        .collect();
    vec![
        ("anonymize.job".into(), job.name.clone()),
        ("anonymize.table".into(), t.name.clone()),
        (
            "anonymize.run_date".into(),
            ctx.run_date.format("%Y-%m-%d").to_string(),
        ),
        ("anonymize.version".into(), env!("CARGO_PKG_VERSION").into()),
        (
            "anonymize.key_id".into(),
            ctx.key.as_ref().map(|k| k.id()).unwrap_or_default(),
        ),
        (
            "anonymize.columns".into(),
            serde_json::to_string(&columns).unwrap_or_default(),
        ),
    ]
}
