//! Across nights: an analyst who keeps every night's release lines a person's rows up on the
//! stable pseudonym. These tests write several nights into one output and measure, with their
//! own intersection (arrow-rs reading, not the run's code), what the nights say together.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chrono::{Datelike, NaiveDate};
use common::{KEY, Project, bin, pseudonym, read_parquet};

/// A users-only job: Mondrian over age, gender and region, stable pseudonyms.
const MONDRIAN: &str = r#"
name = "nights"
output = "out"
[key]
env = "ANONYMIZE_KEY"
[tables.users]
input = "n1/users/*.csv"
subject = "user_id"
[tables.users.privacy]
k = 5
max_suppression = 0.5
search = "mondrian"
[tables.users.columns]
user_id       = { action = "pseudonymize" }
full_name     = { action = "drop" }
email         = { action = "drop" }
phone         = { action = "drop" }
birth_date    = { action = "generalize", method = "age", top = 70, role = "quasi", as = "age", invalid = "null" }
gender        = { action = "keep", role = "quasi" }
city          = { action = "generalize", method = "hierarchy", file = "kz_cities.csv", role = "quasi", as = "region", invalid = "top" }
registered_at = { action = "drop" }
"#;

const QIS: [&str; 3] = ["age", "gender", "region"];

/// `job` as `dir/job.toml`, with the hierarchy it names beside it.
fn job_in(dir: &Path, job: &str) {
    std::fs::write(dir.join("job.toml"), job).unwrap();
    std::fs::copy(
        common::repo().join("jobs/hierarchies/kz_cities.csv"),
        dir.join("kz_cities.csv"),
    )
    .unwrap();
}

/// `anonymize sample` of `users` people into `dir/name` (the same seed and end date: a larger
/// sample holds the smaller one's people, unchanged, and more).
fn sample(dir: &Path, name: &str, users: u64) {
    bin()
        .args(["sample", "--users", &users.to_string(), "--events", "10"])
        .args(["--seed", "5", "--until", common::UNTIL, "--out"])
        .arg(dir.join(name))
        .assert()
        .success();
}

fn run(dir: &Path, job: &str, date: &str, users: &str, output: &str) -> assert_cmd::assert::Assert {
    bin()
        .current_dir(dir)
        .env("ANONYMIZE_KEY", KEY)
        .args(["run", job, "--run-date", date, "--output", output])
        .args(["--input", &format!("users={users}/users/*.csv")])
        .assert()
}

/// A night's people: pseudonym → their quasi-identifier values.
fn people(output: &Path, table: &str, date: &str, qis: &[&str]) -> BTreeMap<String, Vec<String>> {
    let t = read_parquet(&output.join(format!("{table}/run_date={date}/part-00000.parquet")));
    let ids = t.column("user_id");
    (0..t.rows)
        .map(|i| {
            let values = qis
                .iter()
                .map(|q| t.column(q)[i].clone().unwrap_or_else(|| "null".into()))
                .collect();
            (ids[i].clone().unwrap(), values)
        })
        .collect()
}

/// The report of `date` under `output`.
fn report_of(output: &Path, date: &str) -> serde_json::Value {
    let file = output.join(format!("_reports/run_date={date}.json"));
    serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap()
}

