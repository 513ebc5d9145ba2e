#!/usr/bin/env bash
# Benchmark (not a test): Mondrian through the whole run, on the users table of the sample
# exports, against full-domain on the same table.
#
#   bash benches/mondrian.sh [USERS] [RUNS]      # default 1000000 3
#
# Generates USERS users with `anonymize sample` (kept in target/bench-data/), then runs the
# shipped job's `users` table with its quasi-identifiers unpinned (age in years up to bands and
# `*`, city up its hierarchy, gender), once with `search = "optimal"` and once with
# `search = "mondrian"`, RUNS times each. Prints wall time, peak RSS, the partitioning step's
# time and the loss of each. The algorithm alone: `cargo bench --bench mondrian`.
set -euo pipefail
cd "$(dirname "$0")/.."
users="${1:-1000000}"
runs="${2:-3}"

cargo build --release --quiet --bin anonymize --example floor  # one feature set for every bench: no rebuild between them
bin=target/release/anonymize
data="target/bench-data/users-u${users}"
if [ ! -f "$data/.done" ]; then
  rm -rf "$data"
  echo "generating $users users in $data ..."
  "$bin" -q sample --users "$users" --events 1 --seed 7 --until 2026-11-26 --out "$data"
  touch "$data/.done"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r jobs "$work/jobs"
key="$("$bin" keygen)"
for search in optimal mondrian; do
  # users only; its quasi-identifiers unpinned; the search mode set.
  sed -e 's/levels = \[[0-9], [0-9]\], //' \
    -e "s|^search = \"optimal\".*|search = \"$search\"|" \
    -e "s|\.\./sample_data/users/\*\.csv|$PWD/$data/users/*.csv|" \
    jobs/marketing_research.toml | awk '/^\[tables.activity\]/ {exit} {print}' \
    > "$work/jobs/$search.toml"
  for i in $(seq "$runs"); do
    out="$work/out-$search-$i"
    /usr/bin/time -f "%e %M" -o "$work/time" env ANONYMIZE_KEY="$key" "$bin" -v --log-format json \
      run "$work/jobs/$search.toml" --run-date 2026-11-26 --output "$out" 2> "$work/log" > /dev/null
    read -r wall rss < "$work/time"
    step=$(grep -o '"stage":"\(partition\|search\)"[^}]*"seconds":[0-9.]*' "$work/log" |
      grep -o '"seconds":[0-9.]*' | tail -1 | cut -d: -f2)
    loss=$(grep -o '"loss": [0-9.]*' "$out/_reports/run_date=2026-11-26.json" | head -1 | cut -d' ' -f2)
    classes=$(grep -o '"equivalence_classes": [0-9]*' "$out/_reports/run_date=2026-11-26.json" | head -1 | cut -d' ' -f2)
    printf '%-9s run %d: %6.2f s wall, %5.0f MB peak, %s s to %s, loss %.4f, %s classes\n' \
      "$search" "$i" "$wall" "$((rss / 1024))" "${step:-?}" \
      "$([ "$search" = mondrian ] && echo partition || echo search)" "${loss:-0}" "$classes"
  done
done
