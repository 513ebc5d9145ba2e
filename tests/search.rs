//! The level search on the sample exports, where people have many rows (activity) and levels
//! come from the built-in ladders (age, IP prefixes, dates) and a hierarchy file.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashSet};

use common::*;
use predicates::prelude::*;

fn searching_project() -> Project {
    let p = Project::unlinked(3000, 20000, 23);
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
        .stdout(predicate::str::contains("| age_band "));

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
    assert!(lock.contains("[tables.users.birth_date]"), "{lock}");

    // The next night keeps the pinned levels.
    p.run(KEY).assert().success();
    let again = p.report();
    assert_eq!(
        again["tables"]["users"]["levels"],
        report["tables"]["users"]["levels"]
    );
    assert!(again["tables"]["users"]["nodes_checked"].is_null());
    // Its figures are measured on what it wrote (issue 16: they were null): the same data at
    // the same levels gives the search's own figures, a lock's level above the job's floor
    // (birth cohorts searched from 1) and the link's suppression (activity) included.
    for table in ["users", "activity"] {
        for figure in ["loss", "entropy", "discernibility", "avg_class_size"] {
            let (searched, pinned) = (
                report["tables"][table][figure].as_f64(),
                again["tables"][table][figure].as_f64(),
            );
            let (Some(searched), Some(pinned)) = (searched, pinned) else {
                panic!("{table}.{figure}: searched {searched:?}, pinned {pinned:?}");
            };
            assert!(
                (searched - pinned).abs() <= 1e-9 * searched.abs().max(1.0),
                "{table}.{figure}: searched {searched}, pinned {pinned}"
            );
        }
    }
    assert!(report["tables"]["users"]["loss"].as_f64().unwrap() > 0.0);
}

/// A table whose levels the job fixes (no search) reports its loss too: every column at its
/// floor loses nothing, so the loss is the suppressed rows' share.
#[test]
fn fixed_levels_report_their_loss() {
    let mut csv = String::from("id,zone\n");
    for i in 0..40 {
        // Ten zones of three people and one of ten: the ten small ones go at k = 5.
        let zone = if i < 30 { i / 3 } else { 99 };
        csv.push_str(&format!("{i},{zone}\n"));
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("d.csv"), csv).unwrap();
    std::fs::write(
        dir.path().join("job.toml"),
        "name = \"fixed\"\noutput = \"out\"\n[tables.t]\ninput = \"d.csv\"\nsubject = \"id\"\n\
         [tables.t.privacy]\nk = 5\nmax_suppression = 0.9\n[tables.t.columns]\n\
         id = { action = \"keep\" }\nzone = { action = \"keep\", role = \"quasi\" }\n",
    )
    .unwrap();
    tiny_run(&dir).success();
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            dir.path()
                .join(format!("out/_reports/run_date={RUN_DATE}.json")),
        )
        .unwrap(),
    )
    .unwrap();
    let t = &report["tables"]["t"];
    assert_eq!(t["rows_suppressed"].as_u64(), Some(30), "{t}");
    assert!(
        (t["loss"].as_f64().unwrap() - 30.0 / 40.0).abs() < 1e-12,
        "{t}"
    );
    assert_eq!(t["avg_class_size"].as_f64(), Some(10.0), "{t}");
    // One class of 10 written, 30 rows suppressed at 40 each.
    assert_eq!(
        t["discernibility"].as_f64(),
        Some(100.0 + 30.0 * 40.0),
        "{t}"
    );
}

/// A small table of its own, searched: (job columns, CSV text).
fn tiny(columns: &str, csv: &str, k: u32) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("d.csv"), csv).unwrap();
    std::fs::write(
        dir.path().join("job.toml"),
        format!(
            "name = \"tiny\"\noutput = \"out\"\n[tables.t]\ninput = \"d.csv\"\nsubject = \"id\"\n\
             [tables.t.privacy]\nk = {k}\nsearch = \"optimal\"\n[tables.t.columns]\n\
             id = {{ action = \"keep\" }}\n{columns}\n"
        ),
    )
    .unwrap();
    dir
}

fn tiny_run(dir: &tempfile::TempDir) -> assert_cmd::assert::Assert {
    bin()
        .current_dir(dir.path())
        .args(["run", "job.toml", "--run-date", RUN_DATE])
        .assert()
}

