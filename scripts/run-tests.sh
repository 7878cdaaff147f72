#!/bin/bash
# Runs Criterion test binaries (unit ones in turn, integration ones two at a
# time: see below), echoing each one's output when it ends,
# and ends with one total line: `total: N passed, N failed, N skipped`, then the
# name and message of every skipped test. Exits non-zero if any binary failed
# or any test skipped without a matching line in tests/skips-allowed.txt.
#
# The counts come from each binary's TAP report (--tap=FILE), not from its
# "Synthesis" line: Criterion 2.4.1 leaves skipped (and .disabled) tests out
# of that line and prints nothing for them at the default verbosity.
# Usage: scripts/run-tests.sh BUILD_DIR BIN...
set -u
build=$1; shift
MLWATCH_BIN_DIR="$(cd "$build" && pwd)"; export MLWATCH_BIN_DIR
MLWATCH_SRC_DIR="$(pwd)"; export MLWATCH_SRC_DIR
allow="${MLWATCH_SKIPS_ALLOWED:-$MLWATCH_SRC_DIR/tests/skips-allowed.txt}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed_bins=""
# Integration binaries mostly wait on the programs they start (sockets,
# timers, child processes), so two of them run at once by default
# (MLWATCH_TEST_JOBS; 1 under valgrind): this keeps `make test` inside its
# 10-minute budget on 2 cores. Every binary picks its own ports below the
# ephemeral range at random (tests/lib/harness.c) and the tests that need
# the documented default ports run in a network namespace of their own.
# The slowest binaries of the previous run in this build dir start first
# ($build/.test-durations), so that the longest does not start last.
jobs_max=${MLWATCH_TEST_JOBS:-2}
[ "${VALGRIND:-0}" = 1 ] && jobs_max=${MLWATCH_TEST_JOBS:-1}
durations="$build/.test-durations"
run_one() { # n binary: runs it, output in $tmp/n.out, exit code in $tmp/n.rc
	local n=$1 t=$2 jobs="" wrap=""
	case $t in */integration/*) jobs="--jobs=1" ;; esac
	if [ "${VALGRIND:-0}" = 1 ]; then
		# Criterion runs each test in a child of the binary: follow them,
		# but not the system tools a test runs (man, sh, openssl): their
		# own reports are not ours and would read as test output.
		wrap="valgrind -q --trace-children=yes --trace-children-skip=/usr/*,/bin/*,/sbin/* --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --error-exitcode=99"
	fi
	local t0 t1
	t0=$(date +%s.%N)
	# shellcheck disable=SC2086
	$wrap "$t" $jobs --short-filename --tap="$tmp/$n.tap" >"$tmp/$n.out" 2>&1
	echo $? >"$tmp/$n.rc"
	t1=$(date +%s.%N)
	echo "$t1 $t0" | awk -v t="$t" '{ printf "%.2f %s\n", $1 - $2, t }' >"$tmp/$n.dur"
}
report_one() { # n binary: echoes its output and records the verdict
	local n=$1 t=$2 rc
	echo "== $t"
	cat "$tmp/$n.out"
	rc=$(cat "$tmp/$n.rc" 2>/dev/null || echo 1)
	# A binary that died before writing its report still counts as failed.
	[ "$rc" = 0 ] && [ -s "$tmp/$n.tap" ] || failed_bins="$failed_bins $t"
}
unit=() integ=()
for t in "$@"; do
	case $t in */integration/*) integ+=("$t") ;; *) unit+=("$t") ;; esac
done
if [ -f "$durations" ] && [ ${#integ[@]} -gt 0 ]; then
	mapfile -t integ < <(for t in "${integ[@]}"; do
		d=$(awk -v t="$t" '$2 == t { print $1 }' "$durations")
		echo "${d:-0} $t"
	done | sort -k1,1 -rn -s | cut -d' ' -f2-)
fi
all=("${unit[@]}" "${integ[@]}")
n=0
for t in "${unit[@]}"; do
	n=$((n + 1))
	run_one "$n" "$t"
	report_one "$n" "$t"
done
declare -A running=() # pid -> n
for t in "${integ[@]}"; do
	n=$((n + 1))
	while [ ${#running[@]} -ge "$jobs_max" ]; do
		wait -n -p done_pid "${!running[@]}"
		k=${running[$done_pid]}
		unset "running[$done_pid]"
		report_one "$k" "${all[$((k - 1))]}"
	done
	run_one "$n" "$t" &
	running[$!]=$n
done
while [ ${#running[@]} -gt 0 ]; do
	wait -n -p done_pid "${!running[@]}"
	k=${running[$done_pid]}
	unset "running[$done_pid]"
	report_one "$k" "${all[$((k - 1))]}"
done
# The reports in the order the binaries were given, for the totals below.
for k in $(seq 1 "$n"); do
	[ -f "$tmp/$k.tap" ] && { echo "# binary ${all[$((k - 1))]}"; cat "$tmp/$k.tap"; } >>"$tmp/all.tap"
done
cat "$tmp"/*.dur 2>/dev/null >"$durations.new" && mv "$durations.new" "$durations"
touch "$tmp/all.tap"
if [ ! -f "$allow" ]; then # no list: no skip is allowed
	: >"$tmp/none"
	allow="$tmp/none"
fi
# The slowest tests first, so that the run's budget (make test: 10 minutes
# on 2 cores) is watched where it is spent.
sed -n 's/^\(not \)\{0,1\}ok - \([^ ]*\) *(\([0-9.]*\)s).*$/\3 \2/p' "$tmp/all.tap" |
	sort -rn | head -8 | awk '{ printf "slowest: %7.2fs %s\n", $1, $2 }'
# TAP lines: "ok - suite::name (0.01s)", "ok - suite::name  # SKIP message",
# "not ok - suite::name ..." (failed, crashed or timed out).
awk -v allowf="$allow" '
BEGIN {
	# The allow-list: "suite::name<TAB or spaces>text the skip message must contain".
	while ((getline l < allowf) > 0) {
		if (l ~ /^[ \t]*(#|$)/)
			continue
		name = l; sub(/[ \t].*/, "", name)
		why = l; sub(/^[^ \t]+[ \t]+/, "", why)
		if (why == l)
			why = ""
		allowed[name] = why
	}
}
/^# binary / { bin = $3; next }
/^ok - / && / # SKIP/ {
	name = $3
	msg = $0; sub(/.* # SKIP /, "", msg)
	s++
	ok = (name in allowed) && allowed[name] != "" && index(msg, allowed[name]) > 0
	if (!ok)
		bad++
	skipped[s] = sprintf("  %s %s (%s): %s", ok ? "skipped (allowed)" : "SKIPPED (not allowed)", name, bin, msg)
	next
}
/^ok - / { p++; next }
/^not ok - / { f++; failed[f] = "  " substr($0, 10) " (" bin ")"; next }
END {
	printf "total: %d passed, %d failed, %d skipped\n", p, f, s
	for (i = 1; i <= f; i++)
		print "failed:" failed[i]
	for (i = 1; i <= s; i++)
		print skipped[i]
	if (bad > 0) {
		printf "%d skip(s) not on %s (each needs a line there with its reason)\n", bad, allowf
		exit 1
	}
}' "$tmp/all.tap"
skips_ok=$?
status=0
if [ -n "$failed_bins" ]; then
	echo "FAILED:$failed_bins"
	status=1
fi
[ "$skips_ok" = 0 ] || status=1
exit $status
