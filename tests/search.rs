//! The level search on the sample exports, where people have many rows (activity) and levels
//! come from the built-in ladders (age, IP prefixes, dates) and a hierarchy file.

mod common;

use std::collections::{BTreeMap, HashSet};

use common::*;
use predicates::prelude::*;

fn searching_project() -> Project {
    let p = Project::new(3000, 20000, 23);
    p.edit_job(|j| {
        j.replace(
            "method = \"age\", band = 10, top = 70, role = \"quasi\"",
            "method = \"age\", top = 70, role = \"quasi\"",
        )
        .replace(
            "file = \"hierarchies/kz_cities.csv\", level = 2, role = \"quasi\"",
            "file = \"hierarchies/kz_cities.csv\", levels = [1, 3], role = \"quasi\"",
        )
        .replace(
            "method = \"ip_prefix\", v4 = 16, v6 = 32, role = \"quasi\"",
            "method = \"ip_prefix\", role = \"quasi\"",
        )
        .lines()
        .map(|l| {
            if l.starts_with("max_suppression") {
                format!("{l}\nsearch = \"optimal\"")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
    });
    p
}

#[test]
fn search_on_sample_exports_holds_k_in_people_and_pins() {
    let p = searching_project();
    bin()
        .current_dir(p.path())
        .env("ANONYMIZE_KEY", KEY)
        .args([
            "explore",
            "jobs/marketing_research.toml",
            "--k",
            "5,10",
            "--suppression",
            "0.05",
        ])
        .args(["--run-date", RUN_DATE])
        .assert()
        .success()
        .stdout(predicate::str::contains("table users:"))
        .stdout(predicate::str::contains("table activity:"))
        .stdout(predicate::str::contains("age_band="));

    p.run(KEY).arg("--pin").assert().success();
    let report = p.report();
    for table in ["users", "activity"] {
        let t = &report["tables"][table];
        assert!(t["nodes_checked"].as_u64().unwrap() > 0, "{table} searched");
        assert!(t["loss"].as_f64().unwrap() >= 0.0);
        // k holds on the written file, in distinct people.
        let k = t["k"].as_u64().unwrap() as usize;
        let qis: Vec<String> = t["quasi_identifiers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        let data = read_parquet(&p.output_file(table));
        let mut classes: BTreeMap<Vec<Option<String>>, HashSet<String>> = BTreeMap::new();
        for i in 0..data.rows {
            let key = qis.iter().map(|q| data.column(q)[i].clone()).collect();
            classes
                .entry(key)
                .or_default()
                .insert(data.column("user_id")[i].clone().unwrap());
        }
        assert!(
            classes.values().all(|c| c.len() >= k),
            "{table}: a class under k"
        );
    }
    // The city hierarchy was searched within [1, 3] only.
    let city = report["tables"]["users"]["levels"]["macro_region"]
        .as_u64()
        .unwrap();
    assert!((1..=3).contains(&city));
    let lock = std::fs::read_to_string(p.path().join("jobs/marketing_research.lock.toml")).unwrap();
    assert!(
        lock.contains("[tables.users]") && lock.contains("birth_date ="),
        "{lock}"
    );

    // The next night keeps the pinned levels.
    p.run(KEY).assert().success();
    let again = p.report();
    assert_eq!(
        again["tables"]["users"]["levels"],
        report["tables"]["users"]["levels"]
    );
    assert!(again["tables"]["users"]["nodes_checked"].is_null());
}
