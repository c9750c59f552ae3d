# Palisade's top-level targets.  The build itself is CMake; these wrap it.
#
#   make demo    install what is missing, build, scan the demo models
#   make test    install what is missing, build with -Werror and
#                ASan/UBSan, run the whole suite (unit, e2e, seeds, fuzz smoke)
#   make fuzz    run every fuzz target for FUZZ_SECONDS each
#   make bench   run the benchmarks in bench/

MAKEFLAGS += --no-print-directory
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 60
SMOKE_SECONDS ?= 5

.PHONY: all build demo test unit check-source fuzz fuzz-build fuzz-smoke bench bootstrap clean

all: build

bootstrap:
	@./scripts/bootstrap

build: bootstrap
	@cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPAL_TESTS=OFF >/dev/null
	@cmake --build build/release -j $(JOBS)

demo: build
	@./scripts/demo build/release/palisade

build/test/CMakeCache.txt:
	@cmake -S . -B build/test -DPAL_SANITIZE=ON -DPAL_WERROR=ON >/dev/null

unit: bootstrap build/test/CMakeCache.txt
	@cmake --build build/test -j $(JOBS)
	@cd build/test && ctest --output-on-failure -j $(JOBS)

check-source:
	@./scripts/check-source

test: check-source build unit fuzz-smoke

fuzz-build: bootstrap
	@CC=clang cmake -S . -B build/fuzz -DPAL_FUZZ=ON -DPAL_TESTS=OFF >/dev/null
	@cmake --build build/fuzz -j $(JOBS)

fuzz-smoke: fuzz-build
	@./scripts/fuzz build/fuzz $(SMOKE_SECONDS)

fuzz: fuzz-build
	@./scripts/fuzz build/fuzz $(FUZZ_SECONDS)

bench: build
	@./bench/run build/release/palisade

clean:
	rm -rf build