/// Regression: the search counted a truncated column's top level as two classes (readable
/// dates and missing ones) while the output makes them one (all null), and so found nothing.
#[test]
fn the_top_level_of_dates_is_one_class_as_in_the_output() {
    let dir = tiny(
        "ts = { action = \"generalize\", method = \"truncate\", role = \"quasi\", invalid = \"null\" }",
        "id,ts\na,2024-04-29\nb,\nc,garbage\n",
        2,
    );
    tiny_run(&dir).success();
    let t = read_parquet(
        &dir.path()
            .join(format!("out/t/run_date={RUN_DATE}/part-00000.parquet")),
    );
    assert_eq!(t.rows, 3);
    assert!(t.column("ts").iter().all(Option::is_none));
}

/// Regression: at the top level the output wrote `*` for unreadable values too, so the search
/// and the output disagreed on classes. Unreadable stays null (and counted) at every level.
#[test]
fn unreadable_values_stay_null_at_the_top_level() {
    let dir = tiny(
        "bd = { action = \"generalize\", method = \"age\", role = \"quasi\", invalid = \"null\" }",
        "id,bd\na,1950-01-01\nb,1980-06-01\nc,2001-12-31\nd,not-a-date\ne,2099-01-01\nf,31.12.1990\n",
        3,
    );
    tiny_run(&dir).success();
    let t = read_parquet(
        &dir.path()
            .join(format!("out/t/run_date={RUN_DATE}/part-00000.parquet")),
    );
    let mut values: Vec<Option<String>> = t.column("bd").clone();
    values.sort();
    assert_eq!(
        values,
        [
            None,
            None,
            None,
            Some("*".into()),
            Some("*".into()),
            Some("*".into())
        ]
    );
    let report = report_in(&dir.path().join("out"));
    assert_eq!(report["tables"]["t"]["invalid_values"]["bd"], 3);
    assert_eq!(report["tables"]["t"]["levels"]["bd"], 4);
}

#[test]
fn levels_on_a_column_that_is_not_searched_are_an_error() {
    let dir = tiny(
        "ts = { action = \"generalize\", method = \"truncate\", levels = [1, 3] }",
        "id,ts\na,2024-04-29\n",
        1,
    );
    tiny_run(&dir).code(2).stderr(predicate::str::contains(
        "bounds the search of a quasi-identifier",
    ));
}

/// Regressions: the lock pinned columns that were not searched, recorded no meaning for the
/// level numbers, and was written after the commit (a failure to write it left data committed
/// and exit code 1).
#[test]
fn the_lock_pins_searched_columns_with_their_meaning_and_before_the_commit() {
    let csv = "id,bd,ts\na,1950-01-01,2024-04-29T10:00:00Z\nb,1952-06-01,2024-04-29T11:00:00Z\n\
               c,1980-06-01,2024-05-01T10:00:00Z\nd,1981-12-31,2024-05-02T10:00:00Z\n";
    let dir = tiny(
        "bd = { action = \"generalize\", method = \"age\", level = 3, role = \"quasi\" }\n\
         ts = { action = \"generalize\", method = \"truncate\", role = \"quasi\" }",
        csv,
        2,
    );
    // A lock that cannot be written stops the run before anything is committed.
    std::fs::create_dir(dir.path().join("job.lock.toml.tmp")).unwrap();
    bin()
        .current_dir(dir.path())
        .args(["run", "job.toml", "--pin", "--run-date", RUN_DATE])
        .assert()
        .failure()
        .stderr(predicate::str::contains("lock file"));
    assert!(!dir.path().join("out/t").exists());
    std::fs::remove_dir(dir.path().join("job.lock.toml.tmp")).unwrap();

    bin()
        .current_dir(dir.path())
        .args(["run", "job.toml", "--pin", "--run-date", RUN_DATE])
        .assert()
        .success()
        .stdout(predicate::str::contains("levels pinned in job.lock.toml"));
    let lock = std::fs::read_to_string(dir.path().join("job.lock.toml")).unwrap();
    assert!(
        lock.contains("[tables.t.ts]") && lock.contains("truncate: to hour"),
        "{lock}"
    );
    assert!(
        !lock.contains("bd"),
        "a column the job pins is not the lock's: {lock}"
    );

    // Fixing `ts` in the job changes what its levels mean: the lock is stale, not obeyed.
    let job = std::fs::read_to_string(dir.path().join("job.toml")).unwrap();
    std::fs::write(
        dir.path().join("job.toml"),
        job.replace(
            "method = \"truncate\", role",
            "method = \"truncate\", to = \"day\", role",
        ),
    )
    .unwrap();
    tiny_run(&dir)
        .code(2)
        .stderr(predicate::str::contains("the lock no longer fits the job"));

    // A table turned to Mondrian takes no level a column: the lock is stale too.
    std::fs::write(
        dir.path().join("job.toml"),
        job.replace("search = \"optimal\"", "search = \"mondrian\""),
    )
    .unwrap();
    tiny_run(&dir)
        .code(2)
        .stderr(predicate::str::contains("now uses `search = \"mondrian\"`"))
        .stderr(predicate::str::contains("the lock no longer fits the job"));
}

