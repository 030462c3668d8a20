#!/bin/sh
# Install what building and testing dedup needs on Debian 12, if missing.
# Run as root (or through sudo); does nothing when everything is there.
set -eu
pkgs="build-essential cmake pkg-config libicu-dev libpcre2-dev libxxhash-dev
libcmocka-dev python3 clang libclang-rt-dev"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing:$missing (run as root to install)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
