// SPDX-License-Identifier: MIT
#include "core/memory.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/config.h"
#include "core/kconfig.h"
#include "core/vm.h"

#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif

/* Guest RAM starts 2 MiB-aligned in wisp's address space, so that guest
 * and host huge pages line up: KVM can then map the guest 2 MiB at a
 * time (one nested page fault per 2 MiB instead of 512).  An address
 * range 2 MiB larger is reserved, RAM mapped at its first aligned
 * address, and the rest given back. */
#define RAM_ALIGN (2ULL << 20)
/* <linux/memfd.h>'s, which musl's <sys/mman.h> lacks */
#ifndef MFD_HUGE_SHIFT
#define MFD_HUGE_SHIFT 26
#endif

static void *map_aligned(uint64_t size, uint64_t align, int prot, int flags, int fd)
{
	uint64_t span = size + align;
	uint8_t *res, *p, *end;

	res = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED)
		return MAP_FAILED;
	p = (uint8_t *)(((uintptr_t)res + align - 1) & ~(uintptr_t)(align - 1));
	if (mmap(p, size, prot, flags | MAP_FIXED, fd, 0) == MAP_FAILED) {
		munmap(res, span);
		return MAP_FAILED;
	}
	end = p + size;
	if (p > res)
		munmap(res, (size_t)(p - res));
	if (res + span > end)
		munmap(end, (size_t)(res + span - end));
	return p;
}

/* One anonymous (or memfd) mapping for all of RAM: the regions are
 * slices of it, so a vhost-user back-end gets one fd and offsets. */
