//! Each mistake a user or an upstream system makes is a clear error with the right exit code,
//! and an existing output is left byte for byte as it was.

mod common;

use common::*;
use predicates::prelude::*;

/// A project with one good run in its output; returns it with the output's snapshot.
fn project_with_output() -> (
    Project,
    std::collections::BTreeMap<std::path::PathBuf, Vec<u8>>,
) {
    let p = Project::small_unlinked();
    p.run(KEY).assert().success();
    let snap = p.snapshot();
    assert!(snap.len() >= 3);
    (p, snap)
}

fn assert_untouched(p: &Project, before: &std::collections::BTreeMap<std::path::PathBuf, Vec<u8>>) {
    let after = p.snapshot();
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    assert!(before == &after, "the output changed");
    // No staging directory is left behind either.
    let leftovers: Vec<_> = std::fs::read_dir(p.out())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.') && n != ".anonymize.lock")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn no_key_refuses_to_start() {
    let (p, snap) = project_with_output();
    let mut c = bin();
    c.current_dir(p.path())
        .args([
            "run",
            "jobs/marketing_research.toml",
            "--run-date",
            RUN_DATE,
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("ANONYMIZE_KEY is not set"));
    assert_untouched(&p, &snap);
}

#[test]
fn short_key_refuses_to_start_without_printing_it() {
    let (p, snap) = project_with_output();
    p.run("short-secret-key")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("at least 32"))
        .stderr(predicate::str::contains("short-secret-key").not());
    assert_untouched(&p, &snap);
}

#[test]
fn unlisted_input_column_names_file_and_column() {
    let (p, snap) = project_with_output();
    p.edit_job(|j| j.replace("cookie_id  = { action = \"drop\" }\n", ""));
    p.run(KEY)
        .assert()
        .code(3)
        .stderr(predicate::str::contains("activity-2020.csv"))
        .stderr(predicate::str::contains("`cookie_id` has no action"));
    assert_untouched(&p, &snap);

    // With `unlisted = "drop"` the column is dropped instead.
    p.edit_job(|j| j.replace("retention = {", "unlisted = \"drop\"\nretention = {"));
    p.run(KEY).assert().success();
    let t = read_parquet(&p.output_file("activity"));
    assert!(!t.values.contains_key("cookie_id"));
}

/// `check` (and the run) name every unlisted and every missing column at once, of every file
/// of every table, so that the job is mended in one go: files with the same problem in one
/// line.
#[test]
fn every_unlisted_and_missing_column_is_named_at_once() {
    let (p, snap) = project_with_output();
    p.edit_job(|j| {
        let edited = j
            .replacen("gender        = {", "gender_at_birth = {", 1)
            .replace("cookie_id  = { action = \"drop\" }\n", "")
            .replace("carrier    = { action = \"keep\", role = \"quasi\" }\n", "")
            .replace(
                "event_type = {",
                "loyalty_tier = { action = \"keep\" }\nsegment = { action = \"keep\" }\nevent_type = {",
            );
        assert_ne!(edited, j);
        edited
    });
    let out = p.check().assert().code(3).get_output().stderr.clone();
    let err = String::from_utf8_lossy(&out);
    for name in [
        "`cookie_id`",
        "`carrier`",
        "`loyalty_tier`",
        "`segment`",
        "`gender`",
        "`gender_at_birth`",
        "users.csv",
    ] {
        assert!(err.contains(name), "{name} not named: {err}");
    }
    assert!(
        err.contains("have no action") && err.contains("are not in the input"),
        "{err}"
    );
    // The seven activity files share one problem: one line names them.
    let activity: Vec<&str> = err.lines().filter(|l| l.contains("`cookie_id`")).collect();
    assert_eq!(activity.len(), 1, "{err}");
    assert!(
        activity[0].contains("activity-2020.csv") && activity[0].contains("4 more files"),
        "{err}"
    );
    p.run(KEY).assert().code(3);
    assert_untouched(&p, &snap);
}

#[test]
fn missing_input_column_names_file_and_column() {
    let (p, snap) = project_with_output();
    p.edit_job(|j| {
        j.replace(
            "carrier    = {",
            "loyalty_tier = { action = \"keep\" }\ncarrier    = {",
        )
    });
    p.run(KEY)
        .assert()
        .code(3)
        .stderr(predicate::str::contains("`loyalty_tier`"))
        .stderr(predicate::str::contains("not in the input"))
        .stderr(predicate::str::contains("activity-20"));
    assert_untouched(&p, &snap);
}

