#!/usr/bin/env bash
# Bad input that wisp must refuse before it opens /dev/kvm: each case
# needs no working KVM, so it runs on a host without /dev/kvm as on one
# with it.  Each checks the exit status, that stderr is exactly one line
# matching the expected text, that stdout is empty, and that nothing was
# left behind (no TAP, no socket, no file).  The /dev/kvm cases (absent,
# a regular file, unreadable) run wisp in a mount namespace of its own
# with an empty tmpfs on /dev, as root; they are skipped otherwise.
#   tests/direct/input.sh WISP GUEST_DIR     on its own
#   . tests/direct/input.sh                  from tests/direct/run
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -u
	wisp=${1:?usage: tests/direct/input.sh WISP GUEST_DIR}
	guests=${2:?usage: tests/direct/input.sh WISP GUEST_DIR}
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	passed=0 failed=0
	pass() { echo "INPUT $case: PASS"; passed=$((passed + 1)); }
	fail() {
		echo "INPUT $case: FAIL $*"
		sed 's/^/    | /' "$tmp/out" "$tmp/err" 2>/dev/null | tail -15
		failed=$((failed + 1))
	}
	skip() { echo "INPUT $case: SKIP ($*)"; }
	features=$("$wisp" --features)
	built_in() { grep -q "^  $1 " <<<"$features"; }
	# expect_error STATUS REGEX: one line on stderr, nothing on stdout
	expect_error() {
		local want=$1 re=$2
		if [ "$status" != "$want" ]; then
			fail "exit status $status, expected $want"
		elif ! grep -Eq -- "$re" "$tmp/err"; then
			fail "stderr does not match '$re'"
		elif [ "$(wc -l <"$tmp/err")" != 1 ]; then
			fail "expected one line on stderr"
		elif [ -s "$tmp/out" ]; then
			fail "something on stdout"
		else
			pass
		fi
	}
	standalone=1
else
	standalone=0
fi

in=$tmp/input
mkdir -p "$in"
head -c 65536 /dev/urandom >"$in/random"
: >"$in/empty"
mkdir -p "$in/dir"
rm -f "$in/fifo"
mkfifo "$in/fifo"
good=$guests/hello.elf

# wisp with a deadline: a FIFO must not make it wait (timeout says 124)
ibad() { timeout 10 "$wisp" "$@" </dev/null >"$tmp/out" 2>"$tmp/err"; status=$?; }

# expect_error_gone STATUS REGEX PATH...: expect_error, and none of the
# paths was left behind
expect_error_gone() {
	local want=$1 re=$2 p
	shift 2
	for p in "$@"; do
		if [ -e "$p" ] || [ -L "$p" ]; then
			fail "left $p behind"
			return
		fi
	done
	expect_error "$want" "$re"
}

