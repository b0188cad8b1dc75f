// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* fp_probe.c - see include/fp_probe.h; also libbpf's message printer. */
#include "fp_probe.h"
#include "fastpath_shim.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

/* ---- libbpf's messages ---- */

static int print_quiet;
static int capturing;
static char refused_helper[64];
static char last_line[256];

static void copy_line(char *dst, size_t size, const char *from, const char *to)
{
	size_t len = (size_t)(to - from);

	while (len && (from[len - 1] == '\n' || from[len - 1] == ' '))
		len--;
	if (len >= size)
		len = size - 1;
	memcpy(dst, from, len);
	dst[len] = 0;
}

/* Finds the refused helper's name and the verifier's last line in one message. */
static void scan_message(const char *text)
{
	static const char *const refusals[] = { "cannot use helper ", "unknown func " };
	const char *end = strstr(text, "-- END PROG LOAD LOG --");

	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]) && !refused_helper[0]; i++) {
		const char *name = strstr(text, refusals[i]);
		size_t len = 0;

		if (!name)
			continue;
		name += strlen(refusals[i]);
		while (len + 1 < sizeof(refused_helper) && name[len] && name[len] != '#' && name[len] != '\n')
			len++;
		memcpy(refused_helper, name, len);
		refused_helper[len] = 0;
	}
	if (end) {
		const char *line = end;

		while (line > text && line[-1] == '\n')
			line--;
		while (line > text && line[-1] != '\n')
			line--;
		copy_line(last_line, sizeof(last_line), line, end);
	}
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (capturing) {
		va_list copy;
		int len;

		va_copy(copy, args);
		len = vsnprintf(NULL, 0, fmt, copy);
		va_end(copy);
		if (len > 0) {
			char *text = malloc((size_t)len + 1);

			if (text) {
				va_copy(copy, args);
				vsnprintf(text, (size_t)len + 1, fmt, copy);
				va_end(copy);
				scan_message(text);
				free(text);
			}
		}
	}
	/* libbpf's own default: everything but debug, on stderr. */
	if (print_quiet || level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, args);
}

void fp_libbpf_set_quiet(int quiet)
{
	print_quiet = quiet;
	libbpf_set_print(libbpf_print);
}

void fp_verifier_capture_begin(void)
{
	refused_helper[0] = 0;
	last_line[0] = 0;
	capturing = 1;
	libbpf_set_print(libbpf_print);
}

void fp_verifier_capture_end(void) { capturing = 0; }

void fp_verifier_refused_helper(char *buf, size_t size)
{
	if (size)
		snprintf(buf, size, "%s", refused_helper);
}

void fp_verifier_last_line(char *buf, size_t size)
{
	if (size)
		snprintf(buf, size, "%s", last_line);
}

/* ---- probes by a real load ---- */

#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })
#define MOV_IMM(d, i)  INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define MOV_REG(d, s)  INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define ADD_IMM(d, i)  INSN(BPF_ALU64 | BPF_ADD | BPF_K, d, 0, 0, i)
#define STORE_DW(o)    INSN(BPF_ST | BPF_MEM | BPF_DW, BPF_REG_10, 0, o, 0)
#define CALL(helper)   INSN(BPF_JMP | BPF_CALL, 0, 0, 0, helper)
#define EXIT()         INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

/* The probe program: arguments as `args` says, the call, return 0. */
static int probe_program(struct bpf_insn *insns, uint32_t helper, int args)
{
	int n = 0;

	if (args == FP_PROBE_ARGS_FIB) {
		for (int off = -64; off < 0; off += 8)
			insns[n++] = STORE_DW(off);
		insns[n++] = MOV_REG(BPF_REG_2, BPF_REG_10);
		insns[n++] = ADD_IMM(BPF_REG_2, -64);
		insns[n++] = MOV_IMM(BPF_REG_3, 64);
		insns[n++] = MOV_IMM(BPF_REG_4, 0);
	} else {
		for (int reg = args == FP_PROBE_ARGS_ZERO ? BPF_REG_1 : BPF_REG_2; reg <= BPF_REG_5; reg++)
			insns[n++] = MOV_IMM(reg, 0);
	}
	insns[n++] = CALL((int32_t)helper);
	insns[n++] = MOV_IMM(BPF_REG_0, 0);
	insns[n++] = EXIT();
	return n;
}

