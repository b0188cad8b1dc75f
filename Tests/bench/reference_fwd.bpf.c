// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * reference_fwd.bpf.c - a minimal XDP fib forwarder, written for comparison
 * only: `make bench` measures fastpath against it. It is NOT a router and
 * must never be attached to a real one:
 *   - no validation beyond what the lookup needs (no IPv4 checksum check, no
 *     options/fragment/martian/multicast checks, no own-MAC check, no VLANs);
 *   - no firewall policy: it forwards whatever the FIB routes;
 *   - no counters.
 * It does the least work a fib forwarder can do: parse Ethernet + IPv4/IPv6,
 * bpf_fib_lookup, TTL/hop limit minus one, MACs, redirect. It egresses
 * through a devmap (ref_devmap, DEVMAP_HASH keyed by ifindex) like fastpath
 * does, so the ratio fastpath/reference measures the per-packet logic and
 * not the egress mechanism. A lookup that does not succeed, or an egress
 * not in the devmap, is XDP_PASS with the frame untouched.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bench.h"

#define REF_AF_INET  2
#define REF_AF_INET6 10

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32); /* egress ifindex (struct bpf_devmap_val's first field) */
} ref_devmap SEC(".maps");

SEC("xdp")
int reference_fwd(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct bpf_fib_lookup fib = {};
	struct ipv6hdr *ip6h = 0;
	struct iphdr *iph = 0;
	long action;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		iph = (void *)(eth + 1);
		if ((void *)(iph + 1) > data_end || iph->ttl <= 1)
			return XDP_PASS;
		fib.family = REF_AF_INET;
		fib.tos = iph->tos;
		fib.l4_protocol = iph->protocol;
		fib.tot_len = bpf_ntohs(iph->tot_len);
		fib.ipv4_src = iph->saddr;
		fib.ipv4_dst = iph->daddr;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		ip6h = (void *)(eth + 1);
		if ((void *)(ip6h + 1) > data_end || ip6h->hop_limit <= 1)
			return XDP_PASS;
		fib.family = REF_AF_INET6;
		fib.flowinfo = *(__be32 *)ip6h & bpf_htonl(0x0fffffff);
		fib.l4_protocol = ip6h->nexthdr;
		fib.tot_len = sizeof(*ip6h) + bpf_ntohs(ip6h->payload_len);
		__builtin_memcpy(fib.ipv6_src, &ip6h->saddr, 16);
		__builtin_memcpy(fib.ipv6_dst, &ip6h->daddr, 16);
	} else {
		return XDP_PASS;
	}
	fib.ifindex = ctx->ingress_ifindex;
	if (bpf_fib_lookup(ctx, &fib, sizeof(fib), 0) != BPF_FIB_LKUP_RET_SUCCESS)
		return XDP_PASS;

	/* The redirect takes effect only when we return: rewrite after it succeeded. */
	action = bpf_redirect_map(&ref_devmap, fib.ifindex, XDP_PASS);
	if (action != XDP_REDIRECT)
		return XDP_PASS;
	if (iph) {
		__u32 check = (__u32)iph->check + (__u32)bpf_htons(0x0100);

		iph->check = (__sum16)(check + (check >= 0xffff));
		iph->ttl--;
	} else if (ip6h) {
		ip6h->hop_limit--;
	}
	__builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);
	return action;
}
