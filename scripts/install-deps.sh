#!/usr/bin/env bash
# Installs the Debian packages rnnabs needs, only those missing; idempotent.
# Usage: scripts/install-deps.sh [build|demo|bench]   (default: build)
set -euo pipefail
what=${1:-build}
pkgs=(make cmake ninja-build g++ ccache libeigen3-dev libxtensor-dev xtl-dev libxsimd-dev
      zlib1g-dev libminizip-dev libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev
      nlohmann-json3-dev libomp-dev pkg-config libpng-dev)
case "$what" in
  build) pkgs+=(dataset-fashion-mnist fortunes clang-format-16 clang libclang-rt-14-dev
                python3-dev pybind11-dev python3-numpy python3-pytest python3-sklearn python3-torch
                libopenmpi-dev openmpi-bin) ;;
  demo)  pkgs+=(dataset-fashion-mnist fortunes gnuplot-nox graphviz libsqlite3-dev libxml2-dev libgcrypt20-dev libssl-dev) ;;
  bench) pkgs+=(dataset-fashion-mnist fortunes python3-numpy python3-sklearn python3-scipy libopenblas0-pthread python3-torch
                libopenmpi-dev openmpi-bin) ;;
  fixtures) pkgs+=(python3-numpy python3-sklearn python3-scipy python3-torch python3-opencv) ;;
  *) echo "install-deps: unknown set '$what' (build|demo|bench|fixtures)" >&2; exit 2 ;;
esac
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "rnnabs needs these Debian packages: ${missing[*]}" >&2
  echo "run as root:  apt-get update && DEBIAN_FRONTEND=noninteractive $cmd" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q </dev/null >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null >/dev/null
