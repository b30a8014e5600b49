# The SFU node: `make` builds build/sfu; `make run` starts it; `make test` runs every suite.
VERSION   := 0.1.0
SANITIZE  ?= 0
PKGS      := libuv libwebsockets openssl libsrtp2 nice jansson sqlite3 usrsctp

ifeq ($(SANITIZE),1)
BUILD     ?= build-asan
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT       := -O1
else
BUILD     ?= build
SAN_FLAGS :=
OPT       := -O2
endif

CC        ?= cc
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS    += -std=gnu11 -Wall -Wextra -g $(OPT) $(SAN_FLAGS) -I. $(SRTP_CFLAGS) $(LWS_CFLAGS) $(PKG_CFLAGS) \
             -DSFU_VERSION=\"$(VERSION)\" -DSFU_WWW_DIR=\"$(CURDIR)/signaling/www\" -MMD -MP
LDLIBS    += $(SAN_FLAGS) $(SRTP_LIBS) $(LWS_LIBS) $(PKG_LIBS) -lpthread -lm

# libsrtp2 built on OpenSSL from Debian's source package (tools/build-libsrtp.sh),
# static; without it (the .mk then warns why) the system's libsrtp2 on NSS.
# libwebsockets likewise, with the node's patches to its HTTP/1 request-head
# parser and WebSocket framing (tools/build-libwebsockets.sh), static.
SRTP_DIR  := build/third_party
SRTP_MK   := $(SRTP_DIR)/libsrtp2.mk
LWS_MK    := $(SRTP_DIR)/libwebsockets.mk
ifneq ($(filter-out clean format lint deps node-deps,$(or $(MAKECMDGOALS),all)),)
include $(SRTP_MK) $(LWS_MK)
endif
ifeq ($(SRTP_STATIC),1)
PKGS      := $(filter-out libsrtp2,$(PKGS))
endif
ifeq ($(LWS_STATIC),1)
PKGS      := $(filter-out libwebsockets,$(PKGS))
endif

