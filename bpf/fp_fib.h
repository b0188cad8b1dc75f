/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * fp_fib.h - the route lookup, asking the kernel's FIB the question it
 * answered when it routed the flow (the ingress, the original source, the
 * destination and port after DNAT, the protocol and ports, the mark, the
 * length its MTU applies to), the source checks of policy routing, and the
 * next hop: from the flow's cache while it is current, else from
 * bpf_fib_lookup.
 */
#ifndef FP_FIB_H
#define FP_FIB_H

#include "fp_maps.h"

/* The ports of a TCP or UDP packet (at the offset fp_check_l3 allows), for
 * the lookup: port rules and the multipath hash use them. */
static __always_inline void fp_fib_ports(void *data, void *data_end, __u32 off, __u8 proto,
					 struct bpf_fib_lookup *fib)
{
	__be16 *ports = data + off;

	if ((proto != IPPROTO_TCP && proto != IPPROTO_UDP) || off > 128 || (void *)(ports + 2) > data_end)
		return;
	fib->sport = ports[0];
	fib->dport = ports[1];
}

/* Fills the lookup key from a header fp_check_l3 accepted. `tot_len` is
 * what the route's MTU is checked against; 0 asks the kernel to check the
 * device MTU against the skb instead (TC). */
static __always_inline int fp_fib_params(void *data, void *data_end, const struct fp_pkt *p,
					 __u32 ifindex, __u32 tot_len,
					 struct bpf_fib_lookup *fib)
{
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->ifindex = ifindex;
	if (p->family == FP_AF_INET) {
		struct iphdr *iph = data + p->l3_off;

		if ((void *)(iph + 1) > data_end)
			return FP_PASS_MALFORMED;
		fib->family = FP_AF_INET;
		fib->tos = iph->tos;
		fib->l4_protocol = iph->protocol;
		fib->tot_len = tot_len;
		fib->ipv4_src = iph->saddr;
		fib->ipv4_dst = iph->daddr;
		fp_fib_ports(data, data_end, p->l3_off + sizeof(*iph), iph->protocol, fib);
	} else {
		struct ipv6hdr *ip6h = data + p->l3_off;

		if ((void *)(ip6h + 1) > data_end)
			return FP_PASS_MALFORMED;
		fib->family = FP_AF_INET6;
		fib->flowinfo = *(__be32 *)ip6h & bpf_htonl(0x0fffffff);
		fib->l4_protocol = ip6h->nexthdr;
		fib->tot_len = tot_len;
		__builtin_memcpy(fib->ipv6_src, &ip6h->saddr, 16);
		__builtin_memcpy(fib->ipv6_dst, &ip6h->daddr, 16);
		fp_fib_ports(data, data_end, p->l3_off + sizeof(*ip6h), ip6h->nexthdr, fib);
	}
	return FP_OK;
}

/* Maps a bpf_fib_lookup return code to FP_OK or a pass reason. */
static __always_inline int fp_fib_reason(long rc)
{
	switch (rc) {
	case BPF_FIB_LKUP_RET_SUCCESS:     return FP_OK;
	case BPF_FIB_LKUP_RET_BLACKHOLE:   return FP_PASS_FIB_BLACKHOLE;
	case BPF_FIB_LKUP_RET_UNREACHABLE: return FP_PASS_FIB_UNREACHABLE;
	case BPF_FIB_LKUP_RET_PROHIBIT:    return FP_PASS_FIB_PROHIBIT;
	case BPF_FIB_LKUP_RET_NOT_FWDED:   return FP_PASS_FIB_NO_ROUTE;
	case BPF_FIB_LKUP_RET_FWD_DISABLED: return FP_PASS_FIB_FWD_DISABLED;
	case BPF_FIB_LKUP_RET_UNSUPP_LWT:  return FP_PASS_FIB_UNSUPP_LWT;
	case BPF_FIB_LKUP_RET_NO_NEIGH:    return FP_PASS_FIB_NO_NEIGH;
	case BPF_FIB_LKUP_RET_FRAG_NEEDED: return FP_PASS_FIB_FRAG_NEEDED;
	case 9: /* BPF_FIB_LKUP_RET_NO_SRC_ADDR, newer UAPI */
		return FP_PASS_FIB_NO_SRC_ADDR;
	}
	return FP_PASS_FIB_OTHER;
}

/* The interface bpf_fib_lookup should see as ingress: the VLAN device for a
 * tagged frame, or 0 when the tag belongs to no known VLAN device. */
