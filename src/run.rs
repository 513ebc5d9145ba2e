//! One run of a job for one run date: read → transform → protect → write → report.
//!
//! The order matters for "nothing partial". First every table's input is checked. Then every
//! table's first pass runs: it reads the input once, applies retention, transforms the kept
//! rows into a private scratch file (see [`crate::stage`]), counts classes and decides
//! k-anonymity. Only when all tables pass does anything get written, into a staging directory
//! that is committed at the end. A table that cannot meet k therefore leaves no trace, not even
//! a staging directory.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{NaiveDate, SecondsFormat, Utc};
use indexmap::IndexMap;
use polars::prelude::*;
use tracing::info;

use crate::error::{Error, Result};
use crate::job::lock::{self, Lock, Pin};
use crate::job::{BadRows, ColumnAction, Job, Privacy, Recoding, Table};
use crate::progress;
use crate::protect;
use crate::protect::bad_rows::{self, Skipped};
use crate::protect::kanon::{self, Decision, Subject};
use crate::protect::leaks::{Findings, Remembered};
use crate::protect::optimize;
use crate::protect::search::{Base, Goal, NodeReport, Outcome};
use crate::protect::{STATE, erasure, retention};
use crate::read::{self, Source};
use crate::report::{ColumnReport, Report, TableReport};
use crate::stage;
use crate::transform::{self, ColumnTallies, Context};
use crate::write::{OutputClaim, Staging};

/// What the command line adds to a job.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub run_date: NaiveDate,
    /// Replaces the job's `output`.
    pub output: Option<PathBuf>,
    /// Replaces tables' `input` patterns: (table, pattern).
    pub inputs: Vec<(String, String)>,
    /// The lock file whose levels the job was pinned to, for the report.
    pub lock: Option<PathBuf>,
    /// `--pin`: the job file, beside which the searched levels are pinned.
    pub pin: Option<PathBuf>,
    /// Whether the output may be a non-empty folder anonymize did not write.
    pub output_claim: OutputClaim,
}

impl RunOptions {
    /// Options for commands that read but do not write (`check`, `explore`); the run date
    /// defaults to today.
    pub fn reading(run_date: Option<NaiveDate>, inputs: Vec<(String, String)>) -> RunOptions {
        RunOptions {
            run_date: run_date.unwrap_or_else(|| chrono::Local::now().date_naive()),
            output: None,
            inputs,
            lock: None,
            pin: None,
            output_claim: OutputClaim::Ours,
        }
    }
}

/// A table's input, found and checked.
pub struct Planned<'a> {
    pub table: &'a Table,
    pub pattern: String,
    pub source: Source,
    /// The erasure list's ids, when the table has one.
    pub erase: Option<Vec<String>>,
    /// Malformed rows left out (`on_bad_row = "skip"`), once [`validate_rows`] has run.
    pub malformed: read::Malformed,
}

