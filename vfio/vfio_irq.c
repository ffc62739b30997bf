// SPDX-License-Identifier: MIT
/*
 * The interrupts VFIO devices cannot hand to KVM directly (an MSI-X
 * vector the guest has masked, INTx) arrive on eventfds that wisp reads
 * itself.  They get a thread of their own rather than the main event
 * loop, because vCPU threads add them while handling an MMIO exit, and
 * epoll_ctl is safe from any thread.
 *
 * Below the thread: how a VFIO PCI device's MSI-X, MSI and INTx reach the
 * guest (the eventfds handed to VFIO_DEVICE_SET_IRQS, KVM routes and
 * irqfds, the parking of masked vectors, INTx's unmask timer).
 */
#include "vfio/vfio.h"
#include "vfio/vfio_pci.h"

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

static void intx_set(struct vfio_pci *v, bool on);

/* -------------------------------------------------------------- MSI-X */

int set_irqs(struct vfio_pci *v, unsigned index, unsigned start,
	     unsigned count, const int *fds)
{
	size_t size = sizeof(struct vfio_irq_set) + count * sizeof(int);
	struct vfio_irq_set *set = calloc(1, size);
	int ret;

	if (!set)
		return -1;
	set->argsz = (uint32_t)size;
	set->flags = VFIO_IRQ_SET_ACTION_TRIGGER |
		     (fds ? VFIO_IRQ_SET_DATA_EVENTFD : VFIO_IRQ_SET_DATA_NONE);
	set->index = index;
	set->start = start;
	set->count = count;
	if (fds)
		memcpy(set->data, fds, count * sizeof(int));
	ret = dev_ioctl(v->fd, VFIO_DEVICE_SET_IRQS, set);
	if (ret)
		guest_report(v, "VFIO_DEVICE_SET_IRQS (%s %u+%u): %s",
			     index == VFIO_PCI_MSIX_IRQ_INDEX ? "MSI-X" :
			     index == VFIO_PCI_MSI_IRQ_INDEX ? "MSI" : "INTx", start, count,
			     strerror(errno));
	free(set);
	return ret;
}

/* A vector the guest masked: VFIO signals this eventfd instead of the
 * irqfd, and the interrupt waits in the PBA (msix_notify) until the
 * guest unmasks it, as the device's own PBA would hold it. */
struct msix_park {
	struct vfio_pci *dev;
	unsigned vector;
	int fd;
};

static void park_fired(void *opaque)
{
	struct msix_park *p = opaque;
	uint64_t n;

	if (read(p->fd, &n, sizeof(n)) == sizeof(n))
		msix_notify(&p->dev->fn, p->vector);
}

/* What VFIO should signal for vector i: its irqfd while unmasked, its
 * parking eventfd while masked, nothing before the guest first set it
 * up. */
static int msix_target(struct vfio_pci *v, unsigned i)
{
	struct msix_park *p = &v->park[i];
	int irqfd = msix_vector_eventfd(&v->fn, i);

	if (irqfd < 0)
		return -1;
	if (!msix_vector_masked(&v->fn, i))
		return irqfd;
	if (p->fd < 0) {
		p->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (p->fd >= 0 && vfio_irq_watch(p->fd, park_fired, p)) {
			close(p->fd);
			p->fd = -1;
		}
		if (p->fd < 0)
			return irqfd;	/* dropped while masked, as before */
	}
	return p->fd;
}

/* Makes VFIO's MSI-X state follow the guest's for vectors [first,
 * first+count): enabled with the capability, each vector signalling
 * msix_target(). */
void msix_update(struct vfio_pci *v, unsigned first, unsigned count)
{
	struct pci_function *fn = &v->fn;
	unsigned n = fn->msix.nvec;
	bool want;

	pthread_mutex_lock(&v->irq_lock);
	pthread_mutex_lock(&fn->lock);
	want = msix_enabled(fn);
	pthread_mutex_unlock(&fn->lock);
	if (want && !v->msix_on) {
		for (unsigned i = 0; i < n; i++)
			v->msix_fd[i] = msix_target(v, i);
		intx_set(v, false);	/* VFIO has one kind on at a time */
		v->msix_on = !set_irqs(v, VFIO_PCI_MSIX_IRQ_INDEX, 0, n, v->msix_fd);
	} else if (!want && v->msix_on) {
		set_irqs(v, VFIO_PCI_MSIX_IRQ_INDEX, 0, 0, NULL);
		v->msix_on = false;
		intx_set(v, !v->msi_on);
	} else if (want) {
		for (unsigned i = first; i < n && i - first < count; i++) {
			int fd = msix_target(v, i);

			if (fd != v->msix_fd[i] &&
			    !set_irqs(v, VFIO_PCI_MSIX_IRQ_INDEX, i, 1, &fd))
				v->msix_fd[i] = fd;
		}
	}
	pthread_mutex_unlock(&v->irq_lock);
}

