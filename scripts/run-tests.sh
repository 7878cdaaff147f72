#!/bin/sh
# Runs Criterion test binaries one after another, echoing their output, and
# ends with one total line. Exits non-zero if any binary failed.
# Usage: scripts/run-tests.sh BUILD_DIR BIN...
set -u
build=$1; shift
MLWATCH_BIN_DIR="$(cd "$build" && pwd)"; export MLWATCH_BIN_DIR
MLWATCH_SRC_DIR="$(pwd)"; export MLWATCH_SRC_DIR
all=$(mktemp); one=$(mktemp); rcf=$(mktemp)
trap 'rm -f "$all" "$one" "$rcf"' EXIT
failed_bins=""
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
	# shellcheck disable=SC2086
	{ $wrap "$t" $jobs --short-filename 2>&1; echo $? >"$rcf"; } | tee "$one"
	cat "$one" >>"$all"
	[ "$(cat "$rcf")" = 0 ] || failed_bins="$failed_bins $t"
done
sed 's/\x1b\[[0-9;]*m//g' "$all" | awk -F'|' '/Synthesis: Tested:/ {
	for (i = 1; i <= NF; i++) {
		if ($i ~ /Passing:/) { split($i, a, ":"); p += a[2] }
		if ($i ~ /Failing:/) { split($i, a, ":"); f += a[2] }
		if ($i ~ /Crashing:/) { split($i, a, ":"); f += a[2] }
	}
} END { printf "total: %d passed, %d failed\n", p, f }'
if [ -n "$failed_bins" ]; then
	echo "FAILED:$failed_bins"
	exit 1
fi
exit 0
