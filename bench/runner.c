// SPDX-License-Identifier: MIT
/*
 * bench/runner: starts VMMs and measures them, for bench/run.
 *
 * A spec file names the variants, one a line, fields separated by tabs:
 *
 *     label  <TAB> accepted exit status <TAB> command, words separated by spaces
 *
 * Lines starting with '#' are comments.  In the command, @SERIAL@ becomes
 * a file private to the loop running it; after every run that file must
 * hold exactly the guest's output (-e, default "!") and the exit status
 * must be the accepted one, or the runner prints the VMM's output and
 * fails: a benchmark never fails on speed, only on a VMM that did not do
 * its job.
 *
 *   runner time -n RUNS [-w WARMUP] [-r RAW.tsv] -s SUMMARY.tsv SPEC
 *       every variant RUNS times, in alternation (the order rotates each
 *       round); wall time around spawn..wait4, CPU time (user + sys) and
 *       peak RSS from wait4's rusage.  RAW has one line a run, SUMMARY
 *       one line a variant and metric: label metric p10 median p90 mean.
 *   runner rate -t SECONDS [-j LOOPS] [-c CPU] SPEC LABEL
 *       LOOPS processes each start the variant back to back for SECONDS;
 *       with -c all of them (and so the VMMs) are bound to that CPU.
 *       Prints "label loops vms elapsed_s vms_per_s".
 *   runner mem -n RUNS -g GUEST_MIB [-r RAW.tsv] -s SUMMARY.tsv SPEC LABEL
 *       runs the variant (a guest that takes a while) and samples
 *       /proc/PID/smaps every 0.5 ms while it lives; the sample with the
 *       largest RSS is split into the guest RAM mapping (the largest
 *       mapping of at least GUEST_MIB), the VMM's other anonymous memory
 *       and its file-backed pages (binary, libraries, kvm_run); also the
 *       largest VmHWM read from /proc/PID/status.  Values in KiB.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_VARIANTS 16
#define MAX_ARGS 64

struct variant {
	char label[64];
	int status;
	char *argv[MAX_ARGS];
	int argc;
};

struct sample {
	double wall_ms, cpu_ms, user_ms, sys_ms, maxrss_kib;
};

static struct variant variants[MAX_VARIANTS];
static int nvariants;
static const char *expect = "!";
static char tmpdir[] = "/tmp/wisp-bench.XXXXXX";

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("runner: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void load_spec(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[4096];

	if (!f)
		die("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		char *label, *status, *cmd, *save = NULL, *w;
		struct variant *v;

		line[strcspn(line, "\n")] = 0;
		if (!line[0] || line[0] == '#')
			continue;
		label = strtok_r(line, "\t", &save);
		status = strtok_r(NULL, "\t", &save);
		cmd = strtok_r(NULL, "\t", &save);
		if (!label || !status || !cmd)
			die("%s: want label<TAB>status<TAB>command: %s", path, line);
		if (nvariants == MAX_VARIANTS)
			die("%s: more than %d variants", path, MAX_VARIANTS);
		v = &variants[nvariants++];
		snprintf(v->label, sizeof(v->label), "%s", label);
		v->status = atoi(status);
		for (w = strtok_r(cmd, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
			if (v->argc == MAX_ARGS - 1)
				die("%s: %s: too many arguments", path, label);
			v->argv[v->argc++] = strdup(w);
		}
		v->argv[v->argc] = NULL;
	}
	fclose(f);
	if (!nvariants)
		die("%s: no variants", path);
}

static struct variant *find_variant(const char *label)
{
	for (int i = 0; i < nvariants; i++)
		if (!strcmp(variants[i].label, label))
			return &variants[i];
	die("no variant '%s' in the spec", label);
	return NULL;
}

/* A private copy of the argv with @SERIAL@ replaced by this loop's file. */
static char **make_argv(const struct variant *v, const char *serial)
{
	char **argv = calloc((size_t)v->argc + 1, sizeof(*argv));

	for (int i = 0; i < v->argc; i++) {
		const char *at = strstr(v->argv[i], "@SERIAL@");

		if (!at) {
			argv[i] = v->argv[i];
			continue;
		}
		if (asprintf(&argv[i], "%.*s%s%s", (int)(at - v->argv[i]), v->argv[i],
			     serial, at + strlen("@SERIAL@")) < 0)
			die("out of memory");
	}
	return argv;
}

