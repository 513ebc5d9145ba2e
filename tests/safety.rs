//! What a hostile or careless user tried (the "Safety, round two" review): each case is a
//! regression test that failed before its fix. Grouped as in the review: the output folder,
//! people's spellings, scratch space, identifiers that got through, messages, `verify`, and the
//! smaller ones.

mod common;

use std::path::Path;

use common::*;
use predicates::prelude::*;

/// Runs `sh -c script` in the project with the binary as `$A` and the key set.
fn sh(p: &Project, script: &str) -> std::process::Output {
    std::process::Command::new("sh")
        .current_dir(p.path())
        .env("A", assert_cmd::cargo::cargo_bin("anonymize"))
        .env("ANONYMIZE_KEY", KEY)
        .env_remove("RUST_LOG")
        .args(["-c", script])
        .output()
        .unwrap()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

// ---------------------------------------------------------------------------------------------
// 1. The output folder is trusted too much

/// A project whose output holds one good run.
fn with_output() -> Project {
    let p = Project::small_unlinked();
    p.run(KEY).assert().success();
    p
}

/// A journal as a killed commit leaves it, naming `target` (to be "restored" by removing it).
fn journal_naming(dir: &str, target: &str) -> String {
    serde_json::json!([{
        "staged": format!("{dir}/users/run_date=2026-11-20"),
        "target": target,
        "aside": format!("{dir}/.previous/users"),
        "had_previous": false,
    }])
    .to_string()
}

/// A planted commit journal must never make a run remove anything outside the output, whatever
/// paths it names (relative with `..`, absolute), in a folder of any staging-like name, marked
/// as a run's or not.
#[test]
fn a_planted_commit_journal_removes_nothing_outside_the_output() {
    let p = with_output();
    let victim = p.path().join("victim");
    std::fs::create_dir_all(victim.join("inner")).unwrap();
    std::fs::write(victim.join("inner/data.txt"), "keep me").unwrap();
    let targets = [
        "../../victim".to_string(),
        victim.display().to_string(),
        "users/../../../victim".to_string(),
    ];
    for target in &targets {
        for dir in [".staging-x", ".anonymize-staging-2026-11-20-1-00"] {
            let planted = p.out().join(dir);
            std::fs::create_dir_all(&planted).unwrap();
            std::fs::write(planted.join("COMMIT.json"), journal_naming(dir, target)).unwrap();
            if dir.starts_with(".anonymize") {
                // Even with a forged marker, a journal naming such paths is refused (exit 1).
                std::fs::write(planted.join(".made-by-anonymize"), dir).unwrap();
                p.run(KEY)
                    .assert()
                    .code(1)
                    .stderr(predicate::str::contains("names a path that no run writes"));
            } else {
                p.run(KEY).assert().success();
            }
            assert_eq!(
                std::fs::read_to_string(victim.join("inner/data.txt")).unwrap(),
                "keep me",
                "{target} in {dir}"
            );
            std::fs::remove_dir_all(&planted).unwrap();
        }
    }
    // A journal whose staging directory is a link out of the output is refused too.
    let planted = p.out().join(".anonymize-staging-2026-11-20-1-01");
    std::fs::create_dir_all(&planted).unwrap();
    std::fs::write(
        planted.join(".made-by-anonymize"),
        ".anonymize-staging-2026-11-20-1-01",
    )
    .unwrap();
    std::fs::create_dir_all(victim.join("run_date=2026-11-20")).unwrap();
    std::os::unix::fs::symlink(&victim, p.out().join("escape")).unwrap();
    std::fs::write(
        planted.join("COMMIT.json"),
        journal_naming(
            ".anonymize-staging-2026-11-20-1-01",
            "escape/run_date=2026-11-20",
        ),
    )
    .unwrap();
    p.run(KEY).assert().code(1);
    assert!(victim.join("run_date=2026-11-20").exists());
    assert!(victim.join("inner/data.txt").exists());
}

/// A planted journal (with a forged marker) cannot remove or replace the dataset's own
/// partitions either: only moves of the staging folder's own run date, with exactly the staged
/// and moved-aside paths a commit uses, are ever undone.
#[test]
fn a_planted_commit_journal_cannot_touch_other_partitions() {
    let p = with_output();
    p.run_on(KEY, "2026-11-19").assert().success();
    let before = p.snapshot();
    let dir = ".anonymize-staging-2026-11-20-1-04";
    let planted = p.out().join(dir);
    for (target, staged, aside) in [
        // Another date than the staging folder's.
        (
            "users/run_date=2026-11-19",
            format!("{dir}/users/run_date=2026-11-19"),
            format!("{dir}/.previous/users"),
        ),
        // The right date, but the staged path is the staging folder itself.
        (
            "users/run_date=2026-11-20",
            dir.to_string(),
            format!("{dir}/.previous/users"),
        ),
        // The right date, but "restored" from a folder of the attacker's choosing.
        (
            "users/run_date=2026-11-20",
            format!("{dir}/users/run_date=2026-11-20"),
            format!("{dir}/planted"),
        ),
    ] {
        std::fs::create_dir_all(planted.join("planted")).unwrap();
        std::fs::write(planted.join(".made-by-anonymize"), dir).unwrap();
        let journal = serde_json::json!([{
            "staged": staged, "target": target, "aside": aside, "had_previous": true,
        }]);
        std::fs::write(planted.join("COMMIT.json"), journal.to_string()).unwrap();
        p.run(KEY)
            .assert()
            .code(1)
            .stderr(predicate::str::contains("names a path that no run writes"));
        std::fs::remove_dir_all(&planted).unwrap();
        assert!(p.snapshot() == before, "{target} from {staged}");
    }
}

/// A user's folder or file whose name looks like staging is neither removed nor in the way.
#[test]
fn a_users_staging_like_folder_or_file_is_left_alone() {
    let p = with_output();
    let mine = p.out().join(".staging-mine");
    std::fs::create_dir_all(&mine).unwrap();
    std::fs::write(mine.join("notes.txt"), "mine").unwrap();
    // Unmarked, or marked with another name: not a run's.
    let unmarked = p.out().join(".anonymize-staging-2026-11-20-1-02");
    std::fs::create_dir_all(&unmarked).unwrap();
    std::fs::write(unmarked.join(".made-by-anonymize"), "something else").unwrap();
    for file in [
        format!(".staging-{RUN_DATE}-1"),
        ".anonymize-staging-2026-11-20-1-03".to_string(),
    ] {
        std::fs::write(p.out().join(file), "a file").unwrap();
    }
    p.run(KEY).assert().success();
    p.run_on(KEY, "2026-11-21").assert().success();
    assert_eq!(
        std::fs::read_to_string(mine.join("notes.txt")).unwrap(),
        "mine"
    );
    assert!(unmarked.exists());
}

/// The file-system root, system folders and the home folder are never an output; a non-empty
/// folder anonymize did not write is refused unless the operator says it is meant for the
/// dataset.
#[test]
fn outputs_that_are_not_the_datasets_own_are_refused() {
    let p = Project::small_unlinked();
    let home = tempfile::tempdir().unwrap();
    for output in ["/", "/etc", "/usr/", "/tmp", "/proc/self"] {
        p.run(KEY)
            .arg("--output")
            .arg(output)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("system folder"));
    }
    p.run(KEY)
        .env("HOME", home.path())
        .arg("--output")
        .arg(home.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("home folder"));
    // `output = "/"` in the job file, too.
    p.edit_job(|j| j.replace("output = \"../out/marketing_research\"", "output = \"/\""));
    p.run(KEY).assert().code(2);
    p.edit_job(|j| j.replace("output = \"/\"", "output = \"../out/marketing_research\""));

    // `check` says so before a night does.
    p.edit_job(|j| {
        j.replace(
            "output = \"../out/marketing_research\"",
            "output = \"/etc\"",
        )
    });
    p.check()
        .assert()
        .success()
        .stderr(predicate::str::contains("system folder"));
    p.edit_job(|j| {
        j.replace(
            "output = \"/etc\"",
            "output = \"../out/marketing_research\"",
        )
    });

    // A folder with someone's files in it.
    let foreign = p.path().join("documents");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("thesis.txt"), "years of work").unwrap();
    p.run(KEY)
        .arg("--output")
        .arg(&foreign)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--output-is-new-dataset"));
    assert_eq!(std::fs::read_dir(&foreign).unwrap().count(), 1);
    p.run(KEY)
        .arg("--output")
        .arg(&foreign)
        .arg("--output-is-new-dataset")
        .assert()
        .success();
    assert!(foreign.join("thesis.txt").exists());
    // Once written, it is the dataset's: later runs need no flag.
    p.run_on(KEY, "2026-11-21")
        .arg("--output")
        .arg(&foreign)
        .assert()
        .success();
    // An empty folder and one that does not exist yet are fine.
    let empty = p.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    p.run(KEY).arg("--output").arg(&empty).assert().success();
}

