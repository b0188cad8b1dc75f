// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* fastpath_shim.c - see include/fastpath_shim.h. */
#define _GNU_SOURCE
#include "fastpath_shim.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

_Static_assert(FP_XDP_FLAGS_UPDATE_IF_NOEXIST == XDP_FLAGS_UPDATE_IF_NOEXIST, "xdp flags");
_Static_assert(FP_XDP_FLAGS_SKB_MODE == XDP_FLAGS_SKB_MODE, "xdp flags");
_Static_assert(FP_XDP_FLAGS_DRV_MODE == XDP_FLAGS_DRV_MODE, "xdp flags");
_Static_assert(FP_XDP_FLAGS_HW_MODE == XDP_FLAGS_HW_MODE, "xdp flags");
_Static_assert(FP_XDP_FLAGS_REPLACE == XDP_FLAGS_REPLACE, "xdp flags");
_Static_assert(FP_XDP_ATTACHED_MULTI == XDP_ATTACHED_MULTI, "xdp attach modes");
_Static_assert(FP_TC_INGRESS == BPF_TC_INGRESS && FP_TC_EGRESS == BPF_TC_EGRESS, "tc points");

/* ---- process, errno, output ---- */

int fp_errno(void) { return errno; }
void fp_libbpf_strerror(int code, char *buf, size_t size)
{
	if (!size)
		return;
	if (libbpf_strerror(code, buf, size) < 0)
		snprintf(buf, size, "%s", strerror(code));
}

int fp_write_all(int fd, const void *bytes, size_t count)
{
	const char *p = bytes;
	while (count) {
		ssize_t n = write(fd, p, count);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		count -= (size_t)n;
	}
	return 0;
}

/* ---- file descriptors, paths ---- */

int fp_open_readonly(const char *path)
{
	int fd;
	do {
		fd = open(path, O_RDONLY | O_CLOEXEC);
	} while (fd < 0 && errno == EINTR);
	return fd < 0 ? -errno : fd;
}

int fp_close(int fd)
{
	/* No EINTR retry: on Linux the fd is gone even when close reports EINTR. */
	return close(fd) < 0 ? -errno : 0;
}

int fp_dup_cloexec(int fd)
{
	int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);

	return copy < 0 ? -errno : copy;
}

long fp_read_file(const char *path, void *buf, size_t size)
{
	int fd = fp_open_readonly(path);
	size_t got = 0;
	if (fd < 0)
		return fd;
	while (got < size) {
		ssize_t n = read(fd, (char *)buf + got, size - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			n = -errno;
			close(fd);
			return n;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	return (long)got;
}

int fp_mkdir_p(const char *path, unsigned int mode)
{
	char tmp[4096];
	size_t len = strlen(path);
	if (len == 0 || len >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, path, len + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int fp_unlink(const char *path) { return unlink(path) < 0 ? -errno : 0; }
int fp_path_exists(const char *path) { return access(path, F_OK) == 0; }

/* ---- interfaces ---- */

int fp_if_indextoname(unsigned int ifindex, char *buf)
{
	return if_indextoname(ifindex, buf) ? 0 : -errno;
}

/* ---- bpf object introspection ---- */

int fp_prog_info(int prog_fd, uint32_t *id, uint32_t *type, char *name)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) < 0)
		return -errno;
	*id = info.id;
	*type = info.type;
	memcpy(name, info.name, BPF_OBJ_NAME_LEN);
	name[BPF_OBJ_NAME_LEN - 1] = 0;
	return 0;
}

int fp_map_info(int map_fd, uint32_t *id, uint32_t *type, uint32_t *key_size,
		uint32_t *value_size, uint32_t *max_entries, char *name)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(map_fd, &info, &len) < 0)
		return -errno;
	*id = info.id;
	*type = info.type;
	*key_size = info.key_size;
	*value_size = info.value_size;
	*max_entries = info.max_entries;
	memcpy(name, info.name, BPF_OBJ_NAME_LEN);
	name[BPF_OBJ_NAME_LEN - 1] = 0;
	return 0;
}

int fp_prog_map_ids(int prog_fd, uint32_t *ids, uint32_t capacity)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	info.nr_map_ids = capacity;
	info.map_ids = (__u64)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) < 0)
		return -errno;
	return (int)(info.nr_map_ids < capacity ? info.nr_map_ids : capacity);
}

long fp_map_copy(int from_fd, int to_fd, uint32_t key_size, uint32_t value_size)
{
	unsigned char key[256], next[256], value[1024];
	void *previous = NULL;
	long copied = 0;

	if (key_size > sizeof(key) || value_size > sizeof(value))
		return -E2BIG;
	while (bpf_map_get_next_key(from_fd, previous, next) == 0) {
		memcpy(key, next, key_size);
		previous = key;
		if (bpf_map_lookup_elem(from_fd, key, value) < 0)
			continue; /* deleted meanwhile */
		if (bpf_map_update_elem(to_fd, key, value, BPF_NOEXIST) < 0) {
			if (errno == E2BIG)
				break; /* the new map is smaller: it is full */
			if (errno != EEXIST)
				return -errno;
			continue;
		}
		copied++;
	}
	return copied;
}

/* ---- XDP ---- */

int fp_xdp_attach(int ifindex, int prog_fd, uint32_t flags, int old_prog_fd)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = old_prog_fd);
	return bpf_xdp_attach(ifindex, prog_fd, flags, old_prog_fd >= 0 ? &opts : NULL);
}

