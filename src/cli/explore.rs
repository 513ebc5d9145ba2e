//! `anonymize explore JOB`: what k and the suppression limit cost, before choosing them. For
//! each table with quasi-identifiers it reads the data once, then searches the least-loss levels
//! for every k and suppression limit asked for, and prints one row each. Writes nothing.
//!
//! Example:
//! ```text
//! $ anonymize explore jobs/marketing_research.toml --table users --k 5,10 --suppression 0.05
//! table users: 5000 rows, 6 level combinations (metric: loss); the job: k = 10, at most 5.00% suppressed
//! |  k | suppr. | birth_cohort | gender        | macro_region     | suppressed |   loss | …
//! |----|--------|--------------|---------------|------------------|------------|--------|-…
//! |  5 |  5.00% | 2 (10-year)  | 0 (the value) | 2 (macro-region) |      2.02% | 0.0413 | …
//! | 10 |  5.00% | 3 (20-year)  | 0 (the value) | 2 (macro-region) |      2.10% | 0.0800 | …
//! ```
//! Each level is shown with its name, so that a reader need not know the ladders by heart: the
//! method names it ([`crate::method::Generalize::level_name`]: `20-year`, `/24`, a hierarchy's
//! `level_names`), and a column at its top level, where every value is `*` and the column is
//! given up, reads `(*)`. A search may choose that, but not silently. The row with the job's
//! own k, limit and metric is marked `chosen`: the levels `run --pin` (or a run without a lock)
//! would choose. Columns the job pins keep their level; the others are searched within their
//! bounds (a table without `search = "optimal"` has only its pinned levels, and so one
//! combination). The table is aligned (comfy-table, already in the tree through polars), so a
//! column of choices reads down the page.
//!
//! `--format json` prints the same content as one JSON document, for scripts and notebooks.
//! Its keys are stable, and the README lists them ("Choosing levels"):
//! - `tables`: one object a table with quasi-identifiers, in the job's order: `table`, `rows`,
//!   `combinations` (the level combinations; null for a search with a linked table or
//!   `known_events`), `metric`, `recoding` (what a run does: `fixed`, `optimal` or `mondrian`),
//!   `k` and `max_suppression` (the job's), `linked` (null, or `{table, k, max_suppression}`),
//!   `known_events`, `notes` (sentences), `columns` and `candidates`;
//! - `columns`: one object a quasi-identifier, `{column, method, levels}`, `levels` being the
//!   levels it may take as `{level, name, top}` (`column`: the output name, `users.`-prefixed
//!   for a linked table's; `method`: null for a kept column);
//! - `candidates`: one object a k and limit tried, in the order tried: `k`, `max_suppression`,
//!   `chosen`, `found`, `levels` (column → `{level, name, top}`; null when nothing holds),
//!   `rows_suppressed`, `suppressed` (a share of `rows`), `loss`, `entropy`, `classes`,
//!   `max_risk`, `avg_risk` (null when nothing holds, and the last three for a linked search,
//!   which does not compute them), `nodes_checked`, `seconds`.
//!
//! Tables without quasi-identifiers are left out of the JSON (the text says so).

use std::path::PathBuf;

use comfy_table::{CellAlignment, Table as Grid, presets};
use indexmap::IndexMap;
use serde::Serialize;

use crate::error::Error;
use crate::job::{Column, ColumnAction, Job, MetricName, Recoding, Table};
use crate::pipeline::{
    Planned, RunOptions, context, joint_bases, plan, search_base, validate_rows,
};
use crate::protect::search::{Goal, NodeReport, Searcher};
use crate::protect::{joint, optimize};
use crate::transform::levels;

/// Show, for several k and suppression limits, the least-loss levels and what they cost.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  anonymize explore jobs/adult.toml --k 5,10 --suppression 0,0.01,0.05\n  \
                  anonymize explore jobs/adult.toml --format json | jq '.tables[].candidates[] | select(.chosen)'"
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
    /// `text`: aligned tables for people; `json`: the same as one JSON document, for scripts.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Metric {
    Loss,
    Entropy,
    Discernibility,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// What `explore` found, as `--format json` prints it (the keys are in the module's header).
#[derive(Debug, Serialize)]
struct Explored {
    tables: Vec<Explore>,
}

/// One table's exploration.
#[derive(Debug, Serialize)]
struct Explore {
    table: String,
    rows: u64,
    combinations: Option<u64>,
    metric: &'static str,
    recoding: &'static str,
    k: u32,
    max_suppression: f64,
    linked: Option<Linked>,
    known_events: u32,
    notes: Vec<String>,
    columns: Vec<ColumnLevels>,
    candidates: Vec<Candidate>,
}

#[derive(Debug, Serialize)]
struct Linked {
    table: String,
    k: u32,
    max_suppression: f64,
}

