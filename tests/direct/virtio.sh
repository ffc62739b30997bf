# shellcheck shell=bash disable=SC2034,SC2154
# PCI and virtio cases of the direct tests: sourced by tests/direct/run
# (its helpers run_guest, expect, pass, fail and $tmp, $case, $status)
# when wisp is built with virtio-rng.  The guests are
# tests/guests/pci_enum.c, virtio_rng.c and virtio_hostile.c.

# Bus 0 through ECAM and 0xcf8: the host bridge, virtio-rng, BARs,
# read-only registers, capabilities.
case=pci-enum; run_guest pci_enum /dev/null
expect 0 '^PCI 00:00\.0 8086:0d57 class 0600$' '^PCI 00:[0-9a-f]{2}\.0 1af4:1044 class [0-9a-f]{4}$' \
	'BAR0 mem64 0x[0-9a-f]+ size 0x8000$' 'MSI-X [0-9]+ vectors, table BAR0' \
	'^RESULT pci_enum PASS'

# virtio-rng end to end: negotiation, MSI-X, requests by interrupt and
# by polling, masked vectors, EVENT_IDX.
case=virtio-rng; run_guest virtio_rng /dev/null
expect 0 '^virtio_rng: unoffered bit [0-9]+ refused' '^virtio_rng: 3 requests completed' \
	'^virtio_rng: masked vector pending, delivered on unmask' '^RESULT virtio_rng PASS'

# The same with two vCPUs: MSI-X messages name the boot CPU's APIC id.
case=virtio-rng-2cpu; run_guest virtio_rng /dev/null --cpus boot=2
expect 0 '^RESULT virtio_rng PASS'

# A hostile driver: malformed queues (NEEDS_RESET, recovery after a
# reset), junk in the MSI-X table, config space and BAR 0, BAR moves.
# wisp reports each broken queue once on stderr and keeps running: 10
# malformed queues, the rings outside RAM, and (almost always) the
# buffer the device wrote over its own rings.
case=virtio-hostile; run_guest virtio_hostile /dev/null
if expect 0 '^virtio_hostile: descriptor loop: NEEDS_RESET' \
	'^virtio_hostile: avail idx far ahead: NEEDS_RESET' \
	'^virtio_hostile: head >= queue size: NEEDS_RESET' \
	'^virtio_hostile: descriptor past the end of RAM: NEEDS_RESET' \
	'^virtio_hostile: BAR 0 moved .*device works there' '^RESULT virtio_hostile PASS'; then
	# the guest breaks the device 11 or 12 times; wisp reports the
	# first 8 and says it stops there (a hostile loop must not flood)
	n=$(grep -c 'needs a reset' "$tmp/err")
	if [ "$n" != 8 ] || ! grep 'needs a reset' "$tmp/err" | tail -n 1 | grep -q 'further ones not reported'; then
		passed=$((passed - 1)); fail "$n 'needs a reset' lines on stderr, expected 8, the last saying no more follow"
	fi
fi

