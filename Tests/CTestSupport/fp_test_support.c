// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* fp_test_support.c - see include/fp_test_support.h. */
#define _GNU_SOURCE
#include "fp_test_support.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>

int fp_setns_net(int fd) { return setns(fd, CLONE_NEWNET) < 0 ? -errno : 0; }

/* ---- BPF_PROG_TEST_RUN ---- */

int fp_test_run_xdp(int prog_fd, const void *data, uint32_t data_len, uint32_t meta_len,
		    uint32_t ingress_ifindex, uint32_t repeat,
		    void *out, uint32_t out_cap, uint32_t *data_len_out, uint32_t *meta_len_out,
		    uint32_t *retval, uint32_t *duration)
{
	struct xdp_md ctx_in, ctx_out;
	memset(&ctx_in, 0, sizeof(ctx_in));
	memset(&ctx_out, 0, sizeof(ctx_out));
	ctx_in.data = meta_len;     /* kernel: metadata length in front of data */
	ctx_in.data_end = data_len; /* kernel: must equal data_size_in */
	ctx_in.ingress_ifindex = ingress_ifindex;
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		    .data_in = data, .data_size_in = data_len,
		    .data_out = out, .data_size_out = out_cap,
		    .ctx_in = &ctx_in, .ctx_size_in = sizeof(ctx_in),
		    .ctx_out = &ctx_out, .ctx_size_out = sizeof(ctx_out),
		    .repeat = (int)repeat);
	int err = bpf_prog_test_run_opts(prog_fd, &opts);
	if (err)
		return err;
	*data_len_out = opts.data_size_out;
	*meta_len_out = ctx_out.data;
	*retval = opts.retval;
	*duration = opts.duration;
	return 0;
}

int fp_test_run_skb(int prog_fd, const void *data, uint32_t data_len,
		    uint32_t ifindex, uint32_t ingress_ifindex, uint32_t repeat,
		    void *out, uint32_t out_cap, uint32_t *data_len_out,
		    uint32_t *retval, uint32_t *duration)
{
	struct __sk_buff ctx_in, ctx_out;
	memset(&ctx_in, 0, sizeof(ctx_in));
	memset(&ctx_out, 0, sizeof(ctx_out));
	ctx_in.ifindex = ifindex;
	ctx_in.ingress_ifindex = ingress_ifindex;
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		    .data_in = data, .data_size_in = data_len,
		    .data_out = out, .data_size_out = out_cap,
		    .ctx_in = &ctx_in, .ctx_size_in = sizeof(ctx_in),
		    .ctx_out = &ctx_out, .ctx_size_out = sizeof(ctx_out),
		    .repeat = (int)repeat);
	int err = bpf_prog_test_run_opts(prog_fd, &opts);
	if (err)
		return err;
	*data_len_out = opts.data_size_out;
	*retval = opts.retval;
	*duration = opts.duration;
	return 0;
}
