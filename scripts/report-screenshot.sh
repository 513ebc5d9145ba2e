#!/usr/bin/env bash
# A screenshot of a run's HTML report, for people (reviews, tickets, release notes):
#
#   bash scripts/report-screenshot.sh out/marketing_research/_reports/run_date=2026-11-26.html [OUT.png]
#
# Renders the page in headless Chromium (Debian's `chromium` package), offline, at 1200 px
# wide. tests/report.rs makes the same call to check that the charts render.
set -euo pipefail
page="$(realpath "$1")"
png="${2:-${page%.html}.png}"
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --hide-scrollbars --user-data-dir="$profile" --window-size=1200,2400 \
  --screenshot="$png" "file://$page" 2> /dev/null
echo "$png"
