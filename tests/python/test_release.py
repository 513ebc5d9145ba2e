"""The release as an analyst joins it, checked in DuckDB, an engine that shares no code with the
one that wrote it: activity joined to users on the pseudonym holds k in every class of its own
and its person's values, and every set of at most m facts of a person (k^m) is shared by at
least k people. The report's figures are these counts. Without `known_events` the same check
fails, so it can."""

import json
import tomllib
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from conftest import REPO, RUN_DATES, anonymize

JOB = REPO / "jobs" / "marketing_research.toml"


def quasi_columns(output, table, run_date):
    """The table's quasi-identifier output columns, from its files' own metadata."""
    f = next((output / table / f"run_date={run_date}").glob("*.parquet"))
    columns = json.loads(pq.read_metadata(f).metadata[b"anonymize.columns"])
    return [name for name, c in columns.items() if c.get("role") == "quasi"]


def shared(output, run_date, m, table="activity", linked="users"):
    """For 1..m known facts: the fewest people who share a set of that many facts of one person,
    with that person's linked values (NULL when the linked table does not write them)."""
    con = duckdb.connect()
    facts = quasi_columns(output, table, run_date)
    linked_qis = quasi_columns(output, linked, run_date)
    src = lambda t: f"read_parquet('{output}/{t}/run_date={run_date}/*.parquet')"  # noqa: E731
    fact = "(" + ", ".join(f"a.{c}::VARCHAR" for c in facts) + ")"
    con.execute(
        f"""CREATE TABLE facts AS
            SELECT DISTINCT a.user_id AS person, {fact} AS fact,
                   {", ".join(f"u.{c}" for c in linked_qis)}
            FROM {src(table)} a LEFT JOIN {src(linked)} u ON a.user_id = u.user_id"""
    )
    linked_cols = ", ".join(linked_qis)
    smallest = []
    for known in range(1, m + 1):
        # Every set of `known` distinct facts of each person, as f1 < f2 < ...
        names = [f"f{i}" for i in range(known)]
        joins = " ".join(
            f"JOIN facts {n} ON {n}.person = f0.person AND {n}.fact > {p}.fact"
            for p, n in zip(names, names[1:])
        )
        (fewest,) = con.execute(
            f"""SELECT min(people) FROM (
                  SELECT count(DISTINCT f0.person) AS people
                  FROM facts f0 {joins}
                  GROUP BY {", ".join(f"f0.{c}" for c in linked_qis)},
                           {", ".join(f"{n}.fact" for n in names)})"""
        ).fetchone()
        smallest.append(fewest)
    return smallest


def job_settings(text):
    privacy = tomllib.loads(text)["tables"]["activity"]["privacy"]
    return privacy["k"], privacy.get("known_events", 1)


def test_the_shipped_release_holds_k_m_and_the_report_says_so(output, reports):
    k, m = job_settings(JOB.read_text())
    assert m == 2
    for run_date in RUN_DATES:
        smallest = shared(output, run_date, m)
        assert min(smallest) >= k, (run_date, smallest)
        release = reports[run_date]["tables"]["activity"]["release"]
        assert release["linked_to"] == "users"
        assert [s["smallest"] for s in release["shared"]] == smallest
        assert all(s["people_under_k"] == 0 for s in release["shared"])


def variant(tmp_path, edit, data=REPO / "sample_data"):
    """The shipped job with `edit` applied, its relative paths made absolute, in `tmp_path`."""
    text = (
        JOB.read_text()
        .replace('"../sample_data/', f'"{data}/')
        .replace('"hierarchies/', f'"{REPO}/jobs/hierarchies/')
    )
    text = edit(text)
    job = tmp_path / "job.toml"
    job.write_text(text)
    return job, text


def run(job, out, *args):
    anonymize("-q", "run", str(job), "--run-date", RUN_DATES[-1], "--output", str(out), *args)
    return out


def test_without_known_events_pairs_of_facts_single_people_out(tmp_path):
    job, text = variant(tmp_path, lambda t: t.replace("known_events = 2", ""))
    k, m = job_settings(text)
    assert m == 1
    out = run(job, tmp_path / "out")
    one, two = shared(out, RUN_DATES[-1], 2)
    # Each fact, with the person's users values, is shared by k people (the linked view) ...
    assert one >= k
    # ... but two of them are not: the check sees what known_events = 2 prevents.
    assert two < k


def test_a_hundred_thousand_people_hold_k_10_with_little_suppression(tmp_path):
    data = tmp_path / "data"
    anonymize(
        "sample", "--users", "100000", "--events", "1000000", "--seed", "5",
        "--until", "2026-11-25", "--out", str(data),
    )
    job, text = variant(tmp_path, lambda t: t.replace("k = 5\n", "k = 10\n"), data=data)
    k, m = job_settings(text)
    assert (k, m) == (10, 2)
    out = run(job, tmp_path / "out")
    smallest = shared(out, RUN_DATES[-1], m)
    assert min(smallest) >= k, smallest
    report = json.loads((out / "_reports" / f"run_date={RUN_DATES[-1]}.json").read_text())
    activity = report["tables"]["activity"]
    assert [s["smallest"] for s in activity["release"]["shared"]] == smallest
    # At this scale k^2 costs little: the figure the README gives.
    suppressed = activity["rows_suppressed"] / (activity["rows_in"] - activity["rows_expired"])
    print(f"100,000 people, k = 10, m = 2: {suppressed:.2%} of events suppressed")
    assert suppressed < 0.05
