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
#include "fp_fib.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/*
 * The flow gate: may this packet skip netfilter? Policy routing says yes to
 * every routable packet. Policy conntrack (the default) says yes only to
 * TCP/UDP packets of flows the manager mirrored from conntrack (accepted
 * by the firewall), and to nothing at all once the manager's heartbeat is
 * older than the valve time: a dead manager never leaves flows forwarding.
 */
static __always_inline int fp_flow_gate(void *data, void *data_end, const struct fp_iface *iface,
					const struct fp_config *cfg, const struct fp_pkt *p,
					struct fp_verdict *v)
{
	struct fp_flow_key key;
	__u64 now;
	int reason;

	v->flow = 0;
	if (iface->flags & FP_IFACE_POLICY_ROUTING)
		return FP_OK;
	if (!(iface->flags & FP_IFACE_POLICY_CONNTRACK))
		return FP_PASS_NOT_OFFLOADED;
	now = fp_now(); /* a tick or two behind CLOCK_MONOTONIC at most */
	v->now = now;
	if (now > cfg->heartbeat_ns && now - cfg->heartbeat_ns > cfg->valve_ns)
		return FP_PASS_VALVE;
	reason = fp_flow_key_of(data, data_end, p, v->fib_ifindex, &key, &v->l4);
	if (reason != FP_OK)
		return reason;
	v->flow = bpf_map_lookup_elem(&fp_flows, &key);
	return v->flow ? FP_OK : FP_PASS_NOT_OFFLOADED;
}

/* Steps shared by both programs up to the lookup: parse, check, gate.
 * `frame_len` as fp_check_ipv4 takes it. */
static __always_inline int fp_classify(void *data, void *data_end, __u32 frame_len, __u32 ifindex,
				       const struct fp_iface *iface, struct fp_pkt *p,
				       struct fp_verdict *v)
{
	struct fp_config *cfg = fp_config_get();
	int reason = fp_parse_l2(data, data_end, p);

	v->cfg = cfg;
	v->iface_flags = iface->flags;
	if (reason != FP_OK)
		return reason;
	if (!cfg || !(cfg->flags & (p->family == FP_AF_INET ? FP_CONFIG_IPV4 : FP_CONFIG_IPV6)))
		return FP_PASS_DISABLED;
	reason = fp_check_l3(data, data_end, frame_len, p);
	if (reason != FP_OK)
		return reason;
	v->fib_ifindex = fp_fib_ingress(ifindex, p);
	if (!v->fib_ifindex)
		return FP_PASS_VLAN_UNKNOWN;
	return fp_flow_gate(data, data_end, iface, cfg, p, v);
}

static __always_inline void fp_flow_account(struct fp_flow *flow, __u64 now, __u64 bytes)
{
	if (!flow)
		return;
	flow->last_seen_ns = now;
	flow->packets++;
	flow->bytes += bytes;
}

/* ---- XDP --------------------------------------------------------------- */

/* Removes the VLAN tag (if any) and writes the new Ethernet header. The
 * caller re-reads data pointers afterwards. */
static __always_inline int fp_xdp_write_l2(struct xdp_md *ctx, const struct fp_pkt *p,
					   const struct fp_nexthop *nh)
{
	if (p->vlan_proto && bpf_xdp_adjust_head(ctx, (int)sizeof(struct fp_vlan_hdr)))
		return -1;
	return fp_write_eth((void *)(long)ctx->data, (void *)(long)ctx->data_end,
			    nh->dmac, nh->smac, p->l3_proto);
}

/* Egress without XDP: leave the frame as it is and tell the TC program
 * where it goes. If the driver has no metadata room, or the kernel no
 * bpf_xdp_adjust_meta for XDP, TC looks it up again. */
static __always_inline void fp_xdp_handoff(struct xdp_md *ctx, __u32 fib_ifindex,
					   const struct fp_nexthop *nh)
{
	struct fp_meta *meta;

	if (!fp_has(FP_FEATURE_XDP_META) || bpf_xdp_adjust_meta(ctx, -(int)sizeof(*meta)))
		return;
	meta = (void *)(long)ctx->data_meta;
	if ((void *)(meta + 1) > (void *)(long)ctx->data)
		return;
	meta->magic = FP_META_MAGIC;
	meta->ifindex = nh->ifindex;
	meta->fib_ifindex = fib_ifindex;
	__builtin_memcpy(meta->dmac, nh->dmac, ETH_ALEN);
	__builtin_memcpy(meta->smac, nh->smac, ETH_ALEN);
}

