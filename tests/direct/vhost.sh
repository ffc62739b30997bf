# shellcheck shell=bash disable=SC2034,SC2154
# vhost-user cases of the direct tests: sourced by tests/direct/run (its
# helpers run_guest, expect, expect_error, pass, fail and $tmp, $case,
# $status) when wisp is built with vhost-user-blk.  The guest is
# tests/guests/virtio_blk.c against qemu-storage-daemon; the bad
# back-ends are tests/direct/vhost_fake.c (built into $guests/host).

vhost_fake="$guests/host/vhost_fake"
vsock="$tmp/vhost.sock"

# vhost_image FILE: 4099 sectors of "initial NNNNNNN\n" lines (the
# virtio-blk pattern, whole sectors: the back-end rounds a partial one up)
vhost_image() {
	awk -v first=0 -v n=4099 'BEGIN {
		for (s = first; s < first + n; s++) {
			l = sprintf("initial %07d\n", s)
			for (i = 0; i < 32; i++) printf "%s", l
		} }' >"$1"
}

# vhost_patch FILE SECTOR COUNT written|zero
vhost_patch() {
	if [ "$4" = zero ]; then
		dd if=/dev/zero of="$1" bs=512 seek="$2" count="$3" conv=notrunc status=none
	else
		awk -v first="$2" -v n="$3" 'BEGIN {
			for (s = first; s < first + n; s++) {
				l = sprintf("written %07d\n", s)
				for (i = 0; i < 32; i++) printf "%s", l
			} }' | dd of="$1" bs=512 seek="$2" conv=notrunc status=none
	fi
}

# qsd_start IMAGE [export options]: qemu-storage-daemon exporting IMAGE
# on $vsock; its pid in $qsd_pid
qsd_start() {
	local image=$1
	shift
	rm -f "$vsock"
	qemu-storage-daemon --blockdev "driver=file,filename=$image,node-name=disk" \
		--export "type=vhost-user-blk,id=exp,node-name=disk,addr.type=unix,addr.path=$vsock$*" \
		>"$tmp/qsd.log" 2>&1 &
	qsd_pid=$!
	for _ in $(seq 50); do [ -S "$vsock" ] && return 0; sleep 0.1; done
	return 1
}

qsd_stop() {
	kill "$qsd_pid" 2>/dev/null
	wait "$qsd_pid" 2>/dev/null
}

# fake_start MODE: the misbehaving back-end on $vsock
fake_start() {
	rm -f "$vsock"
	"$vhost_fake" "$vsock" "$1" </dev/null >/dev/null 2>&1 &
	fake_pid=$!
	for _ in $(seq 50); do [ -S "$vsock" ] && return 0; sleep 0.1; done
	return 1
}

fake_stop() {
	kill "$fake_pid" 2>/dev/null
	wait "$fake_pid" 2>/dev/null
}

vbad() { timeout 30 "$wisp" "$@" </dev/null >"$tmp/out" 2>"$tmp/err"; status=$?; }
vdisk="vhost_user=on,socket=$vsock"
shared="--memory size=64M,shared=on"