# ---- virtio-blk (tests/guests/virtio_blk.c)
# The image: 4099 sectors of 32 lines "initial NNNNNNN\n" (NNNNNNN the
# sector number), then 100 bytes of 'x' that are not a whole sector (so
# capacity is 4099).  The guest writes "written NNNNNNN\n" sectors and
# zeroes others; the host then compares the image with what it must be.
if "$wisp" --features | grep -q virtio-blk; then
	# blk_pattern TAG FIRST COUNT: COUNT sectors of the pattern on stdout
	blk_pattern() {
		awk -v tag="$1" -v first="$2" -v n="$3" 'BEGIN {
			for (s = first; s < first + n; s++) {
				l = sprintf("%s %07d\n", tag, s)
				for (i = 0; i < 32; i++) printf "%s", l
			} }'
	}
	# blk_image FILE: a fresh image
	blk_image() {
		{ blk_pattern initial 0 4099; printf '%0100d' 0 | tr 0 x; } >"$1"
	}
	# blk_patch FILE SECTOR COUNT written|zero
	blk_patch() {
		if [ "$4" = zero ]; then
			dd if=/dev/zero of="$1" bs=512 seek="$2" count="$3" conv=notrunc status=none
		else
			blk_pattern "$4" "$2" "$3" |
				dd of="$1" bs=512 seek="$2" conv=notrunc status=none
		fi
	}
	# blk_compare IMAGE EXPECTED: fails the case with the first sector that differs
	blk_compare() {
		local at
		if ! at=$(cmp "$1" "$2" 2>&1); then
			at=$(printf '%s\n' "$at" | sed -n 's/.*byte \([0-9]*\).*/\1/p')
			passed=$((passed - 1))
			fail "image differs from the expected one at byte $at (sector $(((at - 1) / 512)))"
		fi
	}
	# what the read-write run leaves (the discarded range reads zeros:
	# wisp punches a hole; the spec itself promises nothing there)
	blk_expected_rw() {
		blk_image "$1"
		blk_patch "$1" 100 4 written
		blk_patch "$1" 200 2 written
		blk_patch "$1" 300 6 zero
		blk_patch "$1" 312 8 zero
	}

	# Read-write: reads (3 segments, re-framed), IOERR beyond capacity,
	# UNSUPP for unknown types, GET_ID, writes + FLUSH, WRITE_ZEROES,
	# DISCARD, the flag MUSTs; then the image on the host.
	case=virtio-blk; blk_image "$tmp/disk.img"
	run_guest virtio_blk /dev/null --console off \
		--disk "path=$tmp/disk.img,serial=wisp-disk-0" \
		--cmdline "blk.mode=rw blk.serial=wisp-disk-0"
	if expect 0 '^RESULT virtio_blk PASS' '^BLK capacity=4099 seg_max=[0-9]+ blk_size=512$' \
		"^BLK id='wisp-disk-0' used len 21$" '^BLK read at capacity: IOERR' \
		'^BLK wrote 100-103 \(3 segments\) and 200-201, FLUSH, read back$' \
		'^BLK WRITE_ZEROES 300-305 read zeros'; then
		blk_expected_rw "$tmp/disk.want"
		blk_compare "$tmp/disk.img" "$tmp/disk.want"
	fi

	# Read-only: RO offered, writes IOERR, the image byte-identical.
	case=virtio-blk-ro; blk_image "$tmp/disk.img"
	cp "$tmp/disk.img" "$tmp/disk.want"
	run_guest virtio_blk /dev/null --console off \
		--disk "path=$tmp/disk.img,readonly=on,serial=wisp-ro" \
		--cmdline "blk.mode=ro blk.serial=wisp-ro"
	if expect 0 '^RESULT virtio_blk PASS' '^BLK capacity=4099 ' \
		'^BLK read-only: writes IOERR'; then
		if ! cmp -s "$tmp/disk.img" "$tmp/disk.want"; then
			passed=$((passed - 1)); fail "the read-only run changed the image"
		fi
	fi

	# A serial of the full 20 bytes comes back without a NUL.
	case=virtio-blk-serial20; blk_image "$tmp/disk.img"
	run_guest virtio_blk /dev/null --console off \
		--disk "path=$tmp/disk.img,readonly=on,serial=0123456789abcdefghij" \
		--cmdline "blk.mode=ro blk.serial=0123456789abcdefghij"
	expect 0 '^RESULT virtio_blk PASS' "^BLK id='0123456789abcdefghij' used len 21$"

	# Two queues of 8: both work, each with its own MSI-X vector; no
	# serial: an empty ID.  Two vCPUs, as a disk has a queue per vCPU at
	# most (cloud-hypervisor's rule).
	case=virtio-blk-mq; blk_image "$tmp/disk.img"
	run_guest virtio_blk /dev/null --console off --cpus boot=2 \
		--disk "path=$tmp/disk.img,num_queues=2,queue_size=8" \
		--cmdline "blk.mode=rw blk.mq=2 blk.qsize=8"
	if expect 0 '^RESULT virtio_blk PASS' "^BLK id='' used len 21$" \
		'^BLK queues 0 and 1: reads'; then
		blk_expected_rw "$tmp/disk.want"
		blk_patch "$tmp/disk.want" 400 2 written
		blk_compare "$tmp/disk.img" "$tmp/disk.want"
	fi

	# ---- virtio-iommu (tests/guests/virtio_iommu.c): the disk behind
	# it; DMA through the guest's mappings, refused where unmapped or
	# read-only (NEEDS_RESET, a fault on stderr), sectors 500 and 501
	# written through a translated address.
	if "$wisp" --features | grep -q virtio-iommu; then
		case=virtio-iommu; blk_image "$tmp/disk.img"
		run_guest virtio_iommu /dev/null --console off --disk "path=$tmp/disk.img,iommu=on"
		if expect 0 '^virtio_iommu: VIOT: IOMMU .* disk .* behind it$' \
			'^virtio_iommu: PROBE: MSI window' '^virtio_iommu: bad requests refused' \
			'^virtio_iommu: without ACCESS_PLATFORM the disk takes guest-physical addresses' \
			'^virtio_iommu: read via iova 0x40000000 landed' \
			'^virtio_iommu: unmapped iova: NEEDS_RESET, page untouched' \
			'^virtio_iommu: fault event: MAPPING, write, endpoint 0x[0-9a-f]*, address 0x40000000$' \
			'^virtio_iommu: read-only iova: device write refused, device read allowed' \
			'^RESULT virtio_iommu PASS'; then
			if ! grep -q 'write of iova 0x40000000 refused: not mapped for writing' "$tmp/err"; then
				passed=$((passed - 1)); fail "no fault report for the unmapped iova on stderr"
			fi
			blk_image "$tmp/disk.want"
			blk_patch "$tmp/disk.want" 500 2 written
			blk_compare "$tmp/disk.img" "$tmp/disk.want"
		fi
		# Without virtio-iommu nobody asks for it, and nothing changes:
		# the guest finds no IOMMU function (checked by pci-enum).
	fi
	rm -f "$tmp/disk.img" "$tmp/disk.want"
