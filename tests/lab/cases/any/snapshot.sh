# snapshot: a Linux guest counting five times a second (WISP-TICK n up),
# writing a synced record per tick to its disk, with a NIC (TAP wtap0)
# and a vsock server, is paused through the API, snapshotted with
# vm.snapshot and shut down.  A new wisp started with --restore and an
# API socket (nothing else: the snapshot holds the configuration) waits
# paused; after vm.resume the counter goes on from where it stopped (no
# second boot), a disk write after the restore lands in the image, the
# lab host pings the guest through the re-created TAP and makes a new
# vsock connection.  Then the same snapshot is restored twice at once
# (resume=on), each with its own TAP, disk copy and vsock socket given
# beside --restore: both count on and answer pings on their own TAP.
# A snapshot of a running VM is refused with 405.  --event-monitor
# reports the snapshot (vm snapshotting, snapshotted) and the restore
# (restoring, restored, then resuming, resumed at vm.resume), in order
# with the rest.  Every API call is
# Debian's curl on the socket (host-tool's request on AArch64).
# The same on both arches (modules from tests/lab/guest/modules): on
# AArch64 the snapshot holds the GICv3/ITS and every KVM-listed register
# (arch/aarch64/snapshot.c); its TCG-emulated lab is slower, hence the
# longer limit.
# lab-programs: curl
# lab-timeout: 600
# lab-boots: 1
sock=$PWD/api.sock
snap=$PWD/snap
vtool=$LAB/bin/vsock-tool
guest_ip=192.168.77.2
# (last_tick, first_tick, wait_tick, api, status_of: lib.sh)
pings() { # INTERFACE: replies to 3 pings of the guest through it
	ping -c 3 -W 3 -I "$1" "$guest_ip" 2>&1 | sed -n 's/.* \([0-9]*\) packets received.*/\1/p'
}
vsock_once() { # SOCKET: one connection to the guest's port 1234, 4 KiB each way
	VSOCK_TIMEOUT=30 "$vtool" host-connect "$1" 1234 1 4096 >/dev/null 2>&1 && echo ok || echo failed
}
net="tap=wtap0,ip=192.168.77.1,mask=255.255.255.0"
(
	wait_tick guest.log 5 || exit 0
	pings wtap0 >ping-before
	vsock_once "$PWD/v.sock" >vsock-before
	api "$sock" PUT /api/v1/vm.snapshot '{"destination_url":"file://'"$snap"'"}' >snap-running.out 2>&1
	snapshot_stop "$sock" "$snap" guest.log
) &
dd if=/dev/zero of=disk.img bs=1M count=4 2>/dev/null
GUEST_CMDLINE_EXTRA="wisp_modules=virtio_pci,virtio_blk,virtio_net,vmw_vsock_virtio_transport wisp_ip=$guest_ip/24 wisp_vsock=on" \
	boot_guest $((LAB_BOOT_TIMEOUT + 60)) guest.log snapshot --cpus boot=2 --memory size=256M \
	--disk path=disk.img --net "$net" --vsock "cid=3,socket=$PWD/v.sock" --api-socket "path=$sock" \
	--event-monitor "path=$PWD/events.json"
wait
expect_guest_ok guest.log
for f in snap-running pause snapshot shutdown; do
	note "$f: $(status_of $f.out) $(tail -n 1 $f.out 2>/dev/null | head -c 160)"
done
note "before the snapshot: $(cat ping-before) of 3 pings answered, vsock $(cat vsock-before)"
[ "$(guest_fact guest.log net_up)" = ok ] || fail "the guest's eth0 did not come up"
[ "$(cat ping-before)" = 3 ] || fail "the guest did not answer pings before the snapshot"
[ "$(cat vsock-before)" = ok ] || fail "no vsock connection before the snapshot"
[ "$(status_of snap-running.out)" = 405 ] || fail "vm.snapshot of a running VM: $(head -n 1 snap-running.out)"
[ "$(status_of pause.out)" = 204 ] || fail "vm.pause: $(head -n 1 pause.out)"
[ "$(status_of snapshot.out)" = 204 ] || fail "vm.snapshot: $(tail -n 1 snapshot.out)"
expect_exit 0
t0=$(cat paused-tick)
note "snapshot: $(du -k "$snap/memory" | cut -f1) KiB of memory on disk, $(wc -c <"$snap/state") bytes of state, at tick $t0"
cp disk.img diskA.img
cp disk.img diskB.img

