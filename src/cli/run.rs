//! `anonymize run JOB`: the nightly job. Reads the job's tables, applies every column's action,
//! enforces retention and k-anonymity, writes the run date's partitions atomically and a report.
//!
//! Example:
//! ```text
//! $ export ANONYMIZE_KEY=$(anonymize keygen)
//! $ anonymize run jobs/marketing_research.toml --run-date 2026-11-26
//! users: 3000 rows in, 2950 out (0 expired, 50 suppressed), k = 10 holds
//! activity: 30000 rows in, 24811 out (5120 expired, 69 suppressed), k = 5 holds
//! report: out/marketing_research/_reports/run_date=2026-11-26.json
//! ```
//! Paths given here are relative to the current directory; paths in the job file are relative
//! to the job file. Re-running a date replaces that date's output and nothing else.
//!
//! A back-fill runs a range of dates, oldest first, each a whole run committed on its own:
//! ```text
//! $ anonymize run jobs/marketing_research.toml --from 2026-11-01 --to 2026-11-26
//! ```
//! It stops at the first date that fails (with that date's exit code); the dates before it
//! stay committed, so re-running with `--from` at the failed date continues.
//!
//! With `--log-format json` standard output stays empty: the summary is events on standard
//! error, one `"event":"table"` a table and one `"event":"report"` a date, between the start
//! and end events (see [`crate::logs`]):
//! ```text
//! $ anonymize --log-format json run jobs/marketing_research.toml --run-date 2026-11-26 2>&1 | jq -c 'select(.event) | {event, run_date, table, rows_out, report, exit_code}'
//! {"event":"start","run_date":"2026-11-26","table":null,"rows_out":null,"report":null,"exit_code":null}
//! {"event":"table","run_date":"2026-11-26","table":"users","rows_out":2950,"report":null,"exit_code":null}
//! …
//! {"event":"report","run_date":"2026-11-26","table":null,"rows_out":null,"report":"out/marketing_research/_reports/run_date=2026-11-26.json","exit_code":null}
//! {"event":"end","run_date":"2026-11-26","table":null,"rows_out":null,"report":null,"exit_code":0}
//! ```

use std::path::PathBuf;

use crate::error::Error;
use crate::job::Job;
use crate::job::lock::{self, Lock};

use crate::pipeline::{RunOptions, run};
use crate::write::OutputClaim;

/// Run a job: read, transform, protect, write, report.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  ANONYMIZE_KEY=$(anonymize keygen) anonymize run jobs/marketing_research.toml --run-date 2026-11-26\n  anonymize run jobs/marketing_research.toml --from 2026-11-01 --to 2026-11-26   # back-fill"
)]
pub struct Args {
    /// The job file (TOML).
    pub job: PathBuf,
    /// The date the run is for (YYYY-MM-DD): retention and ages are counted from it, and the
    /// output partition is named after it. Default: today.
    #[arg(long, value_parser = super::parse_date, conflicts_with_all = ["from", "to"])]
    pub run_date: Option<chrono::NaiveDate>,
    /// Back-fill: the first of a range of run dates (with `--to`), each run and committed on
    /// its own, oldest first.
    #[arg(long, value_parser = super::parse_date, requires = "to", conflicts_with = "pin")]
    pub from: Option<chrono::NaiveDate>,
    /// Back-fill: the last run date of the range, included.
    #[arg(long, value_parser = super::parse_date, requires = "from")]
    pub to: Option<chrono::NaiveDate>,
    /// Output directory, instead of the job's `output`.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// A table's input files, instead of the job's `input` (repeatable): `--input users=exports/users/*.csv`.
    #[arg(long, value_parser = super::parse_input)]
    pub input: Vec<(String, String)>,
    /// Search the levels (ignoring an existing lock file) and pin what was found in
    /// `JOB.lock.toml` beside the job, so that later runs keep them.
    #[arg(long)]
    pub pin: bool,
    /// Write into an output folder that is not empty although anonymize did not write it
    /// (without this, such a folder is refused: it is likely a typo in `output`). The run still
    /// replaces only its own partitions and removes only what it made.
    #[arg(long)]
    pub output_is_new_dataset: bool,
}

/// Run dates a back-fill may span at most: ten years of nights.
const MAX_DATES: i64 = 3660;