/* ---------------------------------------------------------------- MSI */

void msi_update(struct vfio_pci *v)
{
	struct pci_function *fn = &v->fn;
	uint8_t c = v->msi_cap;
	uint16_t flags;
	uint64_t addr;
	uint32_t data, mask = 0;
	bool is64, want;

	pthread_mutex_lock(&v->irq_lock);
	pthread_mutex_lock(&fn->lock);
	flags = cfg16(v, c + 2);
	is64 = flags & PCI_MSI_FLAGS_64BIT;
	addr = cfg32(v, c + 4);
	if (is64)
		addr |= (uint64_t)cfg32(v, c + 8) << 32;
	data = cfg16(v, c + (is64 ? 12 : 8));
	if (flags & PCI_MSI_FLAGS_MASKBIT)
		mask = cfg32(v, c + (is64 ? 16 : 12)) & 1;
	want = flags & PCI_MSI_FLAGS_ENABLE;
	pthread_mutex_unlock(&fn->lock);

	/* the route and irqfd are made once; if that fails, MSI stays off
	 * (retrying on every enable would use up GSIs) */
	if (want && v->msi_gsi < 0 && !v->msi_failed) {
		int gsi = irq_msi_route_alloc(v->vm);

		v->msi_eventfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (gsi < 0 || v->msi_eventfd < 0 || irq_irqfd(v->vm, gsi, v->msi_eventfd, true)) {
			guest_report(v, "cannot set up the MSI vector");
			v->msi_failed = true;
		} else {
			v->msi_gsi = gsi;
		}
	}
	if (v->msi_gsi < 0)
		want = false;
	if (v->msi_gsi >= 0)
		irq_msi_route_set(v->vm, v->msi_gsi, addr, data,
				  !want || mask || !pci_bus_master(fn));
	if (want && !v->msi_on) {
		intx_set(v, false);
		v->msi_on = !set_irqs(v, VFIO_PCI_MSI_IRQ_INDEX, 0, 1, &v->msi_eventfd);
	} else if (!want && v->msi_on) {
		set_irqs(v, VFIO_PCI_MSI_IRQ_INDEX, 0, 0, NULL);
		v->msi_on = false;
		intx_set(v, !v->msix_on);
	}
	pthread_mutex_unlock(&v->irq_lock);
}

/* --------------------------------------------------------------- INTx */

/* With the split irqchip KVM cannot resample a level interrupt, so INTx
 * takes the way through wisp: VFIO masks the host's INTx when it fires
 * and signals intx_fd; wisp pulses the guest's line and unmasks a
 * millisecond later, when a device that still asserts INTx (the guest
 * has not serviced it yet) fires again.  Nothing is lost; INTx is slow,
 * which is why drivers use MSI-X. */
#define INTX_UNMASK_NS 1000000

/* irq_lock held.  VFIO has INTx on exactly while MSI and MSI-X are off. */
static void intx_set(struct vfio_pci *v, bool on)
{
	if (v->intx_line < 0 || on == v->intx_on)
		return;
	if (on)
		v->intx_on = !set_irqs(v, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, &v->intx_fd);
	else {
		set_irqs(v, VFIO_PCI_INTX_IRQ_INDEX, 0, 0, NULL);
		v->intx_on = false;
	}
}

static void intx_fired(void *opaque)
{
	struct vfio_pci *v = opaque;
	struct itimerspec later = { .it_value.tv_nsec = INTX_UNMASK_NS };
	uint64_t n;

	if (read(v->intx_fd, &n, sizeof(n)) != sizeof(n))
		return;
	irq_pulse(v->vm, (unsigned)v->intx_line);
	timerfd_settime(v->intx_timer, 0, &later, NULL);
}

static void intx_unmask(void *opaque)
{
	struct vfio_pci *v = opaque;
	struct vfio_irq_set set = {
		.argsz = sizeof(set),
		.flags = VFIO_IRQ_SET_ACTION_UNMASK | VFIO_IRQ_SET_DATA_NONE,
		.index = VFIO_PCI_INTX_IRQ_INDEX,
		.count = 1,
	};
	uint64_t n;

	if (read(v->intx_timer, &n, sizeof(n)) != sizeof(n))
		return;
	pthread_mutex_lock(&v->irq_lock);
	if (v->intx_on)
		dev_ioctl(v->fd, VFIO_DEVICE_SET_IRQS, &set);
	pthread_mutex_unlock(&v->irq_lock);
}

/* INTx for a device with an interrupt pin, once pci_add() gave it a
 * slot: the line the host bridge routes that slot's pin to.  Without
 * one (an arch without PCI INTx), or without VFIO INTx, the pin reads 0
 * and the guest uses MSI(-X). */