struct loop {
	int id;
	char serial[128], log[128];
	char **argv[MAX_VARIANTS];
};

static void loop_init(struct loop *l, int id)
{
	l->id = id;
	snprintf(l->serial, sizeof(l->serial), "%s/serial.%d", tmpdir, id);
	snprintf(l->log, sizeof(l->log), "%s/log.%d", tmpdir, id);
	for (int i = 0; i < nvariants; i++)
		l->argv[i] = make_argv(&variants[i], l->serial);
}

static pid_t spawn(struct loop *l, int vi)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int err;

	unlink(l->serial);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, l->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	err = posix_spawn(&pid, l->argv[vi][0], &fa, NULL, l->argv[vi], environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err)
		die("%s: %s", l->argv[vi][0], strerror(err));
	return pid;
}

static void dump_file(const char *path)
{
	char buf[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stderr);
	close(fd);
}

/* The run must have ended with the accepted status and the guest's output. */
static void check_run(struct loop *l, int vi, int wstatus)
{
	const struct variant *v = &variants[vi];
	char got[256] = "";
	ssize_t n = 0;
	int fd = open(l->serial, O_RDONLY);

	if (fd >= 0) {
		n = read(fd, got, sizeof(got) - 1);
		close(fd);
		got[n > 0 ? n : 0] = 0;
	}
	if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == v->status && !strcmp(got, expect))
		return;
	fprintf(stderr, "runner: %s failed: ", v->label);
	if (WIFEXITED(wstatus))
		fprintf(stderr, "exit status %d (want %d)", WEXITSTATUS(wstatus), v->status);
	else if (WIFSIGNALED(wstatus))
		fprintf(stderr, "killed by signal %d", WTERMSIG(wstatus));
	fprintf(stderr, ", guest output \"%s\" (want \"%s\")\ncommand:", got, expect);
	for (char **a = l->argv[vi]; *a; a++)
		fprintf(stderr, " %s", *a);
	fputs("\n--- its output:\n", stderr);
	dump_file(l->log);
	fputs("---\n", stderr);
	exit(1);
}

static double tv_ms(struct timeval tv)
{
	return tv.tv_sec * 1e3 + tv.tv_usec / 1e3;
}

/* One complete run, measured. */
static struct sample run_once(struct loop *l, int vi)
{
	struct sample s;
	struct rusage ru;
	double t0 = now_ms();
	pid_t pid = spawn(l, vi);
	int wstatus;

