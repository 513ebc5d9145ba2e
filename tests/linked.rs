//! Linked tables (issue 14, part 1): tables whose pseudonyms join are protected together or
//! refused, `scope = "table"` pseudonyms join nothing, and a linked release holds k on the join
//! an analyst makes, checked here by value with arrow-rs, independently of the run's counts.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};

use common::{KEY, Project, RUN_DATE, bin, read_parquet};

/// The shipped job's activity, linked to users: its pseudonyms under the job's key, k = 5 over
/// the join, with coarse facts (an /8 network and the carrier; the user agent dropped), which
/// 20,000 people can hold.
fn linked(p: &Project) {
    p.edit_job(|j| {
        let (users, activity) = j.split_at(j.find("[tables.activity]").unwrap());
        let activity = activity
            .replace("# link = \"users\"", "link = \"users\"")
            .replace("k = 10", "k = 5")
            .replace(
                "{ action = \"pseudonymize\", scope = \"table\" }",
                "{ action = \"pseudonymize\" }",
            )
            .replace("v4 = 16, v6 = 32", "v4 = 8, v6 = 16")
            .replace(
                "{ action = \"generalize\", method = \"user_agent\", role = \"quasi\", as = \"device\" }",
                "{ action = \"drop\" }",
            );
        format!("{users}{activity}")
    });
}

/// A person's quasi-identifier values in users: birth cohort (age band in the unlinked job),
/// gender, macro-region.
type UsersValues = (Option<String>, Option<String>, Option<String>);

/// A job edit, and what `check` must say about it.
type Case = (&'static str, fn(String) -> String, &'static str);

/// Each person's users values as written, by pseudonym (one users row a person).
fn users_values(users: &std::path::Path) -> HashMap<String, UsersValues> {
    let u = read_parquet(users);
    // The shipped job writes `birth_cohort`, the unlinked fixture job `age_band`.
    let born = ["birth_cohort", "age_band"]
        .into_iter()
        .find(|c| u.values.contains_key(*c))
        .expect("a birth_cohort or age_band column");
    let people: HashMap<String, UsersValues> = (0..u.rows)
        .filter_map(|i| {
            let id = u.column("user_id")[i].clone()?;
            let qis = (
                u.column(born)[i].clone(),
                u.column("gender")[i].clone(),
                u.column("macro_region")[i].clone(),
            );
            Some((id, qis))
        })
        .collect();
    assert_eq!(people.len(), u.rows, "one users row a person");
    people
}

/// The smallest class of activity joined to users on `user_id`, over both tables'
/// quasi-identifiers, in distinct people; a person without a users row has unknown users values.
fn smallest_linked_class(users: &std::path::Path, activity: &std::path::Path) -> usize {
    let people = users_values(users);
    let a = read_parquet(activity);
    let mut classes: BTreeMap<Vec<Option<String>>, HashSet<String>> = BTreeMap::new();
    for i in 0..a.rows {
        let Some(id) = a.column("user_id")[i].clone() else {
            continue;
        };
        let (age, gender, region) = people.get(&id).cloned().unwrap_or_default();
        let class = vec![
            a.column("network")[i].clone(),
            a.column("carrier")[i].clone(),
            age,
            gender,
            region,
        ];
        classes.entry(class).or_default().insert(id);
    }
    assert!(!classes.is_empty());
    classes.values().map(HashSet::len).min().unwrap()
}

#[test]
fn a_linked_release_holds_k_on_the_join() {
    let p = Project::unlinked(20_000, 200_000, 3);
    linked(&p);
    let out = p.check().assert().success().get_output().stdout.clone();
    assert!(String::from_utf8_lossy(&out).contains("linked to users"));
    p.run(KEY).assert().success();
    let smallest = smallest_linked_class(&p.output_file("users"), &p.output_file("activity"));
    assert!(smallest >= 5, "a linked class of {smallest} people");
    // The report's smallest class is the linked one.
    let report = p.report();
    assert_eq!(
        report["tables"]["activity"]["min_class_subjects"].as_u64(),
        Some(smallest as u64)
    );
    // The join is worth making: most events find their person's users row.
    let a = read_parquet(&p.output_file("activity"));
    let u: HashSet<_> = read_parquet(&p.output_file("users"))
        .column("user_id")
        .iter()
        .flatten()
        .cloned()
        .collect();
    let found = a
        .column("user_id")
        .iter()
        .flatten()
        .filter(|id| u.contains(*id))
        .count();
    assert!(found * 2 > a.rows, "{found} of {} events join", a.rows);
    // `verify` recomputes the join from the written files and agrees.
    let out = p.verify().assert().success().get_output().stdout.clone();
    assert!(String::from_utf8_lossy(&out).contains("activity"));
}

