# make bench-chat: the chat fan-out bench (bench/chat-fanout.mjs) against a
# fresh node built here. BENCH_ARGS go to it (for example
# BENCH_ARGS="--duration 10 --sockets 200"); BENCH_CHAT_ARGS too, for flags
# that only this bench knows when BENCH_ARGS is shared with `make bench`.
# Defaults: 1,000 sockets, 50 rooms, 20 msg/s per room, 60 s,
# report in bench/out/chat-fanout/report.json.
BENCH_ARGS      ?=
BENCH_CHAT_ARGS ?=

.PHONY: bench-chat
bench-chat: all node-deps
	SFU_BIN=$(BUILD)/sfu node bench/chat-fanout.mjs $(BENCH_ARGS) $(BENCH_CHAT_ARGS)
