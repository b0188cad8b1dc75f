/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * bench.h - the ABI shared by the benchmark-only BPF programs
 * (trafficgen.bpf.c, reference_fwd.bpf.c, bench_cost.bpf.c, beside it in
 * Tests/bench/) and their user side (bench.c). Nothing here is installed on
 * a router.
 *
 * Same rules as fastpath.h: fixed-width fields, no implicit padding, a
 * _Static_assert on every size.
 */
#ifndef FP_BENCH_H
#define FP_BENCH_H

#include <linux/types.h>

/* Program and map names user space looks up. */
#define TG_PROG_XMIT     "trafficgen_xmit"   /* BPF_PROG_RUN live frames: XDP_TX out of the sender */
#define TG_PROG_COUNT    "trafficgen_count"  /* attached at the receiver: count and drop */
#define TG_MAP_CONFIG    "tg_config"
#define TG_MAP_STATS     "tg_stats"
#define COST_PROG_XDP    "cost_xdp"          /* frame reset + tail call, for ns/packet */
#define COST_PROG_TC     "cost_tc"
#define COST_PROG_XDP_NOP "cost_xdp_nop"     /* tail-call target that does nothing: the baseline */
#define COST_PROG_TC_NOP "cost_tc_nop"
#define COST_MAP_FRAME   "cost_frame"
#define COST_MAP_XDP_JUMP "cost_xdp_jump"
#define COST_MAP_TC_JUMP "cost_tc_jump"
#define REF_PROG         "reference_fwd"
#define REF_MAP_DEVMAP   "ref_devmap"

/* Every generated frame is this long (no FCS): Ethernet + IPv4/IPv6 + UDP
 * + payload. The generator and the cost harness copy it whole. */
#define TG_FRAME_LEN  64
#define TG_MAX_FLOWS  64

#define TG_FAMILY_IPV4 4
#define TG_FAMILY_IPV6 6

/* tg_config: BPF_MAP_TYPE_ARRAY, one entry (key 0). User space builds the
 * frame of flow 0; flow i differs only in its UDP source port and checksum. */
struct tg_config {
	__u8  frame[TG_FRAME_LEN]; /* the template, complete with checksums */
	__u32 family;              /* TG_FAMILY_IPV4 or TG_FAMILY_IPV6 */
	__u32 nflows;              /* 1..TG_MAX_FLOWS */
	__be16 sport[TG_MAX_FLOWS]; /* UDP source port of flow i, network order */
	__u16 check[TG_MAX_FLOWS];  /* UDP checksum of flow i, as stored in the frame */
	__be16 dport;              /* UDP destination port: what the receiver counts */
	__u16 pad;
	__u32 pad2;
};
_Static_assert(sizeof(struct tg_config) == TG_FRAME_LEN + 8 + 4 * TG_MAX_FLOWS + 8, "tg_config layout");

/* tg_stats: BPF_MAP_TYPE_PERCPU_ARRAY of __u64, indexed by these. */
#define TG_STAT_SENT     0 /* frames the generator handed to XDP_TX */
#define TG_STAT_RECEIVED 1 /* matching frames counted at the receiver */
#define TG_STAT_OTHER    2 /* anything else seen at the receiver (passed) */
#define TG_STAT_COUNT    3

/* cost_frame: BPF_MAP_TYPE_ARRAY, one entry: the frame cost_xdp/cost_tc
 * restore before every run of the program under test. */
struct cost_frame {
	__u8 frame[TG_FRAME_LEN];
};
_Static_assert(sizeof(struct cost_frame) == TG_FRAME_LEN, "cost_frame layout");

#endif /* FP_BENCH_H */
