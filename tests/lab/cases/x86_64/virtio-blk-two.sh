# virtio-blk-two: two disks; the guest writes a record to each, flushed,
# and each image holds its own record afterwards.
# lab-timeout: 40
# lab-boots: 1
for d in a b; do dd if=/dev/zero of=$d.img bs=1M count=4 2>/dev/null; done
GUEST_CMDLINE_EXTRA="wisp_modules=virtio_pci,virtio_blk" \
	boot_guest "$LAB_BOOT_TIMEOUT" guest.log blk-two --memory size=256M --disk path=a.img path=b.img
expect_guest_ok guest.log
[ "$(guest_fact guest.log disks)" = 2 ] || fail "the guest sees $(guest_fact guest.log disks) disks, not 2"
expect_exit 0
[ "$(head -c 24 a.img)" = "WISP-DISK-vda written by" ] || fail "a.img lacks vda's record: $(head -c 24 a.img | od -c | head -n 2)"
[ "$(head -c 24 b.img)" = "WISP-DISK-vdb written by" ] || fail "b.img lacks vdb's record"
pass
