// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * bench.c - `make bench`, the data-path part: forwarding rate through the
 * namespace lab (h1 -> r -> h2) for the kernel, fastpath in each mode and
 * the reference forwarder, with and without an fw4-like ruleset on r; and
 * the cost of each program path in ns/packet.
 *
 * Run by Tests/bench/bench.sh, which builds the lab and removes it (and with
 * it everything attached here) whatever happens. This program only needs the
 * lab's namespace prefix:
 *
 *   fastpath-bench --prefix P [--bpf-dir build/bpf] [--bench-bpf-dir build/bench]
 *                  [--nft Tests/bench/fw4.nft]
 *                  [--json build/bench/results.json] [--rounds 5] [--seconds 2]
 *                  [--warmup 0.3] [--flows 16] [--cpu N] [--cost-repeat 1000000]
 *                  [--only forwarding|cost]
 *
 * How the rate is measured (docs/platform.md, "XDP and TC on veth"):
 * trafficgen_xmit runs in one long BPF_PROG_RUN (live frames, XDP_TX out of
 * h1's eth0) stopped by SIGALRM; everything the frames cause (r's receive,
 * its forwarding, h2's receive) runs in softirq on the generator's CPU, so
 * the figure is "packets per second one CPU carries end to end". Delivery
 * is counted at h2 by trafficgen_count (native XDP, count + drop). Each
 * (ruleset, mode, family) is measured in several interleaved rounds; the
 * tables show medians.
 *
 * One thread: network namespaces are entered with setns() around each
 * operation that resolves an ifindex.
 *
 * Exit status: 0 when every figure was measured, 1 when some could not be
 * (the tables say which), 2 when the bench could not start.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "fastpath.h"
#include "bench.h"

#define MAX_ROUNDS 16
#define UDP_DPORT  5555
#define UDP_SPORT0 10000

/* ---- options ------------------------------------------------------------ */

static struct {
	const char *prefix, *bpf_dir, *bench_bpf_dir, *nft, *json;
	int rounds, flows, cpu;
	double seconds, warmup;
	unsigned cost_repeat;
	int skip_forwarding, skip_cost;
} opt = {
	.bpf_dir = "build/bpf", .bench_bpf_dir = "build/bench", .nft = "Tests/bench/fw4.nft",
	.json = "build/bench/results.json",
	.rounds = 5, .flows = 16, .cpu = -1, .seconds = 2.0, .warmup = 0.3, .cost_repeat = 1000000,
};

/* ---- errors ------------------------------------------------------------- */

static char errors[64][256];
static int nerrors;
static volatile sig_atomic_t stop_requested;

static void note_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (nerrors < 64)
		vsnprintf(errors[nerrors++], sizeof(errors[0]), fmt, ap);
	va_end(ap);
	va_start(ap, fmt);
	fprintf(stderr, "bench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "bench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

/* ---- namespaces and devices ---------------------------------------------- */

enum { NS_SELF, NS_H1, NS_R, NS_H2, NS_COUNT };
static int ns_fd[NS_COUNT];

static void enter(int ns)
{
	if (setns(ns_fd[ns], CLONE_NEWNET))
		die("setns: %s", strerror(errno));
}

static int open_ns(const char *suffix)
{
	char path[256];
	int fd;

	if (!suffix)
		snprintf(path, sizeof(path), "/proc/self/ns/net");
	else
		snprintf(path, sizeof(path), "/run/netns/%s-%s", opt.prefix, suffix);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("%s: %s (is the lab up? Tests/lab/lab.sh up %s)", path, strerror(errno), opt.prefix);
	return fd;
}

struct device {
	int ns;
	const char *name;
	unsigned ifindex;
	unsigned char mac[ETH_ALEN];
};

static struct device h1_eth0 = { NS_H1, "eth0" }, r_lan0 = { NS_R, "lan0" },
		     r_wan0 = { NS_R, "wan0" }, h2_eth0 = { NS_H2, "eth0" };

static void resolve(struct device *d)
{
	struct ifreq ifr = {};
	int s;

	enter(d->ns);
	d->ifindex = if_nametoindex(d->name);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", d->name);
	if (!d->ifindex || s < 0 || ioctl(s, SIOCGIFHWADDR, &ifr))
		die("%s in %s-%d: %s", d->name, opt.prefix, d->ns, strerror(errno));
	memcpy(d->mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	close(s);
	enter(NS_SELF);
}

/* ---- BPF objects ------------------------------------------------------------ */

/* fastpath.o is the product's (make bpf: build/bpf); the others are the
 * bench's own programs, Tests/bench/NAME.bpf.c (make bench: build/bench). */
struct object {
	const char *const *dir;
	const char *file;
	struct bpf_object *obj;
};
static struct object fp = { &opt.bpf_dir, "fastpath.o" }, ref = { &opt.bench_bpf_dir, "reference_fwd.o" },
		     tg = { &opt.bench_bpf_dir, "trafficgen.o" }, cost = { &opt.bench_bpf_dir, "bench_cost.o" };

/* fastpath.o is loaded with every optional capability the kernel allows
 * (bpf/fastpath.h, fp_features), as the daemon does: on a refusal, with the
 * XDP->TC handoff off, then with every optional part off. */
static void load(struct object *o)
{
	static const __u32 fp_tries[] = { FP_FEATURES_ALL, FP_FEATURES_ALL & ~FP_FEATURE_XDP_META, 0 };
	char path[512];
	int err = 0;

	snprintf(path, sizeof(path), "%s/%s", *o->dir, o->file);
	for (size_t i = 0; i < (o == &fp ? sizeof(fp_tries) / sizeof(fp_tries[0]) : 1); i++) {
		o->obj = bpf_object__open_file(path, NULL);
		if (!o->obj)
			die("%s: %s (make bench builds it)", path, strerror(errno));
		if (o == &fp) {
			struct bpf_map *features = bpf_object__find_map_by_name(o->obj, FP_FEATURES_SECTION);

			if (!features || bpf_map__set_initial_value(features, &fp_tries[i], sizeof(fp_tries[i])))
				die("%s: no %s section (built from another fastpath.h?)", path, FP_FEATURES_SECTION);
		}
		err = bpf_object__load(o->obj);
		if (!err) {
			if (i)
				fprintf(stderr, "bench: %s loaded with optional features 0x%x of 0x%x (the kernel refuses the rest)\n",
					o->file, fp_tries[i], FP_FEATURES_ALL);
			return;
		}
		bpf_object__close(o->obj);
	}
	die("%s: load failed: %s", path, strerror(-err));
}

static int prog_fd(struct object *o, const char *name)
{
	struct bpf_program *p = bpf_object__find_program_by_name(o->obj, name);

	if (!p)
		die("%s: no program %s", o->file, name);
	return bpf_program__fd(p);
}

static int map_fd(struct object *o, const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(o->obj, name);

	if (!m)
		die("%s: no map %s", o->file, name);
	return bpf_map__fd(m);
}

static void update(int fd, const void *key, const void *value, const char *what)
{
	if (bpf_map_update_elem(fd, key, value, BPF_ANY))
		die("updating %s: %s", what, strerror(errno));
}

/* Sum over CPUs of the __u64 at `off` in a per-CPU value of `size` bytes. */
static __u64 percpu_sum(int fd, __u32 key, size_t size, size_t off)
{
	static unsigned char buf[64 * 1024];
	int ncpu = libbpf_num_possible_cpus();
	size_t stride = (size + 7) & ~(size_t)7;
	__u64 sum = 0, v;

	if (ncpu <= 0 || stride * ncpu > sizeof(buf) || bpf_map_lookup_elem(fd, &key, buf))
		die("reading a per-CPU counter: %s", strerror(errno));
	for (int i = 0; i < ncpu; i++) {
		memcpy(&v, buf + i * stride + off, sizeof(v));
		sum += v;
	}
	return sum;
}

/* ---- frames ---------------------------------------------------------------- */

static __u16 csum_fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

static __u32 csum_add(__u32 sum, const void *p, size_t len)
{
	const unsigned char *b = p;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (__u32)b[i] << 8 | b[i + 1];
	if (len & 1)
		sum += (__u32)b[len - 1] << 8;
	return sum;
}

/* A 64-byte UDP frame from h1 to h2 as r's lan0 receives it. */
static void build_frame(unsigned char *f, int family, int ttl, __u16 sport)
{
	struct ethhdr *eth = (void *)f;
	struct udphdr *udp;
	__u32 sum = 0;
	__u16 ulen, c;

	memset(f, 0, TG_FRAME_LEN);
	memcpy(eth->h_dest, r_lan0.mac, ETH_ALEN);
	memcpy(eth->h_source, h1_eth0.mac, ETH_ALEN);
	if (family == TG_FAMILY_IPV4) {
		struct iphdr *ip = (void *)(eth + 1);

		eth->h_proto = htons(ETH_P_IP);
		ip->version = 4;
		ip->ihl = 5;
		ip->tot_len = htons(TG_FRAME_LEN - sizeof(*eth));
		ip->ttl = ttl;
		ip->protocol = IPPROTO_UDP;
		inet_pton(AF_INET, "192.0.2.1", &ip->saddr);
		inet_pton(AF_INET, "198.51.100.2", &ip->daddr);
		ip->check = htons(csum_fold(csum_add(0, ip, sizeof(*ip))));
		udp = (void *)(ip + 1);
		ulen = TG_FRAME_LEN - sizeof(*eth) - sizeof(*ip);
		sum = csum_add(sum, &ip->saddr, 8);
	} else {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		eth->h_proto = htons(ETH_P_IPV6);
		ip6->version = 6;
		ip6->payload_len = htons(TG_FRAME_LEN - sizeof(*eth) - sizeof(*ip6));
		ip6->nexthdr = IPPROTO_UDP;
		ip6->hop_limit = ttl;
		inet_pton(AF_INET6, "2001:db8:1::1", &ip6->saddr);
		inet_pton(AF_INET6, "2001:db8:2::2", &ip6->daddr);
		udp = (void *)(ip6 + 1);
		ulen = TG_FRAME_LEN - sizeof(*eth) - sizeof(*ip6);
		sum = csum_add(sum, &ip6->saddr, 32);
	}
	udp->source = htons(sport);
	udp->dest = htons(UDP_DPORT);
	udp->len = htons(ulen);
	sum += IPPROTO_UDP + ulen;
	c = csum_fold(csum_add(sum, udp, ulen));
	udp->check = htons(c ? c : 0xffff);
}

/* ---- the generator -------------------------------------------------------------- */

static int tg_xmit, tg_count, tg_cfg_fd, tg_stats_fd;

static void set_traffic(int family)
{
	struct tg_config cfg = {};
	unsigned char f[TG_FRAME_LEN];
	__u32 key = 0;

	build_frame(cfg.frame, family, 64, UDP_SPORT0);
	cfg.family = family;
	cfg.nflows = opt.flows;
	cfg.dport = htons(UDP_DPORT);
	for (int i = 0; i < opt.flows; i++) {
		struct udphdr *udp;

		build_frame(f, family, 64, UDP_SPORT0 + i);
		udp = (void *)(f + TG_FRAME_LEN - (family == TG_FAMILY_IPV4 ? 30 : 10));
		cfg.sport[i] = udp->source;
		cfg.check[i] = udp->check;
	}
	update(tg_cfg_fd, &key, &cfg, TG_MAP_CONFIG);
}

static void on_alarm(int sig) { (void)sig; }
static void on_stop(int sig) { (void)sig; stop_requested = 1; }

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct sample {
	double seconds;
	__u64 sent, delivered, fast;   /* fast: forwarded by fastpath (fp_stats of lan0) */
};

static int fp_stats_fd;

static __u64 fastpath_forwarded(void)
{
	return percpu_sum(fp_stats_fd, 1, sizeof(struct fp_stats),
			  offsetof(struct fp_stats, forwarded_packets));
}

/* One long BPF_PROG_RUN of the generator, stopped after `seconds`. */
static int generate(double seconds, struct sample *s)
{
	unsigned char frame[TG_FRAME_LEN] = {};
	struct xdp_md md = { .data = 0, .data_end = TG_FRAME_LEN, .ingress_ifindex = h1_eth0.ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = sizeof(frame),
		    .ctx_in = &md, .ctx_size_in = sizeof(md), .repeat = 1u << 31,
		    .flags = BPF_F_TEST_XDP_LIVE_FRAMES);
	struct itimerval it = {}, off = {};
	__u64 sent0, recv0, fast0;
	double t0;
	int err;

	sent0 = percpu_sum(tg_stats_fd, TG_STAT_SENT, 8, 0);
	recv0 = percpu_sum(tg_stats_fd, TG_STAT_RECEIVED, 8, 0);
	fast0 = fastpath_forwarded();
	it.it_value.tv_sec = (time_t)seconds;
	it.it_value.tv_usec = (suseconds_t)((seconds - (time_t)seconds) * 1e6);
	enter(NS_H1);
	t0 = now();
	setitimer(ITIMER_REAL, &it, NULL);
	err = bpf_prog_test_run_opts(tg_xmit, &o);
	s->seconds = now() - t0;
	setitimer(ITIMER_REAL, &off, NULL);
	enter(NS_SELF);
	if (err && err != -EINTR) {
		note_error("generator (BPF_PROG_RUN live frames): %s", strerror(-err));
		return -1;
	}
	usleep(20000); /* frames still queued in the veth rings */
	s->sent = percpu_sum(tg_stats_fd, TG_STAT_SENT, 8, 0) - sent0;
	s->delivered = percpu_sum(tg_stats_fd, TG_STAT_RECEIVED, 8, 0) - recv0;
	s->fast = fastpath_forwarded() - fast0;
	return 0;
}

/* ---- modes: what r runs ------------------------------------------------------ */

/*
 * The *_CT modes run fastpath in policy conntrack: lan0 and wan0 carry
 * FP_IFACE_POLICY_CONNTRACK, the generator's flows are in fp_flows (written
 * directly by this program, see install_flows: IPv4 with a masquerade-like
 * SNAT to r's wan address, IPv6 without NAT) and the heartbeat is fresh, so
 * every frame takes the flow-hit path with its next-hop cache.
 */
enum mode { M_KERNEL, M_XDP_NATIVE, M_XDP_GENERIC, M_TC, M_XDP_NATIVE_CT, M_XDP_GENERIC_CT, M_TC_CT,
	    M_REFERENCE, M_COUNT };
static const char *mode_name[M_COUNT] = { "kernel", "xdp-native", "xdp-generic", "tc", "xdp-native",
					  "xdp-generic", "tc", "reference" };
/* results.json keys */
static const char *mode_key[M_COUNT] = { "kernel", "xdp-native", "xdp-generic", "tc", "xdp-native-conntrack",
					 "xdp-generic-conntrack", "tc-conntrack", "reference" };
static const char *mode_policy[M_COUNT] = { "-", "routing", "routing", "routing", "conntrack", "conntrack",
					    "conntrack", "-" };
static int fp_xdp, fp_tc, fp_egress, ref_fwd;

static int is_conntrack(enum mode m)
{
	return m == M_XDP_NATIVE_CT || m == M_XDP_GENERIC_CT || m == M_TC_CT;
}

static int is_fastpath(enum mode m)
{
	return m != M_KERNEL && m != M_REFERENCE;
}

static int xdp_attach(unsigned ifindex, int fd, __u32 flags, const char *what)
{
	int err = bpf_xdp_attach(ifindex, fd, flags, NULL);

	if (err)
		note_error("%s: attaching XDP to ifindex %u: %s", what, ifindex, strerror(-err));
	return err;
}

static int tc_attach(unsigned ifindex, int fd, enum bpf_tc_attach_point point)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
	LIBBPF_OPTS(bpf_tc_opts, o, .prog_fd = fd);
	int err = bpf_tc_hook_create(&hook);

	if (err && err != -EEXIST) {
		note_error("tc: clsact on ifindex %u: %s", ifindex, strerror(-err));
		return err;
	}
	err = bpf_tc_attach(&hook, &o);
	if (err)
		note_error("tc: attaching to ifindex %u: %s", ifindex, strerror(-err));
	return err;
}

/* ---- fastpath's maps: interfaces, policy, heartbeat, flows ------------------------ */

static int fp_cfg_fd, fp_ifaces_fd, fp_flows_fd;
static int nflows_installed; /* by install_flows, -1 when it failed */
static __u64 valve_ns = 600ull * 1000000000ull; /* 10 minutes: longer than the bench */

/* What the manager's heartbeat does: stamp fp_config.heartbeat_ns with
 * CLOCK_MONOTONIC (what bpf_ktime_get_coarse_ns reads) so the valve stays
 * shut. Policy routing ignores it. */
static void stamp_heartbeat(void)
{
	struct fp_config config = { .flags = FP_CONFIG_IPV4 | FP_CONFIG_IPV6, .fib_gen = 1,
				    .valve_ns = valve_ns };
	struct timespec ts;
	__u32 key = 0;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	config.heartbeat_ns = (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
	update(fp_cfg_fd, &key, &config, FP_MAP_CONFIG);
}

/* lan0 and wan0 in policy routing or policy conntrack (wan0 marked wan). */
static void set_policy(int conntrack)
{
	struct device *devs[2] = { &r_lan0, &r_wan0 };

	for (int i = 0; i < 2; i++) {
		struct fp_iface iface = { .slot = i + 1 };
		__u32 idx = devs[i]->ifindex;

		iface.flags = conntrack ? FP_IFACE_POLICY_CONNTRACK | (i ? FP_IFACE_WAN : 0)
					: FP_IFACE_POLICY_ROUTING;
		memcpy(iface.mac, devs[i]->mac, ETH_ALEN);
		update(fp_ifaces_fd, &idx, &iface, FP_MAP_IFACES);
	}
	if (conntrack)
		stamp_heartbeat();
}

static void addr16(__u8 *out, const void *addr, int family)
{
	memset(out, 0, 16);
	if (family == TG_FAMILY_IPV4) {
		out[10] = out[11] = 0xff;
		memcpy(out + 12, addr, 4);
	} else {
		memcpy(out, addr, 16);
	}
}

/*
 * The flows the manager would mirror from conntrack for the generator's
 * traffic (one entry, the original direction, keyed as the frame arrives on
 * lan0): IPv4 masqueraded to r's wan address (the source port kept, as
 * masquerade does when it is free), IPv6 routed without NAT. Written
 * straight into fp_flows: the next-hop cache starts empty and is filled by
 * the first packet of each flow, as on a router.
 */
static int install_flows(void)
{
	int n = 0;

	for (int family = TG_FAMILY_IPV4; family <= TG_FAMILY_IPV6; family += 2)
		for (int i = 0; i < opt.flows; i++) {
			unsigned char f[TG_FRAME_LEN];
			struct fp_flow_key key = {};
			struct fp_flow flow = {};
			struct udphdr *udp;

			build_frame(f, family, 64, UDP_SPORT0 + i);
			if (family == TG_FAMILY_IPV4) {
				struct iphdr *ip = (void *)(f + sizeof(struct ethhdr));
				struct in_addr wan;

				addr16(key.src, &ip->saddr, family);
				addr16(key.dst, &ip->daddr, family);
				udp = (void *)(ip + 1);
				inet_pton(AF_INET, "198.51.100.254", &wan); /* r's wan0 */
				addr16(flow.nat_src, &wan, family);
				flow.nat_sport = udp->source;
				flow.flags = FP_FLOW_SNAT;
			} else {
				struct ipv6hdr *ip6 = (void *)(f + sizeof(struct ethhdr));

				addr16(key.src, &ip6->saddr, family);
				addr16(key.dst, &ip6->daddr, family);
				udp = (void *)(ip6 + 1);
			}
			key.sport = udp->source;
			key.dport = udp->dest;
			key.ifindex = r_lan0.ifindex;
			key.proto = IPPROTO_UDP;
			key.family = family;
			if (bpf_map_update_elem(fp_flows_fd, &key, &flow, BPF_ANY)) {
				note_error("fp_flows: inserting a flow: %s", strerror(errno));
				return -1;
			}
			n++;
		}
	return n;
}

/* What set_mode attached last (detach_all removes exactly that). */
static enum mode attached = M_KERNEL;

static void detach_all(void)
{
	unsigned idx[2] = { r_lan0.ifindex, r_wan0.ifindex };

	enter(NS_R);
	for (int i = 0; i < 2; i++) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = idx[i],
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);

		if (attached == M_XDP_NATIVE || attached == M_XDP_NATIVE_CT || attached == M_REFERENCE)
			bpf_xdp_detach(idx[i], XDP_FLAGS_DRV_MODE, NULL);
		else if (attached == M_XDP_GENERIC || attached == M_XDP_GENERIC_CT)
			bpf_xdp_detach(idx[i], XDP_FLAGS_SKB_MODE, NULL);
		else if (attached == M_TC || attached == M_TC_CT)
			bpf_tc_hook_destroy(&hook);
	}
	attached = M_KERNEL;
	enter(NS_SELF);
}

static int set_mode(enum mode m)
{
	unsigned idx[2] = { r_lan0.ifindex, r_wan0.ifindex };
	int err = 0;

	detach_all();
	if (is_fastpath(m))
		set_policy(is_conntrack(m));
	attached = m; /* a half-done attach is undone by the next detach_all */
	enter(NS_R);
	for (int i = 0; i < 2 && !err; i++) {
		switch (m) {
		case M_KERNEL:
			break;
		case M_XDP_NATIVE:
		case M_XDP_NATIVE_CT:
			err = xdp_attach(idx[i], fp_xdp, XDP_FLAGS_DRV_MODE, "xdp-native");
			break;
		case M_XDP_GENERIC:
		case M_XDP_GENERIC_CT:
			err = xdp_attach(idx[i], fp_xdp, XDP_FLAGS_SKB_MODE, "xdp-generic");
			break;
		case M_TC:
		case M_TC_CT:
			/* as the daemon does: the egress program too (it runs on
			 * every packet TC redirects, and returns at once while
			 * nothing is held after a ruleset change) */
			err = tc_attach(idx[i], fp_tc, BPF_TC_INGRESS) ?: tc_attach(idx[i], fp_egress, BPF_TC_EGRESS);
			break;
		case M_REFERENCE:
			err = xdp_attach(idx[i], ref_fwd, XDP_FLAGS_DRV_MODE, "reference");
			break;
		default:
			break;
		}
	}
	enter(NS_SELF);
	return err;
}

/* ---- forwarding results ------------------------------------------------------- */

enum { RS_NONE, RS_FW4, RS_COUNT };
static const char *ruleset_name[RS_COUNT] = { "none", "fw4" };
static const char *family_name[2] = { "ipv4", "ipv6" };

struct result {
	int measured;            /* every round produced a sample */
	int nsamples;
	double pps[MAX_ROUNDS];  /* delivered per second, per round */
	double sent_pps[MAX_ROUNDS];
	__u64 sent, delivered, fast;
	double median_pps, median_sent_pps;
};
static struct result res[RS_COUNT][2][M_COUNT];
/* Policy conntrack is measured with the fw4-like ruleset only: a router
 * with conntrack and no firewall is not a case anyone runs. */
static int mode_enabled[RS_COUNT][M_COUNT] = {
	[RS_NONE] = { 1, 1, 1, 1, 0, 0, 0, 1 },
	[RS_FW4]  = { 1, 1, 0, 1, 1, 1, 1, 1 },
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(const double *v, int n)
{
	double s[MAX_ROUNDS];

	if (n <= 0)
		return NAN;
	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static int run_shell(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static int apply_ruleset(int rs)
{
	if (rs == RS_NONE)
		return run_shell("ip netns exec %s-r nft flush ruleset", opt.prefix);
	return run_shell("ip netns exec %s-r nft -f %s", opt.prefix, opt.nft);
}

static void measure_forwarding(void)
{
	int total = 0, done = 0;

	for (int rs = 0; rs < RS_COUNT; rs++)
		for (int m = 0; m < M_COUNT; m++)
			total += mode_enabled[rs][m] * 2 * opt.rounds;

	for (int rs = 0; rs < RS_COUNT && !stop_requested; rs++) {
		if (apply_ruleset(rs)) {
			note_error("ruleset %s: could not be applied in %s-r", ruleset_name[rs], opt.prefix);
			continue;
		}
		for (int round = 0; round < opt.rounds && !stop_requested; round++) {
			/* Rotate the order so no mode always follows the same one. */
			for (int k = 0; k < M_COUNT && !stop_requested; k++) {
				int m = (k + round) % M_COUNT;

				if (!mode_enabled[rs][m])
					continue;
				if (set_mode(m)) {
					done += 2;
					continue;
				}
				for (int fam = 0; fam < 2 && !stop_requested; fam++) {
					struct result *r = &res[rs][fam][m];
					struct sample s;

					set_traffic(fam ? TG_FAMILY_IPV6 : TG_FAMILY_IPV4);
					if (opt.warmup > 0 && generate(opt.warmup, &s))
						continue;
					if (generate(opt.seconds, &s))
						continue;
					r->pps[r->nsamples] = s.delivered / s.seconds;
					r->sent_pps[r->nsamples] = s.sent / s.seconds;
					r->nsamples++;
					r->sent += s.sent;
					r->delivered += s.delivered;
					r->fast += s.fast;
					done++;
					fprintf(stderr, "%s[%3d/%3d] %-4s %-4s %-21s round %d: %6.3f Mpps delivered, %6.3f sent   ",
						isatty(2) ? "\r" : "\n", done, total, ruleset_name[rs], fam ? "v6" : "v4", mode_key[m],
						round + 1, s.delivered / s.seconds / 1e6, s.sent / s.seconds / 1e6);
				}
			}
		}
	}
	fprintf(stderr, "\n");
	detach_all();
	apply_ruleset(RS_NONE);

	for (int rs = 0; rs < RS_COUNT; rs++)
		for (int fam = 0; fam < 2; fam++)
			for (int m = 0; m < M_COUNT; m++) {
				struct result *r = &res[rs][fam][m];

				if (!mode_enabled[rs][m])
					continue;
				r->measured = r->nsamples == opt.rounds && r->delivered > 0;
				r->median_pps = median(r->pps, r->nsamples);
				r->median_sent_pps = median(r->sent_pps, r->nsamples);
				if (!r->measured && !stop_requested)
					note_error("%s/%s/%s: %d of %d rounds, %llu packets delivered",
						   ruleset_name[rs], family_name[fam], mode_key[m],
						   r->nsamples, opt.rounds, (unsigned long long)r->delivered);
			}
}

/* ---- program cost --------------------------------------------------------------- */

enum { F_V4, F_V6, F_PASS, F_FLOW_HIT, F_FLOW_HIT6, F_COUNT };
static const char *frame_key[F_COUNT] = { "v4_forward", "v6_forward", "pass_ttl1", "flow_hit", "flow_hit_v6" };
static const char *frame_label[F_COUNT] = { "IPv4 forward (routing)", "IPv6 forward (routing)", "pass (IPv4 TTL 1)",
					    "IPv4 flow hit (conntrack, SNAT, cached next hop)",
					    "IPv6 flow hit (conntrack, cached next hop)" };

static int is_flow_hit(int f)
{
	return f == F_FLOW_HIT || f == F_FLOW_HIT6;
}
enum { P_FP_XDP, P_FP_TC, P_REF, P_COUNT };
static const char *cprog_name[P_COUNT] = { FP_PROG_XDP, FP_PROG_TC, REF_PROG };

struct cost {
	int measured;
	double ns, gross_ns, baseline_ns;
	__u32 retval;
	const char *note;
};
static struct cost costs[P_COUNT][F_COUNT];

static int test_run(int fd, int tc, const unsigned char *frame, unsigned repeat, __u32 *retval,
		    __u32 *duration)
{
	unsigned char out[TG_FRAME_LEN + 256];
	struct xdp_md md = { .data = 0, .data_end = TG_FRAME_LEN, .ingress_ifindex = r_lan0.ifindex };
	struct __sk_buff skb = { .ifindex = r_lan0.ifindex, .ingress_ifindex = r_lan0.ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = TG_FRAME_LEN,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = repeat);
	int err;

	if (tc) {
		o.ctx_in = &skb;
		o.ctx_size_in = sizeof(skb);
	} else {
		o.ctx_in = &md;
		o.ctx_size_in = sizeof(md);
	}
	enter(NS_R);
	err = bpf_prog_test_run_opts(fd, &o);
	enter(NS_SELF);
	*retval = o.retval;
	*duration = o.duration;
	return err;
}

#define COST_RUNS 5

/* One timed BPF_PROG_TEST_RUN of the harness with `target` in its jump slot. */
static int timed_once(int harness, int tc, const unsigned char *frame, int jump, int target,
		      double *ns)
{
	__u32 key = 0, ret, dur;

	update(jump, &key, &target, "cost jump");
	if (test_run(harness, tc, frame, opt.cost_repeat, &ret, &dur))
		return -1;
	*ns = fmin(*ns, dur);
	return 0;
}

/*
 * Every (program, frame) is first run once to check it takes the intended
 * path (its return code), then timed COST_RUNS times; each time round, all
 * of them run back to back, each followed by the harness around the nop
 * program (the baseline), so all figures see the same machine. Noise on a
 * shared machine only adds time: the minimum is the estimate.
 */
static void measure_costs(void)
{
	int harness_xdp = prog_fd(&cost, COST_PROG_XDP), harness_tc = prog_fd(&cost, COST_PROG_TC);
	int nop_xdp = prog_fd(&cost, COST_PROG_XDP_NOP), nop_tc = prog_fd(&cost, COST_PROG_TC_NOP);
	int frame_fd = map_fd(&cost, COST_MAP_FRAME);
	int jump_xdp = map_fd(&cost, COST_MAP_XDP_JUMP), jump_tc = map_fd(&cost, COST_MAP_TC_JUMP);
	int target[P_COUNT] = { fp_xdp, fp_tc, ref_fwd };
	unsigned char frames[F_COUNT][TG_FRAME_LEN];
	__u32 key = 0;

	build_frame(frames[F_V4], TG_FAMILY_IPV4, 64, UDP_SPORT0);
	build_frame(frames[F_V6], TG_FAMILY_IPV6, 64, UDP_SPORT0);
	build_frame(frames[F_PASS], TG_FAMILY_IPV4, 1, UDP_SPORT0);
	/* The generator's flow 0: install_flows put it into fp_flows. The
	 * check run (run -1) fills its next-hop cache, so the timed runs take
	 * the cached path. */
	build_frame(frames[F_FLOW_HIT], TG_FAMILY_IPV4, 64, UDP_SPORT0);
	build_frame(frames[F_FLOW_HIT6], TG_FAMILY_IPV6, 64, UDP_SPORT0);

	for (int run = -1; run < COST_RUNS && !stop_requested; run++)
		for (int p = 0; p < P_COUNT; p++) {
			int tc = p == P_FP_TC;
			int harness = tc ? harness_tc : harness_xdp, jump = tc ? jump_tc : jump_xdp;
			int nop = tc ? nop_tc : nop_xdp;

			for (int f = 0; f < F_COUNT; f++) {
				struct cost *c = &costs[p][f];
				__u32 expect, ret, dur;

				if (is_flow_hit(f) && p == P_REF) {
					c->note = "n/a";
					continue;
				}
				if (is_flow_hit(f) && nflows_installed <= 0) {
					c->note = "not measured (fp_flows could not be filled)";
					continue;
				}
				/* policy conntrack for the flow-hit frames, routing otherwise */
				set_policy(is_flow_hit(f));
				update(frame_fd, &key, frames[f], COST_MAP_FRAME);
				if (run >= 0) {
					if (!c->measured)
						continue;
					if (timed_once(harness, tc, frames[f], jump, target[p], &c->gross_ns) ||
					    timed_once(harness, tc, frames[f], jump, nop, &c->baseline_ns)) {
						note_error("cost %s %s: BPF_PROG_TEST_RUN: %s", cprog_name[p],
							   frame_key[f], strerror(errno));
						c->measured = 0;
					}
					c->ns = c->gross_ns - c->baseline_ns;
					continue;
				}
				/* run -1: check the path */
				if (f == F_PASS)
					expect = tc ? (unsigned)TC_ACT_UNSPEC : XDP_PASS;
				else
					expect = tc ? TC_ACT_REDIRECT : XDP_REDIRECT;
				update(jump, &key, &target[p], "cost jump");
				if (test_run(harness, tc, frames[f], 1, &ret, &dur)) {
					note_error("cost %s %s: BPF_PROG_TEST_RUN: %s", cprog_name[p],
						   frame_key[f], strerror(errno));
					continue;
				}
				c->retval = ret;
				if (ret != expect) {
					note_error("cost %s %s: returned %u, expected %u (path not taken)",
						   cprog_name[p], frame_key[f], ret, expect);
					continue;
				}
				c->measured = 1;
				c->gross_ns = c->baseline_ns = INFINITY;
			}
		}
	set_policy(0);
}

/* ---- output ---------------------------------------------------------------------- */

static char kernel_release[128], cpu_model[128], date[64];

static void describe_host(void)
{
	struct utsname u;
	char line[256];
	FILE *f = fopen("/proc/cpuinfo", "r");
	time_t t = time(NULL);

	if (!uname(&u))
		snprintf(kernel_release, sizeof(kernel_release), "%s", u.release);
	snprintf(cpu_model, sizeof(cpu_model), "unknown");
	while (f && fgets(line, sizeof(line), f)) {
		char *c = strchr(line, ':');

		if (!strncmp(line, "model name", 10) && c) {
			c += 2;
			c[strcspn(c, "\n")] = 0;
			snprintf(cpu_model, sizeof(cpu_model), "%s", c);
			break;
		}
	}
	if (f)
		fclose(f);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
}

/* The median of the per-round ratios: the two rows of one round were
 * measured seconds apart, so slow drift in the machine's load cancels out. */
static double ratio(const struct result *a, const struct result *b)
{
	double v[MAX_ROUNDS];
	int n = a->nsamples < b->nsamples ? a->nsamples : b->nsamples;

	if (!a->measured || !b->measured)
		return NAN;
	for (int i = 0; i < n; i++) {
		if (b->pps[i] <= 0)
			return NAN;
		v[i] = a->pps[i] / b->pps[i];
	}
	return median(v, n);
}

static double loss_of(const struct result *r)
{
	return r->sent ? 1.0 - (double)r->delivered / r->sent : NAN;
}

static double share_of(const struct result *r, int m)
{
	if (!is_fastpath(m))
		return NAN;
	return r->delivered ? (double)r->fast / r->delivered : NAN;
}

static void fmt_num(char *buf, size_t n, double v, const char *fmt)
{
	if (isnan(v))
		snprintf(buf, n, "–");
	else
		snprintf(buf, n, fmt, v);
}

/* The performance targets, as ratios in this run. */
struct target {
	const char *key, *label;
	double goal, measured;
};
static struct target targets[8];
static int ntargets;

static void compute_targets(void)
{
	for (int fam = 0; fam < 2; fam++) {
		targets[ntargets++] = (struct target){
			fam ? "xdp_native_routing_vs_reference_ipv6" : "xdp_native_routing_vs_reference_ipv4",
			fam ? "xdp-native (routing) ≥ 1.0× reference, IPv6" : "xdp-native (routing) ≥ 1.0× reference, IPv4",
			1.0, ratio(&res[RS_NONE][fam][M_XDP_NATIVE], &res[RS_NONE][fam][M_REFERENCE]) };
	}
	for (int fam = 0; fam < 2; fam++) {
		targets[ntargets++] = (struct target){
			fam ? "tc_fw4_vs_kernel_ipv6" : "tc_fw4_vs_kernel_ipv4",
			fam ? "tc with the fw4-like ruleset ≥ 1.5× kernel, IPv6" : "tc with the fw4-like ruleset ≥ 1.5× kernel, IPv4",
			1.5, ratio(&res[RS_FW4][fam][M_TC], &res[RS_FW4][fam][M_KERNEL]) };
	}
	/* Policy conntrack with its next-hop cache (xdp-native, flows in
	 * fp_flows, IPv4 with SNAT) against the reference, fw4-like ruleset. */
	targets[ntargets++] = (struct target){ "conntrack_vs_reference_ipv4",
		"xdp-native (conntrack, next-hop cache, SNAT) ≥ 1.15× reference, IPv4, fw4-like", 1.15,
		ratio(&res[RS_FW4][0][M_XDP_NATIVE_CT], &res[RS_FW4][0][M_REFERENCE]) };
	targets[ntargets++] = (struct target){ "conntrack_vs_reference_ipv6",
		"xdp-native (conntrack, next-hop cache) ≥ 1.5× reference, IPv6, fw4-like", 1.5,
		ratio(&res[RS_FW4][1][M_XDP_NATIVE_CT], &res[RS_FW4][1][M_REFERENCE]) };
}

static void print_markdown(void)
{
	char a[32], b[32], c[32], d[32], e[32], g[32];

	printf("# fastpath bench\n\n");
	printf("%s · kernel %s · %s · generator and all forwarding on CPU %d\n\n",
	       date, kernel_release, cpu_model, opt.cpu);
	if (!opt.skip_forwarding) {
		printf("## Forwarding rate\n\n");
		printf("h1 → r → h2 over veth, 64-byte UDP, %d flows; delivered packets counted at h2. "
		       "Median of %d interleaved rounds of %.1f s per row; ratios are medians of the per-round ratios. "
		       "Policy conntrack (fw4-like ruleset only): the %d generator flows written straight into fp_flows "
		       "(IPv4 with SNAT to r's wan address, like masquerade; IPv6 without NAT), heartbeat stamped; "
		       "the daemon is not involved.\n\n", opt.flows, opt.rounds, opt.seconds, opt.flows);
		printf("| ruleset on r | family | mode | policy | Mpps | × kernel | × reference | loss | sent Mpps | by fastpath |\n");
		printf("|---|---|---|---|---:|---:|---:|---:|---:|---:|\n");
		for (int rs = 0; rs < RS_COUNT; rs++)
			for (int fam = 0; fam < 2; fam++) {
				for (int m = 0; m < M_COUNT; m++) {
					struct result *r = &res[rs][fam][m];

					if (!mode_enabled[rs][m])
						continue;
					fmt_num(a, sizeof(a), r->measured ? r->median_pps / 1e6 : NAN, "%.3f");
					fmt_num(b, sizeof(b), ratio(r, &res[rs][fam][M_KERNEL]), "%.2f×");
					fmt_num(c, sizeof(c), ratio(r, &res[rs][fam][M_REFERENCE]), "%.2f×");
					fmt_num(d, sizeof(d), r->measured ? loss_of(r) * 100 : NAN, "%.1f%%");
					fmt_num(e, sizeof(e), r->measured ? r->median_sent_pps / 1e6 : NAN, "%.3f");
					fmt_num(g, sizeof(g), r->measured ? share_of(r, m) * 100 : NAN, "%.0f%%");
					printf("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
					       rs == RS_NONE ? "none" : "fw4-like", fam ? "IPv6" : "IPv4", mode_name[m],
					       mode_policy[m], r->measured ? a : "not measured", b, c, d, e, g);
				}
			}

	}
	if (!opt.skip_cost) {
		printf("\n## Program cost\n\n");
		printf("BPF_PROG_TEST_RUN, %u repetitions, fastest of %d runs, net of the frame-reset harness "
		       "(bench_cost.bpf.c: restores the frame, tail-calls the program; its own cost is the "
		       "baseline column).\n\n", opt.cost_repeat, COST_RUNS);
		printf("| program | frame | ns/packet | harness baseline ns | return |\n");
		printf("|---|---|---:|---:|---:|\n");
		for (int p = 0; p < P_COUNT; p++)
			for (int f = 0; f < F_COUNT; f++) {
				struct cost *k = &costs[p][f];

				if (k->note) {
					if (strcmp(k->note, "n/a"))
						printf("| %s | %s | %s | | |\n", cprog_name[p], frame_label[f], k->note);
					continue;
				}
				fmt_num(a, sizeof(a), k->measured ? k->ns : NAN, "%.0f");
				fmt_num(b, sizeof(b), k->measured ? k->baseline_ns : NAN, "%.0f");
				printf("| %s | %s | %s | %s | %u |\n", cprog_name[p], frame_label[f],
				       k->measured ? a : "not measured", b, k->retval);
			}

	}
	printf("\n## Targets\n\n| target | this run | |\n|---|---:|---|\n");
	for (int i = 0; i < ntargets; i++) {
		struct target *t = &targets[i];

		fmt_num(a, sizeof(a), t->measured, "%.2f×");
		printf("| %s | %s | %s |\n", t->label, a,
		       isnan(t->measured) ? "not measured" : t->measured >= t->goal ? "met" : "missed");
	}

	/* Tests/bench/bench.sh appends the manager section (binary
	 * size, RSS, startup, wakeups, route/neighbour reaction times). */
	if (nerrors) {
		printf("\n## Could not measure\n\n");
		for (int i = 0; i < nerrors; i++)
			printf("- %s\n", errors[i]);
	}
}

/* Rates as integers, ratios and nanoseconds with 4 decimals, null when not measured. */
static void json_num(FILE *f, double v)
{
	if (isnan(v) || isinf(v))
		fprintf(f, "null");
	else if (fabs(v) >= 1000)
		fprintf(f, "%.0f", v);
	else
		fprintf(f, "%.4f", v);
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static int write_json(void)
{
	FILE *f = fopen(opt.json, "w");

	if (!f) {
		note_error("%s: %s", opt.json, strerror(errno));
		return -1;
	}
	fprintf(f, "{\n  \"schema\": 1,\n  \"date\": ");
	json_str(f, date);
	fprintf(f, ",\n  \"kernel\": ");
	json_str(f, kernel_release);
	fprintf(f, ",\n  \"cpu_model\": ");
	json_str(f, cpu_model);
	fprintf(f, ",\n  \"generator_cpu\": %d,\n", opt.cpu);
	fprintf(f, "  \"config\": {\"rounds\": %d, \"seconds\": %g, \"warmup_seconds\": %g, \"flows\": %d, "
		   "\"frame_bytes\": %d, \"cost_repeat\": %u},\n",
		opt.rounds, opt.seconds, opt.warmup, opt.flows, TG_FRAME_LEN, opt.cost_repeat);

	fprintf(f, "  \"forwarding\": {\n");
	for (int rs = 0; rs < RS_COUNT; rs++) {
		fprintf(f, "    \"%s\": {\n", ruleset_name[rs]);
		for (int fam = 0; fam < 2; fam++) {
			int first = 1;

			fprintf(f, "      \"%s\": {\n", family_name[fam]);
			for (int m = 0; m < M_COUNT; m++) {
				struct result *r = &res[rs][fam][m];

				if (!mode_enabled[rs][m])
					continue;
				fprintf(f, "%s        \"%s\": {\"policy\": \"%s\", \"measured\": %s, \"pps\": ",
					first ? "" : ",\n", mode_key[m], mode_policy[m],
					r->measured ? "true" : "false");
				first = 0;
				json_num(f, r->measured ? r->median_pps : NAN);
				fprintf(f, ", \"ratio_kernel\": ");
				json_num(f, ratio(r, &res[rs][fam][M_KERNEL]));
				fprintf(f, ", \"ratio_reference\": ");
				json_num(f, ratio(r, &res[rs][fam][M_REFERENCE]));
				fprintf(f, ", \"loss\": ");
				json_num(f, loss_of(r));
				fprintf(f, ", \"sent_pps\": ");
				json_num(f, r->measured ? r->median_sent_pps : NAN);
				fprintf(f, ", \"fastpath_share\": ");
				json_num(f, share_of(r, m));
				fprintf(f, ", \"sent\": %llu, \"delivered\": %llu, \"rounds_pps\": [",
					(unsigned long long)r->sent, (unsigned long long)r->delivered);
				for (int i = 0; i < r->nsamples; i++) {
					fprintf(f, i ? ", " : "");
					json_num(f, r->pps[i]);
				}
				fprintf(f, "]}");
			}
			/* modes not measured with this ruleset */
			for (int m = 0; m < M_COUNT; m++)
				if (!mode_enabled[rs][m])
					fprintf(f, ",\n        \"%s\": null", mode_key[m]);
			fprintf(f, "\n      }%s\n", fam ? "" : ",");
		}
		fprintf(f, "    }%s\n", rs + 1 < RS_COUNT ? "," : "");
	}
	fprintf(f, "  },\n");

	fprintf(f, "  \"program_cost_ns\": {\n");
	for (int p = 0; p < P_COUNT; p++) {
		fprintf(f, "    \"%s\": {", cprog_name[p]);
		for (int fr = 0; fr < F_COUNT; fr++) {
			struct cost *k = &costs[p][fr];

			fprintf(f, "%s\"%s\": ", fr ? ", " : "", frame_key[fr]);
			if (!k->measured) {
				fprintf(f, "null");
				continue;
			}
			fprintf(f, "{\"ns\": ");
			json_num(f, k->ns);
			fprintf(f, ", \"gross_ns\": ");
			json_num(f, k->gross_ns);
			fprintf(f, ", \"baseline_ns\": ");
			json_num(f, k->baseline_ns);
			fprintf(f, ", \"retval\": %u}", k->retval);
		}
		fprintf(f, "}%s\n", p + 1 < P_COUNT ? "," : "");
	}
	fprintf(f, "  },\n");

	fprintf(f, "  \"targets\": {\n");
	for (int i = 0; i < ntargets; i++) {
		struct target *t = &targets[i];

		fprintf(f, "    \"%s\": {\"goal\": %g, \"measured\": ", t->key, t->goal);
		json_num(f, t->measured);
		fprintf(f, ", \"met\": %s}%s\n",
			isnan(t->measured) ? "null" : t->measured >= t->goal ? "true" : "false",
			i + 1 < ntargets ? "," : "");
	}
	fprintf(f, "  },\n");
	/* bench.sh puts the manager figures here (Tests/bench/bench.sh, run_manager). */
	fprintf(f, "  \"manager\": null,\n  \"errors\": [");
	for (int i = 0; i < nerrors; i++) {
		fprintf(f, i ? ", " : "");
		json_str(f, errors[i]);
	}
	fprintf(f, "]\n}\n");
	return fclose(f);
}

/* ---- set-up ---------------------------------------------------------------------- */

static void configure_fastpath(void)
{
	struct device *devs[2] = { &r_lan0, &r_wan0 };
	int devmap_fd = map_fd(&fp, FP_MAP_DEVMAP), ref_devmap_fd = map_fd(&ref, REF_MAP_DEVMAP);

	fp_cfg_fd = map_fd(&fp, FP_MAP_CONFIG);
	fp_ifaces_fd = map_fd(&fp, FP_MAP_IFACES);
	fp_flows_fd = map_fd(&fp, FP_MAP_FLOWS);
	stamp_heartbeat();
	set_policy(0);
	enter(NS_R); /* devmap values are resolved in the updater's namespace */
	for (int i = 0; i < 2; i++) {
		struct fp_devmap_val dv = { .ifindex = devs[i]->ifindex };
		__u32 idx = devs[i]->ifindex;

		update(devmap_fd, &idx, &dv, FP_MAP_DEVMAP);
		update(ref_devmap_fd, &idx, &idx, REF_MAP_DEVMAP);
	}
	enter(NS_SELF);
	nflows_installed = install_flows();
}

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: fastpath-bench --prefix LAB [--bpf-dir DIR] [--bench-bpf-dir DIR] [--nft FILE]\n"
			"       [--json FILE] [--rounds N] [--seconds S] [--warmup S] [--flows N] [--cpu N] [--cost-repeat N]\n"
			"       [--only forwarding|cost]\n");
	exit(2);
}

static void parse(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "prefix", 1, 0, 'p' }, { "bpf-dir", 1, 0, 'b' }, { "nft", 1, 0, 'n' },
		{ "json", 1, 0, 'j' }, { "rounds", 1, 0, 'r' }, { "seconds", 1, 0, 's' },
		{ "warmup", 1, 0, 'w' }, { "flows", 1, 0, 'f' }, { "cpu", 1, 0, 'c' },
		{ "cost-repeat", 1, 0, 'R' }, { "only", 1, 0, 'o' }, { "bench-bpf-dir", 1, 0, 'B' }, { 0 }
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'p': opt.prefix = optarg; break;
		case 'b': opt.bpf_dir = optarg; break;
		case 'B': opt.bench_bpf_dir = optarg; break;
		case 'n': opt.nft = optarg; break;
		case 'j': opt.json = optarg; break;
		case 'r': opt.rounds = atoi(optarg); break;
		case 's': opt.seconds = atof(optarg); break;
		case 'w': opt.warmup = atof(optarg); break;
		case 'f': opt.flows = atoi(optarg); break;
		case 'c': opt.cpu = atoi(optarg); break;
		case 'R': opt.cost_repeat = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'o':
			opt.skip_forwarding = !strcmp(optarg, "cost");
			opt.skip_cost = !strcmp(optarg, "forwarding");
			if (!opt.skip_forwarding && !opt.skip_cost)
				usage();
			break;
		default: usage();
		}
	}
	if (!opt.prefix || opt.rounds < 1 || opt.rounds > MAX_ROUNDS || opt.seconds <= 0 ||
	    opt.seconds > 60 || opt.flows < 1 || opt.flows > TG_MAX_FLOWS || opt.cost_repeat < 1)
		usage();
}