/// What the link prevents: the same tables released by two jobs under one key, each with k per
/// table, join on the pseudonym into classes of fewer than k people. The check above would fail.
#[test]
fn per_table_k_under_one_key_does_not_hold_on_the_join() {
    let p = Project::unlinked(20_000, 200_000, 3);
    linked(&p);
    let job = std::fs::read_to_string(p.job()).unwrap();
    let at = job.find("[tables.activity]").unwrap();
    let users_only = job[..at].to_string();
    let activity_only = format!(
        "{}{}",
        &job[..job.find("[tables.users]").unwrap()],
        job[at..].replace("link = \"users\"", "")
    )
    .replace("out/marketing_research", "out/activity_only");
    std::fs::write(p.path().join("jobs/users_only.toml"), users_only).unwrap();
    std::fs::write(p.path().join("jobs/activity_only.toml"), activity_only).unwrap();
    for job in ["jobs/users_only.toml", "jobs/activity_only.toml"] {
        bin()
            .current_dir(p.path())
            .env("ANONYMIZE_KEY", KEY)
            .args(["-q", "run", job, "--run-date", common::RUN_DATE])
            .assert()
            .success();
    }
    let partition = format!("run_date={}", common::RUN_DATE);
    let file = |dataset: &str, table: &str| {
        p.path()
            .join("out")
            .join(dataset)
            .join(table)
            .join(&partition)
            .join("part-00000.parquet")
    };
    let smallest = smallest_linked_class(
        &file("marketing_research", "users"),
        &file("activity_only", "activity"),
    );
    assert!(
        smallest < 5,
        "the unlinked join's smallest class: {smallest}"
    );

    // `verify` with the linked job finds it too, from the files alone: the unlinked activity
    // put beside the users it joins.
    let linked_activity = file("marketing_research", "activity");
    std::fs::create_dir_all(linked_activity.parent().unwrap()).unwrap();
    std::fs::copy(file("activity_only", "activity"), &linked_activity).unwrap();
    let out = p.verify().assert().code(4).get_output().clone();
    let text = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("joined to users on the pseudonym"), "{text}");
}

#[test]
fn tables_whose_pseudonyms_join_are_refused_without_a_link() {
    let p = Project::small_unlinked();
    p.edit_job(|j| j.replace(", scope = \"table\" }", " }"));
    for mut c in [p.check(), p.run(KEY)] {
        let out = c.assert().code(2).get_output().stderr.clone();
        let err = String::from_utf8_lossy(&out);
        assert!(err.contains("tables `users` and `activity`"), "{err}");
        assert!(
            err.contains("link = \\\"users\\\"") || err.contains("link = \"users\""),
            "{err}"
        );
        assert!(
            err.contains("scope = \"table\"") || err.contains("scope = \\\"table\\\""),
            "{err}"
        );
    }
    assert!(!p.out().exists(), "a refused job writes nothing");
}