case=input-kernel-random; ibad --kernel "$in/random"
expect_error 2 "^wisp: --kernel: '.*/random' is not a PVH ELF"
case=input-kernel-empty; ibad --kernel "$in/empty"
expect_error 2 "^wisp: --kernel: '.*/empty' is empty$"
case=input-kernel-directory; ibad --kernel "$in/dir"
expect_error 2 "^wisp: --kernel: '.*/dir' is a directory, not a regular file$"
case=input-kernel-fifo; ibad --kernel "$in/fifo"
expect_error 2 "^wisp: --kernel: '.*/fifo' is a FIFO, not a regular file$"
case=input-kernel-dev-zero; ibad --kernel /dev/zero
expect_error 2 "^wisp: --kernel: '/dev/zero' is a character device, not a regular file$"
case=input-firmware-fifo; ibad --firmware "$in/fifo"
expect_error 2 "^wisp: --firmware: '.*/fifo' is a FIFO, not a regular file$"
case=input-initramfs-fifo; ibad --kernel "$good" --initramfs "$in/fifo"
expect_error 2 "^wisp: --initramfs: '.*/fifo' is a FIFO, not a regular file$"
case=input-initramfs-directory; ibad --kernel "$good" --initramfs "$in/dir"
expect_error 2 "^wisp: --initramfs: '.*/dir' is a directory, not a regular file$"
# checked against --memory before any VM exists
case=input-initramfs-too-big; head -c $((3 << 20)) /dev/zero >"$in/big"
ibad --kernel "$good" --memory size=2M --initramfs "$in/big"
expect_error 2 "^wisp: --initramfs: [0-9]+ bytes do not fit in guest RAM"
case=input-memory-hugepage-size-alone; ibad --kernel "$good" --memory size=256M,hugepage_size=2M
expect_error 2 "^wisp: --memory: 'hugepage_size=2097152': needs hugepages=on"
case=input-memory-hotplug; ibad --kernel "$good" --memory size=256M,hotplug_method=virtio-mem,hotplug_size=1G
expect_error 2 "^wisp: --memory: 'size=256M,hotplug_method=virtio-mem,hotplug_size=1G': memory hotplug is not built into wisp$"
# kvm_hyperv= takes on/off; where Hyper-V is not built, on is one line
case=input-cpus-kvm-hyperv-value; ibad --kernel "$good" --cpus boot=1,kvm_hyperv=maybe
expect_error 2 "^wisp: --cpus: .*kvm_hyperv"
if ! built_in cpu-hyperv; then
	case=input-cpus-kvm-hyperv-not-built; ibad --kernel "$good" --cpus boot=1,kvm_hyperv=on
	expect_error 2 "^wisp: --cpus: 'kvm_hyperv=on': Hyper-V enlightenments are not built into this binary \\(CONFIG_CPU_HYPERV is off; x86_64 only\\)$"
fi
# the balloon behind the virtio-iommu: iommu= takes on/off, and on is
# one line where the virtio-iommu is not built
if built_in virtio-balloon; then
	case=input-balloon-iommu-value; ibad --kernel "$good" --balloon size=0,iommu=maybe
	expect_error 2 "^wisp: --balloon: 'iommu=maybe': expected on or off$"
	if ! built_in virtio-iommu; then
		case=input-balloon-iommu-not-built; ibad --kernel "$good" --balloon size=0,iommu=on
		expect_error 2 "^wisp: --balloon: 'iommu=on': this wisp is built without virtio-iommu$"
	fi
