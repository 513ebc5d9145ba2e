//! Bad rows: a value a column cannot read stops the run by default, naming file, line and
//! column but never the value; `invalid = "null"` writes null and counts it; `on_bad_row =
//! "skip"` leaves malformed and unreadable rows out, counts them, and stops when there are more
//! than `max_bad_rows` allows.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;
use predicates::prelude::*;

const HEADER: &str = "id,email,ts,ip,amount,born";

/// A good row: person `i`, an e-mail, an event within retention, readable values.
fn good(i: usize) -> String {
    format!(
        "u{i},person{i}@mail.kz,2026-11-01T10:00:00Z,10.0.{i}.1,12.5,1990-01-0{}",
        i % 9 + 1
    )
}

/// A job over `t.csv` (or another input) with a table option block and per-column extras.
fn job(table_options: &str, ip_extra: &str) -> String {
    format!(
        r#"name = "bad_rows"
output = "out"
[tables.t]
input = "t.csv"
subject = "id"
retention = {{ column = "ts", days = 365 }}
{table_options}
[tables.t.columns]
id     = {{ action = "drop" }}
email  = {{ action = "drop" }}
ts     = {{ action = "generalize", method = "truncate", to = "day" }}
ip     = {{ action = "generalize", method = "ip_prefix", v4 = 16, v6 = 32{ip_extra} }}
amount = {{ action = "keep", type = "float" }}
born   = {{ action = "keep", type = "date" }}
"#
    )
}

fn project(job_text: &str, csv: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("job.toml"), job_text).unwrap();
    std::fs::write(dir.path().join("t.csv"), csv).unwrap();
    dir
}

fn csv_with(rows: &[String]) -> Vec<u8> {
    let mut s = format!("{HEADER}\n");
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s.into_bytes()
}

fn ten_good() -> Vec<String> {
    (1..=10).map(good).collect()
}

/// Every file below `dir` but the lock and a failed night's report (see `Project::snapshot`).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| {
                n != ".anonymize.lock" && !n.to_string_lossy().contains(".failed.")
            }) {
                files.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    files
}

fn run_in(dir: &Path) -> assert_cmd::Command {
    let mut c = bin();
    c.current_dir(dir)
        .env("TMPDIR", dir)
        .args(["run", "job.toml", "--run-date", RUN_DATE]);
    c
}

/// Each kind of unreadable value, in a row that also holds an e-mail address: the run stops
/// with exit code 3, names the file, the line and the column, never the value or the e-mail,
/// and yesterday's output stays as it was.
#[test]
fn an_unreadable_value_stops_the_run_naming_file_line_and_column() {
    let secret = "secret.person@mail.kz";
    let cases = [
        (
            "ts",
            "2026-13-45T10:00:00Z",
            "a date its retention cannot read",
        ),
        ("ip", "fe80::1%eth0", "the `ip_prefix` method cannot read"),
        ("amount", "\"12,5\"", "not a valid float"),
        ("born", "31.02.1990", "not a valid date"),
    ];
    for (column, bad_value, why) in cases {
        let mut fields = [
            "u99",
            secret,
            "2026-11-01T10:00:00Z",
            "10.0.0.1",
            "1.0",
            "1990-01-01",
        ];
        let at = HEADER.split(',').position(|h| h == column).unwrap();
        fields[at] = bad_value;
        let row = fields.join(",");
        let dir = project(&job("", ""), &csv_with(&ten_good()));
        run_in(dir.path()).assert().success();
        let before = snapshot(&dir.path().join("out"));

        let mut rows = ten_good();
        rows.insert(3, row);
        std::fs::write(dir.path().join("t.csv"), csv_with(&rows)).unwrap();
        let out = run_in(dir.path()).assert().code(3);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert!(
            stderr.contains(&format!("t.csv: line 5, column `{column}`: ")),
            "{column}: {stderr}"
        );
        assert!(stderr.contains(why), "{column}: {stderr}");
        assert!(stderr.contains("invalid = \"null\""), "{stderr}");
        assert!(!stderr.contains(secret), "{stderr}");
        let v = bad_value.trim_matches('"');
        assert!(
            !stderr.contains(v),
            "{column}: the value {v} is in {stderr}"
        );
        assert!(
            before == snapshot(&dir.path().join("out")),
            "{column}: output changed"
        );
    }
}

