// SPDX-License-Identifier: MIT
/*
 * The host side of VFIO (see vfio.h): sysfs checks on a device and its
 * IOMMU group, and the VM's one container.
 *
 * All groups share one type1 container, so guest RAM is DMA-mapped once
 * (IOVA = guest-physical address) whatever number of devices there are.
 * A device given iommu=on is the exception: its group gets a container
 * of its own, whose mappings the guest makes (vfio_dma.c).  type1v2 is
 * preferred; plain type1 works the same for what wisp does.
 */
#include "vfio/vfio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/vm.h"

const char *vfio_sysfs_root = "/sys";
const char *vfio_dev_root = "/dev";

/* ---------------------------------------------------------------- sysfs */

/* The last component of the symlink dir/name into out; -1 when there is
 * no such link. */
static int link_name(const char *dir, const char *name, char *out, size_t size)
{
	char path[PATH_MAX], target[PATH_MAX];
	ssize_t n;
	char *slash;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -1;
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -1;
	target[n] = '\0';
	slash = strrchr(target, '/');
	slash = slash ? slash + 1 : target;
	if (strlen(slash) >= size)
		return -1;
	memcpy(out, slash, strlen(slash) + 1);
	return 0;
}

/* Drivers a device may have while another device of its group is
 * assigned: VFIO's own, the stub, and PCIe port/bridge drivers (the
 * kernel's own viability rules accept these too). */
static bool driver_allows_assignment(const char *driver)
{
	return !strcmp(driver, "vfio-pci") || !strcmp(driver, "pci-stub") ||
	       !strcmp(driver, "pcieport");
}

static int check_group_viable(const struct vfio_host_device *dev,
			      struct cli_error *err)
{
	char dir[PATH_MAX], devdir[PATH_MAX], driver[NAME_MAX + 1];
	struct dirent *e;
	DIR *d;
	int ret = 0;

	snprintf(dir, sizeof(dir), "%s/kernel/iommu_groups/%u/devices",
		 vfio_sysfs_root, dev->group);
	d = opendir(dir);
	if (!d) {
		cli_errorf(err, "cannot list IOMMU group %u of %s (%s): %s", dev->group,
			   dev->bdf, dir, strerror(errno));
		return -1;
	}
	while (!ret && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(devdir, sizeof(devdir), "%s/%s", dir, e->d_name) >=
		    sizeof(devdir))
			continue;
		if (link_name(devdir, "driver", driver, sizeof(driver)))
			continue;	/* no driver: nothing uses it */
		if (!driver_allows_assignment(driver)) {
			cli_errorf(err, "IOMMU group %u of %s is not viable: %s is bound to %s; "
				   "bind every device of the group to vfio-pci (docs/vfio.md)",
				   dev->group, dev->bdf, e->d_name, driver);
			ret = -1;
		}
	}
	closedir(d);
	return ret;
}

int vfio_check_host_device(const char *path, struct vfio_host_device *dev,
			   struct cli_error *err)
{
	char real[PATH_MAX], name[NAME_MAX + 1], node[PATH_MAX];
	const char *base;
	char *end;
	unsigned long group;

	if (!realpath(path, real)) {
		cli_errorf(err, "cannot open 'path=%s': %s", path, strerror(errno));
		return -1;
	}
	if (link_name(real, "subsystem", name, sizeof(name)) || strcmp(name, "pci")) {
		cli_errorf(err, "'%s' is not a PCI device (give /sys/bus/pci/devices/DDDD:BB:DD.F)",
			   path);
		return -1;
	}
	base = strrchr(real, '/') + 1;
	if (strlen(base) >= sizeof(dev->bdf)) {
		cli_errorf(err, "'%s' is not a PCI device name", base);
		return -1;
	}
	snprintf(dev->bdf, sizeof(dev->bdf), "%s", base);
	if (link_name(real, "driver", name, sizeof(name))) {
		cli_errorf(err, "%s is bound to no driver, not vfio-pci (docs/vfio.md)", dev->bdf);
		return -1;
	}
	if (strcmp(name, "vfio-pci")) {
		cli_errorf(err, "%s is bound to %s, not vfio-pci (docs/vfio.md)", dev->bdf, name);
		return -1;
	}
	if (link_name(real, "iommu_group", name, sizeof(name))) {
		cli_errorf(err, "%s has no IOMMU group: the host has no IOMMU on (boot it with "
			   "intel_iommu=on or amd_iommu=on), and wisp does not use VFIO's "
			   "unsafe no-IOMMU mode", dev->bdf);
		return -1;
	}
	errno = 0;
	group = strtoul(name, &end, 10);
	if (errno || *end || end == name || group > 1000000) {
		cli_errorf(err, "%s: IOMMU group '%s' is not a number", dev->bdf, name);
		return -1;
	}
	dev->group = (unsigned)group;
	if (check_group_viable(dev, err))
		return -1;
	snprintf(node, sizeof(node), "%s/vfio/%u", vfio_dev_root, dev->group);
	if (access(node, R_OK | W_OK)) {
		cli_errorf(err, "%s: cannot open %s: %s", dev->bdf, node, strerror(errno));
		return -1;
	}
	snprintf(node, sizeof(node), "%s/vfio/vfio", vfio_dev_root);
	if (access(node, R_OK | W_OK)) {
		cli_errorf(err, "%s: cannot open %s: %s (is the vfio module loaded?)",
			   dev->bdf, node, strerror(errno));
		return -1;
	}
	return 0;
}