// ---------------------------------------------------------------------------------------------
// 2. People are who they are, whatever the spelling

/// Rewrites every CSV file of an input table, `f` given the row's index among the rows of
/// `user_id == id` and the value, returning the new one; those rows also get `set`'s values.
fn respell_with(
    p: &Project,
    table: &str,
    id: &str,
    f: impl Fn(usize, &str) -> String,
    set: &[(&str, &str)],
) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(p.path().join("sample_data").join(table)).unwrap() {
        let path = e.unwrap().path();
        let mut r = csv::Reader::from_path(&path).unwrap();
        let header = r.headers().unwrap().clone();
        let at = |name: &str| header.iter().position(|h| h == name).unwrap();
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(&header).unwrap();
        for rec in r.records() {
            let mut row: Vec<String> = rec.unwrap().iter().map(str::to_string).collect();
            if row[at("user_id")] == id {
                row[at("user_id")] = f(n, id);
                for (column, value) in set {
                    row[at(column)] = value.to_string();
                }
                n += 1;
            }
            w.write_record(&row).unwrap();
        }
        std::fs::write(&path, w.into_inner().unwrap()).unwrap();
    }
    n
}

fn respell(p: &Project, table: &str, id: &str, f: impl Fn(usize, &str) -> String) -> usize {
    respell_with(p, table, id, f, &[])
}

const SPELLINGS: [&str; 6] = [" {} ", "{} ", "\t{}", " {}", "{}\u{a0}", "\u{feff}{}"];