SEC("xdp")
int fastpath_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 ifindex = ctx->ingress_ifindex;
	__u64 bytes = data_end - data;
	struct fp_nexthop nh = {};
	struct fp_verdict v = {};
	struct fp_iface *iface;
	struct fp_stats *stats;
	struct fp_pkt p = {};
	struct ethhdr *eth;
	long action;
	int reason;

	iface = fp_iface_of(ifindex);
	stats = fp_stats_of(iface);
	if (!iface) {
		fp_count_pass(stats, FP_PASS_NOT_OFFLOADED);
		return XDP_PASS;
	}
	reason = fp_classify(data, data_end, data_end - data, ifindex, iface, &p, &v);
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
		reason = fp_find_nexthop(ctx, data, data_end, &p, &v, 0, 0, fp_ip_len(data, data_end, &p), &nh);
	if (reason != FP_OK) {
		fp_count_pass(stats, reason);
		return XDP_PASS;
	}

	/* The redirect only takes effect when we return; a miss (egress not in
	 * the devmap) returns XDP_PASS and leaves the frame untouched. */
	action = bpf_redirect_map(&fp_devmap, nh.ifindex, XDP_PASS);
	if (action != XDP_REDIRECT) {
		fp_xdp_handoff(ctx, v.fib_ifindex, &nh);
		fp_count_pass(stats, FP_PASS_TC_HANDOFF);
		return XDP_PASS;
	}
	if ((v.flow && fp_xdp_nat(data, data_end, &p, &v.l4, v.flow)) ||
	    fp_decrement_ttl(data, data_end, &p) || fp_xdp_write_l2(ctx, &p, &nh)) {
		/* Unreachable for frames the parser accepted; never send half a rewrite. */
		if (stats)
			stats->redirect_errors++;
		return XDP_DROP;
	}
	fp_flow_account(v.flow, v.now, bytes);
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
	__u32 want = sizeof(struct ethhdr) + sizeof(struct fp_vlan_hdr) + sizeof(struct ipv6hdr) +
		     sizeof(struct tcphdr);

	if (skb->data + want > skb->data_end && skb->len > skb->data_end - skb->data)
		bpf_skb_pull_data(skb, want < skb->len ? want : skb->len);
}

/*
 * The length the route's MTU applies to: the IP length, or for a GSO skb
 * one segment's (headers plus gso_size), as ip_forward checks it. 0 (the
 * kernel checks the device MTU against the skb) for a GSO skb whose
 * transport header is not TCP or UDP.
 */
static __always_inline __u32 fp_tc_mtu_len(struct __sk_buff *skb, void *data, void *data_end,
					   const struct fp_pkt *p)
{
	__u32 l3 = p->family == FP_AF_INET ? sizeof(struct iphdr) : sizeof(struct ipv6hdr);
	__u32 off = p->l3_off + l3;
	struct tcphdr *th;

	if (skb->gso_segs <= 1)
		return fp_ip_len(data, data_end, p);
	if (off > 128)
		return 0;
	th = data + off;
	if ((void *)(th + 1) > data_end)
		return 0;
	switch (p->family == FP_AF_INET ? ((struct iphdr *)(data + p->l3_off))->protocol
					: ((struct ipv6hdr *)(data + p->l3_off))->nexthdr) {
	case IPPROTO_TCP:
		return l3 + ((((__u8 *)th)[12] >> 4) * 4) + skb->gso_size;
	case IPPROTO_UDP:
		return l3 + sizeof(struct udphdr) + skb->gso_size;
	}
	return 0;
}

/* NAT (with a flow), TTL minus one, tag removed, MACs written (when known),
 * then the redirect. */
static __always_inline int fp_tc_forward(struct __sk_buff *skb, struct fp_pkt *p, const struct fp_verdict *v,
					 struct fp_nexthop *nh, struct fp_stats *stats)
{
	void *data, *data_end;
	__u64 bytes = skb->len;
	int tag_in_frame = p->vlan_proto && !skb->vlan_present;

	if (p->vlan_proto || skb->vlan_present) {
		if (bpf_skb_vlan_pop(skb))
			goto error;
		p->l3_off = sizeof(struct ethhdr);
	}
	if (v->flow) {
		struct fp_l4 l4 = v->l4;

		if (tag_in_frame) { /* the headers moved up by the tag's length */
			l4.off -= sizeof(struct fp_vlan_hdr);
			l4.csum_off -= sizeof(struct fp_vlan_hdr);
		}
		if (fp_tc_nat(skb, p, &l4, v->flow))
			goto error;
	}
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	if (fp_decrement_ttl(data, data_end, p))
		goto error;
	fp_flow_account(v->flow, v->now, bytes);
	if (fp_has(FP_FEATURE_REDIRECT_NEIGH) && nh->unresolved) {
		fp_count_forward(stats, bytes);
		return bpf_redirect_neigh(nh->ifindex, &nh->neigh, sizeof(nh->neigh), 0);
	}
	if (fp_write_eth(data, data_end, nh->dmac, nh->smac, p->l3_proto))
		goto error;
	fp_count_forward(stats, bytes);
	return bpf_redirect(nh->ifindex, 0);
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
	struct fp_nexthop nh = {};
	struct fp_verdict v = {};
	struct fp_iface *iface;
	struct fp_stats *stats;
	struct fp_meta *meta;
	struct fp_pkt p = {};
	void *data, *data_end;
	int reason;