	if (wait4(pid, &wstatus, 0, &ru) != pid)
		die("wait4: %s", strerror(errno));
	s.wall_ms = now_ms() - t0;
	check_run(l, vi, wstatus);
	s.user_ms = tv_ms(ru.ru_utime);
	s.sys_ms = tv_ms(ru.ru_stime);
	s.cpu_ms = s.user_ms + s.sys_ms;
	s.maxrss_kib = (double)ru.ru_maxrss;
	return s;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Percentile with linear interpolation between order statistics. */
static double pct(const double *sorted, int n, double p)
{
	double pos = p * (n - 1);
	int i = (int)pos;

	if (i >= n - 1)
		return sorted[n - 1];
	return sorted[i] + (pos - i) * (sorted[i + 1] - sorted[i]);
}

static void summarize(FILE *out, const char *label, const char *metric, double *v, int n)
{
	double sum = 0;

	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	for (int i = 0; i < n; i++)
		sum += v[i];
	fprintf(out, "%s\t%s\t%.3f\t%.3f\t%.3f\t%.3f\n", label, metric, pct(v, n, 0.1),
		pct(v, n, 0.5), pct(v, n, 0.9), sum / n);
}

static FILE *open_out(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		die("%s: %s", path, strerror(errno));
	return f;
}

static int cmd_time(int runs, int warmup, const char *raw_path, const char *sum_path)
{
	struct sample *s = calloc((size_t)nvariants * (size_t)runs, sizeof(*s));
	double *col = calloc((size_t)runs, sizeof(*col));
	FILE *raw = raw_path ? open_out(raw_path) : NULL;
	FILE *sum = open_out(sum_path);
	struct loop l;

	loop_init(&l, 0);
	for (int w = 0; w < warmup; w++)
		for (int i = 0; i < nvariants; i++)
			run_once(&l, i);
	if (raw)
		fprintf(raw, "label\trun\twall_ms\tcpu_ms\tuser_ms\tsys_ms\tmaxrss_kib\n");
	for (int r = 0; r < runs; r++) {
		for (int k = 0; k < nvariants; k++) {
			int i = (r + k) % nvariants;
			struct sample *x = &s[i * runs + r];

			*x = run_once(&l, i);
			if (raw)
				fprintf(raw, "%s\t%d\t%.3f\t%.3f\t%.3f\t%.3f\t%.0f\n", variants[i].label,
					r, x->wall_ms, x->cpu_ms, x->user_ms, x->sys_ms, x->maxrss_kib);
		}
	}
	fprintf(sum, "label\tmetric\tp10\tmedian\tp90\tmean\n");
	for (int i = 0; i < nvariants; i++) {
#define COLUMN(field)                                                             \
	do {                                                                      \
		for (int r = 0; r < runs; r++)                                    \
			col[r] = s[i * runs + r].field;                           \
		summarize(sum, variants[i].label, #field, col, runs);             \
	} while (0)
		COLUMN(wall_ms);
		COLUMN(cpu_ms);
		COLUMN(user_ms);
		COLUMN(sys_ms);
		COLUMN(maxrss_kib);
#undef COLUMN
	}
	if (raw)
		fclose(raw);
	fclose(sum);
	return 0;
}

static int cmd_rate(double seconds, int loops, int cpu, const char *label)
{
	struct variant *v = find_variant(label);
	int vi = (int)(v - variants);
	long total = 0;
	double rate = 0, longest = 0;
	int fds[2];

	if (pipe(fds))
		die("pipe: %s", strerror(errno));
	if (cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			die("CPU %d: %s", cpu, strerror(errno));
	}
	for (int j = 0; j < loops; j++) {
		if (fork() == 0) {
			struct loop l;
			double t0, t;
			long n = 0;

			close(fds[0]);
			loop_init(&l, j);
			run_once(&l, vi);	/* warm-up */
			t0 = now_ms();
			do {
				run_once(&l, vi);
				n++;
				t = now_ms();
			} while (t - t0 < seconds * 1e3);
			dprintf(fds[1], "%ld %.3f\n", n, (t - t0) / 1e3);
			_exit(0);
		}
	}
	close(fds[1]);
	{
		FILE *f = fdopen(fds[0], "r");
		long n;
		double el;

		while (fscanf(f, "%ld %lf", &n, &el) == 2) {
			total += n;
			rate += n / el;
			if (el > longest)
				longest = el;
		}
		fclose(f);
	}
	for (int j = 0; j < loops; j++) {
		int ws;

		if (wait(&ws) < 0 || !WIFEXITED(ws) || WEXITSTATUS(ws))
			die("%s: a loop failed", label);
	}
	printf("%s\t%d\t%ld\t%.3f\t%.1f\n", label, loops, total, longest, rate);
	return 0;
}

struct smaps_total {
	double rss, guest, anon, file;	/* KiB */
};

/* VmHWM from /proc/PID/status (exact, unlike ru_maxrss: see bench/run), or -1 */
static double read_hwm(pid_t pid)
{
	char path[64], line[256];
	double kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %lf kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* Adjacent mappings of one kind, possibly guest RAM: a VMM's RAM mapping
 * can be split into several VMAs (by madvise, mprotect or THP), so guest
 * RAM is the largest such run at least as big as the guest. */
struct smaps_run {
	unsigned long long hi;	/* end address, 0: no run open */
	bool anon;
	double size, rss;	/* KiB */
};

static void close_run(struct smaps_run *run, double guest_kib, struct smaps_run *guest)
{
	if (run->hi && run->size >= guest_kib && run->size > guest->size)
		*guest = *run;
	run->hi = 0;
}

/* One reading of /proc/PID/smaps; false once the process is gone. */
static bool read_smaps(pid_t pid, double guest_kib, struct smaps_total *t)
{
	char path[64], line[512];
	FILE *f;
	struct smaps_run run = { 0 }, guest = { 0 };
	unsigned long long cur_lo = 0, cur_hi = 0;
	double size = 0, rss = 0;
	bool anon = false, any = false;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	memset(t, 0, sizeof(*t));
#define FLUSH()                                                                   \
	do {                                                                      \
		if (any) {                                                        \
			t->rss += rss;                                            \
			*(anon ? &t->anon : &t->file) += rss;                     \
			if (run.hi && run.hi == cur_lo && run.anon == anon) {     \
				run.size += size;                                 \
				run.rss += rss;                                   \
				run.hi = cur_hi;                                  \
			} else {                                                  \
				close_run(&run, guest_kib, &guest);               \
				run = (struct smaps_run){ cur_hi, anon, size, rss }; \
			}                                                         \
		}                                                                 \
	} while (0)
	while (fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi, ino;
		char perms[8], dev[16];
		int off, path_at = 0;
		double kib;

		if (sscanf(line, "%llx-%llx %7s %x %15s %llu %n", &lo, &hi, perms, &off, dev,
			   &ino, &path_at) >= 6) {
			FLUSH();
			any = true;
			size = rss = 0;
			cur_lo = lo;
			cur_hi = hi;
			/* inode 0: anonymous, heap, stack, [vdso], KVM's run pages */
			anon = ino == 0;
		} else if (sscanf(line, "Size: %lf kB", &kib) == 1) {
			size = kib;
		} else if (sscanf(line, "Rss: %lf kB", &kib) == 1) {
			rss = kib;
		}
	}
	FLUSH();
#undef FLUSH
	close_run(&run, guest_kib, &guest);
	fclose(f);
	/* the guest's pages are not the VMM's own */
	*(guest.anon ? &t->anon : &t->file) -= guest.rss;
	t->guest = guest.rss;
	return any;
}

static int cmd_mem(int runs, double guest_mib, const char *raw_path, const char *sum_path,
		   const char *label)
{
	struct variant *v = find_variant(label);
	int vi = (int)(v - variants);
	FILE *raw = raw_path ? open_out(raw_path) : NULL;
	FILE *sum = open_out(sum_path);
	double *cols[7];
	static const char *const names[7] = { "rss_kib", "guest_kib", "vmm_kib", "vmm_anon_kib",
					      "vmm_file_kib", "hwm_kib", "maxrss_kib" };
	struct loop l;

	for (int c = 0; c < 7; c++)
		cols[c] = calloc((size_t)runs, sizeof(double));
	loop_init(&l, 0);
	if (raw)
		fprintf(raw, "label\trun\tsamples\trss_kib\tguest_kib\tvmm_kib\tvmm_anon_kib\t"
			     "vmm_file_kib\thwm_kib\tmaxrss_kib\n");
	for (int r = 0; r < runs; r++) {
		struct smaps_total best = { 0 }, t;
		struct rusage ru;
		struct timespec nap = { 0, 500000 };
		pid_t pid = spawn(&l, vi);
		int wstatus, samples = 0;
		double hwm = -1, h;
		pid_t got;

		for (;;) {
			got = wait4(pid, &wstatus, WNOHANG, &ru);
			if (got == pid)
				break;
			if (got < 0)
				die("wait4: %s", strerror(errno));
			/* a zombie's smaps reads empty, leaving best alone; a
			 * sample taken before the guest touched its RAM (or
			 * after the VMM unmapped it) does not count */
			if (read_smaps(pid, guest_mib * 1024, &t)) {
				samples++;
				if (t.guest > 0 && t.rss > best.rss)
					best = t;
			}
			h = read_hwm(pid);
			if (h > hwm)
				hwm = h;
			nanosleep(&nap, NULL);
		}
		check_run(&l, vi, wstatus);
		if (!best.guest)
			die("%s: no sample found the guest's RAM (%g MiB): %d samples", label,
			    guest_mib, samples);
		cols[0][r] = best.rss;
		cols[1][r] = best.guest;
		cols[2][r] = best.rss - best.guest;
		cols[3][r] = best.anon;
		cols[4][r] = best.file;
		cols[5][r] = hwm;
		cols[6][r] = (double)ru.ru_maxrss;
		if (raw)
			fprintf(raw, "%s\t%d\t%d\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\n", label,
				r, samples, cols[0][r], cols[1][r], cols[2][r], cols[3][r],
				cols[4][r], cols[5][r], cols[6][r]);
	}
	fprintf(sum, "label\tmetric\tp10\tmedian\tp90\tmean\n");
	for (int c = 0; c < 7; c++)
		summarize(sum, label, names[c], cols[c], runs);
	if (raw)
		fclose(raw);
	fclose(sum);
	return 0;
}

static void usage(void)
{
	fputs("usage: runner time -n RUNS [-w WARMUP] [-r RAW] -s SUMMARY SPEC\n"
	      "       runner rate -t SECONDS [-j LOOPS] [-c CPU] SPEC LABEL\n"
	      "       runner mem -n RUNS -g GUEST_MIB [-r RAW] -s SUMMARY SPEC LABEL\n"
	      "       (-e OUTPUT: the guest output every run must leave, default \"!\")\n",
	      stderr);
	exit(2);
}

static pid_t owner;
static int max_loops = 1;

/* at exit, also after die(): the loops' files and the directory */
static void cleanup(void)
{
	char path[160];

	if (getpid() != owner)
		return;
	for (int j = 0; j < max_loops; j++) {
		snprintf(path, sizeof(path), "%s/serial.%d", tmpdir, j);
		unlink(path);
		snprintf(path, sizeof(path), "%s/log.%d", tmpdir, j);
		unlink(path);
	}
	rmdir(tmpdir);
}

int main(int argc, char *argv[])
{
	const char *mode, *raw = NULL, *sum = NULL;
	int runs = 30, warmup = 3, loops = 1, cpu = -1, c, ret;
	double seconds = 3, guest_mib = 0;

	if (argc < 2)
		usage();
	mode = argv[1];
	optind = 2;
	while ((c = getopt(argc, argv, "n:w:r:s:t:j:c:g:e:")) != -1) {
		switch (c) {
		case 'n': runs = atoi(optarg); break;
		case 'w': warmup = atoi(optarg); break;
		case 'r': raw = optarg; break;
		case 's': sum = optarg; break;
		case 't': seconds = atof(optarg); break;
		case 'j': loops = atoi(optarg); break;
		case 'c': cpu = atoi(optarg); break;
		case 'g': guest_mib = atof(optarg); break;
		case 'e': expect = optarg; break;
		default: usage();
		}
	}
	if (optind >= argc || runs < 1 || loops < 1)
		usage();
	load_spec(argv[optind]);
	if (!mkdtemp(tmpdir))
		die("mkdtemp: %s", strerror(errno));
	owner = getpid();
	max_loops = loops;
	atexit(cleanup);
	if (!strcmp(mode, "time") && sum && optind + 1 == argc)
		ret = cmd_time(runs, warmup, raw, sum);
	else if (!strcmp(mode, "rate") && optind + 2 == argc)
		ret = cmd_rate(seconds, loops, cpu, argv[optind + 1]);
	else if (!strcmp(mode, "mem") && sum && guest_mib > 0 && optind + 2 == argc)
		ret = cmd_mem(runs, guest_mib, raw, sum, argv[optind + 1]);
	else
		usage();
	return ret;
}