pub fn execute(a: Args) -> Result<(), Error> {
    let mut job = Job::load(&a.job)?;
    crate::logs::set_job(&job.name);
    let lock_path = lock::path(&a.job);
    let mut locked = None;
    if !a.pin
        && let Some(l) = Lock::load(&a.job)?
    {
        l.apply(&mut job, &lock_path)?;
        locked = Some(lock_path.clone());
    }
    let dates = run_dates(&a)?;
    let first = dates.first().copied();
    for (i, run_date) in dates.iter().enumerate() {
        // Each date's events carry that date, the error of a failed one and the end event too.
        crate::logs::set_run_date(Some(*run_date));
        let opts = RunOptions {
            run_date: *run_date,
            output: a.output.clone(),
            inputs: a.input.clone(),
            lock: locked.clone(),
            pin: a.pin.then(|| a.job.clone()),
            output_claim: if a.output_is_new_dataset {
                OutputClaim::NewDataset
            } else {
                OutputClaim::Ours
            },
        };
        if let Err(e) = run_one(&job, &opts, &locked, a.pin) {
            if i > 0 {
                tracing::warn!(
                    run_date = %run_date,
                    "back-fill stopped at {run_date}: {} to {} are committed; run again with \
                     --from {run_date} to continue",
                    first.map(|d| d.to_string()).unwrap_or_default(),
                    dates[i - 1]
                );
            }
            return Err(e);
        }
    }
    Ok(())
}

/// The run dates: `--run-date`, the `--from`/`--to` range, or today.
fn run_dates(a: &Args) -> Result<Vec<chrono::NaiveDate>, Error> {
    let (Some(from), Some(to)) = (a.from, a.to) else {
        return Ok(vec![
            a.run_date
                .unwrap_or_else(|| chrono::Local::now().date_naive()),
        ]);
    };
    let days = (to - from).num_days();
    if days < 0 {
        return Err(Error::Job(format!(
            "--from {from} is after --to {to}: a back-fill runs from the earlier date to the later"
        )));
    }
    if days >= MAX_DATES {
        return Err(Error::Job(format!(
            "--from {from} --to {to} spans {} dates; a back-fill runs at most {MAX_DATES}",
            days + 1
        )));
    }
    Ok(from.iter_days().take(days as usize + 1).collect())
}

/// One run date: the run, then its summary: on standard output for a person, or as events
/// when logs are JSON (a scheduler's journal then holds nothing but JSON).
fn run_one(job: &Job, opts: &RunOptions, locked: &Option<PathBuf>, pin: bool) -> Result<(), Error> {
    let output = opts.output.clone().unwrap_or_else(|| job.output.clone());
    let report = match (run(job, opts), locked) {
        (Err(Error::Privacy(msg)), Some(l)) => {
            return Err(Error::Privacy(format!(
                "{msg} The levels are pinned by {}: run with --pin to search and pin new ones.",
                l.display()
            )));
        }
        (r, _) => r?,
    };
    let json = crate::logs::json();
    let pinned = match (&report.levels_pinned_to, pin) {
        (Some(p), _) => Some(format!("levels pinned in {p}")),
        (None, true) => Some("nothing to pin: no table searched its levels".to_string()),
        (None, false) => None,
    };
    if let Some(line) = &pinned
        && !json
    {
        crate::say!("{line}")?;
    }
    for (name, t) in &report.tables {
        let k = match (t.k, t.min_class_subjects) {
            (Some(k), Some(min)) => format!(", k = {k} holds (smallest class: {min} people)"),
            (Some(k), None) => format!(", k = {k} holds (no rows left)"),
            (None, _) => String::new(),
        };
        let line = format!(
            "{name}: {} rows in, {} out ({}{} expired, {} undated, {} suppressed){k}",
            t.rows_in,
            t.rows_out,
            if t.rows_erased > 0 {
                format!("{} erased, ", t.rows_erased)
            } else {
                String::new()
            },
            t.rows_expired,
            t.rows_undated,
            t.rows_suppressed
        );
        if json {
            tracing::info!(
                event = "table",
                table = %name,
                rows_in = t.rows_in,
                rows_out = t.rows_out,
                rows_erased = t.rows_erased,
                rows_expired = t.rows_expired,
                rows_undated = t.rows_undated,
                rows_suppressed = t.rows_suppressed,
                k = t.k,
                smallest_class = t.min_class_subjects,
                "{line}"
            );
        } else {
            crate::say!("{line}")?;
        }
    }
    let reports = output.join(crate::write::REPORTS_DIR);
    let name = crate::write::partition(opts.run_date);
    let json_report = reports.join(format!("{name}.json"));
    let page = reports.join(format!("{name}.html"));
    if json {
        tracing::info!(
            event = "report",
            report = %json_report.display(),
            page = %page.display(),
            levels_pinned = report.levels_pinned_to.as_deref(),
            "report: {}{}",
            json_report.display(),
            pinned.map(|p| format!(" ({p})")).unwrap_or_default()
        );
    } else {
        crate::say!("report: {}", json_report.display())?;
        crate::say!("page: {}", page.display())?;
    }
    Ok(())
}
