#!/usr/bin/env bash
# Checks that the C++ sources follow .clang-format (clang-format 16, Debian 12 package clang-format-16:
# version 14 mangles C++20 requires-clauses and concepts):
# include/**/*.{hpp,cuh}, examples/**/*.{hpp,cpp}, tests/**/*.{hpp,cpp,cu}, benchmarks/**/*.{hpp,cpp}, python/src/*.{hpp,cpp}.
# Usage: scripts/check-format.sh          list the files clang-format would change; exit 1 if any
#        scripts/check-format.sh --fix    reformat those files in place (clang-format -i)
# Env: CLANG_FORMAT (default clang-format-16). Without clang-format it prints a note and exits 0.
# ctest runs the check as `format_check` (label `style`).
set -uo pipefail
cd "$(dirname "$0")/.."
cf=${CLANG_FORMAT:-clang-format-16}
fix=0
case "${1:-}" in
  "") ;;
  --fix) fix=1 ;;
  -h | --help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "check-format: unknown argument '$1' (--fix, --help)" >&2; exit 2 ;;
esac

if ! command -v "$cf" >/dev/null 2>&1; then
  echo "check-format: clang-format not installed: skipped (scripts/install-deps.sh build installs it)"
  exit 0
fi
version=$("$cf" --version 2>/dev/null)
major=$(sed -n 's/.*version \([0-9][0-9]*\).*/\1/p' <<<"$version" | head -n 1)
if [ "${major:-0}" != 16 ]; then
  echo "check-format: note: .clang-format was written for clang-format 16; this is '$version', whose output may differ" >&2
fi

# The files: tracked ones and new ones not ignored (git), or every match on disk outside a checkout.
files=()
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  while IFS= read -r f; do
    [ -f "$f" ] && files+=("$f")
  done < <(git ls-files --cached --others --exclude-standard -- \
             ':(glob)include/**/*.hpp' ':(glob)include/**/*.cuh' \
             ':(glob)examples/**/*.hpp' ':(glob)examples/**/*.cpp' \
             ':(glob)tests/**/*.hpp' ':(glob)tests/**/*.cpp' ':(glob)tests/**/*.cu' \
             ':(glob)benchmarks/**/*.hpp' ':(glob)benchmarks/**/*.cpp' \
             ':(glob)python/src/*.hpp' ':(glob)python/src/*.cpp' | sort -u)
else
  while IFS= read -r f; do
    files+=("$f")
  done < <({ find include -type f \( -name '*.hpp' -o -name '*.cuh' \)
             find examples benchmarks python/src -type f \( -name '*.hpp' -o -name '*.cpp' \)
             find tests -type f \( -name '*.hpp' -o -name '*.cpp' -o -name '*.cu' \); } 2>/dev/null | sort)
fi
if [ ${#files[@]} -eq 0 ]; then
  echo "check-format: no C++ sources found" >&2
  exit 2
fi

# A file differs when clang-format --dry-run -Werror reports a replacement; count them per file.
differ=()
for f in "${files[@]}"; do
  if ! out=$("$cf" --style=file --dry-run -Werror --ferror-limit=0 "$f" 2>&1); then
    n=$(grep -c ': error: code should be clang-formatted' <<<"$out")
    if [ "$n" -eq 0 ]; then  # not a formatting complaint (bad .clang-format, unreadable file): show it
      echo "$out" >&2
      echo "check-format: clang-format failed on $f" >&2
      exit 2
    fi
    differ+=("$f")
    printf '  %-60s %5d place(s)\n' "$f" "$n"
  fi
done

if [ ${#differ[@]} -eq 0 ]; then
  echo "check-format: ${#files[@]} files formatted as .clang-format says"
  exit 0
fi
if [ $fix -eq 1 ]; then
  "$cf" --style=file -i "${differ[@]}" || exit 2
  echo "check-format: reformatted ${#differ[@]} file(s) in place"
  exit 0
fi
echo "check-format: ${#differ[@]} of ${#files[@]} files differ from .clang-format (above)."
fixcmd="scripts/check-format.sh --fix"
[ -n "${CLANG_FORMAT:-}" ] && fixcmd="CLANG_FORMAT=$cf $fixcmd"
echo "Fix them with:  $fixcmd"
echo "(or one file:   $cf -i FILE;  see a file's changes:  $cf FILE | diff FILE -)"
exit 1
