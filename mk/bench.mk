# ---- make bench: the data-path and manager benchmarks --------------------------
# Forwarding rate through the namespace lab (kernel, fastpath
# xdp-native/xdp-generic/tc, the reference forwarder; with and without an
# fw4-like ruleset), ns/packet per program path, and the manager's figures.
# Markdown on stdout, build/bench/results.json; see README "Benchmarks".
# Everything of the bench is in Tests/bench/: its BPF programs (NAME.bpf.c,
# their ABI bench.h; compiled like the product's, mk/bpf.mk) and the driver
# (bench.c, libbpf), host-only, never cross-compiled. Tests/bench/bench.sh
# removes the lab (and everything attached in it) even on failure.
BENCH_DIR      := Tests/bench
BENCH_OUT      := $(BUILD)/bench
BENCH_BPF_OBJS := $(patsubst $(BENCH_DIR)/%.bpf.c,$(BENCH_OUT)/%.o,$(wildcard $(BENCH_DIR)/*.bpf.c))
BENCH_BIN      := $(BENCH_OUT)/fastpath-bench
BENCH_CC       ?= $(HOST_CC)
BENCH_CFLAGS   ?= -O2 -g -Wall -Wextra -Wno-missing-field-initializers

$(BENCH_OUT)/%.o: $(BENCH_DIR)/%.bpf.c $(BENCH_DIR)/bench.h
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BENCH_BIN): $(BENCH_DIR)/bench.c $(BENCH_DIR)/bench.h $(BPF_SRC_DIR)/fastpath.h
	@mkdir -p $(@D)
	$(BENCH_CC) $(BENCH_CFLAGS) -I $(BPF_SRC_DIR) $(shell $(PKG_CONFIG) --cflags libbpf) $< -o $@ \
		$(shell $(PKG_CONFIG) --libs libbpf) -lm

# Installs what's missing first (mk/deps.mk).
.PHONY: bench run-bench
bench: deps
	@$(MAKE) --no-print-directory run-bench

run-bench: all bpffs $(BENCH_BIN) $(BENCH_BPF_OBJS)
	BENCH_BIN=$(BENCH_BIN) BENCH_OUT=$(BENCH_OUT) BENCH_BPF_DIR=$(BENCH_OUT) BPF_DIR=$(BUILD)/bpf \
		FASTPATH_BIN=$(OUT)/fastpath sh $(BENCH_DIR)/bench.sh
