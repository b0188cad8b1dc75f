# ---- make bpf: the product's BPF object, build/bpf/fastpath.o ------------------
# One object, compiled once, for every supported router: aarch64, armv7 and
# x86_64 are all little-endian (-target bpfel). The OpenWrt feed does not use
# this rule: its bpf.mk compiles bpf/fastpath.bpf.c for the target's
# endianness itself (openwrt/fastpath/Makefile).
BPF_SRC_DIR ?= bpf
BPF_HEADERS := $(wildcard $(BPF_SRC_DIR)/*.h)
BPF_OBJ     := $(BUILD)/bpf/fastpath.o

# clang -target bpf doesn't search the multiarch include directory that
# <asm/types.h> lives in (/usr/include/x86_64-linux-gnu on Debian): it comes
# from the build host's compiler (HOST_CC, never the cross one; the object is
# compiled on the host for every target), asked only when a BPF object is
# compiled (=, not :=), so a cross or feed build of the router binary never asks.
BPF_HOST_INCLUDES = $(addprefix -I,$(wildcard /usr/include/$(shell $(HOST_CC) -dumpmachine 2>/dev/null)))
BPF_CFLAGS        = -O2 -g -Wall -Werror -target bpfel $(BPF_HOST_INCLUDES)

.PHONY: bpf
bpf: $(BPF_OBJ)

$(BUILD)/bpf/%.o: $(BPF_SRC_DIR)/%.bpf.c $(BPF_HEADERS)
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@