/// An erasure request for `1000003` holds however the export spells the id: none of that
/// person's rows is written, under any pseudonym.
#[test]
fn an_erasure_request_holds_for_every_spelling_of_the_id() {
    let p = Project::small_unlinked();
    let id = "1000003";
    let events = respell(&p, "activity", id, |i, v| SPELLINGS[i % 6].replace("{}", v));
    assert!(events > 0);
    respell(&p, "users", id, |_, v| format!(" {v} "));
    std::fs::write(p.path().join("jobs/erased.txt"), format!("{id}\n")).unwrap();
    p.edit_job(|j| {
        j.replace(
            "subject = \"user_id\"",
            "subject = \"user_id\"\nexclude_subjects = \"erased.txt\"",
        )
    });
    p.run(KEY).assert().success();
    let report = p.report();
    assert_eq!(report["tables"]["users"]["rows_erased"], 1);
    assert_eq!(report["tables"]["activity"]["rows_erased"], events as u64);
    for table in ["users", "activity"] {
        let t = read_parquet(&p.output_file(table));
        let ids = t.column("user_id");
        for spelling in SPELLINGS
            .iter()
            .map(|s| s.replace("{}", id))
            .chain([id.to_string()])
        {
            let pseudonym = pseudonym(KEY, &spelling);
            assert!(
                !ids.iter().any(|v| v.as_deref() == Some(pseudonym.as_str())),
                "{table}: {spelling:?}"
            );
        }
    }
}

/// One person spelled six ways is one person: their pseudonym is that of the trimmed id, the
/// report counts the respelled values, and a class they are alone in is not written (six
/// spellings counted as six people would have met k = 3).
#[test]
fn whitespace_variants_of_an_id_are_one_person() {
    let p = Project::small_unlinked();
    // The person with the most events, all of them put in one class of their own.
    let mut counts = std::collections::HashMap::<String, usize>::new();
    for row in p.input_rows("activity") {
        *counts.entry(row["user_id"].clone()).or_default() += 1;
    }
    let (id, _) = counts
        .into_iter()
        .max_by_key(|(id, n)| (*n, id.clone()))
        .unwrap();
    let events = respell_with(
        &p,
        "activity",
        &id,
        |i, v| SPELLINGS[i % 6].replace("{}", v),
        &[
            ("carrier", "Unique Carrier"),
            ("ip", "95.56.12.34"),
            ("ts", "2026-11-19T10:00:00+05:00"),
        ],
    );
    assert!(events >= 6, "{events}");
    p.run(KEY).assert().success();
    let t = read_parquet(&p.output_file("activity"));
    assert!(
        !t.column("carrier")
            .iter()
            .any(|c| c.as_deref() == Some("Unique Carrier")),
        "a class of one person, spelled six ways, was written"
    );
    let report = p.report();
    assert_eq!(
        report["tables"]["activity"]["normalized_values"]["user_id"],
        events as u64
    );
    let ids = t.column("user_id");
    for spelling in SPELLINGS.iter().map(|s| s.replace("{}", &id)) {
        let other = pseudonym(KEY, &spelling);
        assert!(!ids.iter().any(|v| v.as_deref() == Some(other.as_str())));
    }
}

/// An erasure request is matched in the form the subject is counted in: `007` for a subject
/// kept as an int is the person `7`.
#[test]
fn an_erasure_request_is_read_as_the_subject_column_reads_ids() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("job.toml"),
        "name = \"t\"\noutput = \"out\"\n[tables.t]\ninput = \"t.csv\"\nsubject = \"id\"\n\
         exclude_subjects = \"erased.txt\"\n[tables.t.columns]\n\
         id = { action = \"keep\", type = \"int\" }\nv = { action = \"keep\" }\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("t.csv"), "id,v\n7,a\n 7 ,b\n8,c\n").unwrap();
    std::fs::write(dir.path().join("erased.txt"), "id\n007\n").unwrap();
    run_job(dir.path()).success();
    let report = report_in(&dir.path().join("out"));
    assert_eq!(report["tables"]["t"]["rows_erased"], 2);
}

/// A table without a subject counts rows as people: a file matched twice (a link beside its
/// target, `**` through a link that loops) would double them and inflate k. Each file is read
/// once; a link that leads nowhere or loops is an input error (exit 3).
#[test]
fn every_input_file_is_read_once_and_broken_links_are_errors() {
    let p = Project::small_unlinked();
    p.run(KEY).assert().success();
    let rows_in = p.report()["tables"]["users"]["rows_in"].as_u64().unwrap();
    let users = p.path().join("sample_data/users");
    let first = std::fs::read_dir(&users)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::os::unix::fs::symlink(&first, users.join("zz-again.csv")).unwrap();
    p.run(KEY).assert().success();
    assert_eq!(p.report()["tables"]["users"]["rows_in"], rows_in);

    // `**` over a folder link that loops back: an error, not 41 readings of one file.
    std::fs::remove_file(users.join("zz-again.csv")).unwrap();
    std::os::unix::fs::symlink(".", users.join("loop")).unwrap();
    p.edit_job(|j| {
        j.replace(
            "../sample_data/users/*.csv",
            "../sample_data/users/**/*.csv",
        )
    });
    p.run(KEY)
        .assert()
        .code(3)
        .stderr(predicate::str::contains("loops back"));
    std::fs::remove_file(users.join("loop")).unwrap();
    p.run(KEY).assert().success();
    assert_eq!(p.report()["tables"]["users"]["rows_in"], rows_in);

    // A link whose target is gone; a link to itself.
    std::os::unix::fs::symlink(users.join("gone.csv"), users.join("dangling.csv")).unwrap();
    p.run(KEY)
        .assert()
        .code(3)
        .stderr(predicate::str::contains("its target is gone"));
    std::fs::remove_file(users.join("dangling.csv")).unwrap();
    std::os::unix::fs::symlink(users.join("self.csv"), users.join("self.csv")).unwrap();
    p.run(KEY)
        .assert()
        .code(3)
        .stderr(predicate::str::contains("loops"));
}