if command -v qemu-storage-daemon >/dev/null; then
	# Read-write through qemu-storage-daemon: the virtio_blk guest's
	# reads, errors, GET_ID, writes, FLUSH, WRITE_ZEROES and DISCARD, a
	# completion signalled on the call fd while the vector is masked
	# (pending, delivered on unmask); then the image on the host.
	case=vhost-user-blk; vhost_image "$tmp/vdisk.img"
	if qsd_start "$tmp/vdisk.img" ",writable=on"; then
		# shellcheck disable=SC2086
		run_guest virtio_blk /dev/null --console off $shared --disk "$vdisk" \
			--cmdline "blk.mode=rw blk.serial=vhost_user_blk blk.backend=vhost"
		qsd_stop
		if expect 0 '^RESULT virtio_blk PASS' '^BLK capacity=4099 ' \
			'^BLK wrote 100-103 \(3 segments\) and 200-201, FLUSH, read back$' \
			'^BLK WRITE_ZEROES 300-305 read zeros' \
			'^BLK masked vector and function: pending in the PBA, delivered on unmask$'; then
			vhost_image "$tmp/vdisk.want"
			vhost_patch "$tmp/vdisk.want" 100 4 written
			vhost_patch "$tmp/vdisk.want" 200 2 written
			vhost_patch "$tmp/vdisk.want" 300 6 zero
			# DISCARD leaves 312-319 to the back-end: take them as they are
			dd if="$tmp/vdisk.img" of="$tmp/vdisk.want" bs=512 skip=312 seek=312 count=8 \
				conv=notrunc status=none
			if ! cmp -s "$tmp/vdisk.img" "$tmp/vdisk.want"; then
				passed=$((passed - 1)); fail "the image differs from the expected one"
			fi
		fi
	else
		fail "qemu-storage-daemon did not start: $(head -c 300 "$tmp/qsd.log")"
	fi

	# Read-only export: RO offered, writes IOERR, the image unchanged.
	case=vhost-user-blk-ro; vhost_image "$tmp/vdisk.img"
	cp "$tmp/vdisk.img" "$tmp/vdisk.want"
	if qsd_start "$tmp/vdisk.img" ",writable=off"; then
		# shellcheck disable=SC2086
		run_guest virtio_blk /dev/null --console off $shared --disk "$vdisk" \
			--cmdline "blk.mode=ro blk.serial=vhost_user_blk blk.backend=vhost"
		qsd_stop
		if expect 0 '^RESULT virtio_blk PASS' '^BLK read-only: writes IOERR' &&
			! cmp -s "$tmp/vdisk.img" "$tmp/vdisk.want"; then
			passed=$((passed - 1)); fail "the read-only run changed the image"
		fi
	else
		fail "qemu-storage-daemon did not start"
	fi

	# Two queues of 8 on a back-end serving two: each queue completes
	# through its own MSI-X vector (the back-end signals the irqfd).
	case=vhost-user-blk-mq; vhost_image "$tmp/vdisk.img"
	if qsd_start "$tmp/vdisk.img" ",writable=on,num-queues=2"; then
		# shellcheck disable=SC2086
		run_guest virtio_blk /dev/null --console off $shared \
			--disk "$vdisk,num_queues=2,queue_size=8" \
			--cmdline "blk.mode=rw blk.mq=2 blk.qsize=8 blk.serial=vhost_user_blk blk.backend=vhost"
		qsd_stop
		expect 0 '^RESULT virtio_blk PASS' '^BLK queues 0 and 1: reads'
	else
		fail "qemu-storage-daemon did not start"
	fi

	# More queues than the back-end serves: refused before the guest runs.
	case=vhost-user-blk-too-many-queues; vhost_image "$tmp/vdisk.img"
	if qsd_start "$tmp/vdisk.img" ",writable=on"; then
		# shellcheck disable=SC2086
		vbad --kernel "$guests/virtio_blk.elf" $shared --disk "$vdisk,num_queues=4"
		qsd_stop
		expect_error 2 "^wisp: --disk: socket=.*: 4 queues but the back-end serves 1$"
	fi

	# --memory without shared=on: the back-end could not map guest RAM.
	case=vhost-user-blk-not-shared
	if qsd_start "$tmp/vdisk.img" ",writable=on"; then
		vbad --kernel "$guests/virtio_blk.elf" --memory size=64M --disk "$vdisk"
		qsd_stop
		expect_error 2 "^wisp: --disk: vhost-user needs guest RAM the back-end can map: add --memory shared=on$"
	fi
	rm -f "$tmp/vdisk.img" "$tmp/vdisk.want"
else
	case=vhost-user-blk; skip "no qemu-storage-daemon; scripts/setup installs it"
fi

# ---- bad sockets and bad back-ends: one line, status 2, no guest
case=vhost-user-socket-missing
# shellcheck disable=SC2086
vbad --kernel "$guests/virtio_blk.elf" $shared --disk "vhost_user=on,socket=$tmp/nonexistent.sock"
expect_error 2 "^wisp: --disk: socket=.*nonexistent.sock: No such file or directory$"

case=vhost-user-socket-not-socket
: >"$tmp/plain"
# shellcheck disable=SC2086
vbad --kernel "$guests/virtio_blk.elf" $shared --disk "vhost_user=on,socket=$tmp/plain"
expect_error 2 "^wisp: --disk: socket=.*plain: not a Unix socket$"

case=vhost-user-socket-not-listening
"$vhost_fake" "$tmp/dead.sock" dead
# shellcheck disable=SC2086
vbad --kernel "$guests/virtio_blk.elf" $shared --disk "vhost_user=on,socket=$tmp/dead.sock"
expect_error 2 "^wisp: --disk: socket=.*dead.sock: cannot connect: Connection refused \(nothing is listening there\)$"

