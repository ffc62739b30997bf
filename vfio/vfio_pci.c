// SPDX-License-Identifier: MIT
/*
 * VFIO PCI passthrough: a host PCI device bound to vfio-pci, given to the
 * guest as a function on wisp's PCI segment.
 *
 * Config space is the device's own, read and written through VFIO, except
 * what wisp must own: the BARs (the guest places them in wisp's PCI
 * window, not where the host has them), the expansion ROM (hidden), the
 * interrupt line and pin (INTx goes through wisp, see setup_intx), the
 * header type's multi-function bit, and the MSI and MSI-X capabilities
 * (MSI-X is core/pci.c's emulation, MSI one route of this file's; both
 * become KVM MSI routes).  The command
 * register is both: core/pci.c uses it to decode the BARs, and the device
 * gets it too (memory decoding, bus mastering).
 *
 * BARs: every part of a region that VFIO lets us mmap is put in the guest
 * as a KVM memory slot, so guest accesses never exit, except the pages
 * holding the MSI-X table and PBA; the rest of the BAR is trapped on the
 * MMIO bus and forwarded with pread/pwrite on the device fd.
 *
 * Interrupts: each MSI-X vector (and the MSI vector) is a KVM irqfd; the
 * eventfd behind it is handed to VFIO_DEVICE_SET_IRQS, so the host
 * kernel signals the guest directly, without a wisp thread in between.
 * Masked MSI-X vectors and INTx go through wisp's VFIO interrupt thread.
 *
 * iommu=on: the device sits behind the virtio-iommu, in a VFIO container
 * of its own, and the guest's mappings for it become the host IOMMU's
 * (vfio_dma.c); otherwise all guest RAM is mapped for it up front.
 *
 * The device is reset when wisp takes it and again at exit.  Its config
 * space writes are filtered by vfio-pci in the host kernel too, so a
 * hostile guest can misprogram its device but not the host.
 */
#include "vfio/vfio_pci.h"

#include "core/json.h"

#define MAX_REPORTS 8
void guest_report(struct vfio_pci *v, const char *fmt, ...)
{
	unsigned n = atomic_fetch_add(&v->reports, 1);
	char line[256];
	va_list ap;

	if (n >= MAX_REPORTS)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	wisp_err("%s: %s%s", v->name, line,
		 n + 1 == MAX_REPORTS ? " (no more such messages follow)" : "");
}

/* ------------------------------------------------------------ parsing */

/* cloud-hypervisor's --device keys for what wisp's VFIO does not do,
 * refused by name (before the path is looked at, so the line says what
 * is missing): a device handed over as an open VFIO cdev descriptor
 * (fd=), NVIDIA GPUDirect cliques and a chosen PCI slot. */
static int refuse_unbuilt_keys(struct kv_list *args, struct cli_error *err)
{
	static const struct {
		const char *key, *what;
	} unbuilt[] = {
		{ "fd", "a VFIO device given as an open cdev descriptor" },
		{ "x_nv_gpudirect_clique", "NVIDIA GPUDirect P2P cliques" },
#if !IS_ENABLED(CONFIG_PCI_SEGMENTS)
		{ "pci_device_id", "choosing a device's PCI slot" },
#endif
	};

	for (size_t i = 0; i < sizeof(unbuilt) / sizeof(unbuilt[0]); i++) {
		const char *v = NULL;

		if (kv_str_or_empty(args, unbuilt[i].key, &v) > 0) {
			cli_errorf(err, "'%s=%s': %s is not built into wisp", unbuilt[i].key, v,
				   unbuilt[i].what);
			return -1;
		}
	}
	return 0;
}

/* x_exclude_mmap_bars=[N,...]: BARs 0..5, each once, that get no KVM
 * memory slot, so every guest access to them is trapped and forwarded to
 * the device (bar_access); checked before the path, as the keys above. */
static int parse_exclude_bars(struct kv_list *args, struct vfio_pci_config *c,
			      struct cli_error *err)
{
	uint64_t bars[PCI_NUM_BARS];
	size_t n = 0;

