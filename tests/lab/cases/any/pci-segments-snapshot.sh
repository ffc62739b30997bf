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
last_tick() { sed -n 's/^WISP-TICK \([0-9]*\) .*/\1/p' "$1" | tail -n 1; }
first_tick() { sed -n 's/^WISP-TICK \([0-9]*\) .*/\1/p' "$1" | head -n 1; }
if "$LAB/bin/curl" --version >/dev/null 2>&1; then
	api() { "$LAB/bin/curl" -s -i --max-time 60 --unix-socket "$1" -X "$2" "http://localhost$3" ${4:+-d "$4"}; }
else
	api() { host_api "$@"; }
fi
status_of() { sed -n '1s/^HTTP\/1.1 \([0-9]*\) .*/\1/p' "$1"; }
wait_tick() { # LOG N: until the guest printed tick N (or wisp ended)
	for _ in $(seq 900); do
		[ "$(last_tick "$1")" -ge "$2" ] 2>/dev/null && return 0
		[ -e "$1.rc" ] && return 1
		sleep 0.2
	done
	return 1
}
(
	wait_tick guest.log 5 || exit 0
	api "$sock" PUT /api/v1/vm.pause >pause.out 2>&1
	last_tick guest.log >paused-tick
	api "$sock" PUT /api/v1/vm.snapshot '{"destination_url":"file://'"$snap"'"}' >snapshot.out 2>&1
	api "$sock" PUT /api/v1/vm.shutdown >shutdown.out 2>&1
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
