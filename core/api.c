// SPDX-License-Identifier: MIT
/*
 * --api-socket: cloud-hypervisor's REST API (/api/v1/...) over HTTP/1.1
 * on a Unix socket, served by one thread of its own under its own
 * seccomp filter.  docs/api.md lists what is implemented.
 *
 * The thread never blocks on a client: every socket is non-blocking,
 * at most API_MAX_CONNS connections are open (a new one beyond that
 * closes the one that has waited longest), each gets API_IDLE_MS to
 * send a whole request, and its buffers are fixed, so a slow or hostile
 * client costs neither the vCPUs nor memory.
 *
 * Pausing holds every vCPU before its next KVM_RUN (api_vcpu_hold) and
 * then the main thread's event loop, where queue processing and the
 * back-ends run, inside one of its own handlers; the answer goes out
 * once both are held.  On x86_64 the guest's kvmclock is saved at the
 * pause and put back at the resume, so the guest does not see the time
 * it spent paused as a jump.
 */
#include "core/api.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/arch.h"
#include "core/cli.h"
#include "core/counters.h"
#include "core/device.h"
#include "core/event.h"
#include "core/event_monitor.h"
#include "core/file.h"
#include "core/http.h"
#include "core/json.h"
#include "core/pci.h"
#include "core/seccomp.h"
#include "core/vcpu.h"
#include "core/vm.h"
#include "core/vm_snapshot.h"

#define API_MAX_CONNS 8
#define API_IDLE_MS 10000	/* to send a whole request */
#define API_MAX_ANSWER 8192
#define API_PREFIX "/api/v1/"
#define HOLD_POLL_MS 100	/* how often a held thread looks for a stop */
/* a connection that has sent nothing for this long may make room for a
 * new one when all are taken */
#define API_EVICT_MS 1000

struct api_config {
	const char *path;	/* NULL with fd */
	int fd;			/* an inherited listening socket, or -1 */
};

struct conn {
	int fd;			/* -1: free */
	uint64_t since;		/* ms, CLOCK_MONOTONIC: accepted, or last answered */
	size_t in_len;
	size_t out_len, out_sent;
	bool close_after;
	char in[HTTP_MAX_HEAD + HTTP_MAX_BODY];
	char out[API_MAX_ANSWER];
};

/* Requests to the main thread, bits of api.main_requests. */
#define MAIN_HOLD (1u << 0)
#define MAIN_POWER_BUTTON (1u << 1)

static struct api {
	struct vm *vm;
	int listen_fd;
	int wake_fd;		/* eventfd: the thread is to end */
	int main_fd;		/* eventfd on the main loop: main_requests */
	atomic_uint main_requests;
	const char *path;	/* the socket file we created, removed at exit */
	pthread_t thread;
	long pid;

	pthread_mutex_t lock;	/* what follows */
	pthread_cond_t cond;
	bool started, stopping;
	atomic_bool pause_requested;	/* read unlocked by every vCPU */
	bool paused;
	unsigned held_vcpus;
	bool main_held;
	/* a restored VM starts paused: its clock is taken once the main
	 * thread holds, after the snapshot put it back */
	bool clock_at_hold;
#if defined(__x86_64__)
	struct kvm_clock_data clock;
#endif
} api = {
	.listen_fd = -1,
	.wake_fd = -1,
	.main_fd = -1,
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

/* apart from api, whose initializer would put them in .data: 128 KiB */
static struct conn conns[API_MAX_CONNS];

/* ---------------------------------------------------- the command line */

/* fd=N: an open socket that is already listening. */
static int check_listening_fd(uint64_t fd, struct cli_error *err)
{
	int listening = 0;
	socklen_t len = sizeof(listening);
	struct stat st;

	if (fd > INT32_MAX || fstat((int)fd, &st)) {
		cli_errorf(err, "fd=%llu is not an open file descriptor", (unsigned long long)fd);
		return -1;
	}
	if (!S_ISSOCK(st.st_mode) ||
	    getsockopt((int)fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) || !listening) {
		cli_errorf(err, "fd=%llu is not a listening socket", (unsigned long long)fd);
		return -1;
	}
	return 0;
}

/* "path=PATH", "fd=N", or as cloud-hypervisor also takes it, a bare PATH. */
static int api_parse(struct kv_list *kv, void *config, struct cli_error *err)
{
	struct api_config *c = config;
	uint64_t fd = 0;
	int has_path, has_fd;

	c->fd = -1;
	has_path = kv_str(kv, "path", &c->path, err);
	has_fd = kv_u64(kv, "fd", 0, INT32_MAX, &fd, err);
	if (has_path < 0 || has_fd < 0)
		return -1;
	if (!has_path && !has_fd && kv->n == 1 && !kv->item[0].value) {
		c->path = kv->item[0].key;
		kv->item[0].used = true;
		has_path = 1;
	}
	if (has_path && has_fd) {
		cli_errorf(err, "give path= or fd=, not both");
		return -1;
	}
	if (!has_path && !has_fd) {
		cli_errorf(err, "expected path=PATH or fd=N");
		return -1;
	}
	if (has_fd) {
		c->fd = (int)fd;
		return check_listening_fd(fd, err);
	}
	return file_check_new_socket("path", c->path, err);
}

/* ------------------------------------------------------------- pausing */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* pthread_cond_timedwait for HOLD_POLL_MS; api.lock held. */
static void wait_a_while(void)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += HOLD_POLL_MS * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&api.cond, &api.lock, &until);
}

