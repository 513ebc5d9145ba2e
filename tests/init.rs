//! `anonymize init`: a first job file from new exports, every column dropped, each with what it
//! looks like, and never a value of the data.

mod common;

use std::path::Path;

use common::*;
use predicates::prelude::*;

/// `anonymize init` on the sample's users and activity, in the project's folder.
fn init(p: &Project, extra: &[&str]) -> std::process::Output {
    bin()
        .current_dir(p.path())
        .args(["init", "--input", "users=sample_data/users/*.csv"])
        .args(["--input", "activity=sample_data/activity/*.csv"])
        .args(extra)
        .output()
        .unwrap()
}

/// The comment lines just above `column = { action = "drop" }` in a table's section.
fn comment_of(job: &str, table: &str, column: &str) -> String {
    let section = job
        .split(&format!("[tables.{table}.columns]\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("no columns of {table}"));
    let lines: Vec<&str> = section.lines().collect();
    let at = lines
        .iter()
        .position(|l| *l == format!("{column} = {{ action = \"drop\" }}"))
        .unwrap_or_else(|| panic!("{table}.{column} is not dropped:\n{section}"));
    let mut start = at;
    while start > 0 && lines[start - 1].starts_with('#') {
        start -= 1;
    }
    lines[start..at].join("\n")
}

#[test]
fn init_writes_a_valid_job_that_drops_every_column_and_says_what_each_looks_like() {
    let p = Project::new(600, 3000, 5);
    let o = init(&p, &["--out", "jobs/exports.toml"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let job = std::fs::read_to_string(p.path().join("jobs/exports.toml")).unwrap();

    // Every input column, dropped; nothing else is an action.
    let parsed: toml::Table = job.parse().unwrap();
    for table in ["users", "activity"] {
        let header = std::fs::read_dir(p.path().join("sample_data").join(table))
            .unwrap()
            .map(|e| e.unwrap().path())
            .next()
            .unwrap();
        let header = std::fs::read_to_string(header).unwrap();
        let names: Vec<&str> = header.lines().next().unwrap().split(',').collect();
        let columns = parsed["tables"][table]["columns"].as_table().unwrap();
        assert_eq!(columns.len(), names.len(), "{table}");
        for n in &names {
            assert_eq!(columns[*n]["action"].as_str(), Some("drop"), "{table}.{n}");
        }
        // Paths are relative to the job file.
        assert_eq!(
            parsed["tables"][table]["input"].as_str(),
            Some(format!("../sample_data/{table}/*.csv").as_str())
        );
        assert_eq!(parsed["tables"][table]["format"].as_str(), Some("csv"));
    }
    assert!(job.contains("# [key]\n# env = \"ANONYMIZE_KEY\""));

    // What the sample's columns look like, and the method they probably need.
    for (table, column, looks, needs) in [
        (
            "users",
            "email",
            "looks like an e-mail address",
            "normalize = \"email\"",
        ),
        (
            "users",
            "phone",
            "looks like a phone number",
            "normalize = \"phone\"",
        ),
        ("users", "full_name", "looks like a person's name", "drop"),
        (
            "users",
            "user_id",
            "looks like an id (unique",
            "pseudonymize",
        ),
        (
            "users",
            "birth_date",
            "looks like a date",
            "method = \"birth_year\"",
        ),
        ("users", "gender", "looks like a set of categories", "keep"),
        (
            "activity",
            "ip",
            "looks like an IP address",
            "method = \"ip_prefix\"",
        ),
        (
            "activity",
            "user_agent",
            "looks like a user agent",
            "method = \"user_agent\"",
        ),
        ("activity", "url", "looks like a URL", "method = \"url\""),
        (
            "activity",
            "ts",
            "looks like a timestamp",
            "method = \"truncate\"",
        ),
        (
            "activity",
            "user_id",
            "looks like an id repeated across rows",
            "pseudonymize",
        ),
        (
            "activity",
            "amount_kzt",
            "looks like a number, decimals",
            "type = \"float\"",
        ),
    ] {
        let c = comment_of(&job, table, column);
        assert!(c.contains(looks), "{table}.{column}: {c}");
        assert!(c.contains(needs), "{table}.{column}: {c}");
    }
    // The shared id is suggested as the subject, commented.
    assert!(job.contains("# subject = \"user_id\""));
    // An e-mail address in a URL's query string is counted, not shown.
    assert!(comment_of(&job, "activity", "url").contains("hold e-mail addresses"));

    // No value of the input is in the file: e-mails, phones, names, ids, addresses, agents.
    let mut values = std::collections::BTreeSet::new();
    for table in ["users", "activity"] {
        for row in p.input_rows(table) {
            for (column, v) in row {
                // Categories and numbers short enough to be words of the comments are left
                // out (`F`, `0`, `page_view` is not in them either, but `drop` could be).
                if v.chars().count() >= 6 && column != "event_type" {
                    values.insert(v);
                }
            }
        }
    }
    assert!(values.len() > 1000);
    for v in &values {
        assert!(
            !job.contains(v.as_str()),
            "a value of the input is in the job file: {v}"
        );
    }
    for event_type in ["page_view", "purchase"] {
        assert!(!job.contains(event_type));
    }

    // `check` accepts it as it is, with no key: nothing is pseudonymized.
    bin()
        .current_dir(p.path())
        .args(["check", "jobs/exports.toml"])
        .assert()
        .success()
        .stdout(predicate::str::contains("key: none"))
        .stdout(predicate::str::contains("email            drop"));

    // And it is never overwritten.
    let o = init(&p, &["--out", "jobs/exports.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("never overwrites"));
    assert_eq!(
        std::fs::read_to_string(p.path().join("jobs/exports.toml")).unwrap(),
        job
    );
}

#[test]
fn init_prints_the_job_with_absolute_paths_and_reads_ndjson_and_parquet() {
    for format in ["ndjson", "parquet"] {
        let p = Project::with_format(300, 1500, 7, format);
        let o = bin()
            .current_dir(p.path())
            .args(["init", "--name", "exports"])
            .args(["--input", &format!("users=sample_data/users/*.{format}")])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let job = String::from_utf8(o.stdout).unwrap();
        let parsed: toml::Table = job.parse().unwrap();
        let input = parsed["tables"]["users"]["input"].as_str().unwrap();
        assert!(Path::new(input).is_absolute(), "{input}");
        assert_eq!(parsed["tables"]["users"]["format"].as_str(), Some(format));
        for (column, looks) in [
            ("email", "e-mail address"),
            ("phone", "phone number"),
            ("birth_date", "a date"),
            ("registered_at", "a timestamp"),
        ] {
            let c = comment_of(&job, "users", column);
            assert!(c.contains(looks), "{format} {column}: {c}");
        }
        // Saved anywhere, it validates: its paths are absolute.
        let elsewhere = tempfile::tempdir().unwrap();
        std::fs::write(elsewhere.path().join("exports.toml"), &job).unwrap();
        bin()
            .current_dir(elsewhere.path())
            .args(["check", "exports.toml", "--sample", "0"])
            .assert()
            .success();
    }
}

#[test]
fn init_refuses_a_header_that_looks_like_data_and_bad_arguments() {
    let dir = tempfile::tempdir().unwrap();
    // A file without its header row: the first row is a person.
    std::fs::write(
        dir.path().join("users.csv"),
        "1000001,Aigerim Nurlanovna,aigerim@mail.kz,+77011234567\n\
         1000002,Serik Bekov,serik@mail.kz,+77021234567\n",
    )
    .unwrap();
    let o = bin()
        .current_dir(dir.path())
        .args(["init", "--input", "users=users.csv"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("header row looks like data"), "{stderr}");
    for v in ["aigerim", "Aigerim", "77011234567", "1000001"] {
        assert!(!stderr.contains(v), "{stderr}");
    }
    assert!(o.stdout.is_empty());

    for args in [
        &["init"][..],
        &["init", "--input", "users"][..],
        &["init", "--input", "../x=users.csv"][..],
        &["init", "--input", "u=users.csv", "--input", "u=users.csv"][..],
        &["init", "--input", "u=users.csv", "--sample", "0"][..],
    ] {
        bin().current_dir(dir.path()).args(args).assert().code(2);
    }
    bin()
        .current_dir(dir.path())
        .args(["init", "--input", "u=nothing/*.csv"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("matches no file"));
}
