#!/usr/bin/env bash
# `make python`: builds the Python package (rnnabs._core + python/rnnabs/*.py) in the release tree and
# installs it for the current user, so that `python3 -c "import rnnabs"` works from any directory.
# Env: BUILD (default build), JOBS, PYTHON (default /usr/bin/python3: Debian's, with python3-numpy).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
JOBS=${JOBS:-$(nproc)}
PYTHON=${PYTHON:-/usr/bin/python3}
scripts/install-deps.sh build
scripts/configure.sh "$BUILD" release -DPython_EXECUTABLE="$PYTHON" >/dev/null
cmake --build "$BUILD" -j"$JOBS" --target rnnabs_python
site=$("$PYTHON" -m site --user-site)
mkdir -p "$site"
# Replace the installed copy as a whole (a new directory, then one rename), so no mix of versions is left.
rm -rf "$site/rnnabs.new"
cp -r "$BUILD/python/rnnabs" "$site/rnnabs.new"
rm -rf "$site/rnnabs"
mv "$site/rnnabs.new" "$site/rnnabs"
cd /
"$PYTHON" -c "import rnnabs; print(f'rnnabs {rnnabs.__version__} installed in $site (import rnnabs)')"
