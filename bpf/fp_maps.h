/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * fp_maps.h - the data path's maps (their key and value layouts are in
 * fastpath.h), the optional capabilities the manager sets before load,
 * and what the programs read through them: the coarse clock, interface
 * entries, counters, the runtime config.
 */
#ifndef FP_MAPS_H
#define FP_MAPS_H

#include "fp_flow.h"

/* The optional capabilities this kernel has (FP_FEATURE_*), set by the
 * manager before load; a constant to the verifier. */
const volatile __u32 fp_features SEC(FP_FEATURES_SECTION) = FP_FEATURES_ALL;

static __always_inline int fp_has(__u32 feature)
{
	return (fp_features & feature) != 0;
}

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fp_config);
} fp_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FP_IFACE_INDEXED);
	__type(key, __u32);
	__type(value, struct fp_iface);
} fp_ifaces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FP_MAX_IFACES);
	__type(key, __u32);
	__type(value, struct fp_iface);
} fp_ifaces_high SEC(".maps");

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

/* The flow tables take memory as flows come (BPF_F_NO_PREALLOC): sized for
 * max_flows, a preallocated pair would hold ~5 MB of a router's RAM from
 * the start (16384 flows), idle or not. Lookups cost the same; only the
 * manager's inserts allocate. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FP_DEFAULT_MAX_FLOWS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct fp_flow_key);
	__type(value, struct fp_flow);
} fp_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FP_DEFAULT_MAX_FLOWS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct fp_flow_key);
	__type(value, struct fp_recheck);
} fp_rechecks SEC(".maps");

/* The coarse clock as this CPU last read it, and the tick it was read in. */
struct fp_tick_clock {
	__u64 jiffies;
	__u64 ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fp_tick_clock);
} fp_clock SEC(".maps");

/* ---- clock ------------------------------------------------------------- */

/*
 * bpf_ktime_get_coarse_ns (CLOCK_MONOTONIC_COARSE: the daemon's heartbeat
 * clock), read at most once per tick on each CPU. The coarse clock only
 * moves at ticks anyway, and the helper costs ~20 ns (a timespec
 * conversion) where bpf_jiffies64 is a single load.
 */
static __always_inline __u64 fp_now(void)
{
	struct fp_tick_clock *c;
	__u32 key = 0;
	__u64 tick;

	/* Without the coarse helpers: CLOCK_MONOTONIC, at most a tick ahead
	 * of the coarse clock the manager stamps. */
	if (!fp_has(FP_FEATURE_COARSE_CLOCK))
		return bpf_ktime_get_ns();
	tick = bpf_jiffies64();
	c = bpf_map_lookup_elem(&fp_clock, &key);
	if (!c)
		return bpf_ktime_get_coarse_ns();
	if (c->jiffies != tick) {
		c->jiffies = tick;
		c->ns = bpf_ktime_get_coarse_ns();
	}
	return c->ns;
}

/* ---- interfaces -------------------------------------------------------- */

/* The manager's entry for an ingress interface, or 0. */
static __always_inline struct fp_iface *fp_iface_of(__u32 ifindex)
{
	struct fp_iface *iface;

	if (ifindex < FP_IFACE_INDEXED) {
		iface = bpf_map_lookup_elem(&fp_ifaces, &ifindex);
		return iface && iface->slot ? iface : 0;
	}
	return bpf_map_lookup_elem(&fp_ifaces_high, &ifindex);
}

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

static __always_inline struct fp_config *fp_config_get(void)
{
	__u32 key = 0;

	return bpf_map_lookup_elem(&fp_config, &key);
}

#endif /* FP_MAPS_H */
