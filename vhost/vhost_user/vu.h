/* SPDX-License-Identifier: MIT */
/*
 * The vhost-user front end (see vhost_user.h, and the vhost-user
 * protocol specification in QEMU's docs/interop/vhost-user.rst).
 *
 * Life of a device:
 *   create   connect, GET_FEATURES, protocol features, GET_QUEUE_NUM,
 *            SET_OWNER, GET_CONFIG; the guest is offered what both the
 *            device and the back-end support.
 *   DRIVER_OK  SET_FEATURES, SET_MEM_TABLE (the guest RAM memfd), then
 *            per enabled queue SET_VRING_NUM/BASE/ADDR/KICK/CALL/ERR and
 *            SET_VRING_ENABLE.
 *   reset    SET_VRING_ENABLE 0 and GET_VRING_BASE per started queue:
 *            the back-end stops touching the rings before the driver
 *            reuses their memory.
 *   back-end gone  (the socket hangs up, or a reply is missing or
 *            malformed) the socket is closed and wisp retries the
 *            connection twice a second; once it is back, a running
 *            device gets its rings again, each resuming at the used
 *            index the guest sees, and a kick so the back-end looks at
 *            the requests not yet completed.  A back-end that comes
 *            back unable to serve the running device (fewer features)
 *            puts the device in NEEDS_RESET.
 *
 * All messages are sent by the thread that holds the device lock: a
 * vCPU (status writes) or the event loop (reconnection).  Replies are
 * awaited with a timeout, so a stuck back-end costs a few seconds, not
 * a hung VM.
 *
 * The front end is split along its seams: message I/O with deadlines
 * (msg.c), the conversation that sets a back-end up and stops it
 * (session.c), losing and regaining the back-end (reconnect.c), the
 * virtio device and its creation (device.c).  This header is theirs
 * alone.
 */
#ifndef WISP_VHOST_VHOST_USER_VU_H
#define WISP_VHOST_VHOST_USER_VU_H

#include "vhost/vhost_user.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/socket_file.h"
#include "core/cli.h"
#include "core/event.h"
#include "core/kv.h"
#include "core/seccomp.h"
#include "core/vm.h"

/* How long a back-end gets to answer one request (DPDK mapping guest
 * memory in the nested lab took more than 5 s). */
#define REPLY_TIMEOUT_S 10
#define MEM_TABLE_TIMEOUT_S 120
/* How often wisp tries to reach a back-end that went away. */
#define RECONNECT_INTERVAL_MS 500
/* Messages about one back-end going away and coming back, at most. */
#define MAX_REPORTS 8

#define NO_VECTOR 0xffff

struct vu_queue {
	struct vhost_user_dev *dev;
	unsigned index;
	bool started;		/* the back-end has the rings */
	bool enabled;		/* and serves them (SET_VRING_ENABLE 1) */
	int err_fd;		/* SET_VRING_ERR: the back-end reports a broken queue */
	int call_fd;		/* used only when the queue has no MSI-X irqfd */
};

struct vhost_user_dev {
	struct virtio_dev vdev;
	struct vm *vm;
	char *option, *name, *socket;
	int sock;			/* -1 while the back-end is away */
	/* vhost_mode=server: wisp listens and the back-end connects, at
	 * start-up and again after it went away; -1 in client mode */
	int listen_fd;
	struct socket_file listening;
	uint64_t backend_features;
	uint64_t protocol_features;	/* negotiated */
	bool protocol;			/* VHOST_USER_F_PROTOCOL_FEATURES */
	bool active;			/* DRIVER_OK: the rings belong to the back-end */
	bool config_from_backend;
	const char *(*check_config)(void *opaque, void *config, unsigned len);
	void *opaque;
	int reconnect_timer;
	bool reconnecting;
	bool refused;			/* the last failure was a refusal, not a broken link */
	uint64_t local_features;	/* offered by wisp itself, not the back-end */
	unsigned queues_without_mq;
	unsigned queue_num_unit;
	unsigned initially_enabled;	/* back-end queues enabled at DRIVER_OK */
	unsigned nenabled;		/* and now (vhost_user_enable_queues) */
	void (*local_notify)(void *opaque, struct virtio_dev *d, unsigned q);
	bool want_inflight;		/* the device asks for INFLIGHT_SHMFD */
	int inflight_fd;		/* the back-end's record of taken requests, or -1 */
	struct vu_inflight inflight;	/* its size and place in inflight_fd */
	uint16_t max_queue_size;
	bool lacking;			/* the handshake found features missing */
	unsigned reports;
	unsigned nqueues;		/* the back-end's (local ones follow) */
	uint8_t config[VU_MAX_CONFIG];
	struct vu_queue q[VIRTIO_MAX_QUEUES];
};

/* Shared between the files of vhost/vhost_user/. */
void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Bounded messages about the back-end coming and going. */
void report(struct vhost_user_dev *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int vu_set(struct vhost_user_dev *v, uint32_t request, const void *payload,
	   uint32_t size, const int *fds, unsigned nfds, char *err, size_t errlen);
int connect_socket(const char *path, char *err, size_t errlen);
int accept_socket(int listen_fd, char *err, size_t errlen);
int handshake(struct vhost_user_dev *v, uint64_t needed, char *err, size_t errlen);
int get_config(struct vhost_user_dev *v, void *buf, unsigned len, char *err,
	       size_t errlen);
int send_inflight(struct vhost_user_dev *v, char *err, size_t errlen);
void drop_inflight(struct vhost_user_dev *v);
int start_rings(struct vhost_user_dev *v, char *err, size_t errlen);
int stop_rings(struct vhost_user_dev *v, char *err, size_t errlen);
void disconnect(struct vhost_user_dev *v, const char *why);
int watch_socket(struct vhost_user_dev *v);
void rings_failed(struct vhost_user_dev *v, const char *err);
void on_reconnect_timer(void *opaque, uint32_t events);
int queue_fds(struct vhost_user_dev *v, unsigned q);
void init_queue_counts(struct vhost_user_dev *v, const struct vhost_user_params *p);

#endif
