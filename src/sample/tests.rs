use std::collections::{HashMap, HashSet};
use std::path::Path;

use chrono::{DateTime, FixedOffset};

use super::*;

fn until() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 15).expect("valid date")
}

fn opts(users: u64, events: u64, seed: u64, format: SampleFormat) -> SampleOptions {
    SampleOptions {
        users,
        events,
        seed,
        until: until(),
        format,
    }
}

fn run(o: &SampleOptions) -> (tempfile::TempDir, SampleSummary) {
    let dir = tempfile::tempdir().expect("tempdir");
    let summary = generate(o, dir.path()).expect("generate");
    (dir, summary)
}

/// Header and rows of a CSV file; the csv reader itself rejects rows with a different field
/// count than the header, and the test checks it again explicitly.
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_path(path).expect("open csv");
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.expect("record").iter().map(str::to_owned).collect())
        .collect();
    for row in &rows {
        assert_eq!(row.len(), header.len(), "{}: {row:?}", path.display());
    }
    (header, rows)
}

fn parse_ts(ts: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(ts).unwrap_or_else(|e| panic!("{ts}: {e}"))
}

#[test]
fn same_seed_gives_identical_bytes_and_other_seed_differs() {
    for format in [
        SampleFormat::Csv,
        SampleFormat::Ndjson,
        SampleFormat::Parquet,
    ] {
        let (a_dir, a) = run(&opts(150, 2000, 7, format));
        let (b_dir, b) = run(&opts(150, 2000, 7, format));
        let (c_dir, c) = run(&opts(150, 2000, 8, format));
        assert_eq!(a.files.len(), b.files.len());
        for (fa, fb) in a.files.iter().zip(&b.files) {
            assert_eq!(
                fa.strip_prefix(a_dir.path()).ok(),
                fb.strip_prefix(b_dir.path()).ok()
            );
            let (x, y) = (
                std::fs::read(fa).expect("read"),
                std::fs::read(fb).expect("read"),
            );
            assert!(x == y, "{format:?}: {} differs between runs", fa.display());
        }
        let users_a = std::fs::read(&a.files[0]).expect("read");
        let users_c = std::fs::read(&c.files[0]).expect("read");
        assert_ne!(
            users_a, users_c,
            "{format:?}: another seed gave the same users"
        );
        let events_a = std::fs::read(&a.files[3]).expect("read");
        let events_c = std::fs::read(&c.files[3]).expect("read");
        assert_ne!(
            events_a, events_c,
            "{format:?}: another seed gave the same events"
        );
        drop(c_dir);
    }
}

#[test]
fn layout_headers_and_row_counts() {
    let (dir, summary) = run(&opts(300, 5000, 1, SampleFormat::Csv));
    assert_eq!((summary.users, summary.events), (300, 5000));
    assert_eq!(summary.files[0], dir.path().join("users/users.csv"));
    // Window 2020-01-15 .. 2026-01-14: seven calendar years.
    let names: Vec<String> = summary.files[1..]
        .iter()
        .map(|f| {
            f.strip_prefix(dir.path())
                .expect("under out")
                .display()
                .to_string()
        })
        .collect();
    let expected: Vec<String> = (2020..=2026)
        .map(|y| format!("activity/activity-{y}.csv"))
        .collect();
    assert_eq!(names, expected);

    let (header, users) = read_csv(&summary.files[0]);
    assert_eq!(header, USER_COLUMNS);
    assert_eq!(users.len(), 300);
    for (i, row) in users.iter().enumerate() {
        assert_eq!(row[0], (FIRST_USER_ID + i as u64).to_string());
    }
    let mut total = 0;
    for file in &summary.files[1..] {
        let (header, rows) = read_csv(file);
        assert_eq!(header, ACTIVITY_COLUMNS);
        total += rows.len();
    }
    assert_eq!(total, 5000);
}

