//! The main job on data made by `anonymize sample`, run as a user runs it, its output read back
//! with arrow-rs: what must never be in the output, what must be, and what k promises.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use common::*;

const USERS: u64 = 5000;
const EVENTS: u64 = 50000;

/// Midnight UTC of the run date minus the job's 1826 days: the first instant kept.
fn retention_cutoff() -> chrono::DateTime<chrono::Utc> {
    let run = chrono::NaiveDate::parse_from_str(RUN_DATE, "%Y-%m-%d").unwrap();
    (run - chrono::Duration::days(1826))
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
}

fn project_after_run() -> Project {
    let p = Project::new(USERS, EVENTS, 7);
    p.run(KEY).assert().success();
    p
}

#[test]
fn dropped_values_and_identifiers_never_reach_the_output() {
    let p = project_after_run();
    let users = read_parquet(&p.output_file("users"));
    let activity = read_parquet(&p.output_file("activity"));
    let page_views = read_parquet(&p.output_file("page_views"));
    let mut cells: HashSet<String> = HashSet::new();
    for t in [&users, &activity, &page_views] {
        for v in t.values.values() {
            cells.extend(v.iter().flatten().cloned());
        }
    }

    // Exact values of dropped and pseudonymized columns.
    let mut secrets: Vec<String> = Vec::new();
    for row in p.input_rows("users") {
        for c in ["user_id", "full_name", "email", "phone", "birth_date"] {
            secrets.push(row[c].clone());
        }
    }
    for row in p.input_rows("activity") {
        // (Not `url`: page_views writes its section, which for the home page is the URL.)
        for c in ["event_id", "cookie_id", "ip", "user_agent"] {
            secrets.push(row[c].clone());
        }
    }
    secrets.retain(|s| !s.is_empty());
    for s in &secrets {
        assert!(
            !cells.contains(s),
            "an input value of a protected column is in the output"
        );
    }
    // Nothing that looks like an e-mail address or a phone number hides anywhere (the URL query
    // strings of the sample carry e-mail addresses, plain and percent-encoded).
    for c in &cells {
        assert!(
            !c.contains('@') && !c.to_ascii_lowercase().contains("%40"),
            "e-mail in {c:?}"
        );
        let digits = c.chars().filter(char::is_ascii_digit).count();
        assert!(!(c.starts_with('+') && digits >= 10), "phone in {c:?}");
    }
    // Full names never appear inside a cell either.
    let names: BTreeSet<String> = p
        .input_rows("users")
        .into_iter()
        .map(|r| r["full_name"].clone())
        .take(300)
        .collect();
    for c in &cells {
        for n in &names {
            assert!(!c.contains(n.as_str()), "a full name is in the output");
        }
    }
    // The dropped columns are gone from the schema.
    for c in ["full_name", "email", "phone", "birth_date", "city"] {
        assert!(!users.values.contains_key(c), "{c} in users output");
    }
    for c in [
        "event_id",
        "cookie_id",
        "ip",
        "user_agent",
        "ts",
        "url",
        "carrier",
    ] {
        assert!(!activity.values.contains_key(c), "{c} in activity output");
    }
    for c in [
        "event_id",
        "user_id",
        "cookie_id",
        "ip",
        "user_agent",
        "ts",
        "url",
        "amount_kzt",
    ] {
        assert!(
            !page_views.values.contains_key(c),
            "{c} in page_views output"
        );
    }
    // The key is nowhere: not in the data, not in the report.
    assert!(!cells.iter().any(|c| c.contains(KEY)));
    let report =
        std::fs::read_to_string(p.out().join(format!("_reports/run_date={RUN_DATE}.json")))
            .unwrap();
    assert!(!report.contains(KEY));
}

