//! `anonymize check JOB`: validates the job file, the key and every input file's header, and
//! prints the plan (each column's action and output name). It then reads a sample of each
//! table's first rows (`--sample`, 0 for none) to warn about quasi-identifiers with so many
//! distinct values that k cannot hold without suppressing most rows. Writes nothing.
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
//!   birth_date       generalize    birth_year  quasi       birth_cohort       cohorts of 20 years
//!   ...
//! ```
//! With `--log-format json` the plan is one event on standard error (`"event":"plan"`, the
//! text in `plan`), and standard output stays empty.

use std::fmt::Write;
use std::path::PathBuf;

use crate::error::Error;
use crate::job::{BadRows, ColumnAction, Invalid, Job, Role};
use crate::pipeline::{Planned, RunOptions, plan};

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
    /// Rows of each table read to look for quasi-identifiers with too many distinct values
    /// (0: read no rows).
    #[arg(long, default_value_t = 100_000)]
    pub sample: u32,
}

pub fn execute(a: Args) -> Result<(), Error> {
    let mut job = Job::load(&a.job)?;
    crate::logs::set_job(&job.name);
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
    let ctx = crate::transform::Context {
        key: key.clone(),
        run_date: opts.run_date,
    };
    let planned = plan(&job, &opts)?;
    // What `run` would refuse about the output, said here first (a warning: `run` may be given
    // another `--output`, or `--output-is-new-dataset`).
    if let Err(e) = crate::write::check_output(&job.output, crate::write::OutputClaim::Ours) {
        tracing::warn!("{e}");
    }

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
        let linked = p.table.link.as_deref().and_then(|l| job.table(l));
        table(&mut out, p, linked);
        columns(&mut out, p);
        for w in policy_warnings(p.table) {
            let _ = writeln!(out, "  warning: {w}");
        }
        if a.sample > 0 {
            for w in warnings(p, &ctx, a.sample) {
                let _ = writeln!(out, "  warning: {w}");
            }
        }
    }
    let out = out.trim_end_matches('\n');
    if crate::logs::json() {
        // One event holding the plan as text (`jq -r .plan` prints it): JSON logs hold
        // nothing but JSON.
        tracing::info!(
            event = "plan",
            plan = out,
            "the plan of job {}: {} tables",
            job.name,
            planned.len()
        );
        return Ok(());
    }
    crate::say!("{out}")
}

/// What a job file allows but rarely means: a sensitive column that no model protects, and
/// k = 1 on quasi-identifiers (every class holds one person: nothing is protected).
fn policy_warnings(t: &crate::job::Table) -> Vec<String> {
    let mut out = Vec::new();
    let Some(privacy) = t.privacy else {
        return out;
    };
    let sensitive: Vec<String> = t.sensitive().map(|c| format!("`{}`", c.output)).collect();
    if !sensitive.is_empty() && privacy.models.is_empty() {
        out.push(format!(
            "{} {} role = \"sensitive\" but no model protects {}: add l_diversity or \
             t_closeness under [tables.{}.privacy], or give the column another role",
            sensitive.join(", "),
            if sensitive.len() == 1 { "has" } else { "have" },
            if sensitive.len() == 1 { "it" } else { "them" },
            t.name
        ));
    }
    if privacy.k == 1 && t.quasi_identifiers().next().is_some() {
        out.push(format!(
            "k = 1 in tables.{}: a class of one person is allowed, so the quasi-identifiers are \
             generalized but nobody is hidden among others",
            t.name
        ));
    }
    out
}

