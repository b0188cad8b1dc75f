/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * fastpath.h - the one ABI shared by the BPF programs (bpf/fastpath.bpf.c) and the
 * Swift manager (through the CFastPathShim target).
 *
 * Rules: fixed-width fields only, network order where it says __be, no bool,
 * no enum-typed fields, no implicit padding, a _Static_assert on every size.
 */
#ifndef FASTPATH_H
#define FASTPATH_H

#include <linux/types.h>

/* Pinned map and program names: user space finds them by these names. */
#define FP_PROG_XDP        "fastpath_xdp"
#define FP_PROG_TC         "fastpath_tc"
#define FP_PROG_TC_EGRESS  "fastpath_egress" /* the kernel keeps 15 characters of a name */
#define FP_MAP_CONFIG      "fp_config"
#define FP_MAP_IFACES      "fp_ifaces"
#define FP_MAP_IFACES_HIGH "fp_ifaces_high"
#define FP_MAP_STATS       "fp_stats"
#define FP_MAP_DEVMAP      "fp_devmap"
#define FP_MAP_VLANS       "fp_vlans"
#define FP_MAP_LOCAL_ADDRS "fp_local_addrs"
#define FP_MAP_FLOWS       "fp_flows"
#define FP_MAP_RECHECKS    "fp_rechecks"
#define FP_MAP_CLOCK       "fp_clock"

/*
 * Optional kernel capabilities: the bits of `fp_features`, a read-only
 * global in its own section that the manager sets before load. The
 * verifier treats it as a constant and prunes the branches of what is
 * off, so one object loads on every kernel; a kernel refusing an optional
 * helper costs that part only.
 */
#define FP_FEATURES_SECTION       ".rodata.features"
#define FP_FEATURE_XDP_META       (1u << 0) /* bpf_xdp_adjust_meta: XDP hands its lookup to TC (else TC looks up again) */
#define FP_FEATURE_REDIRECT_NEIGH (1u << 1) /* bpf_redirect_neigh: TC forwards to an unresolved neighbour (else the kernel resolves it) */
#define FP_FEATURE_COARSE_CLOCK   (1u << 2) /* bpf_jiffies64 + bpf_ktime_get_coarse_ns (else bpf_ktime_get_ns per packet) */
#define FP_FEATURE_FIB_MARK       (1u << 3) /* BPF_FIB_LOOKUP_MARK (6.10+): lookups carry a flow's mark (else marked flows stay in the kernel) */
#define FP_FEATURES_ALL           0xfu /* a literal, so Swift imports it */
_Static_assert(FP_FEATURES_ALL == (FP_FEATURE_XDP_META | FP_FEATURE_REDIRECT_NEIGH | FP_FEATURE_COARSE_CLOCK |
				   FP_FEATURE_FIB_MARK),
	       "FP_FEATURES_ALL lists every feature");

/* Bounds. Slot 0 of fp_stats counts packets seen on interfaces that are not
 * in fp_ifaces; slots 1..FP_MAX_IFACES-1 are handed out by the manager. */
#define FP_MAX_IFACES      256
#define FP_MAX_VLANS       1024
#define FP_MAX_LOCAL_ADDRS 1024
/* The flow table's compiled-in size; the manager sets the real bound from
 * `option max_flows` (bpf_map__set_max_entries) before load. */
#define FP_DEFAULT_MAX_FLOWS 16384

/*
 * Why a packet was passed to the kernel (index into fp_stats.passed).
 * Every value below FP_REASON_COUNT has a stable lower-case name used by
 * `fastpath status` (see FP_REASON_NAMES).
 */