#[test]
fn pseudonyms_are_keyed_hmacs_and_join_users_and_activity() {
    let p = project_after_run();
    let expected: HashMap<String, String> = p
        .input_rows("users")
        .into_iter()
        .map(|r| (pseudonym(KEY, &r["user_id"]), r["user_id"].clone()))
        .collect();
    let users = read_parquet(&p.output_file("users"));
    let activity = read_parquet(&p.output_file("activity"));
    let user_ids: HashSet<&String> = users.column("user_id").iter().flatten().collect();
    for u in &user_ids {
        assert!(
            expected.contains_key(*u),
            "a users pseudonym is not HMAC(key, user_id)"
        );
    }
    // The shipped job links activity to users: the same key, so the same person has the same
    // pseudonym in both, and most events join their person's users row (the rest are of
    // people users suppressed). tests/jobs/unlinked.toml covers `scope = "table"`.
    let everyone: HashSet<String> = p
        .input_rows("activity")
        .iter()
        .map(|r| pseudonym(KEY, &r["user_id"]))
        .collect();
    let ids = activity.column("user_id");
    for a in ids.iter().flatten() {
        assert!(
            everyone.contains(a),
            "an activity pseudonym is not HMAC(key, user_id)"
        );
    }
    let joined = ids
        .iter()
        .flatten()
        .filter(|a| user_ids.contains(a))
        .count();
    assert!(
        joined > ids.len() * 9 / 10 && joined < ids.len(),
        "{joined}"
    );

    // Another key, other pseudonyms: none in common.
    let other = tempfile::tempdir().unwrap();
    p.run(OTHER_KEY)
        .arg("--output")
        .arg(other.path())
        .assert()
        .success();
    let users2 = read_parquet(
        &other
            .path()
            .join(format!("users/run_date={RUN_DATE}/part-00000.parquet")),
    );
    let ids2: HashSet<&String> = users2.column("user_id").iter().flatten().collect();
    assert!(user_ids.is_disjoint(&ids2));
    assert_eq!(user_ids.len(), ids2.len());
}

#[test]
fn retention_removes_exactly_the_old_rows() {
    let p = project_after_run();
    let cutoff = retention_cutoff();
    let rows = p.input_rows("activity");
    let expired = rows
        .iter()
        .filter(|r| chrono::DateTime::parse_from_rfc3339(&r["ts"]).unwrap() < cutoff)
        .count() as u64;
    assert!(expired > 0 && expired < rows.len() as u64);
    let report = p.report();
    let a = &report["tables"]["activity"];
    assert_eq!(a["rows_in"], rows.len() as u64);
    assert_eq!(a["rows_expired"], expired);
    assert_eq!(
        a["rows_out"].as_u64().unwrap() + a["rows_suppressed"].as_u64().unwrap(),
        rows.len() as u64 - expired
    );
    let activity = read_parquet(&p.output_file("activity"));
    assert_eq!(activity.rows as u64, a["rows_out"].as_u64().unwrap());
    // Events are written by year: none before the cut-off's year.
    let cutoff_year = format!("{}-01-01", &cutoff.date_naive().to_string()[..4]);
    for d in activity.column("year").iter().flatten() {
        assert!(
            *d >= cutoff_year,
            "{d} is older than the cut-off's year {cutoff_year}"
        );
    }
    let p_rows = &report["tables"]["page_views"];
    assert_eq!(p_rows["rows_expired"], expired);
}

