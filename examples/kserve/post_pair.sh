#!/bin/sh
# Posts one KServe request/response pair to mlwatch-agent's /v1/kserve exactly as KServe's
# logger would (CloudEvents binary mode: the body as is, the attributes as ce-* headers), so
# you can check an agent before pointing an InferenceService at it.
#
# Usage: post_pair.sh [-v v1|v2] [-l LATENCY_MS] [-i CE_ID] [AGENT_URL]
#   AGENT_URL  default http://127.0.0.1:7071
#   -v         payload flavour: v1 (instances/predictions) or v2 (Open Inference Protocol)
#   -l         latency to claim: response ce-time - request ce-time (default 13)
#   -i         the ce-id shared by both halves (default: a fresh one)
# Prints the agent's two answers; exits non-zero if either is not 2xx. Needs curl and GNU
# date (Linux). The agent pairs the halves by ce-id into one event of model
# ce-inferenceservicename ("fraud" here); watch mlwatch_agent_kserve_paired_total in
# AGENT_URL/metrics.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
ver=v1
lat=13
id=""
while getopts v:l:i: o; do
	case $o in
	v) ver=$OPTARG ;;
	l) lat=$OPTARG ;;
	i) id=$OPTARG ;;
	*) sed -n '6,10p' "$0" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
url=${1:-http://127.0.0.1:7071}
url=${url%/}
case $ver in v1 | v2) ;; *) echo "post_pair.sh: -v must be v1 or v2" >&2; exit 2 ;; esac
[ -n "$id" ] || id="mlwatch-example-$(date +%s%N)-$$"

t_req=$(date -u +%s.%N)
t_resp=$(awk -v t="$t_req" -v l="$lat" 'BEGIN { printf "%.6f", t + l / 1000 }')
rfc3339() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%S.%3NZ; }

# post KIND TIME: sends KIND-$ver.json with the headers of headers-KIND-$ver.txt, ce-id and
# ce-time replaced.
post() {
	kind=$1 t=$(rfc3339 "$2")
	set --
	while IFS= read -r line || [ -n "$line" ]; do
		case $line in
		'' | '#'*) continue ;;
		[Cc][Ee]-[Ii][Dd]:*) line="ce-id: $id" ;;
		[Cc][Ee]-[Tt][Ii][Mm][Ee]:*) line="ce-time: $t" ;;
		[Cc][Ee]-[Rr][Ee][Cc][Oo][Rr][Dd][Ee][Dd][Tt][Ii][Mm][Ee]:*) line="ce-recordedtime: $t" ;;
		esac
		set -- "$@" -H "$line"
	done <"$here/headers-$kind-$ver.txt"
	code=$(curl -sS -o "$body" -w '%{http_code}' --max-time 10 "$@" \
		--data-binary "@$here/$kind-$ver.json" "$url/v1/kserve") || code=000
	echo "$kind: HTTP $code $(cat "$body")"
	case $code in 2??) ;; *) return 1 ;; esac
}

body=$(mktemp)
trap 'rm -f "$body"' EXIT
rc=0
post request "$t_req" || rc=1
post response "$t_resp" || rc=1
exit $rc
