//! `anonymize check JOB`: validates the job file, the key and every input file's header, and
//! prints the plan (each column's action and output name). Reads no rows, writes nothing.
//!
//! Example:
//! ```text
//! $ anonymize check jobs/marketing_research.toml
//! job marketing_research (jobs/marketing_research.toml)
//! key: environment variable ANONYMIZE_KEY, key_id 44cf8b1a7e025bcb
//! output: out/marketing_research
//!
//! table users: 1 csv file from sample_data/users/*.csv
//!   k = 10 distinct user_id per class, at most 5% of rows suppressed
//!   column           action        method      role        output             details
//!   user_id          pseudonymize  -           -           user_id            32 hex characters
//!   full_name        drop          -           -           -
//!   birth_date       generalize    age         quasi       age_band           band 10, top 70+
//!   ...
//! ```

use std::fmt::Write;
use std::path::PathBuf;

use crate::error::Error;
use crate::job::{BadRows, ColumnAction, Invalid, Job, Role};
use crate::run::{RunOptions, plan};

/// Check a job file, its key and its inputs' headers; print the plan.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  anonymize check jobs/marketing_research.toml")]
pub struct Args {
    /// The job file (TOML).
    pub job: PathBuf,
    /// The run date `{run_date}` in input patterns stands for. Default: today.
    #[arg(long, value_parser = super::parse_date)]
    pub run_date: Option<chrono::NaiveDate>,
    /// A table's input files, instead of the job's `input` (repeatable).
    #[arg(long, value_parser = super::parse_input)]
    pub input: Vec<(String, String)>,
}

pub fn execute(a: Args) -> Result<(), Error> {
    let mut job = Job::load(&a.job)?;
    let lock_path = crate::job::lock::path(&a.job);
    let locked = match crate::job::lock::Lock::load(&a.job)? {
        Some(lock) => {
            lock.apply(&mut job, &lock_path)?;
            true
        }
        None => false,
    };
    let key = job.key.as_ref().map(|k| k.load()).transpose()?;
    let opts = RunOptions::reading(a.run_date, a.input);
    let planned = plan(&job, &opts)?;

    let mut out = String::new();
    let _ = writeln!(out, "job {} ({})", job.name, job.path.display());
    if let Some(p) = &job.purpose {
        let _ = writeln!(out, "purpose: {p}");
    }
    match (&job.key, &key) {
        (Some(source), Some(key)) => {
            let _ = writeln!(out, "key: {}, key_id {}", source.describe(), key.id());
        }
        _ => {
            let _ = writeln!(out, "key: none (no column is pseudonymized)");
        }
    }
    let _ = writeln!(out, "output: {}", job.output.display());
    if locked {
        let _ = writeln!(out, "levels pinned by {}", lock_path.display());
    }
    for p in &planned {
        let t = p.table;
        let n = p.source.files.len();
        let _ = writeln!(
            out,
            "\ntable {}: {n} {} file{} from {}",
            t.name,
            p.source.format.name(),
            if n == 1 { "" } else { "s" },
            p.pattern
        );
        if let Some(r) = &t.retention {
            let _ = writeln!(
                out,
                "  retention: rows older than {} days by `{}` are removed",
                r.days, r.column
            );
        }
        let _ = match t.bad_rows {
            BadRows::Error => writeln!(out, "  bad rows: the run stops at the first"),
            BadRows::Skip { max_share } => writeln!(
                out,
                "  bad rows: skipped and counted, at most {}% of rows",
                max_share * 100.0
            ),
        };
        let who = t.subject.as_deref().unwrap_or("rows (no subject column)");
        match t.privacy {
            Some(pr) => {
                let _ = writeln!(
                    out,
                    "  k = {} distinct {who} per class, at most {}% of rows suppressed",
                    pr.k,
                    pr.max_suppression * 100.0
                );
            }
            None => {
                let _ = writeln!(out, "  no quasi-identifiers: no k-anonymity");
            }
        }
        row(
            &mut out,
            ["column", "action", "method", "role", "output", "details"],
        );
        for name in &p.source.columns {
            let Some(c) = t.column(name) else {
                row(
                    &mut out,
                    [
                        name,
                        "drop",
                        "-",
                        "-",
                        "-",
                        "not in the job (unlisted = \"drop\")",
                    ],
                );
                continue;
            };
            let (action, method) = c.describe();
            let role = match c.role {
                Role::Quasi => "quasi",
                Role::Sensitive => "sensitive",
                Role::Insensitive => "-",
            };
            let output = if matches!(c.action, ColumnAction::Drop) {
                "-"
            } else {
                c.output.as_str()
            };
            row(
                &mut out,
                [
                    name,
                    action,
                    method.unwrap_or("-"),
                    role,
                    output,
                    &details(c),
                ],
            );
        }
    }
    print!("{out}");
    Ok(())
}

/// The column's parameters, and what its unreadable values do when the job says.
fn details(c: &crate::job::Column) -> String {
    let mut d = c.details();
    let note = match c.invalid {
        Some(Invalid::Null) => "unreadable → null",
        Some(Invalid::Top) => "unlisted → top level",
        Some(Invalid::BadRow) | None => return d,
    };
    if !d.is_empty() {
        d.push_str("; ");
    }
    d.push_str(note);
    d
}

/// One line of the column table, aligned.
fn row(out: &mut String, cells: [&str; 6]) {
    let [name, action, method, role, output, details] = cells;
    let line = format!("  {name:<16} {action:<13} {method:<11} {role:<11} {output:<18} {details}");
    out.push_str(line.trim_end());
    out.push('\n');
}
