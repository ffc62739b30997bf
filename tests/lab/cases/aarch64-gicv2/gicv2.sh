# gicv2: on a lab host whose interrupt controller is a GICv2 (tests/lab/run
# --arch aarch64 --gic 2), KVM has no GICv3, so wisp gives the guest a GICv2
# with a GICv2m MSI frame. The guest brings up 2 vCPUs and boots from an ext4
# root on virtio-blk (MSI-X through GICv2m) that it writes to; more vCPUs than
# a GICv2 holds are refused in one line with exit status 2.  vm.snapshot
# of that guest, paused during its boot, is refused with the reason (wisp
# does not save a GICv2) and the guest goes on after vm.resume.
# lab-timeout: 120
# lab-boots: 1
grep -q GICv3 /proc/interrupts && fail "the lab host has a GICv3: run with --gic 2"
grep -q 'GIC' /proc/interrupts || fail "the lab host shows no GIC in /proc/interrupts"
[ -c /dev/kvm ] || fail "no /dev/kvm in the lab host"

run_wisp 20 nine.log -- --kernel "$GUEST_DIR/vmlinuz" --cpus boot=9 --memory size=128M \
	--serial null --console off
[ "$WISP_RC" = 2 ] || fail "--cpus boot=9: wisp exited $WISP_RC, want 2"
lines=$(grep -c . nine.log.err)
[ "$lines" = 1 ] || fail "--cpus boot=9: $lines lines on stderr, want one: $(head -c 300 nine.log.err)"
expect_line nine.log.err "^wisp: --cpus: boot=9 is more than" "--cpus boot=9: $(cat nine.log.err)"

sock=$PWD/api.sock
mkdir -p snap
api() { host_api "$sock" "$@"; }	# no curl on this lab host
(
	for _ in $(seq 300); do [ -S "$sock" ] && break; sleep 0.1; done
	api PUT /api/v1/vm.pause >pause.out 2>&1
	api PUT /api/v1/vm.snapshot '{"destination_url":"file://'"$PWD/snap"'"}' >snapshot.out 2>&1
	api PUT /api/v1/vm.resume >resume.out 2>&1
) &
cp /lab/guest/root.img root.img
GUEST_CMDLINE_EXTRA="root=/dev/vda wisp_root=/dev/vda wisp_modules=virtio_pci,virtio_blk,crc32c_generic,ext4" \
	boot_guest "$LAB_BOOT_TIMEOUT" guest.log blk-root --cpus boot=2 --memory size=256M --disk path=root.img \
	--api-socket "path=$sock"
wait
note "snapshot on a GICv2: $(head -n 1 snapshot.out) $(tail -n 1 snapshot.out | head -c 160)"
grep -q '^HTTP/1.1 204' pause.out || fail "vm.pause: $(head -n 1 pause.out)"
grep -q '^HTTP/1.1 500' snapshot.out || fail "vm.snapshot on a GICv2 was not refused: $(head -n 1 snapshot.out)"
grep -q 'GICv2' snapshot.out || fail "vm.snapshot's refusal does not name the GICv2: $(tail -n 1 snapshot.out)"
[ ! -e snap/state ] || fail "a refused vm.snapshot left a state file"
grep -q '^HTTP/1.1 204' resume.out || fail "vm.resume after the refused snapshot: $(head -n 1 resume.out)"
expect_line guest.log '^WISP-ROOT-UP' "the guest did not come up on its virtio-blk root"
expect_line guest.log '^GUEST root=/dev/vda ext4$' "the root is not /dev/vda (ext4)"
n=$(guest_fact guest.log nproc)
[ "$n" = 2 ] || fail "guest nproc=${n:-missing}, want 2"
expect_exit 0
mkdir -p mnt
mount -o loop root.img mnt || fail "cannot mount the image after the guest"
got=$(cat mnt/guest-wrote.txt 2>/dev/null)
umount mnt
[ "$got" = "written by the guest on its virtio-blk root" ] ||
	fail "the image does not hold the guest's file (got '$got')"
pass
