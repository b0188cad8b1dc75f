# ---- toolchain: compilers, flags, the target architecture ----------------------
# make ARCH=aarch64|armv7|x86_64 [CROSS_COMPILE=aarch64-linux-gnu- SYSROOT=...]
# builds the router binary for another architecture (openwrt/cross-check.sh,
# the OpenWrt feed). The BPF object needs none of this: it is compiled on the
# build host for every target alike (mk/bpf.mk).

SWIFT_BIN  ?= /opt/swift/usr/bin
SWIFTC     ?= $(SWIFT_BIN)/swiftc
SWIFT      ?= $(SWIFT_BIN)/swift
CLANG      ?= $(SWIFT_BIN)/clang
PKG_CONFIG ?= pkg-config
# the build host's own C compiler (the bench driver, the BPF include path);
# CC below is the target's
HOST_CC    ?= gcc

ARCH          ?= x86_64
CROSS_COMPILE ?=
SYSROOT       ?=
CC            := $(CROSS_COMPILE)gcc
STRIP         := $(CROSS_COMPILE)strip

OUT     := $(BUILD)/$(ARCH)
OBJDIR  := $(OUT)/obj
MODDIR  := $(OUT)/modules

# SWIFT_TARGET: the triple of the Embedded Swift stdlib to link against.
ifeq ($(ARCH),x86_64)
SWIFT_TARGET := x86_64-unknown-linux-gnu
else ifeq ($(ARCH),aarch64)
SWIFT_TARGET := aarch64-none-none-elf
else ifeq ($(ARCH),armv7)
SWIFT_TARGET := armv7-none-none-eabi
ARCH_SWIFTFLAGS := -Xcc -mfloat-abi=hard -Xllvm -float-abi=hard
ARCH_LDFLAGS := -lm -Wl,--no-warn-mismatch
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

# Deferred (=, not :=), like everything that asks an installed tool: read
# when a recipe runs, so after `deps` has installed the packages (mk/deps.mk).
# Reading the Makefile itself needs no package.
LIB_PKGS     := libbpf libnl-3.0 libnl-route-3.0 libnl-genl-3.0 libnl-nf-3.0
LIB_CFLAGS    = $(shell $(PKG_CONFIG_ENV) $(PKG_CONFIG) --cflags $(LIB_PKGS))
LIB_LDLIBS    = $(shell $(PKG_CONFIG_ENV) $(PKG_CONFIG) --libs $(LIB_PKGS))

CFLAGS  ?= -Os -g0
CFLAGS  += -Wall -Wextra -Wno-unused-parameter -ffunction-sections -fdata-sections \
           $(SYSROOT_CFLAGS) $(LIB_CFLAGS)
LDFLAGS ?=
LDFLAGS += -Wl,--gc-sections $(SYSROOT_CFLAGS)

# Size (aarch64 stripped, bytes saved): the Swift modules are emitted as LLVM
# bitcode and optimised as one program at link time by the Swift toolchain's
# lld (same LLVM as swiftc; -B lets gcc's -fuse-ld=lld find it): cross-module
# dead code and duplicate specialisations go (-65 KB); --icf=all folds
# identical functions (-2 KB); relr packs the PIE's relative relocations
# (-11 KB; needs glibc >= 2.36 or musl >= 1.2.4). SIZE_LTO=0: off.
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

# (cross) C headers for Swift's clang importer. The embedded triples
# (aarch64-none-none-elf, armv7-none-none-eabi) have no libc headers of their
# own, and x86_64-unknown-linux-gnu would pick the host's. When
# cross-compiling, the importer sees exactly the target C compiler's system
# include directories (minus gcc's private ones, clang has its own builtins)
# and the -I directories of CFLAGS (OpenWrt's staging dir).
ifneq ($(CROSS_COMPILE),)
CC_SYSTEM_INCLUDES  = $(shell $(CC) $(SYSROOT_CFLAGS) -xc -E -v /dev/null 2>&1 | \
                        sed -n '/^\#include <...>/,/^End of search/s/^ //p' | \
                        grep -v -e '/lib/gcc/' -e '/gcc-cross/' -e '/fortify')
CROSS_SWIFTFLAGS    = -Xcc -nostdlibinc $(foreach d,$(CC_SYSTEM_INCLUDES),-Xcc -isystem -Xcc $(d))
SWIFTFLAGS         += $(CROSS_SWIFTFLAGS) $(addprefix -Xcc ,$(filter-out %/fortify,$(filter -I%,$(CFLAGS))))
endif
