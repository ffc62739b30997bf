# vhost-user-blk against qemu-storage-daemon: the guest writes a record
# to its disk and reads it back; the lab host then kills the daemon while
# the guest idles and starts it again; wisp reconnects and restores the
# queue, and the guest's next write and read succeed.  Then the guest
# writes 1 MiB and the lab host kills the daemon (SIGKILL) while that
# write is in flight -- the daemon's throttle (128 KiB/s) holds the
# requests it has taken -- and starts it again: the write completes and
# reads back intact (wisp resumes each ring at the used index the guest
# has seen, so the restarted daemon takes the unfinished requests
# again; qemu-storage-daemon 7.2 offers no INFLIGHT_SHMFD).  Then the
# guest unloads and reloads virtio_blk (a device reset: wisp takes the
# rings back with GET_VRING_BASE, then hands them over again) and reads
# once more.  Afterwards the image holds both records and the 1 MiB.
# lab-timeout: 90
# lab-boots: 1
dd if=/dev/zero of=disk.img bs=1M count=16 2>/dev/null
# qsd_start: the daemon, its writes throttled so that a write of 1 MiB
# stays in flight for seconds
qsd_start() {
	rm -f qsd.sock
	setsid qemu-storage-daemon --object throttle-group,id=tg,x-bps-write=131072 \
		--blockdev driver=file,filename=disk.img,node-name=file \
		--blockdev driver=throttle,throttle-group=tg,file=file,node-name=disk \
		--export type=vhost-user-blk,id=exp,node-name=disk,addr.type=unix,addr.path=qsd.sock,writable=on \
		--pidfile qsd.pid </dev/null >>qsd.log 2>&1 &
	echo $! >>"${LAB_CASE_DIR:-.}/sessions"
	for _ in $(seq 100); do [ -S qsd.sock ] && return 0; sleep 0.1; done
	return 1
}
qsd_start || fail "qemu-storage-daemon did not start: $(head -c 300 qsd.log)"
# kill and restart the back-end once the guest says it is idle
(
	for _ in $(seq 900); do
		grep -q '^WISP-VHOST-IDLE' guest.log 2>/dev/null && break
		sleep 0.2
	done
	kill "$(cat qsd.pid)"
	for _ in $(seq 50); do kill -0 "$(cat qsd.pid 2>/dev/null)" 2>/dev/null || break; sleep 0.1; done
	echo killed >restart.state
	sleep 1
	rm -f qsd.pid
	qsd_start && echo restarted >restart.state
	# the second time, with the guest's 1 MiB write in flight
	for _ in $(seq 900); do
		grep -q '^WISP-VHOST-BUSY' guest.log 2>/dev/null && break
		sleep 0.2
	done
	sleep 2
	kill -KILL "$(cat qsd.pid)"
	echo killed-busy >restart.state
	sleep 1
	rm -f qsd.pid
	qsd_start && echo restarted-busy >restart.state
) &
GUEST_CMDLINE_EXTRA="wisp_modules=virtio_pci,virtio_blk wisp_idle=12 wisp_busy=1" \
	boot_guest "$LAB_BOOT_TIMEOUT" guest.log vhost-blk --memory size=256M,shared=on \
	--disk vhost_user=on,socket=qsd.sock
expect_guest_ok guest.log
[ "$(guest_fact guest.log vhost_read1)" = "WISP-VHOST-1 written before the restart" ] ||
	fail "first read-back: '$(guest_fact guest.log vhost_read1)'"
[ "$(cat restart.state 2>/dev/null)" = restarted-busy ] || fail "the back-end was not restarted twice ($(cat restart.state 2>/dev/null))"
expect_line guest.log.err "vhost-user-blk0: back-end at 'qsd.sock': the back-end closed the connection; reconnecting" \
	"wisp did not notice the back-end going away"
expect_line guest.log.err "vhost-user-blk0: back-end at 'qsd.sock' reconnected; queues restored" \
	"wisp did not reconnect"
[ "$(guest_fact guest.log vhost_write2)" = ok ] || fail "the write after the restart failed"
[ "$(guest_fact guest.log vhost_read2)" = "WISP-VHOST-2 written after the restart" ] ||
	fail "read-back after the restart: '$(guest_fact guest.log vhost_read2)'"
[ "$(guest_fact guest.log vhost_busy_write)" = ok ] || fail "the 1 MiB write in flight during the restart failed"
[ "$(guest_fact guest.log vhost_busy_read)" = "$(guest_fact guest.log vhost_busy_src)" ] ||
	fail "the 1 MiB read back differs from what was written"
[ "$(grep -c "vhost-user-blk0: back-end at 'qsd.sock' reconnected; queues restored" guest.log.err)" = 2 ] ||
	fail "wisp did not reconnect twice"
[ "$(guest_fact guest.log vhost_rmmod)" = ok ] || fail "rmmod virtio_blk failed"
[ "$(guest_fact guest.log vhost_read3)" = "WISP-VHOST-2 written after the restart" ] ||
	fail "read after the driver's reset and reload: '$(guest_fact guest.log vhost_read3)'"
reject_line guest.log.err 'needs a reset|unusable|refused' "wisp reported a problem"
expect_exit 0
kill "$(cat qsd.pid)" 2>/dev/null
got1=$(dd if=disk.img bs=512 count=1 2>/dev/null | head -n 1)
got2=$(dd if=disk.img bs=512 skip=8 count=1 2>/dev/null | head -n 1)
[ "$got1" = "WISP-VHOST-1 written before the restart" ] || fail "image sector 0: '$got1'"
[ "$got2" = "WISP-VHOST-2 written after the restart" ] || fail "image sector 8: '$got2'"
got3=$(dd if=disk.img bs=64k skip=16 count=16 2>/dev/null | md5sum | cut -d' ' -f1)
[ "$got3" = "$(guest_fact guest.log vhost_busy_src)" ] || fail "the image's 1 MiB at 1 MiB differs from the guest's"
note "1 MiB written in $(guest_fact guest.log vhost_busy_secs) s across a SIGKILL of the back-end: intact in the guest and the image ($got3)"
pass
