# cpus-options: cloud-hypervisor's --cpus nested= and max_phys_bits= as
# the guest sees them in /proc/cpuinfo (issue 18).  By default the guest
# has the host's physical address width (40 bits in the lab); with
# max_phys_bits=36, 36 bits.  nested=off takes svm/vmx away: the lab
# host's KVM does not offer nesting itself (its emulated CPU lacks what
# kvm_amd needs), so here both boots lack the flag and that half shows
# only that nested=off is accepted and harmless.
# lab-timeout: 40
# lab-boots: 2
boot_guest "$LAB_BOOT_TIMEOUT" guest1.log cpuinfo --memory size=256M
expect_guest_ok guest1.log
expect_exit 0
boot_guest "$LAB_BOOT_TIMEOUT" guest2.log cpuinfo --memory size=256M \
	--cpus boot=1,nested=off,max_phys_bits=36,kvm_hyperv=off
expect_guest_ok guest2.log
expect_exit 0
note "default: vmx/svm on $(guest_fact guest1.log vmx_svm) CPU(s), $(guest_fact guest1.log phys_bits) bits; nested=off,max_phys_bits=36: $(guest_fact guest2.log vmx_svm), $(guest_fact guest2.log phys_bits) bits"
expect_range default_phys_bits "$(guest_fact guest1.log phys_bits)" 37 64
expect_range vmx_svm "$(guest_fact guest2.log vmx_svm)" 0 0
expect_range phys_bits "$(guest_fact guest2.log phys_bits)" 36 36
pass
