//! Every column method in one job, on sample data, read back with arrow-rs: each method's output
//! has the documented form and type, including a date as a quasi-identifier and a hierarchy
//! written by the test.

mod common;

use std::collections::HashSet;

use common::*;

const JOB: &str = r#"
name = "every_method"
output = "../out/every_method"
[key]
file = "key.txt"

[tables.users]
input = "../sample_data/users/*.csv"
subject = "user_id"
[tables.users.privacy]
k = 2
max_suppression = 0.5
[tables.users.columns]
user_id       = { action = "pseudonymize", length = 64 }
full_name     = { action = "drop" }
email         = { action = "pseudonymize", length = 16, as = "email_pseudonym" }
phone         = { action = "drop" }
birth_date    = { action = "keep", type = "date" }
gender        = { action = "keep", role = "quasi" }
city          = { action = "drop" }
registered_at = { action = "generalize", method = "truncate", to = "year", role = "quasi", as = "registered_year" }

[tables.activity]
input = "../sample_data/activity/*.csv"
subject = "user_id"
retention = { column = "ts", days = 365 }
[tables.activity.privacy]
k = 2
max_suppression = 0.5
[tables.activity.columns]
event_id   = { action = "drop" }
user_id    = { action = "pseudonymize", length = 16, scope = "table" }
ts         = { action = "generalize", method = "truncate", to = "hour", as = "hour" }
event_type = { action = "keep" }
url        = { action = "generalize", method = "url" }
ip         = { action = "generalize", method = "ip_prefix", v4 = 24, v6 = 48, invalid = "null" }
cookie_id  = { action = "drop" }
user_agent = { action = "generalize", method = "user_agent" }
carrier    = { action = "generalize", method = "hierarchy", file = "carriers.csv", level = 1, delimiter = ",", role = "quasi", as = "operator", invalid = "top" }
amount_kzt = { action = "generalize", method = "bins", edges = [0, 5000, 20000, 100000], role = "quasi", as = "amount_band" }
"#;

const CARRIERS: &str = "Beeline,VEON,*\nKcell,Kcell group,*\nActiv,Kcell group,*\nTele2,Tele2-Altel,*\nAltel,Tele2-Altel,*\n";

#[test]
fn every_method_has_its_documented_form_and_type() {
    use arrow::datatypes::DataType as D;
    let p = Project::unlinked(1500, 8000, 21);
    std::fs::write(p.path().join("jobs/every_method.toml"), JOB).unwrap();
    std::fs::write(p.path().join("jobs/carriers.csv"), CARRIERS).unwrap();
    std::fs::write(p.path().join("jobs/key.txt"), format!("{KEY}\n")).unwrap();
    bin()
        .current_dir(p.path())
        .args(["run", "jobs/every_method.toml", "--run-date", RUN_DATE])
        .assert()
        .success();
    let out = p.path().join("out/every_method");
    let part = |t: &str| out.join(format!("{t}/run_date={RUN_DATE}/part-00000.parquet"));

    let users = read_parquet(&part("users"));
    assert!(users.rows > 0);
    assert_eq!(users.dtype("birth_date"), &D::Date32);
    assert_eq!(users.dtype("registered_year"), &D::Date32);
    for v in users.column("registered_year").iter().flatten() {
        assert!(v.ends_with("-01-01"), "{v}");
    }
    for v in users.column("user_id").iter().flatten() {
        assert_eq!(v.len(), 64);
    }
    // A key from a file (its trailing newline ignored) gives HMAC-SHA256 under that key.
    let full = |v: &str| {
        use hmac::{KeyInit, Mac};
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(KEY.as_bytes()).unwrap();
        mac.update(v.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    };
    let expected: HashSet<String> = p
        .input_rows("users")
        .iter()
        .map(|r| full(&r["user_id"]))
        .collect();
    for id in users.column("user_id").iter().flatten() {
        assert!(expected.contains(id), "not HMAC(file key, user_id)");
    }
    let emails: HashSet<&String> = users.column("email_pseudonym").iter().flatten().collect();
    assert!(emails.iter().all(|e| e.len() == 16));

    let activity = read_parquet(&part("activity"));
    assert!(activity.rows > 0);
    assert!(matches!(activity.dtype("hour"), D::Timestamp(_, Some(tz)) if tz.as_ref() == "UTC"));
    for v in activity.column("hour").iter().flatten() {
        assert!(v.contains(":00:00"), "{v}");
    }
    let bands: HashSet<&str> = activity
        .column("amount_band")
        .iter()
        .flatten()
        .map(String::as_str)
        .collect();
    assert!(!bands.is_empty());
    for b in &bands {
        assert!(
            ["<0", "0-5000", "5000-20000", "20000-100000", "100000+"].contains(b),
            "{b}"
        );
    }
    let operators: HashSet<&str> = activity
        .column("operator")
        .iter()
        .flatten()
        .map(String::as_str)
        .collect();
    for o in &operators {
        assert!(
            ["VEON", "Kcell group", "Tele2-Altel", "*"].contains(o),
            "{o}"
        );
    }
    for v in activity.column("ip").iter().flatten() {
        assert!(v.ends_with("/24") || v.ends_with("/48"), "{v}");
    }
    for v in activity.column("user_agent").iter().flatten() {
        assert_eq!(v.matches(" / ").count(), 2, "{v}");
    }
    for v in activity.column("url").iter().flatten() {
        assert!(
            v.starts_with("https://") && !v.contains('?') && !v.contains('#'),
            "{v}"
        );
    }

    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.join(format!("_reports/run_date={RUN_DATE}.json"))).unwrap(),
    )
    .unwrap();
    let a = &report["tables"]["activity"];
    // Kazakhtelecom is not in the test's hierarchy: its values went to the top and were counted.
    assert!(a["unmapped_values"]["operator"].as_u64().unwrap() > 0);
    assert!(operators.contains("*"));
    assert_eq!(a["columns"]["amount_band"]["method"], "bins");
    assert_eq!(
        a["quasi_identifiers"],
        serde_json::json!(["operator", "amount_band"])
    );
    assert_eq!(
        report["tables"]["users"]["quasi_identifiers"],
        serde_json::json!(["gender", "registered_year"])
    );
}

