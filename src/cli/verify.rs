//! `anonymize verify DATASET --job JOB`: re-reads a written dataset and checks, for every
//! table and run date, what the job promises about it: only the job's output columns, and at
//! least k distinct people in every equivalence class, and the l-diversity and t-closeness of
//! the sensitive columns (t against the written data's own distribution). Exit code 4 on a
//! violation.
//!
//! It checks the whole dataset, not only the job's partitions: any file or folder the job did
//! not write (an extra table, a `notes.txt`, a `users/backup/`, a link) is a finding, named by
//! its path, never its content. So is a staging folder: a release is verified when no run is
//! writing it, and a killed run's staging holds tables that were never checked. Every column of every file it reads goes through the leak scan
//! (identifier patterns in text, identifier-like numbers), and every pseudonym must be one
//! (lowercase hex of the job's length).
//!
//! It is independent of the code that wrote the data: it reads the Parquet files with plain
//! polars and counts distinct subject values per class by value. It does not use the run's
//! fingerprints, staging or counts. Use it on a copy handed to someone else, or after moving
//! a release.
//!
//! With `--across-nights`, each night of a table whose stable pseudonyms join nights is also
//! checked against every night before it (see [`crate::pipeline::across_nights`]).
//!
//! Example:
//! ```text
//! $ anonymize verify out/marketing_research --job jobs/marketing_research.toml
//! users run_date=2026-11-26: 4797 rows, 82 classes, k = 10 holds (smallest class: 10 people)
//! activity run_date=2026-11-26: 40441 rows, 336 classes, k = 10 holds (smallest class: 10 people)
//! ```
//! With `--log-format json` these lines are events on standard error instead
//! (`"event":"verified"`, and `"event":"finding"` warnings), and standard output stays empty.

use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::error::Error;
use crate::job::{ColumnAction, Job, Privacy, Table};
use crate::protect::SUBJECT;
use crate::protect::sensitive::{self, MODELS_OK};

/// Check a written dataset against its job: columns, and k in distinct people.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  anonymize verify out/marketing_research --job jobs/marketing_research.toml"
)]
pub struct Args {
    /// The dataset: the job's output directory (`<table>/run_date=YYYY-MM-DD/*.parquet`).
    pub dataset: PathBuf,
    /// The job file the dataset was written by.
    #[arg(long)]
    pub job: PathBuf,
    /// Only this run date's partitions. Default: every run date found.
    #[arg(long, value_parser = super::parse_date)]
    pub run_date: Option<chrono::NaiveDate>,
    /// Also check each night against every night before it: for tables whose stable
    /// pseudonyms join nights, the classes of what the nights say together must hold k.
    #[arg(long)]
    pub across_nights: bool,
}

/// One line of the verdict: on standard output, or an event when logs are JSON (a finding a
/// warning, a partition that holds an info).
fn tell(line: &str, holds: bool) -> Result<(), Error> {
    match (crate::logs::json(), holds) {
        (false, _) => crate::say!("{line}"),
        (true, true) => {
            tracing::info!(event = "verified", "{line}");
            Ok(())
        }
        (true, false) => {
            tracing::warn!(event = "finding", "{line}");
            Ok(())
        }
    }
}

pub fn execute(a: Args) -> Result<(), Error> {
    let job = Job::load(&a.job)?;
    crate::logs::set_job(&job.name);
    let mut violations = inventory(&a.dataset, &job)?;
    for v in &violations {
        tell(v, false)?;
    }
    let mut checked = 0;
    for t in &job.tables {
        for partition in partitions(&a.dataset, &t.name, a.run_date)? {
            checked += 1;
            let mut outcome = check(t, &partition)?;
            if let Ok(line) = &outcome {
                outcome = match check_release(t, &partition, &job, &a.dataset)? {
                    Ok(Some(release)) => Ok(format!("{line}; {release}")),
                    Ok(None) => Ok(line.clone()),
                    Err(v) => Err(v),
                };
            }
            match outcome {
                Ok(line) => tell(&line, true)?,
                Err(v) => {
                    tell(&v, false)?;
                    violations.push(v);
                }
            }
        }
    }
    if a.across_nights {
        for t in &job.tables {
            for line in across_nights(t, &a.dataset, a.run_date)? {
                match line {
                    Ok(line) => tell(&line, true)?,
                    Err(v) => {
                        tell(&v, false)?;
                        violations.push(v);
                    }
                }
            }
        }
    }
    if checked == 0 {
        return Err(Error::Input(format!(
            "{}: no partition of the job's tables to verify",
            a.dataset.display()
        )));
    }
    if violations.is_empty() {
        return Ok(());
    }
    Err(Error::Privacy(format!(
        "{} of {checked} partitions break what the job promises: {}",
        violations.len(),
        violations.join("; ")
    )))
}

