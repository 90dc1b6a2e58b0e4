#!/usr/bin/env bash
# Configures one of the project's build trees (Ninja; ccache comes from cmake/rnnabsPrograms.cmake).
# Usage: scripts/configure.sh <build-dir> <release|sanitize|install> [extra cmake args...]
#   release  : Release, -Werror, -march=native; tests + examples + benchmarks   (make test/demo/bench)
#   sanitize : Debug (-O1) with ASan + UBSan, no -march=native; tests only         (make test)
#   install  : Release, library only (no programs, no test dependencies)          (make install)
# Extra arguments and $CMAKE_ARGS are passed on to cmake.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: $0 <build-dir> <release|sanitize|install> [cmake args...]" >&2; exit 2; }
dir=$1 kind=$2
shift 2
case "$kind" in
  release)  opts=(-DCMAKE_BUILD_TYPE=Release -DRNNABS_WERROR=ON -DRNNABS_SANITIZE= -DRNNABS_BUILD_TESTS=ON
                  -DRNNABS_BUILD_EXAMPLES=ON -DRNNABS_BUILD_BENCHMARKS=ON) ;;
  sanitize) opts=(-DCMAKE_BUILD_TYPE=Debug -DRNNABS_SANITIZE=address,undefined -DRNNABS_NATIVE=OFF
                  -DRNNABS_WERROR=OFF -DRNNABS_BUILD_TESTS=ON -DRNNABS_BUILD_EXAMPLES=OFF
                  -DRNNABS_BUILD_BENCHMARKS=OFF) ;;
  install)  opts=(-DCMAKE_BUILD_TYPE=Release -DRNNABS_BUILD_TESTS=OFF -DRNNABS_BUILD_EXAMPLES=OFF
                  -DRNNABS_BUILD_BENCHMARKS=OFF) ;;
  *) echo "configure: unknown kind '$kind' (release|sanitize|install)" >&2; exit 2 ;;
esac
# A tree made by another generator cannot be reused: start it afresh.
if [ -f "$dir/CMakeCache.txt" ] && ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$dir/CMakeCache.txt"; then
  echo "configure: $dir was made by another generator; removing it" >&2
  rm -rf "$dir"
fi
# shellcheck disable=SC2086
exec cmake -S . -B "$dir" -G Ninja "${opts[@]}" ${CMAKE_ARGS:-} "$@"
