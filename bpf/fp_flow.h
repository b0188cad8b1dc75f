/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * fp_flow.h - policy conntrack: the flow key of a packet, and the NAT
 * rewrite with incremental checksums. XDP rewrites in place with RFC 1624
 * arithmetic; TC goes through the skb checksum helpers, which also handle
 * CHECKSUM_PARTIAL (GRO) skbs.
 */
#ifndef FP_FLOW_H
#define FP_FLOW_H

#include <linux/tcp.h>
#include <linux/udp.h>
#include "fp_packet.h"

#define FP_TCP_FLAG_FIN 0x01
#define FP_TCP_FLAG_SYN 0x02
#define FP_TCP_FLAG_RST 0x04

/* Where the L4 header and its checksum are, for a packet fp_check_l3 accepted. */
struct fp_l4 {
	__u32 off;       /* L4 header offset */
	__u32 csum_off;  /* its checksum field */
	__u8  proto;
	__u8  pad[3];
};

static __always_inline void fp_addr16(__u8 *out, const void *addr, __u32 family)
{
	if (family == FP_AF_INET) {
		__builtin_memset(out, 0, 10);
		out[10] = 0xff;
		out[11] = 0xff;
		__builtin_memcpy(out + 12, addr, 4);
	} else {
		__builtin_memcpy(out, addr, 16);
	}
}

/*
 * Builds the fp_flows key of a TCP or UDP packet. Returns FP_OK, or
 * FP_PASS_NOT_OFFLOADED (other protocols: ICMP errors and the like are the
 * kernel's), FP_PASS_TCP_CONTROL (SYN/FIN/RST: conntrack must see them),
 * FP_PASS_MALFORMED (L4 header cut short).
 */
static __always_inline int fp_flow_key_of(void *data, void *data_end, const struct fp_pkt *p,
					  __u32 ifindex, struct fp_flow_key *key, struct fp_l4 *l4)
{
	__u8 proto;
	__u32 off;

	__builtin_memset(key, 0, sizeof(*key));
	if (p->family == FP_AF_INET) {
		struct iphdr *iph = data + p->l3_off;

		if ((void *)(iph + 1) > data_end)
			return FP_PASS_MALFORMED;
		proto = iph->protocol;
		off = p->l3_off + sizeof(*iph);
		fp_addr16(key->src, &iph->saddr, FP_AF_INET);
		fp_addr16(key->dst, &iph->daddr, FP_AF_INET);
		key->family = 4;
	} else {
		struct ipv6hdr *ip6h = data + p->l3_off;

		if ((void *)(ip6h + 1) > data_end)
			return FP_PASS_MALFORMED;
		proto = ip6h->nexthdr;
		off = p->l3_off + sizeof(*ip6h);
		fp_addr16(key->src, &ip6h->saddr, FP_AF_INET6);
		fp_addr16(key->dst, &ip6h->daddr, FP_AF_INET6);
		key->family = 6;
	}
	if (off > 128)
		return FP_PASS_MALFORMED;
	if (proto == IPPROTO_TCP) {
		struct tcphdr *th = data + off;

		if ((void *)(th + 1) > data_end)
			return FP_PASS_MALFORMED;
		if (((__u8 *)th)[13] & (FP_TCP_FLAG_FIN | FP_TCP_FLAG_SYN | FP_TCP_FLAG_RST))
			return FP_PASS_TCP_CONTROL;
		key->sport = th->source;
		key->dport = th->dest;
		l4->csum_off = off + 16;
	} else if (proto == IPPROTO_UDP) {
		struct udphdr *uh = data + off;

		if ((void *)(uh + 1) > data_end)
			return FP_PASS_MALFORMED;
		key->sport = uh->source;
		key->dport = uh->dest;
		l4->csum_off = off + 6;
	} else {
		return FP_PASS_NOT_OFFLOADED;
	}
	key->proto = proto;
	key->ifindex = ifindex;
	l4->off = off;
	l4->proto = proto;
	return FP_OK;
}

/* ---- XDP: in-place rewrite, RFC 1624 incremental checksums ---- */

static __always_inline __u16 fp_csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* HC' = ~(~HC + ~m + m') over the 16-bit words of a 4-byte field. All
 * values are raw memory words, so the byte order does not matter. */