/// A quasi-identifier and the levels it may take.
#[derive(Debug, Serialize)]
struct ColumnLevels {
    column: String,
    method: Option<&'static str>,
    levels: Vec<Level>,
}

/// A level with its name; `top` where every value is `*`.
#[derive(Debug, Clone, Serialize)]
struct Level {
    level: usize,
    name: String,
    top: bool,
}

/// The search's answer for one k and limit.
#[derive(Debug, Serialize)]
struct Candidate {
    k: u32,
    max_suppression: f64,
    chosen: bool,
    found: bool,
    levels: Option<IndexMap<String, Level>>,
    rows_suppressed: Option<u64>,
    suppressed: Option<f64>,
    loss: Option<f64>,
    entropy: Option<f64>,
    classes: Option<u64>,
    max_risk: Option<f64>,
    avg_risk: Option<f64>,
    nodes_checked: u64,
    seconds: f64,
    /// Why nothing was found, for the text.
    #[serde(skip)]
    missing: &'static str,
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
    let opts = RunOptions::reading(a.run_date, a.input.clone());
    let ctx = context(&job, opts.run_date)?;
    let mut planned = plan(&job, &opts)?;
    validate_rows(&mut planned)?;
    let mut explored = Vec::new();
    for p in &planned {
        let t = p.table;
        if a.table.as_ref().is_some_and(|name| *name != t.name) {
            continue;
        }
        if t.quasi_identifiers().next().is_none() {
            if a.format == Format::Text {
                crate::say!(
                    "table {}: no quasi-identifiers, nothing to explore\n",
                    t.name
                )?;
            }
            continue;
        }
        let known_events = t.privacy.map_or(1, |p| p.known_events);
        let table = if t.link.is_some() || known_events > 1 {
            explore_joint(p, &planned, &ctx, &a)?
        } else {
            explore_one(p, &ctx, &a)?
        };
        match a.format {
            // Each table as soon as it is done: a large job's first tables need not wait.
            Format::Text => crate::say!("{}", text(&table))?,
            Format::Json => explored.push(table),
        }
    }
    if a.format == Format::Json {
        let doc = serde_json::to_string_pretty(&Explored { tables: explored }).map_err(|e| {
            Error::Io {
                context: "cannot write the exploration as JSON",
                path: "<stdout>".into(),
                source: e.into(),
            }
        })?;
        crate::say!("{doc}")?;
    }
    Ok(())
}

/// A table searched on its own, for every k and limit asked.
fn explore_one(p: &Planned, ctx: &crate::transform::Context, a: &Args) -> Result<Explore, Error> {
    let t = p.table;
    let privacy = t.privacy.unwrap_or_else(crate::job::Privacy::none);
    let metric = match a.metric {
        Some(Metric::Loss) => MetricName::Loss,
        Some(Metric::Entropy) => MetricName::Entropy,
        Some(Metric::Discernibility) => MetricName::Discernibility,
        None => privacy.metric,
    };
    let base = search_base(p, ctx)?;
    let rows: u64 = base.rows.iter().sum();
    let combinations: usize = base.dims.iter().map(|d| d.levels()).product();
    let mut searcher = Searcher::new(&base);
    let mut notes = Vec::new();
    if privacy.recoding == Recoding::Mondrian {
        notes.push(
            "the job partitions this table with Mondrian (`search = \"mondrian\"`): these are \
             full-domain levels, to compare with; a run writes per-class ones"
                .to_string(),
        );
    }
    if metric != privacy.metric {
        notes.push(format!(
            "--metric {} is not the table's ({}): no row is what a run would choose",
            metric_name(metric),
            metric_name(privacy.metric)
        ));
    }
    let qis: Vec<&Column> = t.quasi_identifiers().collect();
    let mut candidates = Vec::new();
    for &k in &a.k {
        for &s in &a.suppression {
            let goal = Goal {
                k,
                max_suppression: s,
                metric,
                models: privacy.models,
            };
            let outcome = searcher
                .search(&goal)
                .map_err(|e| Error::Job(format!("tables.{}: {e}", t.name)))?;
            let chosen = privacy.recoding != Recoding::Mondrian
                && metric == privacy.metric
                && is_the_jobs(&privacy, k, s);
            let mut c = candidate(k, s, chosen, rows, outcome.best.as_ref(), |b| {
                qis.iter()
                    .zip(&b.levels)
                    .map(|(c, l)| (c.output.clone(), level(c, c.levels.min + l)))
                    .collect()
            });
            if let Some(b) = &outcome.best {
                c.entropy = Some(b.entropy);
                c.max_risk = Some(b.max_risk);
                c.avg_risk = Some(b.avg_risk);
            }
            c.missing = if goal.models.is_empty() {
                "no combination meets k"
            } else {
                "no combination meets k and the models"
            };
            c.nodes_checked = outcome.nodes_checked;
            c.seconds = outcome.seconds;
            candidates.push(c);
        }
    }
    Ok(Explore {
        table: t.name.clone(),
        rows,
        combinations: Some(combinations as u64),
        metric: metric_name(metric),
        recoding: privacy.recoding.name(),
        k: privacy.k,
        max_suppression: privacy.max_suppression,
        linked: None,
        known_events: privacy.known_events,
        notes,
        columns: qis
            .iter()
            .map(|c| column_levels(c, c.output.clone()))
            .collect(),
        candidates,
    })
}