/// Finds and checks every table's input files (the part of a run that `check` shares).
pub fn plan<'a>(job: &'a Job, opts: &RunOptions) -> Result<Vec<Planned<'a>>> {
    for (t, _) in &opts.inputs {
        if job.table(t).is_none() {
            return Err(Error::Job(format!(
                "--input {t}=…: the job has no table `{t}` (it has: {})",
                job.tables
                    .iter()
                    .map(|t| t.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    job.tables
        .iter()
        .map(|table| {
            let pattern = opts
                .inputs
                .iter()
                .rev()
                .find(|(t, _)| *t == table.name)
                .map(|(_, p)| p.clone())
                .unwrap_or_else(|| table.input.clone());
            let pattern = read::substitute(&pattern, opts.run_date);
            let source = read::discover(table, &pattern)?;
            let erase = match (&table.exclude_subjects, &table.subject) {
                (Some(f), Some(s)) => Some(erasure::load(f, s)?),
                _ => None,
            };
            Ok(Planned {
                table,
                pattern,
                source,
                erase,
                malformed: read::Malformed::default(),
            })
        })
        .collect()
}

/// Checks every row of every table's files (see [`read::validate`]) before the engine reads
/// any: whatever reads rows (a run, `explore`) calls this first, so the engine only ever sees
/// well-formed input and its errors need no translating into files and lines. A table that
/// skips bad rows reads copies without its malformed rows from here on.
pub fn validate_rows(planned: &mut [Planned]) -> Result<()> {
    for p in planned {
        let t0 = Instant::now();
        p.malformed = {
            let _step = progress::step(&p.table.name, "checking every row");
            read::validate(&mut p.source, p.table)?
        };
        if let Some(first) = &p.malformed.first {
            tracing::warn!(
                table = %p.table.name,
                rows = p.malformed.rows,
                "skipping {} malformed rows (the first: {first})",
                p.malformed.rows
            );
        }
        tracing::debug!(
            table = %p.table.name,
            stage = "validate",
            seconds = t0.elapsed().as_secs_f64(),
            "input rows checked"
        );
    }
    Ok(())
}

/// Runs the job; on success the output holds the run date's partitions and report.
pub fn run(job: &Job, opts: &RunOptions) -> Result<Report> {
    let started_at = Utc::now();
    // Every event of the run carries the job and the run date (in JSON logs, under `span`).
    let _span = tracing::info_span!(
        "run",
        job = %job.name,
        run_date = %opts.run_date.format("%Y-%m-%d")
    )
    .entered();
    let output = opts.output.clone().unwrap_or_else(|| job.output.clone());
    // Before anything is read: a wrong output stops the run at once.
    crate::write::check_output(&output, opts.output_claim)?;
    let ctx = context(job, opts.run_date)?;
    let mut planned = plan(job, opts)?;
    validate_rows(&mut planned)?;

    // Pass 1 for every table before anything is written. Values of dropped and pseudonymized
    // columns of every table are remembered for the leak scan of every table's output.
    let remembered = Remembered::default();
    let scratch = crate::scratch::private_dir(
        "anonymize-work-",
        "cannot create a private directory for the staged tables",
    )?;
    let key = kanon::ClassKey::random();
    let mut decided = Vec::with_capacity(planned.len());
    for (i, p) in planned.iter().enumerate() {
        let t0 = Instant::now();
        let staged = scratch.path().join(format!("table-{i}.parquet"));
        let protected = protect(p, &ctx, &remembered, staged, key)?;
        let (counts, decision) = (&protected.counts, &protected.decision);
        info!(
            table = %p.table.name,
            stage = "protect",
            files = p.source.files.len(),
            rows_in = counts.rows_in,
            rows_expired = counts.rows_expired,
            rows_skipped = protected.skipped.rows,
            rows_suppressed = decision.rows_suppressed,
            seconds = t0.elapsed().as_secs_f64(),
            "counted classes"
        );
        decided.push(protected);
    }

    // The lock is written before the commit and renamed into place after it, so that a run
    // that fails pins nothing and one that pins has committed.
    let pin = match &opts.pin {
        Some(job_path) => pin_lock(&planned, &decided)
            .map(|l| l.stage(job_path, opts.run_date))
            .transpose()?,
        None => None,
    };
    let staging = Staging::create(&output, opts.run_date)?;
    let mut tables = IndexMap::new();
    for (p, protected) in planned.iter().zip(decided) {
        let decision = &protected.decision;
        let t0 = Instant::now();
        let file = write_table(&staging, job, p, &ctx, &protected, &remembered)?;
        info!(
            table = %p.table.name,
            stage = "write",
            rows_out = decision.rows_out,
            seconds = t0.elapsed().as_secs_f64(),
            "wrote table"
        );
        tables.insert(p.table.name.clone(), table_report(p, &protected, file));
    }

    let report = Report {
        job: job.name.clone(),
        purpose: job.purpose.clone(),
        job_file: job.path.display().to_string(),
        job_sha256: job.sha256.clone(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        run_date: opts.run_date.format("%Y-%m-%d").to_string(),
        started_at: started_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        finished_at: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        key_id: ctx.key.as_ref().map(|k| k.id()),
        levels_pinned_by: opts.lock.as_ref().map(|p| p.display().to_string()),
        levels_pinned_to: opts
            .pin
            .as_ref()
            .filter(|_| pin.is_some())
            .map(|j| lock::path(j).display().to_string()),
        tables,
    };
    let json = serde_json::to_vec_pretty(&report).map_err(|e| Error::Io {
        context: "cannot serialize the report",
        path: output.clone(),
        source: e.into(),
    })?;
    let names: Vec<String> = planned.iter().map(|p| p.table.name.clone()).collect();
    let page = crate::report::html::render(&report);
    staging.commit(&names, &json, page.as_bytes())?;
    if let Some(pin) = pin {
        pin.commit()?;
    }
    drop(scratch);
    info!(output = %output.display(), stage = "commit", "committed");
    Ok(report)
}

/// The searched levels of every table that searched, as a lock (`None`: nothing searched).
fn pin_lock(planned: &[Planned], decided: &[Protected]) -> Option<Lock> {
    let mut lock = Lock::default();
    for (p, protected) in planned.iter().zip(decided) {
        if protected.search.is_none() {
            continue;
        }
        let pins = p
            .table
            .quasi_identifiers()
            .filter(|c| transform::levels::searched(c))
            .map(|c| {
                let pin = Pin {
                    level: protected.level(c),
                    levels: lock::meaning(c),
                };
                (c.name.clone(), pin)
            })
            .collect();
        lock.tables.insert(p.table.name.clone(), pins);
    }
    (!lock.tables.is_empty()).then_some(lock)
}

/// The input with each row's state: erased, expired, undated, kept, or, with `mark_bad`, bad
/// (see [`bad_rows`]; the retention column's unreadable dates are always marked).
fn scan_with_state(p: &Planned, ctx: &Context, mark_bad: bool) -> Result<LazyFrame> {
    let mut state = retention::state_expr(
        p.table.retention.as_ref(),
        ctx.run_date,
        bad_rows::retention_state(p.table),
    );
    if let (Some(ids), Some(subject)) = (&p.erase, table_subject(p.table, ctx)) {
        // Erasure comes before everything else, retention included.
        let ids = canonical_ids(p.table, ctx, ids)?;
        state = when(erasure::listed(subject, &ids))
            .then(lit(retention::ERASED))
            .otherwise(state)
            .cast(DataType::Int32);
    }
    let lf = read::scan(&p.source, p.table)?.with_column(state.alias(STATE));
    Ok(match bad_rows::mark(p.table, ctx).filter(|_| mark_bad) {
        Some(mark) => lf.with_column(mark.alias(STATE)),
        None => lf,
    })
}

/// One step of a table's run (the stages that `info` times are made of): a spinner on the
/// terminal while it runs, and its time at `-v` (`stage` names it in JSON logs) once done.
fn step<T>(
    t: &Table,
    stage: &'static str,
    doing: &str,
    f: impl FnOnce() -> Result<T>,
) -> Result<T> {
    let t0 = Instant::now();
    let out = {
        let _shown = progress::step(&t.name, doing);
        f()
    };
    if out.is_ok() {
        tracing::debug!(
            table = %t.name,
            stage,
            seconds = t0.elapsed().as_secs_f64(),
            "step done"
        );
    }
    out
}

/// Whether the table skips bad rows (and so marks them in every pass).
fn skips(t: &Table) -> bool {
    matches!(t.bad_rows, BadRows::Skip { .. })
}

/// What to do about the bad rows pass 1 counted (and the malformed ones the reader left out):
/// stop at the first (`on_bad_row = "error"`), or count them within the table's limit (and,
/// with `log`, say so: a searching table settles them twice, once for its search).
fn settle_bad_rows(
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
fn first_bad_row(p: &Planned, ctx: &Context) -> Result<Error> {
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
            Some(ColumnAction::Generalize(crate::job::Generalizer::Hierarchy { file, .. })) => (
                format!("a value the hierarchy {} does not list", file.display()),
                "top",
                "the hierarchy's top level",
            ),
            Some(ColumnAction::Generalize(g)) => (
                format!("a value the `{}` method cannot read", g.method_name()),
                "null",
                "null",
            ),
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

/// What Mondrian did, for the report.
struct MondrianSummary {
    partitions: u64,
    loss: f64,
    seconds: f64,
}

/// What pass 1 decided for a table.
struct Protected {
    counts: kanon::Counts,
    decision: Decision,
    /// The level of each quasi-identifier, by input column (searched or pinned).
    levels: HashMap<String, usize>,
    /// The search's optimum and statistics, when the table searched its levels.
    search: Option<(NodeReport, Outcome)>,
    /// Mondrian's partitioning, when the table was partitioned instead.
    mondrian: Option<MondrianSummary>,
    /// Bad rows left out.
    skipped: Skipped,
    /// The kept rows, transformed, as the first pass staged them (see [`crate::stage`]).
    staged: PathBuf,
    /// Invalid and unmapped values of the kept rows, by output column.
    tallies: IndexMap<String, ColumnTallies>,
}

impl Protected {
    fn level(&self, c: &crate::job::Column) -> usize {
        self.levels.get(&c.name).copied().unwrap_or(c.levels.min)
    }
}

/// Pass 1 and the k-anonymity decision for one table. When the table searches its levels, a
/// first counting pass over the finest values feeds the search, and the decision is then taken
/// at the chosen levels.
fn protect(
    p: &Planned,
    ctx: &Context,
    remembered: &Remembered,
    staged: PathBuf,
    key: kanon::ClassKey,
) -> Result<Protected> {
    let t = p.table;
    let subject = table_subject(t, ctx);
    // A table without privacy settings has no quasi-identifiers (validation sees to it):
    // k = 1 suppresses nothing and still yields the subject counts.
    let privacy = t.privacy.unwrap_or_else(Privacy::none);
    let mut levels: HashMap<String, usize> = t
        .quasi_identifiers()
        .map(|c| (c.name.clone(), c.levels.min))
        .collect();
    let mut search = None;
    let mut recoding = None;
    let mut mondrian = None;
    if privacy.recoding == Recoding::Mondrian {
        let (base, finest) = search_base_with_values(p, ctx)?;
        let goal = Goal {
            k: privacy.k,
            max_suppression: privacy.max_suppression,
            metric: privacy.metric,
            models: privacy.models,
        };
        let part = step(t, "partition", "partitioning (Mondrian)", || {
            protect::mondrian::partition(&base, &goal)
                .map_err(|e| Error::Privacy(format!("tables.{}: {e}", t.name)))
        })?;
        info!(
            table = %t.name,
            stage = "partition",
            partitions = part.partitions.len(),
            rows_suppressed = part.rows_suppressed,
            loss = part.loss,
            seconds = part.seconds,
            "partitioned with Mondrian"
        );
        let qis: Vec<String> = t.quasi_identifiers().map(|c| c.output.clone()).collect();
        recoding = Some(protect::recode::Recoding::new(
            &qis, &base, &finest, &part, &t.name,
        )?);
        mondrian = Some(MondrianSummary {
            partitions: part.partitions.len() as u64,
            loss: part.loss,
            seconds: part.seconds,
        });
    } else if privacy.recoding == Recoding::Optimal
        && t.quasi_identifiers().any(transform::levels::searched)
    {
        let base = search_base(p, ctx)?;
        let (chosen, best, outcome) = optimize::choose(t, &base, &privacy)?;
        info!(
            table = %t.name,
            stage = "search",
            nodes_checked = outcome.nodes_checked,
            lattice_nodes = outcome.lattice_nodes,
            seconds = outcome.seconds,
            "chose generalization levels"
        );
        for (c, l) in t.quasi_identifiers().zip(chosen) {
            levels.insert(c.name.clone(), l);
        }
        search = Some((best, outcome));
    }
    // Every output column at its level, in the input's column order (whatever the job file's
    // order), each counting its unreadable values.
    let mut tallies = IndexMap::new();
    let mut columns = Vec::new();
    for name in &p.source.columns {
        let Some(c) = t.column(name) else { continue };
        let level = levels.get(&c.name).copied().unwrap_or(c.levels.min);
        let tally = ColumnTallies::default();
        if let Some(e) = transform::column_expr_at(c, level, ctx, &tally) {
            columns.push(e);
            tallies.insert(c.output.clone(), tally);
        }
    }
    // Mondrian maps rows to partitions by their quasi-identifiers' finest values: staged
    // beside the outputs, dropped when the rows are relabelled.
    if recoding.is_some() {
        for (d, c) in t.quasi_identifiers().enumerate() {
            if let Some(e) = transform::levels::base_expr(c, ctx) {
                columns.push(e.alias(protect::recode::finest_column(d).as_str()));
            }
        }
    }
    // The leak scan remembers the values of dropped and pseudonymized columns in this pass.
    let side: Vec<Expr> = t
        .columns
        .iter()
        .filter(|c| {
            matches!(
                c.action,
                ColumnAction::Drop | ColumnAction::Pseudonymize { .. }
            )
        })
        .map(|c| remembered.remember(col(c.name.as_str())))
        .collect();
    // Skipped rows are marked in every pass. Without skipping, only unreadable retention dates
    // are (they cost nothing extra): the methods count every other unreadable value anyway,
    // and a count above zero stops the run here, so a good night pays nothing for the check.
    let qis: Vec<String> = t.quasi_identifiers().map(|c| c.output.clone()).collect();
    let sensitive: Vec<String> = t.sensitive().map(|c| c.output.clone()).collect();
    let plan = stage::Plan {
        columns,
        subject: subject.clone(),
        class: key.exprs(&qis),
        side,
    };
    let others = step(t, "stage", "reading and transforming", || {
        stage::stage(scan_with_state(p, ctx, skips(t))?, plan, &staged, &t.name)
    })?;
    let unread = |c: &crate::job::Column| {
        tallies
            .get(&c.output)
            .map_or(0, |t: &ColumnTallies| t.invalid.get() + t.unmapped.get())
    };
    if !skips(t)
        && t.columns
            .iter()
            .any(|c| c.invalid_is_bad_row() && unread(c) > 0)
    {
        return Err(first_bad_row(p, ctx)?);
    }
    let staged = match &recoding {
        None => staged,
        Some(r) => {
            let relabelled = staged.with_extension("partitioned.parquet");
            step(t, "relabel", "labelling rows with their partitions", || {
                r.apply(stage::scan(&staged, &t.name)?, &relabelled, key, &t.name)
            })?;
            let _ = std::fs::remove_file(&staged);
            relabelled
        }
    };
    let mut counts = step(t, "count", "counting classes", || {
        kanon::count_staged(
            stage::scan(&staged, &t.name)?,
            &qis,
            &sensitive,
            key,
            subject.is_some(),
            &others,
            &t.name,
        )
    })?;
    let skipped = settle_bad_rows(p, ctx, &counts, true)?;
    let decision = step(t, "decide", "deciding what to suppress", || {
        counts.decide(&privacy, &t.name)
    })?;
    counts.release();
    Ok(Protected {
        counts,
        decision,
        levels,
        search,
        mondrian,
        skipped,
        staged,
        tallies,
    })
}

/// One pass over a table's kept rows counting each quasi-identifier's finest values: what the
/// level search (and `explore`) works from.
pub fn search_base(p: &Planned, ctx: &Context) -> Result<Base> {
    Ok(search_base_with_values(p, ctx)?.0)
}

/// [`search_base`] with each quasi-identifier's finest values and their codes (Mondrian maps
/// the staged rows back to the base's entries with them).
pub fn search_base_with_values(
    p: &Planned,
    ctx: &Context,
) -> Result<(Base, optimize::FinestValues)> {
    let t = p.table;
    let subject = table_subject(t, ctx);
    let mut finest: Vec<(String, Expr)> = t
        .quasi_identifiers()
        .filter_map(|c| Some((c.output.clone(), transform::levels::base_expr(c, ctx)?)))
        .collect();
    // The sensitive columns ride along as values (the models count them per class).
    if t.privacy.is_some_and(|p| !p.models.is_empty()) {
        finest.extend(t.sensitive().filter_map(|c| {
            let e = transform::column_expr(c, ctx, &transform::ColumnTallies::default())?;
            Some((c.output.clone(), e.alias(c.output.as_str())))
        }));
    }
    let step = progress::step(&t.name, "counting the finest values for the level search");
    let counts = kanon::count(
        scan_with_state(p, ctx, skips(t))?,
        &finest,
        subject,
        &[],
        &t.name,
    )?;
    drop(step);
    settle_bad_rows(p, ctx, &counts, false)?;
    optimize::base_with_values(t, &counts)
}

/// The run's context: the key (when the job needs one) and the run date.
pub fn context(job: &Job, run_date: NaiveDate) -> Result<Context> {
    Ok(Context {
        key: job.key.as_ref().map(|k| k.load()).transpose()?,
        run_date,
    })
}

/// The table's subject expression, if it has a subject column.
fn table_subject(t: &Table, ctx: &Context) -> Option<Expr> {
    t.subject
        .as_deref()
        .and_then(|s| t.column(s))
        .map(|c| subject_expr(c, ctx))
}

/// The value that tells people apart, in its canonical form (see
/// [`transform::pseudonymize::canonical`]: trimmed, and as `normalize` says): a kept or
/// generalized subject is counted after its method (`007` kept as an int is the person `7`); a
/// pseudonymized or dropped one as its canonical text, which the keyed hash maps one to one.
/// Blank is nobody.
fn subject_expr(c: &crate::job::Column, ctx: &Context) -> Expr {
    use transform::pseudonymize::normalized_expr;
    match &c.action {
        ColumnAction::Keep(_) | ColumnAction::Generalize(_) => normalized_expr(
            transform::column_expr(c, ctx, &ColumnTallies::default())
                .map(|e| e.cast(DataType::String))
                .unwrap_or_else(|| lit(NULL)),
            None,
        ),
        ColumnAction::Pseudonymize { normalize, .. } => {
            normalized_expr(col(c.name.as_str()), *normalize)
        }
        ColumnAction::Drop => normalized_expr(col(c.name.as_str()), None),
    }
}

/// A table's erasure ids in the form its subject is counted in: each id goes through the
/// subject's own expression (see [`subject_expr`]), as the export's values do. So `007` listed
/// for a subject kept as an int is the person `7`, and a phone listed for a subject
/// pseudonymized with `normalize = "phone"` matches every spelling of it. An id that the
/// subject's column cannot read matches no one, and is counted in a warning (never shown).
fn canonical_ids(t: &Table, ctx: &Context, ids: &[String]) -> Result<Vec<String>> {
    let Some(c) = t.subject.as_deref().and_then(|s| t.column(s)) else {
        return Ok(ids.to_vec());
    };
    let engine = || Error::engine(format!("tables.{}: reading the erasure list", t.name));
    let listed = DataFrame::new_infer_height(vec![Column::new(c.name.as_str().into(), ids)])
        .map_err(engine())?;
    let out = listed
        .lazy()
        .select([subject_expr(c, ctx).alias("id")])
        .collect()
        .map_err(engine())?;
    let canonical: Vec<String> = out
        .column("id")
        .and_then(|c| Ok(c.str()?.iter().flatten().map(str::to_string).collect()))
        .map_err(engine())?;
    if canonical.len() < ids.len() {
        tracing::warn!(
            table = %t.name,
            "{} ids of the erasure list cannot be read as the subject column `{}`: they match no \
             one",
            ids.len() - canonical.len(),
            c.name
        );
    }
    Ok(canonical)
}

/// Pass 2: the staged rows of the kept classes into the staging directory, through the leak
/// scan (which needs every table's first pass to have remembered its dropped values).
fn write_table(
    staging: &Staging,
    job: &Job,
    p: &Planned,
    ctx: &Context,
    protected: &Protected,
    remembered: &Remembered,
) -> Result<String> {
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
    let mut lf = stage::scan(&protected.staged, &t.name)?;
    if decision.suppress_all {
        lf = lf.slice(0, 0);
    } else if decision.suppress.height() > 0 {
        // The suppressed classes, as the counts named them (see `Decision::key`).
        let on: Vec<Expr> = decision
            .suppress
            .get_column_names()
            .into_iter()
            .map(|c| col(c.clone()))
            .collect();
        lf = lf.join(
            decision.suppress.clone().lazy(),
            on.clone(),
            on,
            kanon::join_args(JoinType::Anti),
        );
    }
    let lf = lf.select(exprs);
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
    Ok(file)
}

/// Whether the leak scan reads a column: kept or generalized text (pseudonyms are hashes;
/// typed columns hold no free text).
fn scanned(c: &crate::job::Column, level: usize) -> bool {
    use crate::job::{Generalizer, Step, ValueType};
    match &c.action {
        // Numbers too: an IIN or a phone number in a numeric column is still one.
        ColumnAction::Keep(ty) => {
            matches!(ty, ValueType::String | ValueType::Int | ValueType::Float)
        }
        ColumnAction::Generalize(g) => !matches!(
            (g, g.step(level)),
            (Generalizer::Truncate { .. }, _) | (_, Step::Top)
        ),
        ColumnAction::Drop | ColumnAction::Pseudonymize { .. } => false,
    }
}

/// Key-value metadata of each Parquet file, so a dataset describes itself without the job.
fn metadata(job: &Job, ctx: &Context, t: &Table) -> Vec<(String, String)> {
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

fn column_report(c: &crate::job::Column) -> ColumnReport {
    let (action, method) = c.describe();
    ColumnReport {
        input: c.name.clone(),
        action,
        method,
        role: c.role,
    }
}

fn table_report(p: &Planned, protected: &Protected, file: String) -> TableReport {
    let t = p.table;
    let tallies = &protected.tallies;
    let (counts, d) = (&protected.counts, &protected.decision);
    let best = protected.search.as_ref().map(|(best, _)| best);
    let mondrian = protected.mondrian.as_ref();
    let max_risk = d
        .min_class_subjects
        .filter(|m| *m > 0)
        .map(|m| 1.0 / m as f64);
    let outcome = protected.search.as_ref().map(|(_, o)| o);
    TableReport {
        input_files: p
            .source
            .files
            .iter()
            .map(|f| f.display().to_string())
            .collect(),
        output_files: vec![file],
        rows_in: counts.rows_in + p.malformed.rows,
        rows_skipped: protected.skipped.rows,
        rows_skipped_by: protected.skipped.by.clone(),
        rows_expired: counts.rows_expired,
        rows_undated: counts.rows_undated,
        rows_erased: counts.rows_erased,
        subjects_listed_for_erasure: p.erase.as_ref().map(|ids| ids.len() as u64),
        rows_suppressed: d.rows_suppressed,
        subjects_suppressed: d.subjects_suppressed,
        rows_out: d.rows_out,
        subjects_out: d.subjects_out,
        k: t.privacy.map(|p| p.k),
        max_suppression: t.privacy.map(|p| p.max_suppression),
        quasi_identifiers: t.quasi_identifiers().map(|c| c.output.clone()).collect(),
        equivalence_classes: d.equivalence_classes,
        min_class_subjects: d.min_class_subjects,
        class_sizes: d.class_sizes.clone(),
        max_risk,
        avg_risk: d.avg_risk,
        // The export is the population: the journalist's and marketer's risks are the
        // prosecutor's highest and average (see the report's field docs).
        journalist_risk: max_risk,
        marketer_risk: d.avg_risk,
        risk_threshold: t.privacy.map(|p| p.risk_threshold),
        rows_at_risk: d.rows_at_risk,
        share_at_risk: (d.rows_out > 0).then(|| d.rows_at_risk as f64 / d.rows_out as f64),
        models: t.privacy.map(|p| p.models).filter(|m| !m.is_empty()),
        sensitive: d.sensitive.clone(),
        classes_failing_models: d.classes_failing_models,
        rows_failing_models: d.rows_failing_models,
        suppressed_classes: d.suppressed_classes.clone(),
        invalid_values: tallies
            .iter()
            .map(|(k, v)| (k.clone(), v.invalid.get()))
            .collect(),
        normalized_values: tallies
            .iter()
            .filter(|(_, v)| v.normalized.get() > 0)
            .map(|(k, v)| (k.clone(), v.normalized.get()))
            .collect(),
        unmapped_values: tallies
            .iter()
            .filter(|(_, v)| v.unmapped.get() > 0)
            .map(|(k, v)| (k.clone(), v.unmapped.get()))
            .collect(),
        columns: t
            .outputs()
            .map(|c| (c.output.clone(), column_report(c)))
            .collect(),
        // Mondrian has no level per column: each class has its own.
        levels: t
            .quasi_identifiers()
            .filter(|_| mondrian.is_none())
            .map(|c| (c.output.clone(), protected.level(c)))
            .collect(),
        metric: t
            .privacy
            .filter(|p| p.recoding.searches())
            .map(|p| p.metric),
        recoding: t.privacy.map(|p| p.recoding.name()),
        partitions: mondrian.map(|m| m.partitions),
        loss: best.map(|b| b.loss).or(mondrian.map(|m| m.loss)),
        entropy: best.map(|b| b.entropy),
        discernibility: best.map(|b| b.discernibility),
        avg_class_size: best.map(|b| b.avg_class_size),
        nodes_checked: outcome.map(|o| o.nodes_checked),
        lattice_nodes: outcome.map(|o| o.lattice_nodes),
        search_seconds: outcome.map(|o| o.seconds).or(mondrian.map(|m| m.seconds)),
        dropped: t
            .columns
            .iter()
            .filter(|c| matches!(c.action, ColumnAction::Drop))
            .map(|c| c.name.clone())
            .collect(),
    }
}
