# invkit - plain GNU Makefile.  `make` builds bin/*, `make check` runs every
# test (installing Debian dependencies first when missing), `make demo` runs
# the main job on bundled data, `make check-asan` repeats the tests under
# AddressSanitizer and UBSan, `make check-valgrind` runs each tool once under
# valgrind.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
CC ?= cc
CFLAGS ?= -O2 -g
PKG_CONFIG ?= pkg-config

override CFLAGS += -std=c11 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
	-Icommon $(shell $(PKG_CONFIG) --cflags libcurl jansson 2>/dev/null) $(if $(SANITIZE),-fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all)
override LDFLAGS += $(if $(SANITIZE),-fsanitize=$(SANITIZE))
LIBS = -lcsv -lxxhash -linih $(shell $(PKG_CONFIG) --libs libcurl jansson libcrypto 2>/dev/null)

BUILD = build$(if $(SANITIZE),-san)
BIN = bin$(if $(SANITIZE),-san)

TOOLS = $(notdir $(wildcard cmd/*))
COMMON_SRC = $(wildcard common/*.c common/platform/*.c)
COMMON_OBJ = $(COMMON_SRC:%.c=$(BUILD)/%.o)
HDRS = $(wildcard common/*.h common/platform/*.h cmd/*/*.h)

all: $(TOOLS:%=$(BIN)/%)

$(BUILD)/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/libinvkit.a: $(COMMON_OBJ)
	rm -f $@
	ar rcs $@ $^

# One binary per folder in cmd/: its objects, the platform drivers (linked
# as objects, so that no driver depends on the order of archive members) and
# the common library.
PLATFORM_OBJ = $(patsubst %.c,$(BUILD)/%.o,$(wildcard common/platform/*.c))
define tool_rule
$(BIN)/$(1): $(patsubst %.c,$(BUILD)/%.o,$(wildcard cmd/$(1)/*.c)) $(PLATFORM_OBJ) $(BUILD)/libinvkit.a
	@mkdir -p $(BIN)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LIBS)
endef
$(foreach t,$(TOOLS),$(eval $(call tool_rule,$(t))))

# ---- tests ----
UNIT = $(patsubst tests/unit/%.c,$(BIN)/%,$(wildcard tests/unit/test_*.c))

$(BIN)/test_%: tests/unit/test_%.c $(PLATFORM_OBJ) $(BUILD)/libinvkit.a $(HDRS)
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(PLATFORM_OBJ) $(BUILD)/libinvkit.a $(LIBS) -lcmocka

check: deps
	$(MAKE) all-tests
	tests/run

all-tests: all $(UNIT)

# the drivers against real servers installed from the npm registry (tests/real)
check-real: deps all
	tests/real/run

check-asan: deps
	$(MAKE) SANITIZE=address,undefined all-tests
	INVKIT_BIN=$(CURDIR)/bin-san ASAN_OPTIONS=detect_leaks=1 tests/run

# one run of each tool under valgrind (memcheck, leaks definitely or
# indirectly lost are errors): tests/valgrind.sh
check-valgrind: deps
	$(MAKE) all
	INVKIT_BIN=$(CURDIR)/$(BIN) tests/valgrind.sh

# libFuzzer targets (clang): make fuzz FUZZ_SECONDS=N runs each for N seconds.
FUZZ_SECONDS ?= 30
FUZZ = $(patsubst tests/fuzz/%.c,build-fuzz/%,$(wildcard tests/fuzz/*.c))
# Sources a target compiles in itself (#include, to reach static functions or
# to replace the transport), left out of its link: common/http.c for every
# target that includes tests/fuzz/fakehttp.h.
FUZZ_OWN_fuzz_http = common/http.c
fuzz_own = $(FUZZ_OWN_$(1)) $(if $(shell grep -l 'fakehttp\.h' tests/fuzz/$(1).c),common/http.c)
# The library is compiled once for all targets (build-fuzz/obj), then each
# target is linked with it.
FUZZ_CC = clang -std=c11 -g -O1 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Icommon \
	-fno-sanitize-recover=undefined
FUZZ_OBJ = $(patsubst %.c,build-fuzz/obj/%.o,$(COMMON_SRC))
build-fuzz/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -fsanitize=fuzzer-no-link,address,undefined -c -o $@ $<
build-fuzz/%: tests/fuzz/%.c $(FUZZ_OBJ) $(HDRS) $(wildcard tests/fuzz/*.h)
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $< \
		$(filter-out $(patsubst %.c,build-fuzz/obj/%.o,$(call fuzz_own,$*)),$(FUZZ_OBJ)) $(LIBS)
# Each target runs on its seeds (tests/fuzz/corpus/NAME) and what it found
# before (build-fuzz/corpus-NAME), as many at once as there are processors
# (tests/fuzz/run): one line per target, and exit 1 if any crashed.
fuzz: deps
	$(MAKE) -j$$(nproc) $(FUZZ)
	tests/fuzz/run $(FUZZ_SECONDS) $(FUZZ)

demo: deps all
	scripts/demo

# scripts/invsync again and again against tests/sim with every fault on and
# runs killed; the invariants after every run (scripts/soak)
SOAK_SECONDS ?= 120
soak: deps all
	scripts/soak -d $(SOAK_SECONDS)

# Install the Debian packages the build and tests need, when missing.
DEB_DEPS = gcc make pkg-config libcurl4-openssl-dev libjansson-dev libcsv-dev \
	libxxhash-dev libcmocka-dev libinih-dev libssl-dev python3 jq mandoc clang libclang-rt-14-dev valgrind
deps:
	@missing=$$(for p in $(DEB_DEPS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "make deps: installing $$missing"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7
	install -m 755 $(TOOLS:%=bin/%) scripts/invsync $(DESTDIR)$(BINDIR)
	install -m 644 $(wildcard man/*.1) $(DESTDIR)$(MANDIR)/man1
	install -m 644 $(wildcard man/*.7) $(DESTDIR)$(MANDIR)/man7

clean:
	rm -rf build build-san build-fuzz bin bin-san

.PHONY: all check check-real check-asan check-valgrind soak all-tests demo deps install clean fuzz
.PRECIOUS: $(BUILD)/%.o build-fuzz/obj/%.o
