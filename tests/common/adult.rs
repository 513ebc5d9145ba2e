//! UCI Adult with ARX's hierarchies (`../shared/external/adult/`, see its README) as the tests
//! and the Mondrian bench use it: the shipped `jobs/adult.toml` in a temp project, pointing at
//! the shared data by absolute path, edited as each needs, and its search base counted the way
//! a run counts it (`run::search_base`). Self-contained, so that `benches/mondrian.rs` can
//! include it by path.

#![allow(dead_code)]

use std::path::PathBuf;

use anonymize::job::Job;
use anonymize::protect::search::Base;
use anonymize::run::{RunOptions, context, plan, search_base};

/// The run date the Adult projects use (Adult has no dates; it only names the partition).
const RUN_DATE: &str = "2026-11-20";

pub fn shared() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/external/adult")
}

/// Whether the shared data is there (the bench skips Adult without it).
pub fn available() -> bool {
    shared().join("adult.csv").exists()
}

/// A temp project with `jobs/adult.toml` pointing at the shared data by absolute path.
pub fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("jobs")).unwrap();
    let shared = std::fs::canonicalize(shared()).expect("../shared/external/adult is there");
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let job = std::fs::read_to_string(repo.join("jobs/adult.toml"))
        .unwrap()
        .replace("../../shared/external/adult", &shared.display().to_string());
    std::fs::write(dir.path().join("jobs/adult.toml"), job).unwrap();
    dir
}

/// Rewrites the project's job file line by line with `f`.
pub fn edit_lines(dir: &tempfile::TempDir, f: impl Fn(&str) -> String) {
    let p = dir.path().join("jobs/adult.toml");
    let text = std::fs::read_to_string(&p).unwrap();
    let text = text.lines().map(f).collect::<Vec<_>>().join("\n");
    std::fs::write(p, text).unwrap();
}

/// The job with `salary-class` as the sensitive column and `models` added to its privacy: the
/// other eight columns stay quasi-identifiers.
pub fn with_models(dir: &tempfile::TempDir, models: &str) {
    edit_lines(dir, |l| {
        if l.starts_with("salary-class ") {
            "salary-class = { action = \"keep\", role = \"sensitive\" }".to_string()
        } else if l.starts_with("metric = ") {
            format!("{l}\n{models}")
        } else {
            l.to_string()
        }
    });
}

/// The job in `dir` and its table's search base, as a run would count it.
pub fn base(dir: &tempfile::TempDir) -> (Job, Base) {
    let job = Job::load(&dir.path().join("jobs/adult.toml")).unwrap();
    let opts = RunOptions::reading(
        Some(chrono::NaiveDate::parse_from_str(RUN_DATE, "%Y-%m-%d").unwrap()),
        vec![],
    );
    let ctx = context(&job, opts.run_date).unwrap();
    let planned = plan(&job, &opts).unwrap();
    let base = search_base(&planned[0], &ctx).unwrap();
    (job, base)
}
