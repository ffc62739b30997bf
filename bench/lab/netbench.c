// SPDX-License-Identifier: MIT
/*
 * netbench: stream throughput over TCP, vsock and Unix sockets, for the
 * lab's network benchmark (tests/lab/bench/x86_64/net.sh).  Static musl,
 * in the L2 guest (/bin/netbench) and the lab host (/lab/bin/netbench).
 *
 *   netbench send tcp HOST PORT SECS      connect, write for SECS, close
 *   netbench send vsock CID PORT SECS
 *   netbench recv tcp HOST PORT           connect, read to EOF, report
 *   netbench recv vsock CID PORT
 *   netbench sink tcp PORT | unix PATH    accept forever; read each
 *                                         connection to EOF and report
 *   netbench source tcp PORT SECS | unix PATH SECS
 *                                         accept forever; write SECS to each
 *
 * The receiving side measures, from its first byte to EOF, and prints
 *   NETBENCH bytes=N usecs=N kbit=N
 * (kbit: 10^3 bits per second).  Errors: "NETBENCH error ..." on stderr,
 * exit 1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (128 * 1024)

static char buf[CHUNK];

static void die(const char *what)
{
	fprintf(stderr, "NETBENCH error %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int connect_to(const char *kind, const char *where, const char *port)
{
	int fd;

	if (!strcmp(kind, "tcp")) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };

		if (inet_pton(AF_INET, where, &a.sin_addr) != 1) {
			errno = EINVAL;
			die("address");
		}
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
			die("connect tcp");
	} else if (!strcmp(kind, "vsock")) {
		struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = (unsigned)atoi(where),
					 .svm_port = (unsigned)atoi(port) };

		fd = socket(AF_VSOCK, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
			die("connect vsock");
	} else {
		errno = EINVAL;
		die(kind);
	}
	return fd;
}

static int listen_on(const char *kind, const char *where)
{
	int fd, one = 1;

	if (!strcmp(kind, "tcp")) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(where)) };

		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			die("socket");
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)))
			die("bind tcp");
	} else if (!strcmp(kind, "unix")) {
		struct sockaddr_un a = { .sun_family = AF_UNIX };

		if (strlen(where) >= sizeof(a.sun_path)) {
			errno = ENAMETOOLONG;
			die(where);
		}
		strcpy(a.sun_path, where);
		unlink(where);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)))
			die("bind unix");
	} else {
		errno = EINVAL;
		die(kind);
	}
	if (listen(fd, 8))
		die("listen");
	return fd;
}

/* Reads to EOF; reports from the first byte on. */
static void receive(int fd)
{
	uint64_t bytes = 0, t0 = 0, t1;
	ssize_t r;

	while ((r = read(fd, buf, sizeof(buf))) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			die("read");
		}
		if (!bytes)
			t0 = now_us();
		bytes += (uint64_t)r;
	}
	t1 = now_us();
	if (!bytes || t1 <= t0) {
		printf("NETBENCH bytes=%llu usecs=0 kbit=0\n", (unsigned long long)bytes);
	} else {
		printf("NETBENCH bytes=%llu usecs=%llu kbit=%llu\n", (unsigned long long)bytes,
		       (unsigned long long)(t1 - t0),
		       (unsigned long long)(bytes * 8000 / (t1 - t0)));
	}
	fflush(stdout);
}

/* Writes for secs seconds, then closes. */
static void transmit(int fd, unsigned secs)
{
	uint64_t end = now_us() + (uint64_t)secs * 1000000u;

	while (now_us() < end) {
		ssize_t r = write(fd, buf, sizeof(buf));

		if (r < 0 && errno != EINTR)
			die("write");
	}
	close(fd);
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	memset(buf, 0x5a, sizeof(buf));
	if (argc == 6 && !strcmp(argv[1], "send")) {
		transmit(connect_to(argv[2], argv[3], argv[4]), (unsigned)atoi(argv[5]));
		return 0;
	}
	if (argc == 5 && !strcmp(argv[1], "recv")) {
		receive(connect_to(argv[2], argv[3], argv[4]));
		return 0;
	}
	if ((argc == 4 && !strcmp(argv[1], "sink")) || (argc == 5 && !strcmp(argv[1], "source"))) {
		int l = listen_on(argv[2], argv[3]);

		for (;;) {
			int fd = accept(l, NULL, NULL);

			if (fd < 0) {
				if (errno == EINTR)
					continue;
				die("accept");
			}
			if (argc == 4) {
				receive(fd);
				close(fd);
			} else {
				transmit(fd, (unsigned)atoi(argv[4]));
			}
		}
	}
	fprintf(stderr, "usage: netbench send|recv tcp|vsock HOST|CID PORT [SECS]\n"
			"       netbench sink tcp PORT | unix PATH\n"
			"       netbench source tcp PORT SECS | unix PATH SECS\n");
	return 2;
}