#[test]
fn users_look_right() {
    let (_dir, summary) = run(&opts(4000, 0, 3, SampleFormat::Csv));
    let (_, users) = read_csv(&summary.files[0]);
    let hierarchy = hierarchy_values();
    let mut emails = HashSet::new();
    let (mut no_birth, mut no_gender, mut no_city, mut unknown_city, mut latin) = (0, 0, 0, 0, 0);
    let mut offsets = HashSet::new();
    for row in &users {
        let [
            user_id,
            full_name,
            email,
            phone,
            birth,
            gender,
            city,
            registered,
        ] = &row[..]
        else {
            panic!("{row:?}")
        };
        assert!(
            full_name.contains(' ') && !full_name.is_ascii(),
            "{full_name}"
        );
        assert!(email.contains(&format!("{user_id}@")), "{email}");
        assert!(emails.insert(email.clone()), "duplicate e-mail {email}");
        let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
        assert_eq!(digits.len(), 11, "{phone}");
        assert!(phone.starts_with("+7") || phone.starts_with('8'), "{phone}");
        if birth.is_empty() {
            no_birth += 1;
        } else {
            let born = NaiveDate::parse_from_str(birth, "%Y-%m-%d").expect("birth date");
            let age = until().years_since(born).expect("born before until");
            assert!((16..=85).contains(&age), "{birth}: {age}");
        }
        match gender.as_str() {
            "" => no_gender += 1,
            "F" | "M" => {}
            other => panic!("gender {other}"),
        }
        if city.is_empty() {
            no_city += 1;
        } else if !hierarchy.contains(city.as_str()) {
            unknown_city += 1;
        } else if city.is_ascii() {
            latin += 1;
        }
        let reg = parse_ts(registered);
        offsets.insert(reg.offset().local_minus_utc());
        let day = reg.date_naive();
        assert!(
            day < until() && day >= until() - Days::new(WINDOW_DAYS),
            "{registered}"
        );
    }
    let n = users.len() as f64;
    let share = |x: i32| f64::from(x) / n;
    assert!(
        (0.015..0.05).contains(&share(no_birth)),
        "no birth date {no_birth}"
    );
    assert!(
        (0.005..0.04).contains(&share(no_gender)),
        "no gender {no_gender}"
    );
    assert!(
        (0.002..0.025).contains(&share(no_city)),
        "no city {no_city}"
    );
    assert!(
        (0.01..0.045).contains(&share(unknown_city)),
        "unknown city {unknown_city}"
    );
    assert!((0.015..0.05).contains(&share(latin)), "latin {latin}");
    assert_eq!(offsets, HashSet::from([5 * 3600, 6 * 3600]));
}

