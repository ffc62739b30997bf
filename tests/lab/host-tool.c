// SPDX-License-Identifier: MIT
/*
 * host-tool: what the lab host's busybox cannot do, for the hardening
 * cases (tests/lab/cases/x86_64/unprivileged-net.sh, blk-dm-error.sh).
 * /lab/bin/host-tool in the lab host; built static with musl by
 * tests/lab/run.
 *
 *   host-tool tap NAME UID [multi_queue]
 *       a persistent TAP owned by UID (IFF_TAP|IFF_NO_PI|IFF_VNET_HDR, as
 *       wisp opens it; multi_queue for wisp's num_queues > 2), as
 *       `ip tuntap add dev NAME mode tap user UID vnet_hdr` would make it
 *   host-tool tap-del NAME [multi_queue]
 *       the same TAP no longer persistent: it goes away
 *   host-tool tap-fd NAME FD PROG ARGS...
 *       a TAP queue of NAME (made if need be, not persistent) open on
 *       descriptor FD, inherited by PROG: wisp's --net fd=FD
 *   host-tool runas UID GID GROUPS PROG ARGS...
 *       PROG as UID:GID with the supplementary groups GROUPS (a comma-
 *       separated list of numbers, or "-" for none) and no capabilities;
 *       busybox's su needs a passwd entry and its setpriv cannot change ids
 *   host-tool dm-create NAME "START LEN TYPE ARGS" ...
 *       a device-mapper device with that table, one argument per target
 *       (as a line of `dmsetup table`), resumed; prints its node
 *       (/dev/dm-N, which devtmpfs makes)
 *   host-tool dm-remove NAME
 *   host-tool api SOCKET METHOD PATH
 *       one HTTP/1.1 request without a body to wisp's --api-socket;
 *       prints the whole answer (the lab host has no curl)
 *   host-tool api-raw SOCKET
 *       sends stdin as it is, prints the answer (malformed requests)
 *   host-tool api-idle SOCKET N SECONDS
 *       N connections that send nothing, held open for SECONDS
 *   host-tool serial SOCKET SECONDS [MARKER [LINE]]
 *       a client of wisp's --serial socket=SOCKET: what the guest writes
 *       to stdout as it comes, for SECONDS or until wisp closes; once
 *       the text MARKER has come, LINE and a newline are sent, or without
 *       LINE the client leaves; MARKER "-" sends LINE at once
 *   host-tool core-cookie TID
 *       the thread's core scheduling cookie (PR_SCHED_CORE_GET), in hex,
 *       0 for none; "unsupported EINVAL" (kernel without core scheduling)
 *       or "unsupported ENODEV" (no SMT) where there are none to read
 *
 * Every failure is one line on stderr and exit status 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/dm-ioctl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

static int die(const char *what)
{
	fprintf(stderr, "host-tool: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int usage(void)
{
	fprintf(stderr, "host-tool: usage: tap NAME UID [multi_queue] | tap-del NAME [multi_queue] | "
		"tap-fd NAME FD PROG ARGS... | runas UID GID GROUPS PROG ARGS... | dm-create NAME TARGET... | dm-remove NAME | "
		"api SOCKET METHOD PATH | api-raw SOCKET | api-idle SOCKET N SECONDS | "
		"serial SOCKET SECONDS [MARKER [LINE]] | core-cookie TID\n");
	return 1;
}

static unsigned long number(const char *s, const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end) {
		fprintf(stderr, "host-tool: %s '%s' is not a number\n", what, s);
		exit(1);
	}
	return v;
}

/* ------------------------------------------------------------------ TAP */

static int tap_open(const char *name, int argc, char **argv)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		die("/dev/net/tun");
	if (argc > 0 && !strcmp(argv[0], "multi_queue"))
		ifr.ifr_flags |= IFF_MULTI_QUEUE;
	else if (argc > 0)
		exit(usage());
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr))
		die("TUNSETIFF");
	return fd;
}

static int tap(int argc, char **argv)
{
	uid_t uid;
	int fd;

	if (argc < 2)
		return usage();
	uid = (uid_t)number(argv[1], "UID");
	fd = tap_open(argv[0], argc - 2, argv + 2);
	if (ioctl(fd, TUNSETOWNER, (unsigned long)uid))
		die("TUNSETOWNER");
	if (ioctl(fd, TUNSETPERSIST, 1UL))
		die("TUNSETPERSIST");
	printf("TAP %s owner %u\n", argv[0], (unsigned)uid);
	return 0;
}

static int tap_del(int argc, char **argv)
{
	int fd;

	if (argc < 1)
		return usage();
	fd = tap_open(argv[0], argc - 1, argv + 1);
	if (ioctl(fd, TUNSETPERSIST, 0UL))
		die("TUNSETPERSIST 0");
	return 0;
}

