#!/bin/sh
# The whole test suite: a normal build with every test, then the same
# suite built with AddressSanitizer and UndefinedBehaviorSanitizer, then a
# short run of every fuzz target (libFuzzer, when clang is installed).
# Usage: sh tests/check.sh   (from the repository root; installs missing
# Debian packages first when run as root)
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh
jobs=$(nproc 2>/dev/null || echo 2)

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"

cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Debug -DDEDUP_SANITIZE=ON \
	-DDEDUP_BENCH=OFF
cmake --build build-sanitize -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ctest --test-dir build-sanitize --output-on-failure -j"$jobs"

if command -v clang >/dev/null 2>&1; then
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DDEDUP_FUZZ=ON -DDEDUP_SANITIZE=ON -DDEDUP_TESTS=OFF \
		-DDEDUP_BENCH=OFF
	cmake --build build-fuzz -j"$jobs"
	FUZZ_SMOKE_SECONDS=5 sh tests/scripts/fuzz_smoke.sh
fi
