# fastpath - the one entry point.
#   make            BPF objects + the embedded router binary (build/$(ARCH)/fastpath)
#   make bpf        build/bpf/NAME.{bpfel,bpfeb}.o and NAME.o (target-endian copy)
#   make swift-build   host SwiftPM build (development, tests)
#   make test       install what's missing, run every test (as root)
#   make demo       install what's missing, build, forward real traffic in a namespace lab
#   make fresh-check   `make demo` then `make test` as the first commands on a new
#                   minimal Debian 12 root (debootstrap; as root; about 10 minutes)
#   make clean
# Cross (work in progress): make ARCH=aarch64|armv7|x86_64 CROSS_COMPILE=aarch64-linux-gnu- SYSROOT=...

SWIFT_BIN  ?= /opt/swift/usr/bin
SWIFTC     ?= $(SWIFT_BIN)/swiftc
SWIFT      ?= $(SWIFT_BIN)/swift
CLANG      ?= $(SWIFT_BIN)/clang
PKG_CONFIG ?= pkg-config

ARCH          ?= x86_64
CROSS_COMPILE ?=
SYSROOT       ?=
CC            := $(CROSS_COMPILE)gcc
STRIP         := $(CROSS_COMPILE)strip

BUILD   := build
OUT     := $(BUILD)/$(ARCH)
OBJDIR  := $(OUT)/obj
MODDIR  := $(OUT)/modules

# ---- per-architecture settings -------------------------------------------
# SWIFT_TARGET: the embedded stdlib triple; BPF_ENDIAN: which object the
# router loads as NAME.o.
ifeq ($(ARCH),x86_64)
SWIFT_TARGET := x86_64-unknown-linux-gnu
BPF_ENDIAN   := bpfel
else ifeq ($(ARCH),aarch64)
SWIFT_TARGET := aarch64-none-none-elf
BPF_ENDIAN   := bpfel
else ifeq ($(ARCH),armv7)
SWIFT_TARGET := armv7-none-none-eabi
ARCH_SWIFTFLAGS := -Xcc -mfloat-abi=hard -Xllvm -float-abi=hard
ARCH_LDFLAGS := -lm -Wl,--no-warn-mismatch
BPF_ENDIAN   := bpfel
# no LTO/lld (below), not tried: under LTO the float ABI (a code-generation
# flag) would have to reach lld, and the link relies on GNU ld's --no-warn-mismatch
SIZE_LTO     ?= 0
else
$(error unsupported ARCH=$(ARCH): use x86_64, aarch64 or armv7)
endif

EMBEDDED_LIBDIR := $(SWIFT_BIN)/../lib/swift/embedded/$(SWIFT_TARGET)

# (cross) a Debian-style sysroot keeps its .pc files under usr/lib/<multiarch>/
# (read at once since it is exported; only with SYSROOT=, whose caller brings
# the cross gcc: `deps` installs none)
CC_MULTIARCH := $(if $(SYSROOT),$(shell $(CC) -print-multiarch 2>/dev/null))
ifneq ($(SYSROOT),)
SYSROOT_CFLAGS     := --sysroot=$(SYSROOT)
SYSROOT_SWIFTFLAGS := -Xcc --sysroot=$(SYSROOT)
export PKG_CONFIG_SYSROOT_DIR := $(SYSROOT)
export PKG_CONFIG_LIBDIR := $(SYSROOT)/usr/lib/pkgconfig:$(SYSROOT)/usr/share/pkgconfig$(if $(CC_MULTIARCH),:$(SYSROOT)/usr/lib/$(CC_MULTIARCH)/pkgconfig)
PKG_CONFIG_ENV := PKG_CONFIG_SYSROOT_DIR='$(PKG_CONFIG_SYSROOT_DIR)' PKG_CONFIG_LIBDIR='$(PKG_CONFIG_LIBDIR)'
endif

# Deferred (=, not :=), like everything below that asks an installed tool:
# read when a recipe runs, so after `deps` has installed the packages (see
# "set-up, tests, demo"). Reading the Makefile itself needs no package.
LIB_PKGS     := libbpf libnl-3.0 libnl-route-3.0 libnl-genl-3.0 libnl-nf-3.0
LIB_CFLAGS    = $(shell $(PKG_CONFIG_ENV) $(PKG_CONFIG) --cflags $(LIB_PKGS))
LIB_LDLIBS    = $(shell $(PKG_CONFIG_ENV) $(PKG_CONFIG) --libs $(LIB_PKGS))

