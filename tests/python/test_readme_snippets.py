"""The README's "Loading the output" snippets, run as written against the three-night dataset:
each must return one night's totals, not the nights summed (which is what reading every
partition gave analysts before `_latest`)."""

import os
import re
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from conftest import REPO, RUN_DATES


def snippets(language, section="Loading the output"):
    readme = (REPO / "README.md").read_text()
    section = readme.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{language}\n(.*?)```", section, flags=re.S)


@pytest.fixture()
def analyst_dir(output, tmp_path, monkeypatch):
    """A working directory where the README's `out/marketing_research` is the dataset."""
    (tmp_path / "out").mkdir()
    os.symlink(output, tmp_path / "out" / "marketing_research")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def night(output, table, run_date=RUN_DATES[-1]):
    return pq.read_table(output / table / f"run_date={run_date}" / "part-00000.parquet")


def test_the_readme_has_the_snippets_this_file_runs():
    assert len(snippets("python")) == 2
    assert len(snippets("sql")) == 1


def test_the_pandas_snippet_returns_one_night(output, reports, analyst_dir):
    code = snippets("python")[0]
    assert "2026, 11, 30" in code and RUN_DATES[-1] == "2026-11-30"
    scope = {}
    exec(code, scope)
    latest = reports[RUN_DATES[-1]]["tables"]
    assert len(scope["activity"]) == latest["activity"]["rows_out"]
    assert len(scope["users"]) == latest["users"]["rows_out"]
    last_line = code.strip().splitlines()[-1]
    by_type = eval(last_line, scope)
    one_night = night(output, "activity").column("amount_kzt").to_pandas().sum()
    assert by_type.sum() == one_night
    every_night = sum(
        night(output, "activity", d).column("amount_kzt").to_pandas().sum() for d in RUN_DATES
    )
    assert float(every_night) > 2.5 * float(one_night)


def test_the_polars_snippet_reads_the_latest_night(output, reports, analyst_dir):
    code = snippets("python")[1]
    scope = {}
    exec(code, scope)
    counts = eval(code.strip().splitlines()[-1], scope)
    assert counts["len"].sum() == reports[RUN_DATES[-1]]["tables"]["page_views"]["rows_out"]


def test_the_duckdb_snippet_joins_one_night(output, reports, analyst_dir):
    (sql,) = snippets("sql")
    rows = duckdb.connect().execute(sql).fetchall()
    events = sum(r[2] for r in rows)
    revenue = sum(r[3] or 0 for r in rows)
    # The same join, counted independently on the newest partition of each table.
    con = duckdb.connect()
    activity = night(output, "activity")
    users = night(output, "users")
    con.register("a", activity)
    con.register("u", users)
    (n, total) = con.execute(
        "SELECT count(*), sum(amount_kzt) FROM a JOIN u USING (user_id)"
    ).fetchone()
    assert events == n
    assert revenue == (total or 0)
    assert events < sum(night(output, "activity", d).num_rows for d in RUN_DATES) / 2


def test_latest_is_the_newest_night_and_says_so(output):
    for table in ["users", "activity", "page_views"]:
        latest = output / "_latest" / f"{table}.parquet"
        meta = pq.read_metadata(latest).metadata
        assert meta[b"anonymize.run_date"].decode() == RUN_DATES[-1]
        assert latest.read_bytes() == (
            output / table / f"run_date={RUN_DATES[-1]}" / "part-00000.parquet"
        ).read_bytes()


def test_the_figures_snippet_reads_the_nights_figures(reports, analyst_dir):
    (code,) = snippets("python", "Output layout")
    scope = {}
    exec(code, scope)
    users = reports[RUN_DATES[-1]]["tables"]["users"]
    for key in ["rows_in", "rows_suppressed", "rows_out", "k"]:
        assert scope["figures"][key] == users[key]
    assert scope["figures"]["levels"]["macro_region"]["meaning"] == "macro-region"
