/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * fastpath_shim.h - what Swift cannot import directly, prefixed fp_.
 *
 * - the BPF ABI (bpf/fastpath.h) so Swift sees struct fp_stats, fp_iface, ...
 * - libbpf calls whose opts structs carry `sz`: built here from scalars, so
 *   no Swift-copied tail padding reaches libbpf (docs/platform.md);
 * - setns/CLONE_NEWNET (hidden by the Glibc module), errno, stdout/stderr;
 * - arc4random_buf for libcs without it (musl).
 *
 * Functions returning int follow libbpf: 0 or a positive value on success,
 * -errno on failure.
 */
#ifndef FASTPATH_SHIM_H
#define FASTPATH_SHIM_H

#include <stddef.h>
#include <stdint.h>
#include <errno.h> /* E* constants for Swift */
#include "../../../bpf/fastpath.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- process, errno, output ---- */
int fp_errno(void);
/* libbpf_strerror for libbpf's extra error codes (falls back to strerror). */
void fp_libbpf_strerror(int code, char *buf, size_t size);
/* Write the bytes to stdout (1) or stderr (2); retries on EINTR/short writes. */
int fp_write_all(int fd, const void *bytes, size_t count);
/* Silence or restore libbpf's own diagnostics on stderr (warnings only). */
void fp_libbpf_set_quiet(int quiet);

/* ---- file descriptors, paths ---- */
int fp_open_readonly(const char *path);   /* O_RDONLY|O_CLOEXEC, -errno */
int fp_close(int fd);                     /* -errno */
int fp_dup_cloexec(int fd);               /* F_DUPFD_CLOEXEC (>= 3), -errno */
/* Read a whole small file; returns bytes read or -errno. */
long fp_read_file(const char *path, void *buf, size_t size);
int fp_mkdir_p(const char *path, unsigned int mode); /* -errno */
int fp_unlink(const char *path);           /* -errno */
int fp_path_exists(const char *path);      /* 1 / 0 */

/* ---- interfaces ---- */
int fp_if_indextoname(unsigned int ifindex, char *buf /* >= 16 bytes */); /* -errno */

/* ---- bpf object introspection ---- */
int fp_prog_info(int prog_fd, uint32_t *id, uint32_t *type, char *name /* >= 16 */);
/* The ids of the maps the program uses (at most `capacity`); count or -errno. */
int fp_prog_map_ids(int prog_fd, uint32_t *ids, uint32_t capacity);
/* Copies every entry of one map into another of the same key and value
 * sizes (not per-CPU), until the target is full; returns how many. */
long fp_map_copy(int from_fd, int to_fd, uint32_t key_size, uint32_t value_size);
int fp_map_info(int map_fd, uint32_t *id, uint32_t *type, uint32_t *key_size,
		uint32_t *value_size, uint32_t *max_entries, char *name /* >= 16 */);

/* ---- XDP (opts built here) ---- */
#define FP_XDP_FLAGS_UPDATE_IF_NOEXIST (1U << 0)
#define FP_XDP_FLAGS_SKB_MODE          (1U << 1)
#define FP_XDP_FLAGS_DRV_MODE          (1U << 2)
#define FP_XDP_FLAGS_HW_MODE           (1U << 3)
#define FP_XDP_FLAGS_REPLACE           (1U << 4)
#define FP_XDP_ATTACHED_NONE  0
#define FP_XDP_ATTACHED_DRV   1
#define FP_XDP_ATTACHED_SKB   2
#define FP_XDP_ATTACHED_HW    3
#define FP_XDP_ATTACHED_MULTI 4
/* old_prog_fd >= 0 adds XDP_FLAGS_REPLACE semantics (caller sets the flag). */
int fp_xdp_attach(int ifindex, int prog_fd, uint32_t flags, int old_prog_fd);
int fp_xdp_detach(int ifindex, uint32_t flags, int old_prog_fd);
int fp_xdp_query(int ifindex, uint32_t *prog_id, uint32_t *drv_prog_id,
		 uint32_t *skb_prog_id, uint32_t *hw_prog_id, uint8_t *attach_mode);

/* ---- TC clsact (opts built here) ---- */
#define FP_TC_INGRESS 1U
#define FP_TC_EGRESS  2U
int fp_tc_hook_create(int ifindex, uint32_t attach_point);   /* -EEXIST if present */
int fp_tc_hook_destroy(int ifindex, uint32_t attach_point);
int fp_tc_attach(int ifindex, uint32_t attach_point, int prog_fd, uint32_t handle,
		 uint32_t priority, int replace, uint32_t *prog_id);
int fp_tc_detach(int ifindex, uint32_t attach_point, uint32_t handle, uint32_t priority);
/* 0 and *prog_id set, or -ENOENT when nothing is attached there. */
int fp_tc_query(int ifindex, uint32_t attach_point, uint32_t handle, uint32_t priority,
		uint32_t *prog_id);

/* ---- BPF_PROG_TEST_RUN (opts and ctx built here) ---- */

/* ---- misc ---- */
int fp_num_possible_cpus(void); /* libbpf_num_possible_cpus, -errno */
/* getrandom-based; for musl, which lacks arc4random_buf. */
void fp_random_bytes(void *buf, size_t count);

#ifdef __cplusplus
}
#endif
/* ---- the ABI's reason names ---- */
/* The status name of pass reason `reason` (FP_REASON_NAMES), or NULL when
 * reason >= FP_REASON_COUNT. */
const char *fp_reason_name(unsigned int reason);

/* ---- netlink helpers (libnl itself is reached through CNetlink) ---- */
/* Receive buffer of a socket: SO_RCVBUFFORCE (root may exceed
 * net.core.rmem_max), falling back to SO_RCVBUF. Returns the size the kernel
 * granted (getsockopt, i.e. doubled) or -errno. */
int fp_socket_set_receive_buffer(int fd, int bytes);
/* poll(2) one fd for POLLIN: 1 readable, 0 timeout, -errno. */
int fp_poll_readable(int fd, int timeout_ms);

/* Generic netlink family "netdev" (linux/netdev.h, Linux 6.3+; absent from
 * Debian 12's uapi headers). Values are UAPI, hence stable. */
#define FP_NETDEV_FAMILY_NAME        "netdev"
#define FP_NETDEV_CMD_DEV_GET        1
#define FP_NETDEV_A_DEV_IFINDEX      1
#define FP_NETDEV_A_DEV_XDP_FEATURES 3
#define FP_NETDEV_A_DEV_XDP_ZC_MAX_SEGS 4
#define FP_NETDEV_XDP_ACT_BASIC        (1ULL << 0)
#define FP_NETDEV_XDP_ACT_REDIRECT     (1ULL << 1)
#define FP_NETDEV_XDP_ACT_NDO_XMIT     (1ULL << 2)
#define FP_NETDEV_XDP_ACT_XSK_ZEROCOPY (1ULL << 3)
#define FP_NETDEV_XDP_ACT_HW_OFFLOAD   (1ULL << 4)
#define FP_NETDEV_XDP_ACT_RX_SG        (1ULL << 5)
#define FP_NETDEV_XDP_ACT_NDO_XMIT_SG  (1ULL << 6)

#endif /* FASTPATH_SHIM_H */
