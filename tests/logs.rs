//! `--log-format json` as an operator's tools read it (`journalctl -o cat -u anonymize-nightly |
//! jq`): nothing but JSON on standard output and standard error, a start event first, an end
//! event last with the exit code and the duration (on failure too), and `job` and `run_date` at
//! the top level of every event, the errors included.

mod common;

use common::*;
use serde_json::Value;

/// Every line of standard output and standard error as JSON (a line that is not fails the
/// test), and the events of standard error.
fn json_events(o: &std::process::Output) -> Vec<Value> {
    let stdout = String::from_utf8(o.stdout.clone()).unwrap();
    for line in stdout.lines() {
        serde_json::from_str::<Value>(line)
            .unwrap_or_else(|e| panic!("not JSON on standard output ({e}): {line}"));
    }
    let stderr = String::from_utf8(o.stderr.clone()).unwrap();
    assert!(
        !stderr.contains('\u{1b}'),
        "colour codes in a pipe:\n{stderr}"
    );
    stderr
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line)
                .unwrap_or_else(|e| panic!("not JSON on standard error ({e}): {line}"))
        })
        .collect()
}

/// The first event is the start, the last the end with `code`; every event names `job` and
/// `run_date` at the top level, and none nests span fields.
fn assert_framed(events: &[Value], code: u8, job: &str, run_date: Option<&str>) {
    assert!(events.len() >= 2, "{events:?}");
    let first = &events[0];
    assert_eq!(first["event"], "start", "{first}");
    assert_eq!(first["version"], env!("CARGO_PKG_VERSION"), "{first}");
    let last = events.last().unwrap();
    assert_eq!(last["event"], "end", "{last}");
    assert_eq!(last["exit_code"], u64::from(code), "{last}");
    assert!(
        last["duration_seconds"].as_f64().is_some_and(|s| s >= 0.0),
        "{last}"
    );
    for e in events {
        assert_eq!(e["job"], job, "{e}");
        match run_date {
            Some(d) => assert_eq!(e["run_date"], d, "{e}"),
            None => assert!(e["run_date"].is_string(), "{e}"),
        }
        assert!(e.get("span").is_none() && e.get("spans").is_none(), "{e}");
        assert!(e["level"].is_string() && e["timestamp"].is_string(), "{e}");
    }
    assert_eq!(
        events.iter().filter(|e| e["event"] == "start").count(),
        1,
        "one start event"
    );
    assert_eq!(events.iter().filter(|e| e["event"] == "end").count(), 1);
}

