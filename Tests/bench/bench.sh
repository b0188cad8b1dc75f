#!/bin/sh
# bench.sh - `make bench`: builds the namespace lab, runs the data-path
# benchmark (build/bench/fastpath-bench) and the manager measurements (the
# daemon in the lab's router, run_manager) in it, and removes the lab whatever
# happens (deleting the namespaces also removes every program the bench
# attached and the nftables ruleset it loaded; the bench pins nothing).
#
#   sh Tests/bench/bench.sh [fastpath-bench options...]   (--only manager: that part only)
#
# Markdown on stdout, build/bench/results.json. Run as root from the
# repository root after `make`, the bench binary and the bench's BPF objects
# are built (`make bench` does all of it, then runs this).
# Environment: BENCH_BIN (default build/bench/fastpath-bench), BENCH_OUT
# (default build/bench), BPF_DIR (the product's fastpath.o, default
# build/bpf), BENCH_BPF_DIR (the bench's own objects, Tests/bench/*.bpf.c,
# default build/bench), FASTPATH_BIN (default build/$(uname -m)/fastpath).
set -eu

here=$(dirname "$0")
bin=${BENCH_BIN:-build/bench/fastpath-bench}
out=${BENCH_OUT:-build/bench}
bpf_dir=${BPF_DIR:-build/bpf}
bench_bpf_dir=${BENCH_BPF_DIR:-build/bench}
lab=fpb$$

cleanup() {
	stop_daemon
	sh "$here/../lab/lab.sh" down "$lab"
	rm -rf "$mgr_run"
	[ -d "$mgr_pin" ] && rm -rf "$mgr_pin"
	true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

in_router() { ip netns exec "$lab-r" "$@"; }

prepare_lab() {
	sh "$here/../lab/lab.sh" up "$lab"
	# The generator's frames arrive at lan0 through veth's ndo_xdp_xmit,
	# which needs NAPI on lan0: GRO on (or an XDP program) there, else every
	# frame is dropped when r runs no XDP program (kernel and tc modes).
	in_router ethtool -K lan0 gro on >/dev/null
	in_router ethtool -K wan0 gro on >/dev/null
}

run_datapath() {
	mkdir -p "$out"
	"$bin" --prefix "$lab" --bpf-dir "$bpf_dir" --bench-bpf-dir "$bench_bpf_dir" --nft "$here/fw4.nft" \
		--json "$out/results.json" "$@"
}

# ---- manager: the daemon (build/x86_64/fastpath) in the lab's router ----
#
# Runs after the data-path part, in the same lab (r has nothing attached by
# then). The daemon runs in r's network namespace and the host's mount
# namespace (nsenter --net, as Tests/ManagerTests/ManagerLab.swift does);
# its pins and run directory are per bench run and removed by cleanup.
fastpath=${FASTPATH_BIN:-build/$(uname -m)/fastpath}
mgr_run=/tmp/$lab-manager
mgr_pin=/sys/fs/bpf/$lab-manager
mgr_conf=$mgr_run/fastpath.conf
daemon_pid=
mgr_errors=

fp() {
	nsenter --net="/run/netns/$lab-r" "$fastpath" "$@" -c "$mgr_conf" --bpf-dir "$bpf_dir" \
		--pin-dir "$mgr_pin" --run-dir "$mgr_run"
}

mgr_error() {
	echo "bench: manager: $*" >&2
	mgr_errors="$mgr_errors${mgr_errors:+, }\"$(printf '%s' "$*" | tr -d '"\\')\""
}

now_ns() { date +%s%N; }
ms_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'; }
proc_field() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }
ctxt_switches() {
	awk '/^(voluntary|nonvoluntary)_ctxt_switches:/ { n += $2 } END { print n + 0 }' "/proc/$1/status"
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null; }

stop_daemon() {
	[ -n "$daemon_pid" ] || return 0
	fp detach >/dev/null 2>&1 || true
	kill "$daemon_pid" 2>/dev/null || true
	wait "$daemon_pid" 2>/dev/null || true
	daemon_pid=
}

