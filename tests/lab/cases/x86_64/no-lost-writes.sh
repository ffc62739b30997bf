# no-lost-writes: the guest writes 64 KiB records to /dev/vda, fsyncs
# each (so virtio-blk sees the writes and then a FLUSH) and only then
# prints "WISP-FLUSHED N" on the serial line.  The moment the 8th such
# line appears, wisp is killed with SIGKILL.  Every record announced
# before the kill must be whole in the image.  (A process kill loses
# nothing the kernel already has; what this catches is wisp
# acknowledging a write or a FLUSH before the data reached the file.)
# lab-timeout: 60
# lab-boots: 1
KILL_AT=8
dd if=/dev/zero of=disk.img bs=1M count=16 2>/dev/null
GUEST_CMDLINE_EXTRA="wisp_modules=virtio_pci,virtio_blk"
note "wisp --disk path=disk.img, killed at WISP-FLUSHED $KILL_AT"
: >guest.log
setsid "$WISP" --kernel "${GUEST_KERNEL:-$GUEST_BZIMAGE}" --initramfs "$GUEST_INITRD" \
	--cmdline "$(guest_cmdline nolost)" --serial tty --console off \
	--memory size=256M --disk path=disk.img </dev/null >guest.log 2>&1 &
wpid=$!
echo "$wpid" >>"${LAB_CASE_DIR:-.}/sessions"
killed=""
# watch the console (lines end in CR LF) until the announcement or the
# boot time limit; the kill follows the line within one poll
deadline=$(($(_lab_cs) + LAB_BOOT_TIMEOUT * 100))
while [ "$(_lab_cs)" -lt "$deadline" ]; do
	if grep -q "^WISP-FLUSHED $KILL_AT[^0-9]*\$" guest.log; then
		kill -KILL "$wpid"
		killed=yes
		break
	fi
	kill -0 "$wpid" 2>/dev/null || break
	sleep 0.05
done
wait "$wpid"
rc=$?
tr -d '\r' <guest.log | sed 's/^/  | /' | tail -n 20
[ "$killed" = yes ] || { kill -KILL "$wpid" 2>/dev/null; fail "no WISP-FLUSHED $KILL_AT (wisp exit $rc)"; }
[ "$rc" = 137 ] || fail "wisp exit $rc after SIGKILL, expected 137"
last=$(tr -d '\r' <guest.log | sed -n 's/^WISP-FLUSHED \([0-9]*\)$/\1/p' | tail -n 1)
i=0
while [ "$i" -le "$last" ]; do
	want=$(yes "WISP-RECORD-$i" | head -c 65536 | md5sum | cut -d' ' -f1)
	got=$(dd if=disk.img bs=65536 skip="$i" count=1 2>/dev/null | md5sum | cut -d' ' -f1)
	[ "$want" = "$got" ] || fail "record $i was announced flushed but the image differs there"
	i=$((i + 1))
done
note "records 0..$last announced flushed before SIGKILL, all in the image"
pass