#[test]
fn links_that_cannot_hold_are_refused() {
    let cases: [Case; 7] = [
        (
            "no such table",
            |j| j.replace("# link = \"users\"", "link = \"people\""),
            "there is no table `people`",
        ),
        (
            "a later table",
            |j| {
                j.replace("# link = \"users\"", "").replace(
                    "[tables.users.privacy]\n",
                    "[tables.users.privacy]\nlink = \"activity\"\n",
                )
            },
            "listed after it",
        ),
        (
            "a table-scoped subject",
            |j| j.replace("# link = \"users\"", "link = \"users\""),
            "needs `subject` set to a column with action `pseudonymize`",
        ),
        (
            "a search in one table only",
            |j| {
                j.replace(
                    "# link = \"users\"",
                    "link = \"users\"\nsearch = \"optimal\"",
                )
                .replace(", scope = \"table\" }", " }")
            },
            "tables.activity has `search = \"optimal\"` and tables.users does not",
        ),
        (
            "Mondrian",
            |j| {
                j.replace(
                    "# link = \"users\"",
                    "link = \"users\"\nsearch = \"mondrian\"",
                )
                .replace(", scope = \"table\" }", " }")
            },
            "Mondrian (`search = \"mondrian\"` in tables.activity)",
        ),
        (
            "k^m on the linked table",
            |j| {
                j.replace("# link = \"users\"", "link = \"users\"")
                    .replace(
                        "[tables.users.privacy]\n",
                        "[tables.users.privacy]\nknown_events = 2\n",
                    )
                    .replace(", scope = \"table\" }", " }")
            },
            "set it on this table instead",
        ),
        (
            "another metric",
            |j| {
                j.replace(
                    "# link = \"users\"",
                    "link = \"users\"\nsearch = \"optimal\"\nmetric = \"entropy\"",
                )
                .replace("# search = \"optimal\" ", "search = \"optimal\" ")
                .replace(", scope = \"table\" }", " }")
            },
            "minimizes the loss metric",
        ),
    ];
    for (what, edit, message) in cases {
        let p = Project::small_unlinked();
        p.edit_job(edit);
        let out = p.check().assert().code(2).get_output().stderr.clone();
        let err = String::from_utf8_lossy(&out);
        assert!(err.contains(message), "{what}: {err}");
    }
}

/// `scope = "table"`: activity's pseudonyms are HMACs under a key derived for the table
/// (computed here independently), so no activity pseudonym is a users pseudonym.
#[test]
fn table_scoped_pseudonyms_join_nothing() {
    let p = Project::small_unlinked();
    p.run(KEY).assert().success();
    let users = read_parquet(&p.output_file("users"));
    let activity = read_parquet(&p.output_file("activity"));
    let u: HashSet<_> = users.column("user_id").iter().flatten().collect();
    assert!(
        activity
            .column("user_id")
            .iter()
            .flatten()
            .all(|id| !u.contains(id))
    );
    let raw: HashSet<String> = p
        .input_rows("activity")
        .iter()
        .map(|r| common::table_pseudonym(KEY, "activity", &r["user_id"]))
        .collect();
    assert!(
        activity
            .column("user_id")
            .iter()
            .flatten()
            .all(|id| raw.contains(id))
    );
}

/// A linked table must hold one row a person: two rows would put one person in two classes.
#[test]
fn a_linked_table_with_repeated_people_is_an_input_error() {
    let p = Project::unlinked(2_000, 4_000, 5);
    linked(&p);
    p.edit_job(|j| {
        j.replace("k = 10", "k = 1")
            .replace("k = 5", "k = 1")
            .replace("max_suppression = 0.05", "max_suppression = 1")
    });
    let users = p.path().join("sample_data/users/users.csv");
    let text = std::fs::read_to_string(&users).unwrap();
    let second = text.lines().nth(1).unwrap().to_string();
    std::fs::write(&users, format!("{text}{second}\n")).unwrap();
    let out = p.run(KEY).assert().code(3).get_output().stderr.clone();
    let err = String::from_utf8_lossy(&out);
    assert!(err.contains("one row a person"), "{err}");
}

/// The report estimates what known facts single out: 0 for one fact in any table that holds k
/// (every fact is a class of k people or more), and more than 0 for three facts of activity's
/// many-rows-a-person history, which per-class k does not stop; the page shows it in red.
#[test]
fn the_report_says_what_known_facts_single_out() {
    let p = Project::small_unlinked();
    p.run(KEY).assert().success();
    let report = p.report();
    for table in ["users", "activity"] {
        let e = &report["tables"][table]["exposure"];
        assert_eq!(e["singled_out_by"][0]["known_facts"], 1, "{table}: {e}");
        assert_eq!(e["singled_out_by"][0]["share"], 0.0, "{table}: {e}");
        assert!(e["sample_people"].as_u64().unwrap() > 0);
    }
    let three = report["tables"]["activity"]["exposure"]["singled_out_by"][2]["share"]
        .as_f64()
        .unwrap();
    assert!(three > 0.0, "three facts single out nobody: {three}");
    let page = std::fs::read_to_string(
        p.out()
            .join(format!("_reports/run_date={}.html", common::RUN_DATE)),
    )
    .unwrap();
    assert!(page.contains("<p class=\"exposure exposed\">"));
}

