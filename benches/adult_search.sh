#!/usr/bin/env bash
# Benchmark (not a test): the level search on UCI Adult with ARX's hierarchies
# (../shared/external/adult), for ARX's four reference settings (entropy) and the loss settings
# the tests prove optimal. Prints each search's time as `explore` measures it (the data read
# once, the searches one after another in one process, as ARX's "warm" figures are), then whole
# `run` processes (read, search, write), several times each.
#
#   bash benches/adult_search.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"

cargo build --release --quiet
bin=target/release/anonymize
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo

echo "== searches (explore: data read once, then one search per line) =="
"$bin" -q explore jobs/adult.toml --metric entropy --k 5,100 --suppression 0,0.04
"$bin" -q explore jobs/adult.toml --metric loss --k 5,10 --suppression 0,0.01,0.05

echo "== whole runs: read, search (k = 5, 4%, loss), write; $runs times =="
out="$(mktemp -d)"
for i in $(seq "$runs"); do
  /usr/bin/time -f "run $i: %e s wall, %M KB peak RSS" "$bin" -q run jobs/adult.toml --output "$out" > /dev/null
done
rm -rf "$out"
