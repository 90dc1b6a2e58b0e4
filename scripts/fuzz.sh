#!/usr/bin/env bash
# libFuzzer targets of the loaders (tests/fuzz/), built with clang++ into $FUZZ_BUILD (default build-fuzz).
#   scripts/fuzz.sh build              build every target, the seed generator, and the seed corpora
#   scripts/fuzz.sh run [target...]    build, then fuzz each target for FUZZ_SECONDS (default 60) s, one at a time
#   scripts/fuzz.sh smoke              build, then each target over its seeds + FUZZ_RUNS (default 20000) inputs (CI)
#   scripts/fuzz.sh list               the targets
# Layout: $FUZZ_BUILD/bin (programs), seeds/<target> (written by gen_seeds), corpus/<target> (kept between
# runs), crashes/<target> (crash-*, oom-*, timeout-*, leak-* reproducers), logs/<target>-<time>.log.
# Exit status: non-zero when a target reports a finding (or does not build). Reproduce a finding with
#   $FUZZ_BUILD/bin/fuzz_<target> $FUZZ_BUILD/crashes/<target>/crash-...
# Env: CXX_FUZZ (default clang++), FUZZ_JOBS (parallel compiles, default 1), FUZZ_MAX_ALLOC (the
# library's io::max_alloc_bytes in the harnesses, default 64 MiB), FUZZ_ARGS (extra libFuzzer flags),
# FUZZ_NO_BUILD=1 (run the programs already built).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
B=${FUZZ_BUILD:-build-fuzz}
CXX_FUZZ=${CXX_FUZZ:-clang++}
CC_FUZZ=${CC_FUZZ:-clang}
TARGETS=(npy npz idx elf text archive)
mode=${1:-run}
shift || true

CXXFLAGS=(-std=c++20 -O1 -gline-tables-only -fno-omit-frame-pointer -DRNNABS_HAVE_ZIP
          -I"$ROOT/include" -I/usr/include/eigen3 $(pkg-config --cflags minizip 2>/dev/null || echo -I/usr/include/minizip))
LIBS=($(pkg-config --libs minizip 2>/dev/null || echo -lminizip) -lz)
SAN=(-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)
ccache=$(command -v ccache || true)

stale() {  # stale <output> <sources...>: true when output is missing or older than a source or a header
  local out=$1
  shift
  [ -e "$out" ] || return 0
  [ -n "$(find "$@" "$ROOT/include" "$ROOT/tests/fuzz/fuzz_common.hpp" -newer "$out" -type f -print -quit)" ]
}

build_one() {  # build_one <target>
  local t=$1 src="$ROOT/tests/fuzz/fuzz_$1.cpp" out="$B/bin/fuzz_$1"
  stale "$out" "$src" || return 0
  echo "fuzz: building fuzz_$t"
  $ccache "$CXX_FUZZ" "${CXXFLAGS[@]}" "${SAN[@]}" "$src" -o "$out.tmp" "${LIBS[@]}" && mv "$out.tmp" "$out"
}

