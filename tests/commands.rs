//! The small subcommands as a user runs them: `check`, `keygen`, `sample`, `--help`.

mod common;

use common::*;
use predicates::prelude::*;

#[test]
fn keygen_prints_a_fresh_64_hex_key() {
    let a = bin()
        .arg("keygen")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let b = bin()
        .arg("keygen")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let a = String::from_utf8(a).unwrap();
    assert_eq!(a.trim().len(), 64);
    assert!(a.trim().bytes().all(|c| c.is_ascii_hexdigit()));
    assert_ne!(a, String::from_utf8(b).unwrap());
}

#[test]
fn check_prints_the_plan_and_writes_nothing() {
    let p = Project::unlinked(300, 1000, 5);
    let mut c = bin();
    c.current_dir(p.path())
        .env("ANONYMIZE_KEY", KEY)
        .args(["check", "jobs/marketing_research.toml"])
        .assert()
        .success()
        .stdout(predicate::str::contains("table users: 1 csv file from"))
        .stdout(predicate::str::contains("table activity: 7 csv files from"))
        .stdout(predicate::str::contains("activity-2026.csv\n"))
        .stdout(predicate::str::contains(
            "birth_date       generalize    age         quasi       age_band           band 10, top 70+",
        ))
        .stdout(predicate::str::contains("full_name        drop"))
        .stdout(predicate::str::contains("bad rows: the run stops at the first"))
        .stdout(predicate::str::contains("IPv4 /16, IPv6 /32; unreadable → null"))
        .stdout(predicate::str::contains(
            "k = 10 distinct user_id per class",
        ))
        .stdout(predicate::str::contains(KEY).not());
    assert!(!p.path().join("out").exists());
}

/// `check` samples each table's first rows and warns about a quasi-identifier whose values
/// alone make classes under k (full IP addresses here), naming counts, never values.
#[test]
fn check_warns_about_a_quasi_identifier_with_too_many_distinct_values() {
    let p = Project::unlinked(1500, 6000, 11);
    let check = |p: &Project| {
        let mut c = bin();
        c.current_dir(p.path())
            .env("ANONYMIZE_KEY", KEY)
            .args(["check", "jobs/marketing_research.toml"]);
        c
    };
    check(&p)
        .assert()
        .success()
        .stdout(predicate::str::contains("warning").not());
    p.edit_job(|j| j.replace("v4 = 16, v6 = 32", "v4 = 32, v6 = 128"));
    let out = check(&p)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "  warning: quasi-identifier `network` has ",
        ))
        .stdout(predicate::str::contains(
            "with k = 10, its values alone make classes",
        ))
        .get_output()
        .stdout
        .clone();
    // Counts only: no address is printed.
    let text = String::from_utf8(out).unwrap();
    let warning = text.lines().find(|l| l.contains("warning")).unwrap();
    let address = regex::Regex::new(r"\d+\.\d+\.\d+\.\d+").unwrap();
    assert!(!address.is_match(warning), "{warning}");
    // --sample 0 reads no rows, and so warns about nothing.
    check(&p)
        .args(["--sample", "0"])
        .assert()
        .success()
        .stdout(predicate::str::contains("warning").not());
}

#[test]
fn check_warns_about_a_sensitive_column_without_a_model_and_k_1() {
    let p = Project::small_unlinked();
    p.edit_job(|j| {
        let edited = j
            .replace(
                "event_type = { action = \"keep\" }",
                "event_type = { action = \"keep\", role = \"sensitive\" }",
            )
            .replacen("k = 3", "k = 1", 1);
        assert_ne!(edited, j);
        edited
    });
    let out = p.check().arg("--sample").arg("0").assert().success();
    let said = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        said.contains("warning: `event_type` has role = \"sensitive\" but no model protects it"),
        "{said}"
    );
    assert!(said.contains("warning: k = 1 in tables.users"), "{said}");
    // With a model and k above 1, neither.
    p.edit_job(|j| {
        j.replacen("k = 1", "k = 3", 1).replace(
            "[tables.activity.privacy]",
            "[tables.activity.privacy]\nl_diversity = { l = 2 }",
        )
    });
    let out = p.check().arg("--sample").arg("0").assert().success();
    let said = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        !said.contains("no model protects") && !said.contains("k = 1"),
        "{said}"
    );
}

#[test]
fn check_without_a_key_fails_like_run() {
    let p = Project::unlinked(100, 300, 5);
    let out = bin()
        .current_dir(p.path())
        .args(["check", "jobs/marketing_research.toml"])
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    // Standard error is not a terminal here (journald, a file, a pipe): no colour codes.
    let err = String::from_utf8_lossy(&out);
    assert!(err.contains("ERROR") && !err.contains('\u{1b}'), "{err:?}");
}