/// activity linked to users with k^m: a person's facts are the years of their events, each with
/// their users values (age band, gender, macro-region); k = 5, which 20,000 people can hold
/// with `known_events = 2` (IP, device and carrier dropped: with them most facts are rare).
fn linked_history(p: &Project, known_events: u32) {
    linked(p);
    p.edit_job(|j| {
        let (users, activity) = j.split_at(j.find("[tables.activity]").unwrap());
        let activity = activity
            .replace(
                "link = \"users\"",
                &format!("link = \"users\"\nknown_events = {known_events}"),
            )
            .replace(
                "{ action = \"generalize\", method = \"truncate\", to = \"day\", as = \"day\" }",
                "{ action = \"generalize\", method = \"truncate\", to = \"year\", as = \"year\", role = \"quasi\" }",
            )
            .replace(
                "{ action = \"generalize\", method = \"ip_prefix\", v4 = 8, v6 = 16, role = \"quasi\", as = \"network\", invalid = \"null\" }",
                "{ action = \"drop\" }",
            )
            .replace("{ action = \"keep\", role = \"quasi\" }", "{ action = \"drop\" }");
        format!("{}{activity}", users.replace("k = 10", "k = 5"))
    });
}

/// Every person's facts in the written release, by value, read with arrow-rs: the distinct
/// (year, birth cohort or age band, gender, macro-region) of their events, a person without a
/// users row having unknown users values.
fn written_histories(
    users: &std::path::Path,
    activity: &std::path::Path,
) -> Vec<HashSet<Vec<Option<String>>>> {
    let people = users_values(users);
    let a = read_parquet(activity);
    let mut facts: HashMap<String, HashSet<Vec<Option<String>>>> = HashMap::new();
    for i in 0..a.rows {
        let Some(id) = a.column("user_id")[i].clone() else {
            continue;
        };
        let (age, gender, region) = people.get(&id).cloned().unwrap_or_default();
        let fact = vec![a.column("year")[i].clone(), age, gender, region];
        facts.entry(id).or_default().insert(fact);
    }
    facts.into_values().collect()
}

/// The fewest people who share one fact, and two facts, of a person, by brute force over every
/// pair of every person's facts.
fn fewest_sharing(histories: &[HashSet<Vec<Option<String>>>]) -> (usize, usize) {
    type Fact = Vec<Option<String>>;
    let mut ones: HashMap<&Fact, usize> = HashMap::new();
    let mut pairs: HashMap<(&Fact, &Fact), usize> = HashMap::new();
    for h in histories {
        let mut facts: Vec<&Fact> = h.iter().collect();
        facts.sort();
        for (i, f) in facts.iter().enumerate() {
            *ones.entry(f).or_default() += 1;
            for g in &facts[i + 1..] {
                *pairs.entry((f, g)).or_default() += 1;
            }
        }
    }
    (
        ones.values().copied().min().unwrap(),
        pairs.values().copied().min().unwrap(),
    )
}

