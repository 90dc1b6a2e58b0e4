#!/usr/bin/env bash
# `make demo`: build the example programs (release tree, same configuration as `make test`) and run
# the main one, rnnabs_demo, with the arguments given (none: its defaults, on Fashion-MNIST).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
JOBS=${JOBS:-$(nproc)}
scripts/install-deps.sh demo
scripts/configure.sh "$BUILD" release >/dev/null
if ! ninja -C "$BUILD" -t targets all 2>/dev/null | grep -q '^rnnabs_demo: phony'; then
  echo "make demo: there is no example program rnnabs_demo yet (examples/rnnabs_demo.cpp, built by" >&2
  echo "           examples/CMakeLists.txt) -- nothing to run" >&2
  exit 1
fi
cmake --build "$BUILD" -j"$JOBS" --target rnnabs_demo  # the other examples: --target rnnabs_examples
exe=$(find "$BUILD" -name CMakeFiles -prune -o -type f -name rnnabs_demo -perm -u+x -print | head -1)
echo "==> $exe $*"
exec "$exe" "$@"