static __always_inline __u32 fp_fib_ingress(__u32 ifindex, const struct fp_pkt *p)
{
	struct fp_vlan_key key = {};
	struct fp_vlan_val *val;

	if (!p->vlan_proto)
		return ifindex;
	key.ifindex = ifindex;
	key.proto = p->vlan_proto;
	key.vid = p->vid;
	val = bpf_map_lookup_elem(&fp_vlans, &key);
	return val ? val->ifindex : 0;
}

/* bpf_fib_lookup's verdict as a pass reason. "Not forwarded" covers local
 * delivery and a missing route alike; the router's addresses tell them apart. */
static __always_inline int fp_lookup_reason(long rc, const struct bpf_fib_lookup *fib)
{
	struct fp_addr dst = {};

	if (rc != BPF_FIB_LKUP_RET_NOT_FWDED)
		return fp_fib_reason(rc);
	fp_addr16(dst.addr, fib->family == FP_AF_INET ? (void *)&fib->ipv4_dst : (void *)fib->ipv6_dst,
		  fib->family);
	if (bpf_map_lookup_elem(&fp_local_addrs, &dst))
		return FP_PASS_FIB_LOCAL;
	return FP_PASS_FIB_NO_ROUTE;
}

/* What the classifier found out about a packet it lets through. */
struct fp_verdict {
	struct fp_config *cfg;   /* the runtime config, looked up once per packet */
	__u32 fib_ifindex;       /* ingress for bpf_fib_lookup */
	__u16 iface_flags;       /* the ingress interface's FP_IFACE_* */
	struct fp_flow *flow;    /* policy conntrack: the mirrored flow (else 0) */
	struct fp_l4 l4;         /* with a flow: where its ports and checksum are */
	__u64 now;               /* with a flow: the coarse clock, read once per packet */
};

/* Where the packet goes: egress and MACs. */
struct fp_nexthop {
	__u32 ifindex;
	__u8  dmac[ETH_ALEN];
	__u8  smac[ETH_ALEN];
	struct bpf_redir_neigh neigh; /* TC only: set when the neighbour is unresolved */
	__u32 unresolved;
};

/* BPF_FIB_LOOKUP_MARK (6.10 UAPI); the mark shares its place with smac. */
#define FP_FIB_LOOKUP_MARK (1u << 5)

/*
 * The question the kernel answered when it routed the flow: it routes
 * after destination NAT (prerouting) and before source NAT (postrouting),
 * so the lookup takes the translated destination and port but the
 * original source; and the mark the packet carried. Returns the lookup's
 * flags.
 */
static __always_inline __u32 fp_fib_apply_flow(struct bpf_fib_lookup *fib, const struct fp_flow *flow)
{
	if (!flow)
		return 0;
	if (flow->flags & FP_FLOW_DNAT) {
		if (fib->family == FP_AF_INET)
			__builtin_memcpy(&fib->ipv4_dst, flow->nat_dst + 12, 4);
		else
			__builtin_memcpy(fib->ipv6_dst, flow->nat_dst, 16);
		fib->dport = flow->nat_dport;
	}
	if (fp_has(FP_FEATURE_FIB_MARK) && flow->fib_mark) {
		__builtin_memcpy(fib->smac, &flow->fib_mark, sizeof(flow->fib_mark));
		return FP_FIB_LOOKUP_MARK;
	}
	return 0;
}

/* The IP length (header included) of a packet fp_check_l3 accepted. */
static __always_inline __u32 fp_ip_len(void *data, void *data_end, const struct fp_pkt *p)
{
	__u32 end = fp_ip_end(data, data_end, p);

	return end ? end - p->l3_off : 0xffffffff;
}

/*
 * Policy routing, IPv4: the source checks the kernel makes before it
 * forwards. The router's own address is a martian source; with rp_filter
 * the source must route back (fib_validate_source, asked as the kernel
 * does, from the loopback device, with the protocol and the ports swapped
 * for port rules): out of the ingress (strict) or out of anywhere (loose),
 * and as unicast, which rules out broadcast sources.
 */