# start_daemon POLICY: writes the config (lan0, wan0, mode native) and
# starts the daemon; sets startup_ms (exec to the state file listing both
# interfaces in xdp-native) or returns 1.
start_daemon() {
	wan=
	[ "$1" = conntrack ] && wan="	option wan '1'
"
	cat >"$mgr_conf" <<-CONF
	config globals 'globals'
		option mode 'native'
		option policy '$1'

	config interface 'lan'
		option device 'lan0'

	config interface 'wan'
		option device 'wan0'
	$wan
	CONF
	rm -f "$mgr_run/state"
	t0=$(now_ns)
	nsenter --net="/run/netns/$lab-r" "$fastpath" daemon --foreground -c "$mgr_conf" \
		--bpf-dir "$bpf_dir" --pin-dir "$mgr_pin" --run-dir "$mgr_run" \
		</dev/null >>"$mgr_run/daemon.log" 2>&1 &
	daemon_pid=$!
	i=0
	until [ "$(grep -c 'xdp-native' "$mgr_run/state" 2>/dev/null)" = 2 ]; do
		i=$((i + 1))
		if [ $i -gt 5000 ] || ! kill -0 "$daemon_pid" 2>/dev/null; then
			mgr_error "policy $1: the daemon did not attach lan0 and wan0 in xdp-native ($(tail -n 3 "$mgr_run/daemon.log" | tr '\n' ' '))"
			stop_daemon
			return 1
		fi
		sleep 0.002
	done
	startup_ms=$(ms_between "$t0" "$(now_ns)")
}

# wakeups_per_second: context switches of the idle daemon over 5 s, from
# 6 s after start (past the one-shot neighbour-probe retry, 5 s after
# start-up).
wakeups_per_second() {
	sleep 6
	a=$(ctxt_switches "$daemon_pid")
	sleep 5
	b=$(ctxt_switches "$daemon_pid")
	awk -v a="$a" -v b="$b" 'BEGIN { printf "%.1f", (b - a) / 5 }'
}

# The route-change reaction, policy routing (fastpath forwards ICMP there):
# h1 pings 203.0.113.1 (on h2) every 1 ms while r has a blackhole route for
# it; `ip route replace` makes it a route via h2. The figure is the time
# from `ip route replace` having returned to the first echo reply (ping -D
# timestamps; 0 when a reply came while ip was still exiting), resolution
# the ping interval (~1-2 ms). The command's own run time (netns exec, ip
# start-up) is reported beside it. fastpath's lan0 counter must have grown:
# the new path was taken by the fast path.
measure_route_replace() {
	ip netns exec "$lab-h2" ip addr add 203.0.113.1/32 dev eth0
	in_router ip route add blackhole 203.0.113.0/24
	fwd0=$(fp status | awk '$1 == "lan0" { print $5 }')
	ip netns exec "$lab-h1" ping -D -n -i 0.001 -w 2 203.0.113.1 >"$mgr_run/ping.txt" 2>&1 &
	ping_pid=$!
	sleep 1
	t_before=$(date +%s.%N)
	in_router ip route replace 203.0.113.0/24 via 198.51.100.2 dev wan0
	t_after=$(date +%s.%N)
	wait "$ping_pid" 2>/dev/null || true
	fwd1=$(fp status | awk '$1 == "lan0" { print $5 }')
	route_cmd_ms=$(awk -v a="$t_before" -v b="$t_after" 'BEGIN { printf "%.1f", (b - a) * 1000 }')
	route_replace_ms=$(awk -v a="$t_before" -v t="$t_after" -F'[][]' '/bytes from/ {
		if ($2 + 0 >= a) { d = ($2 - t) * 1000; printf "%.1f", d < 0 ? 0 : d; exit } }' "$mgr_run/ping.txt")
	in_router ip route del 203.0.113.0/24 2>/dev/null || true
	if [ -z "$route_replace_ms" ]; then
		mgr_error "route replace: no echo reply after the replace ($(tail -n 2 "$mgr_run/ping.txt" | tr '\n' ' '))"
		route_replace_ms=null
	elif [ "${fwd1:-0}" -le "${fwd0:-0}" ]; then
		mgr_error "route replace: fastpath's lan0 counter did not grow (kernel path?)"
		route_replace_ms=null
	fi
}

