# vhost-user-blk against qemu-storage-daemon: the guest writes a record
# to its disk and reads it back; the lab host then kills the daemon while
# the guest idles and starts it again; wisp reconnects and restores the
# queue, and the guest's next write and read succeed.  Then the guest
# unloads and reloads virtio_blk (a device reset: wisp takes the rings
# back with GET_VRING_BASE, then hands them over again) and reads once
# more.  Afterwards the image holds both records.
# lab-timeout: 60
# lab-boots: 1
dd if=/dev/zero of=disk.img bs=1M count=16 2>/dev/null
qsd_start() {
	rm -f qsd.sock
	setsid qemu-storage-daemon --blockdev driver=file,filename=disk.img,node-name=disk \
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
	for _ in $(seq 50); do kill -0 "$(cat qsd.pid)" 2>/dev/null || break; sleep 0.1; done
	echo killed >restart.state
	sleep 1
	rm -f qsd.pid
	qsd_start && echo restarted >restart.state
) &
GUEST_CMDLINE_EXTRA="wisp_modules=virtio_pci,virtio_blk wisp_idle=12" \
	boot_guest "$LAB_BOOT_TIMEOUT" guest.log vhost-blk --memory size=256M,shared=on \
	--disk vhost_user=on,socket=qsd.sock
expect_guest_ok guest.log
[ "$(guest_fact guest.log vhost_read1)" = "WISP-VHOST-1 written before the restart" ] ||
	fail "first read-back: '$(guest_fact guest.log vhost_read1)'"
[ "$(cat restart.state 2>/dev/null)" = restarted ] || fail "the back-end was not restarted ($(cat restart.state 2>/dev/null))"
expect_line guest.log.err "vhost-user-blk0: back-end at 'qsd.sock': the back-end closed the connection; reconnecting" \
	"wisp did not notice the back-end going away"
expect_line guest.log.err "vhost-user-blk0: back-end at 'qsd.sock' reconnected; queues restored" \
	"wisp did not reconnect"
[ "$(guest_fact guest.log vhost_write2)" = ok ] || fail "the write after the restart failed"
[ "$(guest_fact guest.log vhost_read2)" = "WISP-VHOST-2 written after the restart" ] ||
	fail "read-back after the restart: '$(guest_fact guest.log vhost_read2)'"
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
pass