static void api_vcpu_hold(struct vcpu *v)
{
	if (!atomic_load_explicit(&api.pause_requested, memory_order_acquire))
		return;
	/* KVM finishes an exit (an I/O read's value into a register) only
	 * at the next KVM_RUN: done now, so the vCPU's state is whole */
	vcpu_complete_exit(v);
	pthread_mutex_lock(&api.lock);
	api.held_vcpus++;
	pthread_cond_broadcast(&api.cond);
	while (atomic_load(&api.pause_requested) && vm_running(v->vm))
		wait_a_while();
	api.held_vcpus--;
	pthread_mutex_unlock(&api.lock);
}

/* The guest's clock: saved at the pause, put back at the resume, so
 * that the guest's kvmclock goes on from where it stopped.  AArch64's
 * virtual counter is left to run (docs/api.md). */
static void save_guest_clock(void)
{
#if defined(__x86_64__)
	if (ioctl(api.vm->vm_fd, KVM_GET_CLOCK, &api.clock))
		api.clock.clock = 0;
#endif
}

static void restore_guest_clock(void)
{
#if defined(__x86_64__)
	struct kvm_clock_data c = { .clock = api.clock.clock };

	if (c.clock && ioctl(api.vm->vm_fd, KVM_SET_CLOCK, &c))
		wisp_err("api: KVM_SET_CLOCK: %s: the guest's clock jumps by the pause", strerror(errno));
#endif
}

/* api.lock held: lets the vCPUs and the main thread go on. */
static void resume_locked(void)
{
	restore_guest_clock();
	api.paused = false;
	atomic_store(&api.pause_requested, false);
	pthread_cond_broadcast(&api.cond);
}

/* The main thread, held for a pause: the event loop serves nothing
 * until the resume.  A stop signal ends the pause instead, so that the
 * loop can handle it as it would for a running guest. */
static void hold_main_thread(void)
{
	struct pollfd stop = { .fd = api.vm->stop_eventfd, .events = POLLIN };

	pthread_mutex_lock(&api.lock);
	api.main_held = true;
	if (api.clock_at_hold) {
		save_guest_clock();
		api.clock_at_hold = false;
	}
	pthread_cond_broadcast(&api.cond);
	while (atomic_load(&api.pause_requested) && vm_running(api.vm)) {
		pthread_mutex_unlock(&api.lock);
		stop.revents = 0;
		poll(&stop, 1, HOLD_POLL_MS);
		pthread_mutex_lock(&api.lock);
		if ((stop.revents & POLLIN) && api.paused) {
			wisp_err("api: a stop signal resumes the paused VM");
			resume_locked();
		}
	}
	api.main_held = false;
	pthread_mutex_unlock(&api.lock);
}

static void on_main_request(void *opaque, uint32_t events)
{
	uint64_t n;
	unsigned what;

	(void)opaque;
	(void)events;
	if (read(api.main_fd, &n, sizeof(n)) != sizeof(n))
		return;
	what = atomic_exchange(&api.main_requests, 0);
	if ((what & MAIN_POWER_BUTTON) && api.vm->power_button)
		api.vm->power_button(api.vm->power_button_opaque);
	if (what & MAIN_HOLD)
		hold_main_thread();
}

static void ask_main_thread(unsigned what)
{
	uint64_t one = 1;

	atomic_fetch_or(&api.main_requests, what);
	if (write(api.main_fd, &one, sizeof(one)) != sizeof(one))
		wisp_err("api: cannot wake the main thread: %s", strerror(errno));
}

/* api.lock held: waits until every vCPU and the main thread are held,
 * or the VM stops. */
static bool wait_until_held(void)
{
	while (vm_running(api.vm) &&
	       (api.held_vcpus < api.vm->ncpus || !api.main_held))
		wait_a_while();
	return vm_running(api.vm);
}

static int pause_vm(void)
{
	struct vm *vm = api.vm;

	pthread_mutex_lock(&api.lock);
	if (api.paused) {
		pthread_mutex_unlock(&api.lock);
		return 405;
	}
	atomic_store(&api.pause_requested, true);
	/* each holds before its next KVM_RUN (one not started yet, at its
	 * first) */
	vcpus_kick(vm);
	ask_main_thread(MAIN_HOLD);
	if (!wait_until_held()) {
		atomic_store(&api.pause_requested, false);
		pthread_cond_broadcast(&api.cond);
		pthread_mutex_unlock(&api.lock);
		return 500;
	}
	save_guest_clock();
	api.paused = true;
	pthread_mutex_unlock(&api.lock);
	return 204;
}

