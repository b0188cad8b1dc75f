/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * fp_packet.h - header parsing and rewriting shared by the XDP and the TC
 * program. Everything works on plain data/data_end pointers, so the same
 * code serves xdp_md and __sk_buff (direct packet access).
 */
#ifndef FP_PACKET_H
#define FP_PACKET_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "fastpath.h"

#define FP_AF_INET  2
#define FP_AF_INET6 10
#define FP_OK       (-1) /* "no pass reason": the packet may be forwarded */

#define FP_IP_MF     0x2000
#define FP_IP_OFFSET 0x1fff

/* 802.1Q/802.1ad tag as it follows the MAC addresses (not in the UAPI). */
struct fp_vlan_hdr {
	__be16 tci;
	__be16 encapsulated_proto;
};

/* What the parser learnt about a frame. Offsets are from the frame start. */
struct fp_pkt {
	__u32 l3_off;      /* IPv4/IPv6 header */
	__u32 family;      /* FP_AF_INET or FP_AF_INET6 */
	__be16 l3_proto;   /* ETH_P_IP or ETH_P_IPV6, network order */
	__be16 vlan_proto; /* 0 when the frame carries no tag */
	__u16 vid;
	__u16 pad;
};

static __always_inline int fp_is_vlan_proto(__be16 proto)
{
	return proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD);
}

/* Ethernet plus at most one tag. Returns FP_OK or a pass reason. The
 * caller zeroes *p, or sets vlan_proto/vid for a tag the kernel already
 * took out of the frame (TC, skb->vlan_present). */
static __always_inline int fp_parse_l2(void *data, void *data_end, struct fp_pkt *p)
{
	struct ethhdr *eth = data;
	__be16 proto;
	__u32 off = sizeof(*eth);

	if ((void *)(eth + 1) > data_end)
		return FP_PASS_MALFORMED;
	proto = eth->h_proto;
	if (fp_is_vlan_proto(proto)) {
		struct fp_vlan_hdr *vh = (void *)(eth + 1);

		if ((void *)(vh + 1) > data_end)
			return FP_PASS_MALFORMED;
		if (p->vlan_proto)
			return FP_PASS_NOT_IP; /* a second tag (the first one out of band): QinQ */
		p->vlan_proto = proto;
		p->vid = bpf_ntohs(vh->tci) & 0x0fff;
		proto = vh->encapsulated_proto;
		off += sizeof(*vh);
	}
	if (proto == bpf_htons(ETH_P_IP))
		p->family = FP_AF_INET;
	else if (proto == bpf_htons(ETH_P_IPV6))
		p->family = FP_AF_INET6;
	else
		return FP_PASS_NOT_IP;   /* includes a second (QinQ) tag */
	if (eth->h_dest[0] & 1)
		return FP_PASS_MULTICAST; /* broadcast or multicast MAC */
	p->l3_proto = proto;
	p->l3_off = off;
	return FP_OK;
}

/* Folds a sum of 32-bit one's complement values down to 32 bits. */
static __always_inline __u32 fp_csum_fold32(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	return (__u32)sum;
}

static __always_inline __u16 fp_csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* RFC 1071 check of a 20-byte IPv4 header: the kernel drops bad ones.
 * One's complement sums fold, so five 32-bit words summed in 64 bits and
 * folded down give the sum of the ten 16-bit words (half the loads). */
static __always_inline int fp_ipv4_csum_ok(const struct iphdr *iph)
{
	const __u32 *w = (const __u32 *)iph;
	__u64 sum = (__u64)w[0] + w[1] + w[2] + w[3] + w[4];

	return fp_csum_fold(fp_csum_fold32(sum)) == 0xffff;
}

static __always_inline int fp_ipv4_is(__be32 addr, __u32 net, __u32 mask)
{
	return (bpf_ntohl(addr) & mask) == net;
}