case=vhost-user-no-socket-key
vbad --kernel "$guests/virtio_blk.elf" --disk "vhost_user=on"
expect_error 2 "^wisp: --disk: socket=PATH is required with vhost_user=on"

# vhost_fake_case MODE REGEX: the fake back-end in MODE makes wisp
# refuse to start with a message matching REGEX
vhost_fake_case() {
	case=vhost-user-backend-$1
	if ! fake_start "$1"; then
		fail "the fake back-end did not start"
		return
	fi
	# shellcheck disable=SC2086
	vbad --kernel "$guests/virtio_blk.elf" $shared --disk "$vdisk"
	fake_stop
	expect_error 2 "^wisp: --disk: socket=.*: $2"
}
vhost_fake_case close 'the back-end closed the connection \(request 1\)$'
vhost_fake_case garbage 'answered request 1 with request [0-9]+$'
vhost_fake_case short 'reply to request 1 has 3 bytes, expected 8$'
vhost_fake_case fds 'reply to request 1 carried file descriptors$'
vhost_fake_case old 'the back-end lacks VIRTIO_F_VERSION_1, which the device needs$'
vhost_fake_case noconfig 'the back-end does not offer its configuration \(protocol feature CONFIG\)$'
vhost_fake_case zero 'unusable configuration from the back-end: capacity 0$'
vhost_fake_case owner 'the back-end closed the connection( \(request [0-9]+\))?$'
vhost_fake_case silent 'no reply within the timeout \(request 1\)$'

# A back-end that goes away when the driver starts the device: wisp
# reports it and keeps trying to reconnect; the guest's request gets no
# answer (it gives up), wisp itself is unharmed.
case=vhost-user-backend-runtime-hangup
if fake_start runtime; then
	# shellcheck disable=SC2086
	run_guest virtio_blk /dev/null --console off $shared --disk "$vdisk" \
		--cmdline "blk.mode=ro blk.backend=vhost"
	fake_stop
	if [ "$status" != 0 ]; then
		fail "exit status $status, expected 0 (the guest reports and powers off)"
	elif ! grep -q 'RESULT virtio_blk FAIL' "$tmp/out"; then
		fail "the guest's request was answered without a back-end"
	elif ! grep -Eq "^wisp: vhost-user-blk0: back-end at '.*': the back-end closed the connection; reconnecting$" "$tmp/err"; then
		fail "no report of the back-end going away"
	else
		pass
	fi
fi

# Inflight tracking: a back-end offering INFLIGHT_SHMFD gives wisp its
# memory at the driver's start, then dies; its successor must get that
# same memory back (SET_INFLIGHT_FD), and wisp must not ask for another.
# (The fake serves no request: the guest's first read times out.)
case=vhost-user-blk-inflight-kept
rm -f "$vsock"
"$vhost_fake" "$vsock" inflight </dev/null >"$tmp/fake.out" 2>&1 &
fake_pid=$!
for _ in $(seq 50); do [ -S "$vsock" ] && break; sleep 0.1; done
# shellcheck disable=SC2086
run_guest virtio_blk /dev/null --console off $shared --disk "$vdisk" \
	--cmdline "blk.mode=ro blk.backend=vhost"
fake_stop
if [ "$status" != 0 ]; then
	fail "exit status $status, expected 0"
elif ! grep -q '^INFLIGHT connection 1: GET_INFLIGHT_FD for 1 queue(s) of 128$' "$tmp/fake.out" ||
	! grep -q '^INFLIGHT connection 1: SET_INFLIGHT_FD with 1 fd(s), 4096 bytes, the region holding our marker$' "$tmp/fake.out"; then
	fail "first connection: $(tr '\n' '|' <"$tmp/fake.out")"
elif ! grep -Eq "^wisp: vhost-user-blk0: back-end at '.*' reconnected; queues restored$" "$tmp/err"; then
	fail "wisp did not reconnect"
elif grep -q '^INFLIGHT connection 2: GET_INFLIGHT_FD' "$tmp/fake.out" ||
	! grep -q '^INFLIGHT connection 2: SET_INFLIGHT_FD with 1 fd(s), 4096 bytes, the region holding our marker$' "$tmp/fake.out"; then
	fail "the restarted back-end did not get the first one's inflight memory: $(tr '\n' '|' <"$tmp/fake.out")"