static int resume_vm(void)
{
	pthread_mutex_lock(&api.lock);
	if (!api.paused) {
		pthread_mutex_unlock(&api.lock);
		return 405;
	}
	resume_locked();
	pthread_mutex_unlock(&api.lock);
	return 204;
}

static bool vm_paused(void)
{
	bool paused;

	pthread_mutex_lock(&api.lock);
	paused = api.paused;
	pthread_mutex_unlock(&api.lock);
	return paused;
}

/* ------------------------------------------------------------ counters */

static struct {
	const char *kind;
	unsigned index;		/* among the devices of its kind */
	const char *const *names;
	atomic_ullong *values;
	unsigned n;
} counted[COUNTERS_MAX_DEVICES];
static unsigned ncounted;

void counters_register(const char *kind, const char *const *names, atomic_ullong *values,
		       unsigned n)
{
	unsigned index = 0;

	if (ncounted == COUNTERS_MAX_DEVICES)
		return;	/* vm.counters leaves the device out */
	for (unsigned i = 0; i < ncounted; i++)
		index += !strcmp(counted[i].kind, kind);
	counted[ncounted].kind = kind;
	counted[ncounted].index = index;
	counted[ncounted].names = names;
	counted[ncounted].values = values;
	counted[ncounted].n = n;
	ncounted++;
}

/* -------------------------------------------------------------- routes */

struct answer {
	int status;
	const char *type;	/* Content-Type, or NULL without a body */
	struct json json;
	char body[API_MAX_ANSWER / 2];
	/* after the answer is sent: the VM is to stop for this reason */
	enum vm_stop stop;
};

static void text_answer(struct answer *a, int status, const char *fmt, const char *what)
{
	a->status = status;
	a->type = "text/plain";
	snprintf(a->body, sizeof(a->body), fmt, what);
}

static void vmm_ping(struct answer *a, const struct http_request *req)
{
	struct json *j = &a->json;

	(void)req;
	json_object_begin(j, NULL);
	json_string(j, "build_version", WISP_VERSION);
	json_string(j, "version", WISP_VERSION);
	json_u64(j, "pid", (uint64_t)api.pid);
	json_array_begin(j, "features");
	json_string(j, NULL, "kvm");
	json_array_end(j);
	json_object_end(j);
	a->status = 200;
}

static void info_payload(struct json *j, const struct vm_config *cfg)
{
	json_object_begin(j, "payload");
	if (cfg->kernel)
		json_string(j, "kernel", cfg->kernel);
	if (cfg->firmware)
		json_string(j, "firmware", cfg->firmware);
	if (cfg->cmdline)
		json_string(j, "cmdline", cfg->cmdline);
	if (cfg->initramfs)
		json_string(j, "initramfs", cfg->initramfs);
	json_object_end(j);
}

/* What a balloon has taken back from the guest's RAM, if there is one. */
static uint64_t reclaimed(struct vm *vm)
{
	if (!vm->reclaim)
		return 0;
	return vm->reclaim->taken(vm->reclaim_opaque);
}

/* Whether an instance before devices[i] has written d's member. */
static bool info_written(const struct vm_config *cfg, size_t i, const struct device_desc *d)
{
	for (size_t k = 0; k < i; k++) {
		const struct device_desc *e = cfg->devices[k].desc;

		if (e->info && !strcmp(e->info_key, d->info_key))
			return true;
	}
	return false;
}

/* Each device's part of "config", under the member its descriptor
 * names; several kinds can share one ("disks": virtio-blk and
 * vhost-user-blk), in the order they were given. */
static void info_devices(struct json *j, const struct vm_config *cfg)
{
	for (size_t i = 0; i < cfg->ndevices; i++) {
		const struct device_desc *d = cfg->devices[i].desc;

		if (!d->info || info_written(cfg, i, d))
			continue;
		if (d->info_many)
			json_array_begin(j, d->info_key);
		for (size_t k = i; k < cfg->ndevices; k++) {
			const struct device_desc *e = cfg->devices[k].desc;

			if (!e->info || strcmp(e->info_key, d->info_key))
				continue;
			json_object_begin(j, d->info_many ? NULL : d->info_key);
			e->info(cfg->devices[k].config, j);
			/* the id= it was given: kept by core for every device */
			if (cfg->devices[k].id && !e->id_apart)
				json_string(j, "id", cfg->devices[k].id);
			json_object_end(j);
			if (!d->info_many)
				break;
		}
		if (d->info_many)
			json_array_end(j);
	}
}

