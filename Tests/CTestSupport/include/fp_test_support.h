/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * fp_test_support.h - what only the tests call: BPF_PROG_TEST_RUN of the
 * programs on crafted frames, and entering a network namespace. Not part
 * of the router binary.
 */
#ifndef FP_TEST_SUPPORT_H
#define FP_TEST_SUPPORT_H

#include <stdint.h>

/* setns(fd, CLONE_NEWNET) for the calling thread; -errno. */
int fp_setns_net(int fd);

/*
 * XDP: data_in = meta (meta_len bytes) followed by the frame; ctx xdp_md has
 * data = meta_len, data_end = data_len, ingress_ifindex. On return data_out
 * holds meta + frame after the program, *meta_len_out the metadata length
 * (from ctx_out), *data_len_out the total.
 */
int fp_test_run_xdp(int prog_fd, const void *data, uint32_t data_len, uint32_t meta_len,
		    uint32_t ingress_ifindex, uint32_t repeat,
		    void *out, uint32_t out_cap, uint32_t *data_len_out, uint32_t *meta_len_out,
		    uint32_t *retval, uint32_t *duration);
/*
 * SKB (TC): ctx __sk_buff with ifindex (the device skb->dev is looked up by
 * in the current netns; 0 = loopback) and ingress_ifindex (skb_iif).
 */
int fp_test_run_skb(int prog_fd, const void *data, uint32_t data_len,
		    uint32_t ifindex, uint32_t ingress_ifindex, uint32_t repeat,
		    void *out, uint32_t out_cap, uint32_t *data_len_out,
		    uint32_t *retval, uint32_t *duration);

#endif /* FP_TEST_SUPPORT_H */