fi

# ---- virtio-console (tests/guests/virtio_console.c)
if "$wisp" --features | grep -q virtio-console; then
	# Transmit: the console's file holds exactly the guest's lines.
	case=virtio-console-tx
	run_guest virtio_console /dev/null --console "file=$tmp/console.out" --cmdline con.mode=tx
	if expect 0 '^virtio_console: transmitted 5 lines' '^RESULT virtio_console PASS'; then
		printf '%s\n' 'CONSOLE hello through the transmitq' \
			'CONSOLE one line in three descriptors' 'CONSOLE batch 1' \
			'CONSOLE batch 2' 'CONSOLE batch 3' >"$tmp/console.want"
		if ! cmp -s "$tmp/console.out" "$tmp/console.want"; then
			passed=$((passed - 1))
			fail "console output: $(head -c 300 "$tmp/console.out" | tr '\n' '|')"
		fi
	fi

	# Receive: stdin goes to the console (the serial port, a file here,
	# does not take it); "ping\n" read before the guest looks, by the
	# receiveq's interrupt; the echo on the serial port and the console.
	case=virtio-console-rx
	timeout 60 "$wisp" --kernel "$guests/virtio_console.elf" --memory size=64M \
		--serial "file=$tmp/out" --console tty --cmdline con.mode=rx \
		<"$tmp/ping" >"$tmp/console.out" 2>"$tmp/err"
	status=$?
	if expect 0 '^virtio_console: waiting for input' '^RX ping$' \
		'^RESULT virtio_console PASS'; then
		if [ "$(cat "$tmp/console.out")" != "RX ping" ]; then
			passed=$((passed - 1))
			fail "console output '$(head -c 100 "$tmp/console.out")', expected 'RX ping'"
		fi
	fi

	# The same through a pipe that stays empty until the guest waits:
	# the guest must get there (nothing may block on the empty input).
	case=virtio-console-rx-late
	mkfifo "$tmp/con.fifo"
	rm -f "$tmp/out"	# no stale 'waiting' line for wait_for
	timeout 60 "$wisp" --kernel "$guests/virtio_console.elf" --memory size=64M \
		--serial "file=$tmp/out" --console tty --cmdline con.mode=rx \
		<"$tmp/con.fifo" >"$tmp/console.out" 2>"$tmp/err" &
	pid=$!
	exec 9>"$tmp/con.fifo"
	if wait_for '^virtio_console: waiting for input'; then waited=yes; else waited=no; fi
	printf 'ping\n' >&9
	exec 9>&-
	wait $pid; status=$?
	if [ "$waited" = no ]; then
		fail "no 'waiting for input' in 10 s while the input pipe was empty (the guest got no further than DRIVER_OK)"
	elif expect 0 '^RX ping$' '^RESULT virtio_console PASS'; then
		if [ "$(cat "$tmp/console.out")" != "RX ping" ]; then
			passed=$((passed - 1))
			fail "console output '$(head -c 100 "$tmp/console.out")', expected 'RX ping'"
		fi
	fi
	rm -f "$tmp/con.fifo"