fi
case=input-memory-more-than-host; ibad --kernel "$good" --memory size=64T
expect_error 2 "^wisp: --memory: size=.* is more than this host has"
if built_in virtio-blk; then
	case=input-disk-readonly-fifo; ibad --kernel "$good" --disk "path=$in/fifo,readonly=on"
	expect_error 2 "^wisp: --disk: '.*/fifo' is a FIFO, not a regular file or block device$"
	# cloud-hypervisor's rule: a device's id= is its alone (where the
	# API or the event monitor, which name devices by it, are built)
	built_in api && case=input-duplicate-id && ibad --kernel "$good" --disk "path=$in/random,id=d0" "path=$in/random,readonly=on,id=d0"
	built_in api && expect_error 2 "^wisp: --disk: id=d0 is already the id of a --disk device: ids must be unique$"
	# queue_affinity= (issue 18), where built: each queue it names must
	# exist, once (the host CPUs are checked once the disk is created)
	if grep -q "queue_affinity=" <<<"$("$wisp" --help)"; then
		case=input-disk-queue-affinity-no-such-queue
		ibad --kernel "$good" --disk "path=$in/random,queue_affinity=[1@[0]]"
		expect_error 2 "^wisp: --disk: '1@\\[0\\]': queue 1 does not exist \\(num_queues=1\\)$"
		case=input-disk-queue-affinity-twice
		ibad --kernel "$good" --cpus boot=2 --disk "path=$in/random,num_queues=2,queue_affinity=[0@[0],0@[1]]"
		expect_error 2 "^wisp: --disk: queue 0: affinity given twice$"
		case=input-disk-queue-affinity-syntax
		ibad --kernel "$good" --disk "path=$in/random,queue_affinity=0@0"
		expect_error 2 "^wisp: --disk: 'queue_affinity=0@0': want \\[QUEUE@\\[HOST CPUS\\],\\.\\.\\.\\]$"
	fi
	# rate limits (issue 22): where the binary has them, inconsistent
	# keys; where it does not, a clear refusal rather than no limit
	if grep -q "bw_size=" <<<"$("$wisp" --help)"; then
		case=input-disk-bw-size-without-refill; ibad --kernel "$good" --disk "path=$in/random,bw_size=1000"
		expect_error 2 "^wisp: --disk: bw_size needs a bw_refill_time of 1 ms or more in 'path=.*'$"
		case=input-disk-ops-burst-without-size
		ibad --kernel "$good" --disk "path=$in/random,ops_one_time_burst=5,ops_refill_time=10"
		expect_error 2 "^wisp: --disk: ops_refill_time and ops_one_time_burst need an ops_size"
		case=input-rate-limit-group-without-id; ibad --kernel "$good" --rate-limit-group bw_size=10,bw_refill_time=10
		expect_error 2 "^wisp: --rate-limit-group: id=NAME is required in 'bw_size=10,bw_refill_time=10'$"
		case=input-rate-limit-group-without-limit; ibad --kernel "$good" --rate-limit-group id=g
		expect_error 2 "^wisp: --rate-limit-group: a group limits nothing without bw_size= or ops_size="
		case=input-disk-group-and-own-limit
		ibad --kernel "$good" --disk "path=$in/random,rate_limit_group=g,ops_size=1,ops_refill_time=1"
		expect_error 2 "^wisp: --disk: give rate_limit_group= or limits of the disk's own"
		# found only when the devices are made: where KVM works
		if [ -w /dev/kvm ]; then
			case=input-disk-group-undefined; ibad --kernel "$good" --disk "path=$in/random,rate_limit_group=nope"
			expect_error 2 "^wisp: virtio-blk0: rate_limit_group=nope: no --rate-limit-group has that id$"
			case=input-rate-limit-group-twice
			ibad --kernel "$good" --rate-limit-group id=g,ops_size=1,ops_refill_time=1 id=g,ops_size=2,ops_refill_time=1
			expect_error 2 "^wisp: --rate-limit-group: id=g is defined twice$"
		fi
		case=input-disk-bw-size-overflow; ibad --kernel "$good" --disk "path=$in/random,bw_size=18446744073709551616,bw_refill_time=1"
		expect_error 2 "^wisp: --disk: .*bw_size=18446744073709551616"
	else
		case=input-disk-bw-size-not-built; ibad --kernel "$good" --disk "path=$in/random,bw_size=1000,bw_refill_time=10"
		expect_error 2 "^wisp: --disk: rate limiting \\(bw_size=, ops_size=, rate_limit_group=\\) is not built into this binary \\(CONFIG_RATE_LIMITER is off\\)$"
	fi
fi
if built_in vfio-pci; then
	# x_exclude_mmap_bars= (issue 18): BARs 0..5, each once, checked
	# before the device is looked at
	case=input-device-exclude-bar-6
	ibad --kernel "$good" --device "path=/sys/bus/pci/devices/0000:00:01.0,x_exclude_mmap_bars=[6]"
	expect_error 2 "^wisp: --device: 'x_exclude_mmap_bars=\\[6\\]': '6' is not a number in 0\\.\\.5$"
	case=input-device-exclude-bar-twice
	ibad --kernel "$good" --device "path=/sys/bus/pci/devices/0000:00:01.0,x_exclude_mmap_bars=[2,2]"
	expect_error 2 "^wisp: --device: 'x_exclude_mmap_bars=': BAR 2 given twice$"
fi
if built_in virtio-rng; then
	# an entropy source that would block wisp or starve the guest
	case=input-rng-fifo; ibad --kernel "$good" --rng "src=$in/fifo"
	expect_error 2 "^wisp: --rng: 'src=.*/fifo' is a FIFO, not a character device or a file$"
	case=input-rng-directory; ibad --kernel "$good" --rng "src=$in/dir"
	expect_error 2 "^wisp: --rng: 'src=.*/dir' is a directory, not a character device or a file$"
