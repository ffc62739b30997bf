// SPDX-License-Identifier: MIT
/*
 * Command-line parsing: argv -> struct vm_config.
 *
 * Options follow cloud-hypervisor: "--opt value" or "--opt=value", values
 * are key=value lists, and a repeatable option takes several values
 * ("--disk path=a path=b") or is given several times.  Core options are
 * handled here; every other option is looked up in the device table, so
 * this file names no device.  Of the devices left out of this build it
 * knows only what the generated device list says (scripts/build/device-
 * list reads it from the Kbuild files and the descriptors), to tell an
 * option that is not built in from an unknown one.
 */
#include "core/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/device.h"
#include "core/kconfig.h"
#include "core/log.h"
#include "core/pci.h"

#define DEFAULT_MEMORY (512ULL << 20)
#define MIN_MEMORY (2ULL << 20)
#define MAX_CPUS 4096

struct device_option {
	const char *option, *variant, *device, *symbol;
	bool configured;	/* the Kconfig symbol is on in this build */
};

static const struct device_option device_options[] = {
#define DEVICE(name, symbol)
#define DEVICE_OPTION(o, v, d, s) { o, v, d, #s, IS_ENABLED(CONFIG_##s) },
#include "generated/device_list.h"
#undef DEVICE_OPTION
#undef DEVICE
};

struct parser {
	struct vm_config *cfg;
	struct cli_error *err;
	FILE *out;
	const char *opt;	/* the option being parsed, for messages */
	bool from_snapshot;	/* parsing a snapshot's command line */
};

/* Messages read "--opt: what is wrong"; main() adds "wisp: ".  The
 * detail is formatted first, so it may be p->err->msg itself. */
