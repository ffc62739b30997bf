// SPDX-License-Identifier: MIT
/*
 * PCI configuration space, BAR placement and MSI-X (see pci.h).
 *
 * Config space is an image plus a write mask: a guest write changes only
 * the bits the mask allows, so read-only fields (ids, class, capability
 * chain) cannot be altered.  BAR registers get the usual sizing
 * semantics, and a BAR is on the MMIO/PIO bus exactly while the guest has
 * memory (I/O) decoding on and the BAR at a sane address.
 */
#include "core/pci.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "arch_layout.h"
#include "core/irq.h"
#include "core/kv.h"
#include "core/snapshot.h"
#include "core/vm.h"

#define MSIX_CTRL_MASKALL 0x4000
#define MSIX_CTRL_ENABLE 0x8000
#define MSIX_VECTOR_MASKED 0x1
#define MSIX_ENTRY_SIZE 16

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

void pci_cfg_wmask(struct pci_function *fn, unsigned off, unsigned len,
		   uint32_t mask)
{
	for (unsigned i = 0; i < len && off + i < PCI_CFG_SIZE; i++)
		fn->wmask[off + i] = (uint8_t)(mask >> (8 * (i % 4)));
}

void pci_init_function(struct pci_function *fn, struct vm *vm, const char *name,
		       uint16_t vendor, uint16_t device, uint32_t class_code,
		       uint8_t revision)
{
	memset(fn, 0, sizeof(*fn));
	fn->vm = vm;
	fn->name = name;
	pthread_mutex_init(&fn->lock, NULL);
	put16(&fn->cfg[PCI_VENDOR_ID], vendor);
	put16(&fn->cfg[PCI_DEVICE_ID], device);
	fn->cfg[PCI_REVISION] = revision;
	fn->cfg[PCI_CLASS_PROG] = (uint8_t)class_code;
	put16(&fn->cfg[PCI_CLASS_PROG + 1], (uint16_t)(class_code >> 8));
	fn->cfg[PCI_HEADER_TYPE] = 0;
	fn->cfg[PCI_INTERRUPT_PIN] = 0;	/* MSI-X only, no INTx */
	pci_cfg_wmask(fn, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY |
		      PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
	pci_cfg_wmask(fn, PCI_INTERRUPT_LINE, 1, 0xff);
	fn->cap_next = 0x40;
}

void pci_set_subsystem(struct pci_function *fn, uint16_t vendor, uint16_t id)
{
	put16(&fn->cfg[PCI_SUBSYS_VENDOR], vendor);
	put16(&fn->cfg[PCI_SUBSYS_ID], id);
}

void pci_set_bar(struct pci_function *fn, unsigned n, uint64_t size,
		 unsigned flags, const struct bus_ops *ops, void *opaque)
{
	uint64_t s = (flags & PCI_BAR_IO) ? 4 : 4096;
	uint32_t low;

	while (s < size)
		s <<= 1;
	fn->bar[n] = (struct pci_bar){ .size = s, .flags = flags, .ops = ops,
				       .opaque = opaque };
	low = (flags & PCI_BAR_IO) ? 0x1 :
	      ((flags & PCI_BAR_MEM64) ? 0x4 : 0) | ((flags & PCI_BAR_PREFETCH) ? 0x8 : 0);
	put32(&fn->cfg[PCI_BAR0 + 4 * n], low);
}

uint8_t pci_add_capability(struct pci_function *fn, uint8_t id,
			   const void *body, unsigned len)
{
	uint8_t at = fn->cap_next;
	uint8_t *link = &fn->cfg[PCI_CAP_PTR];

	if (at + len > 0x100 || len < 2)
		return 0;
	while (*link)
		link = &fn->cfg[*link + 1];
	*link = at;
	memcpy(&fn->cfg[at], body, len);
	fn->cfg[at] = id;
	fn->cfg[at + 1] = 0;
	fn->cap_next = (uint8_t)((at + len + 3) & ~3u);
	put16(&fn->cfg[PCI_STATUS], get16(&fn->cfg[PCI_STATUS]) | PCI_STATUS_CAP_LIST);
	return at;
}

/* ---------------------------------------------------------------- BARs */

static uint64_t bar_addr(const struct pci_function *fn, unsigned n)
{
	uint64_t a = get32(&fn->cfg[PCI_BAR0 + 4 * n]);

	if (fn->bar[n].flags & PCI_BAR_IO)
		return a & ~0x3ULL;
	if (fn->bar[n].flags & PCI_BAR_MEM64)
		a |= (uint64_t)get32(&fn->cfg[PCI_BAR0 + 4 * (n + 1)]) << 32;
	return a & ~0xfULL;
}

/* Puts BAR n on the bus at its programmed address if decoding is on, or
 * takes it off.  Function lock held. */
static void bar_update(struct pci_function *fn, unsigned n)
{
	struct pci_bar *b = &fn->bar[n];
	uint16_t cmd = get16(&fn->cfg[PCI_COMMAND]);
	bool io = b->flags & PCI_BAR_IO;
	struct bus *bus = io ? &fn->vm->pio : &fn->vm->mmio;
	uint64_t addr = bar_addr(fn, n);
	bool want = b->size && (cmd & (io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY)) &&
		    addr && addr + b->size > addr && !(addr & (b->size - 1));

	if (b->mapped && (!want || addr != b->addr)) {
		bus_unregister(bus, b->addr, b->opaque);
		b->mapped = false;
	}
	/* a guest that overlaps BARs loses the later one, nothing more; the
	 * owner still hears of it, so that what it had at the old place
	 * (memory slots, ioeventfds) goes too */
	if (want && !b->mapped &&
	    !bus_register(bus, addr, b->size, b->ops, b->opaque, fn->name)) {
		b->mapped = true;
		b->addr = addr;
	}
	if (fn->bar_moved)
		fn->bar_moved(fn, n);
}

/* A write to a BAR register: only the address bits above the size move. */
static void bar_write(struct pci_function *fn, unsigned reg, uint32_t value)
{
	unsigned n = reg, half = 0;
	uint32_t keep, mask;

	/* the upper half of a 64-bit BAR */
	if (n > 0 && (fn->bar[n - 1].flags & PCI_BAR_MEM64) && !fn->bar[n].size) {
		n--;
		half = 1;
	}
	if (!fn->bar[n].size)
		return;		/* unused BAR: reads as 0 */
	if (half) {
		mask = (uint32_t)(~(fn->bar[n].size - 1) >> 32);
		put32(&fn->cfg[PCI_BAR0 + 4 * reg], value & mask);
	} else {
		keep = get32(&fn->cfg[PCI_BAR0 + 4 * reg]) &
		       ((fn->bar[n].flags & PCI_BAR_IO) ? 0x3 : 0xf);
		mask = (uint32_t)~(fn->bar[n].size - 1) & ~((fn->bar[n].flags & PCI_BAR_IO) ? 0x3u : 0xfu);
		put32(&fn->cfg[PCI_BAR0 + 4 * reg], (value & mask) | keep);
	}
	bar_update(fn, n);
}

/* --------------------------------------------------------------- MSI-X */

bool msix_enabled(const struct pci_function *fn)
{
	return fn->msix.nvec &&
	       (get16(&fn->cfg[fn->msix.cap + 2]) & MSIX_CTRL_ENABLE);
}

static bool function_masked(const struct pci_function *fn)
{
	return get16(&fn->cfg[fn->msix.cap + 2]) & MSIX_CTRL_MASKALL;
}

bool pci_bus_master(const struct pci_function *fn)
{
	return get16(&fn->cfg[PCI_COMMAND]) & PCI_COMMAND_MASTER;
}

/* Masked, or unable to send: a function without bus mastering sends no
 * MSI, so its interrupts wait in the PBA until it is turned back on. */
static bool vector_masked(const struct pci_function *fn, unsigned v)
{
	return !msix_enabled(fn) || function_masked(fn) || !pci_bus_master(fn) ||
	       (fn->msix.vec[v].ctrl & MSIX_VECTOR_MASKED);
}

/* Signals that reached a masked vector's eventfd (from another process,
 * or wisp's own msix_notify racing the mask) become its pending bit.
 * Function lock held. */
static void collect_pending(struct pci_function *fn, unsigned v)
{
	struct msix_vector *e = &fn->msix.vec[v];
	uint64_t n;

	if (e->eventfd >= 0 && !e->irqfd_on && read(e->eventfd, &n, sizeof(n)) == sizeof(n))
		fn->msix.pba[v / 64] |= 1ULL << (v % 64);
}

/* The device id of its MSIs (GICv3 ITS): the requester id (function 0
 * of the slot on bus 0), each segment's moved up by 256 as its host
 * bridge's msi-map says (devices/pci_host/aarch64.c): KVM's ITS takes
 * 16-bit device ids, so segment k's bus 0 gets the ids of a bus k. */
static uint32_t msi_devid(const struct pci_function *fn)
{
	uint32_t segment = IS_ENABLED(CONFIG_PCI_SEGMENTS) ? fn->segment : 0;

	return segment << 8 | (uint32_t)fn->slot << 3;
}

/* Makes vector v's KVM route and irqfd match its table entry and mask
 * state.  A masked vector's irqfd is detached: KVM would otherwise
 * consume the eventfd's signals and inject them into a route that no
 * longer exists, losing them; detached, the eventfd keeps count, and
 * the PBA and the unmask read it.  Function lock held. */
static void vector_sync(struct pci_function *fn, unsigned v)
{
	struct msix_vector *e = &fn->msix.vec[v];
	uint64_t addr = ((uint64_t)e->addr_hi << 32) | e->addr_lo;
	bool masked = vector_masked(fn, v);

	if (e->gsi < 0) {
		if (masked || e->failed)
			return;		/* never used yet: nothing to mask */
		e->gsi = irq_msi_route_alloc(fn->vm);
		e->eventfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (e->gsi < 0 || e->eventfd < 0) {
			/* once: a guest rewriting the entry must not make
			 * wisp take a GSI and an eventfd each time */
			wisp_err("%s: cannot set up MSI-X vector %u; it stays silent", fn->name, v);
			if (e->eventfd >= 0)
				close(e->eventfd);
			e->eventfd = -1;
			e->gsi = -1;
			e->failed = true;
			return;
		}
	}
	/* detached before the route goes: what the irqfd took until then
	 * was still delivered through it */
	if (masked && e->irqfd_on && !irq_irqfd(fn->vm, e->gsi, e->eventfd, false))
		e->irqfd_on = false;
	irq_msi_route_set_dev(fn->vm, e->gsi, addr, e->data, msi_devid(fn), masked);
	if (!masked && !e->irqfd_on) {
		collect_pending(fn, v);
		/* a signal between the read and this is seen by KVM when
		 * it attaches (it polls the eventfd then) */
		if (irq_irqfd(fn->vm, e->gsi, e->eventfd, true)) {
			/* KVM refused it: said once, never tried again.  The
			 * eventfd stays open (unused) for the function's life:
			 * msix_notify may have taken it before this and write
			 * to it after, and a closed descriptor's number may
			 * by then belong to a disk image or a socket. */
			wisp_err("%s: cannot set up MSI-X vector %u; it stays silent", fn->name, v);
			irq_msi_route_set_dev(fn->vm, e->gsi, addr, e->data, msi_devid(fn), true);
			e->gsi = -1;
			e->failed = true;
			return;
		}
		e->irqfd_on = true;
	}
	/* unmasked with an interrupt pending: deliver it now */
	if (!masked && (fn->msix.pba[v / 64] & (1ULL << (v % 64)))) {
		uint64_t one = 1;

		fn->msix.pba[v / 64] &= ~(1ULL << (v % 64));
		if (write(e->eventfd, &one, sizeof(one)) < 0)
			wisp_err("%s: MSI-X vector %u: %s", fn->name, v, strerror(errno));
	}
}

static void msix_sync_all(struct pci_function *fn)
{
	for (unsigned v = 0; v < fn->msix.nvec; v++)
		vector_sync(fn, v);
}

int pci_adopt_msix(struct pci_function *fn, uint8_t cap, unsigned nvec,
		   unsigned bar, uint32_t table_offset, uint32_t pba_offset)
{
	struct msix *m = &fn->msix;

	if (!nvec || nvec > 2048 || !cap)
		return -1;
	m->vec = calloc(nvec, sizeof(*m->vec));
	m->pba = calloc((nvec + 63) / 64, sizeof(*m->pba));
	if (!m->vec || !m->pba)
		return -1;
	for (unsigned v = 0; v < nvec; v++) {
		m->vec[v].gsi = -1;
		m->vec[v].eventfd = -1;
		m->vec[v].ctrl = MSIX_VECTOR_MASKED;
	}
	m->nvec = nvec;
	m->bar = bar;
	m->table_offset = table_offset;
	m->pba_offset = pba_offset;
	m->cap = cap;
	pci_cfg_wmask(fn, m->cap + 2, 2, MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL);
	return 0;
}

int pci_add_msix(struct pci_function *fn, unsigned nvec, unsigned bar,
		 uint32_t table_offset, uint32_t pba_offset)
{
	uint8_t body[12] = { 0 };

	if (!nvec || nvec > 2048)
		return -1;
	put16(&body[2], (uint16_t)(nvec - 1));
	put32(&body[4], table_offset | bar);
	put32(&body[8], pba_offset | bar);
	return pci_adopt_msix(fn, pci_add_capability(fn, PCI_CAP_ID_MSIX, body, sizeof(body)),
			      nvec, bar, table_offset, pba_offset);
}

bool msix_table_access(struct pci_function *fn, uint64_t off, void *data,
		       unsigned len, bool write)
{
	struct msix *m = &fn->msix;
	uint64_t table_end = m->table_offset + (uint64_t)m->nvec * MSIX_ENTRY_SIZE;
	uint64_t pba_end = m->pba_offset + ((m->nvec + 63) / 64) * 8ULL;

	if (!m->nvec)
		return false;
	if (off >= m->table_offset && off < table_end) {
		uint64_t rel = off - m->table_offset;
		unsigned v = (unsigned)(rel / MSIX_ENTRY_SIZE);
		uint32_t *word;

		/* the spec allows aligned dword and qword accesses only;
		 * anything else reads as zero and writes nothing */
		if ((len != 4 && len != 8) || (rel & (len - 1))) {
			if (!write)
				memset(data, 0, len);
			return true;
		}
		pthread_mutex_lock(&fn->lock);
		word = &m->vec[v].addr_lo + (rel % MSIX_ENTRY_SIZE) / 4;
		if (write) {
			memcpy(word, data, 4);
			if (len == 8 && (rel % MSIX_ENTRY_SIZE) / 4 < 3)
				memcpy(word + 1, (uint8_t *)data + 4, 4);
			m->vec[v].ctrl &= MSIX_VECTOR_MASKED;
			vector_sync(fn, v);
		} else {
			memset(data, 0, len);
			memcpy(data, word, 4);
			if (len == 8 && (rel % MSIX_ENTRY_SIZE) / 4 < 3)
				memcpy((uint8_t *)data + 4, word + 1, 4);
		}
		pthread_mutex_unlock(&fn->lock);
		return true;
	}
	if (off >= m->pba_offset && off < pba_end) {
		uint64_t rel = off - m->pba_offset;

		if (!write && (len == 4 || len == 8) && !(rel & (len - 1))) {
			pthread_mutex_lock(&fn->lock);
			for (unsigned v = (unsigned)rel * 8; v < m->nvec && v < (rel + len) * 8; v++)
				collect_pending(fn, v);
			memcpy(data, (uint8_t *)m->pba + rel, len);
			pthread_mutex_unlock(&fn->lock);
		} else if (!write) {
			memset(data, 0, len);
		}
		return true;	/* the PBA is read-only */
	}
	return false;
}

int msix_notify(struct pci_function *fn, unsigned vector)
{
	struct msix_vector *e;
	uint64_t one = 1;
	int fd;

	if (vector >= fn->msix.nvec)
		return -1;
	pthread_mutex_lock(&fn->lock);
	e = &fn->msix.vec[vector];
	if (e->failed) {
		pthread_mutex_unlock(&fn->lock);
		return 0;	/* silent: its set-up was refused */
	}
	if (vector_masked(fn, vector) || e->eventfd < 0) {
		fn->msix.pba[vector / 64] |= 1ULL << (vector % 64);
		pthread_mutex_unlock(&fn->lock);
		return 0;
	}
	fd = e->eventfd;
	pthread_mutex_unlock(&fn->lock);
	if (write(fd, &one, sizeof(one)) < 0)
		return -1;
	return 0;
}

bool msix_vector_masked(struct pci_function *fn, unsigned vector)
{
	bool masked;

	if (vector >= fn->msix.nvec)
		return true;
	pthread_mutex_lock(&fn->lock);
	masked = vector_masked(fn, vector);
	pthread_mutex_unlock(&fn->lock);
	return masked;
}

int msix_vector_eventfd(struct pci_function *fn, unsigned vector)
{
	int fd;

	if (vector >= fn->msix.nvec)
		return -1;
	pthread_mutex_lock(&fn->lock);
	/* a refused vector's eventfd reaches no vCPU: none to hand out */
	fd = fn->msix.vec[vector].failed ? -1 : fn->msix.vec[vector].eventfd;
	pthread_mutex_unlock(&fn->lock);
	return fd;
}

/* ----------------------------------------------------------- snapshots */

#ifdef CONFIG_SNAPSHOT
void pci_save(struct pci_function *fn, struct snap_writer *w)
{
	pthread_mutex_lock(&fn->lock);
	snap_blob(w, fn->cfg, PCI_CFG_SIZE);
	snap_u32(w, fn->msix.nvec);
	for (unsigned v = 0; v < fn->msix.nvec; v++) {
		const struct msix_vector *e = &fn->msix.vec[v];

		snap_u32(w, e->addr_lo);
		snap_u32(w, e->addr_hi);
		snap_u32(w, e->data);
		snap_u32(w, e->ctrl);
	}
	for (unsigned i = 0; i < (fn->msix.nvec + 63) / 64; i++)
		snap_u64(w, fn->msix.pba[i]);
	pthread_mutex_unlock(&fn->lock);
}

/* The BARs' registers, written with decoding off so that a 64-bit BAR
 * is never mapped with half of its address; then on the bus as the
 * command register says.  Function lock held. */
static void load_bars(struct pci_function *fn, const uint8_t *cfg)
{
	uint16_t cmd = get16(&fn->cfg[PCI_COMMAND]);

	put16(&fn->cfg[PCI_COMMAND], 0);
	for (unsigned reg = 0; reg < PCI_NUM_BARS; reg++)
		bar_write(fn, reg, get32(&cfg[PCI_BAR0 + 4 * reg]));
	put16(&fn->cfg[PCI_COMMAND], cmd);
	for (unsigned n = 0; n < PCI_NUM_BARS; n++)
		if (fn->bar[n].size)
			bar_update(fn, n);
}

/* Config space goes back through the same masks a guest's writes do:
 * read-only bytes stay as this wisp made them, BARs keep their size
 * alignment, and the BARs and MSI-X routes then follow as after the
 * guest's own writes. */
int pci_load(struct pci_function *fn, struct snap_reader *r)
{
	uint8_t *cfg = malloc(PCI_CFG_SIZE);
	int ret = -1;

	if (!cfg)
		return -1;
	snap_get_blob(r, cfg, PCI_CFG_SIZE);
	if (snap_get_u32(r) != fn->msix.nvec || r->failed)
		goto out;
	pthread_mutex_lock(&fn->lock);
	for (unsigned off = 0; off < PCI_CFG_SIZE; off++)
		if (off < PCI_BAR0 || off >= PCI_BAR0 + 4 * PCI_NUM_BARS)
			fn->cfg[off] = (uint8_t)((fn->cfg[off] & ~fn->wmask[off]) |
						 (cfg[off] & fn->wmask[off]));
	load_bars(fn, cfg);
	for (unsigned v = 0; v < fn->msix.nvec; v++) {
		struct msix_vector *e = &fn->msix.vec[v];

		e->addr_lo = snap_get_u32(r);
		e->addr_hi = snap_get_u32(r);
		e->data = snap_get_u32(r);
		e->ctrl = snap_get_u32(r) & MSIX_VECTOR_MASKED;
	}
	for (unsigned i = 0; i < (fn->msix.nvec + 63) / 64; i++)
		fn->msix.pba[i] = snap_get_u64(r);
	if (fn->msix.nvec % 64)
		fn->msix.pba[fn->msix.nvec / 64] &= (1ULL << (fn->msix.nvec % 64)) - 1;
	if (!r->failed) {
		msix_sync_all(fn);
		ret = 0;
	}
	pthread_mutex_unlock(&fn->lock);
out:
	free(cfg);
	return ret;
}
#endif

/* -------------------------------------------------------- config space */

static void config_write(struct pci_function *fn, unsigned off, uint32_t value,
			 unsigned len)
{
	uint16_t old_cmd = get16(&fn->cfg[PCI_COMMAND]);
	uint16_t old_msix = fn->msix.nvec ? get16(&fn->cfg[fn->msix.cap + 2]) : 0;

	if (off >= PCI_BAR0 && off < PCI_BAR0 + 4 * PCI_NUM_BARS) {
		if (len == 4 && !(off & 3))
			bar_write(fn, (off - PCI_BAR0) / 4, value);
		return;
	}
	for (unsigned i = 0; i < len; i++) {
		uint8_t m = fn->wmask[off + i];
		uint8_t v = (uint8_t)(value >> (8 * i));

		fn->cfg[off + i] = (uint8_t)((fn->cfg[off + i] & ~m) | (v & m));
	}
	if (get16(&fn->cfg[PCI_COMMAND]) != old_cmd)
		for (unsigned n = 0; n < PCI_NUM_BARS; n++)
			if (fn->bar[n].size)
				bar_update(fn, n);
	if (fn->msix.nvec && (get16(&fn->cfg[fn->msix.cap + 2]) != old_msix ||
			      get16(&fn->cfg[PCI_COMMAND]) != old_cmd))
		msix_sync_all(fn);
}

void pci_config_access(struct pci_segment *seg, unsigned bus, unsigned devfn,
		       unsigned off, void *data, unsigned len, bool write)
{
	struct pci_function *fn = NULL;
	uint32_t v = 0;

	/* one function per slot, bus 0 only */
	if (bus == 0 && !(devfn & 7))
		fn = seg->fn[devfn >> 3];
	if (!fn || off >= PCI_CFG_SIZE || len > 4 || off + len > PCI_CFG_SIZE ||
	    (off & (len - 1))) {
		if (!write)
			memset(data, 0xff, len);
		return;
	}
	if (!write && fn->config_read)
		fn->config_read(fn, off, len);
	pthread_mutex_lock(&fn->lock);
	if (write) {
		memcpy(&v, data, len);
		config_write(fn, off, v, len);
	} else {
		memcpy(data, &fn->cfg[off], len);
	}
	pthread_mutex_unlock(&fn->lock);
	if (write && fn->config_written)
		fn->config_written(fn, off, len);
}

/* ------------------------------------------------------------ segments */

struct pci_segment *pci_segment_create(struct vm *vm, uint16_t id, uint64_t ecam,
				       uint64_t mmio32, uint64_t mmio32_size,
				       uint64_t mmio64, uint64_t mmio64_size)
{
	struct pci_segment *seg;

	if (id >= PCI_MAX_SEGMENTS || vm->pci[id])
		return NULL;
	seg = calloc(1, sizeof(*seg));
	if (!seg)
		return NULL;
	*seg = (struct pci_segment){
		.id = id, .ecam = ecam,
		.mmio32 = mmio32, .mmio32_size = mmio32_size, .mmio32_next = mmio32,
		.mmio64 = mmio64, .mmio64_size = mmio64_size, .mmio64_next = mmio64,
	};
	pthread_mutex_init(&seg->lock, NULL);
	vm->pci[id] = seg;
	return seg;
}

struct pci_segment *pci_segment_get(struct vm *vm, uint16_t id)
{
	return id < PCI_MAX_SEGMENTS ? vm->pci[id] : NULL;
}

/* Next naturally aligned spot of `size` in a window, or 0. */
static uint64_t window_take(uint64_t *next, uint64_t base, uint64_t size_of_window,
			    uint64_t size)
{
	uint64_t at = (*next + size - 1) & ~(size - 1);

	if (at < *next || at + size > base + size_of_window)
		return 0;
	*next = at + size;
	return at;
}

static int assign_bars(struct pci_segment *seg, struct pci_function *fn)
{
	for (unsigned n = 0; n < PCI_NUM_BARS; n++) {
		struct pci_bar *b = &fn->bar[n];
		uint64_t at = 0;

		if (!b->size || (b->flags & PCI_BAR_IO))
			continue;	/* I/O BARs are left for the guest */
		if ((b->flags & PCI_BAR_MEM64) && seg->mmio64_size &&
		    (b->size >= (16 << 20) || (b->flags & PCI_BAR_PREFETCH)))
			at = window_take(&seg->mmio64_next, seg->mmio64, seg->mmio64_size, b->size);
		if (!at)
			at = window_take(&seg->mmio32_next, seg->mmio32, seg->mmio32_size, b->size);
		if (!at && (b->flags & PCI_BAR_MEM64) && seg->mmio64_size)
			at = window_take(&seg->mmio64_next, seg->mmio64, seg->mmio64_size, b->size);
		if (!at) {
			wisp_err("%s: no room for a %llu-byte BAR in PCI segment %u",
				 fn->name, (unsigned long long)b->size, seg->id);
			return -1;
		}
		put32(&fn->cfg[PCI_BAR0 + 4 * n],
		      (uint32_t)at | (get32(&fn->cfg[PCI_BAR0 + 4 * n]) & 0xf));
		if (b->flags & PCI_BAR_MEM64)
			put32(&fn->cfg[PCI_BAR0 + 4 * (n + 1)], (uint32_t)(at >> 32));
	}
	return 0;
}

int pci_intx_line(unsigned slot, unsigned pin)
{
#ifdef ARCH_PCI_INTX_GSI
	if (pin >= 1 && pin <= 4 && slot < PCI_SLOTS)
		return (int)(ARCH_PCI_INTX_GSI + (slot + pin - 1) % ARCH_PCI_INTX_GSIS);
#else
	(void)slot;
	(void)pin;
#endif
	return -1;
}

#ifdef CONFIG_PCI_SEGMENTS
/* The slots the command line asks for (pci_device_id=), reserved by
 * core once the whole command line is read -- after --restore's
 * replaced devices have gone -- so that pci_add() keeps them free for
 * their devices, whichever is created first. */
static uint32_t planned_slots[PCI_MAX_SEGMENTS];

void pci_plan_reset(void)
{
	memset(planned_slots, 0, sizeof(planned_slots));
}

int pci_plan_reserve(unsigned segment, unsigned slot)
{
	if (segment >= PCI_MAX_SEGMENTS || slot >= PCI_SLOTS || (planned_slots[segment] & (1u << slot)))
		return -1;
	planned_slots[segment] |= 1u << slot;
	return 0;
}

int pci_parse_place(struct kv_list *args, uint64_t *segment, uint8_t *slot,
		    struct cli_error *err)
{
	uint64_t id = 0;
	int given;

	if (kv_u64(args, "pci_segment", 0, UINT16_MAX, segment, err) < 0)
		return -1;
	/* never valid here, whatever --platform says */
	if (*segment >= PCI_MAX_SEGMENTS) {
		cli_errorf(err, "'pci_segment=%llu': invalid PCI segment id: wisp builds at most "
			   "%d (--platform num_pci_segments)", (unsigned long long)*segment,
			   PCI_MAX_SEGMENTS);
		return -1;
	}
	given = kv_u64(args, "pci_device_id", 0, PCI_SLOTS - 1, &id, err);
	if (given < 0)
		return -1;
	/* below num_pci_segments: core checks it once --platform is read */
	args->needs.pci_segment = (unsigned)*segment;
	if (!given)
		return 0;
	if (!id) {
		cli_errorf(err, "'pci_device_id=0': slot 0 is the PCI host bridge's");
		return -1;
	}
	/* no other device's: core checks it with the segment */
	args->needs.pci_slot = (unsigned)id;
	*slot = (uint8_t)id;
	return 0;
}

static bool slot_asked_for(unsigned segment, unsigned slot)
{
	return segment < PCI_MAX_SEGMENTS && (planned_slots[segment] & (1u << slot));
}
#else
static bool slot_asked_for(unsigned segment, unsigned slot)
{
	(void)segment;
	(void)slot;
	return false;
}
#endif

int pci_add(struct vm *vm, struct pci_function *fn, uint16_t segment)
{
	struct pci_segment *seg = pci_segment_get(vm, segment);
	/* (always 0 without CONFIG_PCI_SEGMENTS, which leaves it all out) */
	unsigned want = IS_ENABLED(CONFIG_PCI_SEGMENTS) ? fn->slot : 0;
	int ret = -1;

	if (!seg) {
		wisp_err("%s: there is no PCI segment %u", fn->name, segment);
		return -1;
	}
	pthread_mutex_lock(&seg->lock);
	for (unsigned slot = want; slot < PCI_SLOTS && ret; slot++) {
		if (seg->fn[slot] || (!want && slot_asked_for(segment, slot)))
			continue;
		if (want && slot != want)
			break;
		if (assign_bars(seg, fn)) {
			pthread_mutex_unlock(&seg->lock);
			return -1;
		}
		fn->segment = segment;
		fn->slot = (uint8_t)slot;
		seg->fn[slot] = fn;
		ret = 0;
	}
	pthread_mutex_unlock(&seg->lock);
	if (ret && want)
		wisp_err("%s: slot %u of PCI segment %u is taken", fn->name, want, segment);
	else if (ret)
		wisp_err("%s: PCI segment %u is full (%d slots)", fn->name, segment, PCI_SLOTS);
	return ret;
}
