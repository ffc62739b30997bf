# virtio-blk-direct: cloud-hypervisor's --disk direct=on (issue 18).  The
# lab host keeps its files on tmpfs, which takes no O_DIRECT on Linux 6.1,
# so the image goes on an ext4 file system made here (mkfs.ext4 from this
# machine) on a loop device over a tmpfs file: ext4 takes O_DIRECT, the
# loop device below it sees plain I/O.  The guest writes and reads odd
# sizes at odd offsets with O_DIRECT and without (tests/lab/guest/init,
# blk-direct), reads what the host wrote before the boot; while it holds,
# wisp's descriptor of the image must carry O_DIRECT (040000 in
# /proc/PID/fdinfo's flags); afterwards the bytes are in the image.
# lab-timeout: 40
# lab-boots: 1
# lab-programs: mkfs.ext4
dd if=/dev/zero of=fs.img bs=1M count=0 seek=48 2>/dev/null
mkfs.ext4 -q -F fs.img || fail "mkfs.ext4 failed"
mkdir -p mnt
mount -o loop fs.img mnt || fail "cannot mount the ext4 image (loop, ext4)"
# unmounted whatever happens after this
trap 'umount mnt 2>/dev/null' EXIT
dd if=/dev/zero of=mnt/probe bs=4096 count=1 oflag=direct 2>/dev/null ||
	fail "the lab host's ext4 takes no O_DIRECT"
dd if=/dev/zero of=mnt/disk.img bs=1M count=8 2>/dev/null
printf 'WISP-HOST-WROTE.' | dd of=mnt/disk.img bs=1M seek=1 conv=notrunc 2>/dev/null
sync

: >flags.txt
(
	wait_line guest.log '^WISP-HOLD' || exit 0
	pid=$(head -n 1 "$LAB_CASE_DIR/sessions")
	for f in /proc/"$pid"/fd/*; do
		[ "$(readlink "$f")" = "$LAB_CASE_DIR/mnt/disk.img" ] &&
			sed -n 's/^flags:[[:space:]]*//p' "/proc/$pid/fdinfo/${f##*/}"
	done >flags.txt
) &
GUEST_CMDLINE_EXTRA="wisp_modules=virtio_pci,virtio_blk" \
	boot_guest "$LAB_BOOT_TIMEOUT" guest.log blk-direct --memory size=256M \
	--disk path="$LAB_CASE_DIR/mnt/disk.img",direct=on
expect_guest_ok guest.log
expect_exit 0
wait
note "wisp's descriptors of the image: flags $(tr '\n' ' ' <flags.txt)"
[ -s flags.txt ] || fail "wisp has no descriptor of the image open (or it could not be seen)"
while read -r fl; do
	[ $((0$fl & 040000)) -ne 0 ] || fail "wisp's descriptor of the image lacks O_DIRECT (flags $fl)"
done <flags.txt
[ "$(guest_fact guest.log host_pattern)" = WISP-HOST-WROTE. ] ||
	fail "the guest read '$(guest_fact guest.log host_pattern)' where the host wrote WISP-HOST-WROTE."
for f in direct_write buffered_write direct_read_a direct_read_b buffered_read_a; do
	v=$(guest_fact guest.log $f)
	[ "$v" = ok ] || fail "guest $f: '$v'"
done
# the guest's bytes, where it put them, in the image on ext4
want_a=$(yes WISP-DIRECT-A | head -c 4608 | md5sum | cut -d' ' -f1)
got_a=$(tail -c +1537 mnt/disk.img | head -c 4608 | md5sum | cut -d' ' -f1)
[ "$got_a" = "$want_a" ] || fail "the image does not hold the guest's direct write at 1536"
want_b=$(yes WISP-BUFFERED-B | head -c 3000 | md5sum | cut -d' ' -f1)
got_b=$(tail -c +65637 mnt/disk.img | head -c 3000 | md5sum | cut -d' ' -f1)
[ "$got_b" = "$want_b" ] || fail "the image does not hold the guest's buffered write at 65636"
# and nothing around them was touched
[ "$(head -c 1536 mnt/disk.img | tr -d '\0' | wc -c)" = 0 ] || fail "bytes before 1536 changed"
[ "$(tail -c +6145 mnt/disk.img | head -c 59492 | tr -d '\0' | wc -c)" = 0 ] ||
	fail "bytes between the two writes changed"
pass
