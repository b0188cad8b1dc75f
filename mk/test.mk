# ---- tests: make test, test-kernels, fresh-check, cross-check -----------------

# Every tier runs here, as root: pure Swift, BPF test runs on crafted frames
# and fuzzing, real traffic through the namespace lab with the embedded
# binary (`all`) as the manager, and the OpenWrt package files (the init
# script; the rpcd plugin against the binary and a daemon in the lab).
.PHONY: test run-test
test: deps
	@$(MAKE) --no-print-directory run-test

run-test: all bpffs
	sh Tests/package/test-init-script.sh $(OUT)/fastpath
	sh Tests/package/test-rpcd-plugin.sh $(OUT)/fastpath
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

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

# The README's `make demo` then `make test` as the first commands in a new
# minimal Debian 12 root (debootstrap, as root; a clean clone of HEAD; about
# 6 minutes): Tests/fresh/fresh-check.sh.
.PHONY: fresh-check
fresh-check:
	bash Tests/fresh/fresh-check.sh

# Build for aarch64 and armv7 with Debian's cross toolchains, run them under
# qemu, print sizes, check libc symbols against musl (openwrt/cross-check.sh,
# which runs `make ARCH=... CROSS_COMPILE=... SYSROOT=...`).
.PHONY: cross-check
cross-check:
	sh openwrt/cross-check.sh