struct probe_result {
	uint32_t prog_type, helper;
	int result;
	char why[160];
};

int fp_probe_helper(uint32_t prog_type, uint32_t helper, int args, char *why, size_t why_size)
{
	static struct probe_result cache[16];
	static int cached;
	struct bpf_insn insns[24];
	char log[4096];
	int n, fd, result;

	for (int i = 0; i < cached; i++) {
		if (cache[i].prog_type == prog_type && cache[i].helper == helper) {
			snprintf(why, why_size, "%s", cache[i].why);
			return cache[i].result;
		}
	}
	n = probe_program(insns, helper, args);
	log[0] = 0;
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .log_buf = log, .log_size = sizeof(log), .log_level = 1);
	fd = bpf_prog_load((enum bpf_prog_type)prog_type, NULL, "GPL", insns, (size_t)n, &opts);
	if (fd >= 0) {
		close(fd);
		result = 1;
		log[0] = 0;
	} else {
		result = errno == EPERM || errno == ENOMEM ? -errno : 0;
		/* The verifier's last line says why. */
		size_t len = strlen(log);
		while (len && log[len - 1] == '\n')
			log[--len] = 0;
		char *line = strrchr(log, '\n');
		memmove(log, line ? line + 1 : log, strlen(line ? line + 1 : log) + 1);
		if (!log[0])
			snprintf(log, sizeof(log), "%s", strerror(errno));
	}
	snprintf(why, why_size, "%s", log);
	if (result >= 0 && cached < (int)(sizeof(cache) / sizeof(cache[0]))) {
		cache[cached] = (struct probe_result){ .prog_type = prog_type, .helper = helper, .result = result };
		snprintf(cache[cached].why, sizeof(cache[cached].why), "%.159s", log);
		cached++;
	}
	return result;
}

int fp_probe_fib_lookup_flag(uint32_t flag)
{
	struct bpf_insn insns[24];
	unsigned char frame[64] = { 0 };
	int n = 0, fd, rc;

	for (int off = -64; off < 0; off += 8)
		insns[n++] = STORE_DW(off);
	insns[n++] = MOV_REG(BPF_REG_2, BPF_REG_10);
	insns[n++] = ADD_IMM(BPF_REG_2, -64);
	insns[n++] = MOV_IMM(BPF_REG_3, 64);
	insns[n++] = MOV_IMM(BPF_REG_4, (int32_t)flag);
	insns[n++] = CALL(BPF_FUNC_fib_lookup);
	insns[n++] = INSN(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 2, -EINVAL);
	insns[n++] = MOV_IMM(BPF_REG_0, 1);
	insns[n++] = EXIT();
	insns[n++] = MOV_IMM(BPF_REG_0, 0);
	insns[n++] = EXIT();
	fd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, NULL, "GPL", insns, (size_t)n, NULL);
	if (fd < 0)
		return -errno;
	LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = frame, .data_size_in = sizeof(frame));
	rc = bpf_prog_test_run_opts(fd, &run);
	rc = rc < 0 ? -errno : (int)run.retval;
	close(fd);
	return rc;
}

int fp_probe_prog_type(uint32_t prog_type)
{
	return libbpf_probe_bpf_prog_type((enum bpf_prog_type)prog_type, NULL);
}

int fp_probe_map_type(uint32_t map_type)
{
	return libbpf_probe_bpf_map_type((enum bpf_map_type)map_type, NULL);
}

void fp_kernel_release(char *buf, size_t size)
{
	struct utsname name;

	if (size)
		snprintf(buf, size, "%s", uname(&name) == 0 ? name.release : "unknown");
}
