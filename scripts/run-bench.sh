#!/bin/sh
# Runs benchmark binaries one after another, printing their output.
# Exits non-zero if any of them failed (a missed speed goal is not a
# failure: benchmarks report, tests judge).
# Usage: scripts/run-bench.sh BUILD_DIR BIN...
set -u
build=$1; shift
MLWATCH_BIN_DIR="$(cd "$build" && pwd)"; export MLWATCH_BIN_DIR
MLWATCH_SRC_DIR="$(pwd)"; export MLWATCH_SRC_DIR
failed=""
for b in "$@"; do
	echo "== $b"
	"$b" || failed="$failed $b"
done
if [ -n "$failed" ]; then
	echo "FAILED:$failed"
	exit 1
fi
exit 0