/// A label as a closed range: `33`, `31-35`, `70+`.
fn range(s: &str) -> Option<(i64, i64)> {
    if let Some(x) = s.strip_suffix('+') {
        return Some((x.parse().ok()?, i64::MAX));
    }
    if let Ok(x) = s.parse() {
        return Some((x, x));
    }
    let (a, b) = s.split_once('-')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// A range written one way: `33`, `31-35`, `70+`.
fn written(lo: i64, hi: i64) -> String {
    match (lo, hi) {
        (lo, hi) if lo == hi => lo.to_string(),
        (lo, i64::MAX) => format!("{lo}+"),
        (lo, hi) => format!("{lo}-{hi}"),
    }
}

/// What two nights' values of one person say together: the narrower where they nest or
/// overlap, both otherwise.
fn intersect(a: &str, b: &str) -> String {
    if a == b || b == "*" {
        return a.to_string();
    }
    if a == "*" {
        return b.to_string();
    }
    if let (Some(x), Some(y)) = (range(a), range(b)) {
        let (lo, hi) = (x.0.max(y.0), x.1.min(y.1));
        if lo <= hi {
            return written(lo, hi);
        }
    }
    format!("{a} then {b}")
}

/// The view of the second night's people with the first night's: their classes' sizes by
/// person.
fn intersected(
    first: &BTreeMap<String, Vec<String>>,
    second: &BTreeMap<String, Vec<String>>,
) -> BTreeMap<String, usize> {
    let label = |id: &String, now: &Vec<String>| -> Vec<String> {
        match first.get(id) {
            Some(before) => before
                .iter()
                .zip(now)
                .map(|(a, b)| intersect(a, b))
                .collect(),
            // People new tonight: what tonight says, written the same way.
            None => now
                .iter()
                .map(|v| match range(v) {
                    Some((lo, hi)) => written(lo, hi),
                    None => v.clone(),
                })
                .collect(),
        }
    };
    let mut classes: HashMap<Vec<String>, usize> = HashMap::new();
    for (id, now) in second {
        *classes.entry(label(id, now)).or_default() += 1;
    }
    second
        .iter()
        .map(|(id, now)| (id.clone(), classes[&label(id, now)]))
        .collect()
}

fn smallest(sizes: &BTreeMap<String, usize>) -> usize {
    sizes.values().copied().min().unwrap_or(0)
}

#[test]
fn mondrian_nights_hold_k_together_only_with_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    job_in(d, MONDRIAN);
    sample(d, "n1", 1500);
    sample(d, "n2", 1700); // 200 people register between the nights
    run(d, "job.toml", "2026-11-20", "n1", "out").success();
    // The second night alone, as it would be written without a night before it.
    run(d, "job.toml", "2026-11-21", "n2", "plain").success();
    run(d, "job.toml", "2026-11-21", "n2", "out").success();

    let first = people(&d.join("out"), "users", "2026-11-20", &QIS);
    let plain = people(&d.join("plain"), "users", "2026-11-21", &QIS);
    let checked = people(&d.join("out"), "users", "2026-11-21", &QIS);
    let unchecked = intersected(&first, &plain);
    let under_k = unchecked.values().filter(|n| **n < 5).count();
    assert!(
        smallest(&unchecked) < 5 && under_k >= 5,
        "Mondrian's ranges moved, yet the nights together hold k: {under_k} under k"
    );
    assert!(
        smallest(&intersected(&first, &checked)) >= 5,
        "with the check, a class of the nights together is under k"
    );
    // The check took out the people the unchecked night singled out, and only what it had to.
    let report = report_of(&d.join("out"), "2026-11-21");
    let across = &report["tables"]["users"]["across_nights"];
    assert_eq!(across["nights_compared"], 1, "{across}");
    let compared = across["people_compared"].as_u64().unwrap();
    let suppressed = across["subjects_suppressed"].as_u64().unwrap();
    assert_eq!(
        compared,
        checked.keys().filter(|p| first.contains_key(*p)).count() as u64
    );
    assert!(suppressed >= under_k as u64 / 2, "{across}");
    assert_eq!(
        suppressed + report["tables"]["users"]["rows_out"].as_u64().unwrap(),
        plain.len() as u64,
        "the check suppressed people, or people went missing: {across}"
    );
    assert!(across["smallest_class"].as_u64().unwrap() >= 5, "{across}");
    let moved: Vec<&str> = across["columns_moved"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(moved.contains(&"age"), "{moved:?}");
    assert!(
        report["tables"]["users"]["rows_suppressed"]
            .as_u64()
            .unwrap()
            >= suppressed,
        "the report's suppression leaves out the check's"
    );

    // verify --across-nights: the checked nights hold, the unchecked pair does not.
    let verify = |dataset: &str| {
        let mut c = bin();
        c.current_dir(d)
            .args(["verify", dataset, "--job", "job.toml", "--across-nights"]);
        c.assert()
    };
    let out = verify("out").success().get_output().stdout.clone();
    let out = String::from_utf8_lossy(&out);
    assert!(out.contains("k = 5 holds across nights"), "{out}");
    let mixed = d.join("mixed/users");
    std::fs::create_dir_all(&mixed).unwrap();
    for (from, date) in [("out", "2026-11-20"), ("plain", "2026-11-21")] {
        let part = mixed.join(format!("run_date={date}"));
        std::fs::create_dir_all(&part).unwrap();
        std::fs::copy(
            d.join(from)
                .join(format!("users/run_date={date}/part-00000.parquet")),
            part.join("part-00000.parquet"),
        )
        .unwrap();
    }
    let failed = verify("mixed").code(4).get_output().clone();
    let said = String::from_utf8_lossy(&failed.stdout).to_string()
        + &String::from_utf8_lossy(&failed.stderr);
    assert!(
        said.contains("classes under k = 5") && said.contains("moved between nights"),
        "{said}"
    );
    // Columns are named, values never.
    for values in plain.values().take(50) {
        for v in values.iter().filter(|v| v.len() > 3) {
            assert!(!said.contains(&format!(" {v} ")), "a value in: {said}");
        }
    }
}

/// The people of `rows` whose age on `date` is a multiple of ten they reach that day (below
/// the open top band of 70): their band moves that night.
fn turning_a_decade(rows: &[BTreeMap<String, String>], date: NaiveDate) -> Vec<String> {
    rows.iter()
        .filter_map(|r| {
            let born = NaiveDate::parse_from_str(&r["birth_date"], "%Y-%m-%d").ok()?;
            let age = date.year() - born.year();
            let today = born.month() == date.month() && born.day() == date.day();
            (today && age % 10 == 0 && (10..=70).contains(&age)).then(|| r["user_id"].clone())
        })
        .collect()
}

/// The shipped job with ages in 10-year bands where it has birth cohorts, without its lock.
fn with_ages(p: &Project, band: &str) {
    let _ = std::fs::remove_file(p.path().join("jobs/marketing_research.lock.toml"));
    p.edit_job(|j| {
        let mut replaced = 0;
        let out: Vec<String> = j
            .lines()
            .map(|l| {
                if l.starts_with("city ") {
                    // Fixed, so that only the birthdays move.
                    l.replace("levels = [2, 3]", "level = 2")
                } else if l.starts_with("birth_date ") {
                    replaced += 1;
                    format!(
                        "birth_date = {{ action = \"generalize\", method = \"age\", {band} \
                         top = 70, role = \"quasi\", as = \"age\" }}"
                    )
                } else {
                    l.to_string()
                }
            })
            .collect();
        assert_eq!(replaced, 1);
        out.join("\n")
    });
}

#[test]
fn a_band_that_moves_on_a_birthday_is_caught() {
    let p = Project::small();
    with_ages(&p, "level = 2,");
    let users = p.input_rows("users");
    // The first night whose birthdays move someone into another band.
    let start = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
    let (night, movers) = (0..366)
        .map(|i| start + chrono::Days::new(i))
        .map(|d| (d, turning_a_decade(&users, d)))
        .find(|(_, m)| m.len() >= 2)
        .expect("a night with birthdays that cross a band");
    let before = (night - chrono::Days::new(1)).to_string();
    let night = night.to_string();
    p.run_on(KEY, &before).assert().success();
    // Without the check (a fresh output), the movers' two nights give their birth date.
    let plain = p.path().join("plain");
    p.run_on(KEY, &night)
        .arg("--output")
        .arg(&plain)
        .assert()
        .success();
    p.run_on(KEY, &night).assert().success();

    let qis = ["age", "gender", "macro_region"];
    let first = people(&p.out(), "users", &before, &qis);
    let movers: Vec<String> = movers
        .iter()
        .map(|id| pseudonym(KEY, id))
        .filter(|id| first.contains_key(id))
        .collect();
    assert!(!movers.is_empty(), "no mover was released the night before");
    let unchecked = intersected(&first, &people(&plain, "users", &night, &qis));
    for m in &movers {
        assert!(unchecked[m] < 3, "a mover hides in {} people", unchecked[m]);
    }
    let checked = people(&p.out(), "users", &night, &qis);
    for m in &movers {
        assert!(!checked.contains_key(m), "a mover's birth date is released");
    }
    assert!(smallest(&intersected(&first, &checked)) >= 3);
    let report = report_of(&p.out(), &night);
    let across = &report["tables"]["users"]["across_nights"];
    assert_eq!(
        across["columns_moved"],
        serde_json::json!(["age"]),
        "{across}"
    );
    assert!(across["subjects_suppressed"].as_u64().unwrap() >= movers.len() as u64);
    // The movers, left out of users tonight, count in activity's linked view by what the night
    // before said of them; the release holds.
    p.verify().arg("--across-nights").assert().success();
    // A back-fill commits night by night, so each night is checked against those before it.
    let filled = p.path().join("filled");
    bin()
        .current_dir(p.path())
        .env("ANONYMIZE_KEY", KEY)
        .args([
            "run",
            "jobs/marketing_research.toml",
            "--from",
            &before,
            "--to",
            &night,
        ])
        .arg("--output")
        .arg(&filled)
        .assert()
        .success();
    let filled_night = people(&filled, "users", &night, &qis);
    for m in &movers {
        assert!(
            !filled_night.contains_key(m),
            "a back-fill released a mover's birth date"
        );
    }
}

#[test]
fn ages_as_of_january_move_together_and_the_check_sees_it() {
    let p = Project::small();
    with_ages(&p, "level = 2, as_of = \"year\",");
    p.run_on(KEY, "2026-12-31").assert().success();
    p.run_on(KEY, "2027-01-01").assert().success();
    let report = report_of(&p.out(), "2027-01-01");
    let across = &report["tables"]["users"]["across_nights"];
    // Those who cross a band on New Year's night are narrowed to a birth year: the small
    // groups of them leave.
    assert_eq!(
        across["columns_moved"],
        serde_json::json!(["age"]),
        "{across}"
    );
    let crossed = across["subjects_suppressed"].as_u64().unwrap();
    assert!(crossed > 0, "{across}");
    // Nothing moves the next night, but the nights still say who crossed on New Year's: the
    // same people stay out (and will, every night of the year).
    p.run_on(KEY, "2027-01-02").assert().success();
    let report = report_of(&p.out(), "2027-01-02");
    let across = &report["tables"]["users"]["across_nights"];
    assert_eq!(across["subjects_suppressed"], crossed, "{across}");
    assert_eq!(across["nights_compared"], 2, "{across}");
}

#[test]
fn pinned_birth_cohorts_pass_seven_growing_nights_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let job = MONDRIAN
        .replace("search = \"mondrian\"", "")
        .replace(
            "method = \"age\", top = 70, role = \"quasi\", as = \"age\"",
            "method = \"birth_year\", level = 2, role = \"quasi\", as = \"born\"",
        )
        .replace(
            "file = \"kz_cities.csv\", role",
            "file = \"kz_cities.csv\", level = 2, role",
        );
    assert!(job.contains("birth_year") && job.contains("level = 2, role"));
    job_in(d, &job);
    let start = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    for i in 0..7u64 {
        let users = 1000 + 100 * i;
        let name = format!("n{i}");
        sample(d, &name, users);
        let date = (start + chrono::Days::new(i)).to_string();
        run(d, "job.toml", &date, &name, "out").success();
        // The same night alone suppresses the same: the check added nothing.
        run(d, "job.toml", &date, &name, &format!("alone{i}")).success();
        let (with, alone) = (
            report_of(&d.join("out"), &date),
            report_of(&d.join(format!("alone{i}")), &date),
        );
        let across = &with["tables"]["users"]["across_nights"];
        assert_eq!(across["nights_compared"], i, "{across}");
        assert_eq!(across["subjects_suppressed"], 0, "night {i}: {across}");
        assert_eq!(
            with["tables"]["users"]["rows_suppressed"],
            alone["tables"]["users"]["rows_suppressed"]
        );
        if i > 0 {
            assert!(
                across["people_compared"].as_u64().unwrap() >= 800,
                "{across}"
            );
        }
    }
    let mut c = bin();
    c.current_dir(d)
        .args(["verify", "out", "--job", "job.toml", "--across-nights"]);
    let out = c.assert().success().get_output().stdout.clone();
    let out = String::from_utf8_lossy(&out);
    assert_eq!(out.matches("holds across nights").count(), 6, "{out}");
}

