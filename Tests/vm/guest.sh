#!/bin/sh
# guest.sh - runs inside a test-kernels VM (Tests/vm/test-kernels.sh starts it;
# not meant to be run on the host).
#
#   guest.sh OUTDIR TIMEOUT
#
# OUTDIR is the VM's writable directory (vng --rwdir), shared with the host.
# OUTDIR/groups lists the test groups, one "NAME SELECTION" a line: SELECTION
# is what the XCTest bundle takes, comma-separated Module.Class or
# Module.Class/testMethod (a file, not arguments: the command travels on the
# kernel command line, which is 2048 bytes at most). TIMEOUT is the limit per
# group, in seconds (a hanging test must not hold the matrix). Per group it
# writes NAME.log (the XCTest output, also copied to the console) and
# NAME.rc (the bundle's exit status), and NAME.secs; then uname.txt,
# version.txt / version.rc (build/x86_64/fastpath --version), the status
# hook's status.txt / status.rc, and last of all guest.done. The host
# trusts only these files: a missing .rc is a failure.
set -u

out=$1 group_timeout=$2
shift 2
cd "$(dirname "$0")/../.." || exit 1
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
bundle=.build/debug/fastpathPackageTests.xctest

log() { echo "guest.sh: $*"; }

# ---- what the tests need that virtme-ng's guest does not set up ------------
setup() {
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
	# ip netns add bind-mounts into /run/netns (virtme-ng: /run is a tmpfs)
	mkdir -p /run/netns
	# shellcheck disable=SC3045 # dash and bash have -l
	ulimit -l unlimited 2>/dev/null || true
	# modules (veth, nf_tables, conntrack, cls_bpf, ...) load on demand
	# What Debian's kernels lack (CapabilityTests checks that exactly this is
	# off): every optional helper is there; 6.1 has no netdev XDP features
	# (6.3+), so no device is known to take XDP frames there, and no
	# BPF_FIB_LOOKUP_MARK (6.10+), so marked flows stay in the kernel
	case $(uname -r) in
	6.1.*) FASTPATH_EXPECT_OFF="xdp_features fib_mark" ;;
	*) FASTPATH_EXPECT_OFF= ;;
	esac
	export FASTPATH_EXPECT_OFF
}

# ---- the status hook ----------------------------------------------------------
# HOOK: a per-kernel status check. Runs after the tests, with bpffs mounted and
# the repository's build/ visible; whatever it prints is kept in status.txt
# (and shown on the console), its exit status in status.rc, and a non-zero
# status fails this kernel in the matrix. Today it only records the kernel and
# the binary's version; when `fastpath status` reports the kernel's
# capabilities, run it here, e.g. against a lab router (sh Tests/lab/lab.sh
# up PREFIX, fastpath daemon in it, fastpath status --json, detach, lab.sh down).
status_check() {
	echo "kernel: $(uname -r)"
	echo "fastpath: $(build/x86_64/fastpath --version 2>&1)"
	return 0
}

# ---- main -------------------------------------------------------------------
setup
uname -r > "$out/uname.txt"
log "kernel $(cat "$out/uname.txt")"

while read -r name selection; do
	[ -n "$name" ] || continue
	log "group $name: $selection"
	start=$(date +%s)
	{
		timeout -k 30 "$group_timeout" "$bundle" "$selection" 2>&1 < /dev/null
		echo $? > "$out/$name.rc"
	} | tee "$out/$name.log"
	echo $(( $(date +%s) - start )) > "$out/$name.secs"
	log "group $name: exit $(cat "$out/$name.rc" 2>/dev/null || echo '?') after $(cat "$out/$name.secs") s"
	# whatever a test left behind (a crashed test skips its tearDown)
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do ip netns del "$ns" 2>/dev/null; done
done < "$out/groups"

build/x86_64/fastpath --version > "$out/version.txt" 2>&1
echo $? > "$out/version.rc"
log "fastpath --version: $(cat "$out/version.txt") (exit $(cat "$out/version.rc"))"

status_check > "$out/status.txt" 2>&1
echo $? > "$out/status.rc"
sed 's/^/guest.sh: status: /' "$out/status.txt"

sync
echo ok > "$out/guest.done"
