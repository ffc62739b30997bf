# pci-segments: --platform num_pci_segments=2 (cloud-hypervisor's), a
# virtio-blk on segment 1 and a virtio-rng put in slot 9 of segment 0
# with pci_device_id=: the guest finds both where they were asked to be
# (ACPI MCFG and root bridges on x86_64, a second ECAM host node on
# AArch64), reads the disk's record and entropy through them.
# lab-timeout: 40
# lab-boots: 1
printf 'WISP-SEGMENT-1 disk data\n' | dd of=a.img bs=1M count=4 conv=sync 2>/dev/null
GUEST_CMDLINE_EXTRA="wisp_modules=virtio_pci,virtio_blk,virtio_rng" \
	boot_guest "$LAB_BOOT_TIMEOUT" guest.log pci-segments --memory size=256M \
	--platform num_pci_segments=2 --disk path=a.img,pci_segment=1 \
	--rng src=/dev/urandom,pci_device_id=9
expect_guest_ok guest.log
devs=$(guest_fact guest.log pci_devices)
note "guest PCI functions: $devs"
case " $devs " in *" 0001:00:00.0 "*) ;; *) fail "no host bridge of segment 1 in '$devs'" ;; esac
[ "$(guest_fact guest.log vda_pci)" = 0001:00:01.0 ] ||
	fail "the disk is at '$(guest_fact guest.log vda_pci)', not 0001:00:01.0"
[ "$(guest_fact guest.log vda_record)" = "WISP-SEGMENT-1 disk data" ] ||
	fail "the disk reads '$(guest_fact guest.log vda_record)'"
[ "$(guest_fact guest.log rng_pci)" = 0000:00:09.0 ] ||
	fail "the entropy device is at '$(guest_fact guest.log rng_pci)', not 0000:00:09.0"
[ "$(guest_fact guest.log hwrng_bytes)" = 256 ] ||
	fail "read $(guest_fact guest.log hwrng_bytes) bytes from /dev/hwrng, not 256"
expect_exit 0
pass
