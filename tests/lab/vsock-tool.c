// SPDX-License-Identifier: MIT
/*
 * vsock-tool: many concurrent stream connections over virtio-vsock, for
 * the nested lab's virtio-vsock case (the L2 guest's /bin/vsock-tool and
 * the lab host's /lab/bin/vsock-tool; busybox has no vsock or Unix-socket
 * client).  Built static with musl by tests/lab/run.
 *
 *   vsock-tool serve PORT N                 guest: AF_VSOCK listener
 *   vsock-tool connect CID PORT N BYTES     guest: AF_VSOCK clients
 *   vsock-tool host-serve PATH N            host: Unix listener on PATH
 *                                           (wisp's socket=P plus "_PORT")
 *   vsock-tool host-connect PATH PORT N BYTES
 *                                           host: clients through wisp's
 *                                           socket=PATH ("CONNECT PORT\n",
 *                                           answer "OK <n>\n")
 *
 * A server accepts N connections and serves them concurrently (a thread
 * each): it reads until EOF and answers "<bytes> <fnv1a64 hex>\n", then
 * closes.  A client opens N connections at once (a thread each), sends
 * BYTES of pseudo-random data seeded by the connection's index,
 * half-closes, and checks the answer.  Servers print
 * "VSOCK listening ..." once they listen; every mode ends with one line
 * "VSOCK <mode> ok=N failed=M ms=T" (failures are named on lines of their
 * own before it) and exits 0 only if all N connections succeeded.
 * VSOCK_TIMEOUT (seconds, default 60) bounds the whole run: when it is up
 * the summary is printed with what is done so far and the exit status is 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/vm_sockets.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 1024
#define CHUNK 16384

static const char *mode;
static int nconns;
static volatile int n_ok, n_failed;
static struct timespec t0;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static long elapsed_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
}

static void summary(void)
{
	char line[128];
	int n;

	/* write(), not stdio: also called from the alarm handler */
	n = snprintf(line, sizeof(line), "VSOCK %s ok=%d failed=%d ms=%ld\n", mode, n_ok,
		     n_failed + (nconns - n_ok - n_failed), elapsed_ms());
	if (write(1, line, (size_t)n) < 0)
		_exit(1);
}