/// A table's files and its policies: retention, bad rows, k and the models.
fn table(out: &mut String, p: &Planned, linked: Option<&crate::job::Table>) {
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
    // The files found, a line each (the first ten of a long list).
    const LISTED: usize = 10;
    for f in p.source.files.iter().take(LISTED) {
        let _ = writeln!(out, "  - {}", f.display());
    }
    if n > LISTED {
        let _ = writeln!(out, "  - … and {} more", n - LISTED);
    }
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
            if let Some(l) = &t.link {
                let _ = writeln!(
                    out,
                    "  linked to {l}: classes are counted over the join on the pseudonym"
                );
                let searched = |t: &crate::job::Table| {
                    t.quasi_identifiers()
                        .any(crate::transform::levels::searched)
                };
                if pr.recoding == crate::job::Recoding::Optimal
                    && (searched(t) || linked.is_some_and(searched))
                {
                    let _ = writeln!(
                        out,
                        "  levels: searched together with tables.{l} (one lattice over both tables)"
                    );
                }
            }
            if pr.known_events > 1 {
                let _ = writeln!(
                    out,
                    "  known events: every {} of a person's facts are shared by k people \
                     (k^{})",
                    pr.known_events, pr.known_events
                );
            }
            if !pr.models.is_empty() {
                let sensitive: Vec<String> =
                    t.sensitive().map(|c| format!("`{}`", c.output)).collect();
                let _ = writeln!(
                    out,
                    "  {} on {}",
                    pr.models.describe(),
                    sensitive.join(", ")
                );
            }
            if pr.recoding == crate::job::Recoding::Mondrian {
                let _ = writeln!(out, "  levels: Mondrian partitions (search = \"mondrian\")");
            }
            if crate::pipeline::across_nights::compared(t).is_some() {
                let _ = writeln!(
                    out,
                    "  across nights: checked against every earlier night of the output (stable \
                     pseudonyms){}",
                    if pr.recoding == crate::job::Recoding::Mondrian {
                        "; Mondrian's partitions move with the data, and the people they single \
                         out across nights are suppressed"
                    } else {
                        ""
                    }
                );
            }
        }
        None => {
            let _ = writeln!(out, "  no quasi-identifiers: no k-anonymity");
        }
    }
}

/// A table's columns, a line each, in the input's order (unlisted ones named only when their
/// names do not look like identifiers).
fn columns(out: &mut String, p: &Planned) {
    let t = p.table;
    row(
        out,
        ["column", "action", "method", "role", "output", "details"],
    );
    for name in &p.source.columns {
        let Some(c) = t.column(name) else {
            // A name from the data, not the job: it may be a person's data.
            let shown = crate::identifiers::shown_name(name);
            row(
                out,
                [
                    &shown,
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
            out,
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

/// Quasi-identifiers (at a fixed level) whose distinct values in the table's first `rows` rows
/// outnumber the people there divided by k: on their own they already make classes too small,
/// so k could hold only by suppressing most rows. A sample that cannot be read is a warning
/// too; the run's own checks decide about the data.
fn warnings(p: &Planned, ctx: &crate::transform::Context, rows: u32) -> Vec<String> {
    use polars::prelude::*;
    let t = p.table;
    let Some(privacy) = t.privacy else {
        return Vec::new();
    };
    let fixed: Vec<&crate::job::Column> = t
        .quasi_identifiers()
        .filter(|c| !crate::transform::levels::searched(c))
        .collect();
    if fixed.is_empty() {
        return Vec::new();
    }
    let tally = crate::transform::ColumnTallies::default();
    let mut exprs: Vec<Expr> = fixed
        .iter()
        .filter_map(|c| crate::transform::column_expr_at(c, c.levels.min, ctx, &tally))
        .map(|e| e.n_unique().cast(DataType::UInt64))
        .collect();
    let people = match t.subject.as_deref() {
        Some(s) => col(s).n_unique(),
        None => len(),
    };
    exprs.push(people.cast(DataType::UInt64).alias("__people"));
    let sampled = crate::read::scan(&p.source, t)
        .map_err(|e| e.to_string())
        .and_then(|lf| {
            lf.limit(rows)
                .select(exprs)
                .collect()
                .map_err(|_| "the engine could not read it".to_string())
        });
    let df = match sampled {
        Ok(df) => df,
        Err(e) => return vec![format!("the first {rows} rows could not be sampled ({e})")],
    };
    let get = |name: &str| {
        df.column(name)
            .ok()
            .and_then(|c| c.u64().ok()?.get(0))
            .unwrap_or(0)
    };
    let people = get("__people");
    fixed
        .iter()
        .filter_map(|c| {
            let distinct = get(&c.output);
            let room = people / u64::from(privacy.k.max(1));
            (distinct > room).then(|| {
                format!(
                    "quasi-identifier `{}` has {distinct} distinct values among {people} people \
                     in the first {rows} rows: with k = {}, its values alone make classes of \
                     fewer than k people. Generalize it further (a coarser level or method \
                     parameter), or let the search choose its level",
                    c.output, privacy.k
                )
            })
        })
        .collect()
}

/// The column's parameters, and what its unreadable values do when the job says.
fn details(c: &crate::job::Column) -> String {
    let mut d = c.details();
    let note = match c.invalid {
        Some(Invalid::Null) => "unreadable → null",
        Some(Invalid::Top) => "unlisted → top level",
        Some(Invalid::BadRow | Invalid::Error) | None => return d,
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
