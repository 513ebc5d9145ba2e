//! One run of a job for one run date: read → transform → protect → write → report.
//!
//! The order matters for "nothing partial". First every table's input is checked. Then every
//! table's first pass runs: it reads the input once, applies retention, transforms the kept
//! rows into a private scratch file (see [`crate::stage`]), counts classes and decides
//! k-anonymity. Only when all tables pass does anything get written, into a staging directory
//! that is committed at the end. A table that cannot meet k therefore leaves no trace, not even
//! a staging directory.

// The stages of a run, one file each. They share this module's imports and items
// (`use super::*`), the way they shared one file before.
pub mod across_nights;
mod first_bad_row;
mod plan;
mod protect_table;
mod table_report;
mod write_table;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use indexmap::IndexMap;
use polars::prelude::*;
use tracing::info;

use crate::error::{Error, ExitCode, Result};
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

pub use plan::{Planned, joint_bases, plan, search_base, search_base_with_values, validate_rows};
// The stages' own items, for one another (each child imports `super::*`).
use first_bad_row::*;
use plan::*;
use protect_table::*;
use table_report::*;
use write_table::*;

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

/// Runs the job; on success the output holds the run date's partitions and report. A night
/// that fails on its input or its privacy (exit codes 3 and 4) leaves the data as it was and
/// writes `_reports/run_date=….failed.json` (and its page), so the failure is on record beside
/// the nights that passed.
pub fn run(job: &Job, opts: &RunOptions) -> Result<Report> {
    let started_at = Utc::now();
    let result = run_night(job, opts, started_at);
    if let Err(e) = &result
        && matches!(e.exit_code(), ExitCode::Input | ExitCode::Privacy)
    {
        failed_report(job, opts, started_at, e);
    }
    result
}

/// The report of a night that failed, written beside the others (see [`run`]). Writing it
/// must not hide the failure: a report that cannot be written is a warning in the log.
fn failed_report(job: &Job, opts: &RunOptions, started_at: DateTime<Utc>, e: &Error) {
    let output = opts.output.clone().unwrap_or_else(|| job.output.clone());
    let report = Report {
        status: "failed",
        exit_code: e.exit_code() as u8,
        error: Some(e.to_string()),
        // Not read again for this: a key file may be a pipe, read once.
        key_id: None,
        ..report_of(job, opts, started_at)
    };
    let written = serde_json::to_vec_pretty(&report)
        .map_err(|e| Error::Io {
            context: "cannot serialize the report",
            path: output.clone(),
            source: e.into(),
        })
        .and_then(|json| {
            let page = crate::report::html::render(&report);
            crate::write::failed_report(&output, opts.run_date, &json, page.as_bytes())
        });
    match written {
        Ok(Some(path)) => info!(report = %path.display(), "wrote the failed night's report"),
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "could not write the failed night's report"),
    }
}