CFLAGS  ?= -Os -g0
CFLAGS  += -Wall -Wextra -Wno-unused-parameter -ffunction-sections -fdata-sections \
           $(SYSROOT_CFLAGS) $(LIB_CFLAGS)
LDFLAGS ?=
LDFLAGS += -Wl,--gc-sections $(SYSROOT_CFLAGS)

# Size (issue 6; aarch64 stripped, bytes saved): the Swift modules are emitted
# as LLVM bitcode and optimised as one program at link time by the Swift
# toolchain's lld (same LLVM as swiftc; -B lets gcc's -fuse-ld=lld find it):
# cross-module dead code and duplicate specialisations go (-65 KB);
# --icf=all folds identical functions (-2 KB); relr packs the PIE's relative
# relocations (-11 KB; needs glibc >= 2.36 or musl >= 1.2.4). SIZE_LTO=0: off.
# max-page-size=4096: no 64 KB alignment gap between aarch64's segments
# (-37 KB; assumes a 4 KB-page kernel, as OpenWrt's are).
SIZE_LTO ?= 1
ifeq ($(SIZE_LTO),1)
LTO_SWIFTFLAGS := -lto=llvm-full
LDFLAGS += -B$(SWIFT_BIN) -fuse-ld=lld -Wl,--icf=all -Wl,-z,pack-relative-relocs
endif
LDFLAGS += -Wl,-z,max-page-size=4096

# Module search path: the C shim's and system libraries' module maps, and the
# Swift modules built so far.
SWIFT_INCLUDES  = -I Sources/CFastPathShim/include -I Sources/CLibBPF -I Sources/CNetlink \
                  -I $(MODDIR) $(addprefix -Xcc ,$(LIB_CFLAGS))
SWIFTFLAGS ?= -Osize
SWIFTFLAGS += -target $(SWIFT_TARGET) -enable-experimental-feature Embedded -wmo -parse-as-library \
              -swift-version 6 -Xfrontend -function-sections \
              $(ARCH_SWIFTFLAGS) $(LTO_SWIFTFLAGS) $(SYSROOT_SWIFTFLAGS) $(SWIFT_INCLUDES)

# ---- cross: C headers for Swift's clang importer (openwrt/ section) --------
# The embedded triples (aarch64-none-none-elf, armv7-none-none-eabi) have no
# libc headers of their own, and x86_64-unknown-linux-gnu would pick the
# host's. When cross-compiling, the importer sees exactly the target C
# compiler's system include directories (minus gcc's private ones, clang has
# its own builtins) and the -I directories of CFLAGS (OpenWrt's staging dir).
ifneq ($(CROSS_COMPILE),)
CC_SYSTEM_INCLUDES  = $(shell $(CC) $(SYSROOT_CFLAGS) -xc -E -v /dev/null 2>&1 | \
                        sed -n '/^\#include <...>/,/^End of search/s/^ //p' | \
                        grep -v -e '/lib/gcc/' -e '/gcc-cross/' -e '/fortify')
CROSS_SWIFTFLAGS    = -Xcc -nostdlibinc $(foreach d,$(CC_SYSTEM_INCLUDES),-Xcc -isystem -Xcc $(d))
SWIFTFLAGS         += $(CROSS_SWIFTFLAGS) $(addprefix -Xcc ,$(filter-out %/fortify,$(filter -I%,$(CFLAGS))))
endif
# ---- end cross -----------------------------------------------------------