/// The linked view across nights, counted from the files: each event of `night` with what the
/// users releases of `nights` say of its person together (their intersected values, or
/// unknown), and its year; the fewest people sharing one of its classes.
fn smallest_linked_class_across(p: &Project, nights: &[&str], qis: &[&str]) -> usize {
    // What the users releases say of each person, night after night (the people of no night
    // tonight keep what the earlier nights said).
    let mut known: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for date in nights {
        for (id, values) in people(&p.out(), "users", date, qis) {
            let now = match known.get(&id) {
                Some(before) => before
                    .iter()
                    .zip(&values)
                    .map(|(a, b)| intersect(a, b))
                    .collect(),
                None => values,
            };
            known.insert(id, now);
        }
    }
    let last = nights.last().unwrap();
    let t = read_parquet(
        &p.out()
            .join(format!("activity/run_date={last}/part-00000.parquet")),
    );
    let (ids, years) = (t.column("user_id"), t.column("year"));
    let mut classes: HashMap<(Vec<String>, String), std::collections::HashSet<String>> =
        HashMap::new();
    for i in 0..t.rows {
        let id = ids[i].clone().unwrap();
        let person = known
            .get(&id)
            .cloned()
            .unwrap_or_else(|| vec!["unknown".into()]);
        classes
            .entry((person, years[i].clone().unwrap_or_default()))
            .or_default()
            .insert(id);
    }
    classes.values().map(|s| s.len()).min().unwrap_or(0)
}

