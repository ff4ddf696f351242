# s48 - Sistem 48 ticketing daemon.
#
#   make            build s48d and s48ctl into build/
#   make check      install missing Debian packages, build, run every test
#   make demo       the whole job on this machine, against local servers
#   make asan       the tests under AddressSanitizer + UBSan
#   make fuzz       libFuzzer targets (FUZZ_SECONDS per target)
#   make bench      figures: ingest rates, instructions/message, RSS
#   make install    PREFIX=/usr/local DESTDIR=

PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
SBINDIR  ?= $(PREFIX)/sbin
SYSCONFDIR ?= /etc
BUILD    ?= build
CC       ?= cc
FUZZ_SECONDS ?= 60

PKGS := libetpan gmime-3.0 gnutls libcurl sqlite3 libconfig jansson libytnef
# pkg-config's -I become -isystem so library headers do not trip our warnings;
# libetpan's .pc adds a -specs= file from libdpkg-perl that must not reach the link.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null | sed 's/-I/-isystem /g')
PKG_LIBS   = $(filter-out -specs=%,$(shell pkg-config --libs $(PKGS) 2>/dev/null))
SYSTEMD_CFLAGS = $(shell pkg-config --exists libsystemd 2>/dev/null && echo -DHAVE_SYSTEMD)
SYSTEMD_LIBS   = $(shell pkg-config --libs libsystemd 2>/dev/null)
CMOCKA_LIBS    = $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)

WARN := -Wall -Wextra -Wpedantic -Wstrict-prototypes -Wmissing-prototypes -Wshadow \
	-Wcast-qual -Wno-overlength-strings
OPT  ?= -O2 -g
SAN  ?=
CFLAGS_ALL = -std=c11 -D_GNU_SOURCE $(OPT) $(SAN) $(WARN) -Idaemon -Iparsers -Inotifiers \
	-I$(BUILD) $(PKG_CFLAGS) $(SYSTEMD_CFLAGS) $(CFLAGS)
LDLIBS_ALL = $(SAN) $(PKG_LIBS) $(SYSTEMD_LIBS) -lm $(LDFLAGS)

MAINS    := daemon/s48d.c daemon/s48ctl.c
LIB_SRCS := $(filter-out $(MAINS),$(sort $(wildcard daemon/*.c parsers/*.c notifiers/*.c)))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/schema_gen.o
SCHEMA   := $(sort $(wildcard schema/[0-9]*.sql))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))

.PHONY: all check check-only asan deps demo fuzz bench install clean
# keep objects of test and tool programs between runs
.SECONDARY:
all: $(BUILD)/s48d $(BUILD)/s48ctl

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(BUILD)/schema_gen.c: $(SCHEMA) scripts/embed-schema.sh
	@mkdir -p $(BUILD)
	sh scripts/embed-schema.sh $(SCHEMA) > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/schema_gen.o: $(BUILD)/schema_gen.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(BUILD)/libs48.a: $(LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/s48d: $(BUILD)/obj/daemon/s48d.o $(BUILD)/libs48.a
	$(CC) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/s48ctl: $(BUILD)/obj/daemon/s48ctl.o $(BUILD)/libs48.a
	$(CC) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(BUILD)/libs48.a
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDLIBS_ALL) $(CMOCKA_LIBS)

BENCH_SRCS := $(sort $(wildcard tests/bench/bench_*.c))
BENCH_BINS := $(BENCH_SRCS:tests/bench/%.c=$(BUILD)/bench/%)
$(BUILD)/bench/%: $(BUILD)/obj/tests/bench/%.o $(BUILD)/libs48.a
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDLIBS_ALL)
TOOL_SRCS := $(sort $(wildcard tests/tools/*.c))
TOOL_BINS := $(TOOL_SRCS:tests/tools/%.c=$(BUILD)/tools/%)
$(BUILD)/tools/%: $(BUILD)/obj/tests/tools/%.o $(BUILD)/libs48.a
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDLIBS_ALL)
bench-build: all $(BENCH_BINS) $(TOOL_BINS)
.PHONY: bench-build

tests-build: all $(UNIT_BINS) $(TOOL_BINS)
.PHONY: tests-build

deps:
	@sh scripts/deps.sh

# Every test: unit suites (cmocka) and integration scripts against real servers,
# ending with one line "N passed, N failed".  Then the same under ASan+UBSan.
check: deps
	@$(MAKE) --no-print-directory tests-build
	@S48_BUILD=$(BUILD) sh tests/run-tests.sh
	@if [ "$(S48_SKIP_ASAN)" != 1 ]; then $(MAKE) --no-print-directory asan; fi

# The suites alone, no deps step (used by asan and by developers).
check-only: tests-build
	@S48_BUILD=$(BUILD) sh tests/run-tests.sh

asan:
	@$(MAKE) --no-print-directory BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
		SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" check-only

# The threaded paths under ThreadSanitizer (not part of check: ~12 min more).
# s48d runs in the background in integration tests, so its reports are
# collected from TSAN_OPTIONS' log_path, and any report fails the target.
TSAN_TESTS ?= test_imap* test_intake_imap test_daemon* test_crash* test_soak test_store* \
	test_ingest* test_outbox* test_notifier_smtp* test_mime* test_ops_*
tsan:
	@$(MAKE) --no-print-directory BUILD=build-tsan OPT="-O1 -g" SAN="-fsanitize=thread" tests-build
	@rm -rf build-tsan/tsan-logs; mkdir -p build-tsan/tsan-logs; rc=0; \
	for t in $(foreach t,$(TSAN_TESTS),'$(t)'); do \
	  TSAN_OPTIONS="log_path=$(CURDIR)/build-tsan/tsan-logs/tsan second_deadlock_stack=1 suppressions=$(CURDIR)/tests/tsan.supp" \
	  S48_BUILD=build-tsan S48_TESTS="$$t" sh tests/run-tests.sh || rc=1; done; \
	if ls build-tsan/tsan-logs/tsan.* >/dev/null 2>&1; then cat build-tsan/tsan-logs/tsan.*; rc=1; fi; exit $$rc
.PHONY: tsan

demo: deps all
	@S48_BIN=$(CURDIR)/$(BUILD) sh tests/demo.sh

fuzz: deps
	@sh tests/fuzz/run-fuzz.sh $(FUZZ_SECONDS)

bench: deps bench-build
	@S48_BUILD=$(BUILD) sh tests/bench/run-bench.sh

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSCONFDIR)/s48
	install -m 755 $(BUILD)/s48d $(DESTDIR)$(SBINDIR)/s48d
	install -m 755 $(BUILD)/s48ctl $(DESTDIR)$(BINDIR)/s48ctl
	install -m 640 conf/s48.conf.example $(DESTDIR)$(SYSCONFDIR)/s48/s48.conf.example
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system
	install -m 644 conf/s48d.service $(DESTDIR)$(PREFIX)/lib/systemd/system/s48d.service

clean:
	rm -rf build build-asan build-fuzz build-tsan

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
