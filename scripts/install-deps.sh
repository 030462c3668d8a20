#!/bin/sh
# Install what building and testing dedup needs on Debian 12, if missing.
# Run as root (or through sudo); does nothing when everything is there.
# clang (for the libFuzzer targets) is optional: without root it is only
# reported, and tests/check.sh skips the fuzz runs.
set -eu
pkgs="build-essential cmake pkg-config libicu-dev libpcre2-dev libxxhash-dev
libcmocka-dev python3"
optional="clang libclang-rt-dev"
missing=""
missing_opt=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
for p in $optional; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing_opt="$missing_opt $p"
done
[ -z "$missing$missing_opt" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	if [ -n "$missing" ]; then
		echo "install-deps: missing:$missing (run as root to install)" >&2
		exit 1
	fi
	echo "install-deps: optional, not installed:$missing_opt" >&2
	exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing $missing_opt