static int __attribute__((format(printf, 2, 3)))
fail(struct parser *p, const char *fmt, ...)
{
	char detail[sizeof(p->err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	cli_errorf(p->err, "--%s: %s", p->opt, detail);
	return -1;
}

static int set_path(struct parser *p, const char *value, const char **slot)
{
	if (*slot)
		return fail(p, "given more than once");
	/* opened, read and checked in the inputs phase (core/input.h) */
	*slot = value;
	return 0;
}

static int opt_kernel(struct parser *p, const char *v)
{
	return set_path(p, v, &p->cfg->kernel);
}

static int opt_initramfs(struct parser *p, const char *v)
{
	return set_path(p, v, &p->cfg->initramfs);
}

static int opt_firmware(struct parser *p, const char *v)
{
	return set_path(p, v, &p->cfg->firmware);
}

static int opt_cmdline(struct parser *p, const char *v)
{
	if (p->cfg->cmdline)
		return fail(p, "given more than once");
	p->cfg->cmdline = v;
	return 0;
}

/* Parses `value` as key=value and runs `body`'s getters over it; the
 * body reports plain messages with cli_errorf, prefixed here. */
static int with_kv(struct parser *p, const char *value,
		   int (*body)(struct parser *, struct kv_list *))
{
	struct kv_list kv;
	int ret;

	if (kv_parse(&kv, value, p->err))
		return fail(p, "%s", p->err->msg);
	ret = body(p, &kv);
	if (!ret)
		ret = kv_check_unused(&kv, p->err);
	kv_free(&kv);
	/* fail() formats from a copy, so the message may be its own input */
	return ret ? fail(p, "%s", p->err->msg) : 0;
}

/* topology=THREADS:CORES:DIES:PACKAGES: four numbers (cloud-hypervisor
 * takes each as a u16), none 0, whose product is the vCPU count; on
 * AArch64 one die per package (the device tree's cpu-map has no dies). */
static int parse_topology(const char *text, unsigned cpus, struct cpu_topology *t,
			  struct cli_error *err)
{
	unsigned *part[4] = { &t->threads, &t->cores, &t->dies, &t->packages };
	const char *s = text;
	uint64_t product = 1;

	for (int i = 0; i < 4; i++) {
		const char *end = strchr(s, ':');
		char num[8];
		uint64_t v;
		size_t len = end && i < 3 ? (size_t)(end - s) : strlen(s);

		if (len >= sizeof(num) || (i < 3 && !end))
			goto syntax;
		memcpy(num, s, len);
		num[len] = '\0';
		if (parse_u64(num, &v) || v > 65535)
			goto syntax;
		if (!v) {
			cli_errorf(err, "'topology=%s': no part of the CPU topology can be 0", text);
			return -1;
		}
		*part[i] = (unsigned)v;
		product *= v;
		s += len + 1;
	}
	if (IS_ENABLED(CONFIG_ARCH_AARCH64) && t->dies != 1) {
		cli_errorf(err, "'topology=%s': dies per package must be 1 on AArch64", text);
		return -1;
	}
	if (product != cpus) {
		cli_errorf(err, "'topology=%s': %llu vCPUs, but boot=%u (the product of the parts must be the vCPU count)",
			   text, (unsigned long long)product, cpus);
		return -1;
	}
	return 0;
syntax:
	cli_errorf(err, "'topology=%s': want THREADS:CORES:DIES:PACKAGES, four numbers 1..65535", text);
	return -1;
}

/* One number spanning s..end (no sign, no spaces). */
static int parse_span(const char *s, const char *end, uint64_t *v)
{
	char num[24];
	size_t len = (size_t)(end - s);

	if (len >= sizeof(num))
		return -1;
	memcpy(num, s, len);
	num[len] = '\0';
	return parse_u64(num, v);
}

/* A host CPU list as cloud-hypervisor's IntegerList reads it: brackets
 * around it optional, items "N" or "A-B" with A < B. */
static int parse_host_cpus(const char *s, const char *end, cpu_set_t *set,
			   struct cli_error *err)
{
	while (s < end && *s == '[')
		s++;
	while (end > s && end[-1] == ']')
		end--;
	CPU_ZERO(set);
	for (;;) {
		const char *comma = memchr(s, ',', (size_t)(end - s));
		const char *item_end = comma ? comma : end;
		const char *dash = memchr(s, '-', (size_t)(item_end - s));
		uint64_t first, last;

		if (parse_span(s, dash ? dash : item_end, &first) ||
		    (dash && (parse_span(dash + 1, item_end, &last) || last <= first))) {
			cli_errorf(err, "host CPUs '%.*s': want N or A-B with A < B",
				   (int)(item_end - s), s);
			return -1;
		}
		if (!dash)
			last = first;
		if (last >= CPU_SETSIZE) {
			cli_errorf(err, "host CPU %llu: at most %d", (unsigned long long)last,
				   CPU_SETSIZE - 1);
			return -1;
		}
		for (uint64_t c = first; c <= last; c++)
			CPU_SET((int)c, set);
		if (!comma)
			return 0;
		s = comma + 1;
	}
}

/* One N@HOSTCPUS item of an affinity list, added to *n entries of list. */
static int add_affinity(const struct affinity_names *names, unsigned count, const char *s,
			const char *end, struct cpu_affinity *list, size_t *n,
			struct cli_error *err)
{
	const char *at = memchr(s, '@', (size_t)(end - s));
	uint64_t index;

	if (!at || memchr(at + 1, '@', (size_t)(end - at - 1)) || parse_span(s, at, &index)) {
		cli_errorf(err, "'%.*s': want %s@[HOST CPUS]", (int)(end - s), s, names->token);
		return -1;
	}
	if (index >= count) {
		cli_errorf(err, "'%.*s': %s %llu does not exist (%s=%u)", (int)(end - s), s,
			   names->item, (unsigned long long)index, names->count_key, count);
		return -1;
	}
	for (size_t i = 0; i < *n; i++) {
		if (list[i].index == index) {
			cli_errorf(err, "%s %llu: affinity given twice", names->item,
				   (unsigned long long)index);
			return -1;
		}
	}
	list[*n].index = (unsigned)index;
	if (parse_host_cpus(at + 1, end, &list[*n].host_cpus, err))
		return -1;
	(*n)++;
	return 0;
}

/* [N@[HOST CPUS],...], the outer brackets required (as cloud-hypervisor's
 * Tuple list has them), commas inside inner brackets part of the item;
 * each index below count and given once, so list has room for count. */
int cli_parse_affinity(const struct affinity_names *names, const char *text, unsigned count,
		       struct cpu_affinity *list, size_t *n, struct cli_error *err)
{
	size_t len = strlen(text);
	const char *item, *end = text + len - 1;
	int depth = 0;

	*n = 0;
	if (len < 2 || text[0] != '[' || *end != ']') {
		cli_errorf(err, "'%s=%s': want [%s@[HOST CPUS],...]", names->key, text, names->token);
		return -1;
	}
	item = text + 1;
	for (const char *c = item; c <= end; c++) {
		if (*c == '[') {
			depth++;
		} else if (*c == ']' && c < end && --depth < 0) {
			break;
		} else if ((*c == ',' && !depth) || c == end) {
			if (add_affinity(names, count, item, c, list, n, err))
				return -1;
			item = c + 1;
		}
	}
	if (depth) {
		cli_errorf(err, "'%s=%s': unbalanced brackets", names->key, text);
		return -1;
	}
	return 0;
}

/* --cpus affinity=[VCPU@[HOST CPUS],...]: room for one entry per vCPU */
static int parse_affinity(struct vm_config *cfg, const char *text, struct cli_error *err)
{
	static const struct affinity_names names = { "affinity", "VCPU", "vCPU", "boot" };

	free(cfg->cpu_affinity);
	cfg->cpu_naffinity = 0;
	cfg->cpu_affinity = calloc(cfg->cpus, sizeof(*cfg->cpu_affinity));
	if (!cfg->cpu_affinity) {
		cli_errorf(err, "out of memory");
		return -1;
	}
	return cli_parse_affinity(&names, text, cfg->cpus, cfg->cpu_affinity, &cfg->cpu_naffinity,
				  err);
}

/* features=amx or features=[amx,...]: cloud-hypervisor's one feature,
 * x86_64 only. */
static int parse_features(struct vm_config *cfg, const char *text, struct cli_error *err)
{
	const char *s = text, *end = text + strlen(text);

	while (*s == '[')
		s++;
	while (end > s && end[-1] == ']')
		end--;
	while (s < end) {
		const char *comma = memchr(s, ',', (size_t)(end - s));
		size_t len = (size_t)((comma ? comma : end) - s);

		if (!IS_ENABLED(CONFIG_ARCH_X86_64) || len != 3 || strncmp(s, "amx", 3)) {
			cli_errorf(err, "'features=%s': unknown CPU feature '%.*s'%s", text, (int)len, s,
				   IS_ENABLED(CONFIG_ARCH_X86_64) ? " (there is amx)" : "");
			return -1;
		}
		if (!IS_ENABLED(CONFIG_CPU_AMX)) {
			cli_errorf(err, "'features=amx': AMX for guests is not built into this binary (CONFIG_CPU_AMX is off)");
			return -1;
		}
		cfg->cpu_amx = true;
		s += len + 1;
	}
	return 0;
}

static int parse_core_scheduling(struct vm_config *cfg, const char *text,
				 struct cli_error *err)
{
	static const char *const modes[] = { "vm", "vcpu", "off" };

	for (int i = 0; i < 3; i++) {
		if (strcasecmp(text, modes[i]))
			continue;
		if (i != CORE_SCHED_OFF && !IS_ENABLED(CONFIG_VCPU_PLACEMENT)) {
			cli_errorf(err, "'core_scheduling=%s': vCPU placement is not built into this binary (CONFIG_VCPU_PLACEMENT is off)",
				   text);
			return -1;
		}
		cfg->core_scheduling = (enum core_scheduling)i;
		return 0;
	}
	cli_errorf(err, "'core_scheduling=%s': want vm, vcpu or off", text);
	return -1;
}

/* A build with neither (the tiny ones): one line for any of the keys,
 * but core_scheduling=off, which is what such a build does. */
static int cpus_placement_not_built(struct parser *p, struct kv_list *kv)
{
	static const char *const keys[] = { "topology", "affinity", "core_scheduling", "features" };

	for (int i = 0; i < 4; i++) {
		const char *v = NULL;

		if (kv_str(kv, keys[i], &v, p->err) < 0)
			return -1;
		if (v && (i != 2 || strcmp(v, "off"))) {
			cli_errorf(p->err, "'%s=%s': not built into this binary (CONFIG_CPU_TOPOLOGY, CONFIG_VCPU_PLACEMENT)",
				   keys[i], v);
			return -1;
		}
		if (v)
			p->cfg->core_scheduling = CORE_SCHED_OFF;	/* what "off" can be */
	}
	return 0;
}

/* The keys beyond boot= and max=; each one's value checked against boot.
 * Keys of a feature not built in are refused by name. */
static int cpus_placement(struct parser *p, struct kv_list *kv)
{
	struct vm_config *cfg = p->cfg;

	const char *topology = NULL, *affinity = NULL, *sched = NULL, *features = NULL;

	if (!IS_ENABLED(CONFIG_CPU_TOPOLOGY) && !IS_ENABLED(CONFIG_VCPU_PLACEMENT))
		return cpus_placement_not_built(p, kv);
	if (kv_str(kv, "topology", &topology, p->err) < 0 ||
	    kv_str(kv, "affinity", &affinity, p->err) < 0 ||
	    kv_str(kv, "core_scheduling", &sched, p->err) < 0 ||
	    kv_str(kv, "features", &features, p->err) < 0)
		return -1;
	if (topology && !IS_ENABLED(CONFIG_CPU_TOPOLOGY)) {
		cli_errorf(p->err, "'topology=%s': CPU topology is not built into this binary (CONFIG_CPU_TOPOLOGY is off)",
			   topology);
		return -1;
	}
	if (affinity && !IS_ENABLED(CONFIG_VCPU_PLACEMENT)) {
		cli_errorf(p->err, "'affinity=%s': vCPU placement is not built into this binary (CONFIG_VCPU_PLACEMENT is off)",
			   affinity);
		return -1;
	}
	if (IS_ENABLED(CONFIG_CPU_TOPOLOGY) && topology &&
	    parse_topology(topology, cfg->cpus, &cfg->cpu_topology, p->err))
		return -1;
	if (IS_ENABLED(CONFIG_VCPU_PLACEMENT) && affinity &&
	    parse_affinity(cfg, affinity, p->err))
		return -1;
	if ((sched && parse_core_scheduling(cfg, sched, p->err)) ||
	    (features && *features && parse_features(cfg, features, p->err)))
		return -1;
	return 0;
}

static int cpus_body(struct parser *p, struct kv_list *kv)
{
	uint64_t boot = 1, max = 0;

	uint64_t phys_bits = 0;
	int nested;

	if (kv_u64(kv, "boot", 1, MAX_CPUS, &boot, p->err) < 0 ||
	    kv_u64(kv, "max", 1, MAX_CPUS, &max, p->err) < 0 ||
	    (nested = kv_bool(kv, "nested", &p->cfg->cpu_nested, p->err)) < 0 ||
	    kv_bool(kv, "kvm_hyperv", &p->cfg->cpu_hyperv, p->err) < 0 ||
	    kv_u64(kv, "max_phys_bits", 32, 64, &phys_bits, p->err) < 0)
		return -1;
	if (p->cfg->cpu_hyperv && !IS_ENABLED(CONFIG_CPU_HYPERV)) {
		cli_errorf(p->err, "'kvm_hyperv=on': Hyper-V enlightenments are not built into this binary "
			   "(CONFIG_CPU_HYPERV is off; x86_64 only)");
		return -1;
	}
	p->cfg->cpu_max_phys_bits = (unsigned)phys_bits;
	p->cfg->cpu_nested_given = nested > 0;
	if (max && max != boot) {
		cli_errorf(p->err, "'max=%llu': vCPU hotplug is not supported, max must equal boot",
			   (unsigned long long)max);
		return -1;
	}
	p->cfg->cpus = (unsigned)boot;
	return cpus_placement(p, kv);
}

static int opt_cpus(struct parser *p, const char *v)
{
	/* kv_u64 reports "boot=0" as out of range 1..1024. */
	return with_kv(p, v, cpus_body);
}

static int memory_body(struct parser *p, struct kv_list *kv)
{
	struct memory_config *m = &p->cfg->memory;

	const char *hotplug = NULL, *method = NULL;

	if (kv_size(kv, "size", &m->size, p->err) < 0 ||
	    kv_bool(kv, "shared", &m->shared, p->err) < 0 ||
	    kv_bool(kv, "hugepages", &m->hugepages, p->err) < 0 ||
	    kv_size(kv, "hugepage_size", &m->hugepage_size, p->err) < 0 ||
	    kv_bool(kv, "thp", &m->thp, p->err) < 0 ||
	    kv_bool(kv, "mergeable", &m->mergeable, p->err) < 0 ||
	    kv_bool(kv, "prefault", &m->prefault, p->err) < 0 ||
	    kv_bool(kv, "reserve", &m->reserve, p->err) < 0 ||
	    kv_str(kv, "hotplug_size", &hotplug, p->err) < 0 ||
	    kv_str(kv, "hotplugged_size", &hotplug, p->err) < 0 ||
	    kv_str(kv, "hotplug_method", &method, p->err) < 0)
		return -1;
	/* the method alone, with nothing to hotplug, changes nothing (as in
	 * cloud-hypervisor, where acpi is the default) */
	if (hotplug || (method && strcmp(method, "acpi") && strcmp(method, "virtio-mem"))) {
		cli_errorf(p->err, "'%s': memory hotplug is not built into wisp", kv->source);
		return -1;
	}
	if (m->hugepage_size && (!m->hugepages || (m->hugepage_size & (m->hugepage_size - 1)) ||
				 m->hugepage_size < (2 << 20) || m->size % m->hugepage_size)) {
		cli_errorf(p->err, "'hugepage_size=%llu': needs hugepages=on, a power of two of 2M "
			   "or more, and a size that is a multiple of it",
			   (unsigned long long)m->hugepage_size);
		return -1;
	}
	if (m->size < MIN_MEMORY) {
		cli_errorf(p->err, "size %llu is too small (at least 2M)",
			   (unsigned long long)m->size);
		return -1;
	}
	if (m->size & 0xfff) {
		cli_errorf(p->err, "size %llu is not a multiple of 4K",
			   (unsigned long long)m->size);
		return -1;
	}
	if (m->shared && !IS_ENABLED(CONFIG_MEMORY_SHARED)) {
		cli_errorf(p->err, "shared=on is not built into this binary (CONFIG_MEMORY_SHARED is off)");
		return -1;
	}
	if (m->hugepages && !IS_ENABLED(CONFIG_MEMORY_HUGEPAGES)) {
		cli_errorf(p->err, "hugepages=on is not built into this binary (CONFIG_MEMORY_HUGEPAGES is off)");
		return -1;
	}
	return 0;
}

static int opt_memory(struct parser *p, const char *v)
{
	return with_kv(p, v, memory_body);
}

#ifdef CONFIG_PCI_SEGMENTS
/* cloud-hypervisor's --platform: of its keys wisp has the PCI segment
 * count; the others (serial_number, uuid, oem_strings, tdx, sev_snp,
 * iommu_address_width) are unknown keys here. */
static int platform_body(struct parser *p, struct kv_list *kv)
{
	uint64_t n = 1;
	const char *iommu_segments = NULL;

	if (p->cfg->pci_segments) {
		cli_errorf(p->err, "given more than once");
		return -1;
	}
	if (kv_u64(kv, "num_pci_segments", 0, UINT64_MAX, &n, p->err) < 0 ||
	    kv_str(kv, "iommu_segments", &iommu_segments, p->err) < 0)
		return -1;
	/* cloud-hypervisor's range is 1 to 96 (MAX_NUM_PCI_SEGMENTS) */
	if (!n || n > 96) {
		cli_errorf(p->err, "'num_pci_segments=%llu': the number of PCI segments is 1 to 96",
			   (unsigned long long)n);
		return -1;
	}
	if (n > PCI_MAX_SEGMENTS) {
		cli_errorf(p->err, "'num_pci_segments=%llu': wisp builds at most %d PCI segments",
			   (unsigned long long)n, PCI_MAX_SEGMENTS);
		return -1;
	}
	if (iommu_segments) {
		cli_errorf(p->err, "'iommu_segments=%s': PCI segments behind the virtio-iommu "
			   "are not built into wisp", iommu_segments);
		return -1;
	}
	p->cfg->pci_segments = (unsigned)n;
	return 0;
}

static int opt_platform(struct parser *p, const char *v)
{
	return with_kv(p, v, platform_body);
}
#endif

static int opt_seccomp(struct parser *p, const char *v)
{
	if (!strcmp(v, "true"))
		p->cfg->seccomp = SECCOMP_ON;
	else if (!strcmp(v, "false"))
		p->cfg->seccomp = SECCOMP_OFF;
	else if (!strcmp(v, "log"))
		p->cfg->seccomp = SECCOMP_LOG;
	else
		return fail(p, "'%s': expected true, false or log", v);
	if (p->cfg->seccomp != SECCOMP_OFF && !IS_ENABLED(CONFIG_SECCOMP))
		return fail(p, "seccomp is not built into this binary (CONFIG_SECCOMP is off)");
	return 0;
}

static int opt_timeline(struct parser *p, const char *v)
{
	(void)v;
	if (!IS_ENABLED(CONFIG_BOOT_TIMELINE))
		return fail(p, "the boot timeline is not built into this binary (CONFIG_BOOT_TIMELINE is off)");
	p->cfg->timeline = true;
	return 0;
}

#ifdef CONFIG_LOG_FILE
static int opt_log_file(struct parser *p, const char *v)
{
	if (p->cfg->log_file)
		return fail(p, "given twice");
	if (!*v)
		return fail(p, "needs a path");
	p->cfg->log_file = v;
	return 0;
}

/* cloud-hypervisor's -v, -vv, ...: one more level of detail per 'v'.
 * 1 when arg is one (counted), 0 when it is something else.  Without
 * CONFIG_LOG_FILE, -v and --log-file are unknown options (bytes). */
static int short_verbose(struct parser *p, const char *arg)
{
	size_t n = strspn(arg + 1, "v");

	if (arg[0] != '-' || !n || arg[1 + n])
		return 0;
	p->cfg->verbosity += (unsigned)n;
	return 1;
}
#endif

#ifdef CONFIG_EVENT_MONITOR
static int event_monitor_body(struct parser *p, struct kv_list *kv)
{
	struct vm_config *cfg = p->cfg;
	const char *path = NULL;
	uint64_t fd = 0;
	int has_path, has_fd;

	has_path = kv_str(kv, "path", &path, p->err);
	has_fd = kv_u64(kv, "fd", 0, INT32_MAX, &fd, p->err);
	if (has_path < 0 || has_fd < 0)
		return -1;
	/* cloud-hypervisor takes fd= when given both; wisp asks for one,
	 * as --api-socket does */
	if (has_path && has_fd) {
		cli_errorf(p->err, "give path= or fd=, not both");
		return -1;
	}
	if (!has_path && !has_fd) {
		cli_errorf(p->err, "expected path=PATH or fd=N");
		return -1;
	}
	/* the value lives in kv's buffer, freed after this */
	if (has_path && !(cfg->event_monitor_path = strdup(path))) {
		cli_errorf(p->err, "out of memory");
		return -1;
	}
	cfg->event_monitor_fd = (int)fd;
	return 0;
}

/* opened (or the fd checked) in main(), before anything starts */
static int opt_event_monitor(struct parser *p, const char *v)
{
	if (p->cfg->event_monitor)
		return fail(p, "given more than once");
	p->cfg->event_monitor = true;
	return with_kv(p, v, event_monitor_body);
}
#endif

static void print_help(FILE *out);
static void print_features(FILE *out);

static int opt_help(struct parser *p, const char *v)
{
	(void)v;
	print_help(p->out);
	return 1;
}

static int opt_version(struct parser *p, const char *v)
{
	(void)v;
	fprintf(p->out, "wisp %s (%s)\n", WISP_VERSION, CONFIG_ARCH);
	return 1;
}

static int opt_features(struct parser *p, const char *v)
{
	(void)v;
	print_features(p->out);
	return 1;
}

struct core_option {
	const char *name;
	const char *arg;	/* NULL: a flag without a value */
	const char *help;
	/* 0 to go on, 1 when parsing is complete (--help), -1 on error */
	int (*handle)(struct parser *p, const char *value);
};

/* The first core options make up the VM: kept for a snapshot, and so
 * not given again beside --restore. */
#define KEPT_CORE_OPTIONS (6 + IS_ENABLED(CONFIG_PCI_SEGMENTS))

#ifdef CONFIG_SNAPSHOT
static int opt_restore(struct parser *p, const char *v);
#endif

static const struct core_option core_options[] = {
	{ "kernel", "PATH", "Kernel to boot: PVH ELF (vmlinux), bzImage or arm64 Image", opt_kernel },
	{ "firmware", "PATH", "Firmware to boot (PVH ELF, e.g. CLOUDHV.fd)", opt_firmware },
	{ "initramfs", "PATH", "Initial ramdisk handed to the kernel", opt_initramfs },
	{ "cmdline", "STRING", "Kernel command line", opt_cmdline },
	{ "cpus", IS_ENABLED(CONFIG_CPU_TOPOLOGY) ?
	  "boot=N[,topology=T:C:D:P][,affinity=[V@[CPUS],...]][,core_scheduling=vm|vcpu|off][,features=amx][,nested=off][,max_phys_bits=N]" :
	  "boot=N[,nested=off][,max_phys_bits=N]", "Number of vCPUs (default 1)", opt_cpus },
	{ "memory", "size=SIZE[,shared=on][,hugepages=on[,hugepage_size=SIZE]][,thp=off][,mergeable=on][,prefault=on][,reserve=on]", "Guest RAM (default 512M)", opt_memory },
#ifdef CONFIG_PCI_SEGMENTS
	{ "platform", "num_pci_segments=N", "PCI segments (default 1, at most 4)", opt_platform },
#endif
#ifdef CONFIG_SNAPSHOT
	{ "restore", "source_url=file:///DIR[,prefault=on][,resume=on][,memory_restore_mode=copy|ondemand]",
	  "Start from a snapshot (paused until vm.resume, or resume=on)", opt_restore },
#endif
	{ "seccomp", "true|false|log", "System call filtering (default true)", opt_seccomp },
	{ "timeline", NULL, "Print the boot timeline on stderr", opt_timeline },
#ifdef CONFIG_LOG_FILE
	{ "log-file", "PATH", "Log to PATH instead of stderr (-v, -vv: more detail)", opt_log_file },
#endif
#ifdef CONFIG_EVENT_MONITOR
	{ "event-monitor", "path=PATH|fd=N", "Report the VM's events as JSON to PATH or fd N",
	  opt_event_monitor },
#endif
	{ "features", NULL, "List the devices and options built into this binary", opt_features },
	{ "version", NULL, "Print the version", opt_version },
	{ "help", NULL, "Print this help", opt_help },
};

static const struct core_option *find_core_option(const char *name)
{
	for (size_t i = 0; i < sizeof(core_options) / sizeof(core_options[0]); i++)
		if (!strcmp(core_options[i].name, name))
			return &core_options[i];
	return NULL;
}

static const struct device_option *find_device_option(const char *name,
						      const char *variant)
{
	for (size_t i = 0; i < sizeof(device_options) / sizeof(device_options[0]); i++)
		if (!strcmp(device_options[i].option, name) &&
		    (variant ? device_options[i].variant &&
				       !strcmp(device_options[i].variant, variant)
			     : !device_options[i].variant))
			return &device_options[i];
	return NULL;
}

/* The variant an option value selects: the first variant key of this
 * option that is "on" in the value, consumed here; NULL for the plain
 * device.  -1 if a variant key has a bad value. */
static int pick_variant(struct parser *p, struct kv_list *kv,
			const char **variant)
{
	*variant = NULL;
	for (size_t i = 0; i < sizeof(device_options) / sizeof(device_options[0]); i++) {
		const struct device_option *o = &device_options[i];
		bool on = false;

		if (!o->variant || strcmp(o->option, p->opt))
			continue;
		if (kv_bool(kv, o->variant, &on, p->err) < 0)
			return -1;
		if (on && !*variant)
			*variant = o->variant;
	}
	return 0;
}

static size_t instances_of(const struct vm_config *cfg,
			   const struct device_desc *desc)
{
	size_t n = 0;

	for (size_t i = 0; i < cfg->ndevices; i++)
		n += cfg->devices[i].desc == desc;
	return n;
}

/* cloud-hypervisor's rule: the id= a device takes names it alone.  What
 * finds a device by its id is the API (vm.info, vm.counters) and the
 * event monitor; a binary with neither (the tiny ones) keeps the id
 * only to show it nowhere, so it does not check. */
static int claim_id(struct parser *p, struct device_instance *inst, const struct kv_list *kv)
{
	const struct vm_config *cfg = p->cfg;

	for (size_t i = 0; i < kv->n; i++)
		if (kv->item[i].used && !strcmp(kv->item[i].key, "id"))
			inst->id = kv->item[i].value;
	if (!inst->id || inst->desc->id_apart ||
	    (!IS_ENABLED(CONFIG_API) && !IS_ENABLED(CONFIG_EVENT_MONITOR)))
		return 0;
	for (size_t i = 0; i + 1 < cfg->ndevices; i++) {
		const struct device_instance *other = &cfg->devices[i];

		if (other->id && !other->desc->id_apart && !strcmp(other->id, inst->id))
			return fail(p, "id=%s is already the id of a --%s device: ids must be unique",
				    inst->id, other->desc->option);
	}
	return 0;
}

static int add_instance(struct parser *p, const struct device_desc *desc,
			struct kv_list *kv)
{
	struct vm_config *cfg = p->cfg;
	struct device_instance *inst;

	if (cfg->ndevices == MAX_DEVICE_INSTANCES)
		return fail(p, "too many devices (at most %d)", MAX_DEVICE_INSTANCES);
	if (!desc->repeatable && instances_of(cfg, desc))
		return fail(p, "given more than once");
	inst = &cfg->devices[cfg->ndevices];
	inst->desc = desc;
	inst->config = NULL;
	inst->id = NULL;
	if (desc->config_size) {
		inst->config = calloc(1, desc->config_size);
		if (!inst->config)
			return fail(p, "out of memory");
	}
	cfg->ndevices++;
	if (!desc->parse)
		return kv && kv->n ? fail(p, "takes no value") : 0;
	/* the parsed config may point into the text: it lives as long */
	inst->args = kv->buf;
	kv->buf = NULL;
	if (desc->parse(kv, inst->config, p->err) ||
	    kv_check_unused(kv, p->err))
		return fail(p, "%s", p->err->msg);
	inst->needs = kv->needs;
	return claim_id(p, inst, kv);
}

static int device_value(struct parser *p, const char *value)
{
	const struct device_option *known;
	const struct device_desc *desc;
	const char *variant;
	struct kv_list kv;
	int ret = -1;

	if (kv_parse(&kv, value, p->err))
		return fail(p, "%s", p->err->msg);
	if (pick_variant(p, &kv, &variant)) {
		fail(p, "%s", p->err->msg);
		goto out;
	}
	desc = device_lookup(p->opt, variant);
	if (!desc) {
		known = find_device_option(p->opt, variant);
		if (known && known->configured)
			fail(p, "%s is not implemented yet in this version (CONFIG_%s is on)",
			     known->device, known->symbol);
		else
			fail(p, "%s is not built into this binary (CONFIG_%s is off)",
			     known ? known->device : p->opt, known ? known->symbol : "?");
		goto out;
	}
	ret = add_instance(p, desc, &kv);
out:
	kv_free(&kv);
	return ret;
}

/* Known: in cloud-hypervisor's option set, or owned by a device in the
 * table (which is how a device can add an option of its own). */
static bool is_device_option(const char *name)
{
	const struct device_desc *const *table;
	size_t n = device_table(&table);

	if (find_device_option(name, NULL))
		return true;
	for (size_t i = 0; i < n; i++)
		if (table[i]->option && !strcmp(table[i]->option, name))
			return true;
	return false;
}

/* "--name=value" or "--name": the option name and inline value. */
static const char *split_option(const char *arg, char *name, size_t size,
				bool *has_inline)
{
	const char *eq = strchr(arg + 2, '=');
	size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);

	*has_inline = eq != NULL;
	if (len >= size)
		len = size - 1;
	memcpy(name, arg + 2, len);
	name[len] = '\0';
	return eq ? eq + 1 : NULL;
}

static bool is_option(const char *arg)
{
	return arg[0] == '-' && arg[1] == '-';
}

static bool option_given(const struct vm_config *cfg, const char *option)
{
	for (size_t i = 0; i < cfg->ndevices; i++)
		if (cfg->devices[i].desc->option &&
		    !strcmp(cfg->devices[i].desc->option, option))
			return true;
	return false;
}

/* Instances for devices that exist without their option: always-present
 * platform devices, and defaults such as --serial tty. */
static int add_defaults(struct parser *p)
{
	const struct device_desc *const *table;
	size_t n = device_table(&table);

	for (size_t i = 0; i < n; i++) {
		const struct device_desc *d = table[i];
		struct kv_list kv;
		int ret;

		p->opt = d->option ? d->option : d->name;
		if (!d->option) {
			if (add_instance(p, d, NULL))
				return -1;
			continue;
		}
		if (d->variant || !d->default_args || option_given(p->cfg, d->option))
			continue;
		if (kv_parse(&kv, d->default_args, p->err))
			return fail(p, "default '%s': %s", d->default_args, p->err->msg);
		ret = add_instance(p, d, &kv);
		kv_free(&kv);
		if (ret)
			return -1;
	}
	return 0;
}

/* What the devices' values asked of the rest of the command line. */
static int check_needs(struct parser *p)
{
	const struct vm_config *cfg = p->cfg;

	for (size_t i = 0; i < cfg->ndevices; i++) {
		const struct kv_needs *n = &cfg->devices[i].needs;

		p->opt = cfg->devices[i].desc->option;
		if (n->key && n->value > n->per_vcpu * cfg->cpus)
			return fail(p, "'%s=%u': at most %u per vCPU (%u vCPUs)", n->key,
				    n->value, n->per_vcpu, cfg->cpus);
		if (n->shared_memory && !cfg->memory.shared)
			return fail(p, "%s: add --memory shared=on", n->shared_memory);
#ifdef CONFIG_PCI_SEGMENTS
		/* cloud-hypervisor: "Invalid PCI segment id" */
		if (n->pci_segment >= pci_segments_of(cfg))
			return fail(p, "'pci_segment=%u': invalid PCI segment id: --platform "
				    "num_pci_segments is %u", n->pci_segment, pci_segments_of(cfg));
		if (n->pci_slot && pci_plan_reserve(n->pci_segment, n->pci_slot))
			return fail(p, "'pci_device_id=%u': slot %u of PCI segment %u is already "
				    "another device's", n->pci_slot, n->pci_slot, n->pci_segment);
#endif
	}
	return 0;
}

static int finish(struct parser *p)
{
	struct vm_config *cfg = p->cfg;

	if (!cfg->kernel && !cfg->firmware) {
		p->opt = "kernel";
		return fail(p, "no kernel or firmware to boot (give --kernel PATH or --firmware PATH)");
	}
	if (cfg->kernel && cfg->firmware) {
		p->opt = "firmware";
		return fail(p, "give either --kernel or --firmware, not both");
	}
	/* cloud-hypervisor warns and drops them (PayloadConfig's
	 * validation): the firmware finds its own kernel and arguments */
	if (cfg->firmware && (cfg->cmdline || cfg->initramfs)) {
		wisp_err("warning: --cmdline and --initramfs are ignored with --firmware");
		cfg->cmdline = cfg->initramfs = NULL;
	}
#ifdef CONFIG_SNAPSHOT
	if (cfg->restore.dir && !cfg->restore.resume && !option_given(cfg, "api-socket")) {
		p->opt = "restore";
		return fail(p, "the restored VM waits for vm.resume: give --api-socket too, or resume=on");
	}
#endif
	return add_defaults(p) || check_needs(p) ? -1 : 0;
}

/* A core option's value: applied, and kept when it makes up the VM.
 * Beside --restore those come from the snapshot alone. */
static int core_value(struct parser *p, const struct core_option *core, const char *value)
{
	struct vm_config *cfg = p->cfg;

	if (IS_ENABLED(CONFIG_SNAPSHOT) && core < core_options + KEPT_CORE_OPTIONS) {
		if (cfg->restore.dir && !p->from_snapshot)
			return fail(p, "comes from the snapshot: not given with --restore");
		if (cfg->nkept == CLI_MAX_KEPT)
			return fail(p, "given too many times");
		cfg->kept[cfg->nkept++] = (struct kept_option){ core->name, value };
	}
	return core->handle(p, value);
}

/* Beside --restore, a device option given again replaces all of the
 * snapshot's values of that option (a disk moved, another TAP). */
static void drop_restored_instances(struct vm_config *cfg, const char *option)
{
	if (!IS_ENABLED(CONFIG_SNAPSHOT) || !cfg->restore.dir)
		return;
	size_t kept = 0;

	for (size_t i = 0; i < cfg->ndevices; i++) {
		struct device_instance *inst = &cfg->devices[i];

		if (inst->from_snapshot && inst->desc->option &&
		    !strcmp(inst->desc->option, option)) {
			free(inst->config);
			free(inst->args);
			continue;
		}
		cfg->devices[kept++] = *inst;
	}
	cfg->ndevices = kept;
}

static int one_device_value(struct parser *p, const char *value)
{
	size_t before = p->cfg->ndevices;

	if (device_value(p, value))
		return -1;
	if (IS_ENABLED(CONFIG_SNAPSHOT) && p->cfg->ndevices > before) {
		p->cfg->devices[before].text = value;
		p->cfg->devices[before].from_snapshot = p->from_snapshot;
	}
	return 0;
}

/* argv[first..argc): 0, 1 when done (--help), -1 on error. */
static int parse_args(struct parser *p, int argc, char *const argv[], int first)
{
	for (int i = first; i < argc; i++) {
		const struct core_option *core;
		char name[32];
		bool has_inline;
		const char *value;

#ifdef CONFIG_LOG_FILE
		if (short_verbose(p, argv[i]))
			continue;
#endif
		if (!is_option(argv[i]) || !argv[i][2])
			return cli_errorf(p->err, "unexpected argument '%s' (options start with --)",
					  argv[i]), -1;
		value = split_option(argv[i], name, sizeof(name), &has_inline);
		p->opt = name;
		core = find_core_option(name);
		if (core) {
			int ret;

			if (!core->arg && has_inline)
				return fail(p, "takes no value");
			if (core->arg && !has_inline) {
				if (i + 1 >= argc || is_option(argv[i + 1]))
					return fail(p, "needs a value (%s)", core->arg);
				value = argv[++i];
			}
			if (!strcmp(name, "restore"))
				continue;	/* done first, by cli_parse */
			ret = core_value(p, core, value);
			if (ret)
				return ret;
			continue;
		}
		if (!is_device_option(name))
			return cli_errorf(p->err, "unknown option '--%s' (see --help)", name), -1;
		if (!p->from_snapshot)
			drop_restored_instances(p->cfg, name);
		if (has_inline) {
			if (one_device_value(p, value))
				return -1;
			continue;
		}
		if (i + 1 >= argc || is_option(argv[i + 1]))
			return fail(p, "needs a value");
		/* As in cloud-hypervisor, values run up to the next option. */
		while (i + 1 < argc && !is_option(argv[i + 1]))
			if (one_device_value(p, argv[++i]))
				return -1;
	}
	return 0;
}

#ifdef CONFIG_SNAPSHOT
/* The snapshot's command line: its arguments, NUL-separated in the
 * config section, parsed as if given here. */
static int parse_snapshot_config(struct parser *p)
{
	struct restore_config *r = &p->cfg->restore;
	struct snapshot_section sec;
	char *args, *end;
	int argc = 1, ret;

	if (snapshot_find(&r->state, SNAP_CONFIG, "config", &sec))
		return fail(p, "%s: the snapshot holds no configuration", r->dir);
	args = (char *)sec.payload.data;
	end = args + sec.payload.len;
	if (sec.payload.len && end[-1])
		return fail(p, "%s: the snapshot's configuration is malformed", r->dir);
	r->argv = calloc(sec.payload.len + 2, sizeof(char *));
	if (!r->argv)
		return fail(p, "out of memory");
	r->argv[0] = "wisp";
	for (char *a = args; a < end; a += strlen(a) + 1)
		r->argv[argc++] = a;
	p->from_snapshot = true;
	ret = parse_args(p, argc, r->argv, 1);
	p->from_snapshot = false;
	if (ret)
		return fail(p, "the snapshot's configuration does not fit this binary: %s",
			    p->err->msg);
	return 0;
}

static int restore_body(struct parser *p, struct kv_list *kv)
{
	struct restore_config *r = &p->cfg->restore;
	const char *url = NULL, *mode = NULL;
	char why[160];

	if (kv_str(kv, "source_url", &url, p->err) < 0 ||
	    kv_bool(kv, "prefault", &r->prefault, p->err) < 0 ||
	    kv_bool(kv, "resume", &r->resume, p->err) < 0 ||
	    kv_str(kv, "memory_restore_mode", &mode, p->err) < 0)
		return -1;
	/* cloud-hypervisor's two modes: copy reads all of the snapshot's
	 * memory before the guest runs (wisp's prefault=on), ondemand reads
	 * a page when the guest first touches it (wisp's mapping of the
	 * memory file, without prefault) */
	if (mode && !strcasecmp(mode, "copy")) {
		r->prefault = true;
	} else if (mode && (strcasecmp(mode, "ondemand") || r->prefault)) {
		cli_errorf(p->err, "'memory_restore_mode=%s': copy, or ondemand without prefault=on", mode);
		return -1;
	}
	if (!url) {
		cli_errorf(p->err, "needs source_url=file:///DIR");
		return -1;
	}
	r->dir = snapshot_url_path(url);
	if (!r->dir) {
		cli_errorf(p->err, "'%s': source_url must be a file:/// URL", url);
		return -1;
	}
	if (snapshot_file_read(r->dir, &r->state, why, sizeof(why)) ||
	    snapshot_check_devices(&r->state, why, sizeof(why))) {
		snapshot_file_free(&r->state);
		r->dir = NULL;
		cli_errorf(p->err, "%s", why);
		return -1;
	}
	return 0;
}

/* --restore is taken before everything else: the snapshot's own
 * command line comes first, then what argv adds or replaces. */
static int opt_restore(struct parser *p, const char *v)
{
	struct restore_config *r = &p->cfg->restore;
	struct kv_list kv;
	int ret;

	if (r->dir)
		return fail(p, "given more than once");
	if (kv_parse(&kv, v, p->err))
		return fail(p, "%s", p->err->msg);
	ret = restore_body(p, &kv);
	if (!ret)
		ret = kv_check_unused(&kv, p->err);
	/* source_url points into the kv buffer: the directory must outlive it */
	if (!ret && r->dir) {
		r->dir = strdup(r->dir);
		if (!r->dir) {
			cli_errorf(p->err, "out of memory");
			ret = -1;
		}
	}
	kv_free(&kv);
	if (ret)
		return fail(p, "%s", p->err->msg);
	p->opt = "restore";
	return parse_snapshot_config(p);
}

static int find_restore(struct parser *p, int argc, char *const argv[])
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--restore")) {
			p->opt = "restore";
			if (i + 1 >= argc || is_option(argv[i + 1]))
				return fail(p, "needs a value (source_url=file:///DIR)");
			return opt_restore(p, argv[i + 1]);
		}
		if (!strncmp(argv[i], "--restore=", 10)) {
			p->opt = "restore";
			return opt_restore(p, argv[i] + 10);
		}
	}
	return 0;
}
#else
/* without snapshots, --restore is an unknown option */
static int find_restore(struct parser *p, int argc, char *const argv[])
{
	(void)p;
	(void)argc;
	(void)argv;
	return 0;
}
#endif