#[test]
fn a_linked_table_holds_k_on_what_the_nights_say_together() {
    let p = Project::small();
    with_ages(&p, "level = 2, as_of = \"year\",");
    // Only the link: k^m would hide the classes this counts behind its own suppression.
    p.edit_job(|j| j.replace("known_events = 2", "known_events = 1"));
    let nights = ["2026-12-31", "2027-01-01", "2027-01-02"];
    for n in nights {
        p.run_on(KEY, n).assert().success();
    }
    let qis = ["age", "gender", "macro_region"];
    for last in 2..=nights.len() {
        let smallest = smallest_linked_class_across(&p, &nights[..last], &qis);
        assert!(
            smallest >= 3,
            "night {}: a linked class of {smallest}",
            nights[last - 1]
        );
    }
}

#[test]
fn over_the_limit_the_run_stops_naming_the_columns_that_moved() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Mondrian suppresses nothing on its own: all the suppression is the check's.
    std::fs::write(
        d.join("job.toml"),
        MONDRIAN.replace("max_suppression = 0.5", "max_suppression = 0.001"),
    )
    .unwrap();
    std::fs::copy(
        common::repo().join("jobs/hierarchies/kz_cities.csv"),
        d.join("kz_cities.csv"),
    )
    .unwrap();
    sample(d, "n1", 1500);
    sample(d, "n2", 1700);
    run(d, "job.toml", "2026-11-20", "n1", "out").success();
    let failed = run(d, "job.toml", "2026-11-21", "n2", "out").code(4);
    let err = String::from_utf8_lossy(&failed.get_output().stderr).to_string();
    assert!(
        err.contains("The earlier nights single out") && err.contains("`age`"),
        "{err}"
    );
    assert!(err.contains("Nothing was written."), "{err}");
    assert!(!d.join("out/users/run_date=2026-11-21").exists());
    // No pseudonym of the night before in the message.
    for id in people(&d.join("out"), "users", "2026-11-20", &QIS)
        .keys()
        .take(100)
    {
        assert!(!err.contains(id.as_str()));
    }
}

