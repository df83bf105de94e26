# Thin wrapper over CMake presets. The two commands README.md opens with:
#   make demo   build, then run the CLI on real examples
#   make test   build and run every test (ctest)
# CI=true (set by CI) selects the preset that builds with -Werror.
PRESET ?= $(if $(CI),ci,dev)
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all build demo test bench asan clean install

all: build

build:
	cmake --preset $(PRESET) >/dev/null
	cmake --build --preset $(PRESET) -j $(JOBS)

demo: build
	@sh tools/demo.sh build/$(PRESET)

test: build
	ctest --preset $(PRESET)

# make bench BENCH_ARGS=--quick (fewer repetitions) or --full; see
# docs/performance.md.
BENCH_ARGS ?=
bench:
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS) --target subproc_bench
	build/release/bench/subproc_bench $(BENCH_ARGS)

asan:
	$(MAKE) test PRESET=asan

clean:
	rm -rf build
