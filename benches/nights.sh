#!/usr/bin/env bash
# Benchmark (not a test): the check across nights (README, "Across nights"), its cost and what it
# suppresses, on nights of growing sample data.
#
#   bash benches/nights.sh [USERS] [EVENTS] [NIGHTS]      # default 1000000 1000000 3
#
# Generates NIGHTS samples with `anonymize sample` (kept in target/bench-data/), the same seed and
# end date, each 1% more users than the one before (a larger sample holds the smaller one's people
# unchanged). Then, night after night into one output:
#   - the shipped job (birth cohorts and regions pinned, users linked to activity): the check
#     reads every earlier night of `users`; the night is also run alone (a fresh output) to give
#     the run's time without the check;
#   - the users table with `search = "mondrian"`: what the check suppresses when the partitions
#     move with the data.
# Prints each night's wall time, the check's own seconds, people compared and suppressed.
set -euo pipefail
cd "$(dirname "$0")/.."
users="${1:-1000000}"
events="${2:-1000000}"
nights="${3:-3}"

cargo build --release --quiet --bin anonymize --example floor  # one feature set for every bench: no rebuild between them
bin=target/release/anonymize
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
key="$("$bin" keygen)"

for i in $(seq 1 "$nights"); do
  n=$((users + users * (i - 1) / 100))
  e=$((events + events * (i - 1) / 100))
  data="target/bench-data/nights-u${n}-e${e}"
  if [ ! -f "$data/.done" ]; then
    rm -rf "$data"
    echo "generating $n users and $e events in $data ..."
    "$bin" -q sample --users "$n" --events "$e" --seed 7 --until 2026-11-26 --out "$data"
    touch "$data/.done"
  fi
done

cp -r jobs "$work/jobs"
# users only, Mondrian over the finest values (the lock would pin the levels: not copied).
sed -e 's/levels = \[[0-9], [0-9]\], //' \
  -e 's|^search = "optimal".*|search = "mondrian"|' \
  jobs/marketing_research.toml | awk '/^\[tables.activity\]/ {exit} {print}' \
  > "$work/jobs/mondrian.toml"

field() { # field NAME REPORT TABLE: a number from the table's across_nights
  python3 -c "import json,sys; a=json.load(open(sys.argv[2]))['tables'][sys.argv[3]].get('across_nights') or {}; print(a.get(sys.argv[1], '-'))" "$@"
}

for job in marketing_research mondrian; do
  for i in $(seq 1 "$nights"); do
    n=$((users + users * (i - 1) / 100))
    e=$((events + events * (i - 1) / 100))
    data="$PWD/target/bench-data/nights-u${n}-e${e}"
    date="2026-11-$((19 + i))"
    inputs=(--input "users=$data/users/*.csv")
    [ "$job" = mondrian ] || inputs+=(--input "activity=$data/activity/*.csv" --input "page_views=$data/activity/*.csv")
    for out in "$work/out-$job" "$work/alone-$job-$i"; do
      /usr/bin/time -f "%e %M" -o "$work/time" env ANONYMIZE_KEY="$key" "$bin" -q \
        run "$work/jobs/$job.toml" --run-date "$date" --output "$out" "${inputs[@]}" > /dev/null
      read -r wall rss < "$work/time"
      report="$out/_reports/run_date=$date.json"
      if [ "$out" = "$work/out-$job" ]; then
        printf '%-18s night %d (%d users): %6.2f s wall, %5.0f MB peak; check %s s, %s nights, %s people compared, %s suppressed (%s)\n' \
          "$job" "$i" "$n" "$wall" "$((rss / 1024))" "$(field seconds "$report" users)" \
          "$(field nights_compared "$report" users)" "$(field people_compared "$report" users)" \
          "$(field subjects_suppressed "$report" users)" "$(field columns_moved "$report" users)"
      else
        printf '%-18s night %d alone:          %6.2f s wall, %5.0f MB peak\n' "$job" "$i" "$wall" "$((rss / 1024))"
      fi
    done
  done
done