/* ----------------------------------------------------------- containers */

#define MAX_GROUPS 32

/* A type1 container: one host IOMMU domain. */
struct container {
	int fd;
	int iommu_type;		/* set once the first group is in */
	bool own;		/* iommu=on: one group, the guest's mappings */
	struct vfio_dma_space space;	/* own only */
};

/* The VM's container for devices without iommu=on, and the groups. */
static struct container shared = { .fd = -1 };
static struct {
	unsigned id;
	int fd;
	struct container *c;
} group[MAX_GROUPS];
static size_t ngroups;

static int container_open(struct container *c)
{
	char node[PATH_MAX];

	if (c->fd >= 0)
		return 0;
	snprintf(node, sizeof(node), "%s/vfio/vfio", vfio_dev_root);
	c->fd = open(node, O_RDWR | O_CLOEXEC);
	if (c->fd < 0) {
		wisp_err("--device: cannot open %s: %s", node, strerror(errno));
		return -1;
	}
	if (ioctl(c->fd, VFIO_GET_API_VERSION) != VFIO_API_VERSION) {
		wisp_err("--device: %s speaks another VFIO API than %d", node, VFIO_API_VERSION);
		return -1;
	}
	return 0;
}

/* Maps every RAM region at IOVA = guest-physical address, so the device
 * DMAs with the addresses the guest's driver gives it. */
static int map_guest_ram(struct vm *vm, struct container *c)
{
	vm->mem.dma_pinned = true;
	for (size_t i = 0; i < vm->mem.nram; i++) {
		const struct mem_region *r = &vm->mem.region[i];
		struct vfio_iommu_type1_dma_map map = {
			.argsz = sizeof(map),
			.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
			.vaddr = (uint64_t)(uintptr_t)r->host,
			.iova = r->gpa,
			.size = r->size,
		};

		if (ioctl(c->fd, VFIO_IOMMU_MAP_DMA, &map)) {
			wisp_err("--device: cannot DMA-map guest RAM %#llx+%#llx: %s%s",
				 (unsigned long long)r->gpa, (unsigned long long)r->size,
				 strerror(errno), errno == ENOMEM || errno == EPERM ?
				 " (the IOMMU pins guest RAM: raise ulimit -l, or give "
				 "wisp CAP_IPC_LOCK)" : "");
			return -1;
		}
	}
	return 0;
}

/* The type1 IOMMU, once the container has a group; then the shared
 * container maps all of RAM, an own one learns what its host IOMMU can
 * map and maps nothing. */
static int set_iommu(struct vm *vm, struct container *c)
{
	int types[] = { VFIO_TYPE1v2_IOMMU, VFIO_TYPE1_IOMMU };

	if (c->iommu_type)
		return 0;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (ioctl(c->fd, VFIO_CHECK_EXTENSION, types[i]) <= 0)
			continue;
		if (ioctl(c->fd, VFIO_SET_IOMMU, types[i])) {
			wisp_err("--device: VFIO_SET_IOMMU: %s", strerror(errno));
			return -1;
		}
		c->iommu_type = types[i];
		if (c->own)
			return vfio_dma_space_init(&c->space, c->fd, &vm->mem);
		return map_guest_ram(vm, c);
	}
	wisp_err("--device: the host's VFIO has no type1 IOMMU (is vfio_iommu_type1 loaded?)");
	return -1;
}

