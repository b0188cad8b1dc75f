// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fastpath.bpf.c - the data path: an XDP program that forwards routed
 * packets before the kernel builds an skb, and a TC (clsact ingress)
 * program that does the same on an skb where XDP can't (fallback), or
 * finishes what XDP started when the egress can't take XDP frames (handoff).
 *
 * The kernel stays the source of truth: routes and neighbours come from
 * bpf_fib_lookup, and every packet the fast path is not sure about is passed
 * to the kernel untouched, counted by reason (fastpath.h).
 */
#include <linux/pkt_cls.h>
#include "fp_packet.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fp_config);
} fp_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FP_MAX_IFACES);
	__type(key, __u32);
	__type(value, struct fp_iface);
} fp_ifaces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FP_MAX_IFACES);
	__type(key, __u32);
	__type(value, struct fp_stats);
} fp_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, FP_MAX_IFACES);
	__type(key, __u32);
	__type(value, struct fp_devmap_val);
} fp_devmap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FP_MAX_VLANS);
	__type(key, struct fp_vlan_key);
	__type(value, struct fp_vlan_val);
} fp_vlans SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FP_MAX_LOCAL_ADDRS);
	__type(key, struct fp_addr);
	__type(value, __u32);
} fp_local_addrs SEC(".maps");

/* ---- counters ---------------------------------------------------------- */

static __always_inline struct fp_stats *fp_stats_of(const struct fp_iface *iface)
{
	__u32 slot = iface ? iface->slot : 0;

	return bpf_map_lookup_elem(&fp_stats, &slot);
}

static __always_inline void fp_count_pass(struct fp_stats *s, int reason)
{
	if (s && reason >= 0 && reason < FP_REASON_COUNT)
		s->passed[reason]++;
}

static __always_inline void fp_count_forward(struct fp_stats *s, __u64 bytes)
{
	if (s) {
		s->forwarded_packets++;
		s->forwarded_bytes += bytes;
	}
}

/* ---- policy ------------------------------------------------------------ */

/* Families switched off in the runtime config go to the kernel. */
static __always_inline int fp_family_enabled(__u32 family)
{
	__u32 key = 0;
	struct fp_config *cfg = bpf_map_lookup_elem(&fp_config, &key);
	__u32 want = family == FP_AF_INET ? FP_CONFIG_IPV4 : FP_CONFIG_IPV6;

	return cfg && (cfg->flags & want);
}

/*
 * The flow gate: may this packet skip netfilter? Policy routing says yes to
 * every routable packet. Policy conntrack (firewall-respecting, the default)
 * will admit only flows the kernel firewall accepted; until the flow mirror
 * exists it admits none, which is safe: the kernel forwards them.
 */
static __always_inline int fp_flow_gate(const struct fp_iface *iface)
{
	if (iface->flags & FP_IFACE_POLICY_ROUTING)
		return FP_OK;
	return FP_PASS_NOT_OFFLOADED;
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
	if (fib->family == FP_AF_INET) {
		dst.addr[10] = 0xff;
		dst.addr[11] = 0xff;
		__builtin_memcpy(&dst.addr[12], &fib->ipv4_dst, 4);
	} else {
		__builtin_memcpy(dst.addr, fib->ipv6_dst, 16);
	}
	if (bpf_map_lookup_elem(&fp_local_addrs, &dst))
		return FP_PASS_FIB_LOCAL;
	return FP_PASS_FIB_NO_ROUTE;
}

/* Steps shared by both programs up to the lookup: parse, check, gate.
 * Returns FP_OK with *fib_ifindex set, or a pass reason. */
static __always_inline int fp_classify(void *data, void *data_end, __u32 ifindex,
				       const struct fp_iface *iface, struct fp_pkt *p,
				       __u32 *fib_ifindex)
{
	int reason = fp_parse_l2(data, data_end, p);

	if (reason != FP_OK)
		return reason;
	if (!fp_family_enabled(p->family))
		return FP_PASS_DISABLED;
	reason = fp_check_l3(data, data_end, p);
	if (reason != FP_OK)
		return reason;
	*fib_ifindex = fp_fib_ingress(ifindex, p);
	if (!*fib_ifindex)
		return FP_PASS_VLAN_UNKNOWN;
	return fp_flow_gate(iface);
}

/* ---- XDP --------------------------------------------------------------- */

/* Removes the VLAN tag (if any) and writes the new Ethernet header. The
 * caller re-reads data pointers afterwards. */