/// A linked (or k^m) table: its levels and its linked table's searched together for each k and
/// limit asked (the linked table keeps the job's k and limit), as the run would search them.
fn explore_joint(
    p: &Planned,
    planned: &[Planned],
    ctx: &crate::transform::Context,
    a: &Args,
) -> Result<Explore, Error> {
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
    let mut notes = Vec::new();
    if a.metric.is_some_and(|m| !matches!(m, Metric::Loss)) {
        notes.push(
            "--metric is not used here: a search with a linked table or known_events minimizes \
             the loss"
                .to_string(),
        );
    }
    let linked_columns = linked.map_or_else(Vec::new, |l| columns_of(l.table, true));
    let own_columns = columns_of(t, false);
    let mut candidates = Vec::new();
    for &k in &a.k {
        for &s in &a.suppression {
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
            let chosen = privacy.recoding != Recoding::Mondrian && is_the_jobs(&privacy, k, s);
            let best = outcome.best.as_ref();
            let mut c = candidate(k, s, chosen, rows, best.map(|b| &b.linking), |_| {
                let mut out = IndexMap::new();
                let Some(b) = best else {
                    return out;
                };
                if let Some(r) = &b.linked {
                    for ((name, c), l) in linked_columns.iter().zip(&r.levels) {
                        out.insert(name.clone(), level(c, c.levels.min + l));
                    }
                }
                for ((name, c), l) in own_columns.iter().zip(&b.linking.levels) {
                    out.insert(name.clone(), level(c, c.levels.min + l));
                }
                out
            });
            // The search's loss is the mean of the two tables'.
            c.loss = best.map(|b| b.loss);
            c.missing = "no combination holds";
            c.nodes_checked = outcome.nodes_checked;
            c.seconds = outcome.seconds;
            candidates.push(c);
        }
    }
    let columns = linked_columns
        .iter()
        .chain(&own_columns)
        .map(|(name, c)| column_levels(c, name.clone()))
        .collect();
    Ok(Explore {
        table: t.name.clone(),
        rows,
        combinations: None,
        metric: metric_name(MetricName::Loss),
        recoding: privacy.recoding.name(),
        k: privacy.k,
        max_suppression: privacy.max_suppression,
        linked: linked.zip(linked_privacy).map(|(l, lp)| Linked {
            table: l.table.name.clone(),
            k: lp.k,
            max_suppression: lp.max_suppression,
        }),
        known_events: privacy.known_events,
        notes,
        columns,
        candidates,
    })
}

/// A table's quasi-identifiers with the names `explore` gives them: a linked table's as
/// `users.birth_cohort`, as in the run's messages.
fn columns_of(u: &Table, prefix: bool) -> Vec<(String, &Column)> {
    u.quasi_identifiers()
        .map(|c| {
            let name = if prefix {
                format!("{}.{}", u.name, c.output)
            } else {
                c.output.clone()
            };
            (name, c)
        })
        .collect()
}

/// Whether k and the limit are the table's own: its run would choose the same.
fn is_the_jobs(privacy: &crate::job::Privacy, k: u32, limit: f64) -> bool {
    k == privacy.k && (limit - privacy.max_suppression).abs() < 1e-12
}

/// A candidate from a search's best node (or none), with its levels as `levels` names them.
fn candidate(
    k: u32,
    limit: f64,
    chosen: bool,
    rows: u64,
    best: Option<&NodeReport>,
    levels: impl FnOnce(&NodeReport) -> IndexMap<String, Level>,
) -> Candidate {
    Candidate {
        k,
        max_suppression: limit,
        chosen,
        found: best.is_some(),
        levels: best.map(levels),
        rows_suppressed: best.map(|b| b.rows_suppressed),
        suppressed: best.map(|b| b.rows_suppressed as f64 / rows.max(1) as f64),
        loss: best.map(|b| b.loss),
        entropy: None,
        classes: best.map(|b| b.equivalence_classes),
        max_risk: None,
        avg_risk: None,
        nodes_checked: 0,
        seconds: 0.0,
        missing: "",
    }
}

