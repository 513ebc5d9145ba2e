//! The run report: what was read, what was removed and why, what was written. One JSON file per
//! run date under `<output>/_reports/`, and the same as a page for people ([`html`]), committed
//! together with the data they describe.
//!
//! It is the evidence that the night's release met the policy (k, retention), and the first
//! thing a data engineer reads when a number looks wrong. It holds counts and names only, never
//! a cell value, never the key (only its fingerprint, `key_id`).

pub mod html;

use indexmap::IndexMap;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `committed` (the night's data is in the output) or `failed` (nothing was written; the
    /// report is `run_date=….failed.json`, with `exit_code` and `error`).
    pub status: &'static str,
    pub exit_code: u8,
    /// The failure, when `failed`: the run's error message (names files, rows and columns,
    /// never a value).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Wall time of the run, in seconds.
    pub seconds: f64,
    pub job: String,
    pub purpose: Option<String>,
    pub job_file: String,
    pub job_sha256: String,
    pub version: String,
    pub run_date: String,
    pub started_at: String,
    pub finished_at: String,
    /// Fingerprint of the pseudonym key: equal ids, joinable pseudonyms.
    pub key_id: Option<String>,
    /// The lock file the generalization levels were pinned by (`run --pin` writes it).
    pub levels_pinned_by: Option<String>,
    /// The lock file this run (`run --pin`) pinned its searched levels in.
    pub levels_pinned_to: Option<String>,
    /// The nights of each table the output keeps (`keep_runs`); null keeps every night.
    pub keep_runs: Option<u32>,
    /// Whether this night is the newest, and so each table's `_latest/<table>.parquet`.
    pub latest: bool,
    /// The partitions (`<table>/run_date=…`) this run removed, being beyond `keep_runs`.
    pub pruned: Vec<String>,
    pub tables: IndexMap<String, TableReport>,
}

/// The previous night's figures of a table, from its report, for the comparison.
#[derive(Debug, Clone, Serialize)]
pub struct PreviousNight {
    pub run_date: String,
    pub rows_out: u64,
    pub rows_suppressed: u64,
    pub equivalence_classes: u64,
    pub min_class_subjects: Option<u64>,
}

/// A quasi-identifier's level and what it means.
#[derive(Debug, Clone, Serialize)]
pub struct Level {
    pub level: usize,
    /// What the values are at that level, as `explore` names it (`macro-region`, `20-year`).
    pub meaning: String,
}