#[test]
fn malformed_csv_row_names_file_and_line_not_its_content() {
    let (p, snap) = project_with_output();
    let f = p.path().join("sample_data/users/users.csv");
    let mut text = std::fs::read_to_string(&f).unwrap();
    // Line 3 gets an extra field holding an e-mail address.
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[2].push_str(",leaked.person@mail.kz");
    text = lines.join("\n") + "\n";
    std::fs::write(&f, text).unwrap();
    p.run(KEY)
        .assert()
        .code(3)
        .stderr(predicate::str::contains("users.csv"))
        .stderr(predicate::str::contains("line 3"))
        .stderr(predicate::str::contains("leaked.person").not());
    assert_untouched(&p, &snap);
}

#[test]
fn unknown_job_key_names_the_key_path_and_line() {
    let (p, snap) = project_with_output();
    p.edit_job(|j| j.replace("max_suppression = 0.3", "max_supression = 0.3"));
    let text = std::fs::read_to_string(p.job()).unwrap();
    let line = text
        .lines()
        .position(|l| l.contains("max_supression"))
        .unwrap()
        + 1;
    p.run(KEY)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "marketing_research.toml:{line}"
        )))
        .stderr(predicate::str::contains("tables.users.privacy"))
        .stderr(predicate::str::contains("max_supression"));
    assert_untouched(&p, &snap);
}

#[test]
fn a_method_parameter_on_the_wrong_method_is_an_error() {
    let (p, snap) = project_with_output();
    p.edit_job(|j| j.replace("method = \"age\", band = 10", "method = \"age\", v4 = 10"));
    p.run(KEY)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("tables.users.columns.birth_date"))
        .stderr(predicate::str::contains(
            "`v4` does not apply to method `age`",
        ));
    assert_untouched(&p, &snap);
}

#[test]
fn k_that_cannot_be_met_exits_4_names_the_drivers_and_writes_nothing() {
    let (p, snap) = project_with_output();
    p.edit_job(|j| {
        j.replace("k = 3", "k = 50")
            .replace("max_suppression = 0.3", "max_suppression = 0.01")
            .replace("level = 2", "level = 0")
    });
    p.run(KEY)
        .assert()
        .code(4)
        .stderr(predicate::str::contains("tables.users: k = 50"))
        .stderr(predicate::str::contains("without `macro_region`"))
        .stderr(predicate::str::contains("Nothing was written"));
    assert_untouched(&p, &snap);
    // Only the failed night's report was added, and it says why, naming no value.
    let failed: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            p.out()
                .join(format!("_reports/run_date={RUN_DATE}.failed.json")),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(failed["status"], "failed");
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("tables.users: k = 50")
    );

    // A fresh output directory is not even created.
    let fresh = p.path().join("fresh");
    p.run(KEY).arg("--output").arg(&fresh).assert().code(4);
    assert!(!fresh.exists());
}

#[test]
fn a_glob_that_matches_nothing_is_an_input_error() {
    let (p, snap) = project_with_output();
    p.run(KEY)
        .args(["--input", "users=nowhere/*.csv"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("matches no file"));
    assert_untouched(&p, &snap);
}

#[test]
fn json_logs_are_one_object_a_line_without_the_key() {
    let p = Project::small_unlinked();
    let out = p
        .run(KEY)
        .arg("--log-format")
        .arg("json")
        .assert()
        .success();
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(!stderr.contains(KEY) && !stdout.contains(KEY));
    let mut n = 0;
    for line in stderr.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("a JSON log line");
        assert!(v["level"].is_string());
        n += 1;
    }
    assert!(n >= 3);
    assert!(stderr.contains("\"table\":\"activity\""));
}