#[test]
fn events_look_right() {
    let (_dir, summary) = run(&opts(500, 30_000, 11, SampleFormat::Csv));
    let (_, users) = read_csv(&summary.files[0]);
    let email_of: HashMap<&str, &str> = users
        .iter()
        .map(|u| (u[0].as_str(), u[2].as_str()))
        .collect();

    let five_years_ago = until().checked_sub_months(Months::new(60)).expect("date");
    let mut ids = HashSet::new();
    let (mut old, mut encoded, mut plain, mut v6, mut purchases, mut no_carrier) =
        (0, 0, 0, 0, 0, 0);
    let mut per_user: HashMap<String, usize> = HashMap::new();
    let mut cookies: HashMap<String, HashSet<String>> = HashMap::new();
    for file in &summary.files[1..] {
        let year: i32 = file.to_string_lossy()[file.to_string_lossy().len() - 8..][..4]
            .parse()
            .expect("year in file name");
        let (_, rows) = read_csv(file);
        let mut previous = None;
        for row in &rows {
            let [id, user, ts, kind, url, ip, cookie, agent, carrier, amount] = &row[..] else {
                panic!("{row:?}")
            };
            assert!(id.starts_with("ev-") && id.len() == 15, "{id}");
            assert!(ids.insert(id.clone()), "duplicate event id {id}");
            let email = email_of
                .get(user.as_str())
                .unwrap_or_else(|| panic!("user {user}"));
            let t = parse_ts(ts);
            assert_eq!(t.year(), year, "{ts} in {}", file.display());
            assert!(
                previous <= Some(t),
                "events out of order in {}",
                file.display()
            );
            previous = Some(t);
            if t.date_naive() < five_years_ago {
                old += 1;
            }
            assert!(url.starts_with("https://shop.kz/"), "{url}");
            if kind == "search" {
                assert!(url.contains("/search?q="), "{url}");
            }
            let encoded_email = email.replace('@', "%40");
            if url.contains(&format!("email={encoded_email}")) {
                encoded += 1;
            } else if url.contains(&format!("email={email}")) {
                plain += 1;
            } else {
                assert!(!url.contains("email="), "foreign e-mail in {url}");
            }
            if ip.contains(':') {
                v6 += 1;
            }
            assert_eq!(cookie.len(), 32);
            assert!(
                cookie
                    .bytes()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
            );
            cookies
                .entry(user.clone())
                .or_default()
                .insert(cookie.clone());
            assert!(agent.starts_with("Mozilla/5.0 ("), "{agent}");
            if carrier.is_empty() {
                no_carrier += 1;
            }
            if kind == "purchase" {
                purchases += 1;
                let value: f64 = amount.parse().expect("amount");
                assert!((500.0..=2_000_000.0).contains(&value), "{amount}");
                assert_eq!(
                    amount.split_once('.').map(|(_, c)| c.len()),
                    Some(2),
                    "{amount}"
                );
            } else {
                assert!(amount.is_empty(), "{kind} with amount {amount}");
            }
            *per_user.entry(user.clone()).or_default() += 1;
        }
    }
    let n = ids.len() as f64;
    assert_eq!(ids.len(), 30_000);
    let share = |x: i32| f64::from(x) / n;
    assert!(
        (0.13..0.20).contains(&share(old)),
        "older than five years: {old}"
    );
    assert!(
        (0.04..0.06).contains(&share(encoded)),
        "percent-encoded e-mails: {encoded}"
    );
    assert!(
        (0.006..0.014).contains(&share(plain)),
        "plain e-mails: {plain}"
    );
    assert!((0.13..0.17).contains(&share(v6)), "IPv6: {v6}");
    assert!(
        (0.04..0.06).contains(&share(purchases)),
        "purchases: {purchases}"
    );
    assert!(
        (0.08..0.12).contains(&share(no_carrier)),
        "no carrier: {no_carrier}"
    );
    assert!(cookies.values().all(|c| (1..=3).contains(&c.len())));
    // Skew: the busiest tenth of the active users makes far more than a tenth of the events.
    let mut counts: Vec<usize> = per_user.into_values().collect();
    counts.sort_unstable_by(|a, b| b.cmp(a));
    let top: usize = counts[..counts.len() / 10].iter().sum();
    assert!(top as f64 > 0.3 * n, "top tenth made {top} events");
}

#[test]
fn user_agents_are_quoted_in_csv() {
    let (_dir, summary) = run(&opts(20, 200, 5, SampleFormat::Csv));
    let text = std::fs::read_to_string(&summary.files[6]).expect("read");
    assert!(text.contains("\"Mozilla/5.0 (") && text.contains("(KHTML, like Gecko)"));
    assert!(!text.contains('\r'), "LF line ends only");
    assert!(text.ends_with('\n'));
}

