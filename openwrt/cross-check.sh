#!/bin/sh
# make cross-check: prove the router binary cross-builds the way the OpenWrt
# feed builds it (host swiftc for the embedded triple, the target's gcc as
# linker, a SYSROOT holding the target's libbpf and libnl), that it runs, and
# that it asks libc for nothing musl lacks.
#
#   sh openwrt/cross-check.sh [ARCH...]     ARCH: aarch64 armv7 (default: both)
#
# For each ARCH: build build/ARCH/fastpath with Debian's cross gcc, run
# `fastpath --version` and `fastpath check -c files/etc/config/fastpath`
# under qemu-user, print the stripped size (aarch64 goal: < 300 KB), and
# compare its undefined symbols with what musl's libc exports.
#
# The target libraries come as a download-only sysroot (build/sysroot/ARCH,
# from `apt-get download` + `dpkg-deb -x`) rather than multiarch installs:
# installing libbpf-dev:arm64 pulls libc6-dev:arm64 and friends, and apt
# refuses those whenever the host's own libc6/linux-libc-dev/libssl3 are at a
# version the mirror doesn't carry for the foreign architecture (the case on
# the development machines). A sysroot has no such coupling, touches nothing
# on the host, and exercises SYSROOT= the way an OpenWrt staging dir does.
# Only the toolchain (cross gcc, qemu, musl) is installed, and only if missing.
set -eu

cd "$(dirname "$0")/.."
ROOT=$(pwd)
CONFIG=files/etc/config/fastpath
SYSROOT_BASE=${FASTPATH_SYSROOT_BASE:-$ROOT/build/sysroot}
SIZE_GOAL_AARCH64=307200   # bytes, stripped
MUSL_LIBC=/usr/lib/x86_64-linux-musl/libc.a
MUSL_CC=musl-gcc
failures=0

# Target libraries (and the libc they link against) unpacked into a sysroot.
TARGET_DEBS="libc6 libc6-dev linux-libc-dev libgcc-s1 libbpf1 libbpf-dev libelf1 libelf-dev
zlib1g zlib1g-dev libnl-3-200 libnl-3-dev libnl-route-3-200 libnl-route-3-dev
libnl-genl-3-200 libnl-genl-3-dev libnl-nf-3-200 libnl-nf-3-dev"

say() { printf '== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; failures=$((failures + 1)); }

# Debian's name for an ARCH, its gcc triplet and its qemu.
set_arch_vars() {
	case "$1" in
	aarch64) DEB_ARCH=arm64 TRIPLET=aarch64-linux-gnu QEMU=qemu-aarch64-static ;;
	armv7) DEB_ARCH=armhf TRIPLET=arm-linux-gnueabihf QEMU=qemu-arm-static ;;
	*) echo "cross-check: unknown ARCH '$1' (aarch64 or armv7)" >&2; exit 2 ;;
	esac
}

apt_update() {
	# A foreign-architecture index that is mid-sync makes update exit 100
	# while leaving every other index usable: warn and carry on; a package
	# that is really missing fails the install or download below.
	apt-get update -q || echo "cross-check: warning: apt-get update reported errors; using the indexes it has" >&2
}

install_missing() {
	missing=
	for p in "$@"; do
		dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	echo "installing:$missing"
	apt_update
	# shellcheck disable=SC2086 # word splitting of the list is intended
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
}

install_toolchains() {
	pkgs="binutils pkg-config qemu-user-static musl-dev musl-tools"
	for arch in "$@"; do
		set_arch_vars "$arch"
		pkgs="$pkgs gcc-$TRIPLET binutils-$TRIPLET"
	done
	# shellcheck disable=SC2086
	install_missing $pkgs
}