#[test]
fn a_successful_run_logs_flat_json_events_between_start_and_end() {
    let p = Project::small_unlinked();
    let o = p.run(KEY).arg("--log-format").arg("json").output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let events = json_events(&o);
    assert_framed(&events, 0, "marketing_research", Some(RUN_DATE));
    assert_eq!(events[0]["command"], "run");
    // The summary a person reads on standard output is events here, and standard output empty.
    assert!(
        o.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let tables: Vec<&Value> = events.iter().filter(|e| e["event"] == "table").collect();
    assert_eq!(tables.len(), 2, "{tables:?}"); // users and activity
    for t in &tables {
        assert!(t["rows_in"].as_u64().is_some_and(|n| n > 0), "{t}");
        assert!(t["rows_out"].as_u64().is_some(), "{t}");
        assert_eq!(t["k"], 3, "{t}");
    }
    let report = events.iter().find(|e| e["event"] == "report").unwrap();
    let path = report["report"].as_str().unwrap();
    assert!(p.path().join(path).is_file(), "{report}");
    assert_eq!(events.last().unwrap()["status"], "ok");
}

#[test]
fn a_failed_run_logs_its_error_and_ends_with_its_exit_code() {
    // k that 1500 people cannot meet: exit 4, after the run's span has closed.
    let p = Project::small_unlinked();
    p.edit_job(|j| j.replace("k = 3", "k = 5000"));
    let o = p.run(KEY).arg("--log-format").arg("json").output().unwrap();
    assert_eq!(o.status.code(), Some(4));
    let events = json_events(&o);
    assert_framed(&events, 4, "marketing_research", Some(RUN_DATE));
    let error = &events[events.len() - 2];
    assert_eq!(error["level"], "ERROR", "{error}");
    assert_eq!(error["exit_code"], 4, "{error}");
    assert_eq!(events.last().unwrap()["status"], "failed");
    assert!(o.stdout.is_empty());

    // An input that matches no file: exit 3.
    let o = p
        .run(KEY)
        .args(["--log-format", "json", "--input", "users=nowhere/*.csv"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    assert_framed(&json_events(&o), 3, "marketing_research", Some(RUN_DATE));

    // A job file that does not parse: the job is named after its file, the run date is today's.
    std::fs::write(p.path().join("jobs/broken.toml"), "name = \n").unwrap();
    let o = bin()
        .current_dir(p.path())
        .args(["--log-format", "json", "run", "jobs/broken.toml"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_framed(&json_events(&o), 2, "broken", None);
}

#[test]
fn a_back_fill_logs_each_date_with_its_own_run_date() {
    let p = Project::small_unlinked();
    let o = bin()
        .current_dir(p.path())
        .env("ANONYMIZE_KEY", KEY)
        .args([
            "--log-format",
            "json",
            "run",
            "jobs/marketing_research.toml",
        ])
        .args(["--from", "2026-11-18", "--to", "2026-11-19"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let events = json_events(&o);
    assert_framed(&events, 0, "marketing_research", None);
    assert_eq!(events[0]["run_date"], "2026-11-18");
    assert_eq!(events[0]["from"], "2026-11-18");
    assert_eq!(events[0]["to"], "2026-11-19");
    let reports: Vec<&Value> = events.iter().filter(|e| e["event"] == "report").collect();
    assert_eq!(reports.len(), 2);
    for r in reports {
        let date = r["run_date"].as_str().unwrap();
        assert!(
            r["report"]
                .as_str()
                .unwrap()
                .ends_with(&format!("run_date={date}.json")),
            "{r}"
        );
    }
    // Events of the second night, before its report, carry its date.
    let second = events.iter().position(|e| e["event"] == "report").unwrap();
    assert!(
        events[second + 1..]
            .iter()
            .filter(|e| e["message"] == "wrote table")
            .all(|e| e["run_date"] == "2026-11-19")
    );
    assert_eq!(events.last().unwrap()["run_date"], "2026-11-19");
}

/// polars writes its warnings to standard error itself unless told otherwise (an option it
/// cannot read is one: `POLARS_WARN_UNKNOWN_CONFIG=maybe`); a command line that cannot be
/// parsed is a usage error before logging starts. Both are JSON events too.
#[test]
fn polars_warnings_and_usage_errors_are_json_events() {
    let p = Project::small_unlinked();
    let o = p
        .run(KEY)
        .args(["--log-format", "json", "-q"])
        .env("POLARS_WARN_UNKNOWN_CONFIG", "maybe")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let events = json_events(&o);
    // With -q too, the start and end frame the warnings.
    assert_framed(&events, 0, "marketing_research", Some(RUN_DATE));
    let polars = events
        .iter()
        .find(|e| e["source"] == "polars")
        .expect("polars' warning as an event");
    assert_eq!(polars["level"], "WARN");
    assert!(
        polars["message"]
            .as_str()
            .unwrap()
            .contains("POLARS_WARN_UNKNOWN_CONFIG")
    );

    for args in [
        &["--log-format", "json", "run"][..],
        &[
            "--log-format=json",
            "run",
            "job.toml",
            "--run-date",
            "yesterday",
        ][..],
    ] {
        let o = bin().args(args).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let events = json_events(&o);
        assert_eq!(events.first().unwrap()["event"], "start");
        let end = events.last().unwrap();
        assert_eq!(end["event"], "end");
        assert_eq!(end["exit_code"], 2);
        assert!(
            events
                .iter()
                .all(|e| e.get("job").is_some() && e.get("run_date").is_some())
        );
        assert!(
            events
                .iter()
                .any(|e| e["level"] == "ERROR"
                    && e["message"].as_str().unwrap().starts_with("error:"))
        );
    }
    // Text logs are as they were: no start or end line, the usage text as clap writes it.
    let o = bin().arg("run").output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).starts_with("error:"));
}

/// `verify` and `check`, which a scheduler may run beside the night, say what they print for a
/// person as events in JSON mode.
#[test]
fn verify_and_check_print_nothing_but_json_in_json_mode() {
    let p = Project::small_unlinked();
    p.run(KEY).assert().success();
    let o = p.verify().args(["--log-format", "json"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(o.stdout.is_empty());
    let events = json_events(&o);
    assert_eq!(events[0]["event"], "start");
    assert_eq!(events.last().unwrap()["exit_code"], 0);
    assert!(events.iter().all(|e| e["job"] == "marketing_research"));
    assert_eq!(
        events.iter().filter(|e| e["event"] == "verified").count(),
        2,
        "{events:?}"
    );

    let o = p.check().args(["--log-format", "json"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(o.stdout.is_empty());
    let events = json_events(&o);
    let plan = events.iter().find(|e| e["event"] == "plan").unwrap();
    assert!(plan["plan"].as_str().unwrap().contains("table users"));
    assert!(events.iter().all(|e| e["run_date"].is_string()));
}
