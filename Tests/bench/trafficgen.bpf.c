// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * trafficgen.bpf.c - benchmark traffic: a packet generator and a receiver
 * counter. Benchmark only (make bench); not part of the router's data path.
 *
 * trafficgen_xmit runs under BPF_PROG_RUN with BPF_F_TEST_XDP_LIVE_FRAMES
 * as if received on the sender's veth, and returns XDP_TX: the kernel sends
 * each frame out of that veth to its peer (the router). One long call with a
 * huge repeat count, stopped by a signal, generates millions of frames per
 * second on one CPU. The kernel recycles the frame pages without restoring
 * their contents, so every run writes the whole frame again from tg_config;
 * flow i (of nflows) differs in its UDP source port and checksum.
 *
 * trafficgen_count is attached (natively) to the receiver's interface: it
 * counts the benchmark's UDP frames and drops them, so the count is what
 * arrived, whatever the router decided. Everything else is passed.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bench.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tg_config);
} tg_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TG_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} tg_stats SEC(".maps");

#define TG_V4_UDP_OFF (sizeof(struct ethhdr) + sizeof(struct iphdr))
#define TG_V6_UDP_OFF (sizeof(struct ethhdr) + sizeof(struct ipv6hdr))

static __always_inline __u64 *tg_stat(__u32 index)
{
	return bpf_map_lookup_elem(&tg_stats, &index);
}

/* 64 bytes as eight 8-byte words: the verifier knows both ends are in
 * bounds; byte copies would be 64 loads and 64 stores. */
static __always_inline void tg_copy_frame(void *dst, const void *src)
{
	__u64 *d = dst;
	const __u64 *s = src;

#pragma unroll
	for (int i = 0; i < TG_FRAME_LEN / 8; i++)
		d[i] = s[i];
}

SEC("xdp")
int trafficgen_xmit(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct tg_config *cfg;
	struct udphdr *udp;
	__u64 *sent, flow;
	__u32 key = 0;

	cfg = bpf_map_lookup_elem(&tg_config, &key);
	sent = tg_stat(TG_STAT_SENT);
	if (!cfg || !sent || cfg->nflows == 0 || data + TG_FRAME_LEN > data_end)
		return XDP_ABORTED;

	flow = *sent % cfg->nflows;
	if (flow >= TG_MAX_FLOWS)
		return XDP_ABORTED;
	tg_copy_frame(data, cfg->frame);
	if (cfg->family == TG_FAMILY_IPV4)
		udp = data + TG_V4_UDP_OFF;
	else
		udp = data + TG_V6_UDP_OFF;
	if ((void *)(udp + 1) > data_end)
		return XDP_ABORTED;
	udp->source = cfg->sport[flow];
	udp->check = cfg->check[flow];
	*sent += 1;
	return XDP_TX;
}

/* The UDP header of an untagged IPv4 (no options) or IPv6 (no extension
 * headers) frame, or 0. */
static __always_inline struct udphdr *tg_udp_of(void *data, void *data_end)
{
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return 0;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = (void *)(eth + 1);

		if ((void *)(iph + 1) > data_end || iph->ihl != 5 || iph->protocol != IPPROTO_UDP)
			return 0;
		return (void *)(iph + 1);
	}
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6h = (void *)(eth + 1);

		if ((void *)(ip6h + 1) > data_end || ip6h->nexthdr != IPPROTO_UDP)
			return 0;
		return (void *)(ip6h + 1);
	}
	return 0;
}

SEC("xdp")
int trafficgen_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct udphdr *udp = tg_udp_of(data, data_end);
	struct tg_config *cfg;
	__u32 key = 0;
	__u64 *n;

	cfg = bpf_map_lookup_elem(&tg_config, &key);
	if (cfg && udp && (void *)(udp + 1) <= data_end && udp->dest == cfg->dport) {
		n = tg_stat(TG_STAT_RECEIVED);
		if (n)
			*n += 1;
		return XDP_DROP;
	}
	n = tg_stat(TG_STAT_OTHER);
	if (n)
		*n += 1;
	return XDP_PASS;
}
