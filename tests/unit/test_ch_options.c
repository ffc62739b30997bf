// SPDX-License-Identifier: MIT
/*
 * cloud-hypervisor's own option values, run through wisp's command line.
 *
 * Every row is a value for an option wisp has, taken as cloud-hypervisor
 * writes it in its repository (the unit tests of each option's parser in
 * api-types/src/vm_config/, its README and its docs), with the file and
 * line it comes from, and what wisp must do with it:
 *
 *   ACCEPT      taken, and the field it sets is checked (struct vm_config
 *               for core options; for a device, whose parsed config is
 *               private to its file, the instance, its id= and its part
 *               of vm.info where the API is built);
 *   CH_REFUSES  cloud-hypervisor refuses it, so wisp must too;
 *   STRICTER    cloud-hypervisor's parser takes it, but it names what
 *               does not exist (a queue past num_queues, a seventh BAR):
 *               wisp refuses it with one line, as it refuses --cpus
 *               affinity= for a vCPU past boot=;
 *   NOT_BUILT   a feature wisp does not build: one line naming it;
 *   GAP         cloud-hypervisor takes it and wisp does not yet: the line
 *               wisp prints today is checked, so closing the gap fails
 *               the row until it becomes an ACCEPT row (docs/cli.md
 *               lists them and where each is to be closed);
 *   HOST        the value names a host resource this test cannot make
 *               (a VFIO device, inherited TAP descriptors, a snapshot):
 *               wisp's line must name that resource, not the key.
 *
 * Paths in cloud-hypervisor's strings that wisp checks as the command
 * line is parsed are replaced by temporary files (the row's `tmp` says
 * which); the text of each value is otherwise cloud-hypervisor's.  Rows
 * whose device or option is not built are skipped, so the tiny
 * configurations run the table too.
 *
 * Sources, at the commits read (cloud-hypervisor/cloud-hypervisor):
 *   api-types/src/vm_config/cpus_config.rs             0343ad8ef6f8
 *   api-types/src/vm_config/memory_config.rs           0ffa902675e9
 *   api-types/src/vm_config/disk_config.rs             56737971ca9e
 *   api-types/src/vm_config/net_config.rs              732b511b3837
 *   api-types/src/vm_config/rng_config.rs              b05049ac905b
 *   api-types/src/vm_config/pmem_config.rs             f91f38f9f55b
 *   api-types/src/vm_config/vsock_config.rs            b05049ac905b
 *   api-types/src/vm_config/fs_config.rs               e85137bd96d2
 *   api-types/src/vm_config/device_config.rs           cd7952096cb6
 *   api-types/src/vm_config/balloon_config.rs          b05049ac905b
 *   api-types/src/vm_config/rate_limiter_group_config.rs 2d5abaebaa89
 *   cloud-hypervisor/tests/common/tests_wrappers.rs    8f40aed0ca1e
 *   README.md                                          00becda89968
 *   docs/snapshot_restore.md                           02a28755aeb9
 *   docs/seccomp.md                                    2c94773bdc4d
 *   docs/logging.md                                    17e048f236a5
 */
#include "unit.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cli.h"
#include "core/device.h"
#include "core/pci.h"
#include "core/vm.h"

#if IS_ENABLED(CONFIG_API)
#include "core/api.h"
#endif

enum outcome { ACCEPT, CH_REFUSES, STRICTER, NOT_BUILT, GAP, HOST, NOUTCOMES };

static const char *const outcome_names[] = {
	[ACCEPT] = "accepted and applied", [CH_REFUSES] = "refused as cloud-hypervisor refuses",
	[STRICTER] = "refused by wisp's own checks",
	[NOT_BUILT] = "refused as not built", [GAP] = "gaps (accepted by cloud-hypervisor only)",
	[HOST] = "need a host resource",
};

/* The temporary stand-ins for cloud-hypervisor's paths. */
enum tmp { T_NONE, T_DISK, T_DISK2, T_PMEM, T_SOCK, T_API, T_LOG, T_DIRECT_DISK, NTMP };

static char tmp_path[NTMP][96];
static char tmp_dir[] = "/tmp/wisp-unit-ch-XXXXXX";
/* an image for direct=on, on a file system that takes O_DIRECT (not
 * tmpfs): where /var/tmp takes none, the row is skipped */
static char direct_dir[] = "/var/tmp/wisp-unit-ch-XXXXXX";
static bool direct_ok;
static char kernel_path[96];

struct row;
typedef void check_fn(const struct row *r);

struct row {
	const char *src;	/* file:line in cloud-hypervisor's repository */
	const char *option;	/* "--disk", or "-v" */
	const char *value;	/* as cloud-hypervisor writes it (NULL: none) */
	const char *value2;	/* a second value given to the same option */
	/* the path in value (and value2) replaced, and by what */
	const char *ch_path, *ch_path2;
	enum tmp tmp, tmp2;
	/* further options cloud-hypervisor's command line needs as well */
	const char *extra[4];
	enum outcome expect;
	/* refused: a piece of wisp's one line; accepted: of vm.info */
	const char *text;
	const char *text2;	/* accepted: another piece of vm.info */
	const char *id;		/* accepted device: the id= it must carry */
	check_fn *check;	/* accepted: the field it must set */
	const char *needs;	/* the option of a device that must be built */
	bool iommu;		/* iommu=on: refused where virtio-iommu is not built */
	/* not built, named only with CONFIG_CLI_UNBUILT_KEYS: the key that
	 * is refused as unknown without it */
	const char *named;
	bool off;		/* not in this build (a Kconfig symbol), skipped */
	bool o_direct;		/* needs a file system that takes O_DIRECT */
};

static struct vm_config cfg;
/* a row's value for messages */
#define V(r) ((r)->value ? (r)->value : "")
static struct cli_error err;
static unsigned counts[NOUTCOMES];

/* ------------------------------------------------------------ checks */

static void check_cpus(const struct row *r, unsigned n)
{
	(void)r;
	assert_int_equal(cfg.cpus, n);
}

static void cpus_1(const struct row *r) { check_cpus(r, 1); }
static void cpus_4(const struct row *r) { check_cpus(r, 4); }

/* kvm_hyperv=on: the Hyper-V enlightenments, in vm.info's cpus too */
static void cpus_1_hyperv(const struct row *r)
{
	check_cpus(r, 1);
	assert_true(cfg.cpu_hyperv);
}