/// Expired history is not a reason to stop: an unreadable value in a row that retention
/// removes anyway is not a bad row.
#[test]
fn an_unreadable_value_in_an_expired_row_is_not_a_bad_row() {
    let mut rows = ten_good();
    rows.push("u98,x@mail.kz,2020-01-01T00:00:00Z,not-an-ip,1.0,1990-01-01".into());
    let dir = project(&job("", ""), &csv_with(&rows));
    run_in(dir.path()).assert().success();
    let r = report_in(&dir.path().join("out"));
    assert_eq!(r["tables"]["t"]["rows_expired"], 1);
    assert_eq!(r["tables"]["t"]["rows_skipped"], 0);
}

/// `invalid = "null"`: the value is written as null and counted; the row stays.
#[test]
fn invalid_null_writes_null_and_counts_the_value() {
    let mut rows = ten_good();
    rows.push("u98,x@mail.kz,2026-11-01T10:00:00Z,fe80::1%eth0,1.0,1990-01-01".into());
    let dir = project(&job("", ", invalid = \"null\""), &csv_with(&rows));
    run_in(dir.path()).assert().success();
    let r = report_in(&dir.path().join("out"));
    assert_eq!(r["tables"]["t"]["rows_out"], 11);
    assert_eq!(r["tables"]["t"]["invalid_values"]["ip"], 1);
    let t = read_parquet(
        &dir.path()
            .join(format!("out/t/run_date={RUN_DATE}/part-00000.parquet")),
    );
    assert_eq!(t.column("ip").iter().filter(|v| v.is_none()).count(), 1);
}

/// Every kind of bad row the issue lists, in one export; `skip` leaves each out and counts it
/// by reason, and nothing of those rows reaches the output.
fn every_kind_of_bad_row() -> Vec<u8> {
    let mut s = csv_with(&ten_good());
    let bad: Vec<&[u8]> = vec![
        b"u90,a@mail.kz,2026-11-01T10:00:00Z,10.0.0.1,901.0\n", // a field short
        b"u91,b@mail.kz,2026-11-01T10:00:00Z,10.0.0.1,902.0,1990-01-01,extra\n", // one too many
        b"u92,c\"@mail.kz,2026-11-01T10:00:00Z,10.0.0.1,903.0,1990-01-01\n", // stray quote
        b"u93,d@mail.kz,2026-11-01T10:00:00Z,10.0.0.1,904.0,\xff\xfe\n", // not UTF-8
        b"\n",                                                  // blank line
        b"u94,e@mail.kz,2026-13-45T10:00:00Z,10.0.0.1,905.0,1990-01-01\n", // bad date
        b"u95,f@mail.kz,2026-11-01T10:00:00Z,fe80::1%eth0,906.0,1990-01-01\n", // IPv6 zone
        b"u96,g@mail.kz,2026-11-01T10:00:00Z,10.0.0.1,\"907,5\",1990-01-01\n", // comma decimal
        b"u97,h@mail.kz,2020-01-01T10:00:00Z,fe80::1%eth0,908.0,1990-01-01\n", // expired
    ];
    for b in bad {
        s.extend_from_slice(b);
    }
    s.extend_from_slice(format!("{}\n", good(11)).as_bytes());
    s
}

#[test]
fn skip_leaves_bad_rows_out_and_counts_them_by_reason() {
    let dir = project(
        &job("on_bad_row = \"skip\"\nmax_bad_rows = 0.5", ""),
        &every_kind_of_bad_row(),
    );
    run_in(dir.path())
        .assert()
        .success()
        .stderr(predicate::str::contains("skipping 5 malformed rows"))
        .stderr(predicate::str::contains("@mail.kz").not());
    let r = report_in(&dir.path().join("out"));
    let t = &r["tables"]["t"];
    assert_eq!(t["rows_in"], 20);
    assert_eq!(t["rows_expired"], 1);
    assert_eq!(t["rows_skipped"], 8);
    assert_eq!(
        t["rows_skipped_by"],
        serde_json::json!({"malformed": 5, "ts": 1, "ip": 1, "amount": 1})
    );
    assert_eq!(t["rows_out"], 11);
    let out = read_parquet(
        &dir.path()
            .join(format!("out/t/run_date={RUN_DATE}/part-00000.parquet")),
    );
    let amounts: Vec<&str> = out
        .column("amount")
        .iter()
        .flatten()
        .map(String::as_str)
        .collect();
    assert_eq!(amounts.len(), 11);
    assert!(amounts.iter().all(|a| *a == "12.5"), "{amounts:?}");
    // The repaired copy lived in a private directory that is gone.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("anonymize-skip-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn more_bad_rows_than_max_bad_rows_stops_the_run_and_writes_nothing() {
    let dir = project(
        &job("on_bad_row = \"skip\"\nmax_bad_rows = 0.25", ""),
        &every_kind_of_bad_row(),
    );
    run_in(dir.path())
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "tables.t: 8 of 20 rows are bad (malformed: 5, ts: 1, ip: 1, amount: 1), more than max_bad_rows = 0.25",
        ));
    assert!(
        !dir.path()
            .join(format!("out/t/run_date={RUN_DATE}"))
            .exists()
    );
}