/// A night's report as far as the job and the options say: committed, no tables yet, times up
/// to now. [`run_night`] and [`failed_report`] fill in the rest.
fn report_of(job: &Job, opts: &RunOptions, started_at: DateTime<Utc>) -> Report {
    Report {
        status: "committed",
        exit_code: 0,
        error: None,
        seconds: (Utc::now() - started_at).as_seconds_f64(),
        job: job.name.clone(),
        purpose: job.purpose.clone(),
        job_file: job.path.display().to_string(),
        job_sha256: job.sha256.clone(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        run_date: opts.run_date.format("%Y-%m-%d").to_string(),
        started_at: started_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        finished_at: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        key_id: None,
        levels_pinned_by: opts.lock.as_ref().map(|p| p.display().to_string()),
        levels_pinned_to: None,
        keep_runs: job.keep_runs,
        latest: false,
        pruned: Vec::new(),
        tables: IndexMap::new(),
    }
}

fn run_night(job: &Job, opts: &RunOptions, started_at: DateTime<Utc>) -> Result<Report> {
    // Every event of the run carries the job and the run date (in JSON logs, at the top level:
    // see `crate::logs`).
    let _span = tracing::info_span!(
        "run",
        job = %job.name,
        run_date = %opts.run_date.format("%Y-%m-%d")
    )
    .entered();
    let output = opts.output.clone().unwrap_or_else(|| job.output.clone());
    // Before anything is read: a wrong output stops the run at once.
    crate::write::check_output(&output, opts.output_claim)?;
    crate::write::recover_before_reading(&output)?;
    // The job's tables, in order: what the run writes, links as latest and prunes.
    let names: Vec<String> = job.tables.iter().map(|t| t.name.clone()).collect();
    if let Some(keep) = job.keep_runs
        && crate::write::older_than_kept(&output, &names, opts.run_date, keep)
    {
        return Err(Error::Job(format!(
            "{}: keep_runs: the output already has {keep} nights newer than this run date, so \
             its night would be pruned as soon as it is written; nothing was done (raise \
             keep_runs to back-fill it)",
            job.path.display()
        )));
    }
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
    // Seeded by the job's key when it has one: secret, and the same decisions for the same
    // data whatever its order or format (k^m breaks ties between facts by fingerprint).
    let key = match &ctx.key {
        Some(k) => kanon::ClassKey::with_seeds(k.class_seeds()),
        None => kanon::ClassKey::random(),
    };
    let joint = joint_searches(&planned, &ctx)?;
    let mut prepared = Vec::with_capacity(planned.len());
    for (i, p) in planned.iter().enumerate() {
        let staged = scratch.path().join(format!("table-{i}.parquet"));
        let joint = joint.get(&p.table.name);
        prepared.push(prepare(p, &ctx, &remembered, staged, key, joint)?);
    }
    let mut others = stage_all(&planned, &mut prepared)?.into_iter();
    let mut decided: Vec<Protected> = Vec::with_capacity(planned.len());
    // The people of each table another links to, as it releases them (see `protect::link`).
    let mut people: HashMap<String, DataFrame> = HashMap::new();
    // And, with earlier nights, every person they know with the class of what they say.
    let mut people_classes: HashMap<String, DataFrame> = HashMap::new();
    // The earlier nights each checked table was compared with, as found (see
    // `across_nights::stamp`).
    let mut read_nights = Vec::new();
    for (p, prepared) in planned.iter().zip(prepared) {
        let t0 = Instant::now();
        let others = others.next().unwrap_or_default();
        let link = match &p.table.link {
            None => None,
            Some(l) => Some(
                job.table(l)
                    .zip(people.get(l))
                    .map(|(t, found)| (t, found, people_classes.get(l)))
                    .ok_or_else(|| unlinked(&p.table.name, l))?,
            ),
        };
        // Tables whose stable pseudonyms join earlier nights are checked against them all.
        let compared = across_nights::compared(p.table);
        if compared.is_some() {
            read_nights.push((
                p.table.name.clone(),
                across_nights::stamp(&output, &p.table.name, opts.run_date),
            ));
        }
        let mut history = compared
            .as_ref()
            .map(|c| across_nights::history(&output, p.table, c, Some(opts.run_date)))
            .transpose()?;
        let nights = compared.as_ref().zip(history.as_mut());
        let protected = protect(p, &ctx, prepared, others, key, link, nights)?;
        if planned
            .iter()
            .any(|o| o.table.link.as_ref() == Some(&p.table.name))
        {
            let has_qis = p.table.quasi_identifiers().next().is_some();
            let linking: Vec<&str> = planned
                .iter()
                .filter(|o| o.table.link.as_ref() == Some(&p.table.name))
                .map(|o| o.table.name.as_str())
                .collect();
            let found = protect::link::people(
                protected.rows(&p.table.name)?,
                &protected.decision,
                has_qis,
                &p.table.name,
                &linking.join(", tables."),
            )?;
            people.insert(p.table.name.clone(), found);
            if let Some(c) = &protected.people_classes {
                people_classes.insert(p.table.name.clone(), c.clone());
            }
        }
        for column in columns_at_top(p, &protected) {
            tracing::warn!(
                table = %p.table.name,
                column = %column,
                "the chosen level of `{column}` is its top: every value is `*` (the search gave \
                 it up to meet k; `anonymize explore` shows the other choices)"
            );
        }
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
    // Under the lock: a newer night committed since the check at the start would prune this
    // one as soon as it is written.
    if let Some(keep) = job.keep_runs
        && crate::write::older_than_kept(&output, &names, opts.run_date, keep)
    {
        return Err(Error::Busy {
            context: "keep_runs: newer nights were committed while this run read its input, and \
                      this night would now be pruned as soon as it is written; nothing was \
                      written",
            path: output.clone(),
        });
    }
    // Now that the output is locked (and what a killed run left is recovered), the earlier
    // nights must still be the ones the check read.
    for (table, read) in &read_nights {
        if across_nights::stamp(&output, table, opts.run_date) != *read {
            return Err(Error::Busy {
                context: "the earlier nights of the output changed while this run checked \
                          against them (another run committed, or a killed one was \
                          recovered); nothing was written: run it again",
                path: output.join(table),
            });
        }
    }
    let mut tables = IndexMap::new();
    // The previous night's report, for the comparison (read under the lock, so it is settled).
    let previous = crate::report::previous_report(&output, opts.run_date);
    // Where each table was written, for the read-back of the tables that link to it.
    let mut written_to: HashMap<String, PathBuf> = HashMap::new();
    for (p, protected) in planned.iter().zip(decided) {
        let decision = &protected.decision;
        let t0 = Instant::now();
        let linked = match &p.table.link {
            None => None,
            Some(l) => Some(
                job.table(l)
                    .zip(written_to.get(l))
                    .map(|(t, path)| (t, path.as_path()))
                    .ok_or_else(|| unlinked(&p.table.name, l))?,
            ),
        };
        let written = write_table(&staging, job, p, &ctx, &protected, &remembered, linked)?;
        let (file, path) = (written.file, written.path);
        written_to.insert(p.table.name.clone(), path.clone());
        info!(
            table = %p.table.name,
            stage = "write",
            rows_out = decision.rows_out,
            seconds = t0.elapsed().as_secs_f64(),
            "wrote table"
        );
        let exposure = step(
            p.table,
            "exposure",
            "estimating what known facts single out",
            || exposure(p.table, &path, opts.run_date),
        )?;
        let mut report = table_report(p, &protected, file, exposure, written.release);
        report.previous_night = previous
            .as_ref()
            .and_then(|(date, r)| crate::report::previous_night(date, r, &p.table.name));
        tables.insert(p.table.name.clone(), report);
    }

    let prune = staging.beyond_kept(&names, job.keep_runs);
    let report = Report {
        key_id: ctx.key.as_ref().map(|k| k.id()),
        levels_pinned_to: opts
            .pin
            .as_ref()
            .filter(|_| pin.is_some())
            .map(|j| lock::path(j).display().to_string()),
        latest: staging.becomes_latest(&names),
        pruned: prune.clone(),
        tables,
        ..report_of(job, opts, started_at)
    };
    let json = serde_json::to_vec_pretty(&report).map_err(|e| Error::Io {
        context: "cannot serialize the report",
        path: output.clone(),
        source: e.into(),
    })?;
    let page = crate::report::html::render(&report);
    let pruned = staging.commit(&names, &json, page.as_bytes(), &prune)?;
    if !pruned.partitions.is_empty() {
        info!(
            stage = "commit",
            partitions = %pruned.partitions.join(","),
            "pruned the nights beyond keep_runs"
        );
    }
    if let Some(why) = pruned.failed {
        // The night is committed; an old night left behind is pruned by the next run.
        tracing::warn!(stage = "commit", error = %why, "could not prune an old night");
    }
    if let Some(pin) = pin {
        pin.commit()?;
    }
    drop(scratch);
    info!(output = %output.display(), stage = "commit", "committed");
    Ok(report)
}

/// The written table's exposure to a few known facts (see [`protect::exposure`]), for tables
/// with a subject column and quasi-identifiers.
fn exposure(
    t: &Table,
    written: &Path,
    run_date: NaiveDate,
) -> Result<Option<protect::exposure::Exposure>> {
    let subject = t.subject.as_deref().and_then(|s| t.column(s));
    let Some(subject) = subject.filter(|c| !matches!(c.action, ColumnAction::Drop)) else {
        return Ok(None);
    };
    let qis: Vec<String> = t.quasi_identifiers().map(|c| c.output.clone()).collect();
    if qis.is_empty() {
        return Ok(None);
    }
    let reading = format!("tables.{}: reading the output back", t.name);
    // Seeded by the table and the run date: a re-run of a date gives the same figures.
    let digest = <sha2::Sha256 as sha2::Digest>::digest(
        format!("{}\0{}", t.name, run_date.format("%Y-%m-%d")).as_bytes(),
    );
    let mut seed = [0u8; 8];
    seed.copy_from_slice(&digest[..8]);
    let seed = u64::from_le_bytes(seed);
    let pairs = protect::exposure::pairs(
        crate::read::scan_own(written, reading.clone())?,
        &subject.output,
        &qis,
        seed,
    )
    .map_err(Error::engine(reading))?;
    Ok(protect::exposure::estimate(
        &pairs,
        protect::exposure::SAMPLE,
        seed,
    ))
}

/// The levels searched together (see [`protect::joint`]), by table: for each table that links
/// another, or holds k^m, and searches, when it or its linked table has a searched column.
fn joint_searches(planned: &[Planned], ctx: &Context) -> Result<HashMap<String, optimize::Chosen>> {
    let mut out = HashMap::new();
    let searched = |p: &Planned| p.table.quasi_identifiers().any(transform::levels::searched);
    for q in planned {
        let Some(privacy) = q.table.privacy.filter(|p| p.recoding == Recoding::Optimal) else {
            continue;
        };
        let linked = match &q.table.link {
            Some(l) => Some(
                planned
                    .iter()
                    .find(|o| &o.table.name == l)
                    .ok_or_else(|| unlinked(&q.table.name, l))?,
            ),
            None if privacy.known_events > 1 => None,
            None => continue,
        };
        if !searched(q) && !linked.is_some_and(searched) {
            continue;
        }
        let t0 = Instant::now();
        let (_, bases) = joint_bases(q, planned, ctx)?;
        let linked_privacy = linked.map(|p| p.table.privacy.unwrap_or_else(Privacy::none));
        let (linked_choice, choice) = step(
            q.table,
            "search",
            "searching the levels of linked tables together",
            || {
                optimize::choose_joint(
                    linked
                        .zip(bases.linked.as_ref())
                        .zip(linked_privacy.as_ref())
                        .map(|((p, b), lp)| (p.table, b, lp)),
                    (q.table, &bases.linking, &privacy),
                    &bases.people,
                )
            },
        )?;
        info!(
            table = %q.table.name,
            stage = "search",
            linked = linked.map(|p| p.table.name.as_str()),
            nodes_checked = choice.2.nodes_checked,
            lattice_nodes = choice.2.lattice_nodes,
            seconds = t0.elapsed().as_secs_f64(),
            "chose the levels of linked tables together"
        );
        if let (Some(l), Some(c)) = (linked, linked_choice) {
            out.insert(l.table.name.clone(), c);
        }
        out.insert(q.table.name.clone(), choice);
    }
    Ok(out)
}

/// A linked table that did not come first: validation orders them, so this is a defect.
fn unlinked(table: &str, linked: &str) -> Error {
    Error::Job(format!(
        "tables.{table}: links to tables.{linked}, which was not protected before it"
    ))
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
            .collect::<std::collections::BTreeMap<_, _>>();
        // A table searched with a linked one may have no searched column of its own.
        if pins.is_empty() {
            continue;
        }
        lock.tables.insert(p.table.name.clone(), pins);
    }
    (!lock.tables.is_empty()).then_some(lock)
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

/// The run's context: the key (when the job needs one) and the run date.
pub fn context(job: &Job, run_date: NaiveDate) -> Result<Context> {
    Ok(Context {
        key: job.key.as_ref().map(|k| k.load()).transpose()?,
        run_date,
    })
}
