//! `anonymize explore JOB`: what k and the suppression limit cost, before choosing them. For
//! each table with quasi-identifiers it reads the data once, then searches the least-loss levels
//! for every k and suppression limit asked for, and prints one line each. Writes nothing.
//!
//! Example:
//! ```text
//! $ anonymize explore jobs/adult.toml --k 5,10 --suppression 0,0.01
//! table adult: 30162 rows, 12960 level combinations (metric: loss)
//!     k  suppr.  levels                         suppressed     loss  classes  checked  seconds
//!     5   0.00%  sex=1 age=2 race=1 …              0.00%     0.5135      …
//! ```
//! Columns the job pins keep their level; the others are searched within their bounds (a
//! table without `search = "optimal"` has only its pinned levels, and so one combination).

use std::fmt::Write;
use std::path::PathBuf;

use crate::error::Error;
use crate::job::{Job, MetricName};
use crate::pipeline::{
    Planned, RunOptions, context, joint_bases, plan, search_base, validate_rows,
};
use crate::protect::search::{Goal, Searcher};
use crate::protect::{joint, optimize};

/// Show, for several k and suppression limits, the least-loss levels and what they cost.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  anonymize explore jobs/adult.toml --k 5,10 --suppression 0,0.01,0.05"
)]
pub struct Args {
    /// The job file (TOML).
    pub job: PathBuf,
    /// Only this table.
    #[arg(long)]
    pub table: Option<String>,
    /// The values of k to try.
    #[arg(long, value_delimiter = ',', default_values_t = [2u32, 5, 10, 20, 50])]
    pub k: Vec<u32>,
    /// The suppression limits to try (shares of rows, 0 to 1).
    #[arg(long, value_delimiter = ',', default_values_t = [0.0f64, 0.01, 0.02, 0.05])]
    pub suppression: Vec<f64>,
    /// The metric to minimize; default: the table's own.
    #[arg(long, value_enum)]
    pub metric: Option<Metric>,
    /// The run date (ages and retention count from it). Default: today.
    #[arg(long, value_parser = super::parse_date)]
    pub run_date: Option<chrono::NaiveDate>,
    /// A table's input files, instead of the job's `input` (repeatable).
    #[arg(long, value_parser = super::parse_input)]
    pub input: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Metric {
    Loss,
    Entropy,
    Discernibility,
}

pub fn execute(a: Args) -> Result<(), Error> {
    let job = Job::load(&a.job)?;
    if let Some(t) = &a.table
        && job.table(t).is_none()
    {
        return Err(Error::Job(format!(
            "--table {t}: the job has no such table"
        )));
    }
    if a.k.contains(&0) {
        return Err(Error::Job("--k: k is at least 1".into()));
    }
    if let Some(s) = a.suppression.iter().find(|s| !(0.0..=1.0).contains(*s)) {
        return Err(Error::Job(format!(
            "--suppression {s}: a share of rows is from 0 to 1"
        )));
    }
    let opts = RunOptions::reading(a.run_date, a.input);
    let ctx = context(&job, opts.run_date)?;
    let mut planned = plan(&job, &opts)?;
    validate_rows(&mut planned)?;
    for p in &planned {
        let t = p.table;
        if a.table.as_ref().is_some_and(|name| *name != t.name) {
            continue;
        }
        if t.quasi_identifiers().next().is_none() {
            crate::say!(
                "table {}: no quasi-identifiers, nothing to explore\n",
                t.name
            )?;
            continue;
        }
        let known_events = t.privacy.map_or(1, |p| p.known_events);
        if t.link.is_some() || known_events > 1 {
            if a.metric.is_some_and(|m| !matches!(m, Metric::Loss)) {
                crate::say!(
                    "table {}: --metric is not used here: a search with a linked table or \
                     known_events minimizes the loss\n",
                    t.name
                )?;
            }
            explore_joint(p, &planned, &ctx, &a.k, &a.suppression)?;
            continue;
        }
        let metric = match a.metric {
            Some(Metric::Loss) => MetricName::Loss,
            Some(Metric::Entropy) => MetricName::Entropy,
            Some(Metric::Discernibility) => MetricName::Discernibility,
            None => t.privacy.map(|p| p.metric).unwrap_or_default(),
        };
        let base = search_base(p, &ctx)?;
        let rows: u64 = base.rows.iter().sum();
        let combos: usize = base.dims.iter().map(|d| d.levels()).product();
        let mut searcher = Searcher::new(&base);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "table {}: {rows} rows, {combos} level combinations (metric: {})",
            t.name,
            metric_name(metric)
        );
        let _ = writeln!(
            out,
            "  {:>5}  {:>7}  {:<40}  {:>10}  {:>8}  {:>14}  {:>8}  {:>8}  {:>8}  {:>8}  {:>8}",
            "k",
            "suppr.",
            "levels",
            "suppressed",
            "loss",
            "entropy",
            "classes",
            "max risk",
            "avg risk",
            "checked",
            "seconds"
        );
        for &k in &a.k {
            for &s in &a.suppression {
                let goal = Goal {
                    k,
                    max_suppression: s,
                    metric,
                    models: t.privacy.map(|p| p.models).unwrap_or_default(),
                };
                let outcome = searcher
                    .search(&goal)
                    .map_err(|e| Error::Job(format!("tables.{}: {e}", t.name)))?;
                let line = match &outcome.best {
                    None if goal.models.is_empty() => {
                        format!("{:<40}  {:>10}", "no combination meets k", "-")
                    }
                    None => format!(
                        "{:<40}  {:>10}",
                        "no combination meets k and the models", "-"
                    ),
                    Some(b) => {
                        let levels = t
                            .quasi_identifiers()
                            .zip(&b.levels)
                            .map(|(c, l)| level_text(c, c.output.clone(), c.levels.min + l))
                            .collect::<Vec<_>>()
                            .join(" ");
                        format!(
                            "{levels:<40}  {:>9.2}%  {:>8.4}  {:>14.2}  {:>8}  {:>8.4}  {:>8.4}",
                            100.0 * b.rows_suppressed as f64 / rows.max(1) as f64,
                            b.loss,
                            b.entropy,
                            b.equivalence_classes,
                            b.max_risk,
                            b.avg_risk
                        )
                    }
                };
                let cost = (outcome.nodes_checked, outcome.seconds);
                result_line(&mut out, k, s, &line, cost);
            }
        }
        crate::say!("{out}")?;
    }
    Ok(())
}

