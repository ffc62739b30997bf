# virtio-blk-queue-affinity: cloud-hypervisor's --disk queue_affinity=
# (issue 18) on a disk of two queues, queue 0 pinned to host CPU 0 and
# queue 1 to host CPU 1 (the lab host has two).  The guest writes a
# record down each queue (dd under taskset on the CPU blk-mq maps to it,
# O_DIRECT); each record lands in its sector of the image, each queue
# completes requests (its interrupt count), and each queue's I/O threads
# (named blk0-q0, blk0-q1) have only their CPU in Cpus_allowed_list
# while the disk's other threads keep both.  A queue that does not exist
# and host CPUs none of which exists here are refused, exit 2.  Then a
# snapshot and restore: pinning is nothing the snapshot holds, but the
# restored wisp makes the disk from the saved command line, so its queue
# threads are pinned again (here queue 0 to CPU 1 and queue 1 to CPU 0),
# and the guest's disk writes go on after the restore.
# lab-timeout: 180
# lab-boots: 1
dd if=/dev/zero of=q.img bs=1M count=4 2>/dev/null
: >tasks.txt
thread_cpus_when_held guest.log tasks.txt &
GUEST_CMDLINE_EXTRA="wisp_modules=virtio_pci,virtio_blk wisp_hold=4" \
	boot_guest "$LAB_BOOT_TIMEOUT" guest.log blk-mq --memory size=256M --cpus boot=2 \
	--disk "path=q.img,num_queues=2,queue_affinity=[0@[0],1@[1]]"
expect_guest_ok guest.log
expect_exit 0
wait
note "threads: $(sort tasks.txt | uniq -c | tr -s ' \n' ' ;')"
note "guest: queues $(guest_fact guest.log blk_queues), $(guest_fact guest.log wrote_q0) $(guest_fact guest.log wrote_q1), irqs $(guest_fact guest.log blk_queue_irqs)"
[ "$(guest_fact guest.log blk_queues)" = 2 ] || fail "the guest sees $(guest_fact guest.log blk_queues) queues, not 2"
[ "$(grep -c '^blk0-q0 0$' tasks.txt)" = 2 ] || fail "queue 0's two I/O threads not on CPU 0: $(grep blk0-q0 tasks.txt)"
[ "$(grep -c '^blk0-q1 1$' tasks.txt)" = 2 ] || fail "queue 1's two I/O threads not on CPU 1: $(grep blk0-q1 tasks.txt)"
grep -q ' 1$' tasks.txt || fail "no thread at all on CPU 1 alone"
head -n 1 tasks.txt | grep -qx 'wisp 0-1' || fail "wisp's main thread: $(head -n 1 tasks.txt)"
for q in 0 1; do
	[ -n "$(guest_fact guest.log wrote_q$q)" ] || fail "the guest could not write down queue $q"
	rec=$(dd if=q.img bs=512 skip=$q count=1 2>/dev/null | head -c 12)
	[ "$rec" = "WISP-QUEUE-$q" ] || fail "sector $q lacks queue $q's record: $(printf %s "$rec" | od -c | head -n 1)"
done
guest_fact guest.log blk_queue_irqs | grep -q 'req\.0=[1-9]' || fail "queue 0 completed nothing"
guest_fact guest.log blk_queue_irqs | grep -q 'req\.1=[1-9]' || fail "queue 1 completed nothing"

run_wisp 30 bad.log -- --kernel "$GUEST_BZIMAGE" --initramfs "$GUEST_INITRD" --memory size=256M \
	--cpus boot=2 --disk "path=q.img,num_queues=2,queue_affinity=[0@[7]]"
expect_exit 2
expect_line bad.log "^wisp: --disk: queue_affinity: queue 0: " "no line naming queue 0's host CPUs"
run_wisp 30 bad2.log -- --kernel "$GUEST_BZIMAGE" --initramfs "$GUEST_INITRD" --memory size=256M \
	--disk "path=q.img,queue_affinity=[1@[0]]"
expect_exit 2
expect_line bad2.log "queue 1 does not exist \\(num_queues=1\\)" "no line naming the missing queue"

# snapshot and restore: the counting guest writes a record per tick
sock=$PWD/api.sock snap=$PWD/snap
threads() { thread_cpus "$(tail -n 1 "$LAB_CASE_DIR/sessions")" "$1"; } # of the newest wisp
dd if=/dev/zero of=r.img bs=1M count=4 2>/dev/null
(
	wait_tick run.log 5 || exit 0
	host_api "$sock" PUT /api/v1/vm.pause >pause.out 2>&1
	host_api "$sock" PUT /api/v1/vm.snapshot '{"destination_url":"file://'"$snap"'"}' >snap.out 2>&1
	host_api "$sock" PUT /api/v1/vm.shutdown >/dev/null 2>&1
) &
GUEST_CMDLINE_EXTRA="wisp_modules=virtio_pci,virtio_blk" \
	boot_guest "$LAB_BOOT_TIMEOUT" run.log api --memory size=256M --cpus boot=2 \
	--disk "path=r.img,num_queues=2,queue_affinity=[0@[1],1@[0]]" --api-socket "path=$sock"
wait
expect_exit 0
grep -q '^HTTP/1.1 204' snap.out || fail "vm.snapshot: $(head -n 1 snap.out)"
t0=$(last_tick run.log)
(
	for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
	wait_tick restore.log $((t0 + 5)) || exit 0
	threads tasks-restore.txt
	host_api "$sock" PUT /api/v1/vm.shutdown >/dev/null 2>&1
) &
run_wisp 90 restore.log -- --restore "source_url=file://$snap,resume=on" --api-socket "path=$sock"
wait
expect_exit 0
reject_line restore.log '^WISP-GUEST-UP' "the restored guest booted again"
note "restored at tick $t0, ran to $(last_tick restore.log); threads: $(sort tasks-restore.txt | uniq -c | tr -s ' \n' ' ;')"
[ "$(grep -c '^blk0-q0 1$' tasks-restore.txt)" = 2 ] || fail "after the restore, queue 0's threads not on CPU 1: $(grep blk0-q0 tasks-restore.txt)"
[ "$(grep -c '^blk0-q1 0$' tasks-restore.txt)" = 2 ] || fail "after the restore, queue 1's threads not on CPU 0: $(grep blk0-q1 tasks-restore.txt)"
# (the last tick's record may still be on its way when the VM stops)
t=$(($(last_tick restore.log) - 1))
[ "$t" -gt "$t0" ] || fail "no tick after the restore"
rec=$(dd if=r.img bs=512 skip=$((t % 4096)) count=1 2>/dev/null | head -n 1)
[ "$rec" = "WISP-TICK $t" ] || fail "the record of tick $t (after the restore) is not in the image: '$rec'"
pass
