"""Fixtures: the bundled sample data run through the shipped job for three run dates, as a
scheduler would, into a temporary output directory that the tests read like analysts do."""

import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
KEY = "demo-key-for-the-bundled-sample-data-only-0123"
RUN_DATES = ["2026-11-28", "2026-11-29", "2026-11-30"]


def anonymize(*args, cwd=REPO):
    binary = os.environ.get("ANONYMIZE_BIN", str(REPO / "target/debug/anonymize"))
    env = dict(os.environ, ANONYMIZE_KEY=KEY)
    return subprocess.run(
        [binary, *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    )


@pytest.fixture(scope="session")
def output(tmp_path_factory):
    """The output directory: `users` and `activity`, one partition per run date."""
    out = tmp_path_factory.mktemp("dataset") / "out"
    for run_date in RUN_DATES:
        anonymize(
            "-q",
            "run",
            "jobs/marketing_research.toml",
            "--run-date",
            run_date,
            "--output",
            str(out),
        )
    return out


@pytest.fixture(scope="session")
def reports(output):
    """The run reports, by run date."""
    return {
        d: json.loads((output / "_reports" / f"run_date={d}.json").read_text())
        for d in RUN_DATES
    }