/* threads per core, cores per die, dies per package, packages */
static void topology_2_2_1_2(const struct row *r)
{
	check_cpus(r, 8);
	assert_int_equal(cfg.cpu_topology.threads, 2);
	assert_int_equal(cfg.cpu_topology.cores, 2);
	assert_int_equal(cfg.cpu_topology.dies, 1);
	assert_int_equal(cfg.cpu_topology.packages, 2);
}

/* vCPU 0 on host CPUs 0 and 2, vCPU 1 on 1 and 3 */
static void affinity_02_13(const struct row *r)
{
	check_cpus(r, 2);
	assert_int_equal(cfg.cpu_naffinity, 2);
	for (unsigned v = 0; v < 2; v++) {
		assert_int_equal(cfg.cpu_affinity[v].index, v);
		assert_int_equal(CPU_COUNT(&cfg.cpu_affinity[v].host_cpus), 2);
		assert_true(CPU_ISSET(v, &cfg.cpu_affinity[v].host_cpus));
		assert_true(CPU_ISSET(v + 2, &cfg.cpu_affinity[v].host_cpus));
	}
}

static void sched(enum core_scheduling want)
{
	assert_int_equal(cfg.cpus, 1);
	assert_int_equal(cfg.core_scheduling, want);
}

static void sched_vm(const struct row *r) { (void)r; sched(CORE_SCHED_VM); }
static void sched_vcpu(const struct row *r) { (void)r; sched(CORE_SCHED_VCPU); }
static void sched_off(const struct row *r) { (void)r; sched(CORE_SCHED_OFF); }

static void mem(uint64_t size, bool mergeable)
{
	assert_int_equal(cfg.memory.size, size);
	assert_int_equal(cfg.memory.mergeable, mergeable);
	assert_false(cfg.memory.hugepages);
}

static void mem_512m(const struct row *r) { (void)r; mem(512ull << 20, false); }
static void mem_512m_ksm(const struct row *r) { (void)r; mem(512ull << 20, true); }
static void mem_1g(const struct row *r) { (void)r; mem(1ull << 30, false); }

static void mem_huge_reserved(const struct row *r)
{
	(void)r;
	assert_int_equal(cfg.memory.size, 1ull << 30);
	assert_true(cfg.memory.hugepages);
	assert_true(cfg.memory.reserve);
}

static void mem_huge_2m(const struct row *r)
{
	(void)r;
	assert_int_equal(cfg.memory.size, 1ull << 30);
	assert_true(cfg.memory.hugepages);
	assert_int_equal(cfg.memory.hugepage_size, 2ull << 20);
}

/* the value is the kernel command line itself */
static void cmdline_is(const struct row *r)
{
	assert_non_null(cfg.cmdline);
	assert_string_equal(cfg.cmdline, r->value);
}

static void seccomp_off(const struct row *r) { (void)r; assert_int_equal(cfg.seccomp, SECCOMP_OFF); }
static void seccomp_log(const struct row *r) { (void)r; assert_int_equal(cfg.seccomp, SECCOMP_LOG); }

static void log_file_is(const struct row *r)
{
	assert_non_null(cfg.log_file);
	assert_string_equal(cfg.log_file, tmp_path[r->tmp]);
}

/* -v, -vv, -vvv: one level per v */
static void verbosity_is_vs(const struct row *r)
{
	assert_int_equal(cfg.verbosity, strlen(r->option) - 1);
}

/* the two disks of one --disk, in the order given */
static void two_disks(const struct row *r)
{
	const struct device_desc *d = device_lookup("disk", NULL);
	unsigned n = 0;

	(void)r;
	for (size_t i = 0; i < cfg.ndevices; i++)
		n += cfg.devices[i].desc == d;
	assert_int_equal(n, 2);
}

#if IS_ENABLED(CONFIG_PCI_SEGMENTS)
/* --platform num_pci_segments=2, and slot 7 of segment 1 asked for:
 * another device asking for it is refused */
static void balloon_segment_1_slot_7(const struct row *r)
{
	(void)r;
	assert_int_equal(cfg.pci_segments, 2);
	assert_int_equal(pci_plan_reserve(1, 7), -1);
	assert_int_equal(pci_plan_reserve(0, 7), 0);
}
#else
#define balloon_segment_1_slot_7 NULL
#endif

/* -------------------------------------------------------------- rows */

#define CPUS "api-types/src/vm_config/cpus_config.rs:"
#define MEM "api-types/src/vm_config/memory_config.rs:"
#define DISK "api-types/src/vm_config/disk_config.rs:"
#define NET "api-types/src/vm_config/net_config.rs:"
#define RNG "api-types/src/vm_config/rng_config.rs:"
/* its tests are one function: the rows name it */
#define CONSOLE "api-types/src/vm_config/console_config.rs:"
#define PMEM "api-types/src/vm_config/pmem_config.rs:"
#define VSOCK "api-types/src/vm_config/vsock_config.rs:"
#define FS "api-types/src/vm_config/fs_config.rs:"
#define DEVICE "api-types/src/vm_config/device_config.rs:"
#define BALLOON "api-types/src/vm_config/balloon_config.rs:"
#define RLG "api-types/src/vm_config/rate_limiter_group_config.rs:"
#define IT_WRAP "cloud-hypervisor/tests/common/tests_wrappers.rs:"

/* /path/to_file, CH's disk image, is a file wisp opens and checks */
#define TO_FILE .ch_path = "/path/to_file", .tmp = T_DISK
/* /tmp/sock, a socket wisp would create or connect to at start-up: a
 * path in a fresh directory, so nothing on the host is in the way */
#define TMP_SOCK .ch_path = "/tmp/sock", .tmp = T_SOCK
/* /tmp/pmem: a pmem file is checked (its size, a multiple of 2 MiB) */
#define TMP_PMEM .ch_path = "/tmp/pmem", .tmp = T_PMEM
/* vhost-user needs guest RAM the back-end can map, in both VMMs */
#define SHARED_RAM .extra = { "--memory", "shared=on" }