	if (kv_u64_list(args, "x_exclude_mmap_bars", 0, PCI_NUM_BARS - 1, bars, PCI_NUM_BARS, &n,
			err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (c->exclude_mmap_bars & (1u << bars[i])) {
			cli_errorf(err, "'x_exclude_mmap_bars=': BAR %u given twice", (unsigned)bars[i]);
			return -1;
		}
		c->exclude_mmap_bars |= (uint8_t)(1u << bars[i]);
	}
	return 0;
}

static int vfio_parse(struct kv_list *args, void *config, struct cli_error *err)
{
	struct vfio_pci_config *c = config;

	if (refuse_unbuilt_keys(args, err) < 0 || parse_exclude_bars(args, c, err) < 0 ||
	    kv_str(args, "path", &c->path, err) < 0 ||
	    kv_str(args, "id", &c->id, err) < 0 || kv_bool(args, "iommu", &c->iommu, err) < 0 ||
#if IS_ENABLED(CONFIG_PCI_SEGMENTS)
	    pci_parse_place(args, &c->pci_segment, &c->pci_slot, err) < 0)
#else
	    kv_u64(args, "pci_segment", 0, PCI_MAX_SEGMENTS - 1, &c->pci_segment, err) < 0)
#endif
		return -1;
	if (!c->path) {
		cli_errorf(err, "path=/sys/bus/pci/devices/DDDD:BB:DD.F is required in '%s'",
			   args->source);
		return -1;
	}
	if (c->iommu && !IS_ENABLED(CONFIG_VIRTIO_IOMMU)) {
		cli_errorf(err, "'iommu=on': this wisp is built without virtio-iommu");
		return -1;
	}
	return vfio_check_host_device(c->path, &c->host, err);
}

/* ------------------------------------------------- config space access */

static bool cfg_read_dev(struct vfio_pci *v, unsigned off, void *buf, unsigned len)
{
	return dev_pread(v->fd, buf, len, (off_t)(v->cfg_offset + off)) == (ssize_t)len;
}

static void cfg_write_dev(struct vfio_pci *v, unsigned off, const void *buf, unsigned len)
{
	if (dev_pwrite(v->fd, buf, len, (off_t)(v->cfg_offset + off)) != (ssize_t)len)
		guest_report(v, "config write at %#x: %s", off, strerror(errno));
}

/* Before the guest reads: the device's bytes are fetched fresh (status
 * bits, capability registers change under us). */
static void vfio_config_read(struct pci_function *fn, unsigned off, unsigned len)
{
	struct vfio_pci *v = fn->owner;
	uint8_t buf[4];

	if (off >= v->cfg_size || len > 4 || off + len > v->cfg_size ||
	    !cfg_read_dev(v, off, buf, len))
		return;
	pthread_mutex_lock(&fn->lock);
	for (unsigned i = 0; i < len; i++)
		if (!v->emulated[off + i])
			fn->cfg[off + i] = buf[i];
	pthread_mutex_unlock(&fn->lock);
}

/* After the guest wrote (core/pci.c applied the write mask): the device's
 * bytes go to the device, the command register as well, and interrupt
 * capability changes to VFIO. */
static void vfio_config_written(struct pci_function *fn, unsigned off, unsigned len)
{
	struct vfio_pci *v = fn->owner;
	uint8_t buf[4];
	unsigned i = 0;

	if (len > 4 || off + len > PCI_CFG_SIZE)
		return;
	pthread_mutex_lock(&fn->lock);
	memcpy(buf, &fn->cfg[off], len);
	pthread_mutex_unlock(&fn->lock);
	while (i < len && off + i < v->cfg_size) {
		unsigned run = 0;

		/* runs of the device's own bytes, written as they came */
		while (i + run < len && !v->emulated[off + i + run])
			run++;
		if (run) {
			cfg_write_dev(v, off + i, buf + i, run);
			i += run;
		} else {
			i++;
		}
	}
	if (off < PCI_COMMAND + 2 && off + len > PCI_COMMAND) {
		uint16_t cmd;

		pthread_mutex_lock(&fn->lock);
		cmd = cfg16(v, PCI_COMMAND);
		pthread_mutex_unlock(&fn->lock);
		cfg_write_dev(v, PCI_COMMAND, &cmd, 2);
	}
	if (fn->msix.nvec)
		msix_update(v, 0, fn->msix.nvec);
	if (v->msi_cap && off < v->msi_cap + 24u && off + len > v->msi_cap)
		msi_update(v);
	if (off < PCI_COMMAND + 2 && off + len > PCI_COMMAND && v->msi_cap)
		msi_update(v);	/* bus mastering gates MSI */
}