/// `sortable = true` on Mondrian's age: `age_from` beside `age`, each band's lower bound as an
/// integer (`*` and open-below bands null), so ages sort as numbers; `verify` expects the
/// column. On a column that is not a band, the job is refused.
#[test]
fn sortable_bands_carry_their_lower_bound() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let job = MONDRIAN.replace(
        "as = \"age\", invalid",
        "as = \"age\", sortable = true, invalid",
    );
    job_in(d, &job);
    sample(d, "n1", 1500);
    run(d, "job.toml", "2026-11-20", "n1", "out").success();
    let t = read_parquet(&d.join("out/users/run_date=2026-11-20/part-00000.parquet"));
    let names: Vec<&str> = t.columns.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["user_id", "age", "age_from", "gender", "region"]);
    assert_eq!(t.dtype("age_from"), &arrow::datatypes::DataType::Int64);
    let mut labels = BTreeMap::new();
    for (label, from) in t.column("age").iter().zip(t.column("age_from")) {
        let label = label.clone().unwrap_or_default();
        let want = match label.as_str() {
            "*" | "" => None,
            l => Some(
                l.trim_end_matches('+')
                    .split('-')
                    .next()
                    .unwrap()
                    .parse::<i64>()
                    .unwrap()
                    .to_string(),
            ),
        };
        assert_eq!(from, &want, "{label}");
        labels.insert(label, from.clone());
    }
    // Mondrian wrote single ages and ranges: sorted by the bound, not as text.
    assert!(labels.len() > 3, "{labels:?}");
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(d.join("out/_reports/run_date=2026-11-20.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        report["tables"]["users"]["columns"]["age"]["sort_column"],
        "age_from"
    );
    bin()
        .current_dir(d)
        .args(["verify", "out", "--job", "job.toml"])
        .assert()
        .success();

    std::fs::write(
        d.join("job.toml"),
        job.replace(
            "user_id       = { action = \"pseudonymize\" }",
            "user_id       = { action = \"pseudonymize\", sortable = true }",
        ),
    )
    .unwrap();
    run(d, "job.toml", "2026-11-21", "n1", "out")
        .code(2)
        .stderr(predicates::str::contains(
            "users.columns.user_id.sortable: applies to band columns",
        ));
}

