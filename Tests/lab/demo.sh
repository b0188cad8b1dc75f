#!/bin/sh
# demo.sh - shows the data path forwarding real traffic in the namespace lab:
# h1 -> r -> h2, with fastpath_xdp attached natively on the router's two
# interfaces (loaded and configured with bpftool), then prints the
# router's counters. Run as root from the repository root after `make`.
set -eu

here=$(dirname "$0")
obj=${BPF_OBJ:-build/bpf/fastpath.o}
lab=fpdemo$$
pin=/sys/fs/bpf/fastpath-demo-$$

cleanup() {
	sh "$here/lab.sh" down "$lab"
	rm -rf "$pin"
}
trap cleanup EXIT INT TERM

in_router() { nsenter --net="/run/netns/$lab-r" "$@"; }

# little-endian bytes of a 32-bit number, as bpftool wants them
le32() { printf '%d %d %d %d' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
mac_bytes() { echo "$1" | sed 's/^/0x/; s/:/ 0x/g'; }

# Sums one field of struct fp_stats over all CPUs (bpftool prints the map
# with its BTF as JSON).
sum_counter() { # slot field
	bpftool map lookup pinned "$pin/maps/fp_stats" key $(le32 "$1") | jq "[.values[].value.$2] | add"
}

mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
echo "== building the lab: h1 (192.0.2.1) -- r -- h2 (198.51.100.2)"
sh "$here/lab.sh" up "$lab"

echo "== loading $obj and attaching fastpath_xdp (native) to r's lan0 and wan0"
bpftool prog loadall "$obj" "$pin" pinmaps "$pin/maps"
bpftool map update pinned "$pin/maps/fp_config" key 0 0 0 0 value 3 0 0 0 0 0 0 0
slot=1
for dev in lan0 wan0; do
	ifindex=$(ip netns exec "$lab-r" cat "/sys/class/net/$dev/ifindex")
	mac=$(ip netns exec "$lab-r" cat "/sys/class/net/$dev/address")
	# fp_iface: mac[6], flags u16 (1 = policy routing), slot u32
	bpftool map update pinned "$pin/maps/fp_ifaces" key $(le32 "$ifindex") \
		value $(mac_bytes "$mac") 1 0 $(le32 $slot)
	in_router bpftool map update pinned "$pin/maps/fp_devmap" key $(le32 "$ifindex") \
		value $(le32 "$ifindex") 0 0 0 0
	in_router bpftool net attach xdpdrv pinned "$pin/fastpath_xdp" dev "$dev"
	slot=$((slot + 1))
done
in_router ip link show lan0 | sed -n 's/.*\(xdp[a-z]*\).*/lan0 has \1 attached/p' | head -1

echo "== traffic: ping and a UDP stream h1 -> h2, IPv4 and IPv6"
ip netns exec "$lab-h1" ping -c 3 -i 0.2 198.51.100.2
ip netns exec "$lab-h1" ping -c 3 -i 0.2 2001:db8:2::2
ip netns exec "$lab-h2" iperf3 -s -1 -D -p 5201
sleep 0.5
ip netns exec "$lab-h1" iperf3 -c 198.51.100.2 -p 5201 -u -b 20M -l 512 -t 2 | tail -4

echo "== router counters (fp_stats, summed over CPUs)"
printf "%-6s %18s %18s\n" iface forwarded_packets forwarded_bytes
slot=1
for dev in lan0 wan0; do
	printf '%-6s %18s %18s\n' "$dev" "$(sum_counter $slot forwarded_packets)" "$(sum_counter $slot forwarded_bytes)"
	slot=$((slot + 1))
done
fwd=$(sum_counter 1 forwarded_packets)
[ "$fwd" -gt 1000 ] || { echo "demo: the fast path carried only $fwd packets" >&2; exit 1; }
echo "== the fast path carried $fwd packets from h1; cleaning up"