# A new gateway: h2 gets 198.51.100.3 (no neighbour entry on r); a route
# via it is added on r, and `ip neigh` is polled until the entry is
# REACHABLE, which only the daemon's pre-resolution does (no traffic).
measure_neighbour() {
	ip netns exec "$lab-h2" ip addr add 198.51.100.3/24 dev eth0
	in_router ip neigh del 198.51.100.3 dev wan0 2>/dev/null || true
	t0=$(now_ns)
	in_router ip route add 198.18.0.0/24 via 198.51.100.3 dev wan0
	i=0
	until in_router ip neigh show 198.51.100.3 dev wan0 | grep -q REACHABLE; do
		i=$((i + 1))
		if [ $i -gt 2500 ]; then
			mgr_error "new gateway: 198.51.100.3 not REACHABLE within 5 s ($(in_router ip neigh show 198.51.100.3 dev wan0))"
			neigh_ms=null
			return
		fi
		sleep 0.002
	done
	neigh_ms=$(ms_between "$t0" "$(now_ns)")
}

# 100,000 /32 routes via h2 and 10,000 permanent neighbours on a /16 of
# wan0, with ip -batch; then wait until the daemon's CPU time stops moving
# (it has digested the events) and read its RSS.
measure_big_tables() {
	batch=$mgr_run/tables.batch
	in_router ip addr add 10.200.0.1/16 dev wan0
	awk 'BEGIN {
		for (i = 0; i < 100000; i++)
			printf "route add 100.%d.%d.%d/32 via 198.51.100.2 dev wan0\n", 64 + int(i / 65536), int(i / 256) % 256, i % 256
		for (i = 0; i < 10000; i++)
			printf "neigh add 10.200.%d.%d lladdr 02:00:00:c8:%02x:%02x dev wan0 nud permanent\n", 1 + int(i / 256), i % 256, int(i / 256), i % 256
	}' >"$batch"
	t0=$(now_ns)
	if ! in_router ip -batch "$batch" >/dev/null 2>"$mgr_run/batch.err"; then
		mgr_error "ip -batch: $(head -n 2 "$mgr_run/batch.err" | tr '\n' ' ')"
	fi
	routes=$(in_router ip -4 route show | wc -l)
	neighs=$(in_router ip -4 neigh show dev wan0 | wc -l)
	prev=-1 i=0
	while [ $i -lt 30 ]; do
		sleep 1
		cur=$(cpu_ticks "$daemon_pid")
		[ "$cur" = "$prev" ] && break
		prev=$cur i=$((i + 1))
	done
	settle_s=$(awk -v a="$t0" -v b="$(now_ns)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
	if ! kill -0 "$daemon_pid" 2>/dev/null; then
		mgr_error "the daemon died with 100k routes ($(tail -n 3 "$mgr_run/daemon.log" | tr '\n' ' '))"
		big_rss=null big_hwm=null big_anon=null
		return
	fi
	big_rss=$(proc_field "$daemon_pid" VmRSS) big_hwm=$(proc_field "$daemon_pid" VmHWM)
	big_anon=$(proc_field "$daemon_pid" RssAnon)
	big_modes=$(grep -c 'xdp-native' "$mgr_run/state" 2>/dev/null || echo 0)
}