static const struct row rows[] = {
	/* --cpus */
	{ CPUS "263", "--cpus", "", .expect = ACCEPT, .check = cpus_1 },
	{ CPUS "266", "--cpus", "boot=1", .expect = ACCEPT, .check = cpus_1 },
	{ CPUS "274", "--cpus", "boot=1,max=2", .expect = NOT_BUILT,
	  .text = "vCPU hotplug is not supported" },
	{ CPUS "282", "--cpus", "boot=8,topology=2:2:1:2", .expect = ACCEPT,
	  .check = topology_2_2_1_2, .off = !IS_ENABLED(CONFIG_CPU_TOPOLOGY) },
	{ CPUS "296", "--cpus", "boot=8,topology=2:2:1", .expect = CH_REFUSES, .text = "topology" },
	{ CPUS "297", "--cpus", "boot=8,topology=2:2:1:x", .expect = CH_REFUSES, .text = "topology" },
	{ CPUS "299", "--cpus", "boot=1,kvm_hyperv=on",
	  .expect = IS_ENABLED(CONFIG_CPU_HYPERV) ? ACCEPT : NOT_BUILT, .check = cpus_1_hyperv,
	  .text = IS_ENABLED(CONFIG_CPU_HYPERV) ? "\"kvm_hyperv\":true" : "CONFIG_CPU_HYPERV is off" },
	{ CPUS "308", "--cpus", "boot=2,affinity=[0@[0,2],1@[1,3]]", .expect = ACCEPT,
	  .check = affinity_02_13, .off = !IS_ENABLED(CONFIG_VCPU_PLACEMENT) },
	{ CPUS "328", "--cpus", "boot=1,core_scheduling=vm", .expect = ACCEPT, .check = sched_vm,
	  .off = !IS_ENABLED(CONFIG_VCPU_PLACEMENT) },
	{ CPUS "337", "--cpus", "boot=1,core_scheduling=vcpu", .expect = ACCEPT, .check = sched_vcpu,
	  .off = !IS_ENABLED(CONFIG_VCPU_PLACEMENT) },
	{ CPUS "346", "--cpus", "boot=1,core_scheduling=off", .expect = ACCEPT, .check = sched_off,
	  .off = !IS_ENABLED(CONFIG_VCPU_PLACEMENT) },
	{ CPUS "360", "--cpus", "boot=1,core_scheduling=invalid", .expect = CH_REFUSES,
	  .text = "core_scheduling" },

	/* --memory */
	{ MEM "413", "--memory", "", .expect = ACCEPT, .check = mem_512m },
	{ MEM "416", "--memory", "size=512M", .expect = ACCEPT, .check = mem_512m },
	{ MEM "420", "--memory", "size=512M,mergeable=on", .expect = ACCEPT, .check = mem_512m_ksm },
	{ MEM "428", "--memory", "mergeable=on", .expect = ACCEPT, .check = mem_512m_ksm },
	{ MEM "435", "--memory", "size=1G,mergeable=off", .expect = ACCEPT, .check = mem_1g },
	/* the default method and no hotplug size: nothing to hotplug */
	{ MEM "443", "--memory", "hotplug_method=acpi", .expect = ACCEPT, .check = mem_512m },
	{ MEM "449", "--memory", "hotplug_method=acpi,hotplug_size=512M", .expect = NOT_BUILT,
	  .text = "memory hotplug is not built into wisp" },
	{ MEM "456", "--memory", "hotplug_method=virtio-mem,hotplug_size=512M", .expect = NOT_BUILT,
	  .text = "memory hotplug is not built into wisp" },
	{ MEM "464", "--memory", "hugepages=on,size=1G,hugepage_size=2M", .expect = ACCEPT,
	  .check = mem_huge_2m, .off = !IS_ENABLED(CONFIG_MEMORY_HUGEPAGES) },
	/* without MAP_NORESERVE (tests/unit/test_memory.c) */
	{ MEM "474", "--memory", "size=1G,hugepages=on,reserve=on", .expect = ACCEPT,
	  .check = mem_huge_reserved, .off = !IS_ENABLED(CONFIG_MEMORY_HUGEPAGES) },

	/* --disk */
	{ DISK "315", "--disk", "path=/path/to_file", TO_FILE, .expect = ACCEPT,
	  .text = "\"num_queues\":1,\"queue_size\":128,\"vhost_user\":false,\"sparse\":true" },
	{ DISK "319", "--disk", "path=/path/to_file,id=mydisk0", TO_FILE, .expect = ACCEPT,
	  .id = "mydisk0", .text = "\"id\":\"mydisk0\"" },
	{ DISK "329", "--disk", "vhost_user=true,socket=/tmp/sock", TMP_SOCK, SHARED_RAM,
	  .expect = ACCEPT, .text = "\"vhost_user\":true,\"vhost_socket\":\"", .needs = "disk" },
	{ DISK "339", "--disk", "path=/path/to_file,iommu=on", TO_FILE, .expect = ACCEPT,
	  .iommu = true, .text = "\"iommu\":true,\"num_queues\":1" },
	{ DISK "349", "--disk", "path=/path/to_file,iommu=on,queue_size=256", TO_FILE,
	  .expect = ACCEPT, .iommu = true, .text = "\"iommu\":true,\"num_queues\":1,\"queue_size\":256" },
	/* as cloud-hypervisor validates it: a queue per vCPU at most */
	{ DISK "360", "--disk", "path=/path/to_file,iommu=on,queue_size=256,num_queues=4", TO_FILE,
	  .extra = { "--cpus", "boot=4" }, .expect = ACCEPT, .iommu = true,
	  .text = "\"iommu\":true,\"num_queues\":4,\"queue_size\":256" },
	/* the image opened with O_DIRECT: it lies in /var/tmp */
	{ DISK "372", "--disk", "path=/path/to_file,direct=on", .ch_path = "/path/to_file",
	  .tmp = T_DIRECT_DISK, .expect = ACCEPT, .text = "\"sparse\":true,\"direct\":true",
	  .o_direct = true, .off = !IS_ENABLED(CONFIG_VIRTIO_BLK_DIRECT) },
	{ DISK "379", "--disk", "path=/path/to_file,serial=test", TO_FILE, .expect = ACCEPT,
	  .text = "\"serial\":\"test\"" },
	/* the group it names, as cloud-hypervisor's rate_limiter_group_config.rs:109 writes it */
	{ DISK "386", "--disk", "path=/path/to_file,rate_limit_group=group0", TO_FILE,
	  .extra = { "--rate-limit-group", "id=group0,bw_size=1000,bw_refill_time=100" },
	  .expect = ACCEPT, .text = "\"rate_limit_group\":\"group0\"", .needs = "rate-limit-group" },
	{ DISK "393", "--disk", "path=/path/to_file,lock_granularity=full", TO_FILE, .expect = ACCEPT },
	{ DISK "400", "--disk", "path=/path/to_file,lock_granularity=byte-range", TO_FILE,
	  .expect = ACCEPT },
	/* cloud-hypervisor's parser test gives four queues' affinity to a
	 * disk of one queue (num_queues left at 1): wisp checks each index
	 * against num_queues, as --cpus affinity= checks vCPUs against boot */
	{ DISK "407", "--disk", "path=/path/to_file,queue_affinity=[0@[1],1@[2],2@[3,4],3@[5-8]]",
	  TO_FILE, .expect = STRICTER, .text = "queue 1 does not exist (num_queues=1)",
	  .off = !IS_ENABLED(CONFIG_VIRTIO_BLK_QUEUE_AFFINITY) },
	/* its integration test's disk (four vCPUs there, as a queue per vCPU
	 * wants); the host CPUs are checked when the disk is created */
	{ IT_WRAP "_test_virtio_queue_affinity", "--disk",
	  "path=/path/to_file,num_queues=4,queue_affinity=[0@[0,2],1@[1,3],2@[1],3@[3]]", TO_FILE,
	  .extra = { "--cpus", "boot=4" }, .expect = ACCEPT,
	  .text = "\"queue_affinity\":[{\"queue_index\":0,\"host_cpus\":[0,2]},"
		  "{\"queue_index\":1,\"host_cpus\":[1,3]},{\"queue_index\":2,\"host_cpus\":[1]},"
		  "{\"queue_index\":3,\"host_cpus\":[3]}]",
	  .off = !IS_ENABLED(CONFIG_VIRTIO_BLK_QUEUE_AFFINITY) },

	/* --net: host_mac and the address go to the TAP when it is opened */
	{ NET "326", "--net", "mac=de:ad:be:ef:12:34,host_mac=12:34:de:ad:be:ef", .expect = ACCEPT,
	  .text = "\"mac\":\"de:ad:be:ef:12:34\"" },
	{ NET "331", "--net", "mac=de:ad:be:ef:12:34,host_mac=12:34:de:ad:be:ef,id=mynet0",
	  .expect = ACCEPT, .id = "mynet0", .text = "\"mac\":\"de:ad:be:ef:12:34\"" },
	{ NET "343", "--net",
	  "mac=de:ad:be:ef:12:34,host_mac=12:34:de:ad:be:ef,tap=tap0,ip=192.168.100.1,mask=255.255.255.128",
	  .expect = ACCEPT,
	  .text = "\"tap\":\"tap0\",\"ip\":\"192.168.100.1\",\"mask\":\"255.255.255.128\"" },
	/* host_mac names the TAP's own address; a vhost-user back-end has none */
	{ NET "355", "--net", "mac=de:ad:be:ef:12:34,host_mac=12:34:de:ad:be:ef,vhost_user=true,socket=/tmp/sock",
	  TMP_SOCK, SHARED_RAM, .expect = ACCEPT, .needs = "net",
	  .text = "\"mac\":\"de:ad:be:ef:12:34\"",
	  .text2 = "\"vhost_user\":true" },
	{ NET "366", "--net",
	  "mac=de:ad:be:ef:12:34,host_mac=12:34:de:ad:be:ef,num_queues=4,queue_size=1024,iommu=on",
	  .extra = { "--cpus", "boot=2" }, .expect = ACCEPT, .iommu = true,
	  .text = "\"mac\":\"de:ad:be:ef:12:34\",\"iommu\":true,",
	  .text2 = "\"num_queues\":4,\"queue_size\":1024" },
	/* descriptors 3 and 7 would be TAP queues the caller left open */
	{ NET "380", "--net", "mac=de:ad:be:ef:12:34,fd=[3,7],num_queues=4", .expect = HOST,
	  .text = "'fd=3': not a TAP file descriptor" },
	/* a mask with no address to go with it: cloud-hypervisor drops it */
	{ NET "390", "--net", "mac=de:ad:be:ef:12:34,mask=255.255.255.0", .expect = ACCEPT,
	  .text = "\"mask\":\"255.255.255.0\"" },

	/* --rng */
	{ RNG "72", "--rng", "", .expect = ACCEPT,
	  .text = "\"rng\":{\"src\":\"/dev/urandom\"" },
	{ RNG "74", "--rng", "src=/dev/random", .expect = ACCEPT,
	  .text = "\"rng\":{\"src\":\"/dev/random\",\"iommu\":false,\"pci_segment\":0}" },
	/* a second segment exists with --platform num_pci_segments=2, which
	 * cloud-hypervisor's validation asks for too */
	{ RNG "81", "--rng", "src=/dev/random,iommu=on,pci_segment=1,pci_device_id=7",
	  .extra = { "--platform", "num_pci_segments=2" }, .expect = ACCEPT, .iommu = true,
	  .text = "\"rng\":{\"src\":\"/dev/random\",\"iommu\":true,\"pci_segment\":1}",
	  .text2 = "\"platform\":{\"num_pci_segments\":2}", .off = !IS_ENABLED(CONFIG_PCI_SEGMENTS) },
	{ RNG "81", "--rng", "src=/dev/random,iommu=on,pci_segment=1,pci_device_id=7",
	  .expect = NOT_BUILT, .iommu = true,
	  .text = "'pci_segment=1': wisp has one PCI segment (--platform num_pci_segments is not built)",
	  .named = "'pci_segment=1'", .off = IS_ENABLED(CONFIG_PCI_SEGMENTS) },
	{ RNG "93", "--rng", "iommu=on", .expect = ACCEPT, .iommu = true,
	  .text = "\"rng\":{\"src\":\"/dev/urandom\",\"iommu\":true,\"pci_segment\":0}" },

	/* --pmem */
	{ PMEM "96", "--pmem", "size=128M", .expect = CH_REFUSES, .text = "file=PATH is required" },
	{ PMEM "98", "--pmem", "file=/tmp/pmem,size=128M", TMP_PMEM, .expect = ACCEPT,
	  .text = "\"size\":134217728,\"iommu\":false,\"discard_writes\":false" },
	{ PMEM "102", "--pmem", "file=/tmp/pmem,size=128M,id=mypmem0", TMP_PMEM, .expect = ACCEPT,
	  .id = "mypmem0", .text = "\"id\":\"mypmem0\"" },
	{ PMEM "112", "--pmem", "file=/tmp/pmem,size=128M,iommu=on,discard_writes=on", TMP_PMEM,
	  .expect = ACCEPT, .iommu = true,
	  .text = "\"size\":134217728,\"iommu\":true,\"discard_writes\":true" },

	/* --vsock */
	{ VSOCK "75", "--vsock", "", .expect = CH_REFUSES, .text = "--vsock: cid=N is required" },
	{ VSOCK "77", "--vsock", "socket=/tmp/sock,cid=3", TMP_SOCK, .expect = ACCEPT,
	  .text = "\"vsock\":{\"cid\":3," },
	{ VSOCK "85", "--vsock", "socket=/tmp/sock,cid=3,iommu=on", TMP_SOCK, .expect = ACCEPT,
	  .iommu = true, .text = "\"iommu\":true,\"pci_segment\":0" },

	/* --fs */
	{ FS "115", "--fs", "tag=mytag", SHARED_RAM, .expect = CH_REFUSES,
	  .text = "tag=TAG and socket=PATH are required" },
	{ FS "116", "--fs", "socket=/tmp/sock", TMP_SOCK, SHARED_RAM, .expect = CH_REFUSES,
	  .text = "tag=TAG and socket=PATH are required" },
	{ FS "117", "--fs", "tag=mytag,socket=/tmp/sock", TMP_SOCK, SHARED_RAM, .expect = ACCEPT,
	  .text = "\"tag\":\"mytag\"" },
	/* four request queues need four vCPUs in cloud-hypervisor too */
	{ FS "119", "--fs", "tag=mytag,socket=/tmp/sock,num_queues=4,queue_size=1024", TMP_SOCK,
	  .extra = { "--memory", "shared=on", "--cpus", "boot=4" }, .expect = ACCEPT,
	  .text = "\"num_queues\":4,\"queue_size\":1024" },

	/* --device: /path/to/device would be a host PCI device bound to vfio-pci */
	{ DEVICE "126", "--device", "path=/path/to/device", .expect = HOST, .text = "/path/to/device" },
	{ DEVICE "131", "--device", "path=/path/to/device,iommu=on", .expect = HOST,
	  .text = "/path/to/device" },
	{ DEVICE "142", "--device", "path=/path/to/device,iommu=on,id=mydevice0", .expect = HOST,
	  .text = "/path/to/device" },
	/* the BAR list is read before the path (the device is the host's) */
	{ DEVICE "154", "--device", "path=/path/to/device,x_exclude_mmap_bars=[2]", .expect = HOST,
	  .text = "/path/to/device" },
	{ DEVICE "162", "--device", "path=/path/to/device,x_exclude_mmap_bars=[0,2,5]",
	  .expect = HOST, .text = "/path/to/device" },
	/* a PCI function has BARs 0..5 */
	{ DEVICE "170", "--device", "path=/path/to/device,x_exclude_mmap_bars=[6]", .expect = STRICTER,
	  .text = "'x_exclude_mmap_bars=[6]': '6' is not a number in 0..5" },
	{ DEVICE "180", "--device", "fd=7", .expect = NOT_BUILT,
	  .text = "'fd=7': a VFIO device given as an open cdev descriptor is not built into wisp" },
	{ DEVICE "188", "--device", "path=/path/to/device,fd=7", .expect = NOT_BUILT,
	  .text = "a VFIO device given as an open cdev descriptor is not built into wisp" },
	{ DEVICE "195", "--device", "fd=notanint", .expect = CH_REFUSES, .text = "'fd=notanint'" },

	/* --balloon */
	{ BALLOON "82", "--balloon",
	  "size=128M,deflate_on_oom=on,free_page_reporting=on,pci_segment=1,pci_device_id=7",
	  .extra = { "--platform", "num_pci_segments=2" }, .expect = ACCEPT,
	  .check = balloon_segment_1_slot_7, .off = !IS_ENABLED(CONFIG_PCI_SEGMENTS) },
	{ BALLOON "82", "--balloon",
	  "size=128M,deflate_on_oom=on,free_page_reporting=on,pci_segment=1,pci_device_id=7",
	  .expect = NOT_BUILT, .text = "'pci_segment=1': wisp has one PCI segment",
	  .named = "'pci_segment=1'", .off = IS_ENABLED(CONFIG_PCI_SEGMENTS) },
	{ BALLOON "97", "--balloon", "size=0,iommu=on", .expect = ACCEPT, .iommu = true,
	  .text = "\"balloon\":{\"size\":0,\"deflate_on_oom\":false,"
		  "\"free_page_reporting\":false,\"iommu\":true}" },

	/* --rate-limit-group */
	{ RLG "109", "--rate-limit-group", "id=group0,bw_size=1000,bw_refill_time=100",
	  .expect = ACCEPT, .id = "group0" },
	{ RLG "123", "--rate-limit-group", "id=group0,ops_size=1000,ops_refill_time=100",
	  .expect = ACCEPT, .id = "group0" },

	/* README.md: the firmware and custom kernel examples */
	{ "README.md:151", "--disk", "path=focal-server-cloudimg-amd64.raw",
	  "path=/tmp/ubuntu-cloudinit.img", .ch_path = "focal-server-cloudimg-amd64.raw",
	  .tmp = T_DISK, .ch_path2 = "/tmp/ubuntu-cloudinit.img", .tmp2 = T_DISK2, .expect = ACCEPT,
	  .check = two_disks },
	{ "README.md:152", "--cpus", "boot=4", .expect = ACCEPT, .check = cpus_4 },
	{ "README.md:153", "--memory", "size=1024M", .expect = ACCEPT, .check = mem_1g },
	/* a new TAP, a random MAC, no address: every empty key as not given */
	{ "README.md:154", "--net", "tap=,mac=,ip=,mask=", .expect = ACCEPT,
	  .text = "\"net\":[{\"tap\":null,\"ip\":null,\"mask\":null,\"iommu\":false" },
	{ "README.md:168", "--serial", "tty", .expect = ACCEPT,
	  .text = "\"serial\":{\"file\":null,\"mode\":\"Tty\"" },
	{ "README.md:169", "--console", "off", .expect = ACCEPT,
	  .text = "\"console\":{\"file\":null,\"mode\":\"Off\"" },

	/* --console: cloud-hypervisor's virtio-console takes the PCI keys */
	{ CONSOLE "test_console_parsing", "--console", "null,iommu=on", .expect = ACCEPT,
	  .iommu = true, .text = "\"console\":{\"file\":null,\"mode\":\"Null\",\"iommu\":true" },
	{ CONSOLE "test_console_parsing", "--console", "file=/tmp/console,iommu=on",
	  .ch_path = "/tmp/console", .tmp = T_LOG, .expect = ACCEPT, .iommu = true,
	  .text = "\"mode\":\"File\",\"iommu\":true" },
	{ CONSOLE "test_console_parsing", "--console", "tty,id=con0", .expect = ACCEPT,
	  .id = "con0", .text = "\"mode\":\"Tty\",\"iommu\":false,\"pci_segment\":0,\"id\":\"con0\"" },
	/* cloud-hypervisor's parser takes it, creating the VM then fails
	 * ("No socket option support for console device") */
	{ CONSOLE "test_console_parsing", "--console", "socket=/tmp/serial.sock,iommu=on",
	  .expect = CH_REFUSES, .text = "only --serial has a socket mode",
	  .off = !IS_ENABLED(CONFIG_CHARDEV_SOCKET) },
	{ CONSOLE "test_console_parsing", "--console", "", .expect = CH_REFUSES, .text = "--console: " },
	{ CONSOLE "test_console_parsing", "--console", "badmode", .expect = CH_REFUSES,
	  .text = "--console: " },

	/* the shell's quotes removed */
	{ "README.md:215", "--cmdline", "console=hvc0 root=/dev/vda1 rw", .expect = ACCEPT,
	  .check = cmdline_is },

	/* docs/snapshot_restore.md */
	{ "docs/snapshot_restore.md:17", "--api-socket", "/tmp/cloud-hypervisor.sock",
	  .ch_path = "/tmp/cloud-hypervisor.sock", .tmp = T_API, .expect = ACCEPT,
	  .needs = "api-socket" },
	{ "docs/snapshot_restore.md:21", "--cmdline", "root=/dev/vda1 console=hvc0 rw", .expect = ACCEPT,
	  .check = cmdline_is },
	{ "docs/snapshot_restore.md:22", "--disk", "path=focal-server-cloudimg-amd64.raw",
	  .ch_path = "focal-server-cloudimg-amd64.raw", .tmp = T_DISK, .expect = ACCEPT },
	/* a snapshot taken before: the directory is read before the keys */
	{ "docs/snapshot_restore.md:72", "--restore", "source_url=file:///home/foo/snapshot",
	  .expect = HOST, .text = "/home/foo/snapshot", .off = !IS_ENABLED(CONFIG_SNAPSHOT) },
	{ "docs/snapshot_restore.md:99", "--restore", "source_url=file:///home/foo/snapshot,resume=true",
	  .expect = HOST, .text = "/home/foo/snapshot", .off = !IS_ENABLED(CONFIG_SNAPSHOT) },
	{ "docs/snapshot_restore.md:110", "--restore",
	  "source_url=file:///home/foo/snapshot,memory_restore_mode=ondemand", .expect = HOST,
	  .text = "/home/foo/snapshot", .off = !IS_ENABLED(CONFIG_SNAPSHOT) },

	/* docs/seccomp.md */
	{ "docs/seccomp.md:30", "--seccomp", "false", .expect = ACCEPT, .check = seccomp_off },
	{ "docs/seccomp.md:39", "--seccomp", "log", .expect = ACCEPT, .check = seccomp_log },

	/* docs/logging.md (the file is this test's) */
	{ "docs/logging.md:10", "--log-file", "log", .ch_path = "log", .tmp = T_LOG,
	  .expect = ACCEPT, .check = log_file_is, .off = !IS_ENABLED(CONFIG_LOG_FILE) },
	{ "docs/logging.md:40", "-v", .expect = ACCEPT, .check = verbosity_is_vs,
	  .off = !IS_ENABLED(CONFIG_LOG_FILE) },
	{ "docs/logging.md:49", "-vv", .expect = ACCEPT, .check = verbosity_is_vs,
	  .off = !IS_ENABLED(CONFIG_LOG_FILE) },
	{ "docs/logging.md:56", "-vvv", .expect = ACCEPT, .check = verbosity_is_vs,
	  .off = !IS_ENABLED(CONFIG_LOG_FILE) },
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

/* ------------------------------------------------------------ running */

/* The options handled by a device: its descriptor, for the rows' skips
 * and id checks (NULL for core options). */
static const struct device_desc *device_of(const char *option, const char *value)
{
	if (option[0] != '-' || option[1] != '-')
		return NULL;
	if (value && strstr(value, "vhost_user=true"))
		return device_lookup(option + 2, "vhost_user");
	return device_lookup(option + 2, NULL);
}

static bool is_device_option(const char *option)
{
	static const char *const core[] = { "--cpus", "--memory", "--cmdline", "--seccomp",
					    "--log-file", "--restore", "-v", "-vv", "-vvv" };

	for (size_t i = 0; i < sizeof(core) / sizeof(core[0]); i++)
		if (!strcmp(option, core[i]))
			return false;
	return true;
}

static bool row_built(const struct row *r)
{
	if (r->off || (r->needs && !device_lookup(r->needs, NULL)) || (r->o_direct && !direct_ok))
		return false;
	return !is_device_option(r->option) || device_of(r->option, r->value);
}

/* value with ch_path replaced by the temporary path, into buf */
static const char *substitute(const char *value, const char *ch_path, enum tmp t, char *buf,
			      size_t size)
{
	const char *at = ch_path ? strstr(value, ch_path) : NULL;

	if (!at)
		return value;
	snprintf(buf, size, "%.*s%s%s", (int)(at - value), value, tmp_path[t], at + strlen(ch_path));
	return buf;
}

static enum cli_action run_row(const struct row *r)
{
	char v1[256], v2[256];
	char *argv[16];
	int argc = 0;
	FILE *out = fopen("/dev/null", "w");
	enum cli_action a;

	assert_non_null(out);
	argv[argc++] = "wisp";
	argv[argc++] = "--kernel";
	argv[argc++] = kernel_path;
	for (size_t i = 0; i < 4 && r->extra[i]; i++)
		argv[argc++] = (char *)r->extra[i];
	argv[argc++] = (char *)r->option;
	if (r->value)
		argv[argc++] = (char *)substitute(r->value, r->ch_path, r->tmp, v1, sizeof(v1));
	if (r->value2)
		argv[argc++] = (char *)substitute(r->value2, r->ch_path2, r->tmp2, v2, sizeof(v2));
	argv[argc] = NULL;
	a = cli_parse(argc, argv, &cfg, out, &err);
	fclose(out);
	return a;
}

/* The instance the row's option made (the last one given). */
static const struct device_instance *instance_of(const struct row *r)
{
	const struct device_desc *d = device_of(r->option, r->value);

	for (size_t i = cfg.ndevices; i-- > 0;)
		if (cfg.devices[i].desc == d)
			return &cfg.devices[i];
	return NULL;
}

#if IS_ENABLED(CONFIG_API)
static void check_info(const struct row *r, const char *text)
{
	static char answer[16384];
	struct vm vm = { .cfg = &cfg };
	unsigned long n = api_test_answer(&vm, "GET /api/v1/vm.info HTTP/1.1\r\n\r\n", 33, answer,
					  sizeof(answer) - 1);

	answer[n] = '\0';
	if (!strstr(answer, text))
		fail_msg("%s %s %s: vm.info lacks %s:\n%s", r->src, r->option, V(r), text, answer);
}
#endif

static void check_accepted(const struct row *r)
{
	if (is_device_option(r->option)) {
		const struct device_instance *inst = instance_of(r);

		if (!inst)
			fail_msg("%s: no %s instance", r->src, r->option);
		if (r->id) {
			assert_non_null(inst->id);
			assert_string_equal(inst->id, r->id);
		}
	}
	if (r->check)
		r->check(r);
#if IS_ENABLED(CONFIG_API)
	if (r->text)
		check_info(r, r->text);
	if (r->text2)
		check_info(r, r->text2);
#endif
}

static void run_table(void **state)
{
	unsigned skipped = 0;

	(void)state;
	for (size_t i = 0; i < NROWS; i++) {
		const struct row *r = &rows[i];
		enum outcome expect = r->expect;
		const char *text = r->text;
		enum cli_action a;

		if (!row_built(r)) {
			skipped++;
			continue;
		}
		if (r->named && !IS_ENABLED(CONFIG_CLI_UNBUILT_KEYS))
			text = r->named;
		if (r->iommu && !IS_ENABLED(CONFIG_VIRTIO_IOMMU)) {
			/* "built without virtio-iommu", or an unknown key
			 * where the device leaves the key out */
			expect = NOT_BUILT;
			text = "iommu";
		}
		a = run_row(r);
		counts[expect]++;
		if (expect == ACCEPT) {
			if (a != CLI_RUN)
				fail_msg("%s: %s %s: refused: %s", r->src, r->option, V(r),
					 err.msg);
			check_accepted(r);
			cli_free(&cfg);
			continue;
		}
		if (a == CLI_RUN) {
			cli_free(&cfg);
			fail_msg("%s: %s %s: accepted, expected %s%s", r->src, r->option, V(r),
				 outcome_names[expect],
				 expect == GAP ? " (the gap is closed: make the row ACCEPT and check "
						 "the field it sets)" : "");
		}
		if (!strstr(err.msg, text))
			fail_msg("%s: %s %s: \"%s\" does not say \"%s\"", r->src, r->option, V(r),
				 err.msg, text);
		/* one line, naming the option */
		assert_null(strchr(err.msg, '\n'));
		if (expect == NOT_BUILT)
			printf("not built: %s %s (%s): %s\n", r->option, V(r), r->src, err.msg);
	}
	printf("%zu cloud-hypervisor values, %u skipped here:", NROWS, skipped);
	for (unsigned o = 0; o < NOUTCOMES; o++)
		printf("%s %u %s", o ? "," : "", counts[o], outcome_names[o]);
	printf("\n");
}

/* An empty value is not given, for every key of --net, as in
 * cloud-hypervisor's option parser: so the README's "tap=,mac=,ip=,mask="
 * is a new TAP with a random MAC, and an empty mac= is never read as a
 * MAC.  (The table's row checks vm.info; this checks the parse alone.) */
static void empty_net_keys(void **state)
{
	static const struct row r = { .src = "README.md:154", .option = "--net",
				      .value = "tap=,mac=,host_mac=,ip=,mask=" };

	(void)state;
	if (!device_lookup("net", NULL))
		skip();
	if (run_row(&r) != CLI_RUN)
		fail_msg("%s", err.msg);
	cli_free(&cfg);
	/* a value that is given is still checked */
	{
		static const struct row bad = { .src = "", .option = "--net",
						.value = "tap=,mac=de:ad,ip=,mask=" };

		assert_int_equal(run_row(&bad), CLI_ERROR);
		assert_contains(err.msg, "de:ad");
	}
}

/* cloud-hypervisor's validation of the whole command line: a disk has
 * a queue per vCPU at most, a NIC a queue pair, and vhost-user needs
 * shared RAM.  --cpus and --memory may come after the device's option,
 * so core checks what the device asked for once all of it is read,
 * before anything is opened. */
static void checked_after_parsing(void **state)
{
	static const struct row disk = { DISK "360", "--disk",
					  "path=/path/to_file,num_queues=4", TO_FILE };
	static const struct row net = { NET "366", "--net", "num_queues=4", .expect = ACCEPT };
	static const struct row vhost = { DISK "329", "--disk", "vhost_user=true,socket=/tmp/sock",
					  TMP_SOCK };

	(void)state;
	assert_int_equal(run_row(&disk), CLI_ERROR);
	assert_string_equal(err.msg, "--disk: 'num_queues=4': at most 1 per vCPU (1 vCPUs)");
	if (device_lookup("net", NULL)) {
		assert_int_equal(run_row(&net), CLI_ERROR);
		assert_string_equal(err.msg, "--net: 'num_queues=4': at most 2 per vCPU (1 vCPUs)");
	}
	/* --cpus after --disk counts */
	{
		char value[256];
		char *argv[] = { "wisp", "--kernel", kernel_path, "--disk", value,
				 "--cpus", "boot=4", NULL };
		FILE *out = fopen("/dev/null", "w");

		assert_non_null(out);
		snprintf(value, sizeof(value), "path=%s,num_queues=4", tmp_path[T_DISK]);
		if (cli_parse(7, argv, &cfg, out, &err) != CLI_RUN)
			fail_msg("%s", err.msg);
		fclose(out);
		cli_free(&cfg);
	}
	if (row_built(&vhost)) {
		assert_int_equal(run_row(&vhost), CLI_ERROR);
		assert_string_equal(err.msg, "--disk: vhost-user needs guest RAM the back-end can map: "
				    "add --memory shared=on");
	}
}

/* --platform num_pci_segments=N and the devices' pci_segment= and
 * pci_device_id=: what is refused, with one line each, in either order
 * of the options. */
static void pci_segments(void **state)
{
	static const struct {
		const char *argv[6];
		const char *text;	/* NULL: accepted */
	} cases[] = {
		{ { "--platform", "num_pci_segments=4", "--rng", "pci_segment=3" }, NULL },
		{ { "--rng", "pci_segment=3", "--platform", "num_pci_segments=4" }, NULL },
		{ { "--platform", "num_pci_segments=1" }, NULL },
		{ { "--rng", "pci_device_id=31" }, NULL },
		{ { "--platform", "num_pci_segments=0" }, "the number of PCI segments is 1 to 96" },
		{ { "--platform", "num_pci_segments=97" }, "the number of PCI segments is 1 to 96" },
		{ { "--platform", "num_pci_segments=5" }, "wisp builds at most 4 PCI segments" },
		{ { "--platform", "num_pci_segments=2,iommu_segments=[1]" },
		  "'iommu_segments=[1]': PCI segments behind the virtio-iommu are not built" },
		{ { "--platform", "num_pci_segments=2", "--platform", "num_pci_segments=2" },
		  "--platform: given more than once" },
		{ { "--platform", "serial_number=x" }, "serial_number" },
		{ { "--rng", "pci_segment=1" },
		  "--rng: 'pci_segment=1': invalid PCI segment id: --platform num_pci_segments is 1" },
		{ { "--platform", "num_pci_segments=2", "--rng", "src=/dev/urandom,pci_segment=2" },
		  "--rng: 'pci_segment=2': invalid PCI segment id: --platform num_pci_segments is 2" },
		{ { "--rng", "pci_segment=2", "--platform", "num_pci_segments=2" },
		  "--rng: 'pci_segment=2': invalid PCI segment id" },
		{ { "--rng", "pci_device_id=0" }, "'pci_device_id=0': slot 0 is the PCI host bridge's" },
		{ { "--rng", "pci_device_id=32" }, "pci_device_id" },
	};

	(void)state;
	if (!IS_ENABLED(CONFIG_PCI_SEGMENTS) || !device_lookup("rng", NULL))
		skip();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[10] = { "wisp", "--kernel", kernel_path };
		int argc = 3;
		FILE *out = fopen("/dev/null", "w");
		enum cli_action a;

		assert_non_null(out);
		for (size_t k = 0; k < 6 && cases[i].argv[k]; k++)
			argv[argc++] = (char *)cases[i].argv[k];
		a = cli_parse(argc, argv, &cfg, out, &err);
		fclose(out);
		if (!cases[i].text) {
			if (a != CLI_RUN)
				fail_msg("case %zu: refused: %s", i, err.msg);
			cli_free(&cfg);
			continue;
		}
		if (a == CLI_RUN)
			fail_msg("case %zu: accepted, expected \"%s\"", i, cases[i].text);
		assert_contains(err.msg, cases[i].text);
		assert_null(strchr(err.msg, '\n'));
	}
#if IS_ENABLED(CONFIG_SNAPSHOT)
	/* the count makes up the VM: a snapshot's configuration keeps it */
	{
		char *argv[] = { "wisp", "--kernel", kernel_path, "--platform", "num_pci_segments=3",
				 NULL };
		FILE *out = fopen("/dev/null", "w");
		bool kept = false;

		assert_non_null(out);
		assert_int_equal(cli_parse(5, argv, &cfg, out, &err), CLI_RUN);
		fclose(out);
		assert_int_equal(cfg.pci_segments, 3);
		for (size_t k = 0; k < cfg.nkept; k++)
			kept |= !strcmp(cfg.kept[k].name, "platform") &&
				!strcmp(cfg.kept[k].value, "num_pci_segments=3");
		assert_true(kept);
		cli_free(&cfg);
	}
#endif
}

