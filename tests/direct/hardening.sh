# shellcheck shell=bash disable=SC2034,SC2154
# Hardening cases of the direct tests, sourced by tests/direct/run (its
# helpers run_guest, expect, pass, fail and $tmp, $case, $status) when
# wisp has virtio-blk and virtio-rng.  Guests: tests/guests/hostile_blk.c
# and blk_ioerr.c.  docs/security.md lists what each shows.

# an image whose sector 0 starts with 'i' (hostile_blk reads it)
hardening_image() {
	{ printf 'initial'; head -c $((1024 * 1024 - 7)) /dev/zero; } >"$1"
}

# A hostile driver against virtio-blk, virtio-rng beside it: a reused
# head, a 0xffffffff-byte descriptor, sectors past 2^64 bytes, 100000
# notifications per queue.  The disk reports NEEDS_RESET (and wisp says
# so on stderr), the rng keeps answering, wisp stays up.
case=hostile-blk
hardening_image "$tmp/hostile.img"
run_guest hostile_blk /dev/null --disk path="$tmp/hostile.img"
if expect 0 '^hostile_blk: reused head: NEEDS_RESET, status 0x4f; rng still answers' \
	'^hostile_blk: length 0xffffffff: NEEDS_RESET, status 0x4f; rng still answers' \
	'^hostile_blk: overflowing sectors: IOERR, queue fine' \
	'^hostile_blk: 100000 notifications on each queue, both devices answer' \
	'^RESULT hostile_blk PASS'; then
	if [ "$(grep -c 'virtio-blk.*needs a reset' "$tmp/err")" != 2 ]; then
		passed=$((passed - 1)); fail "wisp did not report the disk's two resets on stderr"
	fi
fi

# Host disk errors: an image on a full tmpfs.  Needs mount (root).
case=blk-ioerr-full
mnt="$tmp/full"
mkdir -p "$mnt"
if mount -t tmpfs -o size=1m tmpfs "$mnt" 2>/dev/null; then
	hardening_image "$tmp/src.img"
	# sparse: 1 MiB of image, only its first block on the filesystem
	dd if="$tmp/src.img" of="$mnt/disk.img" bs=4096 count=1 status=none
	truncate -s 1M "$mnt/disk.img"
	dd if=/dev/zero of="$mnt/filler" bs=4096 status=none 2>/dev/null || true
	run_guest blk_ioerr /dev/null --disk path="$mnt/disk.img" --cmdline ioerr=full
	expect 0 '^blk_ioerr: write [0-9]+ \(sector [0-9]+\) came back IOERR' \
		'^blk_ioerr: flush status [01]; sector 0 still reads' '^RESULT blk_ioerr PASS'
	umount "$mnt"
else
	skip "cannot mount a tmpfs here: not root?"
fi

# Host disk errors: a device-mapper "error" target, where there is one.
case=blk-ioerr-dm
dm=wisp-ioerr-$$
if dmsetup create "$dm" --table "0 8192 error" 2>/dev/null; then
	# without udev (the nested lab's host) nothing else makes /dev/mapper/NAME
	dmsetup mknodes "$dm"
	run_guest blk_ioerr /dev/null --disk path=/dev/mapper/"$dm" --cmdline ioerr=all
	expect 0 '^blk_ioerr: reads and writes came back IOERR' '^RESULT blk_ioerr PASS'
	dmsetup remove "$dm"
else
	skip "no device-mapper here (dmsetup, dm-mod)"
fi