# map_memory_kb: kernel memory of the daemon's pinned maps (bpftool's
# memlock figure, summed), kB.
map_memory_kb() {
	for f in "$mgr_pin"/*; do
		bpftool -j map show pinned "$f" 2>/dev/null | grep -o '"bytes_memlock":[0-9]*'
	done | awk -F: '{ n += $2 } END { if (NR) printf "%d", n / 1024; else print "null" }'
}

kb() { [ "$1" = null ] && echo "–" || awk -v v="$1" 'BEGIN { printf "%.2f MB (%d kB)", v / 1024, v }'; }
val() { [ "$1" = null ] && echo "not measured" || echo "$1 $2"; }
goal() { # goal VALUE LIMIT -> met/missed/not measured (VALUE < LIMIT)
	[ "$1" = null ] && { echo "not measured"; return; }
	awk -v v="$1" -v g="$2" 'BEGIN { print (v < g) ? "met" : "missed" }'
}
jnum() { [ -n "$1" ] && echo "$1" || echo null; }

run_manager() {
	startup_routing=null startup_conntrack=null rss_routing=null rss_conntrack=null
	anon_routing=null anon_conntrack=null wake_routing=null wake_conntrack=null maps_conntrack=null
	route_replace_ms=null neigh_ms=null big_rss=null big_hwm=null big_anon=null
	routes=0 neighs=0 settle_s=null big_modes=0 route_cmd_ms=null

	size_x86=null size_aarch64=null size_armv7=null
	for a in x86_64 aarch64 armv7; do
		f=build/$a/fastpath.stripped
		[ -f "$f" ] && eval "size_$a=$(wc -c <"$f")"
	done
	size_x86=$size_x86_64

	if [ ! -x "$fastpath" ]; then
		mgr_error "$fastpath missing (make builds it)"
	else
		mkdir -p "$mgr_run"
		in_router nft flush ruleset

		# policy routing: start-up, RSS, wakeups (nothing to do: 0 expected),
		# route change
		if start_daemon routing; then
			startup_routing=$startup_ms
			wake_routing=$(wakeups_per_second)
			rss_routing=$(proc_field "$daemon_pid" VmRSS)
			anon_routing=$(proc_field "$daemon_pid" RssAnon)
			measure_route_replace
			stop_daemon
		fi
		# policy conntrack (the default; wan0 marked wan), fw4-like ruleset:
		# start-up, RSS, wakeups (the 1 s heartbeat), new gateway, big tables
		in_router nft -f "$here/fw4.nft"
		if start_daemon conntrack; then
			startup_conntrack=$startup_ms
			wake_conntrack=$(wakeups_per_second)
			rss_conntrack=$(proc_field "$daemon_pid" VmRSS)
			anon_conntrack=$(proc_field "$daemon_pid" RssAnon)
			maps_conntrack=$(map_memory_kb)
			measure_neighbour
			measure_big_tables
			stop_daemon
		fi
		in_router nft flush ruleset
	fi

	cat <<-EOF

	## Manager

	The daemon (\`$fastpath\`, mode native, lan0 and wan0) in the lab's router.
	RSS is VmRSS (shared libc pages included), anon the private part (RssAnon).

	| figure | value | how |
	|---|---:|---|
	| binary size x86_64 (stripped) | $(val "$size_x86" bytes) | build/x86_64/fastpath.stripped |
	| binary size aarch64 (stripped) | $( [ "$size_aarch64" = null ] && echo "not built" || echo "$size_aarch64 bytes") | \`make cross-check\` builds it; the bench does not |
	| binary size armv7 (stripped) | $( [ "$size_armv7" = null ] && echo "not built" || echo "$size_armv7 bytes") | \`make cross-check\` builds it; the bench does not |
	| RSS idle, policy routing | $(kb "$rss_routing") | anon $(val "$anon_routing" kB) |
	| RSS idle, policy conntrack | $(kb "$rss_conntrack") | anon $(val "$anon_conntrack" kB); fw4-like ruleset |
	| kernel memory of the maps, policy conntrack | $(kb "$maps_conntrack") | memlock of the pinned maps (bpftool), idle, max_flows 16384 |
	| RSS with 100k routes + 10k neighbours | $(kb "$big_rss") | peak (VmHWM) $(kb "$big_hwm"), anon $(val "$big_anon" kB); $routes IPv4 routes, $neighs neighbours on wan0 in r; settled after $settle_s s |
	| start-up to attached, policy routing | $(val "$startup_routing" ms) | exec to the state file listing lan0 and wan0 in xdp-native |
	| start-up to attached, policy conntrack | $(val "$startup_conntrack" ms) | same |
	| wakeups per second idle, policy routing | $(val "$wake_routing" /s) | context switches over 5 s, from 6 s after start (goal 0) |
	| wakeups per second idle, policy conntrack | $(val "$wake_conntrack" /s) | context switches over 5 s (1 s heartbeat) |
	| \`ip route replace\` to new path used | $(val "$route_replace_ms" ms) | blackhole → via h2: from \`ip route replace\` returning (it ran $route_cmd_ms ms) to the first echo reply of a 1 ms ping, forwarded by fastpath (policy routing) |
	| new gateway route to neighbour REACHABLE | $(val "$neigh_ms" ms) | route via an unresolved gateway, \`ip neigh\` polled every 2 ms |

	| manager target | this run | |
	|---|---:|---|
	| aarch64 binary < 300 KB | $( [ "$size_aarch64" = null ] && echo "–" || echo "$size_aarch64 B") | $(goal "$size_aarch64" 307200) |
	| RSS with 100k routes < 4 MB (VmRSS) | $(kb "$big_rss") | $(goal "$big_rss" 4096) |
	EOF

	cat >"$out/manager.json" <<-EOF
	{"binary_size_bytes": {"x86_64": $size_x86, "aarch64": $size_aarch64, "armv7": $size_armv7},
	    "rss_idle_kb": {"routing": $(jnum "$rss_routing"), "conntrack": $(jnum "$rss_conntrack")},
	    "rss_idle_anon_kb": {"routing": $(jnum "$anon_routing"), "conntrack": $(jnum "$anon_conntrack")},
	    "map_memory_kb": {"conntrack": $(jnum "$maps_conntrack")},
	    "rss_100k_routes_10k_neigh_kb": $(jnum "$big_rss"), "hwm_100k_routes_10k_neigh_kb": $(jnum "$big_hwm"),
	    "rss_anon_100k_routes_10k_neigh_kb": $(jnum "$big_anon"), "big_tables": {"routes": $routes, "neighbours": $neighs, "settle_seconds": $settle_s},
	    "startup_ms": {"routing": $(jnum "$startup_routing"), "conntrack": $(jnum "$startup_conntrack")},
	    "wakeups_per_second": {"routing": $(jnum "$wake_routing"), "conntrack": $(jnum "$wake_conntrack")},
	    "route_replace_to_new_path_ms": $route_replace_ms, "route_replace_command_ms": $route_cmd_ms, "new_gateway_to_neighbour_reachable_ms": $neigh_ms,
	    "targets": {"aarch64_binary_lt_300kb": {"goal": 307200, "measured": $size_aarch64},
	                "rss_100k_routes_lt_4mb_kb": {"goal": 4096, "measured": $(jnum "$big_rss")}},
	    "errors": [$mgr_errors]}
	EOF
	# results.json has "manager": null on a line of its own: put the object there.
	if [ -f "$out/results.json" ]; then
		awk -v f="$out/manager.json" '
			/^  "manager": null,$/ { printf "  \"manager\": "; while ((getline l < f) > 0) { if (n++) printf "\n"; printf "%s", l } print ","; next }
			{ print }' "$out/results.json" >"$out/results.json.tmp" && mv "$out/results.json.tmp" "$out/results.json"
	fi
	[ -z "$mgr_errors" ]
}

[ -x "$bin" ] || { echo "bench: $bin missing (make bench builds it)" >&2; exit 2; }
prepare_lab
status=0
case " $* " in
*" --only manager "*) mkdir -p "$out"; run_manager || status=1 ;;
*" --only "*) run_datapath "$@" || status=$? ;; # a part of the data-path bench only
*) run_datapath "$@" || status=$?
   run_manager || [ "$status" -ne 0 ] || status=1 ;;
esac
exit "$status"