static void vm_info(struct answer *a, const struct http_request *req)
{
	const struct vm_config *cfg = api.vm->cfg;
	struct json *j = &a->json;

	(void)req;
	json_object_begin(j, NULL);
	json_object_begin(j, "config");
	json_object_begin(j, "cpus");
	json_u64(j, "boot_vcpus", cfg->cpus);
	json_u64(j, "max_vcpus", cfg->cpus);
	json_bool(j, "kvm_hyperv", cfg->cpu_hyperv);
	json_object_end(j);
	json_object_begin(j, "memory");
	json_u64(j, "size", cfg->memory.size);
	json_bool(j, "shared", cfg->memory.shared);
	json_bool(j, "hugepages", cfg->memory.hugepages);
	json_bool(j, "thp", cfg->memory.thp);
	json_object_end(j);
#ifdef CONFIG_PCI_SEGMENTS
	json_object_begin(j, "platform");
	json_u64(j, "num_pci_segments", pci_segments_of(cfg));
	json_object_end(j);
#endif
	info_payload(j, cfg);
	info_devices(j, cfg);
	json_object_end(j);
	json_string(j, "state", vm_paused() ? "Paused" : "Running");
	json_u64(j, "memory_actual_size", cfg->memory.size - reclaimed(api.vm));
	json_object_end(j);
	a->status = 200;
}

/* {"_disk0": {"read_bytes": N, ...}, "_net0": {...}} */
static void vm_counters(struct answer *a, const struct http_request *req)
{
	struct json *j = &a->json;
	char id[32];

	(void)req;
	json_object_begin(j, NULL);
	for (unsigned i = 0; i < ncounted; i++) {
		/* a user's id= is the name as given */
		if (counted[i].kind[0] == '_')
			snprintf(id, sizeof(id), "%s%u", counted[i].kind, counted[i].index);
		else
			snprintf(id, sizeof(id), "%s", counted[i].kind);
		json_object_begin(j, id);
		for (unsigned k = 0; k < counted[i].n; k++)
			json_u64(j, counted[i].names[k],
				 atomic_load_explicit(&counted[i].values[k], memory_order_relaxed));
		json_object_end(j);
	}
	json_object_end(j);
	a->status = 200;
}

static void vm_pause(struct answer *a, const struct http_request *req)
{
	(void)req;
	if (!vm_paused())
		vm_event("pausing");
	a->status = pause_vm();
	if (a->status == 204)
		vm_event("paused");
	if (a->status == 405)
		text_answer(a, 405, "%s\n", "the VM is paused already");
}

static void vm_resume(struct answer *a, const struct http_request *req)
{
	(void)req;
	if (vm_paused())
		vm_event("resuming");
	a->status = resume_vm();
	if (a->status == 204)
		vm_event("resumed");
	if (a->status == 405)
		text_answer(a, 405, "%s\n", "the VM is not paused");
}

static void vm_power_button(struct answer *a, const struct http_request *req)
{
	(void)req;
	if (!api.vm->power_button) {
		text_answer(a, 500, "%s\n", "this machine has no power button device");
		return;
	}
	ask_main_thread(MAIN_POWER_BUTTON);
	a->status = 204;
}

static void vm_shutdown(struct answer *a, const struct http_request *req)
{
	(void)req;
	a->status = 204;
	a->stop = VM_STOP_POWEROFF;
}

static void vm_reboot(struct answer *a, const struct http_request *req)
{
	(void)req;
	/* as when the guest reboots itself: wisp does not restart guests */
	a->status = 204;
	a->stop = VM_STOP_REBOOT;
}

/* PUT vm.resize {"desired_balloon": BYTES}: the balloon's new target.
 * cloud-hypervisor's other fields ask for hotplug, which wisp has not. */
static void vm_resize(struct answer *a, const struct http_request *req)
{
	static const char *const hotplug[][2] = {
		{ "desired_vcpus", "vCPU hotplug" },
		{ "desired_ram", "memory hotplug" },
	};
	uint64_t bytes;

	for (size_t i = 0; i < sizeof(hotplug) / sizeof(hotplug[0]); i++)
		if (json_read_u64(req->body, req->body_len, hotplug[i][0], &bytes) == JSON_OK) {
			text_answer(a, 500, "vm.resize: wisp has no %s\n", hotplug[i][1]);
			return;
		}
	if (json_read_u64(req->body, req->body_len, "desired_balloon", &bytes) != JSON_OK) {
		text_answer(a, 400, "%s\n", "the body needs \"desired_balloon\": BYTES");
		return;
	}
	if (!api.vm->reclaim) {
		text_answer(a, 500, "%s\n", "vm.resize: the VM has no balloon (--balloon)");
		return;
	}
	if (api.vm->reclaim->target(api.vm->reclaim_opaque, bytes)) {
		text_answer(a, 400, "%s\n", "vm.resize: desired_balloon is more than the guest's memory");
		return;
	}
	a->status = 204;
}


