"""The job file's JSON Schema (`anonymize schema`, shipped as jobs/job.schema.json) checked the
way an editor checks a job file as it is typed: the shipped jobs pass, and the mistakes people
make (a misspelt key, an action that does not exist, text where a number goes) are caught."""

import copy
import json
import tomllib

import jsonschema
import pytest

from conftest import REPO, anonymize


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(anonymize("schema").stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def job(name="marketing_research"):
    return tomllib.loads((REPO / "jobs" / f"{name}.toml").read_text())


@pytest.mark.parametrize("name", ["marketing_research", "adult"])
def test_the_shipped_jobs_are_valid(validator, name):
    errors = list(validator.iter_errors(job(name)))
    assert errors == [], [e.message for e in errors]


def messages(validator, doc):
    return [e.message for e in validator.iter_errors(doc)]


def test_a_misspelt_key_is_caught(validator):
    doc = job()
    privacy = doc["tables"]["users"]["privacy"]
    privacy["max_supression"] = privacy.pop("max_suppression")
    assert any("max_supression" in m for m in messages(validator, doc))


def test_an_unknown_action_and_a_wrong_type_are_caught(validator):
    doc = job()
    bad = copy.deepcopy(doc)
    bad["tables"]["users"]["columns"]["email"]["action"] = "hash"
    assert any("hash" in m for m in messages(validator, bad))
    bad = copy.deepcopy(doc)
    bad["tables"]["users"]["privacy"]["k"] = "ten"
    assert any("ten" in m for m in messages(validator, bad))
