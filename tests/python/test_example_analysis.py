"""The example analysis (examples/analysis.py) runs on the released dataset as an analyst runs
it, and its figures agree with the data."""

import subprocess
import sys

import pyarrow.compute as pc
import pyarrow.parquet as pq

from conftest import REPO, RUN_DATES


def test_the_example_analysis_runs_and_adds_up(output):
    result = subprocess.run(
        [sys.executable, "examples/analysis.py", str(output)],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    )
    text = result.stdout
    latest = max(RUN_DATES)
    assert f"run date {latest}" in text
    assert "people by region and birth cohort" in text
    assert "page views by section" in text

    # The purchases it lists, joined to users (`-` for people users does not write), add up
    # to the purchase events of the latest night.
    block = text.split("purchases by birth cohort and year\n", 1)[1].split("\n\n", 1)[0]
    listed = sum(int(line[20:30]) for line in block.splitlines()[1:] if line.strip())
    activity = pq.read_table(output / "activity" / f"run_date={latest}")
    purchases = pc.sum(pc.equal(activity.column("event_type"), "purchase")).as_py()
    assert listed == purchases > 0
