/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * fp_system.h - the process-level system calls of the daemon and the CLI,
 * prefixed fp_: signals as a file descriptor, a one-shot timer, poll,
 * pid files, daemonizing, small files, the interface list. Functions
 * returning int give 0 (or a count / fd) on success and -errno on failure.
 */
#ifndef FP_SYSTEM_H
#define FP_SYSTEM_H

#include <stddef.h>
#include <stdint.h>

#define FP_SIGHUP  1
#define FP_SIGINT  2
#define FP_SIGTERM 15

/* Blocks SIGHUP, SIGINT and SIGTERM and returns a signalfd delivering them. */
int fp_signalfd_open(void);
/* Reads one pending signal number from the signalfd: >0, 0 if none, -errno. */
int fp_signalfd_read(int fd);

/* A CLOCK_MONOTONIC timerfd (non-blocking). */
int fp_timerfd_open(void);
/* Arms the timer to fire once after `ms` milliseconds (0 disarms). */
int fp_timerfd_arm(int fd, uint64_t ms);
/* Consumes an expiry: number of expirations, 0 if none, -errno. */
int64_t fp_timerfd_read(int fd);

/* poll(2) for POLLIN on `count` fds; ready[i] is set to 1 for readable
 * (or hung-up) fds. timeout_ms < 0 waits forever. Returns the number ready,
 * 0 on timeout or EINTR, -errno on error. */
int fp_poll_fds(const int *fds, uint8_t *ready, int count, int timeout_ms);

uint64_t fp_monotonic_ms(void);
uint64_t fp_monotonic_ns(void);
uint64_t fp_monotonic_coarse_ns(void); /* what bpf_ktime_get_coarse_ns reads */
void fp_sleep_ms(uint32_t ms);

int32_t fp_getpid(void);
/* kill(pid, sig): 0 or -errno (-ESRCH: no such process). */
int fp_kill(int32_t pid, int sig);
/* 1 if `pid` is a live process (not a zombie), 0 if not. */
int fp_process_alive(int32_t pid);
/* Detaches from the terminal (fork, setsid, fork, stdin to /dev/null).
 * Returns 0 in the daemon, or exits in the parents. */
int fp_daemonize(void);
/* Notes the descriptors the process was started with (call first thing). */
void fp_remember_inherited_descriptors(void);
/* Replaces this process's image with a fresh run of its own executable
 * (same pid); of its descriptors only stdio and the inherited ones stay
 * open. Returns only on failure (-errno). `argv` ends with NULL. */
int fp_reexec(const char *const *argv);

/* Writes `len` bytes to `path` atomically (temporary file + rename). */
int fp_write_file_atomic(const char *path, const void *bytes, size_t len, unsigned int mode);
/* Writes `len` bytes to an existing file in place (procfs, sysfs). */
int fp_write_file(const char *path, const void *bytes, size_t len);
/* Size of a file, or -errno. */
long fp_file_size(const char *path);
int fp_rmdir(const char *path);

/* The interfaces of the calling thread's network namespace: writes up to
 * `capacity` ifindexes, returns how many there are (may exceed capacity). */
int fp_interface_indexes(uint32_t *indexes, int capacity);

/* Resident set size of this process in KiB (from /proc/self/statm), or -errno. */
long fp_rss_kib(void);

/* Mounts a bpffs on `dir` unless one is there already (1: mounted now,
 * 0: was there, -errno). */
int fp_mount_bpffs_if_needed(const char *dir);

#endif /* FP_SYSTEM_H */
