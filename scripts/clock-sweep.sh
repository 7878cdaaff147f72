#!/bin/bash
# Runs every test alone with its clock moved next to a UTC midnight, where a
# test that assumes "now" and "a minute ago" share a minute, an hour or a
# day fails: two such tests failed CI and make asan once each (a truncated
# now, clock times compared as strings across midnight). Not part of
# `make test`: it takes about 35 minutes and needs libfaketime.
#
# Each test's clock starts OFFSET seconds before the next UTC midnight
# (negative: after it), the same offset for the processes it starts, so they
# agree with each other. Prints "ok|FAIL binary suite/test" per test, the
# failures' output at the end, and exits 1 when any failed.
#
# Left out: the PostgreSQL binaries (test_*pg*) and test_leader: runuser
# drops LD_PRELOAD, so the server's clock is the real one, and leader's
# candidate never retries under libfaketime (its timed wait on the monotonic
# clock does not end). Known false failures, from libfaketime itself:
# docs/man_pages_render_without_warnings (man's sandbox refuses the
# preload), clients/jsonl_producer_* (Python's sleep gets EINVAL).
#
# Usage: scripts/clock-sweep.sh BUILD_DIR [OFFSET...]   (default offsets: 1 -90)
# CLOCK_SWEEP_ONLY="test_tui_cmd test_data" runs only those binaries.
set -u
build=${1:-}
[ $# -gt 0 ] && shift
if [ ! -d "$build/tests/unit" ]; then
	echo "clock-sweep: '$build' is not a build directory with tests (run make tests-built)" >&2
	exit 2
fi
offsets=("$@")
[ ${#offsets[@]} -eq 0 ] && offsets=(1 -90)
for off in "${offsets[@]}"; do
	if ! [[ $off =~ ^-?[0-9]+$ ]] || [ "${off#-}" -ge 86400 ]; then
		echo "clock-sweep: offset '$off' is not a whole number of seconds within a day" \
			"(seconds before midnight; negative: after)" >&2
		exit 2
	fi
done
lib=$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 2>/dev/null | head -1)
if [ -z "$lib" ]; then
	echo "clock-sweep: libfaketime is missing: apt-get install -y faketime" >&2
	exit 2
fi
MLWATCH_BIN_DIR="$(cd "$build" && pwd)"
MLWATCH_SRC_DIR="$(pwd)"
export MLWATCH_BIN_DIR MLWATCH_SRC_DIR
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
failed=0
for off in "${offsets[@]}"; do
	for b in "$build"/tests/unit/test_* "$build"/tests/integration/test_*; do
		case $(basename "$b") in *pg* | test_leader) continue ;; esac
		if [ -n "${CLOCK_SWEEP_ONLY:-}" ]; then
			case " $CLOCK_SWEEP_ONLY " in *" $(basename "$b") "*) ;; *) continue ;; esac
		fi
		for t in $("$b" --list 2>/dev/null |
			awk '/^[a-z_0-9]+:/ {s=$1; sub(":", "", s)} /── / {print s "/" $2}'); do
			now=$(date +%s)
			shift_s=$(((now / 86400 + 1) * 86400 - off - now))
			log="$out/$off-$(basename "$b")-${t//\//_}.log"
			FAKETIME="+${shift_s}s" FAKETIME_DONT_FAKE_MONOTONIC=1 LD_PRELOAD="$lib" \
				timeout 300 "$b" --jobs=1 --filter "$t" >"$log" 2>&1
			if grep -q "Failing: 0 | Crashing: 0" "$log"; then
				echo "ok   offset $off $(basename "$b") $t"
			else
				echo "FAIL offset $off $(basename "$b") $t"
				failed=$((failed + 1))
			fi
		done
	done
done
for f in "$out"/*.log; do
	grep -q "Failing: 0 | Crashing: 0" "$f" && continue
	echo "== $(basename "$f" .log)"
	cat "$f"
done
echo "clock-sweep: $failed failed"
[ $failed -eq 0 ]