fi

# ---- virtio-pmem (tests/guests/virtio_pmem.c)
# Each file holds 32-byte records (a line padded with spaces to 31 bytes,
# then "\n"), zeros elsewhere: "initial TAG 0" at offset 0 and "initial
# TAG OFF" at OFF = the region's size - 32.  The guest checks them, writes
# "guest TAG OFF" records at 32, size / 2 and size - 64, and FLUSHes;
# the host then compares each file with what it must be.
if "$wisp" --features | grep -q virtio-pmem; then
	# pmem_rec FILE OFF WORD TAG: the record "WORD TAG OFF" at OFF
	pmem_rec() {
		printf '%-31s\n' "$3 $4 $2" |
			dd of="$1" bs=32 seek=$(($2 / 32)) conv=notrunc status=none
	}
	# pmem_file FILE BYTES SIZE TAG: a fresh file of BYTES, its first
	# SIZE bytes (the region) with the initial records at both ends
	pmem_file() {
		rm -f "$1"
		truncate -s "$2" "$1"
		pmem_rec "$1" 0 initial "$4"
		pmem_rec "$1" $(($3 - 32)) initial "$4"
	}
	# pmem_guest FILE SIZE TAG: adds the records the guest writes
	pmem_guest() {
		pmem_rec "$1" 32 guest "$3"
		pmem_rec "$1" $(($2 / 2)) guest "$3"
		pmem_rec "$1" $(($2 - 64)) guest "$3"
	}
	# pmem_compare FILE EXPECTED: fails the case at the first byte that differs
	pmem_compare() {
		local at
		if ! at=$(cmp "$1" "$2" 2>&1); then
			passed=$((passed - 1))
			fail "$(basename "$1") differs from the expected file: $at"
			return 1
		fi
	}
	mib=1048576

	# The region is the file: the guest's records reach it (FLUSH).
	case=virtio-pmem
	pmem_file "$tmp/pmem0.img" $((4 * mib)) $((4 * mib)) alpha
	run_guest virtio_pmem /dev/null --console off --pmem "file=$tmp/pmem0.img" \
		--cmdline "pmem.tag0=alpha pmem.size0=$((4 * mib))"
	if expect 0 '^PMEM 00:[0-9a-f]{2}\.[0-7] start=0x[0-9a-f]+ size=4194304 ' \
		'^PMEM alpha: initial records at 0 and 4194272$' \
		'^PMEM alpha: wrote records at 32, 2097152 and 4194240, read back$' \
		'^PMEM alpha: FLUSH ret 0, used len 4, by interrupt' \
		'^PMEM alpha: unknown request types 1 and 0xffffffff: ret ' \
		'^PMEM alpha: after a device reset: same region, records intact' \
		'^RESULT virtio_pmem PASS'; then
		pmem_file "$tmp/pmem0.want" $((4 * mib)) $((4 * mib)) alpha
		pmem_guest "$tmp/pmem0.want" $((4 * mib)) alpha
		pmem_compare "$tmp/pmem0.img" "$tmp/pmem0.want"
	fi

	# discard_writes=on: the guest reads its own writes back (also after
	# a device reset), FLUSH succeeds, the file stays byte-identical.
	case=virtio-pmem-discard
	pmem_file "$tmp/pmem0.img" $((4 * mib)) $((4 * mib)) alpha
	cp "$tmp/pmem0.img" "$tmp/pmem0.want"
	run_guest virtio_pmem /dev/null --console off \
		--pmem "file=$tmp/pmem0.img,discard_writes=on" \
		--cmdline "pmem.tag0=alpha pmem.size0=$((4 * mib))"
	if expect 0 '^PMEM alpha: wrote records at 32, 2097152 and 4194240, read back$' \
		'^PMEM alpha: FLUSH ret 0' \
		'^PMEM alpha: after a device reset: same region, records intact' \
		'^RESULT virtio_pmem PASS'; then
		if ! cmp -s "$tmp/pmem0.img" "$tmp/pmem0.want"; then
			passed=$((passed - 1))
			fail "discard_writes=on changed the file: $(cmp "$tmp/pmem0.img" "$tmp/pmem0.want" 2>&1)"
		fi
	fi

	# Two devices: disjoint regions at different starts, each its own
	# file; size=2M maps only the first 2 MiB of a 3 MiB file (its last
	# record, past the region, stays as it was).
	case=virtio-pmem-two
	pmem_file "$tmp/pmem0.img" $((4 * mib)) $((4 * mib)) alpha
	pmem_file "$tmp/pmem1.img" $((3 * mib)) $((2 * mib)) beta
	pmem_rec "$tmp/pmem1.img" $((3 * mib - 32)) outside beta
	pmem_cmdline="pmem.devs=2 pmem.tag0=alpha pmem.size0=$((4 * mib))"
	pmem_cmdline="$pmem_cmdline pmem.tag1=beta pmem.size1=$((2 * mib))"
	run_guest virtio_pmem /dev/null --console off --pmem "file=$tmp/pmem0.img" \
		--pmem "file=$tmp/pmem1.img,size=2M" --cmdline "$pmem_cmdline"
	if expect 0 '^PMEM alpha: after a device reset' '^PMEM beta: after a device reset' \
		'^PMEM 2 device\(s\), disjoint regions' '^RESULT virtio_pmem PASS'; then
		starts=$(sed -n 's/^PMEM 00:.* start=\(0x[0-9a-f]*\) .*/\1/p' "$tmp/out" | sort -u | wc -l)
		if [ "$starts" != 2 ]; then
			passed=$((passed - 1)); fail "$starts distinct region starts, expected 2"
		else
			pmem_file "$tmp/pmem0.want" $((4 * mib)) $((4 * mib)) alpha
			pmem_guest "$tmp/pmem0.want" $((4 * mib)) alpha
			pmem_file "$tmp/pmem1.want" $((3 * mib)) $((2 * mib)) beta
			pmem_rec "$tmp/pmem1.want" $((3 * mib - 32)) outside beta
			pmem_guest "$tmp/pmem1.want" $((2 * mib)) beta
			pmem_compare "$tmp/pmem0.img" "$tmp/pmem0.want" &&
				pmem_compare "$tmp/pmem1.img" "$tmp/pmem1.want"
		fi
	fi
	rm -f "$tmp"/pmem[01].img "$tmp"/pmem[01].want
