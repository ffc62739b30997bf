# cpus-hyperv: cloud-hypervisor's --cpus kvm_hyperv=on as a Linux guest
# sees it (issue 18).  The guest reads the hypervisor CPUID leaves with
# /bin/cpuid: cloud-hypervisor's "Linux KVM Hv" up to 0x4000000A in place
# of KVM's own leaves, the "Hv#1" interface, the privileges it grants
# (reference counter, SynIC, synthetic timers, reference TSC: 0x20e) and
# relaxed timing; then two MSRs through the msr module: the partition
# reference counter, which KVM answers once the CPUID says "Hv#1" and
# which counts 100 ns units (about 10^7 over the guest's `sleep 1`), and
# the SynIC's version, which KVM answers only on a vCPU whose VMM enabled
# KVM_CAP_HYPERV_SYNIC.  Linux itself takes only "Microsoft Hv" for
# Hyper-V; it finds KVM's leaves where wisp moved them (0x40000100, as
# QEMU puts them; cloud-hypervisor drops them) and keeps kvmclock, without
# which it hangs early in wisp's machine (nothing to calibrate its TSC
# against: no PIT or HPET, and Linux leaves a hardware-reduced ACPI
# machine's PM timer alone).
# lab-timeout: 30
# lab-boots: 1
GUEST_CMDLINE_EXTRA="wisp_modules=msr" \
	boot_guest "$LAB_BOOT_TIMEOUT" guest.log hyperv --memory size=256M --cpus boot=1,kvm_hyperv=on
expect_guest_ok guest.log
expect_line guest.log '^WISP-GUEST-DONE' "the guest did not finish its case"
expect_exit 0
note "vendor '$(guest_fact guest.log hv_vendor)', max leaf $(guest_fact guest.log hv_max_leaf), features $(guest_fact guest.log hv_features), reference counter +$(guest_fact guest.log hv_ref_count_1s) in 1 s, SynIC version '$(guest_fact guest.log hv_synic_version)', Linux detected '$(guest_fact guest.log hv_detected)', clocksource $(guest_fact guest.log hv_clocksource)"
[ "$(guest_fact guest.log hv_vendor)" = "Linux KVM Hv" ] ||
	fail "CPUID 0x40000000 says '$(guest_fact guest.log hv_vendor)', not Linux KVM Hv"
[ "$(guest_fact guest.log hv_max_leaf)" = 4000000a ] || fail "the hypervisor leaves do not reach 0x4000000A"
[ "$(guest_fact guest.log hv_interface)" = 31237648 ] || fail "CPUID 0x40000001 is not \"Hv#1\""
[ "$(guest_fact guest.log hv_features)" = 0000020e ] ||
	fail "CPUID 0x40000003 EAX is $(guest_fact guest.log hv_features), not 0000020e"
[ "$(guest_fact guest.log hv_recommend)" = 00000020 ] || fail "CPUID 0x40000004 does not recommend relaxed timing"
expect_range hv_ref_count_1s "$(guest_fact guest.log hv_ref_count_1s)" 5000000 100000000
[ "$(guest_fact guest.log hv_kvm_vendor)" = KVMKVMKVM... ] ||
	fail "CPUID 0x40000100 says '$(guest_fact guest.log hv_kvm_vendor)', not KVM's signature"
[ "$(guest_fact guest.log hv_detected)" = KVM ] || fail "the guest kernel did not find KVM"
[ "$(guest_fact guest.log hv_synic_version)" = 1 ] || fail "the SynIC is not enabled (its version MSR: '$(guest_fact guest.log hv_synic_version)')"
pass