#ifdef CONFIG_SNAPSHOT
/* PUT vm.snapshot {"destination_url": "file:///DIR"} on a paused VM */
static void vm_snapshot(struct answer *a, const struct http_request *req)
{
	static char why[256];
	char url[256];
	const char *dir;
	int ret;

	if (json_read_string(req->body, req->body_len, "destination_url", url,
			     sizeof(url)) != JSON_OK || !(dir = snapshot_url_path(url))) {
		text_answer(a, 400, "%s\n", "the body needs \"destination_url\": \"file:///DIR\"");
		return;
	}
	pthread_mutex_lock(&api.lock);
	if (!api.paused) {
		pthread_mutex_unlock(&api.lock);
		text_answer(a, 405, "%s\n", "the VM must be paused first (vm.pause)");
		return;
	}
	/* held by api.lock: no resume while the state is read */
	vm_event("snapshotting");
	ret = vm_snapshot_save(api.vm, dir, why, sizeof(why));
	pthread_mutex_unlock(&api.lock);
	if (!ret)
		vm_event("snapshotted");
	if (ret) {
		wisp_err("api: vm.snapshot: %s", why);
		text_answer(a, 500, "%s\n", why);
		return;
	}
	a->status = 204;
}
#endif

struct route {
	const char *name;	/* after /api/v1/ */
	const char *method;
	/* req: for the handlers that read a body */
	void (*handle)(struct answer *a, const struct http_request *req);
};

static const struct route routes[] = {
	{ "vmm.ping", "GET", vmm_ping },
	{ "vmm.shutdown", "PUT", vm_shutdown },
	{ "vm.info", "GET", vm_info },
	{ "vm.counters", "GET", vm_counters },
	{ "vm.pause", "PUT", vm_pause },
	{ "vm.resume", "PUT", vm_resume },
	{ "vm.shutdown", "PUT", vm_shutdown },
	{ "vm.reboot", "PUT", vm_reboot },
	{ "vm.power-button", "PUT", vm_power_button },
	{ "vm.resize", "PUT", vm_resize },
#ifdef CONFIG_SNAPSHOT
	{ "vm.snapshot", "PUT", vm_snapshot },
#endif
};

/* cloud-hypervisor's endpoints that wisp does not have: the VM is
 * created and booted from the command line, and has no hotplug,
 * resizing other than the balloon's, snapshots or migration. */
static const char *const missing[] = {
	"vm.create", "vm.boot", "vm.delete", "vm.balloon-stats",
	"vm.resize-disk", "vm.resize-zone", "vm.add-device",
	"vm.remove-device", "vm.add-disk", "vm.add-fs", "vm.add-generic-vhost-user",
	"vm.add-pmem", "vm.add-net", "vm.add-vsock", "vm.add-vdpa",
	"vm.add-user-device", "vm.restore", "vm.coredump",
	"vm.nmi", "vm.send-migration", "vm.receive-migration",
};

static void route(const struct http_request *req, struct answer *a)
{
	const char *name = req->target + strlen(API_PREFIX);

	if (strncmp(req->target, API_PREFIX, strlen(API_PREFIX))) {
		text_answer(a, 404, "no such endpoint: %s\n", req->target);
		return;
	}
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(routes[i].name, name))
			continue;
		if (strcmp(routes[i].method, req->method)) {
			/* cloud-hypervisor answers a wrong method with 400 */
			text_answer(a, 400, "%s takes another method\n", routes[i].name);
			return;
		}
		routes[i].handle(a, req);
		return;
	}
	for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++)
		if (!strcmp(missing[i], name)) {
			text_answer(a, 500, "%s is not implemented by wisp\n", missing[i]);
			return;
		}
	text_answer(a, 404, "no such endpoint: %s\n", req->target);
}

/* --------------------------------------------------------- connections */

/* The status line, headers and body of a into c->out. */
static void write_answer(struct conn *c, struct answer *a)
{
	long body_len = 0;
	int n;

	if (a->type && !strcmp(a->type, "application/json")) {
		body_len = json_finish(&a->json);
		if (body_len < 0)
			text_answer(a, 500, "%s\n", "the answer does not fit");
	}
	if (a->type && strcmp(a->type, "application/json"))
		body_len = (long)strlen(a->body);
	n = snprintf(c->out, sizeof(c->out), "HTTP/1.1 %d %s\r\nServer: wisp\r\n%s%s%sContent-Length: %ld\r\n%s\r\n",
		     a->status, http_reason(a->status), a->type ? "Content-Type: " : "",
		     a->type ? a->type : "", a->type ? "\r\n" : "", body_len,
		     c->close_after ? "Connection: close\r\n" : "");
	if (n < 0 || (size_t)n + (size_t)body_len > sizeof(c->out)) {
		c->out_len = 0;
		c->close_after = true;
		return;
	}
	memcpy(c->out + n, a->body, (size_t)body_len);
	c->out_len = (size_t)n + (size_t)body_len;
	c->out_sent = 0;
}

