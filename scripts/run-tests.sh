#!/bin/sh
# Runs Criterion test binaries one after another, echoing their output, and
# ends with one total line: `total: N passed, N failed, N skipped`, then the
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
n=0
for t in "$@"; do
	case $t in
	*/integration/*) jobs="--jobs=1" ;;
	*) jobs="" ;;
	esac
	echo "== $t"
	wrap=""
	if [ "${VALGRIND:-0}" = 1 ]; then
		# Criterion runs each test in a child of the binary: follow them,
		# but not the system tools a test runs (man, sh, openssl): their
		# own reports are not ours and would read as test output.
		wrap="valgrind -q --trace-children=yes --trace-children-skip=/usr/*,/bin/*,/sbin/* --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --error-exitcode=99"
	fi
	n=$((n + 1))
	tap="$tmp/$n.tap"
	# shellcheck disable=SC2086
	{ $wrap "$t" $jobs --short-filename --tap="$tap" 2>&1; echo $? >"$tmp/rc"; }
	rc=$(cat "$tmp/rc")
	# A binary that died before writing its report still counts as failed.
	[ "$rc" = 0 ] && [ -s "$tap" ] || failed_bins="$failed_bins $t"
	[ -f "$tap" ] && { echo "# binary $t"; cat "$tap"; } >>"$tmp/all.tap"
done
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