#[test]
fn sample_is_deterministic_for_a_seed() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    for d in [&a, &b] {
        bin()
            .args([
                "sample", "--users", "200", "--events", "1000", "--seed", "9", "--until", UNTIL,
            ])
            .arg("--out")
            .arg(d.path())
            .assert()
            .success();
    }
    let read = |d: &tempfile::TempDir, f: &str| std::fs::read(d.path().join(f)).unwrap();
    assert_eq!(read(&a, "users/users.csv"), read(&b, "users/users.csv"));
    assert_eq!(
        read(&a, "activity/activity-2025.csv"),
        read(&b, "activity/activity-2025.csv")
    );
}

#[test]
fn bad_arguments_are_usage_errors() {
    bin()
        .args(["sample", "--users", "0", "--events", "10", "--out"])
        .arg(tempfile::tempdir().unwrap().path())
        .assert()
        .code(2);
    bin().args(["run"]).assert().code(2);
    bin()
        .args(["run", "x.toml", "--run-date", "26.11.2026"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("YYYY-MM-DD"));
    bin()
        .args(["run", "does-not-exist.toml"])
        .env("ANONYMIZE_KEY", KEY)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read job file"));
    bin()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Exit codes"));
}

#[test]
fn a_key_file_others_can_read_gives_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let p = Project::unlinked(200, 800, 5);
    let key = p.path().join("jobs/key.txt");
    std::fs::write(&key, KEY).unwrap();
    p.edit_job(|j| j.replace("env = \"ANONYMIZE_KEY\"", "file = \"key.txt\""));
    let check = || {
        let out = bin()
            .current_dir(p.path())
            .args(["check", "jobs/marketing_research.toml"])
            .assert()
            .success()
            .get_output()
            .stderr
            .clone();
        String::from_utf8(out).unwrap()
    };
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let stderr = check();
    assert!(stderr.contains("readable by group or others"), "{stderr}");
    assert!(!stderr.contains(KEY));
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(!check().contains("readable by group or others"));
}

/// `anonymize schema` prints the job file's JSON Schema; the copy beside the shipped job (which
/// editors pick up through its `#:schema` line) is that output, kept current.
#[test]
fn schema_prints_the_job_files_json_schema_and_the_shipped_copy_is_current() {
    let out = bin().arg("schema").assert().success().get_output().clone();
    let text = String::from_utf8(out.stdout).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    // Unknown keys are errors in the schema as in the tool.
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(schema["$defs"]["ColumnSpec"]["additionalProperties"], false);
    // Field docs become the descriptions editors show.
    let k = &schema["$defs"]["PrivacySpec"]["properties"]["k"]["description"];
    assert!(k.as_str().unwrap().contains("at least"), "{k}");
    let shipped = std::fs::read_to_string(repo().join("jobs/job.schema.json")).unwrap();
    assert_eq!(
        shipped.trim_end(),
        text.trim_end(),
        "jobs/job.schema.json is stale: run `anonymize schema > jobs/job.schema.json`"
    );
    let job = std::fs::read_to_string(repo().join("jobs/marketing_research.toml")).unwrap();
    assert!(job.starts_with("#:schema ./job.schema.json\n"));
}

/// On a terminal, the run shows which table and step it is in (a spinner, cleared when the
/// step ends); a scheduler's pipe or JSON logs get none of it.
#[test]
fn a_terminal_sees_the_steps_and_a_pipe_does_not() {
    if missing("script") {
        return;
    }
    let p = Project::small_unlinked();
    let binary = assert_cmd::cargo::cargo_bin("anonymize");
    // `script` runs the command on a pseudo-terminal and copies what it shows to stdout.
    let on_terminal = |extra: &str| {
        let command = format!(
            "{} {extra} run jobs/marketing_research.toml --run-date {RUN_DATE}",
            binary.display()
        );
        let out = std::process::Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .current_dir(p.path())
            .env("ANONYMIZE_KEY", KEY)
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let shown = on_terminal("");
    for step in [
        "users: checking every row",
        "activity: reading and transforming",
        "activity: counting classes",
        "activity: writing",
        "activity: reading the output back",
    ] {
        assert!(shown.contains(step), "{step} not shown:\n{shown}");
    }
    assert!(!on_terminal("--log-format json").contains("reading and transforming"));
    assert!(!on_terminal("-q").contains("reading and transforming"));
    p.run(KEY)
        .assert()
        .success()
        .stderr(predicate::str::contains("reading and transforming").not());
}