fi
# PCI segments (CONFIG_PCI_SEGMENTS, which --help's --platform shows):
# the count cloud-hypervisor refuses, one above wisp's, a device on a
# segment beyond the count (given after the device), a slot asked twice
if "$wisp" --help | grep -q -- '--platform'; then
	case=input-platform-no-segments; ibad --kernel "$good" --platform num_pci_segments=0
	expect_error 2 "^wisp: --platform: 'num_pci_segments=0': the number of PCI segments is 1 to 96$"
	case=input-platform-too-many-segments; ibad --kernel "$good" --platform num_pci_segments=5
	expect_error 2 "^wisp: --platform: 'num_pci_segments=5': wisp builds at most 4 PCI segments$"
	if built_in virtio-rng; then
		case=input-pci-segment-beyond; ibad --kernel "$good" --rng "src=$good,pci_segment=2" --platform num_pci_segments=2
		expect_error 2 "^wisp: --rng: 'pci_segment=2': invalid PCI segment id: --platform num_pci_segments is 2$"
	fi
	if built_in virtio-blk; then
		case=input-pci-device-id-taken; ibad --kernel "$good" --disk "path=$in/random,pci_device_id=3" "path=$in/random,readonly=on,pci_device_id=3"
		expect_error 2 "^wisp: --disk: 'pci_device_id=3': slot 3 of PCI segment 0 is already another device's$"
	fi
fi
if built_in serial-16550 || built_in pl011; then
	case=input-serial-file-directory; ibad --kernel "$good" --serial "file=$in/dir"
	expect_error 2 "^wisp: --serial: 'file=.*/dir'.*directory"
fi

# a bad kernel with devices that create things: none of them is created
if built_in virtio-net; then
	case=input-bad-kernel-leaves-no-tap
	ibad --kernel "$in/random" --net tap=wispbad0
	expect_error_gone 2 "^wisp: --kernel: '.*/random' is not a PVH ELF" /sys/class/net/wispbad0
	case=input-net-tap-not-a-tap; ibad --kernel "$good" --net tap=lo
	expect_error 2 "^wisp: --net: cannot open TAP 'lo': it exists and is not a TAP$"
fi
if built_in virtio-vsock; then
	case=input-bad-kernel-leaves-no-vsock-socket
	ibad --kernel "$in/empty" --vsock "cid=3,socket=$in/v.sock"
	expect_error_gone 2 "^wisp: --kernel: '.*/empty' is empty$" "$in/v.sock"
fi
if built_in serial-16550 || built_in pl011; then
	case=input-bad-kernel-leaves-no-serial-file
	ibad --kernel "$in/dir" --serial "file=$in/serial.log"
	expect_error_gone 2 "^wisp: --kernel: '.*/dir' is a directory" "$in/serial.log"
	case=input-serial-file-in-missing-directory
	ibad --kernel "$good" --serial "file=$in/nodir/serial.log"
	expect_error 2 "^wisp: --serial: 'file=.*/nodir/serial.log': directory '.*/nodir' does not exist$"
fi

