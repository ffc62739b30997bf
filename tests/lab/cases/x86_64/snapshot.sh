# snapshot: a Linux guest counting five times a second (WISP-TICK n up)
# and writing a synced record per tick to its disk is paused through the
# API, snapshotted with vm.snapshot and shut down; a new wisp started
# with --restore (nothing but the snapshot and an API socket) waits
# paused, is resumed with vm.resume, and the guest's counter goes on from
# where it stopped (no second boot), its disk writes after the restore
# landing in the image; a snapshot of a running VM is refused with 405.
# Every call is Debian's curl on the API socket.
# lab-programs: curl
# lab-timeout: 150
# lab-boots: 1
sock=$PWD/api.sock
snap=$PWD/snap
last_tick() { sed -n 's/^WISP-TICK \([0-9]*\) .*/\1/p' "$1" | tail -n 1; }
first_tick() { sed -n 's/^WISP-TICK \([0-9]*\) .*/\1/p' "$1" | head -n 1; }
api() { "$LAB/bin/curl" -s -i --max-time 60 --unix-socket "$sock" -X "$1" "http://localhost$2" ${3:+-d "$3"}; }
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
	api PUT /api/v1/vm.snapshot '{"destination_url":"file://'"$snap"'"}' >snap-running.out 2>&1
	api PUT /api/v1/vm.pause >pause.out 2>&1
	last_tick guest.log >paused-tick
	api PUT /api/v1/vm.snapshot '{"destination_url":"file://'"$snap"'"}' >snapshot.out 2>&1
	api PUT /api/v1/vm.shutdown >shutdown.out 2>&1
) &
dd if=/dev/zero of=disk.img bs=1M count=4 2>/dev/null
GUEST_CMDLINE_EXTRA="wisp_modules=virtio_pci,virtio_blk" \
	boot_guest $((LAB_BOOT_TIMEOUT + 60)) guest.log api --cpus boot=2 --memory size=256M \
	--disk path=disk.img --api-socket "path=$sock"
wait
expect_guest_ok guest.log
for f in snap-running pause snapshot shutdown; do
	note "$f: $(status_of $f.out) $(tail -n 1 $f.out 2>/dev/null | head -c 160)"
done
[ "$(status_of snap-running.out)" = 405 ] || fail "vm.snapshot of a running VM: $(head -n 1 snap-running.out)"
[ "$(status_of pause.out)" = 204 ] || fail "vm.pause: $(head -n 1 pause.out)"
[ "$(status_of snapshot.out)" = 204 ] || fail "vm.snapshot: $(tail -n 1 snapshot.out)"
expect_exit 0
t0=$(cat paused-tick)
note "snapshot of $(du -k "$snap/memory" | cut -f1) KiB of memory, $(wc -c <"$snap/state") bytes of state, at tick $t0"

(
	for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
	sleep 1
	api GET /api/v1/vm.info >info-restored.out 2>&1
	last_tick restore.log >restored-paused-tick
	api PUT /api/v1/vm.resume >resume.out 2>&1
	wait_tick restore.log $((t0 + 10))
	api PUT /api/v1/vm.shutdown >shutdown2.out 2>&1
) &
run_wisp 120 restore.log -- --restore "source_url=file://$snap" --api-socket "path=$sock"
wait
note "restored: $(status_of info-restored.out) $(tail -n 1 info-restored.out | head -c 120)"
note "ticks: $t0 at the snapshot, first after the restore $(first_tick restore.log), last $(last_tick restore.log)"
reject_line restore.log 'Kernel panic' "the restored guest panicked"
reject_line restore.log '^WISP-GUEST-UP' "the restored guest booted again"
grep -q '"state":"Paused"' info-restored.out || fail "a restored VM is not paused before vm.resume: $(tail -n 1 info-restored.out)"
[ -z "$(cat restored-paused-tick)" ] || fail "the restored guest ran before vm.resume"
[ "$(status_of resume.out)" = 204 ] || fail "vm.resume: $(head -n 1 resume.out)"
expect_range first_tick_after_restore "$(first_tick restore.log)" "$t0" $((t0 + 2))
expect_range last_tick_after_restore "$(last_tick restore.log)" $((t0 + 10)) $((t0 + 100))
expect_exit 0
# a tick written after the restore is in the image
grep -aq "WISP-TICK $((t0 + 5))" disk.img || fail "the restored guest's disk write of tick $((t0 + 5)) is not in the image"
pass
