/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * fp_probe.h - what the running kernel lets BPF programs do, found out by
 * real loads (libbpf 1.1's helper probe answers "supported" for helpers a
 * kernel refuses), and the verifier's word when a load fails.
 */
#ifndef FP_PROBE_H
#define FP_PROBE_H

#include <stddef.h>
#include <stdint.h>

/* How the probe program sets up the helper's arguments. */
#define FP_PROBE_ARGS_CTX   0 /* r1 = the context, r2..r5 = 0 */
#define FP_PROBE_ARGS_ZERO  1 /* r1..r5 = 0 */
#define FP_PROBE_ARGS_FIB   2 /* bpf_fib_lookup: r1 = ctx, r2 = zeroed 64-byte params, r3 = 64, r4 = 0 */

/*
 * Loads a tiny program of `prog_type` that calls helper number `helper`.
 * Returns 1 when the kernel loads it, 0 when the verifier refuses it (its
 * last message in `why`), -errno when the probe could not be made (EPERM).
 * Results are cached per (prog_type, helper).
 */
int fp_probe_helper(uint32_t prog_type, uint32_t helper, int args, char *why, size_t why_size);
/* 1 when bpf_fib_lookup takes `flag` (BPF_FIB_LOOKUP_*), 0 when it refuses
 * it (EINVAL), -errno when the probe could not run; asked by a test run. */
int fp_probe_fib_lookup_flag(uint32_t flag);
/* 1 / 0 / -errno: the kernel loads programs of this type; creates maps of this type. */
int fp_probe_prog_type(uint32_t prog_type);
int fp_probe_map_type(uint32_t map_type);

/*
 * While a capture is on, every libbpf message is scanned for the
 * verifier's refusal of a helper ("program of this type cannot use helper
 * NAME#N", "unknown func NAME#N") and its final line.
 */
void fp_verifier_capture_begin(void);
void fp_verifier_capture_end(void);
/* The helper the last captured load was refused ("" if none), and the
 * verifier's last line ("" if none). */
void fp_verifier_refused_helper(char *buf, size_t size);
void fp_verifier_last_line(char *buf, size_t size);

/* uname -r */
void fp_kernel_release(char *buf, size_t size);

#endif /* FP_PROBE_H */
