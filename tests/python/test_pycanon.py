"""k and l of the written UCI Adult benchmark as pyCANON (IFCA's independent checker) measures
them agree with the run report. The job is jobs/adult.toml with `salary-class` kept as the
sensitive column and l-diversity asked for; the data is ../shared/external/adult/ beside the
repository, as for tests/adult.rs."""

import json
import math
import os
import re
import subprocess

import numpy as np
import pandas as pd
import pytest
from pycanon import anonymity

from conftest import REPO

SHARED = REPO.parent / "shared/external/adult"
RUN_DATE = "2026-11-20"
SENSITIVE = "salary-class"

# (k, the `l_diversity` line of [tables.adult.privacy], search); max_suppression = 0.04 as in
# jobs/adult.toml.
CASES = {
    "k5-distinct-l2": (5, '{ l = 2 }', "optimal"),
    "k10-distinct-l2": (10, '{ l = 2 }', "optimal"),
    "k5-entropy-l1.5": (5, '{ variant = "entropy", l = 1.5 }', "optimal"),
    "k10-entropy-l1.5": (10, '{ variant = "entropy", l = 1.5 }', "optimal"),
    "mondrian-k5-distinct-l2": (5, '{ l = 2 }', "mondrian"),
    "mondrian-k10-entropy-l1.5": (10, '{ variant = "entropy", l = 1.5 }', "mondrian"),
}


def job_text(k, l_diversity, search="optimal"):
    """jobs/adult.toml pointing at the shared data by absolute path, with `salary-class` sensitive
    instead of a quasi-identifier, k set and l-diversity added."""
    assert SHARED.is_dir(), f"UCI Adult is expected in {SHARED} (see tests/adult.rs)"
    text = (REPO / "jobs/adult.toml").read_text()
    text = text.replace("../../shared/external/adult", str(SHARED.resolve()))
    text, n = re.subn(
        r"^salary-class\s*=.*$",
        'salary-class = { action = "keep", role = "sensitive" }',
        text,
        flags=re.M,
    )
    assert n == 1
    text, n = re.subn(r"^k = \d+$", f"k = {k}", text, flags=re.M)
    assert n == 1
    text, n = re.subn(r'^search = "optimal"', f'search = "{search}"', text, flags=re.M)
    assert n == 1
    text, n = re.subn(
        r"^\[tables\.adult\.privacy\]$",
        f"[tables.adult.privacy]\nl_diversity = {l_diversity}",
        text,
        flags=re.M,
    )
    assert n == 1
    return text


@pytest.fixture(scope="module", params=list(CASES), ids=list(CASES))
def adult(request, tmp_path_factory):
    """(case, the written table as one DataFrame, the table's run report)."""
    k, l_diversity, search = CASES[request.param]
    project = tmp_path_factory.mktemp("adult")
    (project / "jobs").mkdir()
    (project / "jobs/adult.toml").write_text(job_text(k, l_diversity, search))
    out = project / "out"
    binary = os.environ.get("ANONYMIZE_BIN", str(REPO / "target/debug/anonymize"))
    args = [binary, "run", "jobs/adult.toml", "--run-date", RUN_DATE, "--output", str(out)]
    run = subprocess.run(args, cwd=project, capture_output=True, text=True)
    assert run.returncode == 0, f"{' '.join(args)} failed:\n{run.stderr}"

    report = json.loads((out / "_reports" / f"run_date={RUN_DATE}.json").read_text())
    table = report["tables"]["adult"]
    files = sorted((out / "adult" / f"run_date={RUN_DATE}").glob("*.parquet"))
    assert files
    # pyCANON groups with DataFrame.groupby(...).groups (index labels) and then selects with
    # .iloc (positions): it needs a 0..n index, and as groupby drops null keys, no nulls.
    df = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    assert not df.isna().any().any()
    return (k, l_diversity), df, table


def quasi_identifiers(df, table):
    qi = [c for c in df.columns if c != SENSITIVE]
    assert table["quasi_identifiers"] == qi
    assert [s["column"] for s in table["sensitive"]] == [SENSITIVE]
    return qi


def test_the_run_protects_every_row_of_adult(adult):
    (k, _), df, table = adult
    # No subject column: one row is one person, as pyCANON counts.
    assert table["rows_out"] == table["subjects_out"] == len(df) > 0
    assert table["rows_in"] == 30162
    assert table["rows_suppressed"] <= 0.04 * table["rows_in"]
    assert table["k"] == k
    assert table["models"]["t_closeness"] is None


def test_pycanon_k_is_the_reports_smallest_class(adult):
    (k, _), df, table = adult
    qi = quasi_identifiers(df, table)
    k_pycanon = anonymity.k_anonymity(df, qi)
    assert k_pycanon == table["min_class_subjects"]
    assert k_pycanon >= k


def test_pycanon_distinct_l_is_the_reports_fewest_distinct_values(adult):
    (_, l_diversity), df, table = adult
    qi = quasi_identifiers(df, table)
    l_pycanon = anonymity.l_diversity(df, qi, [SENSITIVE])
    assert l_pycanon == table["sensitive"][0]["min_distinct"]
    # Entropy l >= 1.5 needs two values in every class as well.
    assert l_pycanon >= 2
    if "entropy" not in l_diversity:
        assert table["models"]["l_diversity"] == {"variant": "distinct", "l": 2}


def test_pycanon_entropy_l_is_the_reports_min_entropy_l(adult):
    (_, l_diversity), df, table = adult
    qi = quasi_identifiers(df, table)
    reported = table["sensitive"][0]["min_entropy_l"]

    # pyCANON 1.3.6 defines entropy l as exp(min over classes of -sum p ln p), natural log as
    # the report's `min_entropy_l`, but returns it truncated to an int (`int(min(e ** H))`).
    l_pycanon = anonymity.entropy_l_diversity(df, qi, [SENSITIVE])
    assert isinstance(l_pycanon, int)
    # Tolerance for a class with a whole-number entropy l (two values half and half: exactly 2).
    assert l_pycanon in {math.floor(reported - 1e-9), math.floor(reported + 1e-9)}

    # The untruncated figure, computed as pyCANON defines it (the same grouping, the same log).
    shares = df.groupby(qi)[SENSITIVE].value_counts(normalize=True)
    entropy = (-shares * np.log(shares)).groupby(level=list(range(len(qi)))).sum()
    assert len(entropy) == table["equivalence_classes"]
    assert math.exp(entropy.min()) == pytest.approx(reported, rel=1e-9)

    if "entropy" in l_diversity:
        assert table["models"]["l_diversity"] == {"variant": "entropy", "l": 1.5}
        assert reported >= 1.5
        assert l_pycanon >= 1