/// A search that gives a column up (every value `*`) says so: a warning in the run's log and
/// `columns_at_top` in the report.
#[test]
fn a_column_searched_to_its_top_is_named() {
    let p = Project::new(1500, 6000, 11);
    let _ = std::fs::remove_file(p.path().join("jobs/marketing_research.lock.toml"));
    p.edit_job(|j| {
        let edited = j
            .replacen("k = 10 ", "k = 100 ", 1)
            .replace("known_events = 2", "known_events = 1")
            .replace("max_suppression = 0.05", "max_suppression = 0.3")
            .replace("k = 10\n", "k = 3\n");
        assert!(edited.contains("k = 100 ") && edited.contains("k = 3\n"));
        edited
    });
    let out = p.run(KEY).assert().success().get_output().stderr.clone();
    let log = String::from_utf8_lossy(&out);
    assert!(
        log.contains("the chosen level of `macro_region` is its top"),
        "{log}"
    );
    let report = p.report();
    assert_eq!(
        report["tables"]["users"]["columns_at_top"],
        serde_json::json!(["macro_region"])
    );
    // A column whose last level is not `*` (years truncated) is not at the top.
    assert!(report["tables"]["activity"].get("columns_at_top").is_none());
    assert!(!log.contains("`year` is its top"), "{log}");
    // `explore` marks the top in its tables of choices.
    let out = bin()
        .current_dir(p.path())
        .env("ANONYMIZE_KEY", KEY)
        .args([
            "explore",
            "jobs/marketing_research.toml",
            "--table",
            "users",
        ])
        .args(["--k", "100", "--suppression", "0.3"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let shown = String::from_utf8_lossy(&out);
    assert!(
        shown.contains("| macro_region ") && shown.contains("| 3 (*) "),
        "{shown}"
    );
}

/// `explore` as its user reads it (issue 16): each level with its name beside its number, one
/// aligned table a table (every line of it as wide as the others), and `--format json` with
/// the same content, whose chosen candidate (the job's k and limit) is the row the text marks
/// and the levels the run then writes.
#[test]
fn explore_names_levels_aligns_its_tables_and_its_json_chooses_what_the_run_writes() {
    let p = searching_project();
    let explore = |format: &str| -> String {
        let out = bin()
            .current_dir(p.path())
            .env("ANONYMIZE_KEY", KEY)
            .args(["explore", "jobs/marketing_research.toml"])
            .args(["--k", "5,10", "--suppression", "0.05", "--format", format])
            .args(["--run-date", RUN_DATE])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out).unwrap()
    };
    let text = explore("text");
    // Names beside numbers: the age ladder's bands, the city hierarchy's groups or `*`.
    let age = regex::Regex::new(r"\| [0-4] \((years|5-year|10-year|20-year|\*)\) +\|").unwrap();
    assert!(age.is_match(&text), "{text}");
    let city = regex::Regex::new(r"\| [1-3] \((\d+ groups|\*)\) +\|").unwrap();
    assert!(city.is_match(&text), "{text}");
    // Aligned: within a table, every line of the grid is as wide as the header (the names are
    // ASCII here, so characters are display columns).
    let grids: Vec<Vec<&str>> = text
        .split("\n\n")
        .map(|block| block.lines().filter(|l| l.starts_with('|')).collect())
        .filter(|grid: &Vec<&str>| !grid.is_empty())
        .collect();
    assert_eq!(grids.len(), 2, "users and activity: {text}");
    for grid in &grids {
        let widths: BTreeSet<usize> = grid.iter().map(|l| l.chars().count()).collect();
        assert_eq!(widths.len(), 1, "ragged:\n{}", grid.join("\n"));
        assert_eq!(grid.len(), 4, "header, rule and a row a k: {grid:?}");
    }

    let json: serde_json::Value = serde_json::from_str(&explore("json")).expect("JSON");
    p.run(KEY).assert().success();
    let report = p.report();
    let tables = json["tables"].as_array().unwrap();
    let names: Vec<&str> = tables
        .iter()
        .map(|t| t["table"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["users", "activity"]);
    for (t, grid) in tables.iter().zip(&grids) {
        let name = t["table"].as_str().unwrap();
        let candidates = t["candidates"].as_array().unwrap();
        assert_eq!(candidates.len(), 2, "{name}");
        let chosen: Vec<&serde_json::Value> =
            candidates.iter().filter(|c| c["chosen"] == true).collect();
        assert_eq!(chosen.len(), 1, "{name}: one candidate is the job's");
        let chosen = chosen[0];
        assert_eq!(
            (&chosen["k"], &chosen["max_suppression"]),
            (&t["k"], &t["max_suppression"])
        );
        // The run writes the chosen levels.
        let levels: BTreeMap<String, u64> = chosen["levels"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(c, l)| (c.clone(), l["level"].as_u64().unwrap()))
            .collect();
        let ran: BTreeMap<String, u64> = report["tables"][name]["levels"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(c, l)| (c.clone(), l.as_u64().unwrap()))
            .collect();
        assert!(!ran.is_empty());
        assert_eq!(levels, ran, "{name}: explore's choice and the run's");
        // The text marks the same row, with the same levels and names.
        let row = grid
            .iter()
            .find(|l| l.contains("| yes "))
            .expect("a chosen row");
        for l in chosen["levels"].as_object().unwrap().values() {
            let shown = if l["top"] == true {
                "*"
            } else {
                l["name"].as_str().unwrap()
            };
            let cell = format!("| {} ({shown}) ", l["level"]);
            assert!(row.contains(&cell), "{name}: {cell} not in {row}");
        }
        // Every column's levels are named, and the column list matches the levels'.
        let columns: Vec<&str> = t["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["column"].as_str().unwrap())
            .collect();
        assert_eq!(
            columns,
            chosen["levels"]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>()
        );
        for c in t["columns"].as_array().unwrap() {
            for l in c["levels"].as_array().unwrap() {
                assert!(!l["name"].as_str().unwrap().is_empty(), "{c}");
            }
        }
    }
}

/// Postal codes, some with a leading zero, three people a code: six codes in two regions.
const POSTAL: [&str; 6] = ["050123", "050124", "050131", "050132", "160101", "160102"];

/// The `prefix` method (issue 16): searched (`search = "optimal"`), pinned with `level`, kept at
/// `length` alone, named in `explore`; its leading zeros stay at every level.
#[test]
fn a_prefix_ladder_is_searched_pinned_and_explored() {
    let mut csv = String::from("id,postal,region,area\n");
    for (i, code) in POSTAL.iter().cycle().take(18).enumerate() {
        csv.push_str(&format!("p{i:02},{code},{code},{code}\n"));
    }
    let dir = tiny(
        "postal = { action = \"generalize\", method = \"prefix\", length = 6, role = \"quasi\" }\n\
         region = { action = \"generalize\", method = \"prefix\", length = 6, level = 2 }\n\
         area = { action = \"generalize\", method = \"prefix\", length = 3 }",
        &csv,
        5,
    );
    tiny_run(&dir).success();
    let t = read_parquet(
        &dir.path()
            .join(format!("out/t/run_date={RUN_DATE}/part-00000.parquet")),
    );
    assert_eq!(t.rows, 18, "nothing suppressed");
    // Six characters make classes of three people, under k = 5; five make classes of six.
    let report = report_in(&dir.path().join("out"));
    assert_eq!(report["tables"]["t"]["levels"]["postal"], 1);
    for i in 0..t.rows {
        let id = t.column("id")[i].clone().unwrap();
        let own = POSTAL[id[1..].parse::<usize>().unwrap() % 6];
        assert_eq!(t.column("postal")[i].as_deref(), Some(&own[..5]), "{id}");
        assert_eq!(t.column("region")[i].as_deref(), Some(&own[..4]), "{id}");
        assert_eq!(t.column("area")[i].as_deref(), Some(&own[..3]), "{id}");
    }
    // explore names the prefix's levels, down to `*`.
    let out = bin()
        .current_dir(dir.path())
        .args(["explore", "job.toml", "--k", "5,15", "--suppression", "0"])
        .args(["--run-date", RUN_DATE])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let shown = String::from_utf8_lossy(&out);
    assert!(shown.contains("| 1 (5 characters) "), "{shown}");
    // At k = 15 `0` (12 people) and `1` (6) do not hold: only `*` does.
    assert!(shown.contains("| 6 (*) "), "{shown}");
    // `prefix` needs `length`; the message names the column.
    let job = std::fs::read_to_string(dir.path().join("job.toml")).unwrap();
    std::fs::write(
        dir.path().join("job.toml"),
        job.replace("method = \"prefix\", length = 3", "method = \"prefix\""),
    )
    .unwrap();
    tiny_run(&dir)
        .code(2)
        .stderr(predicate::str::contains("tables.t.columns.area"))
        .stderr(predicate::str::contains("needs `length`"));
}
