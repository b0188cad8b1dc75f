# fastpath - the one entry point.
#   make            build/bpf/fastpath.o and the router binary build/$(ARCH)/fastpath
#   make bpf        the BPF object only (little-endian, one for every target)
#   make swift-build   host SwiftPM build (development, tests)
#   make test       install what's missing, run every test (as root)
#   make demo       install what's missing, build, forward real traffic in a namespace lab
#   make bench      install what's missing, build, measure (as root; README "Benchmarks")
#   make test-kernels  the kernel-facing tests in VMs booting Debian's 6.1 and 6.12
#   make fresh-check   `make demo` then `make test` as the first commands on a new
#                   minimal Debian 12 root (debootstrap; as root)
#   make cross-check   aarch64 and armv7 builds, run under qemu-user
#   make install DESTDIR=DIR   the router's files, laid out as the OpenWrt package does
#   make clean
# Cross: make ARCH=aarch64|armv7|x86_64 CROSS_COMPILE=aarch64-linux-gnu- SYSROOT=...
#
# Each job lives in a file of its own:
#   mk/toolchain.mk  compilers, flags, ARCH and the cross variables
#   mk/bpf.mk        the BPF object (make bpf)
#   mk/router.mk     the Embedded Swift router binary; its module graph comes
#                    from the sources' imports
#   mk/deps.mk       the Debian packages (make deps, DEB_PACKAGES), bpffs
#   mk/test.mk       make test, test-kernels, fresh-check, cross-check
#   mk/demo.mk       make demo
#   mk/bench.mk      make bench (its programs and driver are in Tests/bench/)
#   mk/install.mk    make install

BUILD := build

.PHONY: all clean distclean
all:

include mk/toolchain.mk
include mk/bpf.mk
include mk/router.mk
include mk/deps.mk
include mk/test.mk
include mk/demo.mk
include mk/bench.mk
include mk/install.mk

all: bpf $(OUT)/fastpath $(OUT)/fastpath.stripped size

clean:
	rm -rf $(BUILD)

distclean: clean
	rm -rf .build
