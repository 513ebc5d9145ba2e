#!/usr/bin/env bash
# The Python interop suite: the written dataset as analysts load it (pyarrow, polars, pandas,
# DuckDB), the example analysis, and k and l on UCI Adult checked with pyCANON. Creates its
# virtual environment in target/python-venv from the pinned requirements (once; again when they
# change), builds the binary, runs pytest.
#
#   bash tests/python/run.sh [PYTEST ARGS...]
set -euo pipefail
cd "$(dirname "$0")/../.."

venv=target/python-venv
stamp="$venv/.requirements"
# requirements-nodeps.txt: packages whose own pins clash with ours, installed without them.
requirements=(tests/python/requirements.txt tests/python/requirements-nodeps.txt)
if ! cat "${requirements[@]}" | cmp -s - "$stamp" 2> /dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet -r tests/python/requirements.txt
  "$venv/bin/pip" install --quiet --no-deps -r tests/python/requirements-nodeps.txt
  cat "${requirements[@]}" > "$stamp"
fi
cargo build --quiet --bin anonymize
ANONYMIZE_BIN="$PWD/target/debug/anonymize" "$venv/bin/python" -m pytest -q tests/python "$@"
