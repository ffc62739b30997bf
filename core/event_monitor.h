/* SPDX-License-Identifier: MIT */
/*
 * --event-monitor path=PATH|fd=N: cloud-hypervisor's event monitor.
 * wisp writes one JSON object per event of the VM's life, in
 * cloud-hypervisor's shape (docs/api.md, "Event monitor"):
 *
 *   {
 *     "timestamp": {
 *       "secs": 0,
 *       "nanos": 2053422
 *     },
 *     "source": "vm",
 *     "event": "booted",
 *     "properties": null
 *   }
 *
 * followed by an empty line.  Any thread may report an event; each is
 * one write(), dropped if the reader of a pipe is not keeping up (the
 * file descriptor is non-blocking, as in cloud-hypervisor), so a slow
 * reader never holds up the VM.
 */
#ifndef WISP_CORE_EVENT_MONITOR_H
#define WISP_CORE_EVENT_MONITOR_H

#include <stddef.h>
#include <stdint.h>

/* An event's text, at `ns` nanoseconds since the monitor opened:
 * key NULL for "properties": null, else one property key: value.  The
 * length written (less than size), or 0 if it does not fit. */
size_t event_monitor_format(char *buf, size_t size, uint64_t ns, const char *source,
			    const char *event, const char *key, const char *value);

#ifdef CONFIG_EVENT_MONITOR
/* Opens PATH (created or truncated) or takes fd (>= 0) and writes the
 * "vmm" "starting" event.  0, or -1 after one line naming the problem
 * (the caller exits 2). */
int event_monitor_open(const char *path, int fd);
/* Reports an event, if the monitor is open. */
void event_monitor_report(const char *source, const char *event, const char *key,
			  const char *value);
#else
static inline int event_monitor_open(const char *path, int fd)
{
	(void)path;
	(void)fd;
	return 0;
}
#define event_monitor_report(source, event, key, value) ((void)0)
#endif

/* The events wisp reports: an event of the VM, or of the VMM. */
#define vm_event(event) event_monitor_report("vm", (event), NULL, NULL)
#define vmm_event(event) event_monitor_report("vmm", (event), NULL, NULL)

#endif