# ---- BPF -------------------------------------------------------------------
BPF_SRC_DIR ?= bpf
BPF_SRCS    := $(wildcard $(BPF_SRC_DIR)/*.bpf.c)
BPF_NAMES   := $(patsubst $(BPF_SRC_DIR)/%.bpf.c,%,$(BPF_SRCS))
BPF_HEADERS := $(wildcard $(BPF_SRC_DIR)/*.h)
BPF_OBJS    := $(foreach n,$(BPF_NAMES),$(BUILD)/bpf/$(n).bpfel.o $(BUILD)/bpf/$(n).bpfeb.o $(BUILD)/bpf/$(n).o)
BPF_CFLAGS   = -O2 -g -Wall -Werror -I/usr/include/$(shell gcc -dumpmachine)

# ---- Swift modules, in dependency order ----------------------------------
# Each module: one swiftc -wmo invocation emitting its .swiftmodule and .o.
SWIFT_MODULES := FastPathCore FastPathKernel FastPathDaemon fastpath
SHIM_SRCS     := $(wildcard Sources/CFastPathShim/*.c)
SHIM_OBJS     := $(patsubst Sources/CFastPathShim/%.c,$(OBJDIR)/shim_%.o,$(SHIM_SRCS))
SWIFT_OBJS    := $(foreach m,$(SWIFT_MODULES),$(OBJDIR)/$(m).o)
C_MODULE_FILES := $(wildcard Sources/CFastPathShim/include/*) Sources/CLibBPF/module.modulemap \
                  Sources/CLibBPF/shim.h Sources/CNetlink/module.modulemap Sources/CNetlink/shim.h \
                  $(BPF_SRC_DIR)/fastpath.h

.PHONY: all bpf swift-build clean distclean size
all: bpf $(OUT)/fastpath $(OUT)/fastpath.stripped size

bpf: $(BPF_OBJS)

$(BUILD)/bpf/%.bpfel.o: $(BPF_SRC_DIR)/%.bpf.c $(BPF_HEADERS)
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -target bpfel -c $< -o $@

$(BUILD)/bpf/%.bpfeb.o: $(BPF_SRC_DIR)/%.bpf.c $(BPF_HEADERS)
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -target bpfeb -c $< -o $@

$(BUILD)/bpf/%.o: $(BUILD)/bpf/%.$(BPF_ENDIAN).o
	cp $< $@

$(OBJDIR)/shim_%.o: Sources/CFastPathShim/%.c $(C_MODULE_FILES)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -I Sources/CFastPathShim/include -c $< -o $@

# module sources and the modules each one imports
FastPathCore_SRCS   := $(wildcard Sources/FastPathCore/*.swift)
FastPathCore_DEPS   :=
FastPathKernel_SRCS := $(wildcard Sources/FastPathKernel/*.swift)
FastPathKernel_DEPS := FastPathCore
FastPathDaemon_SRCS := $(wildcard Sources/FastPathDaemon/*.swift)
FastPathDaemon_DEPS := FastPathCore FastPathKernel
fastpath_SRCS       := $(wildcard Sources/fastpath/*.swift)
fastpath_DEPS       := FastPathCore FastPathKernel FastPathDaemon

define swift_module
$(OBJDIR)/$(1).o $(MODDIR)/$(1).swiftmodule &: $$($(1)_SRCS) $$(foreach d,$$($(1)_DEPS),$(MODDIR)/$$(d).swiftmodule) $(C_MODULE_FILES)
	@mkdir -p $(OBJDIR) $(MODDIR)
	$$(SWIFTC) $$(SWIFTFLAGS) -module-name $(1) -emit-module -emit-module-path $(MODDIR)/$(1).swiftmodule \
		-c $$($(1)_SRCS) -o $(OBJDIR)/$(1).o
endef
$(foreach m,$(SWIFT_MODULES),$(eval $(call swift_module,$(m))))

# SwiftPM links executables with --defsym main=<module>_main; so does this.
$(OUT)/fastpath: $(SWIFT_OBJS) $(SHIM_OBJS)
	$(CC) $(LDFLAGS) -o $@ $(SWIFT_OBJS) $(SHIM_OBJS) -Wl,--defsym,main=fastpath_main \
		$(LIB_LDLIBS) $(EMBEDDED_LIBDIR)/libswiftUnicodeDataTables.a -lm $(ARCH_LDFLAGS)

$(OUT)/fastpath.stripped: $(OUT)/fastpath
	$(STRIP) -o $@ $<

size: $(OUT)/fastpath.stripped
	@ls -l $< | awk '{print "size of $<: " $$5 " bytes"}'

swift-build:
	$(SWIFT) build

clean:
	rm -rf $(BUILD)

distclean: clean
	rm -rf .build

# ---- set-up, tests, demo ------------------------------------------------------
# Debian packages the build, the tests and the demo use; `make deps` installs
# the missing ones (as root), so a fresh machine needs nothing else but make
# and the Swift toolchain in /opt/swift (its clang builds the BPF objects).
# procps: sysctl; netbase: /etc/protocols, for the protocol names in the
# nftables rulesets (`make fresh-check` finds what a minimal Debian lacks).
DEB_PACKAGES := gcc libc6-dev libbpf-dev bpftool libnl-3-dev libnl-route-3-dev libnl-genl-3-dev \
                libnl-nf-3-dev libelf-dev zlib1g-dev pkg-config iproute2 nftables conntrack \
                iputils-ping ethtool tcpdump iperf3 jq util-linux procps netbase python3 shellcheck

.PHONY: deps test demo run-test run-demo bpffs fresh-check
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

bpffs:
	@mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

# `make demo` and `make test` are the first commands on a fresh machine (so is
# `make bench`): they install what's missing, then a new make does the rest
# (run-demo, run-test, run-bench), reading this Makefile again now that the
# packages are there. It also keeps `make -j` from building before `deps`.
test demo: deps
	@$(MAKE) --no-print-directory run-$@

# Every tier runs here, as root: pure Swift, BPF test runs on crafted frames
# and fuzzing, real traffic through the namespace lab with the embedded
# binary (`all`) as the manager, and the OpenWrt package files.
run-test: all bpffs
	sh Tests/package/test-init-script.sh $(OUT)/fastpath
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

run-demo: all bpffs
	sh Tests/lab/demo.sh

# The README's `make demo` then `make test` in a new minimal Debian 12 root
# (debootstrap, as root; a clean clone of HEAD): Tests/fresh/fresh-check.sh.
fresh-check:
	bash Tests/fresh/fresh-check.sh

# ==== benchmarks (make bench) ================================================
# Data-path benchmark: forwarding rate through the namespace lab (kernel,
# fastpath xdp-native/xdp-generic/tc, the reference forwarder; with and
# without an fw4-like ruleset) and ns/packet per program path. Markdown on
# stdout, build/bench/results.json; see README "Benchmarks". Host-only C
# (libbpf), never cross-compiled. Tests/bench/bench.sh removes the lab
# (and everything attached in it) even on failure.
BENCH_CC     ?= gcc
BENCH_CFLAGS ?= -O2 -g -Wall -Wextra -Wno-missing-field-initializers
BENCH_BIN    := $(BUILD)/bench/fastpath-bench

$(BENCH_BIN): Tests/bench/bench.c $(BPF_SRC_DIR)/fastpath.h $(BPF_SRC_DIR)/bench.h
	@mkdir -p $(@D)
	$(BENCH_CC) $(BENCH_CFLAGS) -I $(BPF_SRC_DIR) $(shell $(PKG_CONFIG) --cflags libbpf) $< -o $@ \
		$(shell $(PKG_CONFIG) --libs libbpf) -lm

.PHONY: bench run-bench
bench: deps
	@$(MAKE) --no-print-directory run-bench

run-bench: all bpffs $(BENCH_BIN)
	sh Tests/bench/bench.sh
# ==== end of benchmarks =======================================================

# ==== OpenWrt package: install, cross-check (openwrt/) ========================
# make install DESTDIR=DIR   the router's files, as the OpenWrt package lays
#                            them out (add ARCH=/CROSS_COMPILE= for a target)
# make cross-check           build for aarch64 and armv7 with Debian's cross
#                            toolchains, run them under qemu, print sizes, check
#                            libc symbols against musl (openwrt/cross-check.sh)
DESTDIR ?=
.PHONY: install cross-check
install: $(OUT)/fastpath.stripped $(BUILD)/bpf/fastpath.o
	install -d $(DESTDIR)/usr/sbin $(DESTDIR)/usr/lib/fastpath $(DESTDIR)/etc/config $(DESTDIR)/etc/init.d
	install -m 0755 $(OUT)/fastpath.stripped $(DESTDIR)/usr/sbin/fastpath
	install -m 0644 $(BUILD)/bpf/fastpath.o $(DESTDIR)/usr/lib/fastpath/fastpath.o
	install -m 0600 files/etc/config/fastpath $(DESTDIR)/etc/config/fastpath
	install -m 0755 files/etc/init.d/fastpath $(DESTDIR)/etc/init.d/fastpath

cross-check:
	sh openwrt/cross-check.sh
# ==== end of OpenWrt package ==================================================

# ==== kernel matrix in VMs (make test-kernels) ================================
# The kernel-facing tests (BPF test runs, netlink/conntrack, the manager and
# firewall lab; a representative set, see Tests/vm/test-kernels.sh) inside
# virtme-ng VMs (qemu, TCG) booting Debian's 6.1 (bookworm) and 6.12
# (bookworm-backports) kernels, which Tests/vm/kernels.sh fetches once into
# build/vm/kernels. As root; installs qemu, kmod, busybox and virtme-ng if
# missing; about 10 minutes here. Results: build/vm/results/KERNEL/.
.PHONY: test-kernels run-test-kernels
test-kernels: deps
	@$(MAKE) --no-print-directory run-test-kernels

run-test-kernels: all
	$(SWIFT) build --build-tests
	sh Tests/vm/test-kernels.sh
# ==== end of kernel matrix ====================================================