static __always_inline __u16 fp_csum_update4(__u16 csum, __u32 from, __u32 to)
{
	__u32 sum = (__u16)~csum;

	sum += (__u16)~(from & 0xffff) + (__u16)~(from >> 16);
	sum += (to & 0xffff) + (to >> 16);
	return ~fp_csum_fold(sum);
}

static __always_inline __u16 fp_csum_update2(__u16 csum, __u16 from, __u16 to)
{
	__u32 sum = (__u16)~csum;

	sum += (__u16)~from + to;
	return ~fp_csum_fold(sum);
}

/* Replaces a 16-byte (IPv6) or 4-byte (IPv4) address at `field`, updating
 * the L4 checksum (pseudo header) and, for IPv4, the header checksum. */
static __always_inline void fp_xdp_replace_addr(__u32 *field, const __u8 *mapped, __u32 family,
						__u16 *l3csum, __u16 *l4csum, int update_l4)
{
	int words = family == FP_AF_INET ? 1 : 4;
	const __u32 *to = (const __u32 *)(mapped + (family == FP_AF_INET ? 12 : 0));
	int skip_l4 = !update_l4;

#pragma unroll
	for (int i = 0; i < 4; i++) {
		if (i >= words)
			break;
		if (l3csum)
			*l3csum = fp_csum_update4(*l3csum, field[i], to[i]);
		if (!skip_l4)
			*l4csum = fp_csum_update4(*l4csum, field[i], to[i]);
		field[i] = to[i];
	}
}

/*
 * Applies the flow's NAT to a packet in place. Offsets were checked by
 * fp_flow_key_of; they are re-checked here for the verifier.
 */
static __always_inline int fp_xdp_nat(void *data, void *data_end, const struct fp_pkt *p,
				      const struct fp_l4 *l4, const struct fp_flow *flow)
{
	__u16 *l3csum = 0, *l4csum;
	__u32 *saddr, *daddr;
	__be16 *sport, *dport;
	int udp = l4->proto == IPPROTO_UDP;
	int v4 = p->family == FP_AF_INET;

	if (!(flow->flags & (FP_FLOW_SNAT | FP_FLOW_DNAT)))
		return 0;
	if (l4->off > 128 || l4->csum_off > 160)
		return -1;
	sport = data + l4->off;
	dport = data + l4->off + 2;
	l4csum = data + l4->csum_off;
	if ((void *)(sport + 2) > data_end || (void *)(l4csum + 1) > data_end)
		return -1;
	if (v4) {
		struct iphdr *iph = data + p->l3_off;

		if ((void *)(iph + 1) > data_end)
			return -1;
		l3csum = (__u16 *)&iph->check;
		saddr = &iph->saddr;
		daddr = &iph->daddr;
	} else {
		struct ipv6hdr *ip6h = data + p->l3_off;

		if ((void *)(ip6h + 1) > data_end)
			return -1;
		saddr = ip6h->saddr.in6_u.u6_addr32;
		daddr = ip6h->daddr.in6_u.u6_addr32;
	}
	{
		/* an IPv4 UDP checksum of 0 means "none" and stays 0 */
		int had_csum = !(udp && v4) || *l4csum != 0;

		/* masquerade mostly keeps the port: then there is nothing to update */
		if (flow->flags & FP_FLOW_SNAT) {
			fp_xdp_replace_addr(saddr, flow->nat_src, p->family, l3csum, l4csum, had_csum);
			if (had_csum && *sport != flow->nat_sport)
				*l4csum = fp_csum_update2(*l4csum, *sport, flow->nat_sport);
			*sport = flow->nat_sport;
		}
		if (flow->flags & FP_FLOW_DNAT) {
			fp_xdp_replace_addr(daddr, flow->nat_dst, p->family, l3csum, l4csum, had_csum);
			if (had_csum && *dport != flow->nat_dport)
				*l4csum = fp_csum_update2(*l4csum, *dport, flow->nat_dport);
			*dport = flow->nat_dport;
		}
		/* a computed UDP checksum of 0 is sent as 0xffff (0 means "none") */
		if (udp && had_csum && *l4csum == 0)
			*l4csum = 0xffff;
	}
	return 0;
}


/* ---- TC: fields written in place, the L4 checksum through the helper ---- */

/* The one's complement difference of replacing `words` 32-bit words, as
 * bpf_csum_diff would return it (without the helper call). */
