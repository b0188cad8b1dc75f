// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * bench_cost.bpf.c - the harness for ns/packet figures. Benchmark only.
 *
 * BPF_PROG_TEST_RUN with `repeat` runs a program again and again on one
 * buffer, so a forwarding program that decrements the TTL and rewrites the
 * MACs would, after a few runs, measure its own "TTL expired" or "not my
 * MAC" branch instead. cost_xdp/cost_tc restore the frame from cost_frame
 * before every run and then tail-call the program under test (slot 0 of
 * cost_xdp_jump/cost_tc_jump). The same harness around cost_*_nop (which
 * returns at once) is the baseline user space subtracts.
 *
 * A failed tail call returns a value no program under test returns
 * (XDP_ABORTED; TC_ACT_UNSPEC), so user space notices.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "bench.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cost_frame);
} cost_frame SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cost_xdp_jump SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cost_tc_jump SEC(".maps");

/* Copies the saved frame over the packet; -1 if the packet is too short. */
static __always_inline int cost_restore(void *data, void *data_end)
{
	struct cost_frame *f;
	__u32 key = 0;

	f = bpf_map_lookup_elem(&cost_frame, &key);
	if (!f || data + TG_FRAME_LEN > data_end)
		return -1;
	{
		__u64 *d = data;
		const __u64 *s = (const __u64 *)f->frame;

#pragma unroll
		for (int i = 0; i < TG_FRAME_LEN / 8; i++)
			d[i] = s[i];
	}
	return 0;
}

SEC("xdp")
int cost_xdp(struct xdp_md *ctx)
{
	if (cost_restore((void *)(long)ctx->data, (void *)(long)ctx->data_end))
		return XDP_ABORTED;
	bpf_tail_call(ctx, &cost_xdp_jump, 0);
	return XDP_ABORTED;
}

SEC("xdp")
int cost_xdp_nop(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("tc")
int cost_tc(struct __sk_buff *skb)
{
	if (cost_restore((void *)(long)skb->data, (void *)(long)skb->data_end))
		return TC_ACT_UNSPEC;
	bpf_tail_call(skb, &cost_tc_jump, 0);
	return TC_ACT_UNSPEC;
}

SEC("tc")
int cost_tc_nop(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}
