//! The level search on the external benchmark: UCI Adult with ARX's hierarchies
//! (`../shared/external/adult/`, see its README). With ARX's own metric and settings the levels
//! must be ARX's; with the loss metric the search must find the true optimum, proven against an
//! exhaustive evaluation of all 12,960 level combinations.

mod common;

use anonymize::job::MetricName;
use anonymize::protect::search::{Goal, Searcher};
use common::adult::*;
use common::*;
use predicates::prelude::*;

fn edit(dir: &tempfile::TempDir, k: u32, suppression: f64, metric: &str) {
    edit_lines(dir, |l| {
        if l.starts_with("k = ") {
            format!("k = {k}")
        } else if l.starts_with("max_suppression = ") {
            format!("max_suppression = {suppression}")
        } else if l.starts_with("metric = ") {
            format!("metric = \"{metric}\"")
        } else {
            l.to_string()
        }
    });
}

fn run(dir: &tempfile::TempDir, extra: &[&str]) -> assert_cmd::assert::Assert {
    bin()
        .current_dir(dir.path())
        .args(["run", "jobs/adult.toml", "--run-date", RUN_DATE])
        .args(extra)
        .assert()
}

fn report(dir: &tempfile::TempDir) -> serde_json::Value {
    let p = dir
        .path()
        .join(format!("out/adult/_reports/run_date={RUN_DATE}.json"));
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// ARX's reference results (the shared README's table, from ARX's own test suite): levels in
/// column order and ARX's information loss under its non-uniform entropy metric.
const ARX: [(u32, f64, [usize; 9], f64); 4] = [
    (5, 0.04, [1, 0, 1, 1, 3, 2, 2, 0, 1], 255559.85455731067),
    (100, 0.04, [1, 1, 1, 1, 3, 2, 2, 1, 1], 379417.3460570988),
    (5, 0.0, [1, 2, 1, 1, 3, 2, 2, 1, 1], 407289.5388925293),
    (100, 0.0, [0, 4, 1, 1, 3, 2, 2, 1, 1], 453196.8932458743),
];

#[test]
fn entropy_search_chooses_arx_levels() {
    let dir = project();
    for (k, s, levels, loss) in ARX {
        edit(&dir, k, s, "entropy");
        run(&dir, &[]).success();
        let r = report(&dir);
        let t = &r["tables"]["adult"];
        let got: Vec<usize> = t["levels"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(got, levels, "k = {k}, suppression {s}");
        let entropy = t["entropy"].as_f64().unwrap();
        assert!(
            (entropy - loss).abs() < 1e-6 * loss,
            "k = {k}: entropy {entropy}, ARX {loss}"
        );
        assert!(t["min_class_subjects"].as_u64().unwrap() >= k as u64);
    }
}

/// The loss metric's optimum, proven: the search's answer equals the best of all 12,960
/// combinations, for k in {5, 10} and 0%, 1%, 5% suppression.
#[test]
fn loss_search_finds_the_exhaustive_optimum() {
    let dir = project();
    let (_, base) = base(&dir);
    let goals: Vec<Goal> = [5, 10]
        .into_iter()
        .flat_map(|k| {
            [0.0, 0.01, 0.05].map(|s| Goal {
                k,
                max_suppression: s,
                metric: MetricName::Loss,
                models: Default::default(),
            })
        })
        .collect();
    let truth = Searcher::new(&base).exhaustive_many(&goals);
    let mut searcher = Searcher::new(&base);
    for (goal, truth) in goals.iter().zip(truth) {
        let found = searcher.search(goal).unwrap().best.expect("a solution");
        let truth = truth.expect("a solution");
        assert!(
            (found.loss - truth.loss).abs() < 1e-12,
            "k {} s {}: search {} {:?}, exhaustive {} {:?}",
            goal.k,
            goal.max_suppression,
            found.loss,
            found.levels,
            truth.loss,
            truth.levels
        );
        assert!(found.rows_suppressed as f64 <= goal.max_suppression * 30162.0);
    }
}

/// `run --pin` writes the levels it found; later runs keep them, and fail (exit 4) rather than
/// change them when they no longer meet k.
#[test]
fn pinned_levels_are_kept_and_fail_loudly() {
    let dir = project();
    edit(&dir, 5, 0.04, "loss");
    run(&dir, &["--pin"])
        .success()
        .stdout(predicate::str::contains(
            "levels pinned in jobs/adult.lock.toml",
        ));
    let first = report(&dir)["tables"]["adult"]["levels"].clone();
    let lock = std::fs::read_to_string(dir.path().join("jobs/adult.lock.toml")).unwrap();
    assert!(lock.contains("[tables.adult.age]"), "{lock}");

    // A later run with other settings keeps the pinned levels, searching nothing.
    edit(&dir, 3, 0.04, "loss");
    run(&dir, &[]).success();
    let r = report(&dir);
    assert_eq!(r["tables"]["adult"]["levels"], first);
    assert!(r["tables"]["adult"]["nodes_checked"].is_null());
    assert!(
        r["levels_pinned_by"]
            .as_str()
            .unwrap()
            .ends_with("adult.lock.toml")
    );

    // Pinned levels that cannot meet k: exit 4, the lock named, the output untouched.
    let before = std::fs::read(
        dir.path()
            .join(format!("out/adult/_reports/run_date={RUN_DATE}.json")),
    )
    .unwrap();
    edit(&dir, 5000, 0.0, "loss");
    run(&dir, &[])
        .code(4)
        .stderr(predicate::str::contains("pinned by"))
        .stderr(predicate::str::contains("--pin"));
    let after = std::fs::read(
        dir.path()
            .join(format!("out/adult/_reports/run_date={RUN_DATE}.json")),
    )
    .unwrap();
    assert_eq!(before, after);
}

#[test]
fn explore_prints_levels_and_costs_and_writes_nothing() {
    let dir = project();
    bin()
        .current_dir(dir.path())
        .args([
            "explore",
            "jobs/adult.toml",
            "--k",
            "5,10",
            "--suppression",
            "0.05",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "table adult: 30162 rows, 12960 level combinations",
        ))
        // A column a quasi-identifier, a row a k (after the header and its rule).
        .stdout(predicate::str::contains("| age ").count(1))
        .stdout(predicate::function(|out: &str| {
            out.lines().filter(|l| l.starts_with('|')).count() == 4
        }));
    assert!(!dir.path().join("out").exists());
}

/// The written output of a loss search, read back with arrow-rs: every class of the nine
/// columns holds at least k rows (one row is one person here).
#[test]
fn loss_search_output_holds_k() {
    let dir = project();
    edit(&dir, 10, 0.01, "loss");
    run(&dir, &[]).success();
    let t = read_parquet(&dir.path().join(format!(
        "out/adult/adult/run_date={RUN_DATE}/part-00000.parquet"
    )));
    let mut classes: std::collections::HashMap<Vec<Option<String>>, usize> = Default::default();
    for i in 0..t.rows {
        let key = t
            .columns
            .iter()
            .map(|(n, _)| t.column(n)[i].clone())
            .collect();
        *classes.entry(key).or_default() += 1;
    }
    assert!(t.rows > 29_000);
    assert!(classes.values().all(|&n| n >= 10), "a class under k");
    assert_eq!(
        classes.len() as u64,
        report(&dir)["tables"]["adult"]["equivalence_classes"]
            .as_u64()
            .unwrap()
    );
}

/// l-diversity with salary-class sensitive, searched and enforced at k = 5 and 10: every class
/// of the output holds the model (the report's figures, and `verify` recounting the written
/// rows), for each variant.
#[test]
fn l_diversity_on_adult_holds_in_every_class() {
    for (models, check) in [
        ("l_diversity = { l = 2 }", "min_distinct"),
        (
            "l_diversity = { variant = \"entropy\", l = 1.5 }",
            "min_entropy_l",
        ),
        (
            "l_diversity = { variant = \"recursive\", c = 4, l = 2 }",
            "min_distinct",
        ),
        ("t_closeness = { t = 0.2 }", "max_distance"),
    ] {
        for k in [5, 10] {
            let dir = project();
            edit(&dir, k, 0.04, "loss");
            with_models(&dir, models);
            run(&dir, &[]).success();
            let r = report(&dir);
            let t = &r["tables"]["adult"];
            assert!(t["min_class_subjects"].as_u64().unwrap() >= k as u64);
            let figure = t["sensitive"][0][check].as_f64().unwrap();
            match check {
                "min_distinct" => assert!(figure >= 2.0, "{models} k {k}: {t}"),
                "min_entropy_l" => assert!(figure >= 1.5 - 1e-9, "{models} k {k}: {t}"),
                _ => assert!(figure <= 0.2 + 1e-9, "{models} k {k}: {t}"),
            }
            bin()
                .current_dir(dir.path())
                .args(["verify", "out/adult", "--job", "jobs/adult.toml"])
                .assert()
                .success()
                .stdout(predicate::str::contains(" hold ("));
        }
    }
}

/// With a model, the search is still exact: its answer equals the best node of an exhaustive
/// evaluation, and the model costs loss (its optimum is no better than k's alone).
#[test]
fn search_with_l_diversity_finds_the_exhaustive_optimum() {
    let dir = project();
    with_models(&dir, "l_diversity = { l = 2 }");
    let (job, base) = base(&dir);
    assert_eq!(base.dims.len(), 8);
    assert_eq!(base.sensitive.len(), 1);
    let models = job.tables[0].privacy.unwrap().models;
    for k in [5, 10] {
        let goal = Goal {
            k,
            max_suppression: 0.04,
            metric: MetricName::Loss,
            models,
        };
        let truth = Searcher::new(&base).exhaustive(&goal).expect("a solution");
        let found = Searcher::new(&base).search(&goal).unwrap().best.unwrap();
        assert!(
            (found.loss - truth.loss).abs() < 1e-12,
            "k {k}: search {} {:?}, exhaustive {} {:?}",
            found.loss,
            found.levels,
            truth.loss,
            truth.levels
        );
        let k_only = Searcher::new(&base)
            .search(&Goal {
                models: Default::default(),
                ..goal
            })
            .unwrap()
            .best
            .unwrap();
        assert!(k_only.loss <= found.loss + 1e-12);
        eprintln!(
            "k = {k}: loss with 2-diversity {:.4} at {:?}, k alone {:.4} at {:?}",
            found.loss, found.levels, k_only.loss, k_only.levels
        );
    }
}

/// Mondrian through the run, with salary-class sensitive: at k = 5 and 10, with and without
/// 2-diversity, the written data verifies (k and l recounted from the files) and its loss is
/// far below the full-domain optimum's on the same job.
#[test]
fn mondrian_run_verifies_and_loses_far_less_than_full_domain() {
    for models in ["", "l_diversity = { l = 2 }"] {
        for k in [5, 10] {
            let mut loss = Vec::new();
            for search in ["optimal", "mondrian"] {
                let dir = project();
                edit(&dir, k, 0.04, "loss");
                with_models(&dir, models);
                edit_lines(&dir, |l| {
                    l.replace("search = \"optimal\"", &format!("search = \"{search}\""))
                });
                run(&dir, &[]).success();
                let r = report(&dir);
                let t = &r["tables"]["adult"];
                assert_eq!(t["recoding"], search);
                assert!(t["min_class_subjects"].as_u64().unwrap() >= k as u64);
                loss.push(t["loss"].as_f64().unwrap());
                bin()
                    .current_dir(dir.path())
                    .args(["verify", "out/adult", "--job", "jobs/adult.toml"])
                    .assert()
                    .success();
            }
            eprintln!(
                "k = {k} {models}: full-domain loss {:.4}, Mondrian {:.4}",
                loss[0], loss[1]
            );
            assert!(loss[1] < 0.7 * loss[0], "k = {k} {models}: {loss:?}");
        }
    }
}