/* ---------------------------------------------------------------- runas */

static int tap_fd(int argc, char **argv)
{
	int want, fd;

	if (argc < 3)
		return usage();
	want = (int)number(argv[1], "FD");
	fd = tap_open(argv[0], 0, NULL);
	/* dup2 onto itself would keep O_CLOEXEC */
	if (fd == want ? fcntl(fd, F_SETFD, 0) : dup2(fd, want) < 0)
		die("dup2");
	execv(argv[2], argv + 2);
	return die(argv[2]);
}

static int runas(int argc, char **argv)
{
	gid_t groups[32];
	size_t n = 0;
	uid_t uid;
	gid_t gid;

	if (argc < 4)
		return usage();
	uid = (uid_t)number(argv[0], "UID");
	gid = (gid_t)number(argv[1], "GID");
	if (strcmp(argv[2], "-")) {
		for (char *s = strtok(argv[2], ","); s && n < 32; s = strtok(NULL, ","))
			groups[n++] = (gid_t)number(s, "group");
	}
	/* groups and gid first: after setuid they can no longer change;
	 * setuid from root to another uid clears every capability */
	if (setgroups(n, groups) || setgid(gid) || setuid(uid))
		die("dropping privileges");
	if (setuid(0) == 0) {
		fprintf(stderr, "host-tool: still able to become root after setuid(%u)\n",
			(unsigned)uid);
		return 1;
	}
	execvp(argv[3], argv + 3);
	die(argv[3]);
	return 1;
}

/* ------------------------------------------------------- device-mapper */

#define DM_BUF 16384

static int dm_control(void)
{
	int fd = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		die("/dev/mapper/control (is dm-mod loaded?)");
	return fd;
}

static void dm_init(struct dm_ioctl *io, const char *name, size_t size)
{
	memset(io, 0, size);
	io->version[0] = DM_VERSION_MAJOR;
	io->data_size = (uint32_t)size;
	io->data_start = sizeof(*io);
	snprintf(io->name, sizeof(io->name), "%s", name);
}

/* "START LEN TYPE ARGS" after the spec at *at; false if malformed */
static int dm_target(char *buf, size_t *at, const char *line)
{
	struct dm_target_spec *t = (void *)(buf + *at);
	unsigned long long start, len;
	char type[DM_MAX_TYPE_NAME];
	int used = 0;
	size_t plen;

	if (sscanf(line, "%llu %llu %15s %n", &start, &len, type, &used) < 3 || !used)
		return 0;
	plen = strlen(line + used) + 1;
	if (*at + sizeof(*t) + plen + 8 > DM_BUF)
		return 0;
	t->sector_start = start;
	t->length = len;
	snprintf(t->target_type, sizeof(t->target_type), "%s", type);
	memcpy(buf + *at + sizeof(*t), line + used, plen);
	/* the next spec starts 8-byte aligned, `next` bytes after this one */
	t->next = (uint32_t)((sizeof(*t) + plen + 7) & ~7ul);
	*at += t->next;
	return 1;
}

static int dm_create(int argc, char **argv)
{
	static char buf[DM_BUF] __attribute__((aligned(8)));
	struct dm_ioctl *io = (void *)buf;
	size_t at = sizeof(*io);
	int fd, i;
	dev_t dev;

	if (argc < 2)
		return usage();
	fd = dm_control();
	dm_init(io, argv[0], sizeof(*io));
	if (ioctl(fd, DM_DEV_CREATE, io))
		die("DM_DEV_CREATE");
	dev = (dev_t)io->dev;
	dm_init(io, argv[0], sizeof(buf));
	for (i = 1; i < argc; i++) {
		if (!dm_target(buf, &at, argv[i])) {
			fprintf(stderr, "host-tool: bad target '%s' (START LEN TYPE ARGS)\n", argv[i]);
			return 1;
		}
	}
	io->target_count = (uint32_t)(argc - 1);
	io->data_size = (uint32_t)at;
	if (ioctl(fd, DM_TABLE_LOAD, io))
		die("DM_TABLE_LOAD");
	dm_init(io, argv[0], sizeof(*io));
	if (ioctl(fd, DM_DEV_SUSPEND, io))	/* without DM_SUSPEND_FLAG: resume */
		die("resuming");
	printf("/dev/dm-%u\n", minor(dev));
	return 0;
}

static int dm_remove(int argc, char **argv)
{
	struct dm_ioctl io;
	int fd;

	if (argc < 1)
		return usage();
	fd = dm_control();
	dm_init(&io, argv[0], sizeof(io));
	if (ioctl(fd, DM_DEV_REMOVE, &io))
		die("DM_DEV_REMOVE");
	return 0;
}

static int api_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "host-tool: connect %s: %s\n", path, strerror(errno));
		return -1;
	}
	return fd;
}

