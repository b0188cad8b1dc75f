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
#define FP_TCP_FLAG_PSH 0x08
#define FP_TCP_FLAG_ACK 0x10
#define FP_TCP_FLAG_URG 0x20
#define FP_TCP_FLAG_ECE 0x40
#define FP_TCP_FLAG_CWR 0x80

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

/* The end of the IP packet (header included) of a packet fp_check_l3 accepted. */
static __always_inline __u32 fp_ip_end(void *data, void *data_end, const struct fp_pkt *p)
{
	if (p->family == FP_AF_INET) {
		struct iphdr *iph = data + p->l3_off;

		return (void *)(iph + 1) > data_end ? 0 : p->l3_off + bpf_ntohs(iph->tot_len);
	} else {
		struct ipv6hdr *ip6h = data + p->l3_off;

		return (void *)(ip6h + 1) > data_end ? 0 : p->l3_off + sizeof(*ip6h) + bpf_ntohs(ip6h->payload_len);
	}
}

/*
 * A TCP segment of an established flow that conntrack calls valid (its
 * tcp_valid_flags with ECE, CWR and PSH masked): ACK, optionally URG.
 * SYN, FIN and RST are control, which conntrack must see; anything else is
 * invalid, which the firewall drops. Also invalid: a data offset below 5 or
 * a header reaching past the IP packet.
 */
static __always_inline int fp_tcp_check(const struct tcphdr *th, __u32 off, __u32 ip_end)
{
	__u8 flags = ((const __u8 *)th)[13];
	__u8 doff = ((const __u8 *)th)[12] >> 4;

	if (flags & (FP_TCP_FLAG_FIN | FP_TCP_FLAG_SYN | FP_TCP_FLAG_RST))
		return FP_PASS_TCP_CONTROL;
	if ((flags & ~(FP_TCP_FLAG_PSH | FP_TCP_FLAG_ECE | FP_TCP_FLAG_CWR | FP_TCP_FLAG_URG)) != FP_TCP_FLAG_ACK)
		return FP_PASS_MALFORMED;
	if (doff < 5 || off + (__u32)doff * 4 > ip_end)
		return FP_PASS_MALFORMED;
	return FP_OK;
}

/* A UDP header conntrack calls valid: inside the IP packet, its length
 * covering the header and no more than the IP payload. */
static __always_inline int fp_udp_check(const struct udphdr *uh, __u32 off, __u32 ip_end)
{
	__u32 len = bpf_ntohs(uh->len);

	if (off + sizeof(*uh) > ip_end || len < sizeof(*uh) || off + len > ip_end)
		return FP_PASS_MALFORMED;
	return FP_OK;
}

/*
 * Builds the fp_flows key of a TCP or UDP packet. Returns FP_OK, or
 * FP_PASS_NOT_OFFLOADED (other protocols: ICMP errors and the like are the
 * kernel's), FP_PASS_TCP_CONTROL (SYN/FIN/RST: conntrack must see them),
 * FP_PASS_MALFORMED (L4 header cut short or invalid to conntrack).
 */
