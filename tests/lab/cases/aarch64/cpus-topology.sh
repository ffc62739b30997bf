# cpus-topology (AArch64): cloud-hypervisor's --cpus topology= as Linux
# reads it from the device tree's /cpus/cpu-map (issue 18): 2:2:1:1 makes
# cpu0/cpu1 and cpu2/cpu3 the threads of cores 0 and 1 of package 0;
# 1:2:1:2 two cores in each of two packages (sysfs physical_package_id,
# core_id, thread_siblings_list).  Dies other than 1 are refused on
# AArch64 (as cloud-hypervisor does), exit 2.  With SMT each core gets a
# level-2 cache its threads share; without one Linux's scheduler finds
# the SMT domain outside the cache one ("BUG: arch topology borken").
# lab-timeout: 600
# lab-boots: 2
check() { # LOG "CPU:pkg=P,core=C,siblings=S ..."
	for w in $2; do
		got=$(guest_fact "$1" "topo_${w%%:*}" | sed 's/die=[0-9-]*,//')
		[ "$got" = "${w#*:}" ] || fail "$1: cpu${w%%:*} is '$got', want '${w#*:}'"
	done
	note "$1: $(grep '^GUEST topo_' "$1" | tr '\n' ' ')"
}
boot_guest "$LAB_BOOT_TIMEOUT" guest1.log topology --memory size=256M \
	--cpus boot=4,topology=2:2:1:1
expect_guest_ok guest1.log
expect_exit 0
reject_line guest1.log 'arch topology borken' "the guest's scheduler found the topology broken"
check guest1.log "0:pkg=0,core=0,siblings=0-1 1:pkg=0,core=0,siblings=0-1 2:pkg=0,core=1,siblings=2-3 3:pkg=0,core=1,siblings=2-3"
boot_guest "$LAB_BOOT_TIMEOUT" guest2.log topology --memory size=256M \
	--cpus boot=4,topology=1:2:1:2
expect_guest_ok guest2.log
expect_exit 0
check guest2.log "0:pkg=0,core=0,siblings=0 1:pkg=0,core=1,siblings=1 2:pkg=1,core=0,siblings=2 3:pkg=1,core=1,siblings=3"
run_wisp 30 dies.log -- --kernel "${GUEST_KERNEL:-$GUEST_BZIMAGE}" --cpus boot=2,topology=1:1:2:1
expect_exit 2
expect_line dies.log "dies per package must be 1 on AArch64" "no line refusing dies"
pass
