// SPDX-License-Identifier: MIT
/*
 * blkbench: a tiny block device benchmark for the nested lab's L2 guest.
 *
 *   blkbench DEV [SECONDS] [THREADS]
 *
 * Opens DEV with O_DIRECT (no guest page cache) and runs, each for at most
 * SECONDS (default 5):
 *   1. 4 KiB random reads, one at a time (queue depth 1, plain pread);
 *   2. the same from THREADS threads at once (default 4): queue depth THREADS;
 *   3. sequential 1 MiB reads from the start of DEV, until its end or the
 *      time is up.
 * Prints one line per result, nothing before the end (every console byte
 * costs the guest a VM exit):
 *   BENCH blk randread4k_qd1_iops=N
 *   BENCH blk randread4k_qd1_lat_us=N       (mean)
 *   BENCH blk randread4k_qdT_iops=N
 *   BENCH blk seqread_mbps=N                (10^6 bytes per second)
 *   BENCH blk done
 * or "BENCH blk error=..." and exit status 1. Built static with musl by
 * tests/lab/run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BLOCK 4096
#define SEQ_CHUNK (1024 * 1024)
#define MAX_THREADS 64

static int fd;
static uint64_t dev_bytes;
static double seconds = 5;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	printf("BENCH blk error=%s:%s\n", what, strerror(errno));
	fflush(stdout);
	exit(1);
}

struct worker {
	pthread_t thread;
	uint64_t seed;
	uint64_t ops;
	int failed;
};

/* xorshift64*: enough randomness for offsets */
static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static void *randread(void *opaque)
{
	struct worker *w = opaque;
	uint64_t blocks = dev_bytes / BLOCK;
	double end;
	void *buf;

	if (posix_memalign(&buf, BLOCK, BLOCK)) {
		w->failed = 1;
		return NULL;
	}
	end = now() + seconds;
	do {
		/* check the clock every 16 reads: clock_gettime is cheap, not free */
		for (int i = 0; i < 16; i++) {
			off_t off = (off_t)(next_rand(&w->seed) % blocks) * BLOCK;

			if (pread(fd, buf, BLOCK, off) != BLOCK) {
				w->failed = 1;
				free(buf);
				return NULL;
			}
			w->ops++;
		}
	} while (now() < end);
	free(buf);
	return NULL;
}

/* returns IOPS over the whole run, all threads together */
static uint64_t run_random(int threads, double *elapsed)
{
	struct worker w[MAX_THREADS];
	uint64_t ops = 0;
	double t0;

	memset(w, 0, sizeof(w));
	t0 = now();
	for (int i = 0; i < threads; i++) {
		w[i].seed = 0x9E3779B97F4A7C15ULL * (uint64_t)(i + 1) ^ (uint64_t)threads;
		if (threads == 1)
			randread(&w[i]);
		else if (pthread_create(&w[i].thread, NULL, randread, &w[i]))
			die("pthread_create");
	}
	for (int i = 0; threads > 1 && i < threads; i++)
		pthread_join(w[i].thread, NULL);
	*elapsed = now() - t0;
	for (int i = 0; i < threads; i++) {
		if (w[i].failed)
			die("pread");
		ops += w[i].ops;
	}
	return (uint64_t)((double)ops / *elapsed + 0.5);
}

static uint64_t run_sequential(void)
{
	uint64_t done = 0;
	double t0, end, el;
	void *buf;

	if (posix_memalign(&buf, BLOCK, SEQ_CHUNK))
		die("posix_memalign");
	t0 = now();
	end = t0 + seconds;
	while (done + SEQ_CHUNK <= dev_bytes && now() < end) {
		ssize_t r = pread(fd, buf, SEQ_CHUNK, (off_t)done);

		if (r != SEQ_CHUNK)
			die("pread");
		done += SEQ_CHUNK;
	}
	el = now() - t0;
	free(buf);
	return (uint64_t)((double)done / el / 1e6 + 0.5);
}

int main(int argc, char **argv)
{
	int threads = 4;
	struct stat st;
	uint64_t iops;
	double el;

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: blkbench DEV [SECONDS] [THREADS]\n");
		return 2;
	}
	if (argc > 2)
		seconds = atof(argv[2]);
	if (argc > 3)
		threads = atoi(argv[3]);
	if (seconds <= 0 || threads < 1 || threads > MAX_THREADS) {
		fprintf(stderr, "blkbench: bad SECONDS or THREADS\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY | O_DIRECT);
	if (fd < 0)
		die("open");
	/* a regular file works too (to try the tool outside a guest) */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		dev_bytes = (uint64_t)st.st_size;
	else if (ioctl(fd, BLKGETSIZE64, &dev_bytes) < 0)
		die("BLKGETSIZE64");
	if (dev_bytes < SEQ_CHUNK)
		die("device too small");

	iops = run_random(1, &el);
	printf("BENCH blk randread4k_qd1_iops=%llu\n", (unsigned long long)iops);
	printf("BENCH blk randread4k_qd1_lat_us=%llu\n",
	       (unsigned long long)(iops ? 1000000 / iops : 0));
	if (threads > 1) {
		iops = run_random(threads, &el);
		printf("BENCH blk randread4k_qd%d_iops=%llu\n", threads,
		       (unsigned long long)iops);
	}
	printf("BENCH blk seqread_mbps=%llu\n", (unsigned long long)run_sequential());
	printf("BENCH blk done\n");
	return 0;
}
