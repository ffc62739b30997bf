# cpus-features: cloud-hypervisor's --cpus features=amx (issue 18).  wisp
# asks the host kernel for the AMX tile state for its guests before KVM
# lists the CPUID it supports, as cloud-hypervisor does; where the host
# has no AMX (the lab host's emulated CPU has none) the answer is no and
# wisp says so in one line, exit 2, before any guest runs.  On a host with
# amx_tile the guest boots and sees amx_tile itself.
# lab-timeout: 60
# lab-boots: 1
if grep -qw amx_tile /proc/cpuinfo; then
	boot_guest "$LAB_BOOT_TIMEOUT" guest.log cpuinfo --memory size=256M --cpus boot=1,features=amx
	expect_guest_ok guest.log
	expect_exit 0
	note "the lab host has AMX: the guest booted with features=amx"
else
	run_wisp 30 amx.log -- --kernel "$GUEST_BZIMAGE" --initramfs "$GUEST_INITRD" \
		--cpus boot=1,features=amx --memory size=256M
	expect_exit 2
	expect_line amx.log '^wisp: --cpus: features=amx: this host does not give guests AMX' \
		"no line saying the host gives no AMX"
	reject_line amx.log 'WISP-GUEST-UP' "the guest ran"
	note "no AMX on the lab host: $(grep 'features=amx' amx.log)"
fi
pass