enum cli_action cli_parse(int argc, char *const argv[], struct vm_config *cfg,
			  FILE *out, struct cli_error *err)
{
	struct parser p = { .cfg = cfg, .err = err, .out = out, .opt = "" };
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	cfg->cpus = 1;
	cfg->cpu_nested = true;		/* cloud-hypervisor's default */
	cfg->memory.size = DEFAULT_MEMORY;
	cfg->memory.thp = true;
	cfg->seccomp = IS_ENABLED(CONFIG_SECCOMP) ? SECCOMP_ON : SECCOMP_OFF;
	err->msg[0] = '\0';
#ifdef CONFIG_PCI_SEGMENTS
	pci_plan_reset();
#endif

	ret = find_restore(&p, argc, argv);
	if (!ret)
		ret = parse_args(&p, argc, argv, 1);
	if (ret > 0) {
		cli_free(cfg);
		return CLI_EXIT;
	}
	if (ret || finish(&p)) {
		cli_free(cfg);
		return CLI_ERROR;
	}
	return CLI_RUN;
}

void cli_free(struct vm_config *cfg)
{
#ifdef CONFIG_EVENT_MONITOR
	free((char *)cfg->event_monitor_path);
	cfg->event_monitor_path = NULL;
#endif
#ifdef CONFIG_SNAPSHOT
	free(cfg->restore.argv);
	free((char *)cfg->restore.dir);
	snapshot_file_free(&cfg->restore.state);
	cfg->restore = (struct restore_config){ 0 };
#endif
	for (size_t i = 0; i < cfg->ndevices; i++) {
		free(cfg->devices[i].config);
		free(cfg->devices[i].args);
	}
	cfg->ndevices = 0;
	free(cfg->cpu_affinity);
	cfg->cpu_affinity = NULL;
	cfg->cpu_naffinity = 0;
}