else
	pass
fi

# ---- vhost-user-fs and vhost-user-net: the same checks at start-up
if "$wisp" --features | grep -q vhost-user-fs; then
	case=vhost-user-fs-socket-missing
	# shellcheck disable=SC2086
	vbad --kernel "$guests/hello.elf" $shared --fs "tag=share,socket=$tmp/nonexistent.sock"
	expect_error 2 "^wisp: --fs: socket=.*nonexistent.sock: No such file or directory$"

	case=vhost-user-fs-bad-tag
	vbad --kernel "$guests/hello.elf" --fs "tag=0123456789012345678901234567890123456,socket=$vsock"
	expect_error 2 "^wisp: --fs: 'tag=0123456789012345678901234567890123456': 1 to 36 bytes$"

	fsd="$(dirname "$wisp")/wisp-fsd"
	if [ -x "$fsd" ]; then
		mkdir -p "$tmp/share"
		# wisp-fsd itself: a directory that is not there, a socket path
		# that is a file
		case=wisp-fsd-bad-dir
		timeout 10 "$fsd" --socket "$vsock" --dir "$tmp/nonexistent" >"$tmp/out" 2>"$tmp/err"
		status=$?
		expect_error 2 "^wisp-fsd: cannot open the shared directory '.*nonexistent': No such file or directory$"
		case=wisp-fsd-socket-is-a-file
		timeout 10 "$fsd" --socket "$tmp/plain" --dir "$tmp/share" >"$tmp/out" 2>"$tmp/err"
		status=$?
		expect_error 2 "^wisp-fsd: --socket .*plain: exists and is not a socket$"

		# a good wisp-fsd, but guest RAM that it could not map
		case=vhost-user-fs-not-shared
		rm -f "$vsock"
		"$fsd" --socket "$vsock" --dir "$tmp/share" </dev/null >/dev/null 2>&1 &
		fsd_pid=$!
		for _ in $(seq 50); do [ -S "$vsock" ] && break; sleep 0.1; done
		vbad --kernel "$guests/hello.elf" --memory size=64M --fs "tag=share,socket=$vsock"
		expect_error 2 "^wisp: --fs: vhost-user needs guest RAM the back-end can map: add --memory shared=on$"

		# and with shared memory the device is created and the guest runs
		# (the test guests have no virtio-fs driver: negotiation only)
		case=vhost-user-fs-handshake
		# shellcheck disable=SC2086
		run_guest hello /dev/null --console off $shared --fs "tag=share,socket=$vsock"
		expect 0 '^RESULT hello PASS'
		kill "$fsd_pid" 2>/dev/null
		wait "$fsd_pid" 2>/dev/null
	else
		case=wisp-fsd; skip "no wisp-fsd beside $wisp"
	fi
fi
if "$wisp" --features | grep -q vhost-user-net; then
	case=vhost-user-net-socket-missing
	# shellcheck disable=SC2086
	vbad --kernel "$guests/hello.elf" $shared --net "vhost_user=on,socket=$tmp/nonexistent.sock"
	expect_error 2 "^wisp: --net: socket=.*nonexistent.sock: No such file or directory$"

	case=vhost-user-net-backend-old
	if fake_start old; then
		# shellcheck disable=SC2086
		vbad --kernel "$guests/hello.elf" $shared --net "$vdisk"
		fake_stop
		expect_error 2 "^wisp: --net: socket=.*: the back-end lacks VIRTIO_F_VERSION_1, which the device needs$"
	fi

	case=vhost-user-net-odd-queues
	# shellcheck disable=SC2086
	vbad --kernel "$guests/hello.elf" $shared --net "vhost_user=on,socket=$vsock,num_queues=3"
	expect_error 2 "^wisp: --net: 'num_queues=3': must be even \(a receive and a transmit queue per pair\)$"

	# two pairs asked, the back-end serves one: refused before the guest runs
	case=vhost-user-net-too-many-pairs
	if fake_start onepair; then
		# shellcheck disable=SC2086
		vbad --kernel "$guests/hello.elf" $shared --net "$vdisk,num_queues=4"
		fake_stop
		expect_error 2 "^wisp: --net: socket=.*: 2 queue pairs but the back-end serves 1$"
	fi
fi
rm -rf "$vsock" "$tmp/plain" "$tmp/dead.sock" "$tmp/share"