# build/sysroot/ARCH: the target's libraries, unpacked from Debian packages.
make_sysroot() {
	sysroot=$SYSROOT_BASE/$1
	[ -f "$sysroot/.complete" ] && return 0
	set_arch_vars "$1"
	if ! dpkg --print-foreign-architectures | grep -qx "$DEB_ARCH"; then
		dpkg --add-architecture "$DEB_ARCH"
		apt_update
	elif ! apt-cache show "libbpf-dev:$DEB_ARCH" >/dev/null 2>&1; then
		apt_update
	fi
	say "sysroot $sysroot ($DEB_ARCH)"
	rm -rf "$sysroot" "$sysroot.debs"
	mkdir -p "$sysroot.debs"
	names=
	for p in $TARGET_DEBS; do names="$names $p:$DEB_ARCH"; done
	# apt-get download writes to the current directory; _apt may not be
	# able to, which only costs a warning.
	# shellcheck disable=SC2086
	(cd "$sysroot.debs" && apt-get download -q $names)
	for deb in "$sysroot.debs"/*.deb; do
		dpkg-deb -x "$deb" "$sysroot"
	done
	rm -rf "$sysroot.debs"
	touch "$sysroot/.complete"
}

build_arch() {
	set_arch_vars "$1"
	say "build $1 (CROSS_COMPILE=$TRIPLET- SYSROOT=$SYSROOT_BASE/$1)"
	make --no-print-directory -j"$(nproc)" ARCH="$1" CROSS_COMPILE="$TRIPLET-" SYSROOT="$SYSROOT_BASE/$1" \
		"build/$1/fastpath" "build/$1/fastpath.stripped"
}

# Run the binary under qemu; the sysroot is the loader's prefix, so the
# target's libc, libbpf and libnl come from it.
run_arch() {
	set_arch_vars "$1"
	bin=build/$1/fastpath
	out=$("$QEMU" -L "$SYSROOT_BASE/$1" "$bin" --version 2>&1) || { fail "$1: fastpath --version: $out"; return 0; }
	echo "$1: fastpath --version: $out"
	if out=$("$QEMU" -L "$SYSROOT_BASE/$1" "$bin" check -c "$CONFIG" 2>&1) && [ "$out" = ok ]; then
		echo "$1: fastpath check -c $CONFIG: $out"
	else
		fail "$1: fastpath check -c $CONFIG printed: $out"
	fi
}

report_size() {
	size=$(wc -c <"build/$1/fastpath.stripped")
	echo "$1: stripped size $size bytes ($((size / 1024)) KB)"
	if [ "$1" = aarch64 ] && [ "$size" -ge "$SIZE_GOAL_AARCH64" ]; then
		echo "$1: WARNING: above the 300 KB goal" >&2
	fi
}

# Functions and data exported by musl's libc (x86_64 libc.a: the exported
# names are the same on every architecture, bar a few time64 aliases that
# 32-bit musl adds).
musl_symbols() {
	nm -g --defined-only "$MUSL_LIBC" 2>/dev/null | awk 'NF == 3 { print $3 }' | sort -u
}

# What the shim defines itself when built against musl (arc4random_buf):
# compile it with musl-gcc, headers only (libbpf's and libnl's headers from
# the host are enough to compile, nothing is linked).
shim_musl_symbols() {
	tmp=$1
	for c in Sources/CFastPathShim/*.c; do
		"$MUSL_CC" -c -w -I Sources/CFastPathShim/include -idirafter /usr/include \
			-idirafter /usr/include/x86_64-linux-gnu -idirafter /usr/include/libnl3 \
			"$c" -o "$tmp/$(basename "$c" .c).o" 2>"$tmp/err" ||
			{ echo "cross-check: warning: $c does not compile against musl headers:" >&2; cat "$tmp/err" >&2; }
	done
	for o in "$tmp"/*.o; do
		[ -f "$o" ] && nm -g --defined-only "$o" | awk 'NF == 3 { print $3 }'
	done | sort -u
}

# Undefined symbols of the binary that its shared libraries (libbpf, libnl)
# don't define must come from libc: each of those must be in musl, or be
# defined by the shim in a musl build. Weak references (crt's _ITM_*,
# __gmon_start__) are optional and skipped.
check_symbols() {
	set_arch_vars "$1"
	tmp=$(mktemp -d)
	musl_symbols >"$tmp/musl"
	shim_musl_symbols "$tmp" >"$tmp/shim"
	# libgcc_s: the compiler's runtime (ARM unwinding), not libc's business.
	for l in libbpf.so.1 libnl-3.so.200 libnl-route-3.so.200 libnl-genl-3.so.200 libnl-nf-3.so.200 libgcc_s.so.1; do
		lib=
		for d in "$SYSROOT_BASE/$1/usr/lib/$TRIPLET" "$SYSROOT_BASE/$1/lib/$TRIPLET"; do
			[ -e "$d/$l" ] && lib=$d/$l && break
		done
		[ -n "$lib" ] || { fail "$1: $l not in the sysroot"; continue; }
		"$TRIPLET-nm" -D --defined-only "$lib" | awk '{ print $3 }' | sed 's/@.*//'
	done | sort -u >"$tmp/libs"
	"$TRIPLET-nm" -D --undefined-only "build/$1/fastpath" | awk '$1 == "U" { print $2 }' |
		sed 's/@.*//' | sort -u >"$tmp/undef"
	comm -23 "$tmp/undef" "$tmp/libs" >"$tmp/from-libc"
	# musl's ARM port has the EABI memory helpers (src/string/arm/) that the
	# x86_64 libc.a can't show.
	[ "$1" = armv7 ] && printf '%s\n' __aeabi_memcpy __aeabi_memcpy4 __aeabi_memcpy8 \
		__aeabi_memmove __aeabi_memmove4 __aeabi_memmove8 __aeabi_memset __aeabi_memset4 \
		__aeabi_memset8 __aeabi_memclr __aeabi_memclr4 __aeabi_memclr8 >>"$tmp/shim"
	cat "$tmp/musl" "$tmp/shim" | sort -u >"$tmp/provided"
	comm -23 "$tmp/from-libc" "$tmp/provided" >"$tmp/missing"
	echo "$1: $(wc -l <"$tmp/from-libc") libc symbols used, $(wc -l <"$tmp/missing") not in musl"
	if [ -s "$tmp/missing" ]; then
		fail "$1: symbols musl does not provide: $(tr '\n' ' ' <"$tmp/missing")"
	fi
	rm -rf "$tmp"
}

ARCHES=${*:-aarch64 armv7}
# shellcheck disable=SC2086
install_toolchains $ARCHES
for arch in $ARCHES; do
	make_sysroot "$arch"
	build_arch "$arch"
done
say "run, size, symbols"
for arch in $ARCHES; do
	run_arch "$arch"
	report_size "$arch"
	check_symbols "$arch"
done
if [ "$failures" -gt 0 ]; then
	echo "cross-check: $failures failure(s)" >&2
	exit 1
fi
echo "cross-check: ok"