/// k holds on the written files, read back with another reader, counting distinct people.
#[test]
fn k_holds_on_the_written_parquet_in_distinct_subjects() {
    let p = project_after_run();
    let report = p.report();
    let users = read_parquet(&p.output_file("users"));
    let qis_of = |table: &str| -> Vec<String> {
        report["tables"][table]["quasi_identifiers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    // Each person's users values, as written, for activity's linked classes.
    let user_qis = qis_of("users");
    let linked: HashMap<String, Vec<Option<String>>> = (0..users.rows)
        .map(|i| {
            let id = users.column("user_id")[i].clone().unwrap();
            (
                id,
                user_qis
                    .iter()
                    .map(|q| users.column(q)[i].clone())
                    .collect(),
            )
        })
        .collect();
    for table in ["users", "activity"] {
        let r = &report["tables"][table];
        let k = r["k"].as_u64().unwrap() as usize;
        let qis = qis_of(table);
        assert!(!qis.is_empty());
        let t = read_parquet(&p.output_file(table));
        let mut classes: BTreeMap<Vec<Option<String>>, HashSet<String>> = BTreeMap::new();
        for i in 0..t.rows {
            let mut key: Vec<Option<String>> = qis.iter().map(|q| t.column(q)[i].clone()).collect();
            // activity links users: a class is its own values and its person's users values
            // (unknown, all None, for a person users does not write).
            if table == "activity" {
                let person = t.column("user_id")[i].as_ref().unwrap();
                match linked.get(person) {
                    Some(v) => key.extend(v.iter().cloned()),
                    None => key.extend(user_qis.iter().map(|_| None)),
                }
            }
            let subject = t.column("user_id")[i]
                .clone()
                .expect("every row has a subject");
            classes.entry(key).or_default().insert(subject);
        }
        let smallest = classes.values().map(HashSet::len).min().unwrap();
        assert!(
            smallest >= k,
            "{table}: a class holds {smallest} people, k = {k}"
        );
        assert_eq!(
            classes.len() as u64,
            r["equivalence_classes"].as_u64().unwrap()
        );
        assert_eq!(smallest as u64, r["min_class_subjects"].as_u64().unwrap());
        let subjects: HashSet<&String> = t.column("user_id").iter().flatten().collect();
        assert_eq!(subjects.len() as u64, r["subjects_out"].as_u64().unwrap());
        // Suppression stayed within the limit.
        let kept = r["rows_in"].as_u64().unwrap()
            - r["rows_expired"].as_u64().unwrap()
            - r["rows_undated"].as_u64().unwrap();
        let limit = r["max_suppression"].as_f64().unwrap() * kept as f64;
        assert!(r["rows_suppressed"].as_u64().unwrap() as f64 <= limit);
    }
}

#[test]
fn output_has_proper_types_and_describes_itself() {
    let p = project_after_run();
    use arrow::datatypes::DataType as D;
    let users = read_parquet(&p.output_file("users"));
    assert_eq!(
        users
            .columns
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>(),
        [
            "user_id",
            "birth_cohort",
            "gender",
            "macro_region",
            "registered_month"
        ]
    );
    assert_eq!(users.dtype("registered_month"), &D::Date32);
    assert!(matches!(
        users.dtype("birth_cohort"),
        D::Utf8 | D::LargeUtf8 | D::Utf8View
    ));
    let activity = read_parquet(&p.output_file("activity"));
    assert_eq!(activity.dtype("year"), &D::Date32);
    // Money is exact: decimal(18,2), not a float.
    assert_eq!(activity.dtype("amount_kzt"), &D::Decimal128(18, 2));
    for c in ["user_id", "event_type"] {
        assert!(
            matches!(activity.dtype(c), D::Utf8 | D::LargeUtf8 | D::Utf8View),
            "{c}: {:?}",
            activity.dtype(c)
        );
    }
    let page_views = read_parquet(&p.output_file("page_views"));
    let names: Vec<&str> = page_views.columns.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["month", "event_type", "section"]);
    assert_eq!(page_views.dtype("month"), &D::Date32);
    // Sections: scheme, host and the first path segment, nothing after.
    for v in page_views.column("section").iter().flatten() {
        assert!(
            v.starts_with("https://") && v.matches('/').count() <= 3,
            "{v}"
        );
    }
    // Purchases have amounts, other events none.
    let amounts = activity.column("amount_kzt").iter().flatten().count();
    assert!(amounts > 0 && amounts < activity.rows / 5);
    // Pseudonyms are fixed-length lowercase hex.
    for v in activity.column("user_id").iter().flatten() {
        assert!(
            v.len() == 32
                && v.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
    }
    assert_eq!(users.metadata["anonymize.job"], "marketing_research");
    assert_eq!(users.metadata["anonymize.run_date"], RUN_DATE);
    assert!(users.metadata["anonymize.columns"].contains("\"birth_cohort\""));

    // The job's descriptions are the fields' metadata, the columns' entries and the report's.
    assert_eq!(
        users.field_metadata["macro_region"]["description"],
        "macro-region of the city of registration (* = any)"
    );
    assert!(page_views.field_metadata["section"].contains_key("description"));
    let report = p.report();
    assert_eq!(
        report["tables"]["users"]["columns"]["registered_month"]["description"],
        "month of registration (its first day)"
    );
    // The night's figures are in every file, equal to the report's; levels with meanings.
    for (table, file) in [
        ("users", &users),
        ("activity", &activity),
        ("page_views", &page_views),
    ] {
        let figures: serde_json::Value =
            serde_json::from_str(&file.metadata["anonymize.figures"]).unwrap();
        let t = &report["tables"][table];
        for key in [
            "rows_in",
            "rows_expired",
            "rows_suppressed",
            "rows_out",
            "k",
            "equivalence_classes",
        ] {
            assert_eq!(figures[key], t[key], "{table}.{key}");
        }
        let share = t["rows_suppressed"].as_f64().unwrap()
            / (t["rows_suppressed"].as_f64().unwrap() + t["rows_out"].as_f64().unwrap());
        assert!((figures["suppressed_share"].as_f64().unwrap() - share).abs() < 1e-12);
        for (column, level) in t["levels"].as_object().unwrap() {
            assert_eq!(
                &figures["levels"][column]["level"], level,
                "{table}.{column}"
            );
        }
    }
    let figures: serde_json::Value =
        serde_json::from_str(&users.metadata["anonymize.figures"]).unwrap();
    assert_eq!(figures["levels"]["macro_region"]["meaning"], "macro-region");
    assert_eq!(figures["levels"]["birth_cohort"]["meaning"], "20-year");
}

#[test]
fn report_has_the_documented_fields() {
    let p = project_after_run();
    let r = p.report();
    for f in [
        "job",
        "job_sha256",
        "version",
        "run_date",
        "started_at",
        "finished_at",
        "key_id",
    ] {
        assert!(!r[f].is_null(), "report lacks {f}");
    }
    assert_eq!(r["run_date"], RUN_DATE);
    for t in ["users", "activity", "page_views"] {
        let t = &r["tables"][t];
        for f in [
            "input_files",
            "rows_in",
            "rows_expired",
            "rows_suppressed",
            "subjects_suppressed",
            "rows_out",
            "subjects_out",
            "k",
            "quasi_identifiers",
            "equivalence_classes",
            "min_class_subjects",
            "invalid_values",
            "columns",
        ] {
            assert!(!t[f].is_null(), "report table lacks {f}");
        }
    }
    assert_eq!(
        r["tables"]["activity"]["input_files"]
            .as_array()
            .unwrap()
            .len(),
        7
    );
    assert_eq!(
        r["tables"]["users"]["columns"]["birth_cohort"]["method"],
        "birth_year"
    );
    assert_eq!(
        r["tables"]["users"]["columns"]["birth_cohort"]["input"],
        "birth_date"
    );
}

/// Invalid values are counted once each: the sample's bad IP addresses, counted here by hand
/// (with the unlinked fixture job, whose activity writes the network).
#[test]
fn invalid_values_are_counted_exactly() {
    let p = Project::unlinked(USERS, EVENTS, 7);
    p.run(KEY).assert().success();
    let cutoff = retention_cutoff();
    let bad_ips = p
        .input_rows("activity")
        .iter()
        .filter(|r| chrono::DateTime::parse_from_rfc3339(&r["ts"]).unwrap() >= cutoff)
        .filter(|r| {
            !r["ip"].trim().is_empty() && r["ip"].trim().parse::<std::net::IpAddr>().is_err()
        })
        .count() as u64;
    assert!(bad_ips > 0);
    assert_eq!(
        p.report()["tables"]["activity"]["invalid_values"]["network"],
        bad_ips
    );
}

#[test]
fn rerunning_a_date_gives_the_same_files_and_touches_nothing_else() {
    let p = project_after_run();
    // Another date's partition must survive a re-run of this date.
    p.run_on(KEY, "2026-11-19").assert().success();
    let first = p.snapshot();
    p.run(KEY).assert().success();
    let second = p.snapshot();
    assert_eq!(
        first.keys().collect::<Vec<_>>(),
        second.keys().collect::<Vec<_>>()
    );
    for (path, bytes) in &first {
        if path.to_string_lossy().contains("_reports") {
            continue; // the report records the time of the run
        }
        assert!(bytes == &second[path], "{} changed", path.display());
    }
    assert!(
        p.out()
            .join("users/run_date=2026-11-19/part-00000.parquet")
            .exists()
    );
}

#[test]
fn csv_ndjson_and_parquet_inputs_give_the_same_output() {
    let mut outputs = Vec::new();
    for format in ["csv", "ndjson", "parquet"] {
        let p = Project::with_format(800, 4000, 3, format);
        p.edit_job(|j| {
            j.replace("format = \"csv\"", "")
                .replace("users/*.csv", &format!("users/*.{format}"))
                .replace("activity/*.csv", &format!("activity/*.{format}"))
                .replace("k = 10", "k = 2")
                .replace("k = 5\n", "k = 2\n")
                .replace("max_suppression = 0.05", "max_suppression = 0.5")
        });
        p.run(KEY).assert().success();
        let users = read_parquet(&p.output_file("users"));
        let activity = read_parquet(&p.output_file("activity"));
        let views = read_parquet(&p.output_file("page_views"));
        assert!(
            users.rows > 0 && activity.rows > 0 && views.rows > 0,
            "{format}"
        );
        outputs.push((format, users.values, activity.values, views.values));
    }
    for (format, users, activity, views) in &outputs[1..] {
        assert!(
            views == &outputs[0].3,
            "page_views from {format} differ from csv"
        );
        assert!(
            users == &outputs[0].1,
            "users from {format} differ from csv"
        );
        assert!(
            activity == &outputs[0].2,
            "activity from {format} differ from csv"
        );
    }
}

/// Erasure requests: the listed people's rows are gone from every table, before anything else,
/// and counted.
#[test]
fn erasure_lists_remove_every_row_of_the_listed_people() {
    let p = Project::new(USERS, EVENTS, 7);
    let users = p.input_rows("users");
    let erased: Vec<String> = users.iter().take(3).map(|r| r["user_id"].clone()).collect();
    std::fs::write(
        p.path().join("jobs/erasures.csv"),
        format!("user_id\n{}\n", erased.join("\n")),
    )
    .unwrap();
    p.edit_job(|j| {
        j.replace(
            "subject = \"user_id\"",
            "subject = \"user_id\"\nexclude_subjects = \"erasures.csv\"",
        )
    });
    p.run(KEY).assert().success();
    let report = p.report();
    let activity_rows = p
        .input_rows("activity")
        .iter()
        .filter(|r| erased.contains(&r["user_id"]))
        .count() as u64;
    assert!(activity_rows > 0);
    assert_eq!(report["tables"]["users"]["rows_erased"], 3);
    assert_eq!(report["tables"]["activity"]["rows_erased"], activity_rows);
    assert_eq!(report["tables"]["users"]["subjects_listed_for_erasure"], 3);
    let gone: HashSet<String> = erased.iter().map(|id| pseudonym(KEY, id)).collect();
    for table in ["users", "activity"] {
        let t = read_parquet(&p.output_file(table));
        assert!(
            t.column("user_id")
                .iter()
                .flatten()
                .all(|u| !gone.contains(u)),
            "an erased person is in {table}"
        );
    }
}

/// A back-fill (`--from`/`--to`) runs each date on its own, oldest first: a partition and a
/// report per date, each named by its own run date.
#[test]
fn a_back_fill_writes_one_partition_and_report_per_date() {
    let p = Project::small();
    back_fill(&p)
        .args(["--from", "2026-11-18", "--to", "2026-11-20"])
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "_reports/run_date=2026-11-18.json",
        ))
        .stdout(predicates::str::contains(
            "_reports/run_date=2026-11-20.json",
        ));
    for date in ["2026-11-18", "2026-11-19", "2026-11-20"] {
        for table in ["users", "activity"] {
            let part = p
                .out()
                .join(format!("{table}/run_date={date}/part-00000.parquet"));
            assert!(part.exists(), "{}", part.display());
        }
        let report = p.out().join(format!("_reports/run_date={date}.json"));
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(report).unwrap()).unwrap();
        assert_eq!(report["run_date"], date);
    }
}