#define FP_PASS_NOT_IP          0  /* ethertype is not IPv4/IPv6 (ARP, LLDP, QinQ, ...) */
#define FP_PASS_MALFORMED       1  /* truncated header, bad version/IHL/length/checksum, bytes after the IP packet, L4 header conntrack calls invalid */
#define FP_PASS_IP_OPTIONS      2  /* IPv4 header with options */
#define FP_PASS_FRAGMENT        3  /* IPv4 fragment or IPv6 fragment header */
#define FP_PASS_IPV6_EXTHDR     4  /* IPv6 extension header (hop-by-hop, routing, ...) */
#define FP_PASS_TTL             5  /* TTL / hop limit <= 1: the kernel sends the ICMP error */
#define FP_PASS_MULTICAST       6  /* multicast/broadcast MAC or IP, link-local destination */
#define FP_PASS_MARTIAN         7  /* source the kernel would not forward (loopback, multicast, link-local, ...) */
#define FP_PASS_OTHER_HOST      8  /* destination MAC is not the ingress interface's */
#define FP_PASS_VLAN_UNKNOWN    9  /* VLAN tag with no known VLAN device */
#define FP_PASS_DISABLED        10 /* address family switched off in fp_config */
#define FP_PASS_NOT_OFFLOADED   11 /* the flow gate said no (policy conntrack: flow not mirrored) */
#define FP_PASS_TC_HANDOFF      12 /* XDP found the route, egress has no XDP: handed to the TC program */
#define FP_PASS_FIB_LOCAL       13 /* BPF_FIB_LKUP_RET_NOT_FWDED and the destination is in fp_local_addrs */
#define FP_PASS_FIB_BLACKHOLE   14
#define FP_PASS_FIB_UNREACHABLE 15
#define FP_PASS_FIB_PROHIBIT    16
#define FP_PASS_FIB_FWD_DISABLED 17 /* forwarding sysctl off on the ingress interface */
#define FP_PASS_FIB_UNSUPP_LWT  18
#define FP_PASS_FIB_NO_NEIGH    19 /* neighbour unresolved: the kernel resolves it (TC forwards with bpf_redirect_neigh where it may) */
#define FP_PASS_FIB_FRAG_NEEDED 20 /* larger than the egress MTU: the kernel fragments or sends ICMP */
#define FP_PASS_FIB_NO_SRC_ADDR 21
#define FP_PASS_FIB_OTHER       22 /* a return code newer than this header */
#define FP_PASS_FIB_NO_ROUTE    23 /* BPF_FIB_LKUP_RET_NOT_FWDED otherwise: no route, broadcast or other non-unicast route */
#define FP_PASS_TCP_CONTROL     24 /* policy conntrack: SYN, FIN or RST, which conntrack must see */
#define FP_PASS_VALVE           25 /* policy conntrack: the manager's heartbeat is stale, all to the kernel */
#define FP_PASS_EGRESS_CHANGED  26 /* policy conntrack: a source-NATed flow's route leaves by another
				    * interface now; the kernel drops a masqueraded one and re-translates */
#define FP_REASON_COUNT         27

#define FP_REASON_NAMES { \
	"not_ip", "malformed", "ip_options", "fragment", "ipv6_exthdr", "ttl", \
	"multicast", "martian", "other_host", "vlan_unknown", "disabled", \
	"not_offloaded", "tc_handoff", "local", "blackhole", "unreachable", \
	"prohibit", "forwarding_disabled", "unsupported_lwt", "no_neigh", \
	"frag_needed", "no_src_addr", "fib_other", "no_route", "tcp_control", \
	"valve", "egress_changed" }

/* fp_stats value: one per interface slot, per CPU (BPF_MAP_TYPE_PERCPU_ARRAY). */
struct fp_stats {
	__u64 forwarded_packets;
	__u64 forwarded_bytes;
	__u64 redirect_errors;   /* a redirect helper refused the packet (it was passed) */
	__u64 passed[FP_REASON_COUNT];
};
_Static_assert(sizeof(struct fp_stats) == 8 * (3 + FP_REASON_COUNT), "fp_stats layout");

/* fp_iface flags */
#define FP_IFACE_POLICY_ROUTING   (1u << 0) /* forward every routable packet */
#define FP_IFACE_POLICY_CONNTRACK (1u << 1) /* forward only mirrored conntrack flows */
#define FP_IFACE_WAN              (1u << 2)
#define FP_IFACE_RP_STRICT        (1u << 3) /* policy routing: rp_filter 1, the source must route back out of the ingress */
#define FP_IFACE_RP_LOOSE         (1u << 4) /* policy routing: rp_filter 2, the source must be routable */

