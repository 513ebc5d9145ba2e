//! l-diversity and t-closeness as a data engineer uses them: a sensitive column marked in the
//! job, the model set in `privacy`, the run enforcing it (suppressing the classes that break
//! it, within the limit), the report saying what was achieved, and `verify` re-checking the
//! written data.

mod common;

use common::*;
use predicates::prelude::*;

/// The small sample project with `event_type` made a sensitive column of `activity` and the
/// given model lines added to its privacy settings.
fn project(models: &str) -> Project {
    let p = Project::small_unlinked();
    p.edit_job(|j| {
        let j = j.replace(
            "event_type = { action = \"keep\" }",
            "event_type = { action = \"keep\", role = \"sensitive\" }",
        );
        // The activity table's privacy block is the second one.
        let at = j.find("[tables.activity.privacy]").unwrap();
        let (head, tail) = j.split_at(at);
        let tail = tail.replacen(
            "max_suppression = 0.3",
            &format!("max_suppression = 0.3\n{models}"),
            1,
        );
        format!("{head}{tail}")
    });
    p
}

#[test]
fn distinct_l_diversity_is_enforced_reported_and_verified() {
    let p = project("l_diversity = { l = 3 }");
    bin()
        .current_dir(p.path())
        .env("ANONYMIZE_KEY", KEY)
        .args(["check", "jobs/marketing_research.toml"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "distinct 3-diversity on `event_type`",
        ));
    p.run(KEY).assert().success();
    let t = &p.report()["tables"]["activity"];
    assert_eq!(t["models"]["l_diversity"]["variant"], "distinct");
    let figures = &t["sensitive"][0];
    assert_eq!(figures["column"], "event_type");
    assert!(figures["min_distinct"].as_u64().unwrap() >= 3, "{figures}");
    // Some classes of k people or more had too few event types: they are part of what was
    // suppressed, and counted apart.
    let failing = t["rows_failing_models"].as_u64().unwrap();
    assert!(failing > 0, "{t}");
    assert!(t["rows_suppressed"].as_u64().unwrap() >= failing);
    p.verify()
        .assert()
        .success()
        .stdout(predicate::str::contains("distinct 3-diversity hold"));
    // The page shows the same figures to people.
    let page = std::fs::read_to_string(p.out().join(format!("_reports/run_date={RUN_DATE}.html")))
        .unwrap();
    assert!(page.contains("event_type: fewest distinct values in a class"));
    assert!(page.contains("marketer risk"));
    assert!(page.contains("breaking l-diversity or t-closeness"));

    // The same data without the model keeps those rows.
    let plain = Project::small_unlinked();
    plain.run(KEY).assert().success();
    let before = plain.report()["tables"]["activity"]["rows_suppressed"]
        .as_u64()
        .unwrap();
    assert_eq!(before + failing, t["rows_suppressed"].as_u64().unwrap());
}

#[test]
fn entropy_and_recursive_variants_and_t_closeness_verify() {
    for models in [
        "l_diversity = { variant = \"entropy\", l = 2 }",
        "l_diversity = { variant = \"recursive\", c = 3, l = 2 }",
        "t_closeness = { t = 0.3 }",
    ] {
        let p = project(models);
        p.run(KEY).assert().success();
        let t = &p.report()["tables"]["activity"];
        let f = &t["sensitive"][0];
        if models.contains("entropy") {
            assert!(f["min_entropy_l"].as_f64().unwrap() >= 2.0 - 1e-9, "{f}");
        }
        if models.contains("t_closeness") {
            assert!(f["max_distance"].as_f64().unwrap() <= 0.3 + 1e-9, "{f}");
            assert_eq!(f["ordered"], false);
        }
        p.verify().assert().success();
    }
}

/// A model no class can meet fails like k over the limit: exit 4, nothing written.
#[test]
fn a_model_out_of_reach_stops_the_run() {
    let p = project("l_diversity = { l = 40 }");
    p.run(KEY)
        .assert()
        .code(4)
        .stderr(predicate::str::contains("tables.activity"));
    assert!(!p.out().join("activity").exists());
}

/// `verify` catches data that breaks the promised model, whoever wrote it: the job is
/// tightened after the run.
#[test]
fn verify_catches_a_dataset_that_breaks_the_model() {
    let p = project("l_diversity = { l = 2 }");
    p.run(KEY).assert().success();
    p.edit_job(|j| j.replace("l_diversity = { l = 2 }", "l_diversity = { l = 6 }"));
    p.verify()
        .assert()
        .code(4)
        .stdout(predicate::str::contains("distinct 6-diversity broken in"));
}

#[test]
fn models_without_a_sensitive_column_or_out_of_range_are_job_errors() {
    let p = Project::small_unlinked();
    p.edit_job(|j| j.replace("k = 3\n", "k = 3\nt_closeness = { t = 0.2 }\n"));
    p.run(KEY)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("role = \"sensitive\""));
    for (models, says) in [
        ("l_diversity = { l = 1.5 }", "privacy.l_diversity.l"),
        (
            "l_diversity = { variant = \"recursive\", l = 2 }",
            "needs `c`",
        ),
        ("l_diversity = { l = 2, c = 3 }", "privacy.l_diversity.c"),
        ("t_closeness = { t = 1.5 }", "privacy.t_closeness.t"),
        ("l_diversity = { l = 2, x = 1 }", "unknown field"),
    ] {
        let p = project(models);
        p.run(KEY)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(says));
    }
}
