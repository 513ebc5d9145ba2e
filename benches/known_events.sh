#!/usr/bin/env bash
# Benchmark (not a test): k^m (`known_events = 2`) on a linked activity table, against the same
# job with k on the join only, on generated exports.
#
#   bash benches/known_events.sh [USERS] [EVENTS]      # default 1000000 10000000
#
# Uses the exports of benches/run.sh (target/bench-data/, generated when missing). The job is
# the shipped one (activity linked to users, the year of an event as its only fact, k^2), and
# the same job without `known_events` (k on the join only). Prints wall time and peak RSS of
# each run and the k^m step's own seconds and figures (the report's `release.facts_suppressed`).
set -euo pipefail
cd "$(dirname "$0")/.."
users="${1:-1000000}"
events="${2:-10000000}"
until_date=2026-11-26
cargo build --release --quiet --bin anonymize --example floor
bin=target/release/anonymize
data="target/bench-data/u${users}-e${events}"
if [ ! -f "$data/.done" ]; then
  rm -rf "$data"
  echo "generating $users users and $events events in $data ..."
  "$bin" -q sample --users "$users" --events "$events" --seed 7 --until "$until_date" --out "$data"
  touch "$data/.done"
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r jobs "$work/jobs"
key="$("$bin" keygen)"
sed 's/^known_events = 2.*$//' "$work/jobs/marketing_research.toml" \
  > "$work/jobs/marketing_research_k1.toml"
# The same pinned levels for both, so that only known_events differs.
cp "$work/jobs/marketing_research.lock.toml" "$work/jobs/marketing_research_k1.lock.toml"
for m in k1 km; do
  job="$work/jobs/marketing_research.toml"
  [ "$m" = k1 ] && job="$work/jobs/marketing_research_k1.toml"
  rm -rf "$work/out"
  /usr/bin/time -o "$work/time" -f "%e %M" env ANONYMIZE_KEY="$key" "$bin" -q run "$job" \
    --run-date "$until_date" --output "$work/out" \
    --input "users=$data/users/*.csv" --input "activity=$data/activity/*.csv" \
    --input "page_views=$data/activity/*.csv" > /dev/null
  read -r wall rss < "$work/time"
  echo "$m: $wall s wall, $((rss / 1024)) MB peak RSS"
  python3 -c "
import json, glob
r = json.load(open(glob.glob('$work/out/_reports/*.json')[0]))['tables']['activity']
print('  rows in', r['rows_in'], 'suppressed', r['rows_suppressed'], 'out', r['rows_out'])
print('  release', json.dumps(r.get('release')))"
done