LIB_DIRS  := common rtp ice dtls store signaling sfu
LIB_SRCS  := $(filter-out sfu/main.c,$(wildcard $(addsuffix /*.c,$(LIB_DIRS))))
LIB_OBJS  := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

.PHONY: node-deps fuzz-build all run test test-unit test-integration e2e bench bench-compare deps lint format clean

all: $(BUILD)/sfu

$(SRTP_MK): tools/build-libsrtp.sh tools/debian-source.sh
	@$(if $(MAKE_RESTARTS),:,tools/build-libsrtp.sh $(SRTP_DIR))
# The one object that includes libsrtp's headers follows a change of library.
$(BUILD)/obj/dtls/srtp_session.o: $(wildcard $(SRTP_MK))
$(LWS_MK): tools/build-libwebsockets.sh tools/debian-source.sh $(wildcard tools/patches/libwebsockets/*.patch)
	@$(if $(MAKE_RESTARTS),:,tools/build-libwebsockets.sh $(SRTP_DIR))
# libwebsockets' headers change with the library (its lws_config.h).
$(LIB_OBJS) $(BUILD)/obj/sfu/main.o: $(wildcard $(LWS_MK))

deps:
	@tools/deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libsfu.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/sfu: $(BUILD)/obj/sfu/main.o $(BUILD)/libsfu.a
	$(CC) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(BUILD)/libsfu.a
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDLIBS) -lcmocka

run: deps-runtime
	@$(MAKE) --no-print-directory all
	$(BUILD)/sfu $(ARGS)

.PHONY: deps-runtime install uninstall

# Only what building and running the node needs (no browser, fuzzer or npm).
deps-runtime:
	@tools/deps.sh runtime

# make install [PREFIX=/usr/local] [DESTDIR=]: the binary, the web client, a
# systemd unit with hardening options and /etc/sfu/sfu.conf (kept when it
# exists). See docs/DEPLOY.md.
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
WWWDIR     ?= $(PREFIX)/share/sfu/www
UNITDIR    ?= /etc/systemd/system
install: all
	install -D -m 0755 $(BUILD)/sfu $(DESTDIR)$(BINDIR)/sfu
	rm -rf $(DESTDIR)$(WWWDIR) && mkdir -p $(DESTDIR)$(WWWDIR)
	cp -R signaling/www/. $(DESTDIR)$(WWWDIR)/ && rm -f $(DESTDIR)$(WWWDIR)/README.md
	mkdir -p $(DESTDIR)$(UNITDIR)
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@WWWDIR@|$(WWWDIR)|g' dist/sfu.service.in >$(DESTDIR)$(UNITDIR)/sfu.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/sfu.service
	install -D -m 0644 docs/DEPLOY.md $(DESTDIR)$(PREFIX)/share/doc/sfu/DEPLOY.md
	@if [ -e $(DESTDIR)/etc/sfu/sfu.conf ]; then echo "install: keeping $(DESTDIR)/etc/sfu/sfu.conf"; \
	else install -D -m 0640 dist/sfu.conf $(DESTDIR)/etc/sfu/sfu.conf; fi

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/sfu $(DESTDIR)$(UNITDIR)/sfu.service
	rm -rf $(DESTDIR)$(WWWDIR) $(DESTDIR)$(PREFIX)/share/doc/sfu

# The test suites' npm packages, pinned by tests/package-lock.json.
tests/node_modules/.package-lock.json: tests/package-lock.json
	cd tests && npm ci --no-audit --no-fund --loglevel=error

node-deps: $(if $(wildcard tests/package-lock.json),tests/node_modules/.package-lock.json)

# Unit suites (cmocka) and integration suites (a real build/sfu over loopback),
# then one summary line over all of them.
test: deps
	@$(MAKE) --no-print-directory all $(UNIT_BINS) node-deps $(if $(HAVE_FUZZ_CC),fuzz-build)
	@BUILD=$(BUILD) tests/run.sh

test-unit: $(UNIT_BINS)
	@BUILD=$(BUILD) SUITES=unit tests/run.sh

test-integration: all node-deps
	@BUILD=$(BUILD) SUITES=integration tests/run.sh

# Browser end-to-end suites alone (Debian's chromium via playwright-core).
e2e: deps
	@$(MAKE) --no-print-directory all node-deps
	@BUILD=$(BUILD) SUITES=e2e tests/run.sh

# Fuzz targets (clang's libFuzzer with ASan/UBSan), one binary per parser of
# untrusted input: make fuzz-build; build/fuzz/fuzz_rtcp_path -max_total_time=60.
# make test runs each briefly (tests/run.sh, suite "fuzz") when clang is there.
FUZZ_CC    ?= clang
FUZZ_SRCS  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS  := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(FUZZ_SRCS))
FUZZ_UNDER := common/idmap.c common/util.c common/strbuf.c $(wildcard rtp/*.c ice/stun_*.c) ice/tcp_framing.c \
              dtls/dcep.c sfu/room.c sfu/producer.c sfu/consumer.c sfu/speaker.c sfu/simulcast.c
FUZZ_PKGS  := libuv openssl nice jansson
HAVE_FUZZ_CC := $(shell command -v $(FUZZ_CC) >/dev/null 2>&1 && echo 1)

# Targets above the media layers name their own sources here.
FUZZ_EXTRA_fuzz_multipart := signaling/multipart.c
FUZZ_EXTRA_fuzz_jwt       := store/auth.c common/log.c

.SECONDEXPANSION:
build/fuzz/%: tests/fuzz/%.c $(FUZZ_UNDER) $$(FUZZ_EXTRA_$$*) $(wildcard common/*.h rtp/*.h ice/*.h sfu/*.h signaling/*.h store/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -g -O1 -fsanitize=fuzzer,address,undefined -I. $(shell pkg-config --cflags $(FUZZ_PKGS)) \
	    $< $(FUZZ_UNDER) $(FUZZ_EXTRA_$*) $(shell pkg-config --libs $(FUZZ_PKGS)) -o $@

# Targets above that need the whole node (the WebSocket message table, the
# HTTP routes) link every library source built for fuzzing, once, in an archive.
FUZZ_NODE      := fuzz_ws fuzz_http
FUZZ_NODE_OBJS := $(patsubst %.c,build/fuzz/obj/%.o,$(LIB_SRCS))
# They replace a few libwebsockets calls with recording stubs, which only a
# shared library lets them do: they use the system's, not the node's static one.
FUZZ_NODE_CFLAGS = -std=gnu11 -g -O1 -fsanitize=fuzzer-no-link,address,undefined -I. $(SRTP_CFLAGS) \
                   $(shell pkg-config --cflags libwebsockets) \
                   $(PKG_CFLAGS) -DSFU_VERSION=\"$(VERSION)\" -DSFU_WWW_DIR=\"$(CURDIR)/signaling/www\" -MMD -MP

build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_NODE_CFLAGS) -c $< -o $@

build/fuzz/libsfu-fuzz.a: $(FUZZ_NODE_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(addprefix build/fuzz/,$(FUZZ_NODE)): build/fuzz/%: tests/fuzz/%.c build/fuzz/libsfu-fuzz.a tests/fuzz/fuzz_node.h
	$(FUZZ_CC) $(FUZZ_NODE_CFLAGS) -fsanitize=fuzzer $< build/fuzz/libsfu-fuzz.a $(SRTP_LIBS) $(PKG_LIBS) \
	    $(shell pkg-config --libs libwebsockets) \
	    -lpthread -lm -o $@

fuzz-build: $(FUZZ_BINS)

# make fuzz [FUZZ_SECONDS=60]: builds every target, runs each for that long
# from its corpus in build/fuzz/corpus/NAME (kept between runs) and its seeds
# in tests/fuzz/corpus/NAME; stops at the first crash, which libFuzzer leaves
# as build/fuzz/crash-*.
FUZZ_SECONDS ?= 60
.PHONY: fuzz
fuzz: fuzz-build
	@set -e; for bin in $(FUZZ_BINS); do \
	  name=$$(basename $$bin); mkdir -p build/fuzz/corpus/$$name; \
	  echo "fuzz: $$name for $(FUZZ_SECONDS) s"; \
	  seeds=$$([ -d tests/fuzz/corpus/$$name ] && echo tests/fuzz/corpus/$$name); \
	  $$bin -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -artifact_prefix=build/fuzz/ \
	    build/fuzz/corpus/$$name $$seeds 2>build/fuzz/$$name.log || { tail -40 build/fuzz/$$name.log; exit 1; }; \
	  grep -E '^stat::number_of_executed_units' build/fuzz/$$name.log || true; \
	done

FORMAT_SRCS = $(LIB_SRCS) sfu/main.c $(UNIT_SRCS) $(wildcard */*.h tests/fuzz/*.c) $(EXTRA_FORMAT_SRCS)

lint:
	clang-format --dry-run --Werror $(FORMAT_SRCS)

format:
	clang-format -i $(FORMAT_SRCS)

clean:
	rm -rf build build-asan

# Programs beside the node (load generator, bench harness) bring their own rules.
include $(wildcard tools/*.mk bench/*.mk)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
-include $(shell find build/fuzz/obj -name '*.d' 2>/dev/null)