/* Sends request, then copies the answer to stdout until wisp closes. */
static int api_exchange(const char *path, const char *request, size_t len)
{
	char buf[4096];
	int fd = api_connect(path);
	ssize_t n;

	if (fd < 0)
		return 1;
	if (write(fd, request, len) != (ssize_t)len) {
		fprintf(stderr, "host-tool: write: %s\n", strerror(errno));
		return 1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	close(fd);
	return n < 0;
}

static int api(int argc, char **argv)
{
	char req[512];
	int n;

	if (argc != 3)
		return usage();
	n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: localhost\r\n"
		     "Connection: close\r\n\r\n", argv[1], argv[2]);
	return n < 0 || (size_t)n >= sizeof(req) ? usage() : api_exchange(argv[0], req, (size_t)n);
}

static int api_raw(int argc, char **argv)
{
	static char req[65536];
	size_t len = fread(req, 1, sizeof(req), stdin);

	return argc != 1 ? usage() : api_exchange(argv[0], req, len);
}

static int api_idle(int argc, char **argv)
{
	unsigned long n, i;

	if (argc != 3)
		return usage();
	n = number(argv[1], "connection count");
	for (i = 0; i < n; i++)
		if (api_connect(argv[0]) < 0)
			return 1;
	sleep((unsigned)number(argv[2], "seconds"));
	return 0;
}

/* --serial socket=: the guest's bytes to stdout; the line once the
 * marker has been seen (it may span reads: a window of the last bytes) */
static int serial(int argc, char **argv)
{
	const char *marker = argc >= 3 ? argv[2] : NULL, *line = argc == 4 ? argv[3] : NULL;
	char buf[4096], window[8192];
	size_t wlen = 0;
	time_t end;
	int fd;

	if (argc < 2 || argc > 4)
		return usage();
	end = time(NULL) + (time_t)number(argv[1], "seconds");
	fd = api_connect(argv[0]);
	if (fd < 0)
		return 1;
	if (marker && !strcmp(marker, "-")) {
		if (!line || dprintf(fd, "%s\n", line) < 0)
			return line ? die("write") : usage();
		marker = NULL;
	}
	while (time(NULL) < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 200) <= 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;	/* wisp closed the connection */
		fwrite(buf, 1, (size_t)n, stdout);
		fflush(stdout);
		if (!marker)
			continue;
		if (wlen + (size_t)n > sizeof(window)) {
			size_t drop = wlen + (size_t)n - sizeof(window);

			memmove(window, window + drop, wlen - drop);
			wlen -= drop;
		}
		memcpy(window + wlen, buf, (size_t)n);
		wlen += (size_t)n;
		if (memmem(window, wlen, marker, strlen(marker))) {
			if (!line)
				break;	/* seen: leave */
			if (dprintf(fd, "%s\n", line) < 0)
				return die("write");
			marker = NULL;
		}
	}
	close(fd);
	return 0;
}

static int core_cookie(int argc, char **argv)
{
	unsigned long long cookie = 0;

	if (argc != 1)
		return usage();
	if (prctl(62 /* PR_SCHED_CORE */, 0 /* GET */, atoi(argv[0]), 0 /* thread */,
		  (unsigned long)&cookie)) {
		if (errno == EINVAL || errno == ENODEV) {
			printf("unsupported %s\n", errno == EINVAL ? "EINVAL" : "ENODEV");
			return 0;
		}
		fprintf(stderr, "host-tool: PR_SCHED_CORE_GET %s: %s\n", argv[0], strerror(errno));
		return 1;
	}
	printf("%llx\n", cookie);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	if (!strcmp(argv[1], "tap"))
		return tap(argc - 2, argv + 2);
	if (!strcmp(argv[1], "tap-del"))
		return tap_del(argc - 2, argv + 2);
	if (!strcmp(argv[1], "tap-fd"))
		return tap_fd(argc - 2, argv + 2);
	if (!strcmp(argv[1], "runas"))
		return runas(argc - 2, argv + 2);
	if (!strcmp(argv[1], "dm-create"))
		return dm_create(argc - 2, argv + 2);
	if (!strcmp(argv[1], "dm-remove"))
		return dm_remove(argc - 2, argv + 2);
	if (!strcmp(argv[1], "api"))
		return api(argc - 2, argv + 2);
	if (!strcmp(argv[1], "api-raw"))
		return api_raw(argc - 2, argv + 2);
	if (!strcmp(argv[1], "api-idle"))
		return api_idle(argc - 2, argv + 2);
	if (!strcmp(argv[1], "serial"))
		return serial(argc - 2, argv + 2);
	if (!strcmp(argv[1], "core-cookie"))
		return core_cookie(argc - 2, argv + 2);
	return usage();
}