static __always_inline int fp_xdp_write_l2(struct xdp_md *ctx, const struct fp_pkt *p,
					   const struct bpf_fib_lookup *fib)
{
	if (p->vlan_proto && bpf_xdp_adjust_head(ctx, (int)sizeof(struct fp_vlan_hdr)))
		return -1;
	return fp_write_eth((void *)(long)ctx->data, (void *)(long)ctx->data_end,
			    fib->dmac, fib->smac, p->l3_proto);
}

/* Egress without XDP: leave the frame as it is and tell the TC program
 * where it goes. If the driver has no metadata room, TC looks it up again. */
static __always_inline void fp_xdp_handoff(struct xdp_md *ctx, __u32 fib_ifindex,
					   const struct bpf_fib_lookup *fib)
{
	struct fp_meta *meta;

	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(*meta)))
		return;
	meta = (void *)(long)ctx->data_meta;
	if ((void *)(meta + 1) > (void *)(long)ctx->data)
		return;
	meta->magic = FP_META_MAGIC;
	meta->ifindex = fib->ifindex;
	meta->fib_ifindex = fib_ifindex;
	__builtin_memcpy(meta->dmac, fib->dmac, ETH_ALEN);
	__builtin_memcpy(meta->smac, fib->smac, ETH_ALEN);
}

SEC("xdp")
int fastpath_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 ifindex = ctx->ingress_ifindex;
	__u64 bytes = data_end - data;
	struct bpf_fib_lookup fib;
	struct fp_iface *iface;
	struct fp_stats *stats;
	struct fp_pkt p = {};
	__u32 fib_ifindex = 0;
	struct ethhdr *eth;
	long action;
	int reason;

	iface = bpf_map_lookup_elem(&fp_ifaces, &ifindex);
	stats = fp_stats_of(iface);
	if (!iface) {
		fp_count_pass(stats, FP_PASS_NOT_OFFLOADED);
		return XDP_PASS;
	}
	reason = fp_classify(data, data_end, ifindex, iface, &p, &fib_ifindex);
	if (reason == FP_OK) {
		eth = data;
		if ((void *)(eth + 1) > data_end)
			return XDP_PASS;
		/* Compare 6 bytes as 4 + 2: the interface's own MAC only. */
		if (*(__u32 *)eth->h_dest != *(__u32 *)iface->mac ||
		    *(__u16 *)(eth->h_dest + 4) != *(__u16 *)(iface->mac + 4))
			reason = FP_PASS_OTHER_HOST;
	}
	if (reason == FP_OK)
		reason = fp_fib_params(data, data_end, &p, fib_ifindex, 1, &fib);
	if (reason == FP_OK)
		reason = fp_lookup_reason(bpf_fib_lookup(ctx, &fib, sizeof(fib), 0), &fib);
	if (reason != FP_OK) {
		fp_count_pass(stats, reason);
		return XDP_PASS;
	}

	/* The redirect only takes effect when we return; a miss (egress not in
	 * the devmap) returns XDP_PASS and leaves the frame untouched. */
	action = bpf_redirect_map(&fp_devmap, fib.ifindex, XDP_PASS);
	if (action != XDP_REDIRECT) {
		fp_xdp_handoff(ctx, fib_ifindex, &fib);
		fp_count_pass(stats, FP_PASS_TC_HANDOFF);
		return XDP_PASS;
	}
	if (fp_decrement_ttl(data, data_end, &p) || fp_xdp_write_l2(ctx, &p, &fib)) {
		/* Unreachable for frames the parser accepted; never send half a rewrite. */
		if (stats)
			stats->redirect_errors++;
		return XDP_DROP;
	}
	fp_count_forward(stats, bytes);
	return XDP_REDIRECT;
}

/* ---- TC ---------------------------------------------------------------- */

/* The lookup result the XDP program left in front of the frame, if any. */
static __always_inline struct fp_meta *fp_tc_meta(struct __sk_buff *skb)
{
	struct fp_meta *meta = (void *)(long)skb->data_meta;

	if ((void *)(meta + 1) > (void *)(long)skb->data)
		return 0;
	if (meta->magic != FP_META_MAGIC)
		return 0;
	return meta;
}

/* Makes sure the headers the parser needs are in the linear area. */
static __always_inline void fp_tc_pull_headers(struct __sk_buff *skb)
{
	__u32 want = sizeof(struct ethhdr) + sizeof(struct fp_vlan_hdr) + sizeof(struct ipv6hdr);

	if (skb->data + want > skb->data_end && skb->len > skb->data_end - skb->data)
		bpf_skb_pull_data(skb, want < skb->len ? want : skb->len);
}

