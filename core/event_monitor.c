// SPDX-License-Identifier: MIT
#include "core/event_monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/json.h"
#include "core/log.h"

/* s as a JSON string (quoted, escaped) into buf; false if it does not fit */
static bool quoted(char *buf, size_t size, const char *s)
{
	struct json j;

	json_init(&j, buf, size);
	json_string(&j, NULL, s);
	return json_finish(&j) >= 0;
}

/* serde_json's pretty printer, which cloud-hypervisor uses: two spaces
 * of indent, ": " after a key, the Duration as {"secs", "nanos"} */
size_t event_monitor_format(char *buf, size_t size, uint64_t ns, const char *source,
			    const char *event, const char *key, const char *value)
{
	char src[64], ev[64], props[256] = "null";
	int n;

	if (!quoted(src, sizeof(src), source) || !quoted(ev, sizeof(ev), event))
		return 0;
	if (key) {
		char k[64], v[160];

		if (!quoted(k, sizeof(k), key) || !quoted(v, sizeof(v), value))
			return 0;
		snprintf(props, sizeof(props), "{\n    %s: %s\n  }", k, v);
	}
	n = snprintf(buf, size,
		     "{\n"
		     "  \"timestamp\": {\n"
		     "    \"secs\": %llu,\n"
		     "    \"nanos\": %u\n"
		     "  },\n"
		     "  \"source\": %s,\n"
		     "  \"event\": %s,\n"
		     "  \"properties\": %s\n"
		     "}\n\n",
		     (unsigned long long)(ns / 1000000000u), (unsigned)(ns % 1000000000u),
		     src, ev, props);
	return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

#ifdef CONFIG_EVENT_MONITOR
static struct {
	int fd;
	uint64_t start_ns;
	pthread_mutex_t lock;	/* one event at a time, in time order */
} monitor = { .fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int event_monitor_open(const char *path, int fd)
{
	if (path) {
		/* O_NONBLOCK: a FIFO without a reader is refused, not waited on */
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NONBLOCK, 0644);
		if (fd < 0) {
			wisp_err("--event-monitor: cannot open '%s': %s", path, strerror(errno));
			return -1;
		}
	} else {
		int flags = fcntl(fd, F_GETFL);

		if (flags < 0) {
			wisp_err("--event-monitor: fd=%d is not an open file descriptor", fd);
			return -1;
		}
		if ((flags & O_ACCMODE) == O_RDONLY) {
			wisp_err("--event-monitor: fd=%d is not open for writing", fd);
			return -1;
		}
		/* as cloud-hypervisor: a reader that does not keep up loses
		 * events rather than holding up the VM */
		fcntl(fd, F_SETFL, flags | O_NONBLOCK);
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	monitor.fd = fd;
	monitor.start_ns = now_ns();
	vmm_event("starting");
	return 0;
}

void event_monitor_report(const char *source, const char *event, const char *key,
			  const char *value)
{
	char buf[512];
	size_t n;

	if (monitor.fd < 0)
		return;
	pthread_mutex_lock(&monitor.lock);
	n = event_monitor_format(buf, sizeof(buf), now_ns() - monitor.start_ns, source, event,
				 key, value);
	/* one write: an event is whole or missing, never half there (a
	 * pipe takes up to PIPE_BUF bytes at once) */
	if (n && write(monitor.fd, buf, n) < 0 && errno != EAGAIN)
		wisp_log(LOG_DEBUG, "--event-monitor: %s", strerror(errno));
	pthread_mutex_unlock(&monitor.lock);
}
#endif