static void answer_request(struct conn *c, const struct http_request *req, struct answer *a)
{
	memset(a, 0, sizeof(*a));
	json_init(&a->json, a->body, sizeof(a->body));
	a->type = "application/json";
	route(req, a);
	if (a->status == 204 || (a->type && !strcmp(a->type, "application/json") && !a->json.len))
		a->type = NULL;
	write_answer(c, a);
}

/* Parses what c holds; an answer goes to c->out when a request (or a
 * refusal) is complete.  Returns the stop reason it asks for. */
static enum vm_stop serve_input(struct conn *c)
{
	struct http_request req;
	struct answer a;
	int ret = http_parse(c->in, c->in_len, &req);

	if (!ret)
		return VM_RUNNING;
	if (ret < 0) {
		memset(&a, 0, sizeof(a));
		c->close_after = true;	/* the stream cannot be trusted any more */
		text_answer(&a, -ret, "%s\n", http_reason(-ret));
		write_answer(c, &a);
		return VM_RUNNING;
	}
	c->close_after = req.close;
	answer_request(c, &req, &a);
	memmove(c->in, c->in + req.total_len, c->in_len - req.total_len);
	c->in_len -= req.total_len;
	return a.stop;
}

static void conn_close(struct conn *c)
{
	close(c->fd);
	c->fd = -1;
}

/* Sends what is left of the answer; 0, or -1 when the connection is
 * done with (closed). */
static int flush_output(struct conn *c)
{
	if (!c->out_len && !c->close_after)
		return 0;	/* nothing answered yet: the request's time runs on */
	while (c->out_sent < c->out_len) {
		ssize_t n = write(c->fd, c->out + c->out_sent, c->out_len - c->out_sent);

		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0) {
			conn_close(c);
			return -1;
		}
		c->out_sent += (size_t)n;
	}
	c->out_len = c->out_sent = 0;
	c->since = now_ms();
	if (c->close_after) {
		conn_close(c);
		return -1;
	}
	return 0;
}

/* Answers the requests c holds, one at a time: the next one only once
 * this answer is all out. */
static enum vm_stop serve_buffered(struct conn *c)
{
	enum vm_stop stop;

	do {
		stop = serve_input(c);
		if (flush_output(c) || stop)
			return stop;
	} while (!c->out_len && c->in_len && http_parse(c->in, c->in_len, &(struct http_request){ 0 }));
	return VM_RUNNING;
}

static enum vm_stop conn_readable(struct conn *c)
{
	ssize_t n = read(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len);

	if (n < 0 && errno == EAGAIN)
		return VM_RUNNING;
	if (n <= 0) {
		conn_close(c);
		return VM_RUNNING;
	}
	c->in_len += (size_t)n;
	return serve_buffered(c);
}

/* The rest of an answer the client was slow to take; then what it sent
 * meanwhile. */
static enum vm_stop conn_writable(struct conn *c)
{
	if (flush_output(c) || c->out_len || !c->in_len)
		return VM_RUNNING;
	return serve_buffered(c);
}

/* The slot for a new connection: a free one, else the one that has sent
 * nothing for longest, once that is API_EVICT_MS; NULL leaves the new
 * connection waiting in the listen backlog. */
static struct conn *room_for_one(uint64_t now)
{
	struct conn *silent = NULL;

	for (size_t i = 0; i < API_MAX_CONNS; i++) {
		struct conn *c = &conns[i];

		if (c->fd < 0)
			return c;
		if (!c->in_len && !c->out_len && (!silent || c->since < silent->since))
			silent = c;
	}
	return silent && silent->since + API_EVICT_MS <= now ? silent : NULL;
}

