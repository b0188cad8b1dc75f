// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* fp_system.c - see include/fp_system.h. */
#define _GNU_SOURCE
#include "fp_system.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

int fp_signalfd_open(void)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int fp_signalfd_read(int fd)
{
	struct signalfd_siginfo info;
	ssize_t n;

	do {
		n = read(fd, &info, sizeof(info));
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	return n == sizeof(info) ? (int)info.ssi_signo : 0;
}

int fp_timerfd_open(void)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int fp_timerfd_arm(int fd, uint64_t ms)
{
	struct itimerspec spec;

	memset(&spec, 0, sizeof(spec));
	spec.it_value.tv_sec = (time_t)(ms / 1000);
	spec.it_value.tv_nsec = (long)(ms % 1000) * 1000000L;
	return timerfd_settime(fd, 0, &spec, NULL) < 0 ? -errno : 0;
}

int64_t fp_timerfd_read(int fd)
{
	uint64_t expirations = 0;
	ssize_t n;

	do {
		n = read(fd, &expirations, sizeof(expirations));
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	return (int64_t)expirations;
}

int fp_poll_fds(const int *fds, uint8_t *ready, int count, int timeout_ms)
{
	struct pollfd set[16];
	int i, n;

	if (count < 0 || count > 16)
		return -EINVAL;
	for (i = 0; i < count; i++) {
		set[i].fd = fds[i];
		set[i].events = POLLIN;
		set[i].revents = 0;
	}
	n = poll(set, (nfds_t)count, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (i = 0; i < count; i++)
		ready[i] = (set[i].revents & (POLLIN | POLLHUP | POLLERR)) ? 1 : 0;
	return n;
}

uint64_t fp_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t fp_monotonic_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

uint64_t fp_monotonic_coarse_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC_COARSE);
}

void fp_sleep_ms(uint32_t ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int32_t fp_getpid(void)
{
	return (int32_t)getpid();
}

int fp_kill(int32_t pid, int sig)
{
	return kill((pid_t)pid, sig) < 0 ? -errno : 0;
}

int fp_process_alive(int32_t pid)
{
	char path[64], buf[256], *close_paren;
	FILE *f;
	size_t n;

	if (pid <= 0 || kill((pid_t)pid, 0) < 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* "pid (comm) S ...": a zombie has exited and only waits to be reaped */
	close_paren = strrchr(buf, ')');
	return !(close_paren && close_paren[1] == ' ' && close_paren[2] == 'Z');
}

int fp_daemonize(void)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		return -errno;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0)
		_exit(0);
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		close(fd);
	}
	return chdir("/") < 0 ? -errno : 0;
}

/* The descriptors this process was started with, beyond stdio. */
static int inherited[64];
static int inherited_count = -1;

void fp_remember_inherited_descriptors(void)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *entry;

	inherited_count = 0;
	if (!dir)
		return;
	while ((entry = readdir(dir)) && inherited_count < (int)(sizeof(inherited) / sizeof(inherited[0]))) {
		int fd = atoi(entry->d_name);

		if (fd > 2 && fd != dirfd(dir))
			inherited[inherited_count++] = fd;
	}
	closedir(dir);
}

int fp_reexec(const char *const *argv)
{
	/* What this process opened does not reach the new image; what it
	 * was started with does (its parent may watch it). */
	for (int fd = 3; fd < 1024; fd++) {
		int keep = 0;

		for (int i = 0; i < inherited_count; i++)
			keep |= inherited[i] == fd;
		if (!keep)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	execv("/proc/self/exe", (char *const *)argv);
	return -errno;
}

int fp_write_file_atomic(const char *path, const void *bytes, size_t len, unsigned int mode)
{
	char tmp[4096];
	const char *p = bytes;
	int fd, err = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	if (close(fd) < 0 && !err)
		err = -errno;
	if (!err && rename(tmp, path) < 0)
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

int fp_write_file(const char *path, const void *bytes, size_t len)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), err = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	do {
		n = write(fd, bytes, len);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		err = -errno;
	else if ((size_t)n != len)
		err = -EIO;
	if (close(fd) < 0 && !err)
		err = -errno;
	return err;
}

long fp_file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) < 0 ? -errno : (long)st.st_size;
}

int fp_rmdir(const char *path)
{
	return rmdir(path) < 0 ? -errno : 0;
}

int fp_interface_indexes(uint32_t *indexes, int capacity)
{
	struct if_nameindex *list = if_nameindex(), *it;
	int count = 0;

	if (!list)
		return -errno;
	for (it = list; it->if_index != 0; it++) {
		if (count < capacity)
			indexes[count] = it->if_index;
		count++;
	}
	if_freenameindex(list);
	return count;
}

long fp_rss_kib(void)
{
	long pages_total = 0, pages_resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return -errno;
	if (fscanf(f, "%ld %ld", &pages_total, &pages_resident) != 2)
		pages_resident = 0;
	fclose(f);
	return pages_resident * (sysconf(_SC_PAGESIZE) / 1024);
}

int fp_mount_bpffs_if_needed(const char *dir)
{
	struct statfs fs;

	if (statfs(dir, &fs) < 0)
		return -errno;
	if ((unsigned long)fs.f_type == 0xcafe4a11ul) /* BPF_FS_MAGIC */
		return 0;
	return mount("bpf", dir, "bpf", 0, "mode=0700") < 0 ? -errno : 1;
}