int fp_xdp_detach(int ifindex, uint32_t flags, int old_prog_fd)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = old_prog_fd);
	return bpf_xdp_detach(ifindex, flags, old_prog_fd >= 0 ? &opts : NULL);
}

int fp_xdp_query(int ifindex, uint32_t *prog_id, uint32_t *drv_prog_id,
		 uint32_t *skb_prog_id, uint32_t *hw_prog_id, uint8_t *attach_mode)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, opts);
	int err = bpf_xdp_query(ifindex, 0, &opts);
	if (err)
		return err;
	*prog_id = opts.prog_id;
	*drv_prog_id = opts.drv_prog_id;
	*skb_prog_id = opts.skb_prog_id;
	*hw_prog_id = opts.hw_prog_id;
	*attach_mode = opts.attach_mode;
	return 0;
}

/* ---- TC clsact ---- */

int fp_tc_hook_create(int ifindex, uint32_t attach_point)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = (enum bpf_tc_attach_point)attach_point);
	return bpf_tc_hook_create(&hook);
}

int fp_tc_hook_destroy(int ifindex, uint32_t attach_point)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = (enum bpf_tc_attach_point)attach_point);
	return bpf_tc_hook_destroy(&hook);
}

int fp_tc_attach(int ifindex, uint32_t attach_point, int prog_fd, uint32_t handle,
		 uint32_t priority, int replace, uint32_t *prog_id)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = (enum bpf_tc_attach_point)attach_point);
	LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd, .handle = handle,
		    .priority = priority, .flags = replace ? BPF_TC_F_REPLACE : 0);
	int err = bpf_tc_attach(&hook, &opts);
	if (!err && prog_id)
		*prog_id = opts.prog_id;
	return err;
}

int fp_tc_detach(int ifindex, uint32_t attach_point, uint32_t handle, uint32_t priority)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = (enum bpf_tc_attach_point)attach_point);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = handle, .priority = priority);
	return bpf_tc_detach(&hook, &opts);
}

int fp_tc_query(int ifindex, uint32_t attach_point, uint32_t handle, uint32_t priority,
		uint32_t *prog_id)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = (enum bpf_tc_attach_point)attach_point);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = handle, .priority = priority);
	int err = bpf_tc_query(&hook, &opts);
	if (!err)
		*prog_id = opts.prog_id;
	return err;
}

/* ---- misc ---- */

int fp_num_possible_cpus(void) { return libbpf_num_possible_cpus(); }

void fp_random_bytes(void *buf, size_t count)
{
	char *p = buf;
	while (count) {
		ssize_t n = getrandom(p, count, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break; /* cannot happen for small requests on Linux >= 3.17 */
		}
		p += n;
		count -= (size_t)n;
	}
}

#if !defined(__GLIBC__)
/* musl has no arc4random_buf; Embedded Swift's hashing seeds call it. */
void arc4random_buf(void *buf, size_t count) { fp_random_bytes(buf, count); }
#endif

const char *fp_reason_name(unsigned int reason)
{
	static const char *const names[FP_REASON_COUNT] = FP_REASON_NAMES;

	return reason < FP_REASON_COUNT ? names[reason] : NULL;
}

/* ---- netlink helpers ---- */

#if __has_include(<linux/netdev.h>)
#include <linux/netdev.h>
_Static_assert(FP_NETDEV_CMD_DEV_GET == NETDEV_CMD_DEV_GET, "netdev uapi");
_Static_assert(FP_NETDEV_A_DEV_IFINDEX == NETDEV_A_DEV_IFINDEX, "netdev uapi");
_Static_assert(FP_NETDEV_A_DEV_XDP_FEATURES == NETDEV_A_DEV_XDP_FEATURES, "netdev uapi");
_Static_assert(FP_NETDEV_XDP_ACT_BASIC == NETDEV_XDP_ACT_BASIC, "netdev uapi");
_Static_assert(FP_NETDEV_XDP_ACT_REDIRECT == NETDEV_XDP_ACT_REDIRECT, "netdev uapi");
_Static_assert(FP_NETDEV_XDP_ACT_NDO_XMIT == NETDEV_XDP_ACT_NDO_XMIT, "netdev uapi");
_Static_assert(FP_NETDEV_XDP_ACT_XSK_ZEROCOPY == NETDEV_XDP_ACT_XSK_ZEROCOPY, "netdev uapi");
_Static_assert(FP_NETDEV_XDP_ACT_HW_OFFLOAD == NETDEV_XDP_ACT_HW_OFFLOAD, "netdev uapi");
_Static_assert(FP_NETDEV_XDP_ACT_RX_SG == NETDEV_XDP_ACT_RX_SG, "netdev uapi");
_Static_assert(FP_NETDEV_XDP_ACT_NDO_XMIT_SG == NETDEV_XDP_ACT_NDO_XMIT_SG, "netdev uapi");
#endif

int fp_socket_set_receive_buffer(int fd, int bytes)
{
	int granted = 0;
	socklen_t len = sizeof(granted);

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) < 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes)) < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &len) < 0)
		return -errno;
	return granted;
}

int fp_poll_readable(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int rc;

	do
		rc = poll(&pfd, 1, timeout_ms);
	while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return -errno;
	return rc > 0 ? 1 : 0;
}