static void conn_accept(struct conn *slot)
{
	int fd = accept4(api.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (slot->fd >= 0)
		conn_close(slot);
	slot->fd = fd;
	slot->in_len = slot->out_len = slot->out_sent = 0;
	slot->close_after = false;
	slot->since = now_ms();
}

/* Until the first connection's time is up; with every slot taken, a
 * quarter of API_EVICT_MS at most, to look for room again. */
static int poll_timeout(uint64_t now, bool full)
{
	uint64_t first = full ? now + API_EVICT_MS / 4 : UINT64_MAX;

	for (size_t i = 0; i < API_MAX_CONNS; i++)
		if (conns[i].fd >= 0 && conns[i].since + API_IDLE_MS < first)
			first = conns[i].since + API_IDLE_MS;
	if (first == UINT64_MAX)
		return -1;
	return first <= now ? 0 : (int)(first - now);
}

static void close_idle(void)
{
	uint64_t now = now_ms();

	for (size_t i = 0; i < API_MAX_CONNS; i++)
		if (conns[i].fd >= 0 && conns[i].since + API_IDLE_MS <= now)
			conn_close(&conns[i]);
}

static void remove_socket_file(void);

#ifdef WISP_UNIT_TEST
static int test_poll_cap_ms = -1;	/* tests never wait long in poll() */
#endif

static int serve_timeout(uint64_t now, bool full)
{
	int t = poll_timeout(now, full);

#ifdef WISP_UNIT_TEST
	if (test_poll_cap_ms >= 0 && (t < 0 || t > test_poll_cap_ms))
		t = test_poll_cap_ms;
#endif
	return t;
}

/* One round of poll(); false once the thread is to end. */
static bool serve_once(void)
{
	uint64_t now = now_ms();
	struct conn *room = room_for_one(now);
	struct pollfd pfd[2 + API_MAX_CONNS] = {
		{ .fd = api.wake_fd, .events = POLLIN },
		/* a new connection waits in the backlog while there is no room */
		{ .fd = room ? api.listen_fd : -1, .events = POLLIN },
	};
	enum vm_stop stop = VM_RUNNING;

	for (size_t i = 0; i < API_MAX_CONNS; i++) {
		pfd[2 + i].fd = conns[i].fd;
		pfd[2 + i].events = conns[i].out_len ? POLLOUT : POLLIN;
	}
	if (poll(pfd, 2 + API_MAX_CONNS, serve_timeout(now, !room)) < 0 && errno != EINTR)
		return false;
	if (pfd[0].revents)
		return false;
	for (size_t i = 0; i < API_MAX_CONNS && !stop; i++) {
		struct conn *c = &conns[i];

		if (c->fd < 0 || !pfd[2 + i].revents)
			continue;
		stop = c->out_len ? conn_writable(c) : conn_readable(c);
	}
	if (stop) {
		vm_stop(api.vm, stop);
		return false;
	}
	close_idle();
	room = room_for_one(now_ms());
	if (pfd[1].revents && room)
		conn_accept(room);
	return true;
}

static void *api_thread(void *arg)
{
	(void)arg;
	bool stopping;

	pthread_mutex_lock(&api.lock);
	stopping = api.stopping;
	pthread_mutex_unlock(&api.lock);
	while (!stopping && serve_once())
		;
	/* here, as the main thread's filter has no unlink */
	remove_socket_file();
	return NULL;
}

/* ------------------------------------------------------------ set-up */

static void remove_socket_file(void)
{
	if (api.path)
		unlink(api.path);
	api.path = NULL;
}

static int listen_on(const struct api_config *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (c->fd >= 0) {
		api.listen_fd = c->fd;
		return fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) ? -1 : 0;
	}
	api.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->path);
	if (api.listen_fd < 0 || bind(api.listen_fd, (struct sockaddr *)&sa, sizeof(sa)))
		return -1;
	api.path = c->path;
	/* removed however wisp ends: a normal return, exit(), a stop signal */
	atexit(remove_socket_file);
	return listen(api.listen_fd, 128);
}

#if defined(SYS_poll)
#define SC_POLL SC_ALLOW(SYS_poll), SC_ALLOW(SYS_ppoll)
#else
#define SC_POLL SC_ALLOW(SYS_ppoll)
#endif

/* The API thread: its sockets, waking the main thread, kicking vCPUs
 * out of KVM_RUN, the guest's clock. */
static const struct seccomp_rule api_rules[] = {
	SC_POLL,
	SC_ALLOW(SYS_accept4),
	SC_ALLOW(SYS_read),
	SC_ALLOW(SYS_close),
	SC_ARG(SYS_tkill, 1, SC_ALL, VCPU_KICK_SIGNAL),
	/* the socket file, as the thread ends */
#if defined(SYS_unlink)
	SC_ALLOW(SYS_unlink),
#endif
	SC_ALLOW(SYS_unlinkat),
#if defined(__x86_64__)
	SC_IOCTL(KVM_GET_CLOCK),
	SC_IOCTL(KVM_SET_CLOCK),
#endif
};

#ifdef CONFIG_SNAPSHOT
/* vm.snapshot, on the API thread: the directory and its two files. */
static const struct seccomp_rule snapshot_rules[] = {
#if defined(SYS_mkdir)
	SC_ALLOW(SYS_mkdir),
#endif
	SC_ALLOW(SYS_mkdirat),
#if defined(SYS_open)
	SC_ALLOW(SYS_open),
#endif
	SC_ALLOW(SYS_openat),
	/* musl's open() sets O_CLOEXEC again this way */
	SC_ARG(SYS_fcntl, 1, SC_ALL, F_SETFD),
	SC_ALLOW(SYS_write),
	SC_ALLOW(SYS_pwrite64),
	SC_ALLOW(SYS_ftruncate),
	SC_ALLOW(SYS_fsync),
#if defined(SYS_renameat)
	SC_ALLOW(SYS_renameat),
#endif
	SC_ALLOW(SYS_renameat2),
};
#endif

