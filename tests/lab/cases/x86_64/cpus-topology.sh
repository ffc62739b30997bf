# cpus-topology: cloud-hypervisor's --cpus topology=THREADS:CORES:DIES:PACKAGES
# as Linux sees it (issue 18): 2:2:1:1 makes cpu0/cpu1 and cpu2/cpu3 the
# two threads of cores 0 and 1 of package 0; 1:2:1:2 makes four cores of
# one thread, two per package.  Facts from sysfs (physical_package_id,
# core_id, thread_siblings_list) and /proc/cpuinfo (siblings, cpu cores),
# which Linux derives from the CPUID leaves and APIC ids wisp sets (the
# lab host's CPU is AMD's: TOPOEXT and leaf 0x8000001E as well as 0xB).
# die_id is only noted: on AMD Linux takes it from the node id, which
# counts dies across packages (1 for package 1 here), on Intel it
# counts within the package.
# Four vCPUs on the lab host's two: slower, but they come up.
# lab-timeout: 240
# lab-boots: 2
boot_guest "$LAB_BOOT_TIMEOUT" guest1.log topology --memory size=256M \
	--cpus boot=4,topology=2:2:1:1
expect_guest_ok guest1.log
expect_exit 0
reject_line guest1.log 'arch topology borken' "the guest's scheduler found the topology broken"
want1="0:pkg=0,core=0,siblings=0-1 1:pkg=0,core=0,siblings=0-1 2:pkg=0,core=1,siblings=2-3 3:pkg=0,core=1,siblings=2-3"
for w in $want1; do
	got=$(guest_fact guest1.log "topo_${w%%:*}" | sed 's/die=[0-9]*,//')
	[ "$got" = "${w#*:}" ] || fail "2:2:1:1: cpu${w%%:*} is '$got', want '${w#*:}'"
done
[ "$(guest_fact guest1.log cpuinfo_siblings)/$(guest_fact guest1.log cpuinfo_cores)" = 4/2 ] ||
	fail "2:2:1:1: /proc/cpuinfo siblings/cpu cores $(guest_fact guest1.log cpuinfo_siblings)/$(guest_fact guest1.log cpuinfo_cores), want 4/2"

boot_guest "$LAB_BOOT_TIMEOUT" guest2.log topology --memory size=256M \
	--cpus boot=4,topology=1:2:1:2
expect_guest_ok guest2.log
expect_exit 0
want2="0:pkg=0,core=0,siblings=0 1:pkg=0,core=1,siblings=1 2:pkg=1,core=0,siblings=2 3:pkg=1,core=1,siblings=3"
for w in $want2; do
	got=$(guest_fact guest2.log "topo_${w%%:*}" | sed 's/die=[0-9]*,//')
	[ "$got" = "${w#*:}" ] || fail "1:2:1:2: cpu${w%%:*} is '$got', want '${w#*:}'"
done
[ "$(guest_fact guest2.log cpuinfo_siblings)/$(guest_fact guest2.log cpuinfo_cores)" = 2/2 ] ||
	fail "1:2:1:2: /proc/cpuinfo siblings/cpu cores $(guest_fact guest2.log cpuinfo_siblings)/$(guest_fact guest2.log cpuinfo_cores), want 2/2"
note "2:2:1:1: $(grep '^GUEST topo_\|^GUEST cache_' guest1.log | tr '\n' ' ')"
note "1:2:1:2: $(grep '^GUEST topo_' guest2.log | tr '\n' ' ')"
pass
