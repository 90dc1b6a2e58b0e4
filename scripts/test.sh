#!/usr/bin/env bash
# `make test`: the whole suite in two configurations, each configured, built and run through CTest.
#   1. release  ($BUILD, default build)           Release, -Werror; tests + examples + benchmarks built,
#                                                  tests + smoke runs + consumer project run
#   2. sanitize ($ASAN_BUILD, default build-asan)  Debug -O1 + ASan + UBSan; tests only
#   3. fuzz     (build-fuzz)                      the libFuzzer targets of the loaders (scripts/fuzz.sh smoke):
#                                                  built with clang, each run over its seeds + a few thousand inputs
# Env: JOBS (parallel compile jobs and ctest -j; default: cores), SKIP_SANITIZE=1 (release only),
#      SKIP_FUZZ=1 (no fuzz smoke), CTEST_ARGS (extra ctest arguments, e.g. "-R Gmm").
# Both configurations run even when the first fails; the exit status is non-zero if either failed.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
ASAN_BUILD=${ASAN_BUILD:-build-asan}
JOBS=${JOBS:-$(nproc)}
LOGS=${BUILD}-logs
mkdir -p "$LOGS"
rm -f "$LOGS"/*.log

declare -a summary=()
status=0
now() { date +%s%N; }
secs() { local ms=$((($2 - $1) / 1000000)); printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100)); }
phase() {  # phase <name> <command...> : runs, times, records
  local name=$1 t0 t1 rc
  shift
  echo "==> [$name] $*"
  t0=$(now)
  "$@"
  rc=$?
  t1=$(now)
  summary+=("$(printf '%-18s %7s s  %s' "$name" "$(secs "$t0" "$t1")" "$([ $rc -eq 0 ] && echo ok || echo "FAILED ($rc)")")")
  [ $rc -eq 0 ] || status=1
  return $rc
}
run_ctest() {  # run_ctest <build-dir> <log> : ctest, keeping its summary line
  # shellcheck disable=SC2086
  ctest --test-dir "$1" -j"$JOBS" --output-on-failure --timeout 900 ${CTEST_ARGS:-} 2>&1 | tee "$2"
}

configure_quiet() {  # configure_quiet <dir> <kind> <log> : the log is shown only on failure
  scripts/configure.sh "$1" "$2" >"$3" 2>&1 || { cat "$3"; return 1; }
}
config() {  # config <kind> <dir>
  local kind=$1 dir=$2
  phase "$kind: configure" configure_quiet "$dir" "$kind" "$LOGS/$kind-configure.log" || return 1
  # -k 0: build everything that can be built, so ctest still reports on the rest (a test whose
  # program failed to build shows up as *_NOT_BUILT).
  phase "$kind: build" cmake --build "$dir" -j"$JOBS" -- -k 0
  phase "$kind: ctest" run_ctest "$dir" "$LOGS/$kind-ctest.log"
}

t_start=$(now)
phase deps scripts/install-deps.sh build || exit 1
config release "$BUILD"
if [ "${SKIP_SANITIZE:-0}" != 1 ]; then
  # Sanitizer reports abort the test (-fno-sanitize-recover) with a stack trace.
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  config sanitize "$ASAN_BUILD"
fi
if [ "${SKIP_FUZZ:-0}" != 1 ]; then
  # Each loader's fuzz target over its seed corpus plus FUZZ_RUNS mutations (make fuzz runs longer).
  phase "fuzz: build" env FUZZ_JOBS="$JOBS" scripts/fuzz.sh build
  phase "fuzz: smoke" env FUZZ_NO_BUILD=1 scripts/fuzz.sh smoke
fi
t_end=$(now)

echo
echo "==================== make test: summary ===================="
printf '%s\n' "${summary[@]}"
printf '%-18s %7s s\n' "total" "$(secs "$t_start" "$t_end")"
for kind in release sanitize; do
  log="$LOGS/$kind-ctest.log"
  [ -f "$log" ] || continue
  line=$(grep -E 'tests passed|No tests were found' "$log" | tail -1)
  echo "$kind ctest: ${line:-no summary (see $log)}"
done
[ $status -eq 0 ] && echo "make test: PASSED" || echo "make test: FAILED"
exit $status