/* The main thread held for a pause: waiting on the stop signals, and
 * resuming when one comes. */
static const struct seccomp_rule main_hold_rules[] = {
	SC_POLL,
#if defined(__x86_64__)
	SC_IOCTL(KVM_SET_CLOCK),
#ifdef CONFIG_SNAPSHOT
	SC_IOCTL(KVM_GET_CLOCK),	/* a restored VM's, at its first hold */
#endif
#endif
};

static int start_thread(void)
{
	unsigned kind = seccomp_kind("api");
	int err;

	if (!kind || seccomp_allow(kind, api_rules, SC_COUNT(api_rules)) ||
	    seccomp_allow(SECCOMP_MAIN, main_hold_rules, SC_COUNT(main_hold_rules)))
		return -1;
#ifdef CONFIG_SNAPSHOT
	if (seccomp_allow(kind, snapshot_rules, SC_COUNT(snapshot_rules)) ||
	    arch_snapshot_allow(kind))
		return -1;
#endif
	err = seccomp_thread_create(&api.thread, kind, api_thread, NULL);
	if (err) {
		wisp_err("api: cannot start its thread: %s", strerror(err));
		return -1;
	}
	api.started = true;
	return 0;
}

static void api_stop(void);

static int api_create(struct vm *vm, const void *config)
{
	const struct api_config *c = config;

	api.vm = vm;
	vm->vcpu_hold = api_vcpu_hold;
	vm->on_teardown = api_stop;
	api.pid = (long)getpid();
	for (size_t i = 0; i < API_MAX_CONNS; i++)
		conns[i].fd = -1;
	if (listen_on(c)) {
		wisp_err("--api-socket: %s: %s", c->path ? c->path : "fd", strerror(errno));
		return EXIT_USAGE;
	}
	api.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	api.main_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (api.wake_fd < 0 || api.main_fd < 0 ||
	    event_add(vm->loop, api.main_fd, EPOLLIN, on_main_request, NULL)) {
		wisp_err("api: eventfd: %s", strerror(errno));
		return -1;
	}
#ifdef CONFIG_SNAPSHOT
	/* a restored VM waits for vm.resume, as cloud-hypervisor's does */
	if (vm->cfg->restore.dir && !vm->cfg->restore.resume) {
		atomic_store(&api.pause_requested, true);
		api.paused = true;
		api.clock_at_hold = true;
		ask_main_thread(MAIN_HOLD);
	}
#endif
	return start_thread();
}

static void api_stop(void)
{
	uint64_t one = 1;

	if (!api.started)
		return;
	pthread_mutex_lock(&api.lock);
	api.stopping = true;
	pthread_mutex_unlock(&api.lock);
	api.started = false;
	if (!seccomp_threads_released()) {
		/* the VM never ran: the thread waits for a seal that will not
		 * come and never touches the VM; this thread is unfiltered */
		remove_socket_file();
		return;
	}
	if (write(api.wake_fd, &one, sizeof(one)) != sizeof(one))
		wisp_err("api: cannot wake its thread: %s", strerror(errno));
	/* it removes the socket file itself: this thread may have no
	 * unlink in its filter */
	pthread_join(api.thread, NULL);
}

#ifdef WISP_UNIT_TEST
void api_test_serve(struct vm *vm, int listen_fd, unsigned rounds)
{
	static bool ready;

	if (!ready) {
		for (size_t i = 0; i < API_MAX_CONNS; i++)
			conns[i].fd = -1;
		api.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		ready = true;
	}
	api.vm = vm;
	api.listen_fd = listen_fd;
	test_poll_cap_ms = 20;
	while (rounds--)
		serve_once();
}

unsigned long api_test_answer(struct vm *vm, const char *request, unsigned long len,
			      char *out, unsigned long size)
{
	static struct conn c;
	unsigned long n;

	api.vm = vm;
	api.pid = (long)getpid();
	memset(&c, 0, sizeof(c));
	if (len > sizeof(c.in))
		len = sizeof(c.in);
	memcpy(c.in, request, len);
	c.in_len = len;
	serve_input(&c);
	n = c.out_len < size ? c.out_len : size;
	memcpy(out, c.out, n);
	return n;
}
#endif

DEVICE_REGISTER(api) = {
	.name = "api",
	.summary = "cloud-hypervisor's HTTP API on a Unix socket",
	.option = "api-socket",
	.usage = "path=PATH|fd=N",
	.order = ORDER_PCI_DEVICE,
	.config_size = sizeof(struct api_config),
	.parse = api_parse,
	.create = api_create,
	.snapshot = SNAPSHOT_OPS(&snapshot_stateless),
	.per_process = true,
};