	iface = fp_iface_of(ifindex);
	stats = fp_stats_of(iface);
	if (!iface) {
		fp_count_pass(stats, FP_PASS_NOT_OFFLOADED);
		return TC_ACT_UNSPEC;
	}
	meta = fp_tc_meta(skb);
	if (meta && (iface->flags & FP_IFACE_POLICY_ROUTING)) {
		/* Handoff: XDP already checked and looked this frame up. (With
		 * policy conntrack TC redoes the gate: the flow holds the NAT.) */
		nh.ifindex = meta->ifindex;
		__builtin_memcpy(nh.dmac, meta->dmac, ETH_ALEN);
		__builtin_memcpy(nh.smac, meta->smac, ETH_ALEN);
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
		if (fp_parse_l2(data, data_end, &p) == FP_OK)
			return fp_tc_forward(skb, &p, &v, &nh, stats);
		/* A frame that no longer parses is the kernel's. */
		fp_count_pass(stats, FP_PASS_MALFORMED);
		return TC_ACT_UNSPEC;
	}

	fp_tc_pull_headers(skb);
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	if (skb->vlan_present) {
		/* The kernel moved the tag out of the frame (skb_vlan_untag): the
		 * ingress for the lookup is its VLAN device. */
		p.vlan_proto = skb->vlan_proto;
		p.vid = skb->vlan_tci & 0x0fff;
	}
	reason = fp_classify(data, data_end, skb->len, ifindex, iface, &p, &v);
	if (reason == FP_OK && skb->pkt_type != 0 /* PACKET_HOST */)
		reason = FP_PASS_OTHER_HOST;
	if (reason == FP_OK)
		reason = fp_find_nexthop(skb, data, data_end, &p, &v, 1, skb->gso_segs > 1,
					 fp_tc_mtu_len(skb, data, data_end, &p), &nh);
	if (reason != FP_OK) {
		fp_count_pass(stats, reason);
		return TC_ACT_UNSPEC;
	}
	return fp_tc_forward(skb, &p, &v, &nh, stats);
}

/*
 * Clsact egress, policy conntrack: the proof the manager waits for before
 * a flow direction enters the fast path. A packet here that arrived on an
 * interface in policy conntrack went through the kernel's routing, forward
 * and postrouting hooks (the fast path carries none of a listed direction),
 * so the firewall accepted it; if its translated tuple
 * is listed in fp_rechecks, stamp the entry with how the kernel carried it.
 * Only the headers are read (GSO and paged skbs included), the packet is
 * never changed, and later filters still run (TC_ACT_UNSPEC).
 */
SEC("tc")
int fastpath_egress(struct __sk_buff *skb)
{
	struct fp_config *cfg = fp_config_get();
	struct fp_recheck *recheck;
	struct fp_flow_key key;
	struct fp_pkt p = {};
	struct fp_l4 l4;
	void *data, *data_end;
	__u64 now;

	struct fp_iface *from;

	if (!cfg || !(cfg->flags & FP_CONFIG_RECHECK) || !skb->ingress_ifindex)
		return TC_ACT_UNSPEC;
	/* Only packets that came in through policy conntrack prove anything:
	 * one from an interface in policy routing may be the fast path's own. */
	from = fp_iface_of(skb->ingress_ifindex);
	if (!from || !(from->flags & FP_IFACE_POLICY_CONNTRACK))
		return TC_ACT_UNSPEC;
	fp_tc_pull_headers(skb);
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	if (fp_parse_l2(data, data_end, &p) != FP_OK || !fp_headers_unfragmented(data, data_end, &p))
		return TC_ACT_UNSPEC;
	if (fp_flow_key_of(data, data_end, &p, 0, &key, &l4) != FP_OK)
		return TC_ACT_UNSPEC;
	recheck = bpf_map_lookup_elem(&fp_rechecks, &key);
	if (!recheck || recheck->seen_ns)
		return TC_ACT_UNSPEC;
	now = fp_now();
	if (now < recheck->not_before_ns)
		return TC_ACT_UNSPEC;
	recheck->ingress = skb->ingress_ifindex;
	recheck->egress = skb->ifindex;
	recheck->mark = skb->mark;
	recheck->seen_ns = now;
	return TC_ACT_UNSPEC;
}
