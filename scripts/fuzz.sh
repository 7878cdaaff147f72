#!/bin/sh
# Builds every libFuzzer target in tests/fuzz/ with clang
# (-fsanitize=fuzzer,address,undefined) against the common sources, then runs
# each for SECONDS with its committed seed corpus (tests/fuzz/corpus/NAME).
# New inputs go to a scratch corpus, crashes to build-fuzz/. Exits non-zero
# if a target finds a crash.
# Usage: scripts/fuzz.sh SECONDS [TARGET]   (TARGET: e.g. otlp for fuzz_otlp only)
set -eu
secs=${1:-60}
only=${2:-}
out=build-fuzz
mkdir -p "$out/gen" "$out/work"
protoc-c --c_out="$out/gen" --proto_path=common common/mlwatch.proto common/otlp.proto
cflags="-g -O1 -std=c11 -D_GNU_SOURCE -DMLWATCH_VERSION=\"fuzz\" -Icommon -Icommon/store -I$out/gen \
$(pkg-config --cflags libcjson libprotobuf-c inih libcurl libmicrohttpd libpq lapacke openblas) -fsanitize=address,undefined -fno-sanitize-recover=undefined"
libs="$(pkg-config --libs libcjson libprotobuf-c inih sqlite3 libpq libcrypto libcurl libmicrohttpd gnutls zlib lapacke openblas) -lm -lpthread"
objs=""
for c in common/*.c common/stats/*.c common/store/*.c "$out/gen/mlwatch.pb-c.c" "$out/gen/otlp.pb-c.c"; do
	o="$out/$(basename "$c" .c).o"
	clang $cflags -fsanitize=fuzzer-no-link -c "$c" -o "$o"
	objs="$objs $o"
done
fail=0
for t in tests/fuzz/fuzz_*.c; do
	name=$(basename "$t" .c)
	short=${name#fuzz_}
	# FUZZ_TARGETS="spool cli" (or a second argument) runs only those.
	case " ${FUZZ_TARGETS:-${only:-$short}} " in *" $short "*) ;; *) continue ;; esac
	extra=""
	# A target may need program sources besides common/ (named in its first
	# comment, "/* fuzz-deps: FILE... */", which may wrap onto " * " lines).
	deps=$(sed -n '0,/\*\//p' "$t" | tr '\n' ' ' | sed 's| \* | |g' |
		sed -n 's|^/\* fuzz-deps: *\([^*]*\) \*/.*$|\1|p')
	for d in $deps; do
		o="$out/$(echo "$d" | tr / _ | sed 's/\.c$/.o/')"
		clang $cflags -fsanitize=fuzzer-no-link -Iagent -Icollector -Itui -c "$d" -o "$o"
		extra="$extra $o"
	done
	clang $cflags -fsanitize=fuzzer -Iagent -Icollector -Itui "$t" $objs $extra $libs -o "$out/$name"
	mkdir -p "tests/fuzz/corpus/$short" "$out/work/$short"
	echo "== fuzz $name for ${secs}s"
	if ! "$out/$name" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$out/$name-" -print_final_stats=1 \
		"$out/work/$short" "tests/fuzz/corpus/$short" 2>"$out/$name.log"; then
		tail -n 40 "$out/$name.log"
		fail=1
	fi
	grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' "$out/$name.log" | sed "s/^/  $name /"
	# FUZZ_MERGE=1: the committed corpus becomes the minimal set (-merge=1)
	# covering it and what this run found; commit tests/fuzz/corpus after.
	# The named seeds (real inputs; libFuzzer names its finds by SHA-1) are
	# kept as they are: -merge=1 keeps what is in its first directory.
	if [ "${FUZZ_MERGE:-0}" = 1 ]; then
		rm -rf "$out/merged/$short" && mkdir -p "$out/merged/$short"
		find "tests/fuzz/corpus/$short" -type f ! -regex '.*/[0-9a-f]\{40\}' \
			-exec cp {} "$out/merged/$short/" \;
		"$out/$name" -merge=1 "$out/merged/$short" "tests/fuzz/corpus/$short" \
			"$out/work/$short" 2>>"$out/$name.log"
		rm -rf "tests/fuzz/corpus/$short" && mv "$out/merged/$short" "tests/fuzz/corpus/$short"
		echo "  $name corpus: $(ls "tests/fuzz/corpus/$short" | wc -l) files"
	fi
done
exit $fail