static void on_alarm(int sig)
{
	static const char msg[] = "VSOCK timed out\n";

	(void)sig;
	if (write(1, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	summary();
	_exit(1);
}

static void result(int idx, const char *fmt, ...)
{
	pthread_mutex_lock(&lock);
	if (fmt) {
		va_list ap;

		printf("VSOCK %s conn %d: ", mode, idx);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
		fflush(stdout);
		n_failed++;
	} else {
		n_ok++;
	}
	pthread_mutex_unlock(&lock);
}

/* --------------------------------------------------------------- data */

static uint64_t fnv1a(uint64_t h, const uint8_t *p, size_t n)
{
	while (n--) {
		h ^= *p++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

#define FNV_INIT 0xcbf29ce484222325ULL

/* xorshift64*, seeded by the connection's index */
static void fill(uint64_t *state, uint8_t *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t x = *state;

		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		*state = x;
		buf[i] = (uint8_t)((x * 0x2545f4914f6cdd1dULL) >> 56);
	}
}

static int write_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;

	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void set_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = 60 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* ------------------------------------------------------------- server */

struct job {
	int idx, fd;
	uint32_t port;		/* client: the vsock port */
	uint64_t cid;
	const char *path;	/* host side: the Unix socket */
	size_t bytes;
};

static void *serve_one(void *arg)
{
	struct job *j = arg;
	uint8_t *buf = malloc(CHUNK);
	uint64_t h = FNV_INIT, total = 0;
	char line[64];
	ssize_t r;
	int n;

	if (!buf) {
		result(j->idx, "out of memory");
		goto out;
	}
	for (;;) {
		r = recv(j->fd, buf, CHUNK, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		h = fnv1a(h, buf, (size_t)r);
		total += (uint64_t)r;
	}
	if (r < 0) {
		result(j->idx, "read after %llu bytes: %s", (unsigned long long)total,
		       strerror(errno));
		goto out;
	}
	n = snprintf(line, sizeof(line), "%llu %016llx\n", (unsigned long long)total,
		     (unsigned long long)h);
	if (write_all(j->fd, line, (size_t)n))
		result(j->idx, "answer: %s", strerror(errno));
	else
		result(j->idx, NULL);
out:
	close(j->fd);
	free(buf);
	return NULL;
}

static int do_serve(int lfd, const char *what)
{
	pthread_t th[MAX_CONNS];
	struct job jobs[MAX_CONNS];
	pthread_attr_t attr;
	int started = 0;

	if (listen(lfd, 128)) {
		printf("VSOCK %s: listen: %s\n", mode, strerror(errno));
		return -1;
	}
	printf("VSOCK listening %s\n", what);
	fflush(stdout);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (int i = 0; i < nconns; i++) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR) {
				i--;
				continue;
			}
			printf("VSOCK %s: accept: %s\n", mode, strerror(errno));
			break;
		}
		set_timeouts(fd);
		jobs[i] = (struct job){ .idx = i, .fd = fd };
		if (pthread_create(&th[i], &attr, serve_one, &jobs[i])) {
			close(fd);
			result(i, "no thread");
			continue;
		}
		started = i + 1;
	}
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	close(lfd);
	return 0;
}

/* ------------------------------------------------------------- client */

/* Sends the data, half-closes, checks the answer. */
static void client_talk(struct job *j)
{
	uint8_t *buf = malloc(CHUNK);
	uint64_t seed = 0x9e3779b97f4a7c15ULL * (uint64_t)(j->idx + 1), h = FNV_INIT;
	unsigned long long got_n, got_h;
	char ans[64];
	size_t left = j->bytes, have = 0;
	ssize_t r;

	if (!buf) {
		result(j->idx, "out of memory");
		return;
	}
	while (left) {
		size_t k = left < CHUNK ? left : CHUNK;

		fill(&seed, buf, k);
		h = fnv1a(h, buf, k);
		if (write_all(j->fd, buf, k)) {
			result(j->idx, "write after %zu bytes: %s", j->bytes - left,
			       strerror(errno));
			free(buf);
			return;
		}
		left -= k;
	}
	free(buf);
	if (shutdown(j->fd, SHUT_WR)) {
		result(j->idx, "shutdown: %s", strerror(errno));
		return;
	}
	for (;;) {
		r = recv(j->fd, ans + have, sizeof(ans) - 1 - have, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || (have += (size_t)r) == sizeof(ans) - 1)
			break;
	}
	if (r < 0) {
		result(j->idx, "reading the answer: %s", strerror(errno));
		return;
	}
	ans[have] = 0;
	if (sscanf(ans, "%llu %llx", &got_n, &got_h) != 2) {
		result(j->idx, "bad answer '%.40s'", ans);
		return;
	}
	if (got_n != j->bytes || got_h != h) {
		result(j->idx, "peer got %llu bytes fnv %016llx, sent %zu fnv %016llx", got_n,
		       got_h, j->bytes, (unsigned long long)h);
		return;
	}
	result(j->idx, NULL);
}

static void *connect_vsock(void *arg)
{
	struct job *j = arg;
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = (unsigned)j->cid,
				  .svm_port = j->port };
	struct timeval ct = { .tv_sec = 30 };	/* the default is 2 s */

	j->fd = socket(AF_VSOCK, SOCK_STREAM, 0);
	if (j->fd < 0) {
		result(j->idx, "socket: %s", strerror(errno));
		return NULL;
	}
	setsockopt(j->fd, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, &ct, sizeof(ct));
	set_timeouts(j->fd);
	if (connect(j->fd, (struct sockaddr *)&sa, sizeof(sa)))
		result(j->idx, "connect: %s", strerror(errno));
	else
		client_talk(j);
	close(j->fd);
	return NULL;
}