# one restore, paused until vm.resume
(
	for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
	sleep 1
	api "$sock" GET /api/v1/vm.info >info-restored.out 2>&1
	last_tick restore.log >restored-paused-tick
	api "$sock" PUT /api/v1/vm.resume >resume.out 2>&1
	wait_tick restore.log $((t0 + 5))
	pings wtap0 >ping-after
	vsock_once "$PWD/v.sock" >vsock-after
	wait_tick restore.log $((t0 + 10))
	api "$sock" PUT /api/v1/vm.shutdown >shutdown2.out 2>&1
) &
run_wisp 120 restore.log -- --restore "source_url=file://$snap" --api-socket "path=$sock" \
	--event-monitor "path=$PWD/events-restore.json"
wait
# the vm and vmm events of each run, in order (the devices' left out)
vm_events() { awk '/^  "source": /{ s = $2 } /^  "event": /{ print s $2 }' "$1" | tr -d '",' |
	grep -v '^virtio-device' | tr '\n' ' '; }
note "events: $(vm_events events.json); after the restore: $(vm_events events-restore.json)"
[ "$(vm_events events.json)" = "vmmstarting vmbooting vmbooted vmpausing vmpaused vmsnapshotting vmsnapshotted vmshutdown vmdeleted vmmshutdown " ] ||
	fail "--event-monitor: $(vm_events events.json)"
[ "$(vm_events events-restore.json)" = "vmmstarting vmrestoring vmrestored vmresuming vmresumed vmshutdown vmdeleted vmmshutdown " ] ||
	fail "--event-monitor after the restore: $(vm_events events-restore.json)"
note "restored: $(status_of info-restored.out) $(tail -n 1 info-restored.out | head -c 100)"
note "ticks: $t0 at the snapshot, first after the restore $(first_tick restore.log), last $(last_tick restore.log)"
note "after the restore: $(cat ping-after) of 3 pings answered, vsock $(cat vsock-after)"
reject_line restore.log 'Kernel panic' "the restored guest panicked"
reject_line restore.log '^WISP-GUEST-UP' "the restored guest booted again"
grep -q '"state":"Paused"' info-restored.out || fail "a restored VM is not paused before vm.resume: $(tail -n 1 info-restored.out)"
[ -z "$(cat restored-paused-tick)" ] || fail "the restored guest ran before vm.resume"
[ "$(status_of resume.out)" = 204 ] || fail "vm.resume: $(head -n 1 resume.out)"
expect_range first_tick_after_restore "$(first_tick restore.log)" "$t0" $((t0 + 2))
expect_range last_tick_after_restore "$(last_tick restore.log)" $((t0 + 10)) $((t0 + 200))
expect_exit 0
grep -aq "WISP-TICK $((t0 + 5))" disk.img || fail "the restored guest's disk write of tick $((t0 + 5)) is not in the image"
[ "$(cat ping-after)" = 3 ] || fail "the restored guest answered $(cat ping-after) of 3 pings"
[ "$(cat vsock-after)" = ok ] || fail "no new vsock connection to the restored guest"

# the same snapshot twice at once, running at once (resume=on)
for v in A B; do
	(
		run_wisp 120 "restore$v.log" -- --restore "source_url=file://$snap,resume=on" \
			--net "tap=wtap$v,ip=192.168.77.1,mask=255.255.255.0" --disk "path=disk$v.img" \
			--vsock "cid=3,socket=$PWD/v$v.sock" --api-socket "path=$PWD/$v.sock"
	) >/dev/null &
done
for v in A B; do
	wait_tick "restore$v.log" $((t0 + 5))
	pings "wtap$v" >"ping$v"
done
for v in A B; do
	wait_tick "restore$v.log" $((t0 + 10))
	api "$PWD/$v.sock" PUT /api/v1/vm.shutdown >"shutdown$v.out" 2>&1
done
wait
for v in A B; do
	note "restore $v: ticks $(first_tick "restore$v.log")..$(last_tick "restore$v.log"), $(cat "ping$v") of 3 pings on wtap$v, exit $(cat "restore$v.log.rc")"
	reject_line "restore$v.log" '^WISP-GUEST-UP' "restore $v booted again"
	expect_range "first_tick_$v" "$(first_tick "restore$v.log")" "$t0" $((t0 + 2))
	expect_range "last_tick_$v" "$(last_tick "restore$v.log")" $((t0 + 10)) $((t0 + 200))
	[ "$(cat "ping$v")" = 3 ] || fail "restore $v answered $(cat "ping$v") of 3 pings on wtap$v"
	[ "$(cat "restore$v.log.rc")" = 0 ] || fail "restore $v: wisp exited $(cat "restore$v.log.rc")"
	grep -aq "WISP-TICK $((t0 + 5))" "disk$v.img" || fail "restore $v's disk write is not in disk$v.img"
done
pass
