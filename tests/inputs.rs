//! Input variants of the contract: CSV with CRLF and another delimiter, `{run_date}` in input
//! patterns, a header-only file.

mod common;

use common::*;
use predicates::prelude::*;

fn small_project() -> Project {
    let p = Project::unlinked(600, 3000, 13);
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

fn ndjson_project() -> Project {
    let p = Project::with_job("tests/jobs/unlinked.toml", 300, 1500, 17, "ndjson");
    p.edit_job(|j| {
        j.replace("format = \"csv\"", "")
            .replace("*.csv", "*.ndjson")
            .replace("k = 10", "k = 2")
            .replace("max_suppression = 0.05", "max_suppression = 0.9")
    });
    p
}

#[test]
fn ndjson_key_appearing_late_is_an_unlisted_column() {
    let p = ndjson_project();
    p.run(KEY).assert().success();
    let f = p.path().join("sample_data/users/users.ndjson");
    let text = std::fs::read_to_string(&f).unwrap();
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    // Record 4 is within the engine's inference window; record 251 is past it.
    for line in [4, 251] {
        let mut lines = lines.clone();
        lines[line - 1] = lines[line - 1].replacen('{', "{\"passport_no\":\"N1234567\",", 1);
        std::fs::write(&f, lines.join("\n") + "\n").unwrap();
        p.run(KEY)
            .assert()
            .code(3)
            .stderr(predicates::str::contains("`passport_no` has no action"))
            .stderr(predicates::str::contains("N1234567").not());
    }
}

#[test]
fn malformed_ndjson_names_file_and_line() {
    let p = ndjson_project();
    let f = p.path().join("sample_data/users/users.ndjson");
    let text = std::fs::read_to_string(&f).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[4] = "{\"user_id\": \"1\", \"email\": \"leak@mail.kz\"".into();
    std::fs::write(&f, lines.join("\n") + "\n").unwrap();
    p.run(KEY)
        .assert()
        .code(3)
        .stderr(predicates::str::contains("users.ndjson"))
        .stderr(predicates::str::contains("line 5"))
        .stderr(predicates::str::contains("leak@mail.kz").not());
}

/// JSON numbers read as text give the same pseudonyms and amounts as the CSV's digits.
#[test]
fn typed_ndjson_values_give_the_same_output_as_csv_text() {
    let p = small_project();
    p.run(KEY).assert().success();
    let users_csv = read_parquet(&p.output_file("users"));
    let activity_csv = read_parquet(&p.output_file("activity"));

    for table in ["users", "activity"] {
        let dir = p.path().join("sample_data").join(table);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            let mut r = csv::Reader::from_path(&f).unwrap();
            let header = r.headers().unwrap().clone();
            let mut out = String::new();
            for rec in r.records() {
                let rec = rec.unwrap();
                let mut obj = serde_json::Map::new();
                for (h, v) in header.iter().zip(rec.iter()) {
                    let value = match (h, v) {
                        (_, "") => serde_json::Value::Null,
                        ("user_id", v) => serde_json::json!(v.parse::<i64>().unwrap()),
                        ("amount_kzt", v) => serde_json::json!(v.parse::<f64>().unwrap()),
                        (_, v) => serde_json::json!(v),
                    };
                    obj.insert(h.to_string(), value);
                }
                out.push_str(&serde_json::Value::Object(obj).to_string());
                out.push('\n');
            }
            std::fs::write(f.with_extension("ndjson"), out).unwrap();
            std::fs::remove_file(&f).unwrap();
        }
    }
    p.edit_job(|j| {
        j.replace("format = \"csv\"", "")
            .replace("*.csv", "*.ndjson")
    });
    p.run(KEY).assert().success();
    assert!(read_parquet(&p.output_file("users")).values == users_csv.values);
    assert!(read_parquet(&p.output_file("activity")).values == activity_csv.values);
}

#[test]
fn parquet_files_that_disagree_on_a_column_type_are_an_input_error() {
    use polars::prelude::*;
    let p = Project::with_job("tests/jobs/unlinked.toml", 200, 1000, 19, "parquet");
    p.edit_job(|j| {
        j.replace("format = \"csv\"", "")
            .replace("*.csv", "*.parquet")
    });
    let f = p.path().join("sample_data/users/users.parquet");
    let mut df = ParquetReader::new(std::fs::File::open(&f).unwrap())
        .finish()
        .unwrap();
    let second = df.clone();
    df.with_column(
        df.column("user_id")
            .unwrap()
            .cast(&DataType::Int64)
            .unwrap(),
    )
    .unwrap();
    ParquetWriter::new(std::fs::File::create(&f).unwrap())
        .finish(&mut df)
        .unwrap();
    let g = p.path().join("sample_data/users/users-2.parquet");
    ParquetWriter::new(std::fs::File::create(&g).unwrap())
        .finish(&mut second.clone())
        .unwrap();
    p.run(KEY)
        .assert()
        .code(3)
        .stderr(predicates::str::contains(
            "users.parquet: column `user_id` is",
        ));
}

/// Bad inputs, each a clear error naming the file (and line or column), exit code 3, or a
/// documented reading.
#[test]
fn bad_input_files_are_clear_errors() {
    let p = small_project();
    let users = p.path().join("sample_data/users/users.csv");
    let good = std::fs::read_to_string(&users).unwrap();
    let header = good.lines().next().unwrap().to_string();
    let first = good.lines().nth(1).unwrap().to_string();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty file", Vec::new(), "the file is empty"),
        (
            "duplicate header names",
            format!("{header},email\n{first},x\n").into_bytes(),
            "appears twice in the header",
        ),
        (
            "unterminated quote",
            format!(
                "{header}\n{},\"unterminated\n",
                first.rsplit_once(',').unwrap().0
            )
            .into_bytes(),
            "never closed",
        ),
        (
            "invalid UTF-8",
            [
                format!("{header}\n").into_bytes(),
                b"1,\xff\xfe,a,b,c,d,e,f\n".to_vec(),
            ]
            .concat(),
            "line 2: not valid UTF-8",
        ),
    ];
    for (what, bytes, message) in cases {
        std::fs::write(&users, &bytes).unwrap();
        p.run(KEY)
            .assert()
            .code(3)
            .stderr(predicate::str::contains("users.csv"))
            .stderr(predicate::str::contains(message).or(predicate::str::contains(what)));
    }
    // A byte-order mark and a 1 MB cell are read as they are.
    let big = "x".repeat(1 << 20);
    let mut lines: Vec<String> = good.lines().map(str::to_string).collect();
    let mut fields: Vec<String> = lines[1].split(',').map(str::to_string).collect();
    fields[1] = big; // full_name, dropped
    lines[1] = fields.join(",");
    std::fs::write(&users, format!("\u{feff}{}\n", lines.join("\n"))).unwrap();
    p.run(KEY).assert().success();
    assert_eq!(
        p.report()["tables"]["users"]["rows_in"],
        lines.len() as u64 - 1
    );
}

/// An output that cannot be written (a file where the directory should be) is a clear error
/// and nothing is written.
#[test]
fn an_unwritable_output_is_a_clear_error() {
    let p = small_project();
    let blocked = p.path().join("blocked");
    std::fs::write(&blocked, b"not a directory").unwrap();
    p.run(KEY)
        .arg("--output")
        .arg(&blocked)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "cannot create the output directory",
        ));
    assert_eq!(std::fs::read(&blocked).unwrap(), b"not a directory");
}
