#!/usr/bin/env bash
# The Python interop suite: the written dataset as analysts load it (pyarrow, polars, pandas,
# DuckDB), and the example analysis. Creates its virtual environment in target/python-venv from
# the pinned requirements (once; again when they change), builds the binary, runs pytest.
#
#   bash tests/python/run.sh [PYTEST ARGS...]
set -euo pipefail
cd "$(dirname "$0")/../.."

venv=target/python-venv
stamp="$venv/.requirements"
if ! cmp -s tests/python/requirements.txt "$stamp" 2> /dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet -r tests/python/requirements.txt
  cp tests/python/requirements.txt "$stamp"
fi
cargo build --quiet --bin anonymize
ANONYMIZE_BIN="$PWD/target/debug/anonymize" "$venv/bin/python" -m pytest -q tests/python "$@"