# ---- --api-socket: the path is checked with the command line, and a
# start that fails leaves no socket behind
if built_in api; then
	case=input-api-socket-exists; ibad --kernel "$good" --api-socket "path=$in/random"
	expect_error 2 "^wisp: --api-socket: path '.*/random' exists already \(a regular file\): remove it or choose another$"
	case=input-api-socket-missing-directory; ibad --kernel "$good" --api-socket "$in/nodir/api.sock"
	expect_error_gone 2 "^wisp: --api-socket: path '.*/nodir/api.sock': directory '.*/nodir' does not exist$" "$in/nodir"
	case=input-api-socket-not-a-directory; ibad --kernel "$good" --api-socket "path=$in/empty/api.sock"
	expect_error 2 "^wisp: --api-socket: path '.*/empty/api.sock': '.*/empty' is not a directory$"
	case=input-api-socket-too-long; ibad --kernel "$good" --api-socket "path=/tmp/$(printf '%0120d' 0)"
	expect_error 2 "^wisp: --api-socket: path '/tmp/0+': a socket path is 1 to 107 bytes$"
	case=input-api-socket-path-and-fd; ibad --kernel "$good" --api-socket "path=$in/a.sock,fd=3"
	expect_error_gone 2 "^wisp: --api-socket: give path= or fd=, not both$" "$in/a.sock"
	case=input-api-socket-fd-not-a-socket; ibad --kernel "$good" --api-socket fd=0
	expect_error 2 "^wisp: --api-socket: fd=0 is not a listening socket$"
	case=input-api-socket-fd-closed; ibad --kernel "$good" --api-socket fd=99
	expect_error 2 "^wisp: --api-socket: fd=99 is not an open file descriptor$"
	case=input-api-socket-unknown-key; ibad --kernel "$good" --api-socket "socket=$in/a.sock"
	expect_error 2 "^wisp: --api-socket: expected path=PATH or fd=N$"
	case=input-bad-kernel-leaves-no-api-socket
	ibad --kernel "$in/random" --api-socket "path=$in/api.sock"
	expect_error_gone 2 "^wisp: --kernel: '.*/random' is not a PVH ELF" "$in/api.sock"
	# a directory wisp may not create files in: root may create anywhere,
	# so wisp runs as nobody (util-linux setpriv, by its path: a busybox
	# timeout would run busybox's own setpriv applet, which has no --reuid)
	setpriv=$(command -v setpriv)
	if [ "$(id -u)" = 0 ] && [ -n "$setpriv" ] && "$setpriv" --help 2>&1 | grep -q reuid; then
		mkdir -p "$tmp/pub/ro"
		cp "$good" "$tmp/pub/hello.elf"
		chmod 711 "$tmp"
		chmod 755 "$tmp/pub" "$tmp/pub/ro"
		chmod 644 "$tmp/pub/hello.elf"
		case=input-api-socket-unwritable-directory
		timeout 10 "$setpriv" --reuid=65534 --regid=65534 --clear-groups "$wisp" \
			--kernel "$tmp/pub/hello.elf" --api-socket "path=$tmp/pub/ro/api.sock" \
			</dev/null >"$tmp/out" 2>"$tmp/err"
		status=$?
		expect_error_gone 2 "^wisp: --api-socket: path '.*/ro/api.sock': cannot create it in '.*/ro': Permission denied$" "$tmp/pub/ro/api.sock"
		chmod 700 "$tmp"
	else
		case=input-api-socket-unwritable-directory; skip "not root, or no setpriv --reuid"
	fi
fi

# ---- --serial socket=PATH: the path is checked with the command line
# (a new socket, in a directory that exists); --console has no socket
# mode, as in cloud-hypervisor
if built_in chardev-socket; then
	case=input-serial-socket-exists; ibad --kernel "$good" --serial "socket=$in/random"
	expect_error 2 "^wisp: --serial: socket '.*/random' exists already \(a regular file\): remove it or choose another$"
	case=input-serial-socket-missing-directory; ibad --kernel "$good" --serial "socket=$in/nodir/s.sock"
	expect_error_gone 2 "^wisp: --serial: socket '.*/nodir/s.sock': directory '.*/nodir' does not exist$" "$in/nodir"
	case=input-serial-socket-too-long; ibad --kernel "$good" --serial "socket=/tmp/$(printf '%0120d' 0)"
	expect_error 2 "^wisp: --serial: socket '/tmp/0+': a socket path is 1 to 107 bytes$"
	case=input-serial-socket-and-tty; ibad --kernel "$good" --serial "tty,socket=$in/s.sock"
	expect_error_gone 2 "^wisp: --serial: expected one of off, null, tty, (pty, )?file=PATH or socket=PATH in 'tty,socket=.*'$" "$in/s.sock"
	if built_in virtio-console; then
		case=input-console-socket; ibad --kernel "$good" --console "socket=$in/c.sock"
		expect_error_gone 2 "^wisp: --console: 'socket=.*/c.sock': only --serial has a socket mode, as in cloud-hypervisor$" "$in/c.sock"
	fi
	case=input-bad-kernel-leaves-no-serial-socket
	ibad --kernel "$in/random" --serial "socket=$in/s.sock"
	expect_error_gone 2 "^wisp: --kernel: '.*/random' is not a PVH ELF" "$in/s.sock"