/// A linking or k^m table's partition, by value: its people's facts (with their values in the
/// linked table's partition of the same run date, joined on the pseudonym), every set of at most
/// `known_events` of them shared by k people. What holds (`None` for other tables), or a
/// violation when a set is shared by fewer, or when the linked partition is missing.
fn check_release(
    t: &Table,
    partition: &Path,
    job: &Job,
    dataset: &Path,
) -> Result<Result<Option<String>, String>, Error> {
    let date = partition
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let label = format!("{} {date}", t.name);
    let target = t.link.as_deref().and_then(|l| job.table(l));
    let linked = target.map(|target| {
        dataset
            .join(&target.name)
            .join(&date)
            .join(crate::write::PART_FILE)
    });
    if let (Some(target), Some(linked)) = (target, &linked)
        && !linked.is_file()
    {
        return Ok(Err(format!(
            "{label}: links to {}, which has no partition {date}",
            target.name
        )));
    }
    let shared = crate::protect::known_events::audit_release(
        (t, &partition.join(crate::write::PART_FILE)),
        target.zip(linked.as_deref()),
        &format!("{label}: counting the release's facts"),
    )?;
    let k = t.privacy.map(|p| p.k).unwrap_or(1);
    let Some(shared) = shared else {
        return Ok(Ok(None));
    };
    if let Some(what) =
        crate::protect::known_events::broken(&shared, k, target.map(|t| t.name.as_str()))
    {
        return Ok(Err(format!("{label}:{what}")));
    }
    let joined = target
        .map(|t| format!("joined to {} on the pseudonym, ", t.name))
        .unwrap_or_default();
    let fewest = shared
        .iter()
        .map(|s| {
            let facts = if s.known_facts == 1 { "fact" } else { "facts" };
            match s.smallest {
                Some(n) => format!("{} {facts}: {n}", s.known_facts),
                None => format!("{} {facts}: nobody has that many", s.known_facts),
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    Ok(Ok(Some(format!(
        "{joined}k^{} holds (fewest people sharing {fewest})",
        shared.len()
    ))))
}

/// A path below the dataset as a message may show it: a part that could be a person's data
/// (a file named after an e-mail address) is withheld.
fn shown(dataset: &Path, path: &Path) -> String {
    path.strip_prefix(dataset)
        .unwrap_or(path)
        .iter()
        .map(|part| crate::identifiers::shown_name(&part.to_string_lossy()).into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Everything in the dataset that the job did not write, as findings: the dataset holds the
/// job's tables (`<table>/run_date=YYYY-MM-DD/part-00000.parquet`), its reports
/// (`_reports/run_date=YYYY-MM-DD.json|html`) and the lock file. Links are findings too (they
/// are never written, and may lead anywhere).
fn inventory(dataset: &Path, job: &Job) -> Result<Vec<String>, Error> {
    let list = |dir: &Path| -> Result<Vec<PathBuf>, Error> {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(Error::io("cannot read the dataset", dir))?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .map_err(Error::io("cannot read the dataset", dir))?;
        entries.sort();
        Ok(entries)
    };
    let kind = |p: &Path| std::fs::symlink_metadata(p).map(|m| m.file_type()).ok();
    let is_dir = |p: &Path| kind(p).is_some_and(|t| t.is_dir());
    let is_file = |p: &Path| kind(p).is_some_and(|t| t.is_file());
    let name = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let dated = |n: &str| {
        n.strip_prefix("run_date=")
            .is_some_and(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok())
    };
    let mut findings = Vec::new();
    if !std::fs::metadata(dataset).is_ok_and(|m| m.is_dir()) {
        return Ok(findings); // Nothing there: "no partition to verify" says so.
    }
    let foreign = |p: &Path| {
        format!(
            "{}: not written by the job (a dataset holds only the job's tables and reports)",
            shown(dataset, p)
        )
    };
    for top in list(dataset)? {
        let n = name(&top);
        if n == crate::write::LOCK_FILE && is_file(&top) {
            continue;
        }
        if n == crate::write::REPORTS_DIR && is_dir(&top) {
            for r in list(&top)? {
                let rn = name(&r);
                // A night's report, or a failed night's (`run_date=….failed.json`).
                let ok = is_file(&r)
                    && (rn
                        .strip_suffix(".json")
                        .or_else(|| rn.strip_suffix(".html")))
                    .map(|n| n.strip_suffix(".failed").unwrap_or(n))
                    .is_some_and(dated);
                if !ok {
                    findings.push(foreign(&r));
                }
            }
            continue;
        }
        if n == crate::write::LATEST_DIR && is_dir(&top) {
            for f in list(&top)? {
                let table = name(&f).strip_suffix(".parquet").map(str::to_string);
                let newest = table
                    .filter(|t| job.tables.iter().any(|jt| jt.name == *t))
                    .and_then(|t| {
                        list(&dataset.join(&t)).ok().and_then(|parts| {
                            parts
                                .into_iter()
                                .filter(|p| is_dir(p) && dated(&name(p)))
                                .max()
                                .map(|p| p.join(crate::write::PART_FILE))
                        })
                    });
                match newest {
                    None => findings.push(foreign(&f)),
                    Some(newest) if !(is_file(&f) && same_file(&f, &newest)) => {
                        findings.push(format!(
                            "{}: not the table's newest night ({})",
                            shown(dataset, &f),
                            shown(dataset, &newest)
                        ));
                    }
                    Some(_) => {}
                }
            }
            continue;
        }
        if !(is_dir(&top) && job.tables.iter().any(|t| t.name == n)) {
            findings.push(foreign(&top));
            continue;
        }
        for part in list(&top)? {
            if !(is_dir(&part) && dated(&name(&part))) {
                findings.push(foreign(&part));
                continue;
            }
            for f in list(&part)? {
                if !(is_file(&f) && name(&f) == crate::write::PART_FILE) {
                    findings.push(foreign(&f));
                }
            }
        }
    }
    Ok(findings)
}

/// Whether two paths hold the same file: one file under two names (the hard link a run makes),
/// or, in a copy of the dataset that lost the link, the same bytes.
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(ma), Ok(mb)) if ma.dev() == mb.dev() && ma.ino() == mb.ino() => true,
        (Ok(ma), Ok(mb)) if ma.len() == mb.len() => {
            matches!((std::fs::read(a), std::fs::read(b)), (Ok(x), Ok(y)) if x == y)
        }
        _ => false,
    }
}

/// Each night of the table (or only `only`'s) against every night before it, from the files
/// (see [`crate::pipeline::across_nights`]): what holds, or a violation naming the columns
/// that moved, never a value.
fn across_nights(
    t: &Table,
    dataset: &Path,
    only: Option<chrono::NaiveDate>,
) -> Result<Vec<Result<String, String>>, Error> {
    use crate::pipeline::across_nights as nights;
    let Some(c) = nights::compared(t) else {
        return Ok(Vec::new());
    };
    let mut history = crate::protect::nights::History::new(c.quasi_identifiers.len());
    let mut out = Vec::new();
    for (date, file) in nights::nights(dataset, &t.name, None) {
        if only.is_some_and(|o| date > o) {
            break;
        }
        let label = format!("{} run_date={}", t.name, date.format("%Y-%m-%d"));
        let what = format!("{label}: reading it for the check across nights");
        let Some(df) = nights::people(crate::read::scan_own(&file, what.clone())?, &c, &what)?
        else {
            continue;
        };
        if history.nights > 0 && only.is_none_or(|o| o == date) {
            let (check, under_k) = nights::check(&mut history, &df, &c, &what)?;
            let earlier = match history.nights {
                1 => "the night before".to_string(),
                n => format!("the {n} nights before"),
            };
            out.push(if under_k.is_empty() {
                Ok(format!(
                    "{label}: with {earlier}, {} people compared, {} classes, k = {} holds \
                     across nights (smallest class: {})",
                    check.compared,
                    check.classes,
                    c.k,
                    people(check.smallest.unwrap_or(0))
                ))
            } else {
                Err(format!(
                    "{label}: with {earlier}, {} people are in classes under k = {} \
                     (smallest: {}); their values of {} moved between nights",
                    under_k.len(),
                    c.k,
                    people(check.smallest.unwrap_or(0)),
                    nights::moved(&c, &check)
                        .iter()
                        .map(|q| format!("`{q}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            });
        }
        history.add(nights::entries(&df, &c, &what)?);
    }
    Ok(out)
}

fn people(n: u64) -> String {
    if n == 1 {
        "1 person".into()
    } else {
        format!("{n} people")
    }
}

/// The table's `run_date=…` directories under the dataset, oldest first.
fn partitions(
    dataset: &Path,
    table: &str,
    run_date: Option<chrono::NaiveDate>,
) -> Result<Vec<PathBuf>, Error> {
    let dir = dataset.join(table);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(Vec::new());
    };
    let wanted = run_date.map(crate::write::partition);
    let mut found: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| match &wanted {
                    Some(w) => n == w,
                    None => n.starts_with("run_date="),
                })
        })
        .collect();
    found.sort();
    Ok(found)
}

/// The leak scan over every column of a partition, and its pseudonyms checked to be
/// pseudonyms: a finding naming the columns and patterns, never a value.
fn leaks(t: &Table, lf: &LazyFrame, label: &str) -> Result<Option<String>, Error> {
    use crate::protect::leaks::{Findings, Remembered};
    let findings = Findings::default();
    let nothing_remembered = Remembered::default();
    let not_pseudonyms = crate::transform::Tally::default();
    let mut exprs = Vec::new();
    for c in t.outputs() {
        let e = col(c.output.as_str());
        let scanned = match c.action {
            ColumnAction::Pseudonymize { length, .. } => {
                let bad = not_pseudonyms.clone();
                e.map(
                    move |col: Column| {
                        if let Ok(text) = col.str() {
                            let n = text
                                .iter()
                                .flatten()
                                .filter(|v| {
                                    v.len() != length
                                        || !v
                                            .bytes()
                                            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                                })
                                .count();
                            bad.add(n as u64);
                        } else {
                            bad.add(col.len() as u64);
                        }
                        Ok(col)
                    },
                    |_, f| Ok(f.clone()),
                )
            }
            _ => findings.scan(e, &c.output, &nothing_remembered),
        };
        exprs.push(scanned.null_count().alias(c.output.as_str()));
    }
    lf.clone()
        .select(exprs)
        .collect_with_engine(Engine::Streaming)
        .map_err(|e| Error::Engine {
            context: format!("{label}: reading the dataset"),
            source: e,
        })?;
    if not_pseudonyms.get() > 0 {
        return Ok(Some(format!(
            "{label}: {} values of pseudonymized columns are not pseudonyms (lowercase hex of \
             the job's length)",
            not_pseudonyms.get()
        )));
    }
    Ok(findings.hits().map(|hits| {
        format!("{label}: the leak scan found values that look like identifiers ({hits})")
    }))
}

/// Columns missing from a partition, or there that the job does not write (their names shown
/// only when they do not look like identifiers).
fn column_findings(t: &Table, schema: &Schema, label: &str) -> Option<String> {
    let expected: Vec<&str> = t.written_names().collect();
    let unexpected: Vec<String> = schema
        .iter_names()
        .filter(|n| !expected.contains(&n.as_str()))
        .map(|n| {
            let shown = crate::identifiers::shown_name(n);
            if shown == n.as_str() {
                format!("`{n}`")
            } else {
                shown.into_owned()
            }
        })
        .collect();
    let missing: Vec<&str> = expected
        .iter()
        .copied()
        .filter(|c| schema.get(c).is_none())
        .collect();
    if !missing.is_empty() {
        return Some(format!(
            "{label}: columns the job writes are missing: `{}`",
            missing.join("`, `")
        ));
    }
    if !unexpected.is_empty() {
        return Some(format!(
            "{label}: columns the job does not write: {}",
            unexpected.join(", ")
        ));
    }
    None
}

/// l-diversity and t-closeness of a partition whose k holds, as `summary` says.
fn models(
    t: &Table,
    lf: LazyFrame,
    privacy: &Privacy,
    subject: Option<&crate::job::Column>,
    qis: Vec<Expr>,
    summary: &str,
    label: &str,
) -> Result<Result<String, String>, Error> {
    let engine = |e| Error::Engine {
        context: format!("{label}: reading the dataset"),
        source: e,
    };
    // l-diversity and t-closeness: per class (by value) and sensitive value, distinct people;
    // t against the written data's own distribution (what the run enforces, see kanon).
    let sensitive: Vec<String> = t.sensitive().map(|c| c.output.clone()).collect();
    let mut cols = qis;
    cols.extend(sensitive.iter().map(|s| col(s.as_str())));
    if let Some(c) = subject {
        cols.push(col(c.output.as_str()).alias(SUBJECT));
    }
    let rows = lf.select(cols);
    let ordered = sensitive::ordered(&rows, &sensitive, label)?;
    let names: Vec<String> = t.quasi_identifiers().map(|c| c.output.clone()).collect();
    let per = sensitive::per_class(
        rows,
        &names,
        &sensitive,
        subject.is_some(),
        &privacy.models,
        label,
    )?;
    let broken = per
        .column(MODELS_OK)
        .and_then(|c| Ok(c.bool()?.sum().unwrap_or(0)))
        .map(|ok| per.height() as u64 - u64::from(ok))
        .map_err(engine)?;
    let figures = sensitive::achieved(&per, &sensitive, &ordered)
        .iter()
        .map(|f| {
            let a = &f.achieved;
            format!(
                "`{}`: fewest values {}, lowest entropy l {:.2}, largest distance {:.3}",
                f.column,
                a.min_distinct.unwrap_or(0),
                a.min_entropy_l.unwrap_or(0.0),
                a.max_distance.unwrap_or(0.0)
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let promised = privacy.models.describe();
    Ok(if broken == 0 {
        Ok(format!("{summary}; {promised} hold ({figures})"))
    } else {
        Err(format!(
            "{summary}; {promised} broken in {broken} classes ({figures})"
        ))
    })
}

/// One partition: `Ok(summary)` when it holds, `Err(violation)` when it does not.
fn check(t: &Table, partition: &Path) -> Result<Result<String, String>, Error> {
    let label = format!(
        "{} {}",
        t.name,
        partition
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    let engine = |e| Error::Engine {
        context: format!("{label}: reading the dataset"),
        source: e,
    };
    let file = partition.join(crate::write::PART_FILE);
    if !file.is_file() {
        return Ok(Err(format!(
            "{label}: no {} in it",
            crate::write::PART_FILE
        )));
    }
    // The file's own columns: the partition's `run_date` is in its path, not in the data.
    let mut args = ScanArgsParquet::default();
    args.hive_options.enabled = Some(false);
    // A file that is not Parquet (raw data under the part file's name) is a finding, not a
    // failure of the check: its content is never shown.
    let unreadable = |_| {
        Ok(Err(format!(
            "{label}: {} is not a readable Parquet file",
            crate::write::PART_FILE
        )))
    };
    let lf = match LazyFrame::scan_parquet(PlRefPath::new(file.to_string_lossy().as_ref()), args) {
        Ok(lf) => lf,
        Err(e) => return unreadable(e),
    };
    // Only the job's output columns: anything else could be an identifier.
    let schema = match lf.clone().collect_schema() {
        Ok(s) => s,
        Err(e) => return unreadable(e),
    };
    if let Some(finding) = column_findings(t, &schema, &label) {
        return Ok(Err(finding));
    }
    if let Some(leak) = leaks(t, &lf, &label)? {
        return Ok(Err(leak));
    }
    let rows = lf
        .clone()
        .select([len().cast(DataType::UInt64)])
        .collect()
        .map_err(engine)?
        .columns()
        .first()
        .and_then(|c| c.u64().ok()?.get(0))
        .unwrap_or(0);
    let Some(privacy) = t.privacy else {
        return Ok(Ok(format!("{label}: {rows} rows, no k promised")));
    };
    let qis: Vec<Expr> = t
        .quasi_identifiers()
        .map(|c| col(c.output.as_str()))
        .collect();
    // People by the subject's output column; without one (dropped), every row is a person
    // only if the table has no subject at all.
    let subject = t.subject.as_deref().and_then(|s| t.column(s));
    let people = match subject {
        Some(c) if matches!(c.action, ColumnAction::Drop) => None,
        Some(c) => Some(col(c.output.as_str()).drop_nulls().n_unique()),
        None => Some(len()),
    };
    let Some(people) = people else {
        return Ok(Ok(format!(
            "{label}: {rows} rows; k cannot be checked in people (the subject column was dropped)"
        )));
    };
    if rows == 0 {
        return Ok(Ok(format!("{label}: no rows")));
    }
    let per_class = if qis.is_empty() {
        lf.clone()
            .select([people.cast(DataType::UInt64).alias("people")])
    } else {
        lf.clone()
            .group_by(qis.clone())
            .agg([people.cast(DataType::UInt64).alias("people")])
    };
    let classes = per_class.collect().map_err(engine)?;
    let sizes = classes.column("people").map_err(engine)?;
    let smallest = sizes
        .as_materialized_series()
        .min::<u64>()
        .map_err(engine)?
        .unwrap_or(0);
    let k = u64::from(privacy.k);
    let summary = format!(
        "{label}: {rows} rows, {} classes, k = {k}",
        classes.height()
    );
    if smallest < k {
        return Ok(Err(format!(
            "{summary} is broken: a class holds {smallest} people"
        )));
    }
    let summary = format!("{summary} holds (smallest class: {smallest} people)");
    if privacy.models.is_empty() {
        return Ok(Ok(summary));
    }
    models(t, lf, &privacy, subject, qis, &summary, &label)
}
