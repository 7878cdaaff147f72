#!/bin/sh
# The soak (issue 9): the real agent, collector, alert rules and a webhook
# receiver at a steady 20,000 events/s for SOAK_SECONDS (default 600), with
# exact counts, bounded RSS (no growth beyond 10% after warm-up) and no
# errors logged (tests/bench/bench_load.c --soak); then the long variants
# of the fault tests: a 60 s collector outage (test_faults) and a 30 s
# receiver outage (test_alerts), which read SOAK_SECONDS.
# Usage: SOAK_SECONDS=N scripts/soak.sh BUILD_DIR
set -u
build=${1:-build}
secs=${SOAK_SECONDS:-600}
rate=${SOAK_RATE:-20000}
SOAK_SECONDS=$secs; export SOAK_SECONDS
MLWATCH_BIN_DIR="$(cd "$build" && pwd)"; export MLWATCH_BIN_DIR
MLWATCH_SRC_DIR="$(pwd)"; export MLWATCH_SRC_DIR
make --no-print-directory B="$build" "$build/tests/bench/bench_load" >/dev/null || exit 1

fail=""
echo "== soak: ${secs} s at ${rate} events/s"
"$build/tests/bench/bench_load" --soak "$secs" "$rate" || fail="$fail bench_load"
echo "== soak: 60 s collector outage"
"$build/tests/integration/test_faults" --jobs=1 --short-filename \
	--filter 'faults/collector_stopped*' || fail="$fail test_faults"
echo "== soak: 30 s receiver outage"
"$build/tests/integration/test_alerts" --jobs=1 --short-filename \
	--filter 'alerts/outage_then_recovery*' || fail="$fail test_alerts"
if [ -n "$fail" ]; then
	echo "soak FAILED:$fail"
	exit 1
fi
echo "soak ok"