/* fp_ifaces: an ARRAY indexed by ingress ifindex, for ifindexes below
 * FP_IFACE_INDEXED; an entry with slot 0 is no entry. Larger ifindexes (a
 * router that has re-created many devices) are in fp_ifaces_high, a HASH
 * keyed by ifindex. An array lookup is a bounds check and an add, about
 * 35 ns per packet cheaper than a hash lookup. Written by the manager for
 * every interface it attaches to; the programs pass everything that arrives
 * on an interface without an entry. */
#define FP_IFACE_INDEXED 2048
struct fp_iface {
	__u8  mac[6];   /* the interface's own MAC: frames to other MACs are passed */
	__u16 flags;    /* FP_IFACE_* */
	__u32 slot;     /* index into fp_stats, 1..FP_MAX_IFACES-1 */
};
_Static_assert(sizeof(struct fp_iface) == 12, "fp_iface layout");

/* fp_config: BPF_MAP_TYPE_ARRAY with one entry (key 0). */
#define FP_CONFIG_IPV4 (1u << 0)
#define FP_CONFIG_IPV6 (1u << 1)
#define FP_CONFIG_RECHECK (1u << 2) /* fp_rechecks has entries: the egress program looks */
#define FP_CONFIG_NFT_GEN (1u << 3) /* nft_gen holds the ruleset generation the flows were admitted under */
struct fp_config {
	__u32 flags;        /* FP_CONFIG_* */
	__u32 fib_gen;      /* bumped by the manager on every route, neighbour or link change */
	__u64 heartbeat_ns; /* CLOCK_MONOTONIC (bpf_ktime_get_ns) of the manager's last beat */
	__u64 valve_ns;     /* policy conntrack: an older heartbeat passes everything */
	__u32 nft_gen;      /* manager only: nftables generation id (NFTA_GEN_ID, as sent) */
	__u32 mtu_floor;    /* the smallest route MTU (ip route ... mtu N), 0: none. bpf_fib_lookup
			     * ignores an unlocked one, so longer packets go to the kernel */
};
_Static_assert(sizeof(struct fp_config) == 32, "fp_config layout");

/* fp_devmap (BPF_MAP_TYPE_DEVMAP_HASH): key __u32 ifindex -> value. The
 * manager lists only egress devices that take XDP frames (ndo_xdp_xmit).
 * Layout of the kernel's struct bpf_devmap_val. */
struct fp_devmap_val {
	__u32 ifindex;
	__u32 prog_fd;  /* 0: no devmap program */
};
_Static_assert(sizeof(struct fp_devmap_val) == 8, "fp_devmap_val layout");

/* fp_vlans: which VLAN device a tagged frame belongs to. */
struct fp_vlan_key {
	__u32 ifindex;  /* the lower (tagged) device */
	__be16 proto;   /* ETH_P_8021Q or ETH_P_8021AD, network order */
	__u16 vid;      /* 12-bit VLAN id, host order */
};
_Static_assert(sizeof(struct fp_vlan_key) == 8, "fp_vlan_key layout");

struct fp_vlan_val {
	__u32 ifindex;  /* the VLAN device: ingress for bpf_fib_lookup */
};
_Static_assert(sizeof(struct fp_vlan_val) == 4, "fp_vlan_val layout");

/*
 * fp_flows (policy conntrack): the conntrack entries the kernel firewall
 * accepted, one entry per direction, written by the manager and consulted
 * by the programs before forwarding. Addresses are 16 bytes, IPv4 mapped.
 */
struct fp_flow_key {
	__u8   src[16];
	__u8   dst[16];
	__be16 sport;
	__be16 dport;
	__u32  ifindex;  /* ingress: the L3 interface toward src (the VLAN device if tagged) */
	__u8   proto;    /* IPPROTO_TCP or IPPROTO_UDP */
	__u8   family;   /* 4 or 6 */
	__u16  pad;      /* zero */
};
_Static_assert(sizeof(struct fp_flow_key) == 44, "fp_flow_key layout");

