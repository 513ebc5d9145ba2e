//! Input variants of the contract: CSV with CRLF and another delimiter, `{run_date}` in input
//! patterns, a header-only file.

mod common;

use common::*;

fn small_project() -> Project {
    let p = Project::new(600, 3000, 13);
    p.edit_job(|j| {
        j.replace("k = 10", "k = 2")
            .replace("max_suppression = 0.05", "max_suppression = 0.5")
    });
    p
}

#[test]
fn crlf_and_semicolon_csv_read_the_same_as_lf_and_comma() {
    let p = small_project();
    p.run(KEY).assert().success();
    let before = read_parquet(&p.output_file("users"));

    let f = p.path().join("sample_data/users/users.csv");
    let mut r = csv::Reader::from_path(&f).unwrap();
    let header = r.headers().unwrap().clone();
    let records: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    let mut w = csv::WriterBuilder::new()
        .delimiter(b';')
        .terminator(csv::Terminator::CRLF)
        .from_path(&f)
        .unwrap();
    w.write_record(&header).unwrap();
    for rec in &records {
        w.write_record(rec).unwrap();
    }
    w.flush().unwrap();
    drop(w);
    let text = std::fs::read_to_string(&f).unwrap();
    assert!(text.starts_with("user_id;full_name;") && text.contains("\r\n"));

    // With the old delimiter, the header is one unknown column: a clear input error.
    p.run(KEY).assert().code(3);
    p.edit_job(|j| j.replace("delimiter = \",\"", "delimiter = \";\""));
    p.run(KEY).assert().success();
    let after = read_parquet(&p.output_file("users"));
    assert!(before.values == after.values);
}

#[test]
fn run_date_in_input_patterns_picks_that_dates_export() {
    let p = small_project();
    let day = p.path().join(format!("exports/{RUN_DATE}"));
    std::fs::create_dir_all(&day).unwrap();
    std::fs::rename(
        p.path().join("sample_data/users/users.csv"),
        day.join("users.csv"),
    )
    .unwrap();
    p.run(KEY)
        .args(["--input", "users=exports/{run_date}/users.csv"])
        .assert()
        .success();
    assert_eq!(
        p.report()["tables"]["users"]["input_files"][0],
        format!("exports/{RUN_DATE}/users.csv")
    );
    // Another date has no export: a clear input error naming the pattern.
    p.run_on(KEY, "2026-11-21")
        .args(["--input", "users=exports/{run_date}/users.csv"])
        .assert()
        .code(3)
        .stderr(predicates::str::contains("exports/2026-11-21/users.csv"));
}

#[test]
fn a_header_only_file_is_a_table_with_no_rows() {
    let p = small_project();
    let f = p.path().join("sample_data/users/users.csv");
    let header = std::fs::read_to_string(&f)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    std::fs::write(&f, header + "\n").unwrap();
    p.run(KEY).assert().success();
    assert_eq!(p.report()["tables"]["users"]["rows_in"], 0);
    assert_eq!(read_parquet(&p.output_file("users")).rows, 0);
}