static __always_inline __u32 fp_csum_diff(const __u32 *from, const __u32 *to, int words)
{
	__u64 sum = 0;

#pragma unroll
	for (int i = 0; i < 4; i++) {
		if (i >= words)
			break;
		sum += (__u32)~from[i];
		sum += to[i];
	}
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	return (__u32)sum;
}

/* Replaces an address in place (and the IPv4 header checksum, which only
 * covers the header); returns the L4 pseudo-header difference. */
static __always_inline __u32 fp_tc_replace_addr(__u32 *field, const __u8 *mapped, __u32 family, __u16 *l3csum)
{
	int words = family == FP_AF_INET ? 1 : 4;
	const __u32 *to = (const __u32 *)(mapped + (family == FP_AF_INET ? 12 : 0));
	__u32 diff = fp_csum_diff(field, to, words);

#pragma unroll
	for (int i = 0; i < 4; i++) {
		if (i >= words)
			break;
		if (l3csum)
			*l3csum = fp_csum_update4(*l3csum, field[i], to[i]);
		field[i] = to[i];
	}
	return diff;
}

/*
 * Applies the flow's NAT to an skb. Addresses, ports and the IPv4 header
 * checksum are written in place (the linear area is writable: the TC
 * program writes packet data directly, so the kernel unclones first).
 * The L4 checksum goes through bpf_l4_csum_replace by difference: it also
 * keeps CHECKSUM_PARTIAL skbs (GRO: the field holds the pseudo-header sum)
 * and skb->csum of CHECKSUM_COMPLETE ones right, and with
 * BPF_F_MARK_MANGLED_0 leaves an IPv4 UDP checksum of 0 alone and sends a
 * computed 0 as 0xffff. Two calls at most: one for the addresses (pseudo
 * header), one for the ports (payload). Offsets were checked by
 * fp_flow_key_of; they are re-checked here for the verifier.
 */
static __always_inline int fp_tc_nat(struct __sk_buff *skb, const struct fp_pkt *p, const struct fp_l4 *l4,
				     const struct fp_flow *flow)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u64 l4flags = l4->proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;
	__u64 addr_diff = 0;
	__u32 port_diff = 0;
	int ports_changed = 0;
	__u16 *l3csum = 0;
	__u32 *saddr, *daddr;
	__be16 *sport, *dport;

	if (!(flow->flags & (FP_FLOW_SNAT | FP_FLOW_DNAT)))
		return 0;
	if (l4->off > 128 || l4->csum_off > 160)
		return -1;
	sport = data + l4->off;
	dport = data + l4->off + 2;
	if ((void *)(sport + 2) > data_end || data + l4->csum_off + 2 > data_end)
		return -1;
	if (p->family == FP_AF_INET) {
		struct iphdr *iph = data + p->l3_off;

		if ((void *)(iph + 1) > data_end)
			return -1;
		l3csum = (__u16 *)&iph->check;
		saddr = &iph->saddr;
		daddr = &iph->daddr;
	} else {
		struct ipv6hdr *ip6h = data + p->l3_off;

		if ((void *)(ip6h + 1) > data_end)
			return -1;
		saddr = ip6h->saddr.in6_u.u6_addr32;
		daddr = ip6h->daddr.in6_u.u6_addr32;
	}
	if (flow->flags & FP_FLOW_SNAT) {
		addr_diff += fp_tc_replace_addr(saddr, flow->nat_src, p->family, l3csum);
		if (*sport != flow->nat_sport) { /* masquerade mostly keeps the port */
			port_diff += (__u16)~*sport + (__u32)flow->nat_sport;
			ports_changed = 1;
		}
		*sport = flow->nat_sport;
	}
	if (flow->flags & FP_FLOW_DNAT) {
		addr_diff += fp_tc_replace_addr(daddr, flow->nat_dst, p->family, l3csum);
		if (*dport != flow->nat_dport) {
			port_diff += (__u16)~*dport + (__u32)flow->nat_dport;
			ports_changed = 1;
		}
		*dport = flow->nat_dport;
	}
	/* packet pointers are stale after the helper: nothing is read below */
	addr_diff = (addr_diff & 0xffffffff) + (addr_diff >> 32);
	if (bpf_l4_csum_replace(skb, l4->csum_off, 0, (__u32)addr_diff, l4flags | BPF_F_PSEUDO_HDR))
		return -1;
	if (ports_changed && bpf_l4_csum_replace(skb, l4->csum_off, 0, port_diff, l4flags))
		return -1;
	return 0;
}

#endif /* FP_FLOW_H */
