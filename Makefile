# mlwatch build. `make` builds the three programs, `make test` runs every test,
# `make asan` runs them under ASan+UBSan, `make fuzz` runs the libFuzzer targets,
# `make bench` the benchmarks. Missing Debian packages are installed first.
VERSION := 0.1.0
PREFIX ?= /usr/local
DESTDIR ?=
B ?= build
CC ?= cc
SAN ?=

PKGS := ncursesw sqlite3 libcurl libcjson libprotobuf-c inih libmicrohttpd libcrypto gnutls zlib libpq lapacke openblas
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lnng -lpthread -lm
CRIT_LIBS := $(shell pkg-config --libs criterion 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=c11 $(WARN) $(CFLAGS) -D_GNU_SOURCE -DMLWATCH_VERSION=\"$(VERSION)\" \
	-Icommon -Icommon/store -Itests/lib -I$(B)/gen $(PKG_CFLAGS) -MMD -MP
ifeq ($(SAN),1)
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDSAN := -fsanitize=address,undefined
endif
LDFLAGS ?=

PROTO := common/mlwatch.proto common/otlp.proto
PB_C := $(patsubst common/%.proto,$(B)/gen/%.pb-c.c,$(PROTO))
PB_H := $(patsubst common/%.proto,$(B)/gen/%.pb-c.h,$(PROTO))

COMMON_SRC := $(wildcard common/*.c common/stats/*.c common/store/*.c)
AGENT_SRC := $(filter-out agent/main.c,$(wildcard agent/*.c))
COLL_SRC := $(filter-out collector/main.c,$(wildcard collector/*.c))
TUI_SRC := $(filter-out tui/main.c,$(wildcard tui/*.c))
TLIB_SRC := $(wildcard tests/lib/*.c)

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))
COMMON_OBJ := $(call obj,$(COMMON_SRC)) $(patsubst $(B)/gen/%.c,$(B)/obj/gen/%.o,$(PB_C))
AGENT_OBJ := $(call obj,$(AGENT_SRC))
COLL_OBJ := $(call obj,$(COLL_SRC))
TUI_OBJ := $(call obj,$(TUI_SRC))
TLIB_OBJ := $(call obj,$(TLIB_SRC))

# A program's library exists only once it has sources besides main.c.
AGENT_LIB := $(if $(AGENT_SRC),$(B)/libagent.a)
COLL_LIB := $(if $(COLL_SRC),$(B)/libcollector.a)
TUI_LIB := $(if $(TUI_SRC),$(B)/libtui.a)
LIBS := $(AGENT_LIB) $(COLL_LIB) $(TUI_LIB) $(B)/libmlwatch.a
BINS := $(B)/mlwatch-agent $(B)/mlwatchd $(B)/mlwatch
UNIT := $(patsubst tests/unit/%.c,$(B)/tests/unit/%,$(wildcard tests/unit/test_*.c))
INTEG := $(patsubst tests/integration/%.c,$(B)/tests/integration/%,$(wildcard tests/integration/test_*.c))
BENCH := $(patsubst tests/bench/%.c,$(B)/tests/bench/%,$(wildcard tests/bench/bench_*.c))
# Programs integration tests start (their own main), e.g. a leader election node.
HELPERS := $(patsubst tests/integration/%.c,$(B)/tests/integration/%,$(wildcard tests/integration/helper_*.c))

.PHONY: all deps test-deps test unit integration asan valgrind fuzz fuzz-short bench install clean demo soak soak-pg format binaries tests-built clock-sweep
all: deps
	@$(MAKE) --no-print-directory binaries

binaries: $(BINS) mlwatch-agent mlwatchd mlwatch

# Convenience links at the top so `./mlwatchd --help` works after `make`.
mlwatch-agent mlwatchd mlwatch: %: $(B)/%
	@ln -sf $(B)/$@ $@

deps:
	@scripts/deps.sh build
test-deps:
	@scripts/deps.sh test

$(B)/gen/%.pb-c.c $(B)/gen/%.pb-c.h: common/%.proto
	@mkdir -p $(B)/gen
	protoc-c --c_out=$(B)/gen --proto_path=common $<

$(B)/obj/gen/%.pb-c.o: $(B)/gen/%.pb-c.c
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -Werror,$(ALL_CFLAGS)) -c $< -o $@

# Tests and programs may include their own directory's headers; tests see all.
$(B)/obj/tests/%.o: ALL_CFLAGS += -Iagent -Icollector -Itui
$(B)/obj/agent/%.o: ALL_CFLAGS += -Iagent
$(B)/obj/collector/%.o: ALL_CFLAGS += -Icollector
$(B)/obj/tui/%.o: ALL_CFLAGS += -Itui -Icollector

$(B)/obj/%.o: %.c | $(PB_H)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(B)/libmlwatch.a: $(COMMON_OBJ)
	@rm -f $@; ar rcs $@ $^
$(B)/libagent.a: $(AGENT_OBJ)
	@rm -f $@; ar rcs $@ $^
$(B)/libcollector.a: $(COLL_OBJ)
	@rm -f $@; ar rcs $@ $^
$(B)/libtui.a: $(TUI_OBJ)
	@rm -f $@; ar rcs $@ $^

$(B)/mlwatch-agent: $(B)/obj/agent/main.o $(AGENT_LIB) $(B)/libmlwatch.a
	$(CC) $(LDSAN) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)
$(B)/mlwatchd: $(B)/obj/collector/main.o $(COLL_LIB) $(B)/libmlwatch.a
	$(CC) $(LDSAN) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)
$(B)/mlwatch: $(B)/obj/tui/main.o $(TUI_LIB) $(COLL_LIB) $(B)/libmlwatch.a
	$(CC) $(LDSAN) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(B)/tests/%: $(B)/obj/tests/%.o $(TLIB_OBJ) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDSAN) $(LDFLAGS) -o $@ $< $(TLIB_OBJ) $(LIBS) $(PKG_LIBS) $(CRIT_LIBS)

# Not linked with Criterion: its library, when kept (ASan builds), would
# take the test worker's environment the helper inherits for its own.
$(HELPERS): $(B)/tests/integration/%: $(B)/obj/tests/integration/%.o $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDSAN) $(LDFLAGS) -o $@ $< $(LIBS) $(PKG_LIBS)

tests-built: $(BINS) $(UNIT) $(INTEG) $(HELPERS)

# The test run: every unit test, then every integration test (they start the
# real binaries from $(B)). Ends with Criterion's synthesis lines and a total.
# The benchmarks are built too (not run), so that a change that breaks
# `make bench` fails here (bench_segments did not compile for a session).
test: test-deps
	@$(MAKE) --no-print-directory -j$$(nproc) tests-built $(BENCH)
	@scripts/run-tests.sh $(B) $(UNIT) $(INTEG)

unit: test-deps
	@$(MAKE) --no-print-directory $(UNIT)
	@scripts/run-tests.sh $(B) $(UNIT)

asan: test-deps
	@$(MAKE) --no-print-directory -j$$(nproc) B=build-asan SAN=1 tests-built
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		MLWATCH_SAN=1 scripts/run-tests.sh build-asan \
		$(patsubst $(B)/%,build-asan/%,$(UNIT) $(INTEG))

# Unit tests under valgrind (leaks and memory errors fail the run); integration
# tests whose children honour MLWATCH_VALGRIND run those under valgrind too.
valgrind: test-deps
	@$(MAKE) --no-print-directory tests-built
	@VALGRIND=1 scripts/run-tests.sh $(B) $(UNIT)

FUZZ_SECONDS ?= 60
fuzz: test-deps
	@scripts/fuzz.sh $(FUZZ_SECONDS)
fuzz-short: test-deps
	@scripts/fuzz.sh 10

bench: test-deps
	@$(MAKE) --no-print-directory $(BINS) $(BENCH)
	@scripts/run-bench.sh $(B) $(BENCH)

demo: deps
	@$(MAKE) --no-print-directory binaries
	@$(B)/mlwatch demo

SOAK_SECONDS ?= 600
soak: test-deps
	@$(MAKE) --no-print-directory tests-built
	@SOAK_SECONDS=$(SOAK_SECONDS) scripts/soak.sh $(B)

# Issue 16 acceptance 2: two collectors on one PostgreSQL, two agents, 1e6
# events, kill -9 of a collector mid-stream (SOAK_PG_EVENTS, SOAK_PG_BUDGET).
soak-pg: test-deps
	@$(MAKE) --no-print-directory $(BINS) $(B)/tests/bench/soak_pg
	@MLWATCH_BIN_DIR="$$(cd $(B) && pwd)" MLWATCH_SRC_DIR="$$(pwd)" $(B)/tests/bench/soak_pg

# Every test alone with its clock next to a UTC midnight (libfaketime; about
# 35 min; CLOCK_SWEEP_OFFSETS: seconds before midnight, negative after).
CLOCK_SWEEP_OFFSETS ?= 1 -90
clock-sweep: test-deps
	@command -v faketime >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime >&2; } || \
		{ echo "clock-sweep: run as root: apt-get install -y faketime" >&2; exit 1; }
	@$(MAKE) --no-print-directory tests-built
	@scripts/clock-sweep.sh $(B) $(CLOCK_SWEEP_OFFSETS)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	for m in man/*.[158]; do [ -f $$m ] || continue; \
		s=$${m##*.}; install -m 0644 $$m $(DESTDIR)$(PREFIX)/share/man/man$$s/; done

format:
	clang-format -i common/*.[ch] common/stats/*.[ch] common/store/*.[ch] agent/*.[ch] collector/*.[ch] tui/*.[ch] tests/*/*.[ch]

clean:
	rm -rf build build-asan build-fuzz mlwatch-agent mlwatchd mlwatch

# Keep test objects: they are intermediate files of the pattern rules, and
# make would delete them after every build and so rebuild them every time.
.SECONDARY:

-include $(shell find $(B) -name '*.d' 2>/dev/null)