elif built_in serial-16550 || built_in pl011; then
	case=input-serial-socket-not-built; ibad --kernel "$good" --serial "socket=$in/s.sock"
	expect_error_gone 2 "^wisp: --serial: expected one of off, null, tty(, pty)? or file=PATH in 'socket=.*'$" "$in/s.sock"
fi

# ---- --event-monitor path=PATH|fd=N: opened (or checked) before
# anything starts
if built_in event-monitor; then
	case=input-event-monitor-missing-directory
	ibad --kernel "$good" --event-monitor "path=$in/nodir/events.json"
	expect_error_gone 2 "^wisp: --event-monitor: cannot open '.*/nodir/events.json': No such file or directory$" "$in/nodir"
	case=input-event-monitor-directory; ibad --kernel "$good" --event-monitor "path=$in/dir"
	expect_error 2 "^wisp: --event-monitor: cannot open '.*/dir': Is a directory$"
	case=input-event-monitor-fd-closed; ibad --kernel "$good" --event-monitor fd=99
	expect_error 2 "^wisp: --event-monitor: fd=99 is not an open file descriptor$"
	case=input-event-monitor-fd-read-only; ibad --kernel "$good" --event-monitor fd=0
	expect_error 2 "^wisp: --event-monitor: fd=0 is not open for writing$"
	case=input-event-monitor-path-and-fd; ibad --kernel "$good" --event-monitor "path=$in/e.json,fd=2"
	expect_error_gone 2 "^wisp: --event-monitor: give path= or fd=, not both$" "$in/e.json"
	case=input-event-monitor-bare; ibad --kernel "$good" --event-monitor "$in/e.json"
	expect_error_gone 2 "^wisp: --event-monitor: expected path=PATH or fd=N$" "$in/e.json"
else
	case=input-event-monitor-not-built; ibad --kernel "$good" --event-monitor "path=$in/e.json"
	expect_error_gone 2 "^wisp: unknown option '--event-monitor'" "$in/e.json"
fi

# ---- /dev/kvm missing or unusable: exit 3, one line saying what fixes it.
# wisp runs in a mount namespace with an empty tmpfs on /dev; SETUP then
# makes /dev/kvm what the case needs.  --rng src= because /dev/urandom is
# gone there too.
#   nokvm SETUP [wisp args...]
nokvm() {
	local setup=$1
	shift
	timeout 20 unshare -m sh -c "mount -t tmpfs none /dev && $setup && exec \"\$@\"" \
		sh "${asuser[@]}" "$wisp" "$@" "${rngarg[@]}" </dev/null >"$tmp/out" 2>"$tmp/err"
	status=$?
}
rngarg=() asuser=()
if built_in virtio-rng; then rngarg=(--rng "src=$good"); fi
# -v and --log-file (CONFIG_LOG_FILE): a log file that cannot be made is
# one line on stderr; once it is open, the log and the error lines go to
# it and stderr stays empty.
if built_in log-file; then
	case=input-log-file-missing-dir; ibad --kernel "$good" --log-file "$in/nodir/wisp.log"
	expect_error_gone 2 "^wisp: --log-file: cannot open '.*/nodir/wisp.log': No such file or directory$" "$in/nodir"
	case=input-log-file-directory; ibad --kernel "$good" --log-file "$in/dir"
	expect_error 2 "^wisp: --log-file: cannot open '.*/dir': Is a directory$"
	case=input-log-file-gets-the-log; ibad -v --kernel "$in/random" --log-file "$in/wisp.log"
	if [ "$status" != 2 ]; then
		fail "exit status $status, expected 2"
	elif [ -s "$tmp/err" ] || [ -s "$tmp/out" ]; then
		fail "something on stderr or stdout"
	elif ! grep -q "^wisp: info: wisp .* starting$" "$in/wisp.log" ||
	     ! grep -q "^wisp: --kernel: '.*/random' is not a PVH ELF" "$in/wisp.log"; then
		fail "the log file lacks the -v line or the error: $(cat "$in/wisp.log")"
	else
		pass
	fi
	case=input-log-file-quiet-without-v; ibad --kernel "$in/random" --log-file "$in/wisp.log"
	if [ "$status" = 2 ] && ! grep -q "info:" "$in/wisp.log" && grep -q "is not a PVH ELF" "$in/wisp.log"; then
		pass
	else
		fail "status $status, log: $(cat "$in/wisp.log")"
	fi
