# rnnabs: a thin front door. The logic lives in CMake (CMakeLists.txt, cmake/) and scripts/.
#   make demo       install missing Debian packages, build the examples, run rnnabs_demo (ARGS=...)
#   make test       install missing packages, then the whole suite: Release -Werror build + ctest,
#                   and a Debug ASan+UBSan build of the tests + ctest
#   make python     build the Python package and install it for this user (`import rnnabs` works)
#   make bench      Google Benchmark microbenchmarks, briefly (ARGS=--benchmark_filter=...)
#   make compare    side-by-side rnnabs vs scikit-learn (ARGS="--quick", "--cases selftest", ...)
#   make fuzz       libFuzzer targets of every loader (clang): build into build-fuzz, run each for
#                   SECONDS (default 60) s; crashes kept in build-fuzz/crashes, non-zero exit on a finding
#   make install    PREFIX=/usr/local (headers + CMake package config)
#   make clean      remove the build trees
# Variables: BUILD (release tree, default build), ASAN_BUILD (default build-asan),
#            JOBS (parallel jobs, default: cores), CMAKE_ARGS (extra cmake -D... for configure).
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
PREFIX     ?= /usr/local
ARGS       ?=
SECONDS    ?= 60
export BUILD ASAN_BUILD JOBS CMAKE_ARGS

.PHONY: demo test bench compare install clean deps fuzz python
.DEFAULT_GOAL := test

demo:
	scripts/demo.sh $(ARGS)

test:
	scripts/test.sh

python:
	scripts/python.sh

bench:
	scripts/bench.sh $(ARGS)

compare:
	scripts/install-deps.sh bench
	scripts/configure.sh $(BUILD) release >/dev/null
	cmake --build $(BUILD) -j$(JOBS) --target rnnabs_compare
	benchmarks/compare/run --build $(BUILD) $(ARGS)

fuzz:
	scripts/install-deps.sh build
	FUZZ_SECONDS=$(SECONDS) scripts/fuzz.sh run $(ARGS)

install:
	scripts/install-deps.sh build
	scripts/configure.sh $(BUILD)-install install >/dev/null
	cmake --install $(BUILD)-install --prefix $(PREFIX)

deps:
	scripts/install-deps.sh build

clean:
	rm -rf $(BUILD) $(BUILD)-logs $(BUILD)-install $(ASAN_BUILD) build-fuzz
