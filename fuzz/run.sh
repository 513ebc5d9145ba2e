#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECONDS each (default 60) and exits non-zero when any of them
# finds a crash (a panic, a failed invariant, a timeout or running out of memory).
#
#   bash fuzz/run.sh               # every target, 60 s each
#   bash fuzz/run.sh 300           # every target, 300 s each
#   bash fuzz/run.sh 120 values    # only the named targets
#
# Uses the nightly toolchain when there is one (`cargo +nightly fuzz`, AddressSanitizer on);
# without it, stable with RUSTC_BOOTSTRAP=1 and no sanitizer (`-s none`). FUZZ_STABLE=1 forces
# the latter. Every build has debug assertions and overflow checks on (`-a`). Logs go to
# fuzz/logs/TARGET.log, crashing inputs to fuzz/artifacts/TARGET/.
set -uo pipefail

secs=${1:-60}
shift $(( $# > 0 ? 1 : 0 ))
case $secs in
  ''|*[!0-9]*) echo "usage: $0 [SECONDS] [TARGET...]" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.." || exit 2
root=$(pwd)

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked || exit 2
fi

flags=(-a)
if [ "${FUZZ_STABLE:-0}" != 1 ] && cargo +nightly --version >/dev/null 2>&1; then
  fuzz=(cargo +nightly fuzz)
  echo "== toolchain: nightly ($(cargo +nightly --version)), AddressSanitizer" >&2
else
  export RUSTC_BOOTSTRAP=1
  fuzz=(cargo fuzz)
  flags+=(-s none)
  echo "== toolchain: stable ($(cargo --version)) with RUSTC_BOOTSTRAP=1, no sanitizer" >&2
fi

if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for f in fuzz/fuzz_targets/*.rs; do
    t=${f##*/}
    targets+=("${t%.rs}")
  done
fi

# One build of every target up front: the first one compiles polars and takes minutes.
echo "== building ${targets[*]}" >&2
for t in "${targets[@]}"; do
  "${fuzz[@]}" build "${flags[@]}" "$t" || { echo "== build of $t failed" >&2; exit 2; }
done

mkdir -p fuzz/logs
failed=()
summary=()
for t in "${targets[@]}"; do
  args=(-max_total_time="$secs" -timeout=30 -print_final_stats=1)
  if [ -f "fuzz/dict/$t.dict" ]; then
    args+=(-dict="$root/fuzz/dict/$t.dict")
  fi
  echo "== $t: ${secs}s" >&2
  "${fuzz[@]}" run "${flags[@]}" "$t" -- "${args[@]}" 2>&1 | tee "fuzz/logs/$t.log"
  rc=${PIPESTATUS[0]}
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "fuzz/logs/$t.log" | tail -n 1)
  if [ "$rc" -ne 0 ]; then
    failed+=("$t")
    summary+=("$t: FAILED (exit $rc); input in fuzz/artifacts/$t/, log fuzz/logs/$t.log")
  else
    summary+=("$t: ok ${done_line:-}")
  fi
done

echo
echo "== summary (${secs}s a target)"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "== crashes in: ${failed[*]}"
  exit 1
fi