static void print_help(FILE *out)
{
	const struct device_desc *const *table;
	size_t n = device_table(&table);

	fprintf(out, "Usage: wisp --kernel PATH [options]\n\n"
		     "A minimal microVM on KVM (%s). Options:\n", CONFIG_ARCH);
	for (size_t i = 0; i < sizeof(core_options) / sizeof(core_options[0]); i++) {
		const struct core_option *o = &core_options[i];

		fprintf(out, "  --%s%s%s\n        %s\n", o->name, o->arg ? " " : "",
			o->arg ? o->arg : "", o->help);
	}
	for (size_t i = 0; i < n; i++) {
		const struct device_desc *d = table[i];

		if (!d->option)
			continue;
		fprintf(out, "  --%s %s%s\n        %s\n", d->option,
			d->usage ? d->usage : "", d->repeatable ? " ..." : "",
			d->summary);
	}
	fprintf(out, "\nExit status: 0 guest powered off or rebooted, "
		     "1 VM error, 2 bad command line or input, "
		     "3 KVM missing or unusable.\n");
}

static void print_features(FILE *out)
{
	const struct device_desc *const *table;
	size_t n = device_table(&table);

	fprintf(out, "wisp %s (%s)\ndevices:\n", WISP_VERSION, CONFIG_ARCH);
	for (size_t i = 0; i < n; i++) {
		const struct device_desc *d = table[i];
		char opt[48] = "";

		if (d->option)
			snprintf(opt, sizeof(opt), "--%s%s%s", d->option,
				 d->variant ? " " : "", d->variant ? d->variant : "");
		if (d->variant)
			strncat(opt, "=on", sizeof(opt) - strlen(opt) - 1);
		fprintf(out, "  %-16s %-22s %s\n", d->name, opt, d->summary);
	}
	fprintf(out, "options:\n");
	if (IS_ENABLED(CONFIG_MEMORY_SHARED))
		fprintf(out, "  memory-shared      --memory shared=on\n");
	if (IS_ENABLED(CONFIG_MEMORY_HUGEPAGES))
		fprintf(out, "  memory-hugepages   --memory hugepages=on\n");
	if (IS_ENABLED(CONFIG_BOOT_TIMELINE))
		fprintf(out, "  boot-timeline      --timeline\n");
	if (IS_ENABLED(CONFIG_SECCOMP))
		fprintf(out, "  seccomp            --seccomp\n");
	if (IS_ENABLED(CONFIG_LOG_FILE))
		fprintf(out, "  log-file           -v, --log-file\n");
	if (IS_ENABLED(CONFIG_CHARDEV_PTY))
		fprintf(out, "  chardev-pty        --serial pty, --console pty\n");
	if (IS_ENABLED(CONFIG_CHARDEV_SOCKET))
		fprintf(out, "  chardev-socket     --serial socket=PATH\n");
	if (IS_ENABLED(CONFIG_EVENT_MONITOR))
		fprintf(out, "  event-monitor      --event-monitor\n");
	if (IS_ENABLED(CONFIG_CPU_HYPERV))
		fprintf(out, "  cpu-hyperv         --cpus kvm_hyperv=on\n");
}