/* Bytes after the IP packet beyond what Ethernet pads a short frame to
 * (60 bytes, 64 tagged): the kernel trims them before it forwards, the
 * fast path would send them on. */
static __always_inline int fp_frame_has_trailer(__u32 frame_len, __u32 ip_end)
{
	return frame_len > ip_end && frame_len > 64;
}

/* IPv4 checks in the order the kernel would reject or divert the packet.
 * `frame_len`: the whole frame's length, which for an skb (TC) includes
 * paged data beyond data_end (a GRO aggregate keeps its payload there). */
static __always_inline int fp_check_ipv4(void *data, void *data_end, __u32 frame_len, const struct fp_pkt *p)
{
	struct iphdr *iph = data + p->l3_off;
	__u32 tot_len;

	if ((void *)(iph + 1) > data_end)
		return FP_PASS_MALFORMED;
	if (iph->version != 4 || iph->ihl < 5)
		return FP_PASS_MALFORMED;
	tot_len = bpf_ntohs(iph->tot_len);
	if (tot_len < (__u32)iph->ihl * 4 || p->l3_off + tot_len > frame_len)
		return FP_PASS_MALFORMED;
	if (fp_frame_has_trailer(frame_len, p->l3_off + tot_len))
		return FP_PASS_MALFORMED;
	if (iph->ihl != 5)
		return FP_PASS_IP_OPTIONS;
	if (!fp_ipv4_csum_ok(iph))
		return FP_PASS_MALFORMED;
	if (iph->frag_off & bpf_htons(FP_IP_MF | FP_IP_OFFSET))
		return FP_PASS_FRAGMENT;
	if (fp_ipv4_is(iph->daddr, 0xe0000000, 0xf0000000) ||  /* 224/4 */
	    iph->daddr == 0xffffffff ||                        /* limited broadcast */
	    fp_ipv4_is(iph->daddr, 0xa9fe0000, 0xffff0000))    /* 169.254/16 */
		return FP_PASS_MULTICAST;
	if (fp_ipv4_is(iph->saddr, 0xe0000000, 0xf0000000) || iph->saddr == 0xffffffff ||
	    fp_ipv4_is(iph->saddr, 0x00000000, 0xff000000) ||  /* 0/8 */
	    fp_ipv4_is(iph->saddr, 0x7f000000, 0xff000000) ||  /* 127/8 */
	    fp_ipv4_is(iph->daddr, 0x00000000, 0xff000000) ||
	    fp_ipv4_is(iph->daddr, 0x7f000000, 0xff000000))
		return FP_PASS_MARTIAN;
	if (iph->ttl <= 1)
		return FP_PASS_TTL;
	return FP_OK;
}

static __always_inline int fp_ipv6_is_exthdr(__u8 nexthdr)
{
	switch (nexthdr) {
	case 0:   /* hop-by-hop */
	case 43:  /* routing */
	case 50:  /* ESP: may hide anything, let the kernel decide */
	case 51:  /* AH */
	case 60:  /* destination options */
	case 135: /* mobility */
	case 139: /* HIP */
	case 140: /* shim6 */
	case 253:
	case 254: /* experiments */
		return 1;
	}
	return 0;
}

