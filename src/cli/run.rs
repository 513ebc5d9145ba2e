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

use std::path::PathBuf;

use crate::error::Error;
use crate::job::Job;
use crate::job::lock::{self, Lock};

use crate::run::{RunOptions, run};

/// Run a job: read, transform, protect, write, report.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  ANONYMIZE_KEY=$(anonymize keygen) anonymize run jobs/marketing_research.toml --run-date 2026-11-26"
)]
pub struct Args {
    /// The job file (TOML).
    pub job: PathBuf,
    /// The date the run is for (YYYY-MM-DD): retention and ages are counted from it, and the
    /// output partition is named after it. Default: today.
    #[arg(long, value_parser = super::parse_date)]
    pub run_date: Option<chrono::NaiveDate>,
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
}

pub fn execute(a: Args) -> Result<(), Error> {
    let mut job = Job::load(&a.job)?;
    let lock_path = lock::path(&a.job);
    let mut locked = None;
    if !a.pin
        && let Some(l) = Lock::load(&a.job)?
    {
        l.apply(&mut job, &lock_path)?;
        locked = Some(lock_path.clone());
    }
    let opts = RunOptions {
        run_date: a
            .run_date
            .unwrap_or_else(|| chrono::Local::now().date_naive()),
        output: a.output,
        inputs: a.input,
        lock: locked.clone(),
        pin: a.pin.then(|| a.job.clone()),
    };
    let output = opts.output.clone().unwrap_or_else(|| job.output.clone());
    let report = match (run(&job, &opts), &locked) {
        (Err(Error::Privacy(msg)), Some(l)) => {
            return Err(Error::Privacy(format!(
                "{msg} The levels are pinned by {}: run with --pin to search and pin new ones.",
                l.display()
            )));
        }
        (r, _) => r?,
    };
    match (&report.levels_pinned_to, a.pin) {
        (Some(p), _) => println!("levels pinned in {p}"),
        (None, true) => println!("nothing to pin: no table searched its levels"),
        (None, false) => {}
    }
    for (name, t) in &report.tables {
        let k = match (t.k, t.min_class_subjects) {
            (Some(k), Some(min)) => format!(", k = {k} holds (smallest class: {min} people)"),
            (Some(k), None) => format!(", k = {k} holds (no rows left)"),
            (None, _) => String::new(),
        };
        println!(
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
    }
    println!(
        "report: {}",
        output
            .join(crate::write::REPORTS_DIR)
            .join(format!("{}.json", crate::write::partition(opts.run_date)))
            .display()
    );
    Ok(())
}