/// Regression (review): after a commit killed half-way, the next run read the earlier nights
/// with the killed night's partition still in place, then found them changed once recovery had
/// undone it (exit 75, a wasted pass). Recovery now comes first, and the next night runs.
#[test]
fn a_night_after_a_killed_commit_recovers_first_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    job_in(d, MONDRIAN);
    sample(d, "n1", 1500);
    run(d, "job.toml", "2026-11-20", "n1", "out").success();
    // The 21st's commit, killed after its first rename: its partition is in place, its
    // journal in its staging directory.
    let out = d.join("out");
    let staging = ".anonymize-staging-2026-11-21-1-0000000000000000";
    std::fs::create_dir_all(out.join(staging)).unwrap();
    std::fs::write(out.join(staging).join(".made-by-anonymize"), staging).unwrap();
    let half = out.join("users/run_date=2026-11-21");
    std::fs::create_dir_all(&half).unwrap();
    std::fs::copy(
        out.join("users/run_date=2026-11-20/part-00000.parquet"),
        half.join("part-00000.parquet"),
    )
    .unwrap();
    let journal = serde_json::json!([{
        "staged": format!("{staging}/users/run_date=2026-11-21"),
        "target": "users/run_date=2026-11-21",
        "aside": format!("{staging}/.previous/users"),
        "had_previous": false,
    }]);
    std::fs::write(out.join(staging).join("COMMIT.json"), journal.to_string()).unwrap();

    run(d, "job.toml", "2026-11-22", "n1", "out").success();
    assert!(!half.exists(), "the killed night was not undone");
    assert!(!out.join(staging).exists());
    assert!(
        out.join("users/run_date=2026-11-22/part-00000.parquet")
            .exists()
    );
}