/// A repaired copy left by a killed run (its process gone) is removed by the next run that
/// makes one.
#[test]
fn a_killed_runs_repaired_copies_are_removed() {
    let dir = project(
        &job("on_bad_row = \"skip\"\nmax_bad_rows = 0.5", ""),
        &every_kind_of_bad_row(),
    );
    let orphan = dir.path().join("anonymize-skip-4000000-abcdef");
    std::fs::create_dir(&orphan).unwrap();
    // As a run makes it: private.
    std::fs::set_permissions(&orphan, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    std::fs::write(orphan.join("00000-t.csv"), b"raw data").unwrap();
    run_in(dir.path()).assert().success();
    assert!(!orphan.exists());
}

/// NDJSON: a line that is not a JSON object is skippable; a key without an action is not.
#[test]
fn ndjson_lines_that_are_not_objects_are_skipped_but_unlisted_keys_are_not() {
    let line = |i: usize| {
        format!(
            "{{\"id\":\"u{i}\",\"email\":\"p{i}@mail.kz\",\"ts\":\"2026-11-01T10:00:00Z\",\"ip\":\"10.0.0.1\",\"amount\":1.5,\"born\":\"1990-01-01\"}}\n"
        )
    };
    let mut text = String::new();
    for i in 1..=10 {
        text.push_str(&line(i));
    }
    text.push_str("{\"id\":\"u11\",\"email\":\"broken@mail.kz\"\n");
    text.push_str("[1,2,3]\n");
    let job_text =
        job("on_bad_row = \"skip\"\nmax_bad_rows = 0.5", "").replace("t.csv", "t.ndjson");
    let dir = project(&job_text, b"");
    std::fs::write(dir.path().join("t.ndjson"), &text).unwrap();
    run_in(dir.path()).assert().success();
    let r = report_in(&dir.path().join("out"));
    assert_eq!(
        r["tables"]["t"]["rows_skipped_by"],
        serde_json::json!({"malformed": 2})
    );
    assert_eq!(r["tables"]["t"]["rows_out"], 10);

    text.push_str("{\"id\":\"u12\",\"phone\":\"+77011234567\"}\n");
    std::fs::write(dir.path().join("t.ndjson"), &text).unwrap();
    run_in(dir.path())
        .assert()
        .code(3)
        .stderr(predicate::str::contains("`phone` has no action"))
        .stderr(predicate::str::contains("+77011234567").not());
}

/// The default stops at a malformed row, as before `skip` existed.
#[test]
fn without_skip_a_malformed_row_stops_the_run() {
    let dir = project(&job("", ""), &every_kind_of_bad_row());
    run_in(dir.path())
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "t.csv: line 12: 5 fields where the header has 6",
        ))
        .stderr(predicate::str::contains("@mail.kz").not());
}

/// Job-file mistakes around bad rows are errors at the key that is wrong.
#[test]
fn bad_row_settings_are_checked() {
    let cases = [
        (
            job("on_bad_row = \"skip\"", ""),
            "tables.t.on_bad_row: `skip` needs `max_bad_rows`",
        ),
        (
            job("max_bad_rows = 0.1", ""),
            "tables.t.max_bad_rows: bounds skipped rows",
        ),
        (
            job("on_bad_row = \"skip\"\nmax_bad_rows = 2", ""),
            "is a share of rows, from 0 to 1",
        ),
        (
            job("", "").replace(
                "email  = { action = \"drop\" }",
                "email  = { action = \"keep\", invalid = \"null\" }",
            ),
            "tables.t.columns.email.invalid: does not apply",
        ),
    ];
    for (text, message) in cases {
        let dir = project(&text, &csv_with(&ten_good()));
        run_in(dir.path())
            .assert()
            .code(2)
            .stderr(predicate::str::contains(message));
    }
    // The retention column may say what its unreadable dates do, whatever its action.
    let text = job("", "").replace(
        "ts     = { action = \"generalize\", method = \"truncate\", to = \"day\" }",
        "ts     = { action = \"drop\", invalid = \"null\" }",
    );
    let mut rows = ten_good();
    rows.push("u98,x@mail.kz,garbage,10.0.0.1,1.0,1990-01-01".into());
    let dir = project(&text, &csv_with(&rows));
    run_in(dir.path()).assert().success();
    assert_eq!(
        report_in(&dir.path().join("out"))["tables"]["t"]["rows_undated"],
        1
    );
}

