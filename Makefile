# Thin wrapper over CMake presets. The two commands README.md opens with:
#   make demo   build, then run the CLI on real examples
#   make test   build and run every test (ctest)
PRESET ?= dev
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

bench:
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)
	build/release/bench/subproc_bench

asan:
	$(MAKE) test PRESET=asan

clean:
	rm -rf build