fi

# ---- virtio-vsock (tests/guests/virtio_vsock.c, host side
# tests/direct/vsock_host.c): the hybrid model both ways, a refused
# port, hostile packets; bad --vsock values are refused before the VM.
if "$wisp" --features | grep -q virtio-vsock; then
	case=virtio-vsock
	# The host side connects once the guest says its driver is up: the
	# driver's device reset drops connections made before it (a host
	# program that starts slowly, like the Python one this was, hid that)
	rm -f "$tmp/out"
	(if wait_for '^VSOCK ready'; then
		exec "$guests/host/vsock_host" "$tmp/vsock.sock"
	fi
	echo "HOST FAIL the guest never printed 'VSOCK ready'"
	exit 1) >"$tmp/host.out" 2>&1 &
	hpid=$!
	run_guest virtio_vsock /dev/null --console off --vsock "cid=3,socket=$tmp/vsock.sock"
	wait $hpid; hstatus=$?
	failed_before=$failed
	if expect 0 '^VSOCK guest_cid=3 ' '^VSOCK accepted host port [0-9]+: ping -> pong, closed$' \
		'^VSOCK connected to host port 5678: hello -> world, closed$' \
		'^VSOCK host port 5679 refused: RST$' \
		'^VSOCK hostile packets dropped, unknown connection: RST$' \
		'^RESULT virtio_vsock PASS'; then
		if [ "$hstatus" != 0 ]; then
			passed=$((passed - 1)); fail "host side: $(tr '\n' '|' <"$tmp/host.out")"
		elif [ -e "$tmp/vsock.sock" ]; then
			passed=$((passed - 1)); fail "wisp left $tmp/vsock.sock behind"
		elif ! grep -q '^wisp: virtio-vsock: guest packet dropped (bad header, length or CIDs), [0-9]* so far' "$tmp/err"; then
			# the hostile packets are dropped and counted, and wisp says so
			passed=$((passed - 1)); fail "no 'guest packet dropped' report on stderr"
		fi
	fi
	[ "$failed" = "$failed_before" ] || sed 's/^/    | host side: /' "$tmp/host.out"
	rm -f "$tmp"/vsock.sock*

	case=bad-vsock-cid
	timeout 20 "$wisp" --kernel "$guests/hello.elf" --vsock "cid=2,socket=$tmp/v.sock" \
		</dev/null >"$tmp/out" 2>"$tmp/err"
	status=$?
	expect_error 2 "^wisp: --vsock: 'cid=2': CIDs 0-2 are reserved"

	case=bad-vsock-not-socket
	: >"$tmp/notsock"
	timeout 20 "$wisp" --kernel "$guests/hello.elf" --vsock "cid=3,socket=$tmp/notsock" \
		</dev/null >"$tmp/out" 2>"$tmp/err"
	status=$?
	expect_error 2 "^wisp: --vsock: 'socket=.*notsock': exists and is not a socket"
	rm -f "$tmp/notsock"
fi

# ---- virtio-net: a TAP that does not exist and cannot be created (no
# CAP_NET_ADMIN: dropped from the bounding set when we are root; an
# unprivileged runner has none anyway) is refused before the guest runs,
# in one line, exit 2, and no TAP is left behind.
if "$wisp" --features | grep -q virtio-net; then
	case=virtio-net-tap-noperm
	noperm=()
	[ "$(id -u)" = 0 ] && noperm=(setpriv --bounding-set=-net_admin --inh-caps=-net_admin --)
	# setpriv first: busybox's timeout runs its own applets before any
	# program in PATH, and busybox's setpriv has no --bounding-set
	"${noperm[@]}" timeout 20 "$wisp" --kernel "$guests/hello.elf" --memory size=64M \
		--net tap=wispnoperm0 </dev/null >"$tmp/out" 2>"$tmp/err"
	status=$?
	if ip link show wispnoperm0 >/dev/null 2>&1; then
		fail "a TAP wispnoperm0 exists"
	else
		expect_error 2 "^wisp: --net: cannot create TAP 'wispnoperm0': Operation not permitted$"
	fi
fi
