// SPDX-License-Identifier: MIT
/*
 * vsock_host: the host side of tests/guests/virtio_vsock.c (wisp's
 * hybrid vsock, Unix sockets on the host), for the direct test
 * virtio-vsock (tests/direct/virtio.sh).  A static C program (built by
 * tests/guests/Makefile into GUEST_DIR/host/) so that a host with KVM and
 * the nested lab's host, which has no Python, run the same thing.
 *
 *   vsock_host PATH
 * Listens on PATH_5678; connects to wisp's PATH (retrying while wisp
 * starts), sends "CONNECT 1234\n", expects "OK <port>\n", sends "ping",
 * expects "pong", closes; then takes the guest's connection on
 * PATH_5678: "hello\n" in, "world\n" out.  Every step has 30 s.
 * Prints "HOST ..." lines; "HOST FAIL why" and exit status 1 on failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define STEP_SECONDS 30

static void __attribute__((format(printf, 1, 2), noreturn)) fail(const char *fmt, ...)
{
	va_list ap;

	printf("HOST FAIL ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(1);
}

static struct sockaddr_un address(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sa.sun_path))
		fail("socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	return sa;
}

/* reads and writes give up after STEP_SECONDS, as a hung wisp must not
 * hang the test */
static void set_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = STEP_SECONDS };

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		fail("setsockopt: %s", strerror(errno));
}

static void read_exact(int fd, char *buf, size_t n, const char *what)
{
	for (size_t got = 0; got < n;) {
		ssize_t r = read(fd, buf + got, n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			fail("reading %s: %s", what, strerror(errno));
		if (r == 0) {
			buf[got] = 0;
			fail("EOF reading %s", what);
		}
		got += (size_t)r;
	}
	buf[n] = 0;
}

/* a line of at most SIZE - 1 bytes, its "\n" kept */
static void read_line(int fd, char *buf, size_t size, const char *what)
{
	size_t n = 0;

	do {
		if (n + 1 >= size)
			fail("line too long reading %s", what);
		read_exact(fd, buf + n, 1, what);
	} while (buf[n++] != '\n');
	buf[n] = 0;
}

static void write_all(int fd, const char *s)
{
	size_t len = strlen(s);

	for (size_t done = 0; done < len;) {
		ssize_t w = send(fd, s + done, len - done, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			fail("write: %s", strerror(errno));
		done += (size_t)w;
	}
}

int main(int argc, char **argv)
{
	char lpath[108], line[128], reply[8];
	struct sockaddr_un sa;
	struct pollfd pfd;
	time_t deadline;
	int listener, s, c, r;
	size_t len;

	if (argc != 2) {
		fprintf(stderr, "usage: vsock_host PATH\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if ((size_t)snprintf(lpath, sizeof(lpath), "%s_5678", argv[1]) >= sizeof(lpath))
		fail("socket path too long: %s", argv[1]);

	sa = address(lpath);
	listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listener < 0 || bind(listener, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(listener, 1))
		fail("listening on %s: %s", lpath, strerror(errno));

	/* wisp makes its socket when it starts: retry until then */
	sa = address(argv[1]);
	deadline = time(NULL) + STEP_SECONDS;
	for (;;) {
		s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (s < 0)
			fail("socket: %s", strerror(errno));
		if (!connect(s, (struct sockaddr *)&sa, sizeof(sa)))
			break;
		close(s);
		if (time(NULL) > deadline)
			fail("cannot connect to %s", argv[1]);
		usleep(50 * 1000);
	}
	set_timeouts(s);
	write_all(s, "CONNECT 1234\n");
	read_line(s, line, sizeof(line), "the answer to CONNECT");
	len = strlen(line);
	if (strncmp(line, "OK ", 3) || len < 5 || strspn(line + 3, "0123456789") != len - 4)
		fail("answer '%s'", line);
	write_all(s, "ping");
	read_exact(s, reply, 4, "the reply to ping");
	if (strcmp(reply, "pong"))
		fail("reply '%s'", reply);
	close(s);
	line[len - 1] = 0;
	printf("HOST connect 1234: %s ping -> pong\n", line);

	pfd = (struct pollfd){ .fd = listener, .events = POLLIN };
	do
		r = poll(&pfd, 1, STEP_SECONDS * 1000);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		fail("no connection from the guest on %s", lpath);
	c = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		fail("accept: %s", strerror(errno));
	set_timeouts(c);
	read_line(c, line, sizeof(line), "the guest's line");
	if (strcmp(line, "hello\n"))
		fail("guest sent '%s'", line);
	write_all(c, "world\n");
	close(c);
	close(listener);
	printf("HOST accepted on _5678: hello -> world\n");
	return 0;
}