#define FP_FLOW_SNAT     (1u << 0) /* rewrite the source to nat_src:nat_sport */
#define FP_FLOW_DNAT     (1u << 1) /* rewrite the destination to nat_dst:nat_dport */
#define FP_NEXTHOP_VALID (1u << 0)

struct fp_flow {
	/* written by the manager when the flow is mirrored */
	__u8   nat_src[16];
	__u8   nat_dst[16];
	__be16 nat_sport;
	__be16 nat_dport;
	__u32  flags;        /* FP_FLOW_* */
	/* the next-hop cache, written by the programs */
	__u32  nh_gen;       /* fp_config.fib_gen the lookup was made under */
	__u32  nh_ifindex;   /* egress */
	__u32  nh_flags;     /* FP_NEXTHOP_* */
	__u32  nh_len_ok;    /* the largest IP length the lookup approved (MTU) */
	__u8   nh_dmac[6];
	__u8   nh_smac[6];
	__u32  snat_egress;  /* source NAT: the egress the kernel translated for (else 0) */
	/* accounting, written by the programs */
	__u64  last_seen_ns; /* bpf_ktime_get_coarse_ns */
	__u64  packets;
	__u64  bytes;
	/* written by the manager: the mark the kernel routed the direction with */
	__u32  fib_mark;
	__u32  pad;
};
_Static_assert(sizeof(struct fp_flow) == 104, "fp_flow layout");

/*
 * fp_rechecks (policy conntrack): the proof a flow direction needs before
 * it enters the fast path. The manager lists each direction of a conntrack
 * entry by how it leaves the router (key: the post-NAT tuple in
 * fp_flow_key layout, ifindex 0). The TC egress program stamps seen_ns
 * when such a packet leaves, received on another interface (so not made by
 * the router itself), no earlier than not_before_ns (so not one the fast
 * path was still forwarding when the direction was taken off): the kernel
 * routed it and its firewall accepted it. With the stamp it records how the
 * kernel did it, which the manager mirrors: where the packet came in and
 * went out, and the mark it carried.
 */
struct fp_recheck {
	__u64 not_before_ns; /* bpf_ktime_get_coarse_ns clock */
	__u64 seen_ns;       /* 0 until proven */
	__u32 ingress;       /* proof: the ifindex the packet arrived on */
	__u32 egress;        /* proof: the ifindex it left by */
	__u32 mark;          /* proof: its skb mark as it left */
	__u32 pad;
};
_Static_assert(sizeof(struct fp_recheck) == 32, "fp_recheck layout");

/* fp_local_addrs: the router's own addresses (key -> __u32 ifindex), kept by
 * the manager. Consulted only when bpf_fib_lookup says "not forwarded", to
 * tell local delivery from a missing route in the counters. IPv4 is stored
 * IPv4-mapped (::ffff:a.b.c.d). */
struct fp_addr {
	__u8 addr[16];
};
_Static_assert(sizeof(struct fp_addr) == 16, "fp_addr layout");

/*
 * XDP -> TC handoff. When the egress device is not in fp_devmap, the XDP
 * program passes the frame untouched with this in front of it
 * (bpf_xdp_adjust_meta); the TC program checks the magic, skips the lookup
 * and does the rewrite and redirect itself.
 */
#define FP_META_MAGIC 0xfa57fa57u
struct fp_meta {
	__u32 magic;
	__u32 ifindex;     /* egress */
	__u32 fib_ifindex; /* ingress ifindex the lookup used (VLAN device if tagged) */
	__u8  dmac[6];
	__u8  smac[6];
};
_Static_assert(sizeof(struct fp_meta) == 24, "fp_meta layout");
_Static_assert(sizeof(struct fp_meta) % 4 == 0, "xdp metadata is 4-byte aligned");

#endif /* FASTPATH_H */