/// Input that CSV parsers read differently (here, a dropped e-mail address would shift into a
/// kept column) is rejected before the engine sees it.
#[test]
fn malformed_quoting_is_rejected_not_misread() {
    let (p, snap) = project_with_output();
    let f = p.path().join("sample_data/users/users.csv");
    let text = std::fs::read_to_string(&f).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(lines[2].as_bytes());
    let rec = r.records().next().unwrap().unwrap();
    let mut fields: Vec<String> = rec.iter().map(|v| v.to_string()).collect();
    fields[1] = "\"Ivan\"x\"".into();
    fields[2] = "\"z,ivan.leak@mail.kz\"\"".into();
    lines[2] = fields.join(",");
    std::fs::write(&f, lines.join("\n") + "\n").unwrap();
    p.run(KEY)
        .assert()
        .code(3)
        .stderr(predicate::str::contains("users.csv: line 3"))
        .stderr(predicate::str::contains("leak").not());
    assert_untouched(&p, &snap);

    // A blank line in the middle is an error too, not a row of nulls.
    lines[2] = String::new();
    std::fs::write(&f, lines.join("\n") + "\n").unwrap();
    p.run(KEY)
        .assert()
        .code(3)
        .stderr(predicate::str::contains("line 3: a blank line"));
    assert_untouched(&p, &snap);
}

/// A file without its header row has data where the names should be: the error must not
/// print them.
#[test]
fn a_missing_header_row_is_reported_without_printing_the_data() {
    let (p, snap) = project_with_output();
    let f = p.path().join("sample_data/users/users.csv");
    let text = std::fs::read_to_string(&f).unwrap();
    let first_row = text.lines().nth(1).unwrap().to_string();
    let without_header: String = text.lines().skip(1).map(|l| format!("{l}\n")).collect();
    std::fs::write(&f, without_header).unwrap();
    let out = p.run(KEY).assert().code(3).get_output().stderr.clone();
    let stderr = String::from_utf8(out).unwrap();
    assert!(stderr.contains("names withheld"), "{stderr}");
    for value in first_row.split(',') {
        if value.len() > 3 {
            assert!(!stderr.contains(value), "{value} printed: {stderr}");
        }
    }
    assert_untouched(&p, &snap);
}

/// A second run on an output that another run is writing refuses, rather than interleave.
#[test]
fn a_second_run_on_a_locked_output_refuses() {
    let (p, snap) = project_with_output();
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .open(p.out().join(".anonymize.lock"))
        .unwrap();
    lock.lock().unwrap(); // as a running `anonymize run` holds it
    // 75 (EX_TEMPFAIL): a scheduler retries it.
    p.run(KEY)
        .assert()
        .code(75)
        .stderr(predicate::str::contains(
            "another run is writing this output",
        ));
    assert_untouched(&p, &snap);
    drop(lock);
    p.run(KEY).assert().success();
}

/// What a killed run left (its staging directory) is removed by the next run.
#[test]
fn the_next_run_removes_what_a_killed_run_left() {
    let (p, _) = project_with_output();
    let name = ".anonymize-staging-2026-11-20-999999-0123456789abcdef";
    let leftover = p.out().join(name).join("users/run_date=2026-11-20");
    std::fs::create_dir_all(&leftover).unwrap();
    std::fs::write(leftover.join("part-00000.parquet"), b"half a file").unwrap();
    // The marker a run writes in its staging directory: its own name.
    std::fs::write(p.out().join(name).join(".made-by-anonymize"), name).unwrap();
    p.run(KEY).assert().success();
    assert!(!p.out().join(name).exists());
}

