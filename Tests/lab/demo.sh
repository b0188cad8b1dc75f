#!/bin/sh
# demo.sh - the fastpath manager at work in the namespace lab: h1 -> r -> h2,
# with `fastpath daemon` running in the router namespace (native XDP on lan0
# and wan0, policy routing), real ping and iperf3 traffic, then `fastpath
# status`. Run as root from the repository root after `make` (`make demo`).
#
# The daemon and the CLI run with `nsenter --net` (the router's network
# namespace, the host's mount namespace) so the CLI sees the daemon's bpffs
# pins; `ip netns exec` would give each its own mount namespace.
set -eu

here=$(dirname "$0")
fastpath=${FASTPATH:-build/x86_64/fastpath}
bpf_dir=${BPF_DIR:-build/bpf}
lab=fpdemo$$
work=/tmp/fastpath-demo-$$
pin=/sys/fs/bpf/fastpath-demo-$$
daemon_pid=

in_router() { nsenter --net="/run/netns/$lab-r" "$@"; }
in_h1() { ip netns exec "$lab-h1" "$@"; }
in_h2() { ip netns exec "$lab-h2" "$@"; }

fp() { # fastpath COMMAND [ARGS], with this demo's paths, in the router
	cmd=$1; shift
	in_router "$fastpath" "$cmd" "$@" -c "$work/fastpath.conf" --bpf-dir "$bpf_dir" \
		--pin-dir "$pin" --run-dir "$work"
}

cleanup() {
	status=$?
	trap - EXIT INT TERM
	fp detach 2>/dev/null || true
	[ -f "$work/iperf3.pid" ] && kill "$(cat "$work/iperf3.pid")" 2>/dev/null
	if [ -n "$daemon_pid" ]; then
		kill "$daemon_pid" 2>/dev/null || true
		wait "$daemon_pid" 2>/dev/null || true
	fi
	sh "$here/lab.sh" down "$lab"
	rm -rf "$pin" "$work"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

forwarded_packets() { # the totals' forwarded_packets from `status --json`
	fp status --json | jq '.totals.forwarded_packets'
}

[ -x "$fastpath" ] || { echo "demo: $fastpath is missing: run make first" >&2; exit 1; }
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
mkdir -p "$work"

echo "== building the lab: h1 (192.0.2.1) -- r -- h2 (198.51.100.2)"
sh "$here/lab.sh" up "$lab"

echo "== config $work/fastpath.conf"
cat >"$work/fastpath.conf" <<'EOF'
config globals 'globals'
	option mode 'native'
	option policy 'routing'

config interface 'lan'
	option device 'lan0'

config interface 'wan'
	option device 'wan0'
EOF
sed 's/^/   /' "$work/fastpath.conf"
fp check

echo "== starting fastpath daemon in the router namespace"
nsenter --net="/run/netns/$lab-r" "$fastpath" daemon --foreground -c "$work/fastpath.conf" \
	--bpf-dir "$bpf_dir" --pin-dir "$pin" --run-dir "$work" 2>"$work/daemon.log" &
daemon_pid=$!
tries=0
until fp status --json >/dev/null 2>&1; do
	tries=$((tries + 1))
	if [ "$tries" -gt 100 ] || ! kill -0 "$daemon_pid" 2>/dev/null; then
		echo "demo: the daemon did not come up:" >&2
		cat "$work/daemon.log" >&2
		exit 1
	fi
	sleep 0.05
done
sed 's/^/   /' "$work/daemon.log"
in_router ip link show lan0 | sed -n 's/.*\(prog\/xdp[a-z]* id [0-9]*\).*/   lan0: \1/p'
before=$(forwarded_packets)

echo "== traffic: ping and a UDP stream h1 -> h2, IPv4 and IPv6"
in_h1 ping -c 3 -i 0.2 198.51.100.2
in_h1 ping -c 3 -i 0.2 2001:db8:2::2
in_h2 iperf3 -s -1 -D -p 5201 -I "$work/iperf3.pid"
sleep 0.5
in_h1 iperf3 -c 198.51.100.2 -p 5201 -u -b 20M -l 512 -t 2 | tail -4

echo "== fastpath status"
fp status
after=$(forwarded_packets)
carried=$((after - before))
[ "$carried" -gt 1000 ] || { echo "demo: the fast path carried only $carried packets" >&2; exit 1; }
echo "== the fast path carried $carried packets; fastpath detach and cleaning up"
fp detach
wait "$daemon_pid" || true
daemon_pid=
