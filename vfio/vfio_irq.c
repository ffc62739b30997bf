// SPDX-License-Identifier: MIT
/*
 * The interrupts VFIO devices cannot hand to KVM directly (an MSI-X
 * vector the guest has masked, INTx) arrive on eventfds that wisp reads
 * itself.  They get a thread of their own rather than the main event
 * loop, because vCPU threads add them while handling an MMIO exit, and
 * epoll_ctl is safe from any thread.
 */
#include "vfio/vfio.h"

#include <errno.h>
#include <linux/kvm.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "core/seccomp.h"
#include "core/vm.h"

struct watch {
	void (*fn)(void *opaque);
	void *opaque;
	struct watch *next;
};

/* every watch, kept for as long as wisp runs (the epoll set holds only
 * pointers the kernel keeps, which leak checkers cannot see) */
static struct watch *watches;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int epfd = -1;

static void *irq_thread(void *arg)
{
	struct epoll_event ev[16];

	(void)arg;
	for (;;) {
		int n = epoll_wait(epfd, ev, 16, -1);

		for (int i = 0; i < n; i++) {
			struct watch *w = ev[i].data.ptr;

			w->fn(w->opaque);
		}
		if (n < 0 && errno != EINTR)
			return NULL;
	}
}

/* The thread's own system calls (its seccomp kind): waiting, reading the
 * eventfds and timer, and what the callbacks do -- an MSI-X vector made
 * pending or delivered, an INTx line pulsed through the interrupt
 * controller, the host's INTx unmasked. */
static const struct seccomp_rule irq_thread_seccomp[] = {
	SC_ALLOW(SYS_epoll_pwait),
#ifdef SYS_epoll_wait
	SC_ALLOW(SYS_epoll_wait),
#endif
	SC_ALLOW(SYS_read),
	SC_ALLOW(SYS_timerfd_settime),
	SC_IOCTL(VFIO_DEVICE_SET_IRQS),
	SC_IOCTL(KVM_SIGNAL_MSI),
	SC_IOCTL(KVM_IRQ_LINE),
	SC_IOCTL(KVM_SET_GSI_ROUTING),
};

static int start(void)
{
	sigset_t all, old;
	pthread_t t;
	unsigned kind;
	int ret;

	kind = seccomp_kind("VFIO interrupt");
	if (!kind || seccomp_allow(kind, irq_thread_seccomp, SC_COUNT(irq_thread_seccomp)))
		return -1;
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		return -1;
	/* signals stay with the main and vCPU threads */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = seccomp_thread_create(&t, kind, irq_thread, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		errno = ret;
		return -1;
	}
	pthread_detach(t);
	return 0;
}

int vfio_irq_start(void)
{
	int ret = 0;

	pthread_mutex_lock(&lock);
	if (epfd < 0)
		ret = start();
	pthread_mutex_unlock(&lock);
	if (ret)
		wisp_err("--device: cannot start the VFIO interrupt thread: %s", strerror(errno));
	return ret;
}

int vfio_irq_watch(int fd, void (*fn)(void *opaque), void *opaque)
{
	struct watch *w = malloc(sizeof(*w));
	struct epoll_event ev = { .events = EPOLLIN };
	int ret = -1;

	if (!w)
		return -1;
	*w = (struct watch){ fn, opaque, NULL };
	ev.data.ptr = w;
	pthread_mutex_lock(&lock);
	if ((epfd >= 0 || !start()) && !epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev)) {
		w->next = watches;
		watches = w;
		ret = 0;
	}
	pthread_mutex_unlock(&lock);
	if (ret) {
		wisp_err("--device: cannot watch an interrupt eventfd: %s", strerror(errno));
		free(w);
	}
	return ret;
}