# Unprivileged: wisp needs only /dev/kvm and the files it is given.  As
# "nobody" with /dev/kvm's group, the hostile-blk guest runs the same.
case=unprivileged
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	udir=$(mktemp -d)
	chmod 755 "$udir"
	hardening_image "$udir/disk.img"
	chown 65534:65534 "$udir/disk.img"
	out=$(setpriv --reuid=65534 --regid=65534 --groups="$(stat -c %g /dev/kvm)" \
		timeout 60 "$wisp" --kernel "$guests/hostile_blk.elf" --memory size=64M \
		--serial tty --disk path="$udir/disk.img" </dev/null 2>"$tmp/err")
	status=$?
	printf '%s\n' "$out" >"$tmp/out"
	expect 0 '^RESULT hostile_blk PASS'

	# ... and with a TAP that exists: one made persistent for that user
	# (as `ip tuntap add ... user UID` does) is opened without
	# CAP_NET_ADMIN, and wisp leaves it as it was; one owned by root is
	# refused in one line, exit 2; so is one whose multi_queue setting
	# differs from num_queues (with the reason, not just EINVAL).  The
	# lab case unprivileged-net has a real guest ping through such a TAP.
	utap=wisputap$$ rtap=wisprtap$$
	if ! "$wisp" --features | grep -q virtio-net; then
		case=unprivileged-tap; skip "virtio-net not built in"
	elif ip tuntap add dev "$utap" mode tap user 65534 vnet_hdr 2>/dev/null &&
		ip tuntap add dev "$rtap" mode tap user 0 vnet_hdr 2>/dev/null; then
		as_nobody() {
			setpriv --reuid=65534 --regid=65534 --groups="$(stat -c %g /dev/kvm)" \
				timeout 60 "$wisp" --memory size=64M --serial tty "$@" </dev/null \
				>"$tmp/out" 2>"$tmp/err"
			status=$?
		}
		case=unprivileged-tap
		as_nobody --kernel "$guests/hostile_blk.elf" --disk path="$udir/disk.img" \
			--net tap="$utap"
		if ! ip link show "$utap" >/dev/null 2>&1; then
			fail "the user's TAP $utap is gone after wisp exited"
		else
			expect 0 '^RESULT hostile_blk PASS'
		fi
		case=unprivileged-tap-not-owner
		as_nobody --kernel "$guests/hello.elf" --net tap="$rtap"
		expect_error 2 "^wisp: --net: cannot open TAP '$rtap': Operation not permitted$"
		case=unprivileged-tap-multiqueue
		as_nobody --kernel "$guests/hello.elf" --net tap="$utap",num_queues=4
		expect_error 2 "^wisp: --net: cannot open TAP '$utap': it was made without multi_queue, which num_queues above 2 needs$"
	else
		case=unprivileged-tap; skip "cannot make a TAP here: ip tuntap"
	fi
	ip link del "$utap" 2>/dev/null
	ip link del "$rtap" 2>/dev/null
	rm -rf "$udir"
else
	skip "needs root and setpriv to drop to another user"
fi

# The filters are really on every thread with --seccomp true (the
# default) and log, and on none with false: /proc's Seccomp field (2:
# filtered) of each of wisp's threads while the guest waits for input.
for mode in true log false; do
	case=seccomp-$mode
	rm -f "$tmp/sfifo"
	mkfifo "$tmp/sfifo"
	"$wisp" --kernel "$guests/serial_rx.elf" --memory size=64M --serial tty \
		--disk path="$tmp/hostile.img" --seccomp $mode <"$tmp/sfifo" >"$tmp/out" 2>"$tmp/err" &
	pid=$!
	exec 9>"$tmp/sfifo"
	if wait_for '^RX ready'; then
		# every thread: main, the vCPU, the disk's I/O threads
		states=$(cat /proc/$pid/task/*/status | sed -n 's/^Seccomp:[[:space:]]*//p' | sort | uniq -c | tr -s ' ')
		nthreads=$(ls /proc/$pid/task | wc -l)
		kill -KILL $pid
		want=2
		[ $mode = false ] && want=0
		if [ "$states" = " $nthreads $want" ] && [ "$nthreads" -ge 6 ]; then
			pass
		else
			fail "thread Seccomp states '$states' over $nthreads threads, expected all $want"
		fi
	else
		kill -KILL $pid
		fail "the guest never waited for input"
	fi
	wait $pid 2>/dev/null
	exec 9>&-
done
