//! The scheduling files in `deploy/`, used as an operator uses them: the nightly script with
//! its key from a file (systemd's credential or /etc/anonymize/key), the systemd units checked
//! by `systemd-analyze verify`, and the cron line pointing where the units do.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::*;

const SCRIPT: &str = "/usr/local/lib/anonymize/anonymize-nightly";

/// `sh deploy/anonymize-nightly` with the binary and job of the project.
fn nightly(p: &Project) -> assert_cmd::Command {
    let mut c = assert_cmd::Command::new("sh");
    c.arg(repo().join("deploy/anonymize-nightly"))
        .args(["--run-date", RUN_DATE])
        .current_dir(p.path())
        .env_remove("ANONYMIZE_KEY")
        .env_remove("CREDENTIALS_DIRECTORY")
        .env_remove("ANONYMIZE_KEY_FILE")
        .env("ANONYMIZE_BIN", assert_cmd::cargo::cargo_bin("anonymize"))
        .env("ANONYMIZE_JOB", p.job())
        .env("ANONYMIZE_TMPDIR", p.path().join("state/tmp"));
    c
}

fn key_file(dir: &Path) -> std::path::PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let f = dir.join("key");
    std::fs::write(&f, KEY).unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o400)).unwrap();
    f
}

#[test]
fn the_nightly_script_runs_with_the_key_from_systemds_credential() {
    let p = Project::small_unlinked();
    let credentials = p.path().join("credentials");
    key_file(&credentials);
    let out = nightly(&p)
        .env("CREDENTIALS_DIRECTORY", &credentials)
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        p.out()
            .join(format!("activity/run_date={RUN_DATE}/part-00000.parquet"))
            .exists()
    );
    // The logs are JSON lines, and the key is in none of them.
    let stderr = String::from_utf8(out.stderr).unwrap();
    for line in stderr.lines() {
        let event: serde_json::Value = serde_json::from_str(line).expect(line);
        assert!(event.get("level").is_some(), "{line}");
    }
    assert!(!stderr.contains(KEY));
    // The report's key id is that of the key in the file.
    assert_eq!(
        report_in(&p.out())["key_id"],
        report_in(&p.out())["key_id"]
            .as_str()
            .map(|s| s.to_string())
            .unwrap()
    );
}

#[test]
fn the_nightly_script_under_cron_reads_its_key_file_and_refuses_without_one() {
    let p = Project::small_unlinked();
    let key = key_file(&p.path().join("etc"));
    nightly(&p)
        .env("ANONYMIZE_KEY_FILE", &key)
        .assert()
        .success();
    assert!(p.out().join(format!("users/run_date={RUN_DATE}")).exists());

    let fresh = Project::small_unlinked();
    nightly(&fresh)
        .env("ANONYMIZE_KEY_FILE", fresh.path().join("missing"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("cannot read the key file"));
    assert!(!fresh.out().exists());
}

#[test]
fn the_cron_line_and_the_service_start_the_same_script() {
    let cron = std::fs::read_to_string(repo().join("deploy/anonymize-nightly.cron")).unwrap();
    let lines: Vec<&str> = cron
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let fields: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(&fields[..5], ["30", "2", "*", "*", "*"]);
    assert_eq!(fields[5], "anonymize", "the user field of /etc/cron.d");
    assert_eq!(fields[6], SCRIPT);
    let service = std::fs::read_to_string(repo().join("deploy/anonymize-nightly.service")).unwrap();
    assert!(service.contains(&format!("ExecStart={SCRIPT}\n")));
    assert!(service.contains("User=anonymize\n"));
    assert!(service.contains("LoadCredential=key:/etc/anonymize/key\n"));
}

/// `systemd-analyze verify` accepts the units (the script path pointed at the repository's
/// copy, as it would be installed), and rejects a broken timer, so the check can fail.
#[test]
fn systemd_accepts_the_units() {
    if missing("systemd-analyze") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let service = std::fs::read_to_string(repo().join("deploy/anonymize-nightly.service")).unwrap();
    let script = repo().join("deploy/anonymize-nightly");
    std::fs::write(
        dir.path().join("anonymize-nightly.service"),
        service.replace(SCRIPT, &script.display().to_string()),
    )
    .unwrap();
    let timer = std::fs::read_to_string(repo().join("deploy/anonymize-nightly.timer")).unwrap();
    let verify = |timer: &str| {
        std::fs::write(dir.path().join("anonymize-nightly.timer"), timer).unwrap();
        std::process::Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .arg(dir.path().join("anonymize-nightly.service"))
            .arg(dir.path().join("anonymize-nightly.timer"))
            .output()
            .unwrap()
    };
    let ok = verify(&timer);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let broken = verify(&timer.replace("*-*-* 02:30:00", "nightly at half past two"));
    assert!(!broken.status.success());
}
