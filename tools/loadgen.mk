# sfu-loadgen: synthetic WebRTC participants (tools/loadgen/), linked against the
# node's own ice/, dtls/ and common/ code in libsfu.a.
LOADGEN_SRCS := $(wildcard tools/loadgen/*.c)
LOADGEN_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(LOADGEN_SRCS))

all: $(BUILD)/sfu-loadgen

$(BUILD)/sfu-loadgen: $(LOADGEN_OBJS) $(BUILD)/libsfu.a
	$(CC) -o $@ $^ $(LDLIBS)

EXTRA_FORMAT_SRCS += $(LOADGEN_SRCS) $(wildcard tools/loadgen/*.h)
$(LOADGEN_OBJS): $(wildcard $(LWS_MK))
