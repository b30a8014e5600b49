# make bench-chat: the chat fan-out bench (bench/chat-fanout.mjs) against a
# fresh node; BENCH_CHAT_ARGS go to it (for example "--duration 10").
BENCH_CHAT_ARGS ?=

.PHONY: bench-chat
bench-chat: all node-deps
	SFU_BIN=$(BUILD)/sfu node bench/chat-fanout.mjs $(BENCH_CHAT_ARGS)