static int map_ram(struct guest_memory *mem, const struct memory_config *cfg)
{
	/* hugepage_size=: the page size as log2, where mmap and memfd_create
	 * take it (0: the host's default huge page size) */
	unsigned huge_shift = cfg->hugepage_size ? (unsigned)__builtin_ctzll(cfg->hugepage_size) : 0;
	uint64_t align = cfg->hugepage_size > RAM_ALIGN ? cfg->hugepage_size : RAM_ALIGN;
	int prot = PROT_READ | PROT_WRITE;
	/* prefault=on: every page present before the guest starts */
	int flags = (cfg->reserve ? 0 : MAP_NORESERVE) | (cfg->prefault ? MAP_POPULATE : 0);
	void *p;

	mem->fd = -1;
	if (IS_ENABLED(CONFIG_MEMORY_SHARED) && cfg->shared) {
		unsigned mfd_flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;

		if (cfg->hugepages)
			mfd_flags |= MFD_HUGETLB | (huge_shift << MFD_HUGE_SHIFT);
		mem->fd = memfd_create("wisp-ram", mfd_flags);
		if (mem->fd < 0) {
			wisp_err("--memory: cannot create shared memory: %s", strerror(errno));
			return -1;
		}
		if (ftruncate(mem->fd, (off_t)cfg->size)) {
			wisp_err("--memory: cannot size shared memory to %llu bytes: %s",
				 (unsigned long long)cfg->size, strerror(errno));
			return -1;
		}
		/* The fd goes to vhost-user back-ends: sealed, so one that
		 * shrinks it cannot turn wisp's next guest access into
		 * SIGBUS (nor grow it under us). */
		if (fcntl(mem->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW)) {
			wisp_err("--memory: cannot seal shared memory: %s", strerror(errno));
			return -1;
		}
		flags |= MAP_SHARED;
	} else {
		flags |= MAP_PRIVATE | MAP_ANONYMOUS;
		if (IS_ENABLED(CONFIG_MEMORY_HUGEPAGES) && cfg->hugepages)
			flags |= MAP_HUGETLB | (int)(huge_shift << MAP_HUGE_SHIFT);
	}
	p = map_aligned(cfg->size, align, prot, flags, mem->fd);
	if (p == MAP_FAILED) {
		wisp_err("--memory: cannot map %llu bytes of guest RAM%s: %s",
			 (unsigned long long)cfg->size,
			 cfg->hugepages ? " in huge pages" : "", strerror(errno));
		return -1;
	}
	/* Guest RAM is never part of a core dump and never forked. */
	madvise(p, cfg->size, MADV_DONTDUMP);
	madvise(p, cfg->size, MADV_DONTFORK);
	/* thp=on (the default, as in cloud-hypervisor): transparent huge
	 * pages where the host allows them; a failure only costs speed.
	 * thp=off says no even where the host's THP setting is "always",
	 * so the guest's RSS is exactly the 4 KiB pages it touched. */
	if (!cfg->hugepages)
		madvise(p, cfg->size, cfg->thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	/* mergeable=on: KSM may share identical pages between guests */
	if (cfg->mergeable && madvise(p, cfg->size, MADV_MERGEABLE)) {
		wisp_err("--memory: mergeable=on: %s (is KSM built into the host kernel?)",
			 strerror(errno));
		return -1;
	}
	/* One advice for the whole mapping.  Keeping its first 2 MiB (the
	 * boot structures) in small pages would save a small guest 2 MiB of
	 * RSS, but splits the mapping in two VMAs under one KVM memslot; it
	 * was taken out while the lab's L2 guests triple-faulted, which they
	 * went on doing less often without it (docs/lab.md): unsettled. */
	mem->base = p;
	mem->total = cfg->size;
	return 0;
}

#ifdef CONFIG_SNAPSHOT
int memory_map_image(struct guest_memory *mem, int fd, bool prefault)
{
	uint64_t done = 0;

	if (mem->fd < 0) {
		/* private: the guest's writes never reach the file, and pages
		 * come in from it on first touch */
		int flags = MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE | (prefault ? MAP_POPULATE : 0);

		if (mmap(mem->base, mem->total, PROT_READ | PROT_WRITE, flags, fd, 0) == MAP_FAILED)
			return -1;
		madvise(mem->base, mem->total, MADV_DONTDUMP);
		madvise(mem->base, mem->total, MADV_DONTFORK);
		return 0;
	}
	/* shared=on: the memfd back-ends map must hold the RAM itself */
	while (done < mem->total) {
		ssize_t n = pread(fd, mem->base + done, (size_t)(mem->total - done), (off_t)done);

		if (n <= 0)
			return -1;
		done += (uint64_t)n;
	}
	return 0;
}
#endif

int memory_init(struct guest_memory *mem, const struct memory_config *cfg,
		const uint64_t (*layout)[2], size_t nlayout)
{
	uint64_t offset = 0;

	memset(mem, 0, sizeof(*mem));
	if (nlayout > MEM_MAX_REGIONS)
		return -1;
	if (map_ram(mem, cfg))
		return -1;
	for (size_t i = 0; i < nlayout; i++) {
		mem->region[i] = (struct mem_region){
			.gpa = layout[i][0],
			.size = layout[i][1],
			.host = mem->base + offset,
			.fd = mem->fd,
			.fd_offset = offset,
			.slot = (uint32_t)i,
			.ram = true,
		};
		offset += layout[i][1];
	}
	mem->nregions = mem->nram = nlayout;
	mem->device_next = ((memory_ram_end(mem) + (1ULL << 30) - 1) & ~((1ULL << 30) - 1)) +
			   DEVICE_MEMORY_OFFSET;
	return 0;
}

uint64_t memory_ram_end(const struct guest_memory *mem)
{
	const struct mem_region *last = &mem->region[mem->nram - 1];

	return last->gpa + last->size;
}

const struct mem_region *memory_add_device(struct guest_memory *mem, void *host,
					   uint64_t size, uint64_t align,
					   bool readonly)
{
	uint64_t gpa = (mem->device_next + align - 1) & ~(align - 1);
	struct mem_region *r;

	if (mem->nregions == MEM_MAX_REGIONS)
		return NULL;
	r = &mem->region[mem->nregions];
	*r = (struct mem_region){
		.gpa = gpa,
		.size = size,
		.host = host,
		.fd = -1,
		.slot = (uint32_t)mem->nregions,
		.readonly = readonly,
	};
	mem->device_next = gpa + size;
	/* published last: readers walk [0, nregions) without a lock */
	__atomic_store_n(&mem->nregions, mem->nregions + 1, __ATOMIC_RELEASE);
	return r;
}

void memory_destroy(struct guest_memory *mem)
{
	if (mem->base)
		munmap(mem->base, mem->total);
	if (mem->fd >= 0)
		close(mem->fd);
	memset(mem, 0, sizeof(*mem));
	mem->fd = -1;
}

const struct mem_region *gpa_region(const struct guest_memory *mem,
				    uint64_t gpa)
{
	size_t n = __atomic_load_n(&mem->nregions, __ATOMIC_ACQUIRE);

	for (size_t i = 0; i < n; i++) {
		const struct mem_region *r = &mem->region[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size)
			return r;
	}
	return NULL;
}

void *gpa_ptr(const struct guest_memory *mem, uint64_t gpa, uint64_t len)
{
	const struct mem_region *r = gpa_region(mem, gpa);
	uint64_t off;

	if (!r)
		return NULL;
	off = gpa - r->gpa;
	/* written so that no sum can overflow */
	if (len > r->size - off)
		return NULL;
	return r->host + off;
}

int gpa_write(const struct guest_memory *mem, uint64_t gpa, const void *src,
	      uint64_t len)
{
	void *dst = gpa_ptr(mem, gpa, len);

	if (!dst)
		return -1;
	memcpy(dst, src, len);
	return 0;
}

int gpa_read(const struct guest_memory *mem, uint64_t gpa, void *dst,
	     uint64_t len)
{
	const void *src = gpa_ptr(mem, gpa, len);

	if (!src)
		return -1;
	memcpy(dst, src, len);
	return 0;
}
