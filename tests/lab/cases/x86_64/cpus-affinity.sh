# cpus-affinity: cloud-hypervisor's --cpus affinity=[VCPU@[HOST CPUS],...]
# (issue 18): each vCPU thread (named vcpuN, as cloud-hypervisor names
# them) is pinned to its host CPUs before it runs, as the lab host's
# /proc/PID/task/TID/status says (Cpus_allowed_list); a vCPU left out and
# wisp's other threads keep every CPU (the lab host has two).  A list of
# host CPUs none of which exists here is refused before the VM starts,
# exit 2.  core_scheduling=vcpu rides along: the lab host has no SMT, so
# it has no effect there (as cloud-hypervisor: silently).
# lab-timeout: 90
# lab-boots: 2
: >tasks.txt
thread_cpus_when_held guest.log tasks.txt &
GUEST_CMDLINE_EXTRA="wisp_hold=4" boot_guest "$LAB_BOOT_TIMEOUT" guest.log topology \
	--memory size=256M --cpus boot=3,affinity=[0@[1],1@[0-1]],core_scheduling=vcpu
expect_guest_ok guest.log
expect_exit 0
wait
note "threads: $(tr '\n' ';' <tasks.txt)"
grep -qx 'vcpu0 1' tasks.txt || fail "vcpu0 not pinned to CPU 1: $(grep vcpu0 tasks.txt)"
grep -qx 'vcpu1 0-1' tasks.txt || fail "vcpu1 not on CPUs 0-1: $(grep vcpu1 tasks.txt)"
grep -qx 'vcpu2 0-1' tasks.txt || fail "vcpu2 (no affinity) not on CPUs 0-1: $(grep vcpu2 tasks.txt)"
# the main thread was only tried on each list, and given its own back
head -n 1 tasks.txt | grep -qx 'wisp 0-1' || fail "wisp's main thread: $(head -n 1 tasks.txt)"

run_wisp 30 bad.log -- --kernel "$GUEST_BZIMAGE" --initramfs "$GUEST_INITRD" \
	--cpus boot=1,affinity=[0@[7]] --memory size=256M
expect_exit 2
expect_line bad.log '^wisp: --cpus: affinity: vCPU 0: ' "no line naming vCPU 0's affinity"
pass