/// Parquet input with real types (integers, floats, zoned timestamps), and a timestamp as a
/// quasi-identifier: counted, suppressed and written like any other.
#[test]
fn typed_parquet_input_and_an_hour_quasi_identifier() {
    use polars::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let micros = |s: &str| {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .timestamp_micros()
    };
    let ts = Series::new(
        "ts".into(),
        [
            micros("2026-11-19T10:15:00Z"),
            micros("2026-11-19T10:40:00Z"),
            micros("2026-11-19T15:59:59+05:00"), // 10:59:59 UTC
            micros("2026-11-19T11:05:00Z"),      // alone in its hour
            micros("2026-09-01T10:00:00Z"),      // older than 30 days
        ],
    )
    .cast(&DataType::Datetime(
        TimeUnit::Microseconds,
        Some(TimeZone::UTC),
    ))
    .unwrap();
    let mut df = DataFrame::new_infer_height(vec![
        Series::new("user_id".into(), [1i64, 2, 3, 1, 2]).into_column(),
        ts.into_column(),
        Series::new("amount".into(), [1.5f64, -0.0, 3.0, 4.0, 5.0]).into_column(),
    ])
    .unwrap();
    let f = std::fs::File::create(dir.path().join("events.parquet")).unwrap();
    ParquetWriter::new(f).finish(&mut df).unwrap();
    std::fs::write(
        dir.path().join("job.toml"),
        r#"
name = "typed"
output = "out"
[key]
env = "ANONYMIZE_KEY"
[tables.events]
input = "events.parquet"
subject = "user_id"
retention = { column = "ts", days = 30 }
[tables.events.privacy]
k = 2
max_suppression = 0.5
[tables.events.columns]
user_id = { action = "pseudonymize" }
ts      = { action = "generalize", method = "truncate", to = "hour", role = "quasi", as = "hour" }
amount  = { action = "keep", type = "float" }
"#,
    )
    .unwrap();
    run_job(dir.path()).success();
    let t = read_parquet(
        &dir.path()
            .join(format!("out/events/run_date={RUN_DATE}/part-00000.parquet")),
    );
    assert_eq!(t.rows, 3);
    let hours: HashSet<&str> = t
        .column("hour")
        .iter()
        .flatten()
        .map(String::as_str)
        .collect();
    assert_eq!(hours.len(), 1);
    assert!(
        hours.iter().all(|h| h.starts_with("2026-11-19T10:00:00")),
        "{hours:?}"
    );
    assert!(matches!(
        t.dtype("hour"),
        arrow::datatypes::DataType::Timestamp(_, Some(_))
    ));
    // Integer ids are pseudonymized as their text: the same pseudonym as "1" from a CSV.
    assert!(t.column("user_id").contains(&Some(pseudonym(KEY, "1"))));
    assert!(!t.column("amount").contains(&Some("-0.0".into())));
    let report = report_in(&dir.path().join("out"));
    let e = &report["tables"]["events"];
    assert_eq!(
        (e["rows_expired"].as_u64(), e["rows_suppressed"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(e["subjects_out"], 3);
}

/// `normalize` makes spellings of one value one pseudonym, and one person for k.
#[test]
fn normalized_pseudonyms_join_spellings_and_count_one_person() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("d.csv"),
        "email,segment\nA@Mail.kz ,x\na@mail.kz,x\nb@mail.kz,x\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("job.toml"),
        "name = \"n\"\noutput = \"out\"\n[key]\nenv = \"ANONYMIZE_KEY\"\n[tables.t]\n\
         input = \"d.csv\"\nsubject = \"email\"\n[tables.t.privacy]\nk = 3\nmax_suppression = 1.0\n\
         [tables.t.columns]\nemail = { action = \"pseudonymize\", normalize = \"email\" }\n\
         segment = { action = \"keep\", role = \"quasi\" }\n",
    )
    .unwrap();
    run_job(dir.path()).success();
    let report = report_in(&dir.path().join("out"));
    // Two people, not three: the class of 3 rows is under k = 3 and suppressed.
    assert_eq!(report["tables"]["t"]["rows_suppressed"], 3);
    assert_eq!(report["tables"]["t"]["subjects_suppressed"], 2);

    // With k = 2 the two people are written, the two spellings under one pseudonym.
    let job = std::fs::read_to_string(dir.path().join("job.toml")).unwrap();
    std::fs::write(dir.path().join("job.toml"), job.replace("k = 3", "k = 2")).unwrap();
    run_job(dir.path()).success();
    let t = read_parquet(
        &dir.path()
            .join(format!("out/t/run_date={RUN_DATE}/part-00000.parquet")),
    );
    // (Rows are written sorted by value, not in the input's order.)
    let count = |who: &str| {
        let p = Some(pseudonym(KEY, who));
        t.column("email").iter().filter(|e| **e == p).count()
    };
    assert_eq!((count("a@mail.kz"), count("b@mail.kz"), t.rows), (2, 1, 3));
}

/// `birth_year` cohorts are a function of the birth date alone: on two nights a year apart
/// every person present in both has the same cohort (10-year age bands would move for about a
/// tenth of them, on their birthdays, giving away the day of birth: see `method::birth_year`).
#[test]
fn birth_year_cohorts_do_not_move_between_nights() {
    let p = Project::small_unlinked();
    p.edit_job(|j| {
        j.replace(
            "method = \"age\", band = 10, top = 70,",
            "method = \"birth_year\", band = 10,",
        )
    });
    let mut nights = Vec::new();
    for date in [RUN_DATE, "2027-11-20"] {
        p.run_on(KEY, date).assert().success();
        let users = read_parquet(
            &p.out()
                .join(format!("users/run_date={date}/part-00000.parquet")),
        );
        let cohorts: std::collections::HashMap<String, Option<String>> = (0..users.rows)
            .filter_map(|i| {
                let id = users.column("user_id")[i].clone()?;
                Some((id, users.column("age_band")[i].clone()))
            })
            .collect();
        nights.push(cohorts);
    }
    let mut compared = 0;
    for (id, cohort) in &nights[0] {
        if let Some(next) = nights[1].get(id) {
            assert_eq!(next, cohort, "a band moved between nights");
            compared += 1;
        }
        let Some(v) = cohort else { continue };
        assert!(
            v == "*" || (v.len() == 9 && v[..4].parse::<i32>().is_ok_and(|y| y % 10 == 0)),
            "{v}"
        );
    }
    assert!(compared > 1000, "{compared} people in both nights");
}