/// A linking or k^m table's release, counted by value from the written files: a person's
/// facts are the distinct values of the table's quasi-identifiers over their rows, with the
/// person's values in the linked table.
#[derive(Debug, Clone, Serialize)]
pub struct Release {
    /// The table whose values count in each fact (`privacy.link`).
    pub linked_to: Option<String>,
    /// How many facts of a person an attacker may know (`privacy.known_events`).
    pub known_events: u32,
    /// For 1 to `known_events` known facts: the fewest people who share that many facts of one
    /// person (with one fact: the smallest linked class), and the people holding such a set
    /// shared by fewer than k, which is 0 in every committed release.
    pub shared: Vec<crate::protect::known_events::sets::Shared>,
    /// What k^m suppressed before the classes were counted: facts (a person's rows of one
    /// class), their rows (counted in `rows_suppressed` too), the people who lost one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facts_suppressed: Option<crate::protect::known_events::Suppressed>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TableReport {
    pub input_files: Vec<String>,
    pub output_files: Vec<String>,
    pub rows_in: u64,
    /// Rows older than the retention limit.
    pub rows_expired: u64,
    /// Rows whose retention column was empty (or unreadable, with `invalid = "null"` on it):
    /// removed, their age is unknown.
    pub rows_undated: u64,
    /// Rows of subjects listed in the table's erasure list (`exclude_subjects`), removed first.
    pub rows_erased: u64,
    /// Bad rows left out (`on_bad_row = "skip"`): malformed, or holding a value a column
    /// could not read.
    pub rows_skipped: u64,
    /// `rows_skipped` by reason: `malformed`, or the input column whose value could not be read.
    pub rows_skipped_by: IndexMap<String, u64>,
    /// Ids in the erasure list.
    pub subjects_listed_for_erasure: Option<u64>,
    pub rows_suppressed: u64,
    pub subjects_suppressed: u64,
    pub rows_out: u64,
    pub subjects_out: u64,
    pub k: Option<u32>,
    /// The table this one is linked to (`privacy.link`): its classes, `min_class_subjects`
    /// among them, are counted over the join with that table on the pseudonym.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linked_to: Option<String>,
    /// How many people a few known facts single out in the written table, estimated on a
    /// sample (see [`crate::protect::exposure`]); `None` without a subject column or
    /// quasi-identifiers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exposure: Option<crate::protect::exposure::Exposure>,
    /// The release as an analyst uses it, for a table that links another or holds k^m
    /// (`known_events` above 1); see [`Release`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release: Option<Release>,
    /// The check across nights (see [`crate::protect::nights`]), for a table whose stable
    /// pseudonyms join earlier nights: what the nights together say, and who left for it. Its
    /// people and rows are in `subjects_suppressed` and `rows_suppressed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub across_nights: Option<crate::pipeline::across_nights::AcrossNights>,
    pub max_suppression: Option<f64>,
    /// `rows_suppressed` over the rows that reached the check (`rows_suppressed + rows_out`),
    /// and that share over `max_suppression` (1 = the limit).
    pub suppressed_share: f64,
    pub share_of_limit: Option<f64>,
    /// The retention limit in days (`retention.days`), when the table has one.
    pub retention_days: Option<u32>,
    /// The previous committed night of this table in the output (its report), and the change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_night: Option<PreviousNight>,
    /// Output names of the quasi-identifiers.
    pub quasi_identifiers: Vec<String>,
    pub equivalence_classes: u64,
    pub min_class_subjects: Option<u64>,
    /// Written classes by number of people, in buckets doubling from k.
    pub class_sizes: Vec<crate::protect::kanon::SizeBucket>,
    /// Re-identification risk, prosecutor model: the highest chance of picking a person out of
    /// their class (1 / the smallest class), and the average over people.
    pub max_risk: Option<f64>,
    pub avg_risk: Option<f64>,
    /// Journalist and marketer risk. The export is the whole population the data is about (every
    /// registered user), so the journalist's population is the sample: journalist risk equals
    /// the prosecutor's highest, and marketer risk (the share of people re-identified when
    /// everyone is matched) is classes / people, the prosecutor's average.
    pub journalist_risk: Option<f64>,
    pub marketer_risk: Option<f64>,
    /// Written rows whose prosecutor risk is above `risk_threshold`, and their share.
    pub risk_threshold: Option<f64>,
    pub rows_at_risk: u64,
    pub share_at_risk: Option<f64>,
    /// The job's l-diversity and t-closeness, when it asks for them.
    pub models: Option<crate::protect::models::Models>,
    /// What the written classes achieved on each sensitive column: the fewest distinct values
    /// in a class, the lowest entropy l (exp of the entropy), the largest distance to the
    /// table's distribution.
    pub sensitive: Vec<crate::protect::sensitive::ColumnFigures>,
    /// Classes of k people or more that broke a model, suppressed, and their rows (included in
    /// `rows_suppressed`).
    pub classes_failing_models: u64,
    pub rows_failing_models: u64,
    /// The suppressed quasi-identifier combinations (classes under k) by number of people,
    /// with their rows: counts only, never the combinations themselves.
    pub suppressed_classes: Vec<crate::protect::kanon::SuppressedBucket>,
    /// Per output column: values a method could not read, made null (columns with
    /// `invalid = "null"`). Counted over the rows that passed retention, before suppression.
    pub invalid_values: IndexMap<String, u64>,
    /// Per output column: values a hierarchy lacked (sent to its top level).
    pub unmapped_values: IndexMap<String, u64>,
    /// Per pseudonymized output column: values whose canonical form differs from the export's
    /// spelling (blanks around an id, case, a phone's separators), hashed in that form. Counted
    /// like `invalid_values`; columns with none are left out.
    #[serde(default)]
    pub normalized_values: IndexMap<String, u64>,
    /// Output column → how it was made.
    pub columns: IndexMap<String, ColumnReport>,
    /// Quasi-identifier output column → its generalization level (0 = the finest).
    pub levels: IndexMap<String, usize>,
    /// Quasi-identifier output column → what its level means (`macro-region`, `cohorts of
    /// 20 years`; a hierarchy's `level_names`).
    pub level_meanings: IndexMap<String, String>,
    /// Quasi-identifiers at their top level, where every value is `*` (a search gave them up
    /// to meet k, or the job fixed them there). Also a warning in the run's log.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub columns_at_top: Vec<String>,
    /// When the table searched its levels: the metric it minimized. The utility of its levels
    /// (Iyengar's loss 0–1, ARX's non-uniform entropy, discernibility, rows per class): the
    /// search's chosen node, or, at pinned or fixed levels, the same measured on what the night
    /// wrote (Mondrian: its loss only).
    pub metric: Option<crate::job::MetricName>,
    pub loss: Option<f64>,
    pub entropy: Option<f64>,
    pub discernibility: Option<f64>,
    pub avg_class_size: Option<f64>,
    /// How the quasi-identifiers were generalized: `fixed` (the job's levels), `optimal`
    /// (one searched level per column) or `mondrian` (per-class ranges and levels).
    pub recoding: Option<&'static str>,
    /// Mondrian's partitions (before the decision's safety-net check).
    pub partitions: Option<u64>,
    pub nodes_checked: Option<u64>,
    pub lattice_nodes: Option<u64>,
    pub search_seconds: Option<f64>,
    /// Input columns that were dropped.
    pub dropped: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ColumnReport {
    /// The input column it comes from.
    pub input: String,
    pub action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<&'static str>,
    /// A pseudonymized column's key (`job`, `table` or `run`; beside the report's `key_id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<&'static str>,
    pub role: crate::job::Role,
    /// The job's `description` of the column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `sortable`: the companion column holding each band's lower bound.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort_column: Option<String>,
}

/// The newest committed report of a night before `run_date` in `output`'s `_reports/`, read
/// for the comparison with the previous night. A report that cannot be read is passed over:
/// the comparison is a convenience, never a reason to fail a night.
pub fn previous_report(
    output: &std::path::Path,
    run_date: chrono::NaiveDate,
) -> Option<(String, serde_json::Value)> {
    let dir = output.join(crate::write::REPORTS_DIR);
    let this = run_date.format("%Y-%m-%d").to_string();
    let mut dates: Vec<String> = std::fs::read_dir(&dir)
        .ok()?
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|n| {
            let d = n.strip_prefix("run_date=")?.strip_suffix(".json")?;
            chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()?;
            (*d < *this.as_str()).then(|| d.to_string())
        })
        .collect();
    dates.sort();
    // A report is a few hundred kilobytes at most; a larger file is not one.
    const MAX_REPORT: u64 = 64 << 20;
    dates.into_iter().rev().find_map(|d| {
        let file = dir.join(format!("run_date={d}.json"));
        let meta = std::fs::symlink_metadata(&file).ok()?;
        if !meta.is_file() || meta.len() > MAX_REPORT {
            return None;
        }
        let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).ok()?).ok()?;
        Some((d, report))
    })
}

/// A table's figures in a previous night's report (see [`previous_report`]).
pub fn previous_night(
    run_date: &str,
    report: &serde_json::Value,
    table: &str,
) -> Option<PreviousNight> {
    let t = report.get("tables")?.get(table)?;
    let n = |key: &str| t.get(key).and_then(serde_json::Value::as_u64);
    Some(PreviousNight {
        run_date: run_date.to_string(),
        rows_out: n("rows_out")?,
        rows_suppressed: n("rows_suppressed")?,
        equivalence_classes: n("equivalence_classes")?,
        min_class_subjects: n("min_class_subjects"),
    })
}