/// `kill -9` at several moments of a run: the previous output of every date stays exactly as
/// it was, and the next run cleans up and succeeds.
#[test]
fn killing_a_run_at_any_moment_leaves_the_previous_output() {
    let p = Project::unlinked(5000, 50000, 7);
    // The night before first: a re-run of a date is checked against the same earlier nights as
    // its first run (see README, "Across nights"), so it writes the same files.
    p.run_on(KEY, "2026-11-19").assert().success();
    p.run(KEY).assert().success();
    let visible = |p: &Project| {
        p.snapshot()
            .into_iter()
            .filter(|(path, _)| {
                // Hidden entries are the lock and staging; a run that completed before the kill
                // rewrote the report (its times) and identical data files.
                let name = path
                    .strip_prefix(p.out())
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                !name.starts_with('.') && !name.starts_with("_reports")
            })
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    let before = visible(&p);
    let bin_path = assert_cmd::cargo::cargo_bin("anonymize");
    for delay_ms in [50u64, 200, 400, 700, 1000, 1300, 1600, 2000] {
        let mut child = std::process::Command::new(&bin_path)
            .current_dir(p.path())
            .env("ANONYMIZE_KEY", KEY)
            .args([
                "-q",
                "run",
                "jobs/marketing_research.toml",
                "--run-date",
                RUN_DATE,
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let after = visible(&p);
        assert!(
            before == after,
            "the output changed after a kill at {delay_ms} ms"
        );
        let report = p.report(); // whole and readable, old or new
        assert_eq!(report["run_date"], RUN_DATE);
    }
    p.run(KEY).assert().success();
    let leftovers: Vec<_> = std::fs::read_dir(p.out())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".anonymize-staging"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert!(before == visible(&p));
}

/// The leak scan: a kept column holding identifiers fails the run (exit 4), naming the table,
/// column and pattern, never the value, and nothing is written.
#[test]
fn the_leak_scan_stops_identifiers_in_kept_columns() {
    let (p, snap) = project_with_output();
    for (column, pattern) in [("phone", "phone number"), ("email", "e-mail address")] {
        let text = std::fs::read_to_string(p.job()).unwrap();
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{column} ")))
            .unwrap()
            .to_string();
        p.edit_job(|j| j.replace(&line, &format!("{column} = {{ action = \"keep\" }}")));
        let out = p.run(KEY).assert().code(4).get_output().stderr.clone();
        let stderr = String::from_utf8(out).unwrap();
        assert!(
            stderr.contains("tables.users") && stderr.contains(&format!("`{column}`: {pattern}")),
            "{stderr}"
        );
        assert!(
            !stderr.contains("@mail") && !stderr.contains("+7"),
            "{stderr}"
        );
        assert_untouched(&p, &snap);
        p.edit_job(|j| j.replace(&format!("{column} = {{ action = \"keep\" }}"), &line));
    }
}

/// A kept column that repeats a value of a dropped column (here a name) is a leak too, found
/// by remembering the dropped values during the first pass.
#[test]
fn the_leak_scan_finds_dropped_values_in_kept_columns() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("d.csv"),
        "id,name,nickname\n1,Нурлан Сериков,nur\n2,Айгерим Жумабаева,Айгерим Жумабаева\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("job.toml"),
        "name = \"leak\"\noutput = \"out\"\n[key]\nenv = \"ANONYMIZE_KEY\"\n[tables.t]\n\
         input = \"d.csv\"\nsubject = \"id\"\n[tables.t.columns]\nid = { action = \"pseudonymize\" }\n\
         name = { action = \"drop\" }\nnickname = { action = \"keep\" }\n",
    )
    .unwrap();
    let out = run_job(dir.path()).code(4).get_output().stderr.clone();
    let stderr = String::from_utf8(out).unwrap();
    assert!(
        stderr.contains("`nickname`: a value of a dropped or pseudonymized input column"),
        "{stderr}"
    );
    assert!(!stderr.contains("Айгерим"), "{stderr}");
    assert!(!dir.path().join("out/t").exists());
}

/// Regression: `explore` read rows without checking them first, so malformed CSV was
/// silently misread there. It now stops like `run`.
#[test]
fn explore_checks_rows_like_run() {
    let p = Project::unlinked(300, 1000, 11);
    let f = p.path().join("sample_data/users/users.csv");
    let mut lines: Vec<String> = std::fs::read_to_string(&f)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    lines[2] = format!("\"unclosed,{}", lines[2]); // line 3 opens a quote it never closes
    std::fs::write(&f, lines.join("\n") + "\n").unwrap();
    bin()
        .current_dir(p.path())
        .env("ANONYMIZE_KEY", KEY)
        .args([
            "explore",
            "jobs/marketing_research.toml",
            "--k",
            "2",
            "--suppression",
            "0.5",
        ])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("users.csv: line"));
}