/* Two devices asking for one slot: the second is refused, on its own
 * segment only. */
static void pci_device_id_taken(void **state)
{
	static const struct row same = { .src = "", .option = "--disk", TO_FILE,
					 .value = "path=/path/to_file,pci_device_id=5",
					 .value2 = "path=/path/to_file,pci_device_id=5",
					 .ch_path2 = "/path/to_file", .tmp2 = T_DISK2 };
	static const struct row other = { .src = "", .option = "--disk", TO_FILE,
					  .value = "path=/path/to_file,pci_device_id=5",
					  .value2 = "path=/path/to_file,pci_device_id=5,pci_segment=1",
					  .ch_path2 = "/path/to_file", .tmp2 = T_DISK2,
					  .extra = { "--platform", "num_pci_segments=2" } };

	(void)state;
	if (!IS_ENABLED(CONFIG_PCI_SEGMENTS))
		skip();
	assert_int_equal(run_row(&same), CLI_ERROR);
	assert_contains(err.msg, "'pci_device_id=5': slot 5 of PCI segment 0 is already another "
			"device's");
	if (run_row(&other) != CLI_RUN)
		fail_msg("%s", err.msg);
	cli_free(&cfg);
}

/* --------------------------------------------------------- fixtures */

static int make_file(enum tmp t, off_t size)
{
	int fd = open(tmp_path[t], O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);

	if (fd < 0 || ftruncate(fd, size) || close(fd))
		return -1;
	return 0;
}