#[test]
fn ndjson_lines_are_objects_of_strings_and_nulls() {
    let (_dir, summary) = run(&opts(50, 1000, 2, SampleFormat::Ndjson));
    let mut events = 0;
    for (i, file) in summary.files.iter().enumerate() {
        let columns = if i == 0 {
            USER_COLUMNS
        } else {
            ACTIVITY_COLUMNS
        };
        let text = std::fs::read_to_string(file).expect("read");
        for line in text.lines() {
            let value: serde_json::Value = serde_json::from_str(line).expect("json line");
            let object = value.as_object().expect("object");
            let keys: Vec<&str> = object.keys().map(String::as_str).collect();
            assert_eq!(keys, columns);
            assert!(
                object.values().all(|v| v.is_string() || v.is_null()),
                "{line}"
            );
            if i > 0 {
                events += 1;
                let is_purchase = object["event_type"] == "purchase";
                assert_eq!(object["amount_kzt"].is_null(), !is_purchase, "{line}");
            }
        }
    }
    assert_eq!(events, 1000);
}

#[test]
fn parquet_reads_back_as_strings() {
    use polars::prelude::{DataType, ParquetReader, SerReader};
    let (_dir, summary) = run(&opts(50, 1000, 2, SampleFormat::Parquet));
    let mut events = 0;
    for (i, file) in summary.files.iter().enumerate() {
        let df = ParquetReader::new(std::fs::File::open(file).expect("open"))
            .finish()
            .expect("read parquet");
        let columns = if i == 0 {
            USER_COLUMNS
        } else {
            ACTIVITY_COLUMNS
        };
        let names: Vec<&str> = df.get_column_names().iter().map(|n| n.as_str()).collect();
        assert_eq!(names, columns);
        assert!(df.dtypes().iter().all(|d| *d == DataType::String));
        if i == 0 {
            assert_eq!(df.height(), 50);
        } else {
            events += df.height();
        }
    }
    assert_eq!(events, 1000);
}

#[test]
fn stale_year_files_are_removed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let stale = dir.path().join("activity/activity-2001.csv");
    let other = dir.path().join("activity/notes.csv");
    std::fs::create_dir_all(dir.path().join("activity")).expect("mkdir");
    std::fs::write(&stale, "x\n").expect("write");
    std::fs::write(&other, "x\n").expect("write");
    generate(&opts(5, 10, 1, SampleFormat::Csv), dir.path()).expect("generate");
    assert!(!stale.exists());
    assert!(other.exists());
}

#[test]
fn events_without_users_are_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = generate(&opts(0, 10, 1, SampleFormat::Csv), dir.path()).expect_err("no users");
    assert!(matches!(err, SampleError::InvalidOptions(_)));
    // No users and no events is fine: header-only files.
    let summary = generate(&opts(0, 0, 1, SampleFormat::Csv), dir.path()).expect("empty");
    assert_eq!(read_csv(&summary.files[0]).1.len(), 0);
}

#[test]
fn event_ids_never_collide() {
    let key = mix(42, STREAM_EVENT_IDS, 0);
    let ids: HashSet<u64> = (0..200_000).map(|c| event_id_bits(c, key)).collect();
    assert_eq!(ids.len(), 200_000);
    assert!(ids.iter().all(|&id| id < 1 << 48));
}

const HIERARCHY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/jobs/hierarchies/kz_cities.csv"
);

