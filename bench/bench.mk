# make bench: each scenario of BENCH_SCENARIOS through bench/run against a fresh
# node; reports land in bench/out/SCENARIO/. BENCH_ARGS go to every run (for
# example BENCH_ARGS="--duration 5"). BENCH_NULL=1 first runs max on the null
# forwarder, with SRTP and without (--target null-bare), so the node's max report
# carries its fraction of both ceilings.
BENCH_SCENARIOS ?= room-10 room-10-simulcast fanout many-rooms max
BENCH_ARGS      ?=
BENCH_NULL      ?= 1

NULL_FWD_SRCS := $(wildcard bench/null/*.c)
NULL_FWD_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(NULL_FWD_SRCS))

all: $(BUILD)/null-forwarder

$(BUILD)/null-forwarder: $(NULL_FWD_OBJS) $(BUILD)/libsfu.a
	$(CC) -o $@ $^ $(LDLIBS)

EXTRA_FORMAT_SRCS += $(NULL_FWD_SRCS)

bench: all
	@if [ "$(BENCH_NULL)" = 1 ] && echo " $(BENCH_SCENARIOS) " | grep -q ' max '; then \
	  SFU_BIN=$(BUILD)/sfu bench/run max --target null $(BENCH_ARGS) || exit 1; \
	  SFU_BIN=$(BUILD)/sfu bench/run max --target null-bare $(BENCH_ARGS) || exit 1; \
	fi
	@for s in $(BENCH_SCENARIOS); do \
	  SFU_BIN=$(BUILD)/sfu bench/run $$s $(BENCH_ARGS) || exit 1; \
	done

# srtp-bench: srtp_protect per packet with the libsrtp2 this build links.
SRTP_BENCH_SRCS := $(wildcard bench/srtp/*.c)

all: $(BUILD)/srtp-bench

$(BUILD)/srtp-bench: $(patsubst %.c,$(BUILD)/obj/%.o,$(SRTP_BENCH_SRCS)) $(BUILD)/libsfu.a
	$(CC) -o $@ $^ $(LDLIBS)

EXTRA_FORMAT_SRCS += $(SRTP_BENCH_SRCS)

# make bench-compare: our node against Janus (installed first by tools/deps.sh
# janus) on BENCH_COMPARE_SCENARIOS, BENCH_PAIRS runs of each alternating;
# results in bench/out/compare/ and docs/BENCHMARKS.md (generated, never edited).
BENCH_COMPARE_SCENARIOS ?= room-10 fanout max
BENCH_PAIRS             ?= 3

bench-compare: all
	@tools/deps.sh janus
	SFU_BIN=$(BUILD)/sfu bench/compare $(BENCH_COMPARE_SCENARIOS) --pairs $(BENCH_PAIRS) \
	  $(BENCH_ARGS) --docs docs/BENCHMARKS.md
