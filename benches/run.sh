#!/usr/bin/env bash
# Benchmark (not a test): the nightly job against its floor, on generated exports.
#
#   bash benches/run.sh [USERS] [EVENTS] [RUNS]      # default 1000000 10000000 3
#
# 1. Generates the exports with `anonymize sample` (CSV; kept in target/bench-data/ and reused
#    while the counts are the same).
# 2. Times, RUNS times each, one after the other:
#    - the floor: `examples/floor.rs`, a plain polars scan-CSV → Parquet (zstd) of the same files;
#    - the job: `anonymize run jobs/marketing_research.toml` on them (which reads the activity
#      export twice: `activity` and `page_views` are two tables of one input).
# 3. Prints wall time, CPU time (user + system), peak RSS and rows/s of each run, the medians,
#    the ratio job / floor, and the time of each step of the job's last run.
#
# The job stages its tables under $TMPDIR (about a sixth of the CSV's size; see README,
# Performance): point TMPDIR at a disk with room for large runs.
set -euo pipefail
cd "$(dirname "$0")/.."
users="${1:-1000000}"
events="${2:-10000000}"
runs="${3:-3}"
until_date=2026-11-26

# GNU time measures CPU and peak RSS; a fresh Debian or Ubuntu may lack it.
if [ ! -x /usr/bin/time ]; then
  if command -v apt-get > /dev/null; then
    echo "installing GNU time (apt-get install time) ..."
    sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq > /dev/null && $sudo apt-get install -y -qq time > /dev/null
  else
    echo "benches/run.sh needs GNU time at /usr/bin/time" >&2
    exit 1
  fi
fi

cargo build --release --quiet --bin anonymize --example floor
bin=target/release/anonymize
floor=target/release/examples/floor
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"

data="target/bench-data/u${users}-e${events}"
if [ ! -f "$data/.done" ]; then
  rm -rf "$data"
  echo "generating $users users and $events events in $data ..."
  /usr/bin/time -f "generated in %e s" "$bin" -q sample --users "$users" --events "$events" \
    --seed 7 --until "$until_date" --out "$data"
  touch "$data/.done"
fi
rows=$((users + events))
echo "input: $(du -sh "$data" | cut -f1) of CSV, $rows rows"
echo

# The job file with the bench data as input, in a scratch copy of jobs/ (the hierarchy with it).
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r jobs "$work/jobs"
key="$("$bin" keygen)"

measure() { # label, command...: one line of figures
  local label="$1"; shift
  local t="$work/time"
  /usr/bin/time -o "$t" -f "%e %U %S %M" "$@" > /dev/null 2> "$work/log-$label"
  read -r wall user sys rss < "$t"
  awk -v l="$label" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" -v n="$rows" \
    'BEGIN { printf "%-8s %8.2f s wall %8.2f s CPU %8.0f MB peak RSS %12.0f rows/s\n", l, w, u + s, r / 1024, n / w }'
  echo "$label $wall" >> "$work/walls"
}

for i in $(seq "$runs"); do
  rm -rf "$work/floor" "$work/out"
  measure floor "$floor" "$data/users/*.csv" "$data/activity/*.csv" "$work/floor"
  measure job env ANONYMIZE_KEY="$key" "$bin" -v --log-format json run "$work/jobs/marketing_research.toml" \
    --run-date "$until_date" --output "$work/out" \
    --input "users=$data/users/*.csv" --input "activity=$data/activity/*.csv" \
    --input "page_views=$data/activity/*.csv"
done
echo
median() { grep "^$1 " "$work/walls" | cut -d' ' -f2 | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
f="$(median floor)"; j="$(median job)"
awk -v f="$f" -v j="$j" 'BEGIN { printf "median wall: floor %.2f s, job %.2f s; job / floor = %.2f\n", f, j, j / f }'
echo
echo "the job's steps, last run (seconds; -v --log-format json):"
grep -o '"table":"[^"]*","stage":"[^"]*","seconds":[0-9.e-]*' "$work/log-job" |
  sed -E 's/"table":"([^"]*)","stage":"([^"]*)","seconds":([0-9.e-]*)/\1 \2 \3/' |
  awk '{ printf "  %-9s %-9s %6.2f\n", $1, $2, $3 }'

# The levels the shipped job pins were searched: once more without its lock (`--pin`, into a
# copy), to time the search of users' and activity's levels together at this size.
echo
cp -r "$work/jobs" "$work/jobs-search"
rm -f "$work/jobs-search/marketing_research.lock.toml"
rm -rf "$work/out-search"
measure search env ANONYMIZE_KEY="$key" "$bin" -v --log-format json run \
  "$work/jobs-search/marketing_research.toml" --pin --run-date "$until_date" \
  --output "$work/out-search" --input "users=$data/users/*.csv" \
  --input "activity=$data/activity/*.csv" --input "page_views=$data/activity/*.csv"
echo "the run that searched (--pin): its search, and the levels it pinned:"
grep -o '"message":"chose the levels of linked tables together"[^}]*' "$work/log-search" |
  grep -o '"\(nodes_checked\|lattice_nodes\|seconds\)":[0-9.]*' | tr '\n' ' '
echo
grep -A1 '^\[tables\.users\.' "$work/jobs-search/marketing_research.lock.toml" | grep -v '^--' |
  paste - - | sed 's/^/  /'
