#!/usr/bin/env bash
# `make bench`: build the Google Benchmark programs (release tree) and run each briefly.
# Env: BENCH_MIN_TIME (seconds per benchmark, default 0.2); arguments are passed to every program
# (e.g. --benchmark_filter=Estep).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
JOBS=${JOBS:-$(nproc)}
scripts/install-deps.sh build
scripts/configure.sh "$BUILD" release >/dev/null
cmake --build "$BUILD" -j"$JOBS" --target rnnabs_benchmarks
shopt -s nullglob
progs=("$BUILD"/benchmarks/bench_*)
[ ${#progs[@]} -gt 0 ] || { echo "make bench: no benchmarks/bench_*.cpp yet" >&2; exit 0; }
for p in "${progs[@]}"; do
  [ -x "$p" ] || continue
  echo "==> $p"
  "$p" --benchmark_min_time="${BENCH_MIN_TIME:-0.2}" "$@"
done
