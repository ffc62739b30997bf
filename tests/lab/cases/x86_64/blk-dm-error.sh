# blk-dm-error: host disk errors from a device-mapper "error" target.
# The lab host maps a 2 MiB device: its first MiB linear on a loop
# device (a file of random data), the second MiB an error target, and
# wisp gets it as --disk.  The guest (O_DIRECT, one request per dd)
# reads the first MiB whole (the file's md5), gets EIO reading the
# second, writing it (O_DIRECT, then fsync: wisp writes through the host's
# page cache, a volatile write cache as virtio-blk's FLUSH feature
# declares, so the host's error comes back at the FLUSH), and for a
# 12 KiB read straddling the boundary;
# then writes and reads back a block of the good part; the device never
# needs a reset; wisp keeps running and exits 0 when the guest powers
# off.  dm-mod is a module of the lab host's kernel (tests/lab/run packs
# it when a case uses dm-create); /lab/bin/host-tool speaks the
# device-mapper ioctls (the lab host has no dmsetup).
# lab-timeout: 60
# lab-boots: 1
DM=wisp-dmerr
dd if=/dev/urandom of=good.img bs=64k count=16 2>/dev/null
want=$(md5sum <good.img | cut -d' ' -f1)
loop=$(losetup -f) && losetup "$loop" good.img || fail "no loop device"
dev=$(/lab/bin/host-tool dm-create "$DM" "0 2048 linear $loop 0" "2048 2048 error") ||
	{ losetup -d "$loop"; fail "cannot create the device-mapper device"; }
for _ in $(seq 50); do [ -b "$dev" ] && break; sleep 0.1; done
[ -b "$dev" ] || fail "no $dev"
note "$dev: $(blockdev --getsz "$dev") sectors, first 2048 on $loop"
# the host itself sees the error target fail
dd if="$dev" of=/dev/null bs=4k skip=300 count=1 iflag=direct 2>/dev/null &&
	fail "the lab host reads the error target without an error"
GUEST_CMDLINE_EXTRA="wisp_modules=virtio_pci,virtio_blk"
boot_guest "$LAB_BOOT_TIMEOUT" guest.log dm-error --memory size=256M --disk path="$dev"
/lab/bin/host-tool dm-remove "$DM"
losetup -d "$loop"
expect_guest_ok guest.log
expect_exit 0
f() { guest_fact guest.log "$1"; }
[ "$(f dm_sectors)" = 4096 ] || fail "the guest sees $(f dm_sectors) sectors, not 4096"
[ "$(f dm_good_md5)" = "$want" ] || fail "the good MiB reads differently in the guest"
[ "$(f dm_bad_read)" = eio ] || fail "reading the error target: $(f dm_bad_read), not EIO"
[ "$(f dm_bad_write)" = eio ] || fail "writing the error target: $(f dm_bad_write), not EIO"
[ "$(f dm_straddle_read)" = eio ] || fail "a read across the boundary: $(f dm_straddle_read), not EIO"
[ "$(f dm_good_write)" = ok ] || fail "writing the good part afterwards: $(f dm_good_write)"
[ "$(f dm_good_reread)" = ok ] || fail "the good part did not read back what was written"
# each failed request shows in the guest's log; the device is fine
expect_range dm_kernel_ioerrs "$(f dm_kernel_ioerrs)" 3 100
case "$(f dm_status)" in
0x*) [ $(($(f dm_status) & 0x40)) = 0 ] || fail "the disk needs a reset: status $(f dm_status)" ;;
*) fail "no virtio status from the guest" ;;
esac
reject_line guest.log 'needs a reset' "wisp reported a broken queue"
note "bad read, bad write, straddling read: EIO; good MiB intact; $(f dm_kernel_ioerrs) I/O errors in the guest's log"
pass