else
	case=input-log-file-not-built; ibad --kernel "$good" --log-file "$in/wisp.log"
	expect_error_gone 2 "^wisp: unknown option '--log-file'" "$in/wisp.log"
fi

if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null ||
	! unshare -m sh -c 'mount -t tmpfs none /dev' 2>/dev/null; then
	case=input-kvm-cases; skip "needs root, unshare -m and a tmpfs mount"
else
	case=input-kvm-absent; nokvm true --kernel "$good" --memory size=64M
	expect_error 3 "^wisp: /dev/kvm does not exist: .+"
	case=input-kvm-regular-file; nokvm 'touch /dev/kvm' --kernel "$good" --memory size=64M
	expect_error 3 "^wisp: /dev/kvm is a regular file, not the KVM character device: .+"
	case=input-kvm-fifo; nokvm 'mkfifo /dev/kvm' --kernel "$good" --memory size=64M
	expect_error 3 "^wisp: /dev/kvm is a FIFO, not the KVM character device: .+"
	# bad input is reported as bad input, not as a KVM problem
	case=input-kvm-absent-bad-kernel; nokvm true --kernel "$in/random"
	expect_error 2 "^wisp: --kernel: '.*/random' is not a PVH ELF"
	case=input-kvm-absent-initramfs-fifo; nokvm true --kernel "$good" --initramfs "$in/fifo"
	expect_error 2 "^wisp: --initramfs: '.*/fifo' is a FIFO"
	# and a start that fails on KVM leaves nothing behind either
	if built_in virtio-vsock && { built_in serial-16550 || built_in pl011; }; then
		case=input-kvm-absent-leaves-nothing
		nokvm true --kernel "$good" --memory size=64M --serial "file=$in/kvm-serial.log" \
			--vsock "cid=3,socket=$in/kvm-v.sock"
		expect_error_gone 3 "^wisp: /dev/kvm does not exist" "$in/kvm-serial.log" "$in/kvm-v.sock"
	fi
	# unreadable: root opens anything, so wisp runs as nobody (util-linux
	# setpriv; busybox's has no --reuid) on a 000 node with KVM's numbers;
	# the files it reads must be reachable for nobody.  Asked inside the
	# namespace: a busybox unshare runs its own applets there first.
	if unshare -m sh -c 'setpriv --help' 2>&1 | grep -q reuid; then
		mkdir -p "$tmp/pub"
		cp "$good" "$tmp/pub/hello.elf"
		chmod 711 "$tmp"
		chmod 755 "$tmp/pub"
		chmod 644 "$tmp/pub/hello.elf"
		asuser=(setpriv --reuid=65534 --regid=65534 --clear-groups)
		if built_in virtio-rng; then rngarg=(--rng "src=$tmp/pub/hello.elf"); fi
		case=input-kvm-unreadable
		nokvm 'mknod -m 000 /dev/kvm c 10 232' --kernel "$tmp/pub/hello.elf" --memory size=64M
		expect_error 3 "^wisp: cannot open /dev/kvm: Permission denied: add the user to its group \(kvm\) or fix its permissions$"
		asuser=()
		chmod 700 "$tmp"
	else
		case=input-kvm-unreadable; skip "no setpriv --reuid to drop root"
	fi