int main(int argc, char **argv)
{
	struct sigaction alarm_sa = { .sa_handler = on_alarm }, stop_sa = { .sa_handler = on_stop };
	cpu_set_t set;

	parse(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	libbpf_set_print(libbpf_quiet);
	/* No SA_RESTART: the signal must end the generator's BPF_PROG_RUN (EINTR). */
	sigaction(SIGALRM, &alarm_sa, NULL);
	sigaction(SIGINT, &stop_sa, NULL);
	sigaction(SIGTERM, &stop_sa, NULL);

	if (opt.cpu < 0)
		opt.cpu = (int)sysconf(_SC_NPROCESSORS_ONLN) - 1;
	CPU_ZERO(&set);
	CPU_SET(opt.cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("pinning to CPU %d: %s", opt.cpu, strerror(errno));
	describe_host();

	ns_fd[NS_SELF] = open_ns(NULL);
	ns_fd[NS_H1] = open_ns("h1");
	ns_fd[NS_R] = open_ns("r");
	ns_fd[NS_H2] = open_ns("h2");
	resolve(&h1_eth0);
	resolve(&r_lan0);
	resolve(&r_wan0);
	resolve(&h2_eth0);

	load(&fp);
	load(&ref);
	load(&tg);
	load(&cost);
	fp_xdp = prog_fd(&fp, FP_PROG_XDP);
	fp_tc = prog_fd(&fp, FP_PROG_TC);
	fp_egress = prog_fd(&fp, FP_PROG_TC_EGRESS);
	fp_stats_fd = map_fd(&fp, FP_MAP_STATS);
	ref_fwd = prog_fd(&ref, REF_PROG);
	tg_xmit = prog_fd(&tg, TG_PROG_XMIT);
	tg_count = prog_fd(&tg, TG_PROG_COUNT);
	tg_cfg_fd = map_fd(&tg, TG_MAP_CONFIG);
	tg_stats_fd = map_fd(&tg, TG_MAP_STATS);
	configure_fastpath();

	/* The receiver: count and drop at h2 (this also gives h2's eth0 the XDP
	 * program a native redirect into it needs). */
	enter(NS_H2);
	if (bpf_xdp_attach(h2_eth0.ifindex, tg_count, XDP_FLAGS_DRV_MODE, NULL))
		die("attaching %s to h2 eth0: %s", TG_PROG_COUNT, strerror(errno));
	enter(NS_SELF);

	if (!opt.skip_cost)
		measure_costs();
	if (!opt.skip_forwarding)
		measure_forwarding();
	if (stop_requested)
		die("interrupted");

	compute_targets();
	print_markdown();
	if (write_json())
		return 1;
	fprintf(stderr, "bench: results in %s\n", opt.json);
	return nerrors ? 1 : 0;
}