static __always_inline int fp_check_ipv6(void *data, void *data_end, __u32 frame_len, const struct fp_pkt *p)
{
	struct ipv6hdr *ip6h = data + p->l3_off;
	__u32 first_dst, first_src;

	if ((void *)(ip6h + 1) > data_end)
		return FP_PASS_MALFORMED;
	if (ip6h->version != 6)
		return FP_PASS_MALFORMED;
	if (p->l3_off + sizeof(*ip6h) + bpf_ntohs(ip6h->payload_len) > frame_len)
		return FP_PASS_MALFORMED;
	if (fp_frame_has_trailer(frame_len, p->l3_off + sizeof(*ip6h) + bpf_ntohs(ip6h->payload_len)))
		return FP_PASS_MALFORMED;
	if (ip6h->nexthdr == 44)
		return FP_PASS_FRAGMENT;
	if (fp_ipv6_is_exthdr(ip6h->nexthdr))
		return FP_PASS_IPV6_EXTHDR;
	first_dst = bpf_ntohl(ip6h->daddr.in6_u.u6_addr32[0]);
	first_src = bpf_ntohl(ip6h->saddr.in6_u.u6_addr32[0]);
	if ((first_dst >> 24) == 0xff ||                 /* ff00::/8 multicast */
	    (first_dst & 0xffc00000) == 0xfe800000)      /* fe80::/10 link-local */
		return FP_PASS_MULTICAST;
	if ((first_src >> 24) == 0xff || (first_src & 0xffc00000) == 0xfe800000)
		return FP_PASS_MARTIAN;
	/* :: and ::1 as source or destination (the first 96 bits are zero) */
	if (first_src == 0 && ip6h->saddr.in6_u.u6_addr32[1] == 0 &&
	    ip6h->saddr.in6_u.u6_addr32[2] == 0 &&
	    (bpf_ntohl(ip6h->saddr.in6_u.u6_addr32[3]) <= 1))
		return FP_PASS_MARTIAN;
	if (first_dst == 0 && ip6h->daddr.in6_u.u6_addr32[1] == 0 &&
	    ip6h->daddr.in6_u.u6_addr32[2] == 0 &&
	    (bpf_ntohl(ip6h->daddr.in6_u.u6_addr32[3]) <= 1))
		return FP_PASS_MARTIAN;
	if (ip6h->hop_limit <= 1)
		return FP_PASS_TTL;
	return FP_OK;
}

/* Egress: an IPv4 header without options or fragmentation, or an IPv6
 * header, within the linear area; the payload is not looked at (a GSO skb
 * carries many segments, a paged one keeps them out of the linear area). */
static __always_inline int fp_headers_unfragmented(void *data, void *data_end, const struct fp_pkt *p)
{
	if (p->family == FP_AF_INET) {
		struct iphdr *iph = data + p->l3_off;

		if ((void *)(iph + 1) > data_end)
			return 0;
		return iph->version == 4 && iph->ihl == 5 && !(iph->frag_off & bpf_htons(FP_IP_MF | FP_IP_OFFSET));
	} else {
		struct ipv6hdr *ip6h = data + p->l3_off;

		return (void *)(ip6h + 1) <= data_end && ip6h->version == 6;
	}
}

static __always_inline int fp_check_l3(void *data, void *data_end, __u32 frame_len, const struct fp_pkt *p)
{
	if (p->family == FP_AF_INET)
		return fp_check_ipv4(data, data_end, frame_len, p);
	return fp_check_ipv6(data, data_end, frame_len, p);
}

/* TTL or hop limit minus one; IPv4 checksum updated as ip_decrease_ttl does. */
static __always_inline int fp_decrement_ttl(void *data, void *data_end, const struct fp_pkt *p)
{
	if (p->family == FP_AF_INET) {
		struct iphdr *iph = data + p->l3_off;
		__u32 check;

		if ((void *)(iph + 1) > data_end)
			return -1;
		check = (__u32)iph->check + (__u32)bpf_htons(0x0100);
		iph->check = (__sum16)(check + (check >= 0xffff));
		iph->ttl--;
	} else {
		struct ipv6hdr *ip6h = data + p->l3_off;

		if ((void *)(ip6h + 1) > data_end)
			return -1;
		ip6h->hop_limit--;
	}
	return 0;
}

/* Writes an untagged Ethernet header at data (the caller removed any tag). */
static __always_inline int fp_write_eth(void *data, void *data_end, const __u8 *dmac,
					const __u8 *smac, __be16 proto)
{
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return -1;
	__builtin_memcpy(eth->h_dest, dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, smac, ETH_ALEN);
	eth->h_proto = proto;
	return 0;
}

#endif /* FP_PACKET_H */