static __always_inline int fp_flow_key_of(void *data, void *data_end, const struct fp_pkt *p,
					  __u32 ifindex, struct fp_flow_key *key, struct fp_l4 *l4)
{
	__u32 ip_end = fp_ip_end(data, data_end, p);
	int reason;
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
		reason = fp_tcp_check(th, off, ip_end);
		if (reason != FP_OK)
			return reason;
		key->sport = th->source;
		key->dport = th->dest;
		l4->csum_off = off + 16;
	} else if (proto == IPPROTO_UDP) {
		struct udphdr *uh = data + off;

		if ((void *)(uh + 1) > data_end)
			return FP_PASS_MALFORMED;
		reason = fp_udp_check(uh, off, ip_end);
		if (reason != FP_OK)
			return reason;
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

/* ---- NAT: fields rewritten in place, RFC 1624 one's complement arithmetic ---- */

/* HC' = ~(~HC + diff), diff being what the covered data gained (a sum of
 * ~old + new words). All values are raw memory words, so the byte order
 * does not matter. */
static __always_inline __u16 fp_csum_apply(__u16 csum, __u32 diff)
{
	return ~fp_csum_fold(fp_csum_fold32((__u64)(__u16)~csum + diff));
}

/* Replaces a 16-byte (IPv6) or 4-byte (IPv4) address at `field`, updating
 * the IPv4 header checksum (l3csum, 0 for IPv6); returns the difference
 * for the L4 checksum (pseudo header). */
static __always_inline __u32 fp_nat_replace_addr(__u32 *field, const __u8 *mapped, __u32 family, __u16 *l3csum)
{
	const __u32 *to = (const __u32 *)(mapped + (family == FP_AF_INET ? 12 : 0));
	__u64 diff = 0;

	/* Written out, not a loop: clang 16 refuses to unroll one here. */
	diff += (__u64)(__u32)~field[0] + to[0];
	field[0] = to[0];
	if (family != FP_AF_INET) {
		diff += (__u64)(__u32)~field[1] + to[1] + (__u32)~field[2] + to[2] + (__u32)~field[3] + to[3];
		field[1] = to[1];
		field[2] = to[2];
		field[3] = to[3];
	}
	if (l3csum)
		*l3csum = fp_csum_apply(*l3csum, fp_csum_fold32(diff));
	return fp_csum_fold32(diff);
}

/* What a NAT rewrite changed under the L4 checksum: the addresses (pseudo
 * header) and the ports (payload), as one's complement differences. */
struct fp_nat_diff {
	__u32 addrs;
	__u32 ports;
	int ports_changed; /* masquerade mostly keeps the port */
};

/*
 * Applies the flow's NAT to the packet in place: addresses, ports and the
 * IPv4 header checksum. The L4 checksum is left to the caller (XDP and TC
 * finish it differently), with the differences in *d. Offsets were checked
 * by fp_flow_key_of; they are re-checked here for the verifier.
 */
static __always_inline int fp_nat_rewrite(void *data, void *data_end, const struct fp_pkt *p,
					  const struct fp_l4 *l4, const struct fp_flow *flow, struct fp_nat_diff *d)
{
	__u16 *l3csum = 0;
	__u32 *saddr, *daddr;
	__be16 *sport, *dport;
	__u64 addrs = 0, ports = 0;

	d->ports_changed = 0;
	if (l4->off > 128)
		return -1;
	sport = data + l4->off;
	dport = data + l4->off + 2;
	if ((void *)(sport + 2) > data_end)
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
		addrs += fp_nat_replace_addr(saddr, flow->nat_src, p->family, l3csum);
		if (*sport != flow->nat_sport) {
			ports += (__u16)~*sport + (__u32)flow->nat_sport;
			d->ports_changed = 1;
		}
		*sport = flow->nat_sport;
	}
	if (flow->flags & FP_FLOW_DNAT) {
		addrs += fp_nat_replace_addr(daddr, flow->nat_dst, p->family, l3csum);
		if (*dport != flow->nat_dport) {
			ports += (__u16)~*dport + (__u32)flow->nat_dport;
			d->ports_changed = 1;
		}
		*dport = flow->nat_dport;
	}
	d->addrs = fp_csum_fold32(addrs);
	d->ports = fp_csum_fold32(ports);
	return 0;
}

static __always_inline int fp_flow_translates(const struct fp_flow *flow)
{
	return flow->flags & (FP_FLOW_SNAT | FP_FLOW_DNAT);
}

/* XDP: the L4 checksum updated in place as well. */
static __always_inline int fp_xdp_nat(void *data, void *data_end, const struct fp_pkt *p,
				      const struct fp_l4 *l4, const struct fp_flow *flow)
{
	int udp = l4->proto == IPPROTO_UDP;
	struct fp_nat_diff d;
	__u16 *l4csum;

	if (!fp_flow_translates(flow))
		return 0;
	if (fp_nat_rewrite(data, data_end, p, l4, flow, &d) || l4->csum_off > 160)
		return -1;
	l4csum = data + l4->csum_off;
	if ((void *)(l4csum + 1) > data_end)
		return -1;
	/* an IPv4 UDP checksum of 0 means "none" and stays 0 */
	if (udp && p->family == FP_AF_INET && *l4csum == 0)
		return 0;
	*l4csum = fp_csum_apply(*l4csum, fp_csum_fold32((__u64)d.addrs + d.ports));
	/* a computed UDP checksum of 0 is sent as 0xffff (0 means "none") */
	if (udp && *l4csum == 0)
		*l4csum = 0xffff;
	return 0;
}

/*
 * TC: the L4 checksum through bpf_l4_csum_replace by difference, which
 * also keeps CHECKSUM_PARTIAL skbs (GRO: the field holds the pseudo-header
 * sum) and skb->csum of CHECKSUM_COMPLETE ones right, and with
 * BPF_F_MARK_MANGLED_0 leaves an IPv4 UDP checksum of 0 alone and sends a
 * computed 0 as 0xffff. One call for the addresses (pseudo header), one
 * more only if a port changed (payload). The in-place writes need a
 * writable linear area: a TC program that writes packet data directly has
 * the kernel unclone the skb first.
 */
static __always_inline int fp_tc_nat(struct __sk_buff *skb, const struct fp_pkt *p, const struct fp_l4 *l4,
				     const struct fp_flow *flow)
{
	__u64 l4flags = l4->proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;
	struct fp_nat_diff d;

	if (!fp_flow_translates(flow))
		return 0;
	if (fp_nat_rewrite((void *)(long)skb->data, (void *)(long)skb->data_end, p, l4, flow, &d))
		return -1;
	/* packet pointers are stale after the helper: nothing is read below */
	if (bpf_l4_csum_replace(skb, l4->csum_off, 0, d.addrs, l4flags | BPF_F_PSEUDO_HDR))
		return -1;
	if (d.ports_changed && bpf_l4_csum_replace(skb, l4->csum_off, 0, d.ports, l4flags))
		return -1;
	return 0;
}

#endif /* FP_FLOW_H */