static __always_inline int fp_check_source(void *ctx, void *data, void *data_end, const struct fp_pkt *p,
					   const struct fp_verdict *v)
{
	struct iphdr *iph = data + p->l3_off;
	struct bpf_fib_lookup back = {};
	struct fp_addr src = {};
	long rc;

	if (p->family != FP_AF_INET || (void *)(iph + 1) > data_end)
		return FP_OK;
	fp_addr16(src.addr, &iph->saddr, FP_AF_INET);
	if (bpf_map_lookup_elem(&fp_local_addrs, &src))
		return FP_PASS_MARTIAN;
	if (!(v->iface_flags & (FP_IFACE_RP_STRICT | FP_IFACE_RP_LOOSE)))
		return FP_OK;
	back.family = FP_AF_INET;
	back.ifindex = 1; /* LOOPBACK_IFINDEX */
	back.tos = iph->tos;
	back.ipv4_src = iph->daddr;
	back.ipv4_dst = iph->saddr;
	fp_fib_ports(data, data_end, p->l3_off + sizeof(*iph), iph->protocol, &back);
	back.l4_protocol = iph->protocol;
	rc = back.sport;
	back.sport = back.dport;
	back.dport = rc;
	rc = bpf_fib_lookup(ctx, &back, sizeof(back), 0);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH)
		return FP_PASS_MARTIAN;
	if ((v->iface_flags & FP_IFACE_RP_STRICT) && back.ifindex != v->fib_ifindex)
		return FP_PASS_MARTIAN;
	return FP_OK;
}

/*
 * The next hop: from the flow's cache while the FIB generation it was made
 * under is current and the packet is no longer than the lookup approved
 * (the MTU), else from bpf_fib_lookup, refreshing the cache.
 * The lookup checks `mtu_len` against the route's MTU: the IP length, or
 * for a GSO skb the length of one segment. `ctx` is the xdp_md or __sk_buff.
 */
static __always_inline int fp_find_nexthop(void *ctx, void *data, void *data_end, const struct fp_pkt *p,
					   const struct fp_verdict *v, int tc, int gso, __u32 mtu_len,
					   struct fp_nexthop *nh)
{
	struct fp_flow *flow = v->flow;
	__u32 ip_len = fp_ip_len(data, data_end, p);
	__u32 gen = v->cfg ? v->cfg->fib_gen : 0;
	struct bpf_fib_lookup fib;
	__u32 flags;
	int reason;
	long rc;

	if (v->cfg && v->cfg->mtu_floor && (mtu_len > v->cfg->mtu_floor || !mtu_len))
		return FP_PASS_FIB_FRAG_NEEDED;
	if (flow && !gso && (flow->nh_flags & FP_NEXTHOP_VALID) && flow->nh_gen == gen &&
	    ip_len <= flow->nh_len_ok) {
		nh->ifindex = flow->nh_ifindex;
		__builtin_memcpy(nh->dmac, flow->nh_dmac, ETH_ALEN);
		__builtin_memcpy(nh->smac, flow->nh_smac, ETH_ALEN);
		return FP_OK;
	}
	if (!flow) {
		reason = fp_check_source(ctx, data, data_end, p, v);
		if (reason != FP_OK)
			return reason;
	}
	reason = fp_fib_params(data, data_end, p, v->fib_ifindex, mtu_len, &fib);
	if (reason != FP_OK)
		return reason;
	flags = fp_fib_apply_flow(&fib, flow);
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), flags);
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH && tc && !flow && fp_has(FP_FEATURE_REDIRECT_NEIGH)) {
		/* TC: the neighbour layer resolves the next hop and queues the
		 * packet. Not for a conntrack flow: a queued packet could leave
		 * after the manager took the flow off (and look like proof). */
		nh->ifindex = fib.ifindex;
		nh->unresolved = 1;
		if (p->family == FP_AF_INET) {
			nh->neigh.nh_family = FP_AF_INET;
			nh->neigh.ipv4_nh = fib.ipv4_dst;
		} else {
			nh->neigh.nh_family = FP_AF_INET6;
			__builtin_memcpy(nh->neigh.ipv6_nh, fib.ipv6_dst, 16);
		}
		return FP_OK;
	}
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return fp_lookup_reason(rc, &fib);
	/* The kernel drops a masqueraded packet whose route changed interface
	 * (and kills the connection, so that the next one is translated for
	 * the new interface): never carry it out of another one. */
	if (flow && flow->snat_egress && fib.ifindex != flow->snat_egress)
		return FP_PASS_EGRESS_CHANGED;
	nh->ifindex = fib.ifindex;
	__builtin_memcpy(nh->dmac, fib.dmac, ETH_ALEN);
	__builtin_memcpy(nh->smac, fib.smac, ETH_ALEN);
	if (flow && !gso) {
		flow->nh_ifindex = fib.ifindex;
		__builtin_memcpy(flow->nh_dmac, fib.dmac, ETH_ALEN);
		__builtin_memcpy(flow->nh_smac, fib.smac, ETH_ALEN);
		flow->nh_len_ok = ip_len;
		flow->nh_gen = gen;
		flow->nh_flags = FP_NEXTHOP_VALID;
	}
	return FP_OK;
}

#endif /* FP_FIB_H */