build() {
  command -v "$CXX_FUZZ" >/dev/null || { echo "fuzz: $CXX_FUZZ not found (apt-get install clang libclang-rt-14-dev)" >&2; return 1; }
  mkdir -p "$B/bin" "$B/seeds" "$B/corpus" "$B/crashes" "$B/logs"
  local rc=0 pids=() t
  # The seed generator: no sanitizers (it only writes files), -O1.
  if stale "$B/bin/gen_seeds" "$ROOT/tests/fuzz/gen_seeds.cpp" "$ROOT/tests/fuzz/seed_elf.c"; then
    echo "fuzz: building gen_seeds"
    $ccache "$CXX_FUZZ" "${CXXFLAGS[@]}" "$ROOT/tests/fuzz/gen_seeds.cpp" -o "$B/bin/gen_seeds.tmp" "${LIBS[@]}" &&
      mv "$B/bin/gen_seeds.tmp" "$B/bin/gen_seeds" || return 1
  fi
  if [ ! -e "$B/seeds/.stamp" ] || [ "$B/bin/gen_seeds" -nt "$B/seeds/.stamp" ]; then
    # A tiny ELF object and an ar archive of two, made by the toolchain (seeds of fuzz_elf).
    "$CC_FUZZ" -c -O1 "$ROOT/tests/fuzz/seed_elf.c" -o "$B/seed1.o" &&
      "$CC_FUZZ" -c -O1 -DSECOND "$ROOT/tests/fuzz/seed_elf.c" -o "$B/seed2.o" &&
      rm -f "$B/seed.a" && ar rcs "$B/seed.a" "$B/seed1.o" "$B/seed2.o" || return 1
    rm -rf "$B/seeds" && "$B/bin/gen_seeds" "$B/seeds" "$B/seed1.o" "$B/seed.a" && touch "$B/seeds/.stamp" || return 1
  fi
  local jobs=${FUZZ_JOBS:-1} running=0
  for t in "${TARGETS[@]}"; do
    build_one "$t" &
    pids+=($!)
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
      wait "${pids[0]}" || rc=1
      pids=("${pids[@]:1}")
      running=$((running - 1))
    fi
  done
  for p in "${pids[@]}"; do wait "$p" || rc=1; done
  return $rc
}

# fuzz_target <target> <libFuzzer limit flags...>: runs one target; 0 when it found nothing.
fuzz_target() {
  local t=$1
  shift
  mkdir -p "$B/corpus/$t" "$B/crashes/$t" "$B/logs"
  local log="$B/logs/$t-$(date +%Y%m%d-%H%M%S).log" before after rc
  before=$(find "$B/crashes/$t" -type f | wc -l)
  # shellcheck disable=SC2086
  RNNABS_FUZZ_MAX_ALLOC=${FUZZ_MAX_ALLOC:-67108864} \
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$B/bin/fuzz_$t" "$B/corpus/$t" "$B/seeds/$t" "$@" -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=25 \
    -print_final_stats=1 -artifact_prefix="$B/crashes/$t/" ${FUZZ_ARGS:-} >"$log" 2>&1
  rc=$?
  after=$(find "$B/crashes/$t" -type f | wc -l)
  local execs cov corpus
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
  corpus=$(find "$B/corpus/$t" -type f | wc -l)
  printf 'fuzz %-8s rc=%d  execs=%s  %s  corpus=%s  new findings=%d  (log %s)\n' "$t" "$rc" "${execs:-?}" \
    "${cov:-cov: ?}" "$corpus" $((after - before)) "$log"
  if [ "$rc" -ne 0 ] || [ "$after" -gt "$before" ]; then
    grep -E '^==[0-9]+==ERROR|runtime error|SUMMARY|uncaught|deadly signal|Test unit written' "$log" | head -8 | sed 's/^/    /'
    return 1
  fi
  return 0
}

case "$mode" in
  list) printf '%s\n' "${TARGETS[@]}" ;;
  build) build ;;
  run|smoke)
    [ "${FUZZ_NO_BUILD:-0}" = 1 ] || build || exit 1
    sel=("$@")
    [ ${#sel[@]} -eq 0 ] && sel=("${TARGETS[@]}")
    status=0
    for t in "${sel[@]}"; do
      if [ "$mode" = smoke ]; then
        fuzz_target "$t" -runs="${FUZZ_RUNS:-20000}" -max_total_time="${FUZZ_SMOKE_SECONDS:-20}" || status=1
      else
        fuzz_target "$t" -max_total_time="${FUZZ_SECONDS:-60}" || status=1
      fi
    done
    open=$(find "$B/crashes" -type f | wc -l)
    echo "fuzz: $open reproducer(s) in $B/crashes"
    [ $status -eq 0 ] && echo "fuzz: no new finding" || echo "fuzz: FINDINGS (see above)"
    exit $status
    ;;
  *) echo "usage: scripts/fuzz.sh build|run [target...]|smoke|list" >&2; exit 2 ;;
esac