static void *connect_unix(void *arg)
{
	struct job *j = arg;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char line[32];
	size_t n = 0;
	int len;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", j->path);
	j->fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (j->fd < 0) {
		result(j->idx, "socket: %s", strerror(errno));
		return NULL;
	}
	set_timeouts(j->fd);
	if (connect(j->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		result(j->idx, "connect %s: %s", j->path, strerror(errno));
		goto out;
	}
	len = snprintf(line, sizeof(line), "CONNECT %u\n", j->port);
	if (write_all(j->fd, line, (size_t)len)) {
		result(j->idx, "CONNECT: %s", strerror(errno));
		goto out;
	}
	/* a byte at a time: nothing after the line may be consumed here */
	for (;;) {
		ssize_t r = recv(j->fd, line + n, 1, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			result(j->idx, "no OK after CONNECT %u (%s)", j->port,
			       r ? strerror(errno) : "EOF");
			goto out;
		}
		if (line[n] == '\n')
			break;
		if (++n == sizeof(line) - 1) {
			result(j->idx, "answer to CONNECT too long");
			goto out;
		}
	}
	line[n] = 0;
	if (strncmp(line, "OK ", 3) || line[3] < '0' || line[3] > '9') {
		result(j->idx, "CONNECT %u answered '%s'", j->port, line);
		goto out;
	}
	client_talk(j);
out:
	close(j->fd);
	return NULL;
}

static void do_connect(void *(*fn)(void *), const char *path, uint64_t cid, uint32_t port,
		       size_t bytes)
{
	static pthread_t th[MAX_CONNS];
	static struct job jobs[MAX_CONNS];
	pthread_attr_t attr;
	int started = 0;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (int i = 0; i < nconns; i++) {
		jobs[i] = (struct job){ .idx = i, .fd = -1, .port = port, .cid = cid,
					.path = path, .bytes = bytes };
		if (pthread_create(&th[i], &attr, fn, &jobs[i])) {
			result(i, "no thread");
			continue;
		}
		started = i + 1;
	}
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
}

/* --------------------------------------------------------------- main */

static unsigned long num(const char *s, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || end == s || *end || v > max) {
		fprintf(stderr, "vsock-tool: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

static void usage(void)
{
	fprintf(stderr, "usage: vsock-tool serve PORT N\n"
			"       vsock-tool connect CID PORT N BYTES\n"
			"       vsock-tool host-serve PATH N\n"
			"       vsock-tool host-connect PATH PORT N BYTES\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *env = getenv("VSOCK_TIMEOUT");

	if (argc < 2)
		usage();
	mode = argv[1];
	clock_gettime(CLOCK_MONOTONIC, &t0);
	signal(SIGALRM, on_alarm);
	alarm(env ? (unsigned)num(env, 86400) : 60);

	if (!strcmp(mode, "serve") && argc == 4) {
		struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY };
		char what[32];
		int fd;

		sa.svm_port = (unsigned)num(argv[2], UINT32_MAX);
		nconns = (int)num(argv[3], MAX_CONNS);
		fd = socket(AF_VSOCK, SOCK_STREAM, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
			printf("VSOCK serve: vsock port %s: %s\n", argv[2], strerror(errno));
		} else {
			snprintf(what, sizeof(what), "vsock port %s", argv[2]);
			do_serve(fd, what);
		}
	} else if (!strcmp(mode, "host-serve") && argc == 4) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int fd;

		nconns = (int)num(argv[3], MAX_CONNS);
		if (strlen(argv[2]) >= sizeof(sa.sun_path)) {
			fprintf(stderr, "vsock-tool: path too long\n");
			return 2;
		}
		strcpy(sa.sun_path, argv[2]);
		unlink(argv[2]);	/* a stale socket */
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
			printf("VSOCK host-serve: %s: %s\n", argv[2], strerror(errno));
		else
			do_serve(fd, argv[2]);
		unlink(argv[2]);
	} else if (!strcmp(mode, "connect") && argc == 6) {
		uint64_t cid = num(argv[2], UINT32_MAX);
		uint32_t port = (uint32_t)num(argv[3], UINT32_MAX);

		nconns = (int)num(argv[4], MAX_CONNS);
		do_connect(connect_vsock, NULL, cid, port, num(argv[5], 1UL << 30));
	} else if (!strcmp(mode, "host-connect") && argc == 6) {
		uint32_t port = (uint32_t)num(argv[3], UINT32_MAX);

		nconns = (int)num(argv[4], MAX_CONNS);
		do_connect(connect_unix, argv[2], 0, port, num(argv[5], 1UL << 30));
	} else {
		usage();
	}
	alarm(0);
	pthread_mutex_lock(&lock);
	fflush(stdout);
	summary();
	return n_ok == nconns && !n_failed ? 0 : 1;
}