/// k^2 on the release: every pair of a person's facts (with their users values) is shared by
/// k people, counted by brute force from the written files; the report and `verify` say the
/// same. Without `known_events`, the same release has pairs under k, and `verify` with the k^2
/// job finds them (exit 4): both checks can fail.
#[test]
fn a_k_m_release_holds_on_every_pair_of_a_persons_facts() {
    let p = Project::unlinked(20_000, 200_000, 3);
    linked_history(&p, 2);
    p.run(KEY).assert().success();
    let (users, activity) = (p.output_file("users"), p.output_file("activity"));
    let (one, two) = fewest_sharing(&written_histories(&users, &activity));
    assert!(
        one >= 5 && two >= 5,
        "fewest sharing: 1 fact {one}, 2 facts {two}"
    );
    let report = p.report();
    let release = &report["tables"]["activity"]["release"];
    assert_eq!(release["known_events"], 2, "{release}");
    assert_eq!(release["shared"][0]["smallest"].as_u64(), Some(one as u64));
    assert_eq!(release["shared"][1]["smallest"].as_u64(), Some(two as u64));
    assert_eq!(release["shared"][1]["people_under_k"], 0);
    let facts = &release["facts_suppressed"];
    assert!(facts["rows"].as_u64().unwrap() > 0, "{facts}");
    // The facts' rows are counted among the suppressed rows, within the limit.
    let t = &report["tables"]["activity"];
    assert!(t["rows_suppressed"].as_u64() >= facts["rows"].as_u64());
    // The page shows the facts' rows apart from the classes' (not as suppressed classes).
    let page = std::fs::read_to_string(p.out().join(format!("_reports/run_date={RUN_DATE}.html")))
        .unwrap();
    let row = format!(
        "<td>facts too rare</td><td class=\"num\">{}</td>",
        thousands(facts["rows"].as_u64().unwrap())
    );
    assert!(page.contains(&row), "{row}");
    let out = p.verify().assert().success().get_output().stdout.clone();
    let said = String::from_utf8_lossy(&out);
    assert!(said.contains("k^2 holds"), "{said}");

    // The same release without k^m: k holds on the join, not on pairs of facts.
    let q = Project::unlinked(20_000, 200_000, 3);
    linked_history(&q, 1);
    q.run(KEY).assert().success();
    let (one, two) = fewest_sharing(&written_histories(
        &q.output_file("users"),
        &q.output_file("activity"),
    ));
    assert!(one >= 5, "k on the join: {one}");
    assert!(two < 5, "pairs under k without known_events: {two}");
    assert!(q.report()["tables"]["activity"]["release"]["shared"][1].is_null());
    // `verify` with the k^2 job reads the k^1 release and finds the pairs.
    q.edit_job(|j| j.replace("known_events = 1", "known_events = 2"));
    let out = q.verify().assert().code(4).get_output().stdout.clone();
    let said = String::from_utf8_lossy(&out);
    assert!(
        said.contains("2 facts that fewer than k = 5 people share"),
        "{said}"
    );
}

#[test]
fn known_events_that_cannot_hold_are_refused() {
    let cases: [Case; 3] = [
        (
            "too many",
            |j| j.replace("# link = \"users\"", "known_events = 5"),
            "from 1 to 4",
        ),
        (
            "Mondrian",
            |j| {
                j.replace(
                    "# link = \"users\"",
                    "known_events = 2\nsearch = \"mondrian\"",
                )
            },
            "Mondrian's classes are cut per row",
        ),
        (
            "no written subject",
            |j| {
                j.replace("# link = \"users\"", "known_events = 2").replace(
                    "{ action = \"pseudonymize\", scope = \"table\" }",
                    "{ action = \"drop\" }",
                )
            },
            "line up a person's rows",
        ),
    ];
    for (what, edit, message) in cases {
        let p = Project::small_unlinked();
        p.edit_job(edit);
        let out = p.check().assert().code(2).get_output().stderr.clone();
        let err = String::from_utf8_lossy(&out);
        assert!(err.contains(message), "{what}: {err}");
    }
}

/// A count as the page writes it: thin spaces between thousands (`8 491`).
fn thousands(v: u64) -> String {
    let digits = v.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    out
}