/// A hierarchy that lacks a value: its top level and counted by default (a job written to the
/// contract "unknown values go to the top" must not stop on its first new village), or a bad
/// row with `invalid = "bad_row"` (named by file, line and column). A hierarchy with ragged rows and a job
/// file that is not TOML are job errors (exit code 2) naming the file and line.
#[test]
fn hierarchy_gaps_ragged_hierarchies_and_broken_job_files() {
    let with_hierarchy = |extra: &str| {
        job("", "").replace(
            "ip     = { action = \"generalize\", method = \"ip_prefix\", v4 = 16, v6 = 32 }",
            &format!(
                "ip     = {{ action = \"generalize\", method = \"hierarchy\", file = \"h.csv\", level = 1{extra} }}"
            ),
        )
    };
    let mut hierarchy: String = (1..=10).map(|i| format!("10.0.{i}.1;net;*\n")).collect();
    let mut rows = ten_good();
    rows.push("u98,x@mail.kz,2026-11-01T10:00:00Z,192.168.7.7,1.0,1990-01-01".into());
    let dir = project(&with_hierarchy(", invalid = \"bad_row\""), &csv_with(&rows));
    std::fs::write(dir.path().join("h.csv"), &hierarchy).unwrap();
    // `error` is the strict opt-in's other name; it stops the night the same way.
    for strict in ["bad_row", "error"] {
        let text = with_hierarchy(&format!(", invalid = \"{strict}\""));
        std::fs::write(dir.path().join("job.toml"), text).unwrap();
        run_in(dir.path())
            .assert()
            .code(3)
            .stderr(predicate::str::contains(
                "t.csv: line 12, column `ip`: a value the hierarchy h.csv does not list",
            ))
            .stderr(predicate::str::contains("192.168.7.7").not());
    }
    // ... and cannot be asked of a table that skips bad rows.
    let skipping = with_hierarchy(", invalid = \"error\"").replace(
        "[tables.t.columns]",
        "on_bad_row = \"skip\"\nmax_bad_rows = 0.5\n[tables.t.columns]",
    );
    assert!(skipping.contains("on_bad_row"), "{skipping}");
    std::fs::write(dir.path().join("job.toml"), skipping).unwrap();
    run_in(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("tables.t.columns.ip.invalid"))
        .stderr(predicate::str::contains("skips bad rows"));

    // A sensitive column keeps the strict default: `*` would count as one more value for the
    // models, where it may hide a listed one.
    std::fs::write(
        dir.path().join("job.toml"),
        with_hierarchy(", role = \"sensitive\""),
    )
    .unwrap();
    run_in(dir.path())
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "a value the hierarchy h.csv does not list",
        ));
    for extra in ["", ", invalid = \"top\""] {
        std::fs::write(dir.path().join("job.toml"), with_hierarchy(extra)).unwrap();
        run_in(dir.path()).assert().success();
        let r = report_in(&dir.path().join("out"));
        assert_eq!(r["tables"]["t"]["unmapped_values"]["ip"], 1, "{extra}");
        assert_eq!(r["tables"]["t"]["rows_out"], 11, "{extra}");
    }

    // Named levels: one name a level, or the job is refused.
    std::fs::write(
        dir.path().join("job.toml"),
        with_hierarchy(", level_names = [\"address\", \"network\"]"),
    )
    .unwrap();
    run_in(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "`level_names` names each of the hierarchy's 3 levels",
        ));

    hierarchy.push_str("10.0.99.1;*\n");
    std::fs::write(dir.path().join("h.csv"), &hierarchy).unwrap();
    run_in(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("h.csv"))
        .stderr(predicate::str::contains(
            "line 11: 2 fields where the first row has 3",
        ));

    std::fs::write(
        dir.path().join("job.toml"),
        "name = \"x\"\n[tables.t\ninput = 1\n",
    )
    .unwrap();
    run_in(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("job.toml:2"))
        .stderr(predicate::str::contains("not valid TOML"));
}