/* -------------------------------------------------------- capabilities */

/* Walks the standard capability list; MSI and MSI-X become wisp's. */
static int setup_capabilities(struct vfio_pci *v)
{
	uint8_t at = v->fn.cfg[PCI_CAP_PTR] & ~3u;

	if (!(cfg16(v, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return 0;
	for (unsigned hops = 0; at >= 0x40 && hops < 48; hops++) {
		uint8_t id = v->fn.cfg[at];

		if (id == PCI_CAP_ID_MSI)
			setup_msi(v, at);
		else if (id == PCI_CAP_ID_MSIX && setup_msix(v, at))
			return -1;
		at = v->fn.cfg[at + 1] & ~3u;
	}
	return 0;
}

/* --------------------------------------------------------------- set-up */

static void reset_device(struct vfio_pci *v)
{
	if (v->can_reset && dev_ioctl(v->fd, VFIO_DEVICE_RESET, NULL))
		wisp_err("%s: VFIO_DEVICE_RESET: %s", v->name, strerror(errno));
}

/* At exit: interrupts off, the device reset and handed back. */
static void vfio_pci_release(void *opaque)
{
	struct vfio_pci *v = opaque;

	if (v->msix_on)
		set_irqs(v, VFIO_PCI_MSIX_IRQ_INDEX, 0, 0, NULL);
	if (v->msi_on)
		set_irqs(v, VFIO_PCI_MSI_IRQ_INDEX, 0, 0, NULL);
	if (v->intx_on)
		set_irqs(v, VFIO_PCI_INTX_IRQ_INDEX, 0, 0, NULL);
	v->msix_on = v->msi_on = v->intx_on = false;
	reset_device(v);
	/* what the guest made the container do, if it used it at all */
	if (v->dma && (v->dma->maps || v->dma->unmaps))
		wisp_err("%s: behind the virtio-iommu: %llu DMA mappings made, %llu unmaps, "
			 "at most %llu KiB mapped", v->name, (unsigned long long)v->dma->maps,
			 (unsigned long long)v->dma->unmaps,
			 (unsigned long long)(v->dma->peak >> 10));
	for (unsigned n = 0; n < PCI_NUM_BARS; n++)
		for (size_t i = 0; i < v->bar[n].npieces; i++)
			munmap(v->bar[n].piece[i].host, v->bar[n].piece[i].size);
	close(v->fd);
}

/* The same host device twice would be opened twice: refused before
 * anything is opened (the first instance checks them all). */
static int check_duplicates(struct vm *vm, const struct device_desc *desc)
{
	const struct vm_config *cfg = vm->cfg;

	for (size_t i = 0; i < cfg->ndevices; i++) {
		const struct vfio_pci_config *a = cfg->devices[i].config;

		if (cfg->devices[i].desc != desc)
			continue;
		for (size_t j = i + 1; j < cfg->ndevices; j++) {
			const struct vfio_pci_config *b = cfg->devices[j].config;

			if (cfg->devices[j].desc == desc && !strcmp(a->host.bdf, b->host.bdf)) {
				wisp_err("--device: %s is given twice", a->host.bdf);
				return -1;
			}
		}
	}
	return 0;
}

static int read_config(struct vfio_pci *v)
{
	struct vfio_region_info *info = region_info(v, VFIO_PCI_CONFIG_REGION_INDEX);
	uint8_t *image = v->fn.cfg;
	uint16_t vendor, device;

	if (!info) {
		wisp_err("%s: no config space region: %s", v->name, strerror(errno));
		return -1;
	}
	v->cfg_offset = info->offset;
	v->cfg_size = info->size > PCI_CFG_SIZE ? PCI_CFG_SIZE : (unsigned)info->size;
	free(info);
	if (v->cfg_size < PCI_STD_CFG_SIZE || !cfg_read_dev(v, 0, image, v->cfg_size)) {
		wisp_err("%s: cannot read its config space", v->name);
		return -1;
	}
	memcpy(&vendor, &image[PCI_VENDOR_ID], 2);
	memcpy(&device, &image[PCI_DEVICE_ID], 2);
	if (vendor == 0xffff) {
		wisp_err("%s: its config space reads as all ones", v->name);
		return -1;
	}
	return 0;
}

static void vfio_pci_header(struct vfio_pci *v)
{
	struct pci_function *fn = &v->fn;

	/* the device's bytes may be written by the guest, all of them
	 * (vfio-pci filters what reaches the hardware) */
	pci_cfg_wmask(fn, 0, PCI_CFG_SIZE, 0xffffffff);
	memset(v->emulated, 0, sizeof(v->emulated));
	/* wisp's: ids and class (read once, never change), BARs, ROM,
	 * capability pointer, interrupt line and pin, header type */
	emulate(v, 0, 4);
	pci_cfg_wmask(fn, 0, 4, 0);
	emulate(v, PCI_COMMAND, 2);
	pci_cfg_wmask(fn, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY |
		      PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
	emulate(v, PCI_REVISION, 4);
	pci_cfg_wmask(fn, PCI_REVISION, 4, 0);
	emulate(v, PCI_HEADER_TYPE, 1);
	pci_cfg_wmask(fn, PCI_HEADER_TYPE, 1, 0);
	fn->cfg[PCI_HEADER_TYPE] &= (uint8_t)~PCI_HEADER_MULTIFUNCTION;
	emulate(v, PCI_BAR0, 4 * PCI_NUM_BARS);
	pci_cfg_wmask(fn, PCI_BAR0, 4 * PCI_NUM_BARS, 0);
	memcpy(v->host_bar, &fn->cfg[PCI_BAR0], sizeof(v->host_bar));
	memset(&fn->cfg[PCI_BAR0], 0, sizeof(v->host_bar));
	emulate(v, PCI_ROM_ADDRESS, 4);
	pci_cfg_wmask(fn, PCI_ROM_ADDRESS, 4, 0);
	memset(&fn->cfg[PCI_ROM_ADDRESS], 0, 4);
	emulate(v, PCI_CAP_PTR, 1);
	pci_cfg_wmask(fn, PCI_CAP_PTR, 1, 0);
	emulate(v, PCI_INTERRUPT_LINE, 2);
	pci_cfg_wmask(fn, PCI_INTERRUPT_LINE, 1, 0xff);
	pci_cfg_wmask(fn, PCI_INTERRUPT_PIN, 1, 0);
	fn->cfg[PCI_INTERRUPT_PIN] = 0;
	/* the command register starts off: the guest turns decoding on */
	memset(&fn->cfg[PCI_COMMAND], 0, 2);
	/* past what the device has, nothing */
	if (v->cfg_size < PCI_CFG_SIZE) {
		emulate(v, v->cfg_size, PCI_CFG_SIZE - v->cfg_size);
		pci_cfg_wmask(fn, v->cfg_size, PCI_CFG_SIZE - v->cfg_size, 0);
	}
}

/* What a passed-through device does once the guest runs, all of it on
 * vCPU threads (the guest's config and BAR accesses): MSI/MSI-X/INTx
 * changes (VFIO's and KVM's interrupt set-up, parking eventfds for
 * masked vectors, watched by the VFIO interrupt thread), and BARs the
 * guest moves (KVM memory slots).  Config space and trapped BAR accesses
 * are pread/pwrite on the device's own descriptor (vfio_pci_allow_io).
 * The INTx unmask timer is the interrupt thread's. */
static const struct seccomp_rule vfio_pci_vcpu_seccomp[] = {
	SC_ALLOW(SYS_eventfd2),
	SC_ALLOW(SYS_epoll_ctl),
	SC_ALLOW(SYS_read),
	SC_ALLOW(SYS_close),
	SC_IOCTL(VFIO_DEVICE_SET_IRQS),
	SC_IOCTL(KVM_SET_USER_MEMORY_REGION),
};

/* The main thread, at exit (vfio_pci_release): interrupts off, the
 * device reset, its BARs unmapped. */
static const struct seccomp_rule vfio_pci_main_seccomp[] = {
	SC_IOCTL(VFIO_DEVICE_SET_IRQS),
	SC_IOCTL(VFIO_DEVICE_RESET),
	SC_ALLOW(SYS_close),
};

/* iommu=on: the guest's virtio-iommu requests (the event loop) map and
 * unmap in the device's container; its reset (a vCPU thread) unmaps. */
static const struct seccomp_rule vfio_dma_main_seccomp[] = {
	SC_IOCTL(VFIO_IOMMU_MAP_DMA),
	SC_IOCTL(VFIO_IOMMU_UNMAP_DMA),
};

static const struct seccomp_rule vfio_dma_vcpu_seccomp[] = {
	SC_IOCTL(VFIO_IOMMU_UNMAP_DMA),
};

static int vfio_pci_allow(bool iommu)
{
	if (seccomp_allow(SECCOMP_VCPU, vfio_pci_vcpu_seccomp, SC_COUNT(vfio_pci_vcpu_seccomp)) ||
	    seccomp_allow(SECCOMP_MAIN, vfio_pci_main_seccomp, SC_COUNT(vfio_pci_main_seccomp)))
		return -1;
	if (!iommu)
		return 0;
	if (seccomp_allow(SECCOMP_MAIN, vfio_dma_main_seccomp, SC_COUNT(vfio_dma_main_seccomp)))
		return -1;
	return seccomp_allow(SECCOMP_VCPU, vfio_dma_vcpu_seccomp, SC_COUNT(vfio_dma_vcpu_seccomp));
}

/* A vCPU thread may read and write this device's regions (config space,
 * trapped BARs) and no other file. */
static int vfio_pci_allow_io(int fd)
{
	const struct seccomp_rule io[] = {
		SC_ARG(SYS_pread64, 0, SC_ALL, (uint32_t)fd),
		SC_ARG(SYS_pwrite64, 0, SC_ALL, (uint32_t)fd),
	};

	return seccomp_allow(SECCOMP_VCPU, io, SC_COUNT(io));
}

/* iommu=on, once the function has its place on the bus: an endpoint of
 * the VM's IOMMU whose mappings drive the device's container. */
static int behind_iommu(struct vfio_pci *v)
{
	struct iommu_endpoint *ep = iommu_add_pci(v->vm, &v->fn);
	struct iommu_mirror m;

	vfio_dma_mirror(v->dma, &m);
	if (!ep || iommu_mirror(v->vm, ep, &m))
		return -1;
	return 0;
}

static int vfio_pci_create(struct vm *vm, const void *config)
{
	const struct vfio_pci_config *c = config;
	struct vfio_device_info info = { .argsz = sizeof(info) };
	static bool checked;
	struct vfio_pci *v;
	uint16_t cmd = 0;
	uint8_t host_pin;

	if (!checked) {
		checked = true;
		if (check_duplicates(vm, device_lookup("device", NULL)))
			return EXIT_USAGE;
	}
	if (!pci_segment_get(vm, (uint16_t)c->pci_segment)) {
		wisp_err("--device: there is no PCI segment %llu",
			 (unsigned long long)c->pci_segment);
		return EXIT_USAGE;
	}
	if (vfio_pci_allow(c->iommu) || vfio_irq_start())
		return -1;
	/* lives as long as the VM, and past it: reset at exit */
	v = calloc(1, sizeof(*v));
	if (!v)
		return -1;
	v->conf = c;
	v->vm = vm;
	v->msi_gsi = -1;
	v->msi_eventfd = -1;
	v->intx_line = -1;
	v->intx_fd = v->intx_timer = -1;
	pthread_mutex_init(&v->irq_lock, NULL);
	snprintf(v->name, sizeof(v->name), "vfio %s", c->host.bdf);
	/* a group or device another process holds, or RAM that cannot be
	 * locked for DMA: what the user asked for cannot be done */
	v->fd = vfio_open_device(vm, &c->host, c->iommu ? &v->dma : NULL);
	if (v->fd < 0)
		return EXIT_USAGE;
	if (vfio_pci_allow_io(v->fd)) {
		close(v->fd);
		return -1;
	}
	if (dev_ioctl(v->fd, VFIO_DEVICE_GET_INFO, &info) || !(info.flags & VFIO_DEVICE_FLAGS_PCI)) {
		wisp_err("%s: not a VFIO PCI device", v->name);
		close(v->fd);
		return EXIT_USAGE;
	}
	v->can_reset = info.flags & VFIO_DEVICE_FLAGS_RESET;
	vfio_at_exit(vfio_pci_release, v);
	reset_device(v);
	pci_init_function(&v->fn, vm, v->name, 0, 0, 0, 0);
	if (read_config(v))
		return -1;
	/* the device does nothing until the guest's driver turns it on */
	cfg_write_dev(v, PCI_COMMAND, &cmd, 2);
	host_pin = v->fn.cfg[PCI_INTERRUPT_PIN];
	vfio_pci_header(v);
	for (unsigned n = 0; n < PCI_NUM_BARS; )
		n += setup_bar(v, n);
	if (setup_capabilities(v))
		return -1;
	/* after the MSI-X table and PBA were cut out of them; a BAR in
	 * x_exclude_mmap_bars= gets no piece, all of it trapped */
	for (unsigned n = 0; n < PCI_NUM_BARS; n++) {
		if (!(c->exclude_mmap_bars & (1u << n))) {
			map_pieces(v, &v->bar[n]);
		} else if (v->bar[n].size) {
			wisp_log(LOG_INFO, "%s: BAR %u (%llu bytes) not mapped into the guest "
				 "(x_exclude_mmap_bars): every access is trapped", v->name, n,
				 (unsigned long long)v->bar[n].size);
		}
	}
	v->fn.owner = v;
	v->fn.bar_moved = vfio_bar_moved;
	v->fn.config_read = vfio_config_read;
	v->fn.config_written = vfio_config_written;
	v->fn.slot = c->pci_slot;
	if (pci_add(vm, &v->fn, (uint16_t)c->pci_segment))
		return -1;
	if (c->iommu && behind_iommu(v))
		return EXIT_USAGE;
	setup_intx(v, host_pin > 4 ? 0 : host_pin);
	return 0;
}

#ifdef CONFIG_SNAPSHOT
static const char *vfio_blocker(void *instance)
{
	(void)instance;
	return "a passed-through host device's state cannot be saved";
}

static const struct snapshot_ops vfio_snapshot_ops = { .blocker = vfio_blocker };
#endif

#if IS_ENABLED(CONFIG_API)
/* vm.info: one of cloud-hypervisor's "devices" */
static void vfio_info(const void *config, struct json *j)
{
	const struct vfio_pci_config *c = config;

	json_string(j, "path", c->path);
	json_bool(j, "iommu", c->iommu);
	json_u64(j, "pci_segment", c->pci_segment);
	/* cloud-hypervisor's list of BAR indices, empty when not given */
	json_array_begin(j, "x_exclude_mmap_bars");
	for (unsigned n = 0; n < PCI_NUM_BARS; n++)
		if (c->exclude_mmap_bars & (1u << n))
			json_u64(j, NULL, n);
	json_array_end(j);
}
#endif

DEVICE_REGISTER(vfio_pci_desc) = {
	.name = "vfio-pci",
	.summary = "host PCI devices bound to vfio-pci, passed through",
	.option = "device",
	.usage = "path=/sys/bus/pci/devices/DDDD:BB:DD.F[,pci_segment=N][,iommu=on][,id=NAME]"
		 "[,x_exclude_mmap_bars=[N,...]]",
	.repeatable = true,
	.order = ORDER_PCI_DEVICE,
	.config_size = sizeof(struct vfio_pci_config),
	.parse = vfio_parse,
	.create = vfio_pci_create,
	.snapshot = SNAPSHOT_OPS(&vfio_snapshot_ops),
	DEVICE_INFO("devices", true, vfio_info)
};