// ---------------------------------------------------------------------------------------------
// 3. Scratch space is private

/// Mode bits of `path` (no link followed).
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o777
}

/// Kills a run as soon as its first staged table appears in `$TMPDIR`, then looks at what the
/// run had made there: the staged tables and the repaired copy of the raw input (a table that
/// skips a malformed row) are in 0700 folders, every file 0600, even under umask 0000.
#[test]
fn scratch_folders_are_0700_and_their_files_0600() {
    let p = Project::unlinked(3000, 60000, 5);
    p.edit_job(|j| {
        j.replacen(
            "unlisted = \"error\"",
            "unlisted = \"error\"\non_bad_row = \"skip\"\nmax_bad_rows = 0.5",
            1,
        )
    });
    let users = std::fs::read_dir(p.path().join("sample_data/users"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut text = std::fs::read_to_string(&users).unwrap();
    text.push_str("a,malformed,row\n");
    std::fs::write(&users, text).unwrap();

    let tmp = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new("sh")
        .current_dir(p.path())
        .env("A", assert_cmd::cargo::cargo_bin("anonymize"))
        .env("ANONYMIZE_KEY", KEY)
        .env("TMPDIR", tmp.path())
        .args([
            "-c",
            "umask 0000; exec \"$A\" -q run jobs/marketing_research.toml --run-date 2026-11-20",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let entries = |prefix: &str| -> Vec<std::path::PathBuf> {
        std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|d| d.file_name().unwrap().to_string_lossy().starts_with(prefix))
            .collect()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let staged = loop {
        let files: Vec<_> = entries("anonymize-work-")
            .iter()
            .flat_map(|d| std::fs::read_dir(d).into_iter().flatten())
            .map(|e| e.unwrap().path())
            .collect();
        if !files.is_empty() {
            let _ = child.kill();
            break files;
        }
        assert!(std::time::Instant::now() < deadline, "no staged table seen");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it was seen"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    };
    let _ = child.wait();
    // Every folder 0700 and every file 0600, all the way down.
    let mut stack: Vec<_> = entries("anonymize-work-")
        .into_iter()
        .chain(entries("anonymize-skip-"))
        .collect();
    while let Some(d) = stack.pop() {
        assert_eq!(mode(&d), 0o700, "{}", d.display());
        for f in std::fs::read_dir(&d).unwrap() {
            let f = f.unwrap().path();
            if f.is_dir() {
                stack.push(f);
            } else {
                assert_eq!(mode(&f), 0o600, "{}", f.display());
            }
        }
    }
    assert!(
        !entries("anonymize-skip-").is_empty(),
        "no repaired copy seen"
    );
    for f in staged {
        if f.exists() {
            assert_eq!(mode(&f), 0o600, "{}", f.display());
        }
    }
}

/// What is published takes the operator's umask: 0644/0755 under 022, 0640/0750 under 027.
#[test]
fn the_output_follows_the_operators_umask() {
    let p = Project::small_unlinked();
    for (umask, file, dir) in [("022", 0o644, 0o755), ("027", 0o640, 0o750)] {
        let out = p.path().join(format!("out-{umask}"));
        let o = sh(
            &p,
            &format!(
                "umask {umask}; \"$A\" -q run jobs/marketing_research.toml --run-date \
                 2026-11-20 --output out-{umask}"
            ),
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let part = out.join("users/run_date=2026-11-20");
        assert_eq!(mode(&out), dir);
        assert_eq!(mode(&out.join("users")), dir);
        assert_eq!(mode(&part), dir);
        assert_eq!(mode(&part.join("part-00000.parquet")), file);
        assert_eq!(mode(&out.join("_reports")), dir);
        assert_eq!(mode(&out.join("_reports/run_date=2026-11-20.json")), file);
        assert_eq!(mode(&out.join("_reports/run_date=2026-11-20.html")), file);
    }
}

/// Under cron no `TMPDIR` is set: the nightly script points it at the service's own folder
/// (made 0700), never the shared system one.
#[test]
fn the_nightly_script_keeps_scratch_out_of_the_shared_tmp() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("fake-anonymize");
    std::fs::write(&fake, "#!/bin/sh\necho \"TMPDIR=$TMPDIR\"\n").unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let key = dir.path().join("key");
    std::fs::write(&key, KEY).unwrap();
    let private = dir.path().join("state/tmp");
    let o = std::process::Command::new("sh")
        .arg(repo().join("deploy/anonymize-nightly"))
        .env_remove("TMPDIR")
        .env_remove("CREDENTIALS_DIRECTORY")
        .env("ANONYMIZE_BIN", &fake)
        .env("ANONYMIZE_KEY_FILE", &key)
        .env("ANONYMIZE_TMPDIR", &private)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let printed = String::from_utf8_lossy(&o.stdout);
    assert_eq!(printed.trim(), format!("TMPDIR={}", private.display()));
    assert_eq!(mode(&private), 0o700);
    // And without the override, the default is the service's state folder.
    let script = std::fs::read_to_string(repo().join("deploy/anonymize-nightly")).unwrap();
    assert!(script.contains("/var/lib/anonymize/tmp"));
}

// ---------------------------------------------------------------------------------------------
// 4. Identifiers that still get through

/// Rewrites column `column` of the first activity file's first `values.len()` rows.
fn plant_activity(p: &Project, column: &str, values: &[&str]) {
    let dir = p.path().join("sample_data/activity");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let path = files.last().unwrap();
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().clone();
    let at = header.iter().position(|h| h == column).unwrap();
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&header).unwrap();
    for (i, rec) in r.records().enumerate() {
        let rec = rec.unwrap();
        let row: Vec<&str> = rec
            .iter()
            .enumerate()
            .map(|(c, v)| {
                if c == at && i < values.len() {
                    values[i]
                } else {
                    v
                }
            })
            .collect();
        w.write_record(&row).unwrap();
    }
    std::fs::write(path, w.into_inner().unwrap()).unwrap();
}

/// URLs keep their pages, not their people: ids, tokens and names in paths and hosts become
/// `*` in the written data.
#[test]
fn urls_are_written_as_templates() {
    let p = Project::small_unlinked();
    let urls = [
        "https://shop.kz/users/1000001/profile?x=1",
        "https://shop.kz/c/0f3a9b2c4d5e6f708192a3b4c5d6e7f8/view",
        "https://77011234567.shop.kz/cart",
        "https://95-56-12-34.dyn.example.kz/",
        "https://shop.kz/profile/Aigerim%20Nurlanovna",
    ];
    // Many rows each, so that some are in classes that are written.
    let many: Vec<&str> = urls.iter().copied().cycle().take(500).collect();
    plant_activity(&p, "url", &many);
    p.run(KEY).assert().success();
    let t = read_parquet(&p.output_file("activity"));
    let written: std::collections::HashSet<&str> = t
        .column("url")
        .iter()
        .flatten()
        .map(|s| s.as_str())
        .collect();
    assert!(
        written.contains("https://shop.kz/users/*/profile"),
        "{written:?}"
    );
    for leaked in [
        "1000001",
        "0f3a9b2c",
        "77011234567",
        "95-56-12-34",
        "Aigerim",
    ] {
        assert!(
            !written.iter().any(|u| u.contains(leaked)),
            "{leaked} was written"
        );
    }
}

/// A phone number or an IIN stored as a number in a kept numeric column stops the run.
#[test]
fn identifiers_in_numeric_columns_stop_the_run() {
    // The unlinked job keeps amounts as floats; the shipped job as decimal(18,2), and a
    // decimal(12,0) has no fraction at all: each type is scanned (regression: decimals were not).
    for ty in ["float", "decimal(18,2)", "decimal(12,0)"] {
        for (value, pattern) in [("77011234567", "phone number"), ("900101300017", "IIN/BIN")] {
            let p = Project::small_unlinked();
            p.edit_job(|j| {
                j.replace(
                    "amount_kzt = { action = \"keep\", type = \"float\"",
                    &format!("amount_kzt = {{ action = \"keep\", type = \"{ty}\""),
                )
            });
            plant_activity(&p, "amount_kzt", &[value; 200]);
            p.run(KEY)
                .assert()
                .code(4)
                .stderr(predicate::str::contains(format!("`amount_kzt`: {pattern}")))
                .stderr(predicate::str::contains(value).not());
            assert!(
                !p.output_file("activity").exists() && !p.output_file("users").exists(),
                "{ty}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 5. Messages never quote identifiers

/// Column names that are a person's data.
const NAMES_THAT_ARE_DATA: [&str; 5] = [
    "aigerim.n@mail.kz",
    "+7 701 123 45 67",
    "900101300017",
    "Aigerim Nurlanovna",
    "77011234567",
];

/// A Parquet file of one row with string columns `names` (arrow-rs).
fn write_parquet(path: &Path, names: &[&str]) {
    use arrow::array::{ArrayRef, StringArray};
    use arrow::datatypes::{Field, Schema};
    let schema = std::sync::Arc::new(Schema::new(
        names
            .iter()
            .map(|n| Field::new(*n, arrow::datatypes::DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ));
    let cols: Vec<ArrayRef> = names
        .iter()
        .map(|_| std::sync::Arc::new(StringArray::from(vec!["1"])) as ArrayRef)
        .collect();
    let batch = arrow::array::RecordBatch::try_new(schema.clone(), cols).unwrap();
    let mut w =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(path).unwrap(), schema, None)
            .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

/// A one-table job over `t.<ext>` whose columns are `id` and `v`.
fn tiny(dir: &Path, ext: &str) {
    std::fs::write(
        dir.join("job.toml"),
        format!(
            "name = \"tiny\"\noutput = \"out\"\n[tables.t]\ninput = \"t.{ext}\"\n\
             [tables.t.columns]\nid = {{ action = \"drop\" }}\nv = {{ action = \"keep\" }}\n"
        ),
    )
    .unwrap();
}

/// A header, an NDJSON key or a column the job does not name, named like an e-mail, a phone,
/// an IIN or a person: the error names the file, never the name.
#[test]
fn names_that_look_like_data_are_withheld_from_messages() {
    for name in NAMES_THAT_ARE_DATA {
        // CSV: an unlisted column, then the same name twice.
        let dir = tempfile::tempdir().unwrap();
        tiny(dir.path(), "csv");
        std::fs::write(dir.path().join("t.csv"), format!("id,v,{name}\n1,2,3\n")).unwrap();
        let o = run_job(dir.path()).code(3).get_output().clone();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("t.csv") && err.contains("withheld"), "{err}");
        assert!(!err.contains(name), "{name}: {err}");
        std::fs::write(
            dir.path().join("t.csv"),
            format!("id,v,\"{name}\",\"{name}\"\n1,2,3,4\n"),
        )
        .unwrap();
        let o = run_job(dir.path()).code(3).get_output().clone();
        assert!(!String::from_utf8_lossy(&o.stderr).contains(name));

        // NDJSON: a key in a later line (the header check reads the first lines only).
        let dir = tempfile::tempdir().unwrap();
        tiny(dir.path(), "ndjson");
        let line = serde_json::json!({"id": "1", "v": "2", name: "3"}).to_string();
        std::fs::write(
            dir.path().join("t.ndjson"),
            format!("{}\n{line}\n", "{\"id\": \"1\", \"v\": \"2\"}\n".repeat(3)),
        )
        .unwrap();
        let o = run_job(dir.path()).code(3).get_output().clone();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!err.contains(name), "{name}: {err}");
        assert!(!err.contains(&name.replace('+', "\\u002b")), "{err}");

        // Parquet: a column of the file's schema.
        let dir = tempfile::tempdir().unwrap();
        tiny(dir.path(), "parquet");
        write_parquet(&dir.path().join("t.parquet"), &["id", "v", name]);
        let o = run_job(dir.path()).code(3).get_output().clone();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("withheld"), "{err}");
        assert!(!err.contains(name), "{name}: {err}");

        // `check` lists an unlisted column (with `unlisted = "drop"`) without its name.
        let dir = tempfile::tempdir().unwrap();
        tiny(dir.path(), "csv");
        let job = std::fs::read_to_string(dir.path().join("job.toml")).unwrap();
        std::fs::write(
            dir.path().join("job.toml"),
            job.replace("[tables.t]\n", "[tables.t]\nunlisted = \"drop\"\n"),
        )
        .unwrap();
        std::fs::write(dir.path().join("t.csv"), format!("id,v,{name}\n1,2,3\n")).unwrap();
        let o = bin()
            .current_dir(dir.path())
            .args(["check", "job.toml"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        let all = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
        assert!(!all.contains(name), "{name}: {all}");
    }
    // An ordinary name is still named.
    let dir = tempfile::tempdir().unwrap();
    tiny(dir.path(), "csv");
    std::fs::write(dir.path().join("t.csv"), "id,v,notes_2024\n1,2,3\n").unwrap();
    run_job(dir.path())
        .code(3)
        .stderr(predicate::str::contains("column `notes_2024`"));
}

// ---------------------------------------------------------------------------------------------
// 6. `verify` checks the whole dataset

/// Rewrites a Parquet file with arrow-rs, replacing the first value of string column `column`.
fn plant_value(file: &Path, column: &str, value: &str) {
    use arrow::array::{Array, ArrayRef, StringArray};
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        std::fs::File::open(file).unwrap(),
    )
    .unwrap()
    .build()
    .unwrap();
    let batches: Vec<arrow::array::RecordBatch> = reader.map(|b| b.unwrap()).collect();
    let schema = batches[0].schema();
    let at = schema.index_of(column).unwrap();
    let mut out = Vec::new();
    for (i, b) in batches.iter().enumerate() {
        let mut cols: Vec<ArrayRef> = b.columns().to_vec();
        if i == 0 {
            // polars writes string views: through plain strings and back.
            let kind = cols[at].data_type().clone();
            let plain = arrow::compute::cast(&cols[at], &arrow::datatypes::DataType::Utf8).unwrap();
            let old = arrow::array::cast::as_string_array(plain.as_ref());
            let new: StringArray = (0..old.len())
                .map(|r| {
                    if r == 0 {
                        Some(value)
                    } else {
                        old.is_valid(r).then(|| old.value(r))
                    }
                })
                .collect();
            cols[at] = arrow::compute::cast(&new, &kind).unwrap();
        }
        out.push(arrow::array::RecordBatch::try_new(schema.clone(), cols).unwrap());
    }
    let mut w =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(file).unwrap(), schema, None)
            .unwrap();
    for b in &out {
        w.write(b).unwrap();
    }
    w.close().unwrap();
}

/// Anything in the dataset the job did not write is a finding (exit 4) named by its path,
/// never its content; a part file that is not Parquet is one too; every column is leak-scanned.
#[test]
fn verify_checks_the_whole_dataset() {
    let p = with_output();
    p.verify().assert().success();
    let email = "aigerim.n@mail.kz";
    type Plant = Box<dyn Fn(&Path)>;
    let cases: Vec<(&str, Plant)> = vec![
        (
            "emails",
            Box::new(|out: &Path| {
                let d = out.join("emails").join(format!("run_date={RUN_DATE}"));
                std::fs::create_dir_all(&d).unwrap();
                std::fs::copy(
                    out.join(format!("users/run_date={RUN_DATE}/part-00000.parquet")),
                    d.join("part-00000.parquet"),
                )
                .unwrap();
            }),
        ),
        (
            "raw.csv",
            Box::new(move |out: &Path| {
                std::fs::write(
                    out.join(format!("users/run_date={RUN_DATE}/raw.csv")),
                    format!("email,phone\n{email},+77011234567\n"),
                )
                .unwrap();
            }),
        ),
        (
            ".anonymize-staging-x",
            Box::new(move |out: &Path| {
                let d = out.join(".anonymize-staging-x");
                std::fs::create_dir_all(&d).unwrap();
                std::fs::write(d.join("users.csv"), format!("email\n{email}\n")).unwrap();
            }),
        ),
        (
            "notes.txt",
            Box::new(move |out: &Path| {
                std::fs::write(out.join("notes.txt"), format!("ask {email}\n")).unwrap();
            }),
        ),
        (
            "users/backup",
            Box::new(|out: &Path| {
                let d = out.join("users/backup");
                std::fs::create_dir_all(&d).unwrap();
                std::fs::write(d.join("part.parquet"), "PAR1").unwrap();
            }),
        ),
        (
            "<name withheld>",
            Box::new(move |out: &Path| {
                std::fs::write(out.join(format!("{email}.txt")), "x").unwrap();
            }),
        ),
        (
            "not a readable Parquet file",
            Box::new(move |out: &Path| {
                std::fs::write(
                    out.join(format!("activity/run_date={RUN_DATE}/part-00000.parquet")),
                    format!("email\n{email}\n"),
                )
                .unwrap();
            }),
        ),
        (
            "phone number",
            Box::new(|out: &Path| {
                plant_value(
                    &out.join(format!("activity/run_date={RUN_DATE}/part-00000.parquet")),
                    "carrier",
                    "8 701 123 45 67",
                );
            }),
        ),
        (
            "not pseudonyms",
            Box::new(|out: &Path| {
                plant_value(
                    &out.join(format!("users/run_date={RUN_DATE}/part-00000.parquet")),
                    "user_id",
                    "1000003",
                );
            }),
        ),
    ];
    let clean = tempfile::tempdir().unwrap();
    let copy = |from: &Path, to: &Path| {
        let o = std::process::Command::new("cp")
            .args(["-a"])
            .arg(from)
            .arg(to)
            .output()
            .unwrap();
        assert!(o.status.success());
    };
    copy(&p.out(), &clean.path().join("saved"));
    for (named, plant) in cases {
        std::fs::remove_dir_all(p.out()).unwrap();
        copy(&clean.path().join("saved"), &p.out());
        plant(&p.out());
        let o = p.verify().output().unwrap();
        let all = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
        assert_eq!(o.status.code(), Some(4), "{named}: {all}");
        assert!(all.contains(named), "{named}: {all}");
        assert!(!all.contains(email), "{named}: {all}");
        assert!(
            !all.contains("7011234567") && !all.contains("1000003"),
            "{named}: {all}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 7. Smaller ones

/// DuckDB's hive read replaces a column named `run_date` in any case with the partition's date.
#[test]
fn an_output_named_run_date_in_any_case_is_refused() {
    let p = Project::small_unlinked();
    for name in ["RUN_DATE", "Run_Date"] {
        p.edit_job(|j| j.replace("as = \"age_band\"", &format!("as = \"{name}\"")));
        p.run(KEY)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("is the partition column"));
        p.edit_job(|j| j.replace(&format!("as = \"{name}\""), "as = \"age_band\""));
    }
    assert!(!p.out().exists());
}

/// A table name becomes a folder: one with a NUL or a hive-looking `run_date=…` is a job error
/// (exit 2) that does not repeat the name, not a failed computation (exit 1).
#[test]
fn a_table_name_that_is_no_plain_folder_name_is_a_job_error() {
    for name in [
        "\"a\\u0000b\"",
        "\"run_date=2026-01-01\"",
        "\"a b\"",
        "\"..\"",
        "_users",
    ] {
        let p = Project::small_unlinked();
        p.edit_job(|j| j.replace("tables.users", &format!("tables.{name}")));
        p.run(KEY)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("a table name is a directory name"))
            .stderr(predicate::str::contains('\0').not());
        assert!(!p.out().exists(), "{name}");
    }
}

/// A hierarchy "file" that never ends is refused at once instead of exhausting memory: only
/// regular files are read, and no more than a bound.
#[test]
fn a_hierarchy_that_is_no_regular_file_is_refused() {
    let p = Project::small_unlinked();
    p.edit_job(|j| j.replace("hierarchies/kz_cities.csv", "/dev/zero"));
    let t0 = std::time::Instant::now();
    p.run(KEY)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a regular file"));
    // Not a timing assert on speed: a run that reads /dev/zero never ends at all.
    assert!(t0.elapsed() < std::time::Duration::from_secs(60));
}

/// Output that cannot be written (a full disk, `/dev/full`) is an I/O error, exit 1; a panic
/// exits 101.
#[test]
fn stdout_to_a_full_device_is_an_io_error_not_a_panic() {
    if !Path::new("/dev/full").exists() {
        return;
    }
    let p = Project::small_unlinked();
    let o = sh(&p, "\"$A\" keygen > /dev/full");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    let o = sh(&p, "\"$A\" check jobs/marketing_research.toml > /dev/full");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
}

/// A reader that goes away early (`| head -1`) ends the printing quietly.
#[test]
fn a_closed_pipe_ends_the_printing_quietly() {
    let p = Project::small_unlinked();
    // The reader closes its end at once; the writer finds no reader (unless it was quicker).
    let o = sh(&p, "\"$A\" schema | (exec 0<&-; sleep 1)");
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
}

/// Standard error that cannot be written (`2>/dev/full`) or is closed (`2>&-`): the logs are
/// lost, the run is not (it panicked, exit 101, on the first log line). A failing command still
/// exits with its own code.
#[test]
fn an_unwritable_or_closed_stderr_does_not_panic() {
    let p = Project::small_unlinked();
    let o = sh(
        &p,
        "\"$A\" run jobs/marketing_research.toml --run-date 2026-11-20 2>/dev/full",
    );
    assert_eq!(o.status.code(), Some(0));
    assert!(p.output_file("users").exists());
    let o = sh(
        &p,
        "ANONYMIZE_KEY= \"$A\" run jobs/marketing_research.toml --run-date 2026-11-21 2>/dev/full",
    );
    assert_eq!(o.status.code(), Some(2));
    let o = sh(
        &p,
        "\"$A\" -v run jobs/marketing_research.toml --run-date 2026-11-22 1>&- 2>&-",
    );
    assert_eq!(o.status.code(), Some(0));
    let o = sh(&p, "\"$A\" check jobs/marketing_research.toml 2>&- 1>&-");
    assert_eq!(o.status.code(), Some(0));
    // Nothing the logs said went into a file the run opened in their place.
    p.verify().assert().success();
}

/// polars' deprecation text ("`is_in` with a collection …") went to stderr in the middle of
/// JSON logs when an erasure list was used.
#[test]
fn json_logs_hold_only_json_with_an_erasure_list() {
    let p = Project::small_unlinked();
    std::fs::write(p.path().join("jobs/erased.txt"), "1000003\n1000004\n").unwrap();
    p.edit_job(|j| {
        j.replacen(
            "subject = \"user_id\"",
            "subject = \"user_id\"\nexclude_subjects = \"erased.txt\"",
            1,
        )
    });
    let o = p.run(KEY).arg("--log-format").arg("json").output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    for line in stderr(&o).lines() {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok(),
            "not JSON: {line}"
        );
    }
    assert!(!stderr(&o).contains("is_in"));
}

/// k = 1 protects no one: allowed, never silently.
#[test]
fn k_of_one_is_warned_about() {
    let p = Project::small_unlinked();
    p.edit_job(|j| j.replacen("k = 3", "k = 1", 1));
    p.check()
        .assert()
        .success()
        .stderr(predicate::str::contains("k = 1 protects no one"));
}

/// Regression (review): a `_latest` or `_reports` that is a symbolic link was followed, and a
/// run wrote and deleted in the folder it pointed to. Such an output is refused (exit 2), and a
/// failed night writes no report through the link.
#[test]
fn links_among_the_outputs_folders_are_refused() {
    use std::os::unix::fs::symlink;
    let p = Project::small_unlinked();
    p.run(KEY).assert().success();
    let elsewhere = p.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("users.parquet"), "not ours").unwrap();
    let latest = p.out().join("_latest");
    std::fs::remove_dir_all(&latest).unwrap();
    symlink(&elsewhere, &latest).unwrap();
    p.run_on(KEY, "2026-11-21")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is a symbolic link"));
    assert_eq!(
        std::fs::read(elsewhere.join("users.parquet")).unwrap(),
        b"not ours"
    );
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 1);
    assert!(!p.out().join("users/run_date=2026-11-21").exists());

    // `_reports` as a link: a night that fails on its input writes nothing through it.
    std::fs::remove_file(&latest).unwrap();
    let reports = p.out().join("_reports");
    let moved = p.path().join("reports-elsewhere");
    std::fs::rename(&reports, &moved).unwrap();
    symlink(&moved, &reports).unwrap();
    let before = std::fs::read_dir(&moved).unwrap().count();
    p.run_on(KEY, "2026-11-22")
        .args(["--input", "users=nowhere/*.csv"])
        .assert()
        .code(3);
    assert_eq!(std::fs::read_dir(&moved).unwrap().count(), before);
}