/// A linked (or k^m) table: its levels and its linked table's searched together for each k and
/// limit asked (the linked table keeps the job's k and limit), as the run would search them.
fn explore_joint(
    p: &Planned,
    planned: &[Planned],
    ctx: &crate::transform::Context,
    ks: &[u32],
    limits: &[f64],
) -> Result<(), Error> {
    let t = p.table;
    let (
        linked,
        optimize::JointBases {
            linked: linked_base,
            linking: base,
            people,
        },
    ) = joint_bases(p, planned, ctx)?;
    let linked_privacy = linked.map(|l| l.table.privacy.unwrap_or_else(crate::job::Privacy::none));
    let privacy = t.privacy.unwrap_or_else(crate::job::Privacy::none);
    let rows: u64 = base.rows.iter().sum();
    let mut out = String::new();
    let with = match (linked, &linked_privacy) {
        (Some(l), Some(lp)) => format!(
            ", linked to {} (k = {} there, at most {}% suppressed), levels of both searched together",
            l.table.name,
            lp.k,
            lp.max_suppression * 100.0
        ),
        _ => String::new(),
    };
    let _ = writeln!(
        out,
        "table {}: {rows} rows{with}; known_events = {} (metric: loss, the mean of the tables')",
        t.name, privacy.known_events
    );
    let _ = writeln!(
        out,
        "  {:>5}  {:>7}  {:<64}  {:>10}  {:>8}  {:>8}  {:>8}  {:>8}",
        "k", "suppr.", "levels", "suppressed", "loss", "classes", "checked", "seconds"
    );
    let names = |u: &crate::job::Table, levels: &[usize], prefix: bool| -> Vec<String> {
        u.quasi_identifiers()
            .zip(levels)
            .map(|(c, l)| {
                let name = if prefix {
                    format!("{}.{}", u.name, c.output)
                } else {
                    c.output.clone()
                };
                level_text(c, name, c.levels.min + l)
            })
            .collect()
    };
    for &k in ks {
        for &s in limits {
            let goal = Goal {
                k,
                max_suppression: s,
                metric: MetricName::Loss,
                models: Default::default(),
            };
            let outcome = joint::search(&joint::Joint {
                linked: linked_base
                    .as_ref()
                    .zip(linked_privacy.as_ref())
                    .map(|(b, lp)| joint::Side {
                        base: b,
                        goal: Goal::of(lp),
                    }),
                linking: joint::Side { base: &base, goal },
                people: &people,
                known_events: privacy.known_events as usize,
            })
            .map_err(|e| Error::Job(format!("tables.{}: {e}", t.name)))?;
            let line = match &outcome.best {
                None => format!("{:<64}  {:>10}", "no combination holds", "-"),
                Some(b) => {
                    let mut levels = Vec::new();
                    if let (Some(l), Some(r)) = (linked, &b.linked) {
                        levels.extend(names(l.table, &r.levels, true));
                    }
                    levels.extend(names(t, &b.linking.levels, false));
                    format!(
                        "{:<64}  {:>9.2}%  {:>8.4}  {:>8}",
                        levels.join(" "),
                        100.0 * b.linking.rows_suppressed as f64 / rows.max(1) as f64,
                        b.loss,
                        b.linking.equivalence_classes,
                    )
                }
            };
            let cost = (outcome.nodes_checked, outcome.seconds);
            result_line(&mut out, k, s, &line, cost);
        }
    }
    crate::say!("{out}")?;
    Ok(())
}

/// `name=level`, and `name=3(*)` when the level is the column's top: every value `*`, the
/// column given up.
fn level_text(c: &crate::job::Column, name: String, level: usize) -> String {
    if crate::transform::levels::at_top(c, level) {
        format!("{name}={level}(*)")
    } else {
        format!("{name}={level}")
    }
}

/// One line of results: k, the limit, what the search found, and what it cost.
fn result_line(out: &mut String, k: u32, limit: f64, found: &str, (checked, seconds): (u64, f64)) {
    let _ = writeln!(
        out,
        "  {k:>5}  {:>6.2}%  {found}  {checked:>8}  {seconds:>8.3}",
        limit * 100.0
    );
}

fn metric_name(m: MetricName) -> &'static str {
    match m {
        MetricName::Loss => "loss",
        MetricName::Entropy => "entropy",
        MetricName::Discernibility => "discernibility",
    }
}