static int setup(void **state)
{
	static const char *const names[NTMP] = {
		[T_DISK] = "disk.raw", [T_DISK2] = "cloudinit.img", [T_PMEM] = "pmem",
		[T_SOCK] = "sock", [T_API] = "api.sock", [T_LOG] = "log",
		[T_DIRECT_DISK] = "direct.raw",
	};
	int fd;

	(void)state;
	if (!mkdtemp(tmp_dir) || !mkdtemp(direct_dir))
		return -1;
	for (unsigned t = 1; t < NTMP; t++)
		snprintf(tmp_path[t], sizeof(tmp_path[t]), "%s/%s",
			 t == T_DIRECT_DISK ? direct_dir : tmp_dir, names[t]);
	if (make_file(T_DIRECT_DISK, 1 << 20))
		return -1;
	fd = open(tmp_path[T_DIRECT_DISK], O_RDWR | O_DIRECT | O_CLOEXEC);
	direct_ok = fd >= 0;
	if (fd >= 0)
		close(fd);
	snprintf(kernel_path, sizeof(kernel_path), "%s/vmlinux", tmp_dir);
	fd = open(kernel_path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, "kernel", 6) != 6 || close(fd))
		return -1;
	return make_file(T_DISK, 1 << 20) || make_file(T_DISK2, 1 << 20) ||
	       make_file(T_PMEM, 128 << 20);
}

static int teardown(void **state)
{
	(void)state;
	for (unsigned t = 1; t < NTMP; t++)
		unlink(tmp_path[t]);
	unlink(kernel_path);
	return rmdir(tmp_dir) | rmdir(direct_dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(run_table),
		cmocka_unit_test(empty_net_keys),
		cmocka_unit_test(checked_after_parsing),
		cmocka_unit_test(pci_segments),
		cmocka_unit_test(pci_device_id_taken),
	};

	return cmocka_run_group_tests_name("cloud-hypervisor's option values", tests, setup,
					   teardown);
}