/// A file size limit (`ulimit -f`, with SIGXFSZ ignored so that writes fail with EFBIG as they
/// fail with ENOSPC on a full disk): the run stops with a clear I/O error, exit code 1, and the
/// previous output stays as it was, without leftovers.
#[test]
fn a_write_that_fails_half_way_leaves_the_previous_output() {
    let (p, snap) = project_with_output();
    let bin_path = assert_cmd::cargo::cargo_bin("anonymize");
    let out = std::process::Command::new("sh")
        .current_dir(p.path())
        .env("ANONYMIZE_KEY", KEY)
        .env_remove("RUST_LOG")
        .args([
            "-c",
            "trap '' XFSZ; ulimit -f 16; exec \"$0\" \"$@\"",
            bin_path.to_str().unwrap(),
            "run",
            "jobs/marketing_research.toml",
            "--run-date",
            RUN_DATE,
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("I/O error: File too large"), "{stderr}");
    assert_untouched(&p, &snap);
}

/// A real full disk: the output on a 192 KiB tmpfs (mounted in a user and mount namespace made
/// with `unshare`; skipped where the machine does not allow one). A first run of a small export
/// fits; the next night's bigger export does not: ENOSPC is a clear error, and the small run's
/// output is still there, byte for byte.
#[test]
fn a_full_disk_leaves_the_previous_output() {
    let probe = std::process::Command::new("unshare")
        .args(["-rm", "true"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: no user and mount namespaces here (unshare -rm)");
        return;
    }
    let p = Project::unlinked(3000, 30000, 5);
    p.edit_job(|j| {
        j.replace("k = 10", "k = 2")
            .replace("max_suppression = 0.05", "max_suppression = 0.5")
    });
    bin()
        .current_dir(p.path())
        .args(["sample", "--users", "200", "--events", "500", "--seed", "6"])
        .args(["--until", UNTIL, "--out", "small"])
        .assert()
        .success();
    let mnt = p.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let script = r#"
        set -e
        mount -t tmpfs -o size=192k tmpfs mnt
        "$BIN" -q run jobs/marketing_research.toml --run-date "$DATE" --output mnt/out \
            --input 'users=small/users/*.csv' --input 'activity=small/activity/*.csv'
        list() { (cd mnt/out && find . -type f ! -name .anonymize.lock | sort | xargs sha256sum); }
        list > before.txt
        set +e
        "$BIN" -q run jobs/marketing_research.toml --run-date "$DATE" --output mnt/out 2> stderr.txt
        echo $? > code.txt
        list > after.txt
        ls -A mnt/out > listing.txt
    "#;
    let out = std::process::Command::new("unshare")
        .current_dir(p.path())
        .env("ANONYMIZE_KEY", KEY)
        .env("BIN", assert_cmd::cargo::cargo_bin("anonymize"))
        .env("DATE", RUN_DATE)
        .args(["-rm", "sh", "-c", script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |f: &str| std::fs::read_to_string(p.path().join(f)).unwrap();
    let stderr = read("stderr.txt");
    assert_eq!(read("code.txt").trim(), "1", "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert!(read("before.txt").lines().count() >= 3);
    assert_eq!(read("before.txt"), read("after.txt"));
    let listing = read("listing.txt");
    assert!(
        listing
            .lines()
            .all(|n| !n.starts_with(".anonymize-staging")),
        "{listing}"
    );
}

/// The first pass stages each table's transformed rows in a private scratch directory under
/// `$TMPDIR`. It is gone when a run succeeds and when it fails; one left by a killed run (its
/// process gone) is removed by the next run.
#[test]
fn staged_tables_leave_no_trace_in_tmpdir() {
    let p = Project::small_unlinked();
    let tmp = tempfile::tempdir().unwrap();
    let orphan = tmp.path().join("anonymize-work-4000000-abcdef");
    std::fs::create_dir(&orphan).unwrap();
    // As a run makes it: private.
    std::fs::set_permissions(&orphan, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    std::fs::write(orphan.join("table-0.parquet"), b"staged rows").unwrap();
    let work_dirs = || -> Vec<String> {
        std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("anonymize-work-"))
            .collect()
    };
    p.run(KEY).env("TMPDIR", tmp.path()).assert().success();
    assert!(work_dirs().is_empty(), "{:?}", work_dirs());

    // A run that stops after staging (k cannot be met) cleans up too.
    p.edit_job(|j| j.replace("k = 3", "k = 5000"));
    p.run(KEY).env("TMPDIR", tmp.path()).assert().code(4);
    assert!(work_dirs().is_empty(), "{:?}", work_dirs());
}