/* Decrements the TTL, drops the tag, writes MACs (when known) and redirects. */
static __always_inline int fp_tc_forward(struct __sk_buff *skb, struct fp_pkt *p,
					 __u32 egress, const __u8 *dmac, const __u8 *smac,
					 struct bpf_redir_neigh *nh, struct fp_stats *stats)
{
	void *data, *data_end;
	__u64 bytes = skb->len;

	if (p->vlan_proto || skb->vlan_present) {
		if (bpf_skb_vlan_pop(skb))
			goto error;
		p->l3_off = sizeof(struct ethhdr);
	}
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	if (fp_decrement_ttl(data, data_end, p))
		goto error;
	if (nh) {
		fp_count_forward(stats, bytes);
		return bpf_redirect_neigh(egress, nh, sizeof(*nh), 0);
	}
	if (fp_write_eth(data, data_end, dmac, smac, p->l3_proto))
		goto error;
	fp_count_forward(stats, bytes);
	return bpf_redirect(egress, 0);
error:
	/* The packet may be half rewritten: the kernel must not forward it again. */
	if (stats)
		stats->redirect_errors++;
	return TC_ACT_SHOT;
}

SEC("tc")
int fastpath_tc(struct __sk_buff *skb)
{
	__u32 ifindex = skb->ingress_ifindex;
	struct bpf_redir_neigh nh = {};
	struct bpf_fib_lookup fib;
	struct fp_iface *iface;
	struct fp_stats *stats;
	struct fp_meta *meta;
	struct fp_pkt p = {};
	__u32 fib_ifindex = 0;
	void *data, *data_end;
	int reason;

	iface = bpf_map_lookup_elem(&fp_ifaces, &ifindex);
	stats = fp_stats_of(iface);
	if (!iface) {
		fp_count_pass(stats, FP_PASS_NOT_OFFLOADED);
		return TC_ACT_OK;
	}
	meta = fp_tc_meta(skb);
	if (meta) {
		/* Handoff: XDP already checked, gated and looked this frame up. */
		__u8 dmac[ETH_ALEN], smac[ETH_ALEN];
		__u32 egress = meta->ifindex;

		__builtin_memcpy(dmac, meta->dmac, ETH_ALEN);
		__builtin_memcpy(smac, meta->smac, ETH_ALEN);
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
		if (fp_parse_l2(data, data_end, &p) == FP_OK)
			return fp_tc_forward(skb, &p, egress, dmac, smac, 0, stats);
		/* A frame that no longer parses is the kernel's. */
		fp_count_pass(stats, FP_PASS_MALFORMED);
		return TC_ACT_OK;
	}

	fp_tc_pull_headers(skb);
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	reason = fp_classify(data, data_end, ifindex, iface, &p, &fib_ifindex);
	if (reason == FP_OK && skb->vlan_present) {
		/* The kernel moved the tag out of the frame (skb_vlan_untag). */
		if (p.vlan_proto) {
			reason = FP_PASS_NOT_IP; /* QinQ */
		} else {
			p.vlan_proto = skb->vlan_proto;
			p.vid = skb->vlan_tci & 0x0fff;
			fib_ifindex = fp_fib_ingress(ifindex, &p);
			if (!fib_ifindex)
				reason = FP_PASS_VLAN_UNKNOWN;
		}
	}
	if (reason == FP_OK && skb->pkt_type != 0 /* PACKET_HOST */)
		reason = FP_PASS_OTHER_HOST;
	if (reason == FP_OK)
		reason = fp_fib_params(data, data_end, &p, fib_ifindex, 0, &fib);
	if (reason == FP_OK) {
		long rc = bpf_fib_lookup(skb, &fib, sizeof(fib), 0);

		if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
			/* The neighbour layer resolves the next hop and queues the packet. */
			if (p.family == FP_AF_INET) {
				nh.nh_family = FP_AF_INET;
				nh.ipv4_nh = fib.ipv4_dst;
			} else {
				nh.nh_family = FP_AF_INET6;
				__builtin_memcpy(nh.ipv6_nh, fib.ipv6_dst, 16);
			}
			return fp_tc_forward(skb, &p, fib.ifindex, 0, 0, &nh, stats);
		}
		reason = fp_lookup_reason(rc, &fib);
	}
	if (reason != FP_OK) {
		fp_count_pass(stats, reason);
		return TC_ACT_OK;
	}
	return fp_tc_forward(skb, &p, fib.ifindex, fib.dmac, fib.smac, 0, stats);
}