void setup_intx(struct vfio_pci *v, uint8_t pin)
{
	struct vfio_irq_info info = { .argsz = sizeof(info),
				      .index = VFIO_PCI_INTX_IRQ_INDEX };
	int line = pci_intx_line(v->fn.slot, pin);

	if (line < 0 || dev_ioctl(v->fd, VFIO_DEVICE_GET_IRQ_INFO, &info) || !info.count)
		return;
	v->intx_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	v->intx_timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (v->intx_fd < 0 || v->intx_timer < 0 ||
	    vfio_irq_watch(v->intx_fd, intx_fired, v) ||
	    vfio_irq_watch(v->intx_timer, intx_unmask, v))
		return;
	pthread_mutex_lock(&v->fn.lock);
	v->intx_line = line;
	v->fn.cfg[PCI_INTERRUPT_PIN] = pin;
	v->fn.cfg[PCI_INTERRUPT_LINE] = (uint8_t)line;
	pthread_mutex_unlock(&v->fn.lock);
	pthread_mutex_lock(&v->irq_lock);
	intx_set(v, true);
	pthread_mutex_unlock(&v->irq_lock);
}

/* MSI: one vector (multiple messages hidden), emulated whole. */
void setup_msi(struct vfio_pci *v, uint8_t c)
{
	struct pci_function *fn = &v->fn;
	uint16_t flags = cfg16(v, c + 2);
	bool is64 = flags & PCI_MSI_FLAGS_64BIT;
	unsigned len = 10 + (is64 ? 4 : 0) + ((flags & PCI_MSI_FLAGS_MASKBIT) ? 10 : 0);

	flags &= (uint16_t)~(PCI_MSI_FLAGS_QMASK | PCI_MSI_FLAGS_QSIZE | PCI_MSI_FLAGS_ENABLE);
	memcpy(&fn->cfg[c + 2], &flags, 2);
	emulate(v, c, len);
	pci_cfg_wmask(fn, c, len, 0);
	v->msi_cap = c;
	pci_cfg_wmask(fn, c + 2, 2, PCI_MSI_FLAGS_ENABLE);
	pci_cfg_wmask(fn, c + 4, 4, 0xfffffffc);
	if (is64)
		pci_cfg_wmask(fn, c + 8, 4, 0xffffffff);
	pci_cfg_wmask(fn, c + (is64 ? 12 : 8), 2, 0xffff);
	if (flags & PCI_MSI_FLAGS_MASKBIT)
		pci_cfg_wmask(fn, c + (is64 ? 16 : 12), 4, 0x1);
}

int setup_msix(struct vfio_pci *v, uint8_t c)
{
	struct pci_function *fn = &v->fn;
	uint16_t ctrl = cfg16(v, c + 2);
	uint32_t table = cfg32(v, c + 4), pba = cfg32(v, c + 8);
	unsigned nvec = (ctrl & PCI_MSIX_FLAGS_QSIZE) + 1;
	unsigned bir = table & PCI_MSIX_BIR;
	struct vfio_bar *b;

	ctrl &= PCI_MSIX_FLAGS_QSIZE;
	memcpy(&fn->cfg[c + 2], &ctrl, 2);
	emulate(v, c, 12);
	pci_cfg_wmask(fn, c, 12, 0);
	if ((pba & PCI_MSIX_BIR) != bir || bir >= PCI_NUM_BARS || !v->bar[bir].size) {
		wisp_err("%s: its MSI-X table and PBA are not in one BAR; not supported", v->name);
		return -1;
	}
	v->msix_fd = malloc(nvec * sizeof(int));
	v->park = calloc(nvec, sizeof(*v->park));
	if (!v->msix_fd || !v->park ||
	    pci_adopt_msix(fn, c, nvec, bir, table & ~PCI_MSIX_BIR, pba & ~PCI_MSIX_BIR))
		return -1;
	for (unsigned i = 0; i < nvec; i++) {
		v->msix_fd[i] = -1;
		v->park[i] = (struct msix_park){ .dev = v, .vector = i, .fd = -1 };
	}
	/* the table and PBA stay trapped, whatever VFIO lets us map */
	b = &v->bar[bir];
	b->nareas = vfio_areas_cut(b->area, b->nareas, MAX_PIECES, table & ~PCI_MSIX_BIR,
				   (table & ~PCI_MSIX_BIR) + nvec * 16ULL);
	b->nareas = vfio_areas_cut(b->area, b->nareas, MAX_PIECES, pba & ~PCI_MSIX_BIR,
				   (pba & ~PCI_MSIX_BIR) + (nvec + 63) / 64 * 8ULL);
	return 0;
}
