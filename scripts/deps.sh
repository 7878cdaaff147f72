#!/bin/sh
# Checks for the Debian packages mlwatch needs and installs the missing ones
# (as root, after one `apt-get update`); otherwise prints the exact command.
# Usage: scripts/deps.sh build|test
set -eu
build="pkg-config make gcc libncurses-dev libnng-dev libsqlite3-dev libcurl4-openssl-dev
libcjson-dev libprotobuf-c-dev protobuf-c-compiler libinih-dev libssl-dev libmicrohttpd-dev
libgnutls28-dev zlib1g-dev libpq-dev"
test="libcriterion-dev tmux valgrind python3 curl openssl sqlite3 man-db clang libclang-rt-14-dev
prometheus procps iproute2 python3-numpy python3-scipy python3-sklearn systemd htop nodejs
postgresql-15 util-linux"
want=$build
[ "${1:-build}" = test ] && want="$build $test"
missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
# The OpenTelemetry client test installs its pinned npm packages: npm comes
# with nodesource's nodejs, as a package of its own with Debian's.
[ "${1:-build}" = test ] && ! command -v npm >/dev/null 2>&1 && missing="$missing npm"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "mlwatch: missing packages; run as root:" >&2
	echo "  apt-get update && apt-get install -y$missing" >&2
	exit 1
fi
echo "mlwatch: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >&2
