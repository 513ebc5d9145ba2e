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
) -> Result<Written> {
    let t = p.table;
    let decision = &protected.decision;
    let findings = Findings::default();
    let exprs: Vec<Expr> = p
        .source
        .columns
        .iter()
        .filter_map(|name| t.column(name))
        .filter(|c| protected.tallies.contains_key(&c.output))
        .flat_map(|c| {
            let e = col(c.output.as_str());
            let written = if scanned(c, protected.level(c)) {
                findings.scan(e, &c.output, remembered)
            } else {
                e
            };
            // `sortable`: the band's lower bound beside it (from the label, after the scan).
            let companion = c
                .sort_column
                .as_deref()
                .map(|name| transform::lower_bound::expr(col(c.output.as_str())).alias(name));
            std::iter::once(written).chain(companion)
        })
        .collect();
    // Rows in the input's order would be a channel of their own: two tables read from one
    // input (a linked `activity` and a `page_views` without pseudonyms) would line up row by
    // row, and a sequential id's order would survive its pseudonym. Sorted by every written
    // column, a table's order is a function of what it holds, nothing else (and the same
    // whatever order the input files come in).
    // A pseudonym sorts by a hash of its text: as random an order as its hex, a person's rows
    // still side by side, and one 64-bit key instead of 64 bytes (the sort took 7 s of 8 M
    // events this way less).
    let order: Vec<Expr> = t
        .columns
        .iter()
        .filter(|c| protected.tallies.contains_key(&c.output))
        .map(|c| {
            let e = col(c.output.as_str());
            match c.action {
                ColumnAction::Pseudonymize { .. } => kanon::subject_key(e),
                _ => e,
            }
        })
        .collect();
    let lf = decision
        .kept(protected.rows(&t.name)?)
        .select(exprs)
        .sort_by_exprs(order, SortMultipleOptions::default().with_nulls_last(true));
    let (file, path) = step(t, "sink", "writing", || {
        staging.write_table(
            lf,
            &t.name,
            metadata(job, ctx, p, protected),
            &descriptions(t),
        )
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
    // A linking or k^m table: every set of at most `known_events` facts of a person, with
    // their linked values, counted again by value from the written files.
    let release = step(
        t,
        "verify",
        "counting the written facts of the release",
        || {
            let context = format!("tables.{}: reading the release back", t.name);
            let shared = protect::known_events::audit_release((t, &path), linked, &context)?;
            if let Some(what) = shared.as_deref().and_then(|s| {
                protect::known_events::broken(s, k, linked.map(|(l, _)| l.name.as_str()))
            }) {
                return Err(Error::Privacy(format!(
                    "tables.{}:{what}; nothing was committed. This is a defect of anonymize: \
                     please report it",
                    t.name
                )));
            }
            Ok(shared)
        },
    )?;
    Ok(Written {
        file,
        path,
        release,
    })
}

/// What pass 2 wrote.
pub(super) struct Written {
    /// The part file's name in the report.
    pub(super) file: String,
    pub(super) path: PathBuf,
    /// The release's counts of shared facts (linking and k^m tables).
    pub(super) release: Option<Vec<protect::known_events::sets::Shared>>,
}

/// Whether the leak scan reads a column: kept or generalized text (pseudonyms are hashes;
/// typed columns hold no free text).
pub(super) fn scanned(c: &crate::job::Column, level: usize) -> bool {
    use crate::job::ValueType;
    use crate::method::Output;
    match &c.action {
        // Numbers too: an IIN or a phone number in a numeric column is still one.
        ColumnAction::Keep(ty) => {
            matches!(
                ty,
                ValueType::String | ValueType::Int | ValueType::Float | ValueType::Decimal { .. }
            )
        }
        ColumnAction::Generalize(g) => g.output(level) == Output::Text,
        ColumnAction::Drop | ColumnAction::Pseudonymize { .. } => false,
    }
}

/// The night's figures in each Parquet file (`anonymize.figures`), so that what was removed
/// can be seen from the data alone: an analyst with only the file knows how many rows were
/// suppressed, under which k and at which levels.
#[derive(serde::Serialize)]
struct Figures {
    rows_in: u64,
    rows_erased: u64,
    rows_expired: u64,
    rows_undated: u64,
    rows_skipped: u64,
    rows_suppressed: u64,
    rows_out: u64,
    subjects_out: u64,
    /// `rows_suppressed` over the rows that reached the check (`rows_suppressed + rows_out`).
    suppressed_share: f64,
    k: Option<u32>,
    max_suppression: Option<f64>,
    equivalence_classes: u64,
    recoding: Option<&'static str>,
    /// Quasi-identifier → its level and what the level means (not under Mondrian, which has a
    /// level a class).
    levels: IndexMap<String, crate::report::Level>,
    columns_at_top: Vec<String>,
}

/// Key-value metadata of each Parquet file, so a dataset describes itself without the job.
pub(super) fn metadata(
    job: &Job,
    ctx: &Context,
    p: &Planned,
    protected: &Protected,
) -> Vec<(String, String)> {
    let t = p.table;
    let (counts, d) = (&protected.counts, &protected.decision);
    let figures = Figures {
        rows_in: counts.rows_in + p.malformed.rows,
        rows_erased: counts.rows_erased,
        rows_expired: counts.rows_expired,
        rows_undated: counts.rows_undated,
        rows_skipped: protected.skipped.rows,
        rows_suppressed: d.rows_suppressed,
        rows_out: d.rows_out,
        subjects_out: d.subjects_out,
        suppressed_share: d.suppressed_share(),
        k: t.privacy.map(|p| p.k),
        max_suppression: t.privacy.map(|p| p.max_suppression),
        equivalence_classes: d.equivalence_classes,
        recoding: t.privacy.map(|p| p.recoding.name()),
        levels: levels(p, protected),
        columns_at_top: columns_at_top(p, protected),
    };
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
        (
            "anonymize.figures".into(),
            serde_json::to_string(&figures).unwrap_or_default(),
        ),
    ]
}

/// Each output column's `description`, for its Parquet field's metadata.
fn descriptions(t: &Table) -> Vec<(String, String)> {
    t.outputs()
        .filter_map(|c| Some((c.output.clone(), c.description.clone()?)))
        .collect()
}