fn hierarchy_values() -> HashSet<String> {
    let text = std::fs::read_to_string(HIERARCHY).expect("read hierarchy");
    text.lines()
        .map(|l| l.split(';').next().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn hierarchy_covers_every_city_spelling_the_generator_emits() {
    let text = std::fs::read_to_string(HIERARCHY).expect("read hierarchy");
    assert!(text.ends_with('\n') && !text.contains('\r'));
    let mut rows: HashMap<&str, Vec<&str>> = HashMap::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split(';').collect();
        assert_eq!(fields.len(), 4, "{line}");
        assert_eq!(fields[3], "*", "{line}");
        assert!(
            ["Север", "Юг", "Запад", "Восток", "Центр"].contains(&fields[2]),
            "{line}"
        );
        assert!(rows.insert(fields[0], fields).is_none(), "duplicate {line}");
    }
    for city in CITIES {
        for spelling in [Some(city.name), city.kazakh, Some(city.latin)]
            .into_iter()
            .flatten()
        {
            let row = rows
                .get(spelling)
                .unwrap_or_else(|| panic!("{spelling} missing"));
            assert_eq!(row[1..3], [city.region, city.macro_region], "{spelling}");
        }
    }
    for village in names::RARE_VILLAGES {
        assert!(
            !rows.contains_key(village),
            "{village} must stay out of the hierarchy"
        );
    }
    assert!(!rows.contains_key(" алматы ") && !rows.contains_key("АСТАНА"));
}

#[test]
fn surnames_and_transliteration() {
    let mut s = String::new();
    names::push_surname(&mut s, "Жумабаев", true);
    s.push(' ');
    names::push_surname(&mut s, "Серікұлы", true);
    s.push(' ');
    names::push_surname(&mut s, "Ким", true);
    assert_eq!(s, "Жумабаева Серікқызы Ким");
    let mut t = String::new();
    names::push_translit(&mut t, "Айгерим Жумабаева Әсел Қайрат");
    assert_eq!(t, "aigerimzhumabaevaaselkairat");
}

/// Timing probe, not a check: `cargo test --lib sample::tests::timing -- --ignored --nocapture`.
/// `SAMPLE_TIMING=users,events[,csv|ndjson|parquet]` changes the size and format.
#[test]
#[ignore = "slow: generates 1 M events"]
fn timing_100k_users_1m_events() {
    let setting = std::env::var("SAMPLE_TIMING").unwrap_or_else(|_| "100000,1000000".into());
    let parts: Vec<&str> = setting.split(',').collect();
    let users = parts[0].parse().expect("users");
    let events = parts[1].parse().expect("events");
    let formats = match parts.get(2) {
        Some(&"csv") => vec![SampleFormat::Csv],
        Some(&"ndjson") => vec![SampleFormat::Ndjson],
        Some(&"parquet") => vec![SampleFormat::Parquet],
        _ => vec![
            SampleFormat::Csv,
            SampleFormat::Ndjson,
            SampleFormat::Parquet,
        ],
    };
    for format in formats {
        let started = std::time::Instant::now();
        let (_dir, summary) = run(&opts(users, events, 1, format));
        let bytes: u64 = summary
            .files
            .iter()
            .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
            .sum();
        println!(
            "{format:?}: {:.1?}, {} MB",
            started.elapsed(),
            bytes / 1_000_000
        );
    }
}

#[test]
fn sinks_escape_what_needs_escaping() {
    let dir = tempfile::tempdir().expect("tempdir");
    let columns: &'static [&'static str] = &["a", "b"];
    for format in [SampleFormat::Csv, SampleFormat::Ndjson] {
        let path = dir.path().join(format!("t.{}", format.extension()));
        let mut sink = RowSink::create(path, format, columns).expect("create");
        sink.write_row(&[Some("say \"hi\"\n, ok\\"), None])
            .expect("write");
        let path = sink.finish().expect("finish");
        let text = std::fs::read_to_string(&path).expect("read");
        if format == SampleFormat::Csv {
            let (_, rows) = read_csv(&path);
            assert_eq!(rows, [["say \"hi\"\n, ok\\", ""]]);
        } else {
            let value: serde_json::Value = serde_json::from_str(&text).expect("json");
            assert_eq!(
                value,
                serde_json::json!({"a": "say \"hi\"\n, ok\\", "b": null})
            );
        }
    }
}

/// Eyeballing aid: `cargo test --lib sample::tests::show -- --ignored --nocapture`.
#[test]
#[ignore = "prints sample rows"]
fn show_sample_rows() {
    let (_dir, summary) = run(&opts(1000, 20_000, 1, SampleFormat::Csv));
    for file in [&summary.files[0], &summary.files[4]] {
        let text = std::fs::read_to_string(file).expect("read");
        for line in text.lines().take(25) {
            println!("{line}");
        }
    }
}