/// The column's `level` with its name.
fn level(c: &Column, level: usize) -> Level {
    Level {
        level,
        name: levels::name(c, level),
        top: levels::at_top(c, level),
    }
}

/// The levels a quasi-identifier may take, named.
fn column_levels(c: &Column, column: String) -> ColumnLevels {
    ColumnLevels {
        column,
        method: match &c.action {
            ColumnAction::Generalize(g) => Some(g.method()),
            _ => None,
        },
        levels: (c.levels.min..=c.levels.max).map(|l| level(c, l)).collect(),
    }
}

/// `2 (macro-region)`, and `4 (*)` at the column's top: every value `*`, the column given up.
fn level_cell(l: &Level) -> String {
    if l.top {
        format!("{} (*)", l.level)
    } else {
        format!("{} ({})", l.level, l.name)
    }
}

/// The table as people read it: a heading, one aligned row a candidate, its notes.
fn text(e: &Explore) -> String {
    let combinations = e
        .combinations
        .map(|n| format!(", {n} level combinations"))
        .unwrap_or_default();
    let linked = e
        .linked
        .as_ref()
        .map(|l| {
            format!(
                ", linked to {} (k = {} there, at most {} suppressed), levels of both searched \
                 together; known_events = {}",
                l.table,
                l.k,
                percent(l.max_suppression),
                e.known_events
            )
        })
        .unwrap_or_default();
    let linked = if linked.is_empty() && e.known_events > 1 {
        format!("; known_events = {}", e.known_events)
    } else {
        linked
    };
    let mut out = format!(
        "table {}: {} rows{combinations}{linked} (metric: {}); the job: k = {}, at most {} \
         suppressed\n",
        e.table,
        e.rows,
        e.metric,
        e.k,
        percent(e.max_suppression)
    );
    // A linked search computes neither entropy nor risks: no empty columns for them.
    let joint = e.combinations.is_none();
    let mut header: Vec<String> = vec!["k".into(), "suppr.".into()];
    header.extend(e.columns.iter().map(|c| c.column.clone()));
    header.extend(["suppressed", "loss"].map(String::from));
    if !joint {
        header.push("entropy".into());
    }
    header.push("classes".into());
    if !joint {
        header.extend(["max risk", "avg risk"].map(String::from));
    }
    header.extend(["checked", "seconds", "chosen"].map(String::from));
    let mut grid = Grid::new();
    grid.load_preset(presets::ASCII_MARKDOWN).set_header(header);
    let dash = || "-".to_string();
    for c in &e.candidates {
        let mut row = vec![c.k.to_string(), percent(c.max_suppression)];
        for (i, col) in e.columns.iter().enumerate() {
            row.push(match &c.levels {
                Some(levels) => levels.get(&col.column).map_or_else(dash, level_cell),
                None if i == 0 => c.missing.to_string(),
                None => dash(),
            });
        }
        let num = |x: Option<String>| x.unwrap_or_else(dash);
        row.push(num(c.suppressed.map(percent)));
        row.push(num(c.loss.map(|x| format!("{x:.4}"))));
        if !joint {
            row.push(num(c.entropy.map(|x| format!("{x:.2}"))));
        }
        row.push(num(c.classes.map(|x| x.to_string())));
        if !joint {
            row.push(num(c.max_risk.map(|x| format!("{x:.4}"))));
            row.push(num(c.avg_risk.map(|x| format!("{x:.4}"))));
        }
        row.push(c.nodes_checked.to_string());
        row.push(format!("{:.3}", c.seconds));
        row.push(if c.chosen { "yes" } else { "" }.to_string());
        grid.add_row(row);
    }
    // Numbers right-aligned, so their digits line up; levels and words left.
    let levels_from = 2;
    let levels_to = levels_from + e.columns.len();
    let width = grid.column_count();
    for i in (0..levels_from).chain(levels_to..width - 1) {
        if let Some(column) = grid.column_mut(i) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    out.push_str(&grid.to_string());
    out.push('\n');
    let mut notes = e.notes.clone();
    let tried = e
        .candidates
        .iter()
        .any(|c| c.k == e.k && (c.max_suppression - e.max_suppression).abs() < 1e-12);
    if e.recoding != "mondrian" && !tried {
        notes.push(format!(
            "the job's k = {} and limit {} are not among those tried: no row is marked chosen",
            e.k,
            percent(e.max_suppression),
        ));
    }
    for n in notes {
        out.push_str(&format!("note: {n}\n"));
    }
    out
}

fn percent(share: f64) -> String {
    format!("{:.2}%", share * 100.0)
}

fn metric_name(m: MetricName) -> &'static str {
    match m {
        MetricName::Loss => "loss",
        MetricName::Entropy => "entropy",
        MetricName::Discernibility => "discernibility",
    }
}
