# make bench-soak: the churn soak (bench/soak.mjs) against a fresh node built
# here, 30 minutes by default; SOAK_ARGS go to it (e.g. SOAK_ARGS="--duration 600").
SOAK_ARGS ?=

.PHONY: bench-soak
bench-soak: all node-deps
	SFU_BIN=$(BUILD)/sfu node bench/soak.mjs $(SOAK_ARGS)
