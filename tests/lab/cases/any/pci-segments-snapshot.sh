# pci-segments-snapshot: a guest with --platform num_pci_segments=2 and
# its disk on segment 1 (the snapshot case's counter, a synced record on
# the disk per tick) is paused, snapshotted and shut down; restored
# (resume=on: the snapshot's configuration brings the second segment
# back), it counts on from where it stopped and its disk writes through
# segment 1 land in the image.
# lab-programs: curl
# lab-timeout: 300
# lab-boots: 1
sock=$PWD/api.sock
snap=$PWD/snap
(
	wait_tick guest.log 5 || exit 0
	snapshot_stop "$sock" "$snap" guest.log
) &
dd if=/dev/zero of=disk.img bs=1M count=4 2>/dev/null
GUEST_CMDLINE_EXTRA="wisp_modules=virtio_pci,virtio_blk" \
	boot_guest $((LAB_BOOT_TIMEOUT + 60)) guest.log snapshot --memory size=256M \
	--platform num_pci_segments=2 --disk path=disk.img,pci_segment=1 --api-socket "path=$sock"
wait
expect_guest_ok guest.log
[ "$(status_of pause.out)" = 204 ] || fail "vm.pause: $(head -n 1 pause.out)"
[ "$(status_of snapshot.out)" = 204 ] || fail "vm.snapshot: $(tail -n 1 snapshot.out)"
expect_exit 0
t0=$(cat paused-tick)
note "snapshot at tick $t0"
(
	wait_tick restore.log $((t0 + 10))
	api "$sock" PUT /api/v1/vm.shutdown >shutdown2.out 2>&1
) &
run_wisp 120 restore.log -- --restore "source_url=file://$snap,resume=on" --api-socket "path=$sock"
wait
expect_range first_tick_after_restore "$(first_tick restore.log)" "$t0" $((t0 + 2))
expect_range last_tick_after_restore "$(last_tick restore.log)" $((t0 + 10)) $((t0 + 200))
expect_exit 0
grep -aq "WISP-TICK $((t0 + 5))" disk.img || fail "the restored guest's disk write of tick $((t0 + 5)) is not in the image"
pass