/// A back-fill stops at the first date that fails, with that date's exit code; the dates
/// before it stay committed, the ones after it are not run, and the message says how to go on.
#[test]
fn a_back_fill_stops_at_the_first_failing_date_and_keeps_the_earlier_ones() {
    let p = Project::small();
    // Users exports by date: the 19th's is missing.
    for date in ["2026-11-18", "2026-11-20"] {
        let dir = p.path().join(format!("exports/{date}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(
            p.path().join("sample_data/users/users.csv"),
            dir.join("users.csv"),
        )
        .unwrap();
    }
    let pattern = format!("users={}/exports/{{run_date}}/*.csv", p.path().display());
    back_fill(&p)
        .args(["--from", "2026-11-18", "--to", "2026-11-20", "--input", &pattern])
        .assert()
        .code(3)
        .stderr(predicates::str::contains(
            "back-fill stopped at 2026-11-19: 2026-11-18 to 2026-11-18 are committed; run again with --from 2026-11-19",
        ));
    assert!(p.out().join("users/run_date=2026-11-18").exists());
    assert!(!p.out().join("users/run_date=2026-11-19").exists());
    assert!(!p.out().join("users/run_date=2026-11-20").exists());
}

#[test]
fn a_back_fill_range_must_be_in_order_and_alone() {
    let p = Project::new(50, 200, 5);
    back_fill(&p)
        .args(["--from", "2026-11-20", "--to", "2026-11-18"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "--from 2026-11-20 is after --to 2026-11-18",
        ));
    // The run command already names a --run-date; a range with it is a usage error.
    p.run(KEY)
        .args(["--from", "2026-11-18", "--to", "2026-11-20"])
        .assert()
        .code(2);
    back_fill(&p)
        .args(["--from", "2026-11-18"])
        .assert()
        .code(2);
}

/// `anonymize run` on the project's job without a run date (for `--from`/`--to`).
fn back_fill(p: &Project) -> assert_cmd::Command {
    let mut c = bin();
    c.current_dir(p.path())
        .env("ANONYMIZE_KEY", KEY)
        .args(["run", "jobs/marketing_research.toml"]);
    c
}

/// Regression: rows were written in the input's order, so `activity` and `page_views`, read
/// from one input, lined up row by row and gave each page view its person's pseudonym. A
/// table's rows are now sorted by what they hold: the input's order does not reach the output.
#[test]
fn the_inputs_row_order_does_not_reach_the_output() {
    let p = Project::new(USERS, EVENTS, 7);
    p.run(KEY).assert().success();
    let before: Vec<Table> = ["users", "activity", "page_views"]
        .iter()
        .map(|t| read_parquet(&p.output_file(t)))
        .collect();
    // The same rows, each file's lines reversed (the header kept first).
    for dir in ["users", "activity"] {
        for f in std::fs::read_dir(p.path().join("sample_data").join(dir)).unwrap() {
            let f = f.unwrap().path();
            let text = std::fs::read_to_string(&f).unwrap();
            let mut lines: Vec<&str> = text.lines().collect();
            lines[1..].reverse();
            std::fs::write(&f, lines.join("\n") + "\n").unwrap();
        }
    }
    p.run(KEY).assert().success();
    for (t, before) in ["users", "activity", "page_views"].iter().zip(&before) {
        let after = read_parquet(&p.output_file(t));
        assert!(after.rows > 0 && after.rows == before.rows, "{t}");
        assert!(
            after.values == before.values,
            "{t}: the rows moved with the input"
        );
    }
    // activity is grouped by person (sorted by a hash of the pseudonym first: each person's
    // rows side by side), page_views by month.
    let ids = before[1].column("user_id");
    let mut seen = std::collections::HashSet::new();
    for (i, id) in ids.iter().enumerate() {
        if i == 0 || ids[i - 1] != *id {
            assert!(seen.insert(id.clone()), "a person's rows are apart");
        }
    }
    assert!(seen.len() > 1);
    let months = before[2].column("month");
    assert!(months.windows(2).all(|w| w[0] <= w[1]));
}

/// `_latest/<table>.parquet` is the newest night of each table, the very file of its partition
/// (a hard link, no copy); a back-fill of an earlier night leaves it alone. `keep_runs` prunes
/// the nights beyond the newest N at each commit, keeps every report, and refuses a night that
/// its own commit would prune.
#[test]
fn latest_is_the_newest_night_and_keep_runs_prunes_the_older_ones() {
    use std::os::unix::fs::MetadataExt;
    use std::path::PathBuf;
    let p = Project::small();
    p.edit_job(|j| j.replacen("\n[", "\nkeep_runs = 2\n\n[", 1));
    let inode = |path: PathBuf| {
        std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .ino()
    };
    let part = |table: &str, date: &str| {
        p.out()
            .join(format!("{table}/run_date={date}/part-00000.parquet"))
    };
    let latest = |table: &str| p.out().join(format!("_latest/{table}.parquet"));
    let report = |date: &str| report_in_date(&p, date);

    p.run_on(KEY, "2026-11-20").assert().success();
    for t in ["users", "activity", "page_views"] {
        assert_eq!(inode(latest(t)), inode(part(t, "2026-11-20")), "{t}");
    }
    p.run_on(KEY, "2026-11-21").assert().success();
    p.run_on(KEY, "2026-11-22").assert().success();
    // Two nights are kept; the oldest is gone, its report stays.
    for t in ["users", "activity"] {
        assert!(
            !p.out().join(format!("{t}/run_date=2026-11-20")).exists(),
            "{t}"
        );
        assert!(part(t, "2026-11-21").exists() && part(t, "2026-11-22").exists());
        assert_eq!(inode(latest(t)), inode(part(t, "2026-11-22")), "{t}");
        // The latest is a whole night, readable alone: the same rows as its partition.
        assert_eq!(
            read_parquet(&latest(t)).values,
            read_parquet(&part(t, "2026-11-22")).values
        );
    }
    assert!(p.out().join("_reports/run_date=2026-11-20.json").exists());
    let third = report("2026-11-22");
    assert_eq!(third["keep_runs"], 2);
    assert_eq!(third["latest"], true);
    assert_eq!(
        third["pruned"],
        serde_json::json!([
            "users/run_date=2026-11-20",
            "activity/run_date=2026-11-20",
            "page_views/run_date=2026-11-20"
        ])
    );

    // Re-running an earlier kept night replaces it; the latest stays the newest night.
    p.run_on(KEY, "2026-11-21").assert().success();
    assert_eq!(report("2026-11-21")["latest"], false);
    for t in ["users", "activity"] {
        assert_eq!(inode(latest(t)), inode(part(t, "2026-11-22")), "{t}");
    }
    // A night older than the two kept would be pruned by its own commit: refused, untouched.
    let before = p.snapshot();
    p.run_on(KEY, "2026-11-19")
        .assert()
        .code(2)
        .stderr(predicates::str::contains("keep_runs"));
    assert_eq!(p.snapshot(), before);

    // `verify` knows `_latest`: fine as written, a finding once it is not the newest night.
    p.verify().assert().success();
    std::fs::remove_file(latest("users")).unwrap();
    std::fs::copy(part("users", "2026-11-21"), latest("users")).unwrap();
    p.verify()
        .assert()
        .code(4)
        .stderr(predicates::str::contains(
            "_latest/users.parquet: not the table's newest night",
        ));

    // keep_runs = 0 would prune tonight: the job file is refused.
    p.edit_job(|j| j.replace("keep_runs = 2", "keep_runs = 0"));
    p.check()
        .assert()
        .code(2)
        .stderr(predicates::str::contains("keep_runs"));
}

fn report_in_date(p: &Project, date: &str) -> serde_json::Value {
    let path = p.out().join(format!("_reports/run_date={date}.json"));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}
