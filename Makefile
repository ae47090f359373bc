# Thin wrapper over CMake (the source of truth).  `make demo` and `make test`
# install their own Debian dependencies when run as root.
BUILD ?= build
ASAN_BUILD ?= build-asan
PREFIX ?= /usr/local
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all build demo test test-fast test-slow asan bench install fuzz format format-check clean

all: build

build:
	@scripts/deps.sh build
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

demo:
	@scripts/deps.sh demo
	@$(MAKE) --no-print-directory build
	@examples/demo.sh $(BUILD)

# every tier: unit, fixtures, live interop with torch, real-world corpus, CLI,
# hostile input (corpus, fuzz replay, valgrind memcheck over the CLI), a clean clone
# with no ../shared (tests/fresh); the reasons of skipped tests (the real-world corpus
# ../shared/fixtures/real is absent); clang-format; then the unit tier again under
# ASan + UBSan, and a 30-second libFuzzer smoke per harness
test:
	@scripts/deps.sh test
	@scripts/ort.sh >/dev/null
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)
	@cd $(BUILD) && { ctest --output-on-failure -j $(JOBS) -LE slow; rc=$$?; \
	  grep -h '^SKIPPED: ' Testing/Temporary/LastTest.log || true; exit $$rc; }
	@$(MAKE) --no-print-directory format-check
	@$(MAKE) --no-print-directory asan
	@tests/fuzz/run.sh smoke

# the >4 GiB ZIP64 round trip against torch.save (needs ~9 GiB disk and memory)
test-slow: build
	@cd $(BUILD) && ctest --output-on-failure -L slow

test-fast: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L unit

asan:
	@scripts/deps.sh test
	@CC=clang cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCKPT_SANITIZE=address,undefined >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j $(JOBS) -L "unit|cli|formats"

bench:
	@scripts/deps.sh bench
	@cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build build-release -j $(JOBS)
	@bench/run.sh build-release
	@bench/nn_bench.sh build-release
	@bench/train_bench.sh build-release
	@bench/onnx_bench.sh build-release
	@bench/autograd_bench.sh build-release
	@bench/jit_bench.sh build-release
	@bench/formats_bench.sh build-release
	@bench/dcp_bench.sh build-release

install: build
	@cmake --install $(BUILD) --prefix $(PREFIX)

fuzz:
	@scripts/deps.sh test
	@tests/fuzz/run.sh long

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	@clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

clean:
	@rm -rf $(BUILD) $(ASAN_BUILD) build-release build-fuzz
