# virtio-blk-ro: a disk given readonly=on reads, refuses writes, and the
# image is byte-identical afterwards.
# lab-timeout: 40
# lab-boots: 1
printf 'WISP-RO-DISK' | dd of=ro.img bs=1M count=0 seek=8 2>/dev/null
printf 'WISP-RO-DISK....' | dd of=ro.img conv=notrunc 2>/dev/null
before=$(md5sum <ro.img)
GUEST_CMDLINE_EXTRA="wisp_modules=virtio_pci,virtio_blk" \
	boot_guest "$LAB_BOOT_TIMEOUT" guest.log blk-ro --memory size=256M --disk path=ro.img,readonly=on
expect_guest_ok guest.log
[ "$(guest_fact guest.log ro_read)" = "WISP-RO-DISK...." ] || fail "the guest did not read the disk"
[ "$(guest_fact guest.log ro_flag)" = 1 ] || fail "the guest does not see the disk as read-only"
[ "$(guest_fact guest.log ro_write)" = failed ] || fail "a write to the read-only disk succeeded"
expect_exit 0
[ "$(md5sum <ro.img)" = "$before" ] || fail "the read-only image changed"
pass