/* The group's fd, in container c.  A group is in one container only:
 * an own container (iommu=on) takes a group no other device uses. */
static int group_fd(const struct vfio_host_device *dev, struct container *c)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	char node[PATH_MAX];
	int fd;

	for (size_t i = 0; i < ngroups; i++) {
		if (group[i].id != dev->group)
			continue;
		if (group[i].c == c && !c->own)
			return group[i].fd;
		wisp_err("--device: %s: IOMMU group %u is shared with another device given "
			 "to wisp, and a device with iommu=on needs a group of its own (the "
			 "devices of a group share their host IOMMU mappings)", dev->bdf,
			 dev->group);
		return -1;
	}
	if (ngroups == MAX_GROUPS) {
		wisp_err("--device: at most %d IOMMU groups", MAX_GROUPS);
		return -1;
	}
	snprintf(node, sizeof(node), "%s/vfio/%u", vfio_dev_root, dev->group);
	fd = open(node, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		wisp_err("--device: %s: cannot open %s: %s%s", dev->bdf, node, strerror(errno),
			 errno == EBUSY ? " (another process uses the group)" : "");
		return -1;
	}
	if (ioctl(fd, VFIO_GROUP_GET_STATUS, &status) ||
	    !(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		wisp_err("--device: IOMMU group %u of %s is not viable: bind every device "
			 "of the group to vfio-pci", dev->group, dev->bdf);
		close(fd);
		return -1;
	}
	if (ioctl(fd, VFIO_GROUP_SET_CONTAINER, &c->fd)) {
		wisp_err("--device: cannot add IOMMU group %u to the container: %s",
			 dev->group, strerror(errno));
		close(fd);
		return -1;
	}
	group[ngroups].id = dev->group;
	group[ngroups].fd = fd;
	group[ngroups].c = c;
	ngroups++;
	return fd;
}

#ifdef WISP_UNIT_TEST
const struct vfio_test_backend *vfio_test_backend;
#endif

int vfio_open_device(struct vm *vm, const struct vfio_host_device *dev,
		     struct vfio_dma_space **space)
{
	struct container *c = &shared;
	int gfd, fd;

#ifdef WISP_UNIT_TEST
	/* the fuzzer's fake devices have no container (and no iommu=on) */
	if (vfio_test_backend) {
		if (space)
			*space = NULL;
		return vfio_test_backend->open_device(dev);
	}
#endif
	if (space) {
		/* lives as long as wisp: closed at exit */
		c = calloc(1, sizeof(*c));
		if (!c)
			return -1;
		c->fd = -1;
		c->own = true;
		*space = &c->space;
	}
	if (container_open(c))
		return -1;
	gfd = group_fd(dev, c);
	if (gfd < 0 || set_iommu(vm, c))
		return -1;
	fd = ioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, dev->bdf);
	if (fd < 0) {
		wisp_err("--device: cannot open %s through VFIO: %s%s", dev->bdf, strerror(errno),
			 errno == EBUSY ? " (in use by another process)" : "");
		return -1;
	}
	return fd;
}

/* --------------------------------------------------------------- at exit */

#define MAX_AT_EXIT 64

static struct {
	void (*fn)(void *opaque);
	void *opaque;
} at_exit[MAX_AT_EXIT];
static size_t nat_exit;
static bool at_exit_registered;

static void run_at_exit(void)
{
	while (nat_exit) {
		nat_exit--;
		at_exit[nat_exit].fn(at_exit[nat_exit].opaque);
	}
	/* the groups leave their containers, then the containers go (an
	 * own one with the guest's last mappings) */
	for (size_t i = 0; i < ngroups; i++) {
		close(group[i].fd);
		if (group[i].c->own && group[i].c->fd >= 0) {
			close(group[i].c->fd);
			group[i].c->fd = -1;
		}
	}
	ngroups = 0;
	if (shared.fd >= 0)
		close(shared.fd);
	shared.fd = -1;
}

void vfio_at_exit(void (*fn)(void *opaque), void *opaque)
{
	if (!at_exit_registered)
		at_exit_registered = !atexit(run_at_exit);
	if (nat_exit < MAX_AT_EXIT) {
		at_exit[nat_exit].fn = fn;
		at_exit[nat_exit].opaque = opaque;
		nat_exit++;
	}
}