/// The shipped job searches the levels of users and activity together (one lattice, k^2 on
/// the linked view), and pins them for both tables in one lock. Without its lock it searches:
/// the release holds on the join and on every pair of a person's facts, counted here by value;
/// the lock names both tables' columns, and the next night uses it.
#[test]
fn linked_levels_are_searched_together_and_pinned() {
    let p = Project::new(3000, 24_000, 17);
    let lock = p.path().join("jobs/marketing_research.lock.toml");
    assert!(lock.exists(), "the shipped job's lock is copied with it");
    let pinned = std::fs::read_to_string(&lock).unwrap();
    std::fs::remove_file(&lock).unwrap();
    let out = p.check().assert().success().get_output().stdout.clone();
    assert!(
        String::from_utf8_lossy(&out).contains("searched together with tables.users"),
        "{}",
        String::from_utf8_lossy(&out)
    );
    p.run(KEY).arg("--pin").assert().success();
    let report = p.report();
    let (u, a) = (&report["tables"]["users"], &report["tables"]["activity"]);
    // One lattice: birth cohort (3 levels) × macro-region (2); both tables report it.
    assert_eq!(u["lattice_nodes"].as_u64(), Some(6), "{u}");
    assert_eq!(a["lattice_nodes"], u["lattice_nodes"]);
    assert_eq!(a["nodes_checked"], u["nodes_checked"]);
    let (users, activity) = (p.output_file("users"), p.output_file("activity"));
    let (one, two) = fewest_sharing(&written_histories(&users, &activity));
    assert!(
        one >= 5 && two >= 5,
        "fewest sharing: 1 fact {one}, 2 facts {two}"
    );
    let written = std::fs::read_to_string(&lock).unwrap();
    // activity searched no column of its own: nothing of it is pinned.
    assert!(!written.contains("[tables.activity]"), "{written}");
    for column in ["[tables.users.birth_date]", "[tables.users.city]"] {
        assert!(written.contains(column), "{written}");
        assert!(pinned.contains(column), "{pinned}");
    }
    let out = p.verify().assert().success().get_output().stdout.clone();
    assert!(String::from_utf8_lossy(&out).contains("k^2 holds"));
    // The next night: the lock's levels, no search.
    p.run_on(KEY, "2026-11-27").assert().success();
    let next: serde_json::Value = serde_json::from_slice(
        &std::fs::read(p.out().join("_reports/run_date=2026-11-27.json")).unwrap(),
    )
    .unwrap();
    for t in ["users", "activity"] {
        assert_eq!(
            next["tables"][t]["levels"], report["tables"][t]["levels"],
            "{t}"
        );
        assert!(
            next["tables"][t]["nodes_checked"].is_null(),
            "{t} searched again"
        );
    }
    assert!(next["levels_pinned_by"].is_string());
}

/// `scope = "run"`: a key derived for the night. Within a night users and activity still join
/// (and are linked, k on the join); across nights no pseudonym is shared, so two releases
/// cannot be lined up person by person. The report names each pseudonym's scope.
#[test]
fn run_scoped_pseudonyms_join_within_a_night_only() {
    let p = Project::small();
    p.edit_job(|j| {
        let edited = j.replace(
            "{ action = \"pseudonymize\", description",
            "{ action = \"pseudonymize\", scope = \"run\", description",
        );
        // Both tables' subjects (a replacement that silently missed let this test pass on
        // job-scoped pseudonyms).
        assert_eq!(edited.matches("scope = \"run\"").count(), 2);
        edited
    });
    let ids = |date: &str, table: &str| -> HashSet<String> {
        read_parquet(
            &p.out()
                .join(format!("{table}/run_date={date}/part-00000.parquet")),
        )
        .column("user_id")
        .iter()
        .flatten()
        .cloned()
        .collect()
    };
    let dates = [RUN_DATE, "2026-11-21"];
    for date in dates {
        p.run_on(KEY, date).assert().success();
        let (users, activity) = (ids(date, "users"), ids(date, "activity"));
        let joined = activity.iter().filter(|id| users.contains(*id)).count();
        assert!(
            joined * 10 > activity.len() * 9,
            "{joined} of {}",
            activity.len()
        );
    }
    let shared = ids(dates[0], "users")
        .intersection(&ids(dates[1], "users"))
        .count();
    assert_eq!(shared, 0, "a pseudonym is shared across nights");
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(p.out().join(format!("_reports/run_date={RUN_DATE}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(
        report["tables"]["users"]["columns"]["user_id"]["scope"],
        "run"
    );

    // One table's subject under the night's key and the other's under the job's: no join.
    p.edit_job(|j| {
        let edited = j.replacen(
            "user_id    = { action = \"pseudonymize\", scope = \"run\",",
            "user_id    = { action = \"pseudonymize\",",
            1,
        );
        assert_ne!(edited, j);
        edited
    });
    let out = p.check().assert().code(2).get_output().stderr.clone();
    let err = String::from_utf8_lossy(&out);
    assert!(err.contains("the same `scope`"), "{err}");
}
