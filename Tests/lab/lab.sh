#!/bin/sh
# lab.sh - the three-namespace test lab: host h1 -- router r -- host h2.
#
#   lab.sh up PREFIX     create PREFIX-h1, PREFIX-r, PREFIX-h2 and the veths
#   lab.sh down PREFIX   remove them (safe to run twice)
#   lab.sh h3 PREFIX     after `up`: a second WAN host PREFIX-h3 behind r's wan1
#
# Addresses (documentation prefixes, only inside these namespaces):
#   h1 eth0 192.0.2.1/24  2001:db8:1::1/64   <->  r lan0 192.0.2.254  2001:db8:1::fe
#   h2 eth0 198.51.100.2/24 2001:db8:2::2/64 <->  r wan0 198.51.100.254 2001:db8:2::fe
#   h3 eth0 203.0.113.2/24 2001:db8:3::2/64 <->  r wan1 203.0.113.254 2001:db8:3::fe  (only with `h3`)
# Neighbours are static so the fast path's lookups succeed at once; the
# host-side veths have tx checksum offload off and GRO on (docs/platform.md:
# XDP redirect into a veth needs GRO or an XDP program on the peer).
set -eu

in_ns() { ns=$1; shift; ip netns exec "$ns" "$@"; }

mac_of() { in_ns "$1" cat "/sys/class/net/$2/address"; }

lab_up() {
	p=$1
	h1=$p-h1 r=$p-r h2=$p-h2
	for ns in "$h1" "$r" "$h2"; do
		ip netns add "$ns"
		in_ns "$ns" ip link set lo up
		# no duplicate address detection: link-local addresses usable at once
		in_ns "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	done

	ip link add eth0 netns "$h1" type veth peer name lan0 netns "$r"
	ip link add eth0 netns "$h2" type veth peer name wan0 netns "$r"

	in_ns "$h1" ip addr add 192.0.2.1/24 dev eth0
	in_ns "$h1" ip -6 addr add 2001:db8:1::1/64 dev eth0 nodad
	in_ns "$h2" ip addr add 198.51.100.2/24 dev eth0
	in_ns "$h2" ip -6 addr add 2001:db8:2::2/64 dev eth0 nodad
	in_ns "$r" ip addr add 192.0.2.254/24 dev lan0
	in_ns "$r" ip -6 addr add 2001:db8:1::fe/64 dev lan0 nodad
	in_ns "$r" ip addr add 198.51.100.254/24 dev wan0
	in_ns "$r" ip -6 addr add 2001:db8:2::fe/64 dev wan0 nodad

	for ns in "$h1" "$h2"; do
		in_ns "$ns" ethtool -K eth0 tx off gro on >/dev/null
		in_ns "$ns" ip link set eth0 up
	done
	in_ns "$r" ip link set lan0 up
	in_ns "$r" ip link set wan0 up
	in_ns "$h1" ip route add default via 192.0.2.254
	in_ns "$h1" ip -6 route add default via 2001:db8:1::fe
	in_ns "$h2" ip route add default via 198.51.100.254
	in_ns "$h2" ip -6 route add default via 2001:db8:2::fe
	in_ns "$r" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1

	h1mac=$(mac_of "$h1" eth0) h2mac=$(mac_of "$h2" eth0)
	lanmac=$(mac_of "$r" lan0) wanmac=$(mac_of "$r" wan0)
	in_ns "$r" ip neigh replace 192.0.2.1 lladdr "$h1mac" dev lan0 nud permanent
	in_ns "$r" ip neigh replace 2001:db8:1::1 lladdr "$h1mac" dev lan0 nud permanent
	in_ns "$r" ip neigh replace 198.51.100.2 lladdr "$h2mac" dev wan0 nud permanent
	in_ns "$r" ip neigh replace 2001:db8:2::2 lladdr "$h2mac" dev wan0 nud permanent
	in_ns "$h1" ip neigh replace 192.0.2.254 lladdr "$lanmac" dev eth0 nud permanent
	in_ns "$h1" ip neigh replace 2001:db8:1::fe lladdr "$lanmac" dev eth0 nud permanent
	in_ns "$h2" ip neigh replace 198.51.100.254 lladdr "$wanmac" dev eth0 nud permanent
	in_ns "$h2" ip neigh replace 2001:db8:2::fe lladdr "$wanmac" dev eth0 nud permanent
}

# The optional second WAN: r wan1 -- h3 eth0, set up like h2 (routes on h3
# back to r; r has no route beyond the link: scenarios add their own).
lab_h3() {
	p=$1
	h3=$p-h3 r=$p-r
	ip netns add "$h3"
	in_ns "$h3" ip link set lo up
	in_ns "$h3" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	in_ns "$r" sysctl -qw net.ipv6.conf.default.accept_dad=0
	ip link add eth0 netns "$h3" type veth peer name wan1 netns "$r"
	in_ns "$h3" ip addr add 203.0.113.2/24 dev eth0
	in_ns "$h3" ip -6 addr add 2001:db8:3::2/64 dev eth0 nodad
	in_ns "$r" ip addr add 203.0.113.254/24 dev wan1
	in_ns "$r" ip -6 addr add 2001:db8:3::fe/64 dev wan1 nodad
	in_ns "$h3" ethtool -K eth0 tx off gro on >/dev/null
	in_ns "$h3" ip link set eth0 up
	in_ns "$r" ip link set wan1 up
	in_ns "$h3" ip route add default via 203.0.113.254
	in_ns "$h3" ip -6 route add default via 2001:db8:3::fe
	h3mac=$(mac_of "$h3" eth0) wan1mac=$(mac_of "$r" wan1)
	in_ns "$r" ip neigh replace 203.0.113.2 lladdr "$h3mac" dev wan1 nud permanent
	in_ns "$r" ip neigh replace 2001:db8:3::2 lladdr "$h3mac" dev wan1 nud permanent
	in_ns "$h3" ip neigh replace 203.0.113.254 lladdr "$wan1mac" dev eth0 nud permanent
	in_ns "$h3" ip neigh replace 2001:db8:3::fe lladdr "$wan1mac" dev eth0 nud permanent
}

lab_down() {
	p=$1
	for ns in "$p-h1" "$p-r" "$p-h2" "$p-h3"; do ip netns del "$ns" 2>/dev/null || true; done
}

case "${1:-}" in
up)   [ $# -eq 2 ] || { echo "usage: $0 up PREFIX" >&2; exit 2; }; lab_down "$2"; lab_up "$2" ;;
h3)   [ $# -eq 2 ] || { echo "usage: $0 h3 PREFIX" >&2; exit 2; }; lab_h3 "$2" ;;
down) [ $# -eq 2 ] || { echo "usage: $0 down PREFIX" >&2; exit 2; }; lab_down "$2" ;;
*)    echo "usage: $0 up|down|h3 PREFIX" >&2; exit 2 ;;
esac