fi

# --restore refuses a bad snapshot directory with one line and exit 2,
# before /dev/kvm is opened and so before any guest memory is mapped.
# The directories come from tests/direct/snapdir.c (its own writer of
# the format, so wisp's reader is checked against the format, not
# against itself); "good" gets as far as /dev/kvm (exit 3 without it).
if "$wisp" --help | grep -q -- '--restore' && [ -x "$guests/host/snapdir" ]; then
	snaps=$in/snaps
	mkdir -p "$snaps"
	mem=$((64 << 20))
	for k in good crc version arch truncated device tag nostate pcislot; do
		"$guests/host/snapdir" "$snaps/$k" "$k" "$mem"
	done
	"$guests/host/snapdir" "$snaps/nomemory" good 0
	"$guests/host/snapdir" "$snaps/smallmemory" good 4096
	restore() { ibad --restore "source_url=file://$snaps/$1,resume=on" "${@:2}"; }
	case=input-restore-missing-dir; restore absent
	expect_error 2 "^wisp: --restore: .*/absent: No such file or directory$"
	case=input-restore-no-state; restore nostate
	expect_error 2 "^wisp: --restore: .*/nostate/state: No such file or directory \(an incomplete snapshot\?\)$"
	case=input-restore-crc; restore crc
	expect_error 2 "^wisp: --restore: checksum mismatch: the state file is corrupt$"
	case=input-restore-version; restore version
	expect_error 2 "^wisp: --restore: snapshot format version 2, this wisp reads version 1$"
	case=input-restore-arch; restore arch
	expect_error 2 "^wisp: --restore: snapshot of another architecture"
	case=input-restore-truncated; restore truncated
	expect_error 2 "^wisp: --restore: truncated or padded"
	case=input-restore-unknown-section; restore tag
	expect_error 2 "^wisp: --restore: unknown section 99"
	case=input-restore-device-not-built; restore device
	expect_error 2 "^wisp: --restore: the snapshot uses device virtio-teapot, which this wisp was built without$"
	case=input-restore-no-memory-file; restore nomemory
	expect_error 2 "^wisp: --restore: .*/nomemory/memory: No such file or directory \(an incomplete snapshot\?\)$"
	case=input-restore-memory-size; restore smallmemory
	expect_error 2 "^wisp: --restore: .*/smallmemory/memory: not a regular file of 67108864 bytes"
	case=input-restore-kept-option; restore good --memory size=128M
	expect_error 2 "^wisp: --memory: comes from the snapshot: not given with --restore$"
	case=input-restore-not-url; ibad --restore "source_url=$snaps/good,resume=on"
	expect_error 2 "^wisp: --restore: '.*/good': source_url must be a file:/// URL$"
	case=input-restore-paused-no-api; ibad --restore "source_url=file://$snaps/good"
	expect_error 2 "^wisp: --restore: the restored VM waits for vm.resume: give --api-socket too, or resume=on$"
	# an option given again replaces the snapshot's devices of that option,
	# and with them the PCI slots they asked for (the restore itself then
	# fails later, at /dev/kvm or at the missing device state)
	if built_in virtio-rng && "$wisp" --help | grep -q -- '--platform'; then
		case=input-restore-replaced-pci-slot; restore pcislot --rng "src=$good,pci_device_id=5"
		if grep -q 'pci_device_id' "$tmp/err"; then
			fail "the replaced device's slot was still taken: $(head -n 1 "$tmp/err")"
		elif [ "$status" = 0 ]; then
			fail "a snapshot without device state restored"
		else
			pass
		fi
	fi
fi

if [ "$standalone" = 1 ]; then
	echo "input tests: $passed passed, $failed failed"
	[ "$failed" = 0 ]
fi
