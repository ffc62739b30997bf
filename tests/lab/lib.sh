# Helpers for lab cases. Sourced (busybox ash) inside the lab host by its
# /init before a case script; a case runs in $LAB_CASE_DIR (a fresh tmpfs dir)
# and must end by calling pass or fail.
#
#   run_wisp TIMEOUT LOG -- ARGS...   run the VMM (stdin: $WISP_STDIN, default
#                                      /dev/null); its output (the guest's serial
#                                      console and wisp's own messages) goes to
#                                      LOG and, prefixed, to the lab console;
#                                      wisp's stderr alone also to LOG.err.
#                                      Sets WISP_RC (124 = timed out) and WISP_SECS.
#   boot_guest TIMEOUT LOG CASE [WISP ARGS...]
#                                     run_wisp with the usual guest: bzImage,
#                                     initramfs, serial on stdout, and a cmdline
#                                     carrying wisp_case=CASE ($GUEST_CMDLINE_EXTRA
#                                     is appended). Extra args go to wisp.
#   expect_line LOG REGEX [WHAT]      fail unless a line of LOG matches (ERE)
#   reject_line LOG REGEX [WHAT]      fail if a line of LOG matches
#   wait_line LOG REGEX               until a line of LOG matches (ERE), for
#                                      a check while the guest runs; status 1
#                                      after 120 s without one
#   expect_exit CODE                  fail unless WISP_RC is CODE
#   expect_guest_ok LOG               no guest panic, and WISP-GUEST-UP seen
#   guest_fact LOG NAME               value of the guest's "GUEST NAME=VALUE"
#   expect_range NAME VALUE MIN MAX   integer check, names the fact on failure
#   last_tick LOG / first_tick LOG    the counting guest's (wisp_case=snapshot)
#                                      last and first "WISP-TICK N" in LOG
#   wait_tick LOG N                   until LOG shows tick N; status 1 if wisp
#                                      ended (LOG.rc) or after 180 s
#   snapshot_stop SOCKET DIR LOG      the counting guest paused (its last tick
#                                      into paused-tick), snapshotted to DIR
#                                      and shut down: pause.out, snapshot.out,
#                                      shutdown.out hold the answers
#   api SOCKET METHOD PATH [JSON]     an API request: the response, status line
#                                      first (curl where the lab has it, else
#                                      host_api); status_of FILE its status
#   pass / fail MSG                   verdict; both end the case
#   note MSG                          a line in the lab log
# Variables: GUEST_BZIMAGE GUEST_VMLINUX GUEST_INITRD, GUEST_KERNEL (what
# boot_guest boots, default the bzImage; on aarch64 vmlinuz is the arm64
# Image), GUEST_LOGLEVEL, GUEST_CMDLINE_EXTRA, GUEST_CONSOLE (ttyS0/ttyAMA0),
# LAB_BOOT_TIMEOUT (tests/lab/run --boot-timeout), WISP.

LAB=${LAB:-/lab}
# settings from tests/lab/run (LAB_BOOT_TIMEOUT)
[ -f "$LAB/env" ] && . "$LAB/env"
WISP=${WISP:-$LAB/wisp}
GUEST_DIR=$LAB/guest
GUEST_BZIMAGE=$GUEST_DIR/vmlinuz
GUEST_VMLINUX=$GUEST_DIR/vmlinux
GUEST_INITRD=$GUEST_DIR/initrd.gz
GUEST_MODULES=$GUEST_DIR/modules.list
# how long one guest boot may take, wisp start to exit (see docs/lab.md)
LAB_BOOT_TIMEOUT=${LAB_BOOT_TIMEOUT:-90}
# loglevel=4: every character on the emulated UART is a VM exit, and exits
# are what is slow in the nested lab (~1 ms a character); the facts the cases
# need are printed by the guest's /init anyway. GUEST_LOGLEVEL=8 in a case
# shows the guest's boot; GUEST_CMDLINE_EXTRA is appended (for instance
# "wisp_modules=virtio_pci,virtio_blk").
# the guest's serial console: the 16550 on x86_64, the PL011 on aarch64;
# the modules that make the power button an input device: gpio-keys on the
# PL061 line on aarch64, the ACPI button driver (notified by the GED) on x86_64
case "$(uname -m)" in
aarch64)
	GUEST_CONSOLE=${GUEST_CONSOLE:-ttyAMA0}
	POWER_BUTTON_MODULES=gpio_keys,evdev
	;;
*)
	GUEST_CONSOLE=${GUEST_CONSOLE:-ttyS0}
	POWER_BUTTON_MODULES=button,evdev
	;;
esac
guest_cmdline() { # CASE: the usual guest kernel command line
	echo "console=$GUEST_CONSOLE loglevel=${GUEST_LOGLEVEL:-4} panic=-1 wisp_case=$1${GUEST_CMDLINE_EXTRA:+ $GUEST_CMDLINE_EXTRA}"
}

note() { echo "[$LAB_CASE] $*"; }

pass() {
	echo PASS >"$LAB_VERDICT"
	note "PASS"
	exit 0
}

fail() {
	echo "FAIL $*" >"$LAB_VERDICT"
	note "FAIL $*"
	exit 1
}

# elapsed time helpers (centiseconds since boot)
_lab_cs() {
	read -r _up _ </proc/uptime
	echo "${_up%.*}${_up#*.}"
}

run_wisp() {
	[ $# -ge 3 ] && [ "$3" = "--" ] || fail "usage: run_wisp TIMEOUT LOG -- ARGS..."
	_t=$1 _log=$2
	shift 3
	[ -x "$WISP" ] || fail "no wisp binary at $WISP"
	note "wisp $*"
	_t0=$(_lab_cs)
	rm -f "$_log" "$_log.rc" "$_log.timedout"
	# wisp runs in a session of its own, so that the watchdog can kill it with
	# everything it started; the lab host's /init kills the sessions listed
	# in $LAB_CASE_DIR/sessions after the case, whatever happened to it.
	# stdout and stderr both go to LOG, in order; stderr alone also to LOG.err
	{
		{
			setsid "$WISP" "$@" <"${WISP_STDIN:-/dev/null}" 2>&1 1>&3 3>&- &
			_wpid=$!
			echo "$_wpid" >>"${LAB_CASE_DIR:-.}/sessions"
			(
				sleep "$_t"
				: >"$_log.timedout"
				kill -TERM -"$_wpid"
				sleep 5
				kill -KILL -"$_wpid"
			) </dev/null >/dev/null 2>&1 3>&- &
			_dog=$!
			wait "$_wpid"
			echo $? >"$_log.rc"
			kill "$_dog" 2>/dev/null
			kill -KILL -"$_wpid" 2>/dev/null
		} | tee "$_log.err"
	} 3>&1 | tee "$_log" | sed 's/^/  | /'
	WISP_RC=$(cat "$_log.rc" 2>/dev/null || echo 255)
	_t1=$(_lab_cs)
	# a timed-out wisp is reported as 124, like coreutils' timeout does
	[ -e "$_log.timedout" ] && WISP_RC=124
	WISP_SECS=$(printf '%d.%d' "$(((_t1 - _t0) / 100))" "$(((_t1 - _t0) % 100 / 10))")
	note "wisp exit=$WISP_RC after ${WISP_SECS}s"
	# the serial console ends lines with CRLF: keep a plain copy for matching
	for _f in "$_log" "$_log.err"; do
		tr -d '\r' <"$_f" >"$_f.txt" && mv "$_f.txt" "$_f"
	done
}

boot_guest() {
	_bt=$1 _blog=$2 _bcase=$3
	shift 3
	run_wisp "$_bt" "$_blog" -- --kernel "${GUEST_KERNEL:-$GUEST_BZIMAGE}" \
		--initramfs "$GUEST_INITRD" \
		--cmdline "$(guest_cmdline "$_bcase")" \
		--serial tty --console off "$@"
}

# thread_cpus PID FILE: each thread of PID, its name and the host CPUs it
# may run on (Cpus_allowed_list), one "NAME CPUS" line each, into FILE
thread_cpus() {
	for _t in /proc/"$1"/task/*; do
		echo "$(cat "$_t/comm") $(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "$_t/status")"
	done >"$2"
}

# thread_cpus_when_held LOG FILE: once the guest logging to LOG says
# WISP-HOLD (wisp_hold=N keeps it running), thread_cpus of the case's
# first wisp into FILE; run it in the background beside the boot
thread_cpus_when_held() {
	for _ in $(seq 600); do
		grep -q '^WISP-HOLD' "$1" 2>/dev/null && break
		sleep 0.2
	done
	thread_cpus "$(head -n 1 "$LAB_CASE_DIR/sessions")" "$2"
}

# --- the boot benchmarks (tests/lab/bench/ARCH/boot.sh)
# KVM's own counters (debugfs) sum over the VMs that exist, so they are
# gone once a VMM exits; a histogram trigger on the kvm_exit tracepoint
# keeps counting after the VM is destroyed.  boot_hist_init KEYS: that
# histogram keyed by KEYS (the arch's fields of kvm_exit), and one of
# the exits handed to the VMM (kvm_userspace_exit) by reason; sets
# BOOT_EV and BOOT_UEV, the two events' directories
boot_hist_init() {
	BOOT_KEYS=$1
	_tr=/sys/kernel/tracing
	[ -d "$_tr"/events ] || mount -t tracefs tracefs "$_tr" 2>/dev/null
	BOOT_EV="$_tr"/events/kvm/kvm_exit
	BOOT_UEV="$_tr"/events/kvm/kvm_userspace_exit
	[ -w "$BOOT_EV"/trigger ] || fail "no kvm_exit tracepoint at $BOOT_EV (tracefs)"
	[ -w "$BOOT_UEV"/trigger ] || fail "no kvm_userspace_exit tracepoint at $BOOT_UEV (tracefs)"
}
boot_hist_on() {
	{ echo "hist:keys=$BOOT_KEYS:sort=hitcount" >"$BOOT_EV"/trigger &&
		echo 'hist:keys=reason:sort=hitcount' >"$BOOT_UEV"/trigger; } ||
		fail "cannot set a histogram trigger on $BOOT_EV or $BOOT_UEV"
}
boot_hist_off() {
	echo "!hist:keys=$BOOT_KEYS:sort=hitcount" >"$BOOT_EV"/trigger
	echo '!hist:keys=reason:sort=hitcount' >"$BOOT_UEV"/trigger
}

# boot_watch_init LOG OUT: the lab host's clock (centiseconds) into OUT
# once LOG has /init's first line; run in the background beside the VMM
boot_watch_init() {
	while ! grep -q '^WISP-GUEST-UP' "$1" 2>/dev/null; do usleep 50000; done
	_lab_cs >"$2"
}

# boot_result VMM RUN LOG WALL_CS TO_INIT_CS COUNTS: one RESULT line for
# the run, from the guest's log, COUNTS ("exits=TOTAL exit_KIND=N ...",
# which the case reads from $BOOT_EV/hist in its arch's terms) and the
# exits handed to the VMM
boot_result() {
	grep -q '^WISP-GUEST-DONE' "$3" || fail "$1 run $2: the guest did not finish ($(tail -n 2 "$3" | tr '\n' ' '))"
	_up=$(sed -n 's/^GUEST uptime=\([0-9.]*\)$/\1/p' "$3" | head -n 1)
	[ -n "$_up" ] || fail "$1 run $2: no uptime from the guest"
	_init_cs=$(echo "$_up" | awk '{ printf "%d", $1 * 100 }')
	case "$6" in exits=[0-9]*" exit_"*) ;; *) fail "$1 run $2: no exit counts from $BOOT_EV/hist" ;; esac
	_to_vmm=$(awk 'index($0, "Hits:") { print $2 }' "$BOOT_UEV"/hist)
	case "$_to_vmm" in '' | *[!0-9]*) fail "$1 run $2: no count from $BOOT_UEV/hist" ;; esac
	case "$5" in '' | *[!0-9]*) fail "$1 run $2: /init's first line was not seen on the console" ;; esac
	note "RESULT $1 run=$2 wall_cs=$4 guest_init_cs=$_init_cs to_init_cs=$5 $6 vmm_exits=$_to_vmm"
}

expect_line() {
	grep -Eq -- "$2" "$1" 2>/dev/null || fail "${3:-no line matching '$2'}"
}

reject_line() {
	! grep -Eq -- "$2" "$1" 2>/dev/null || fail "${3:-a line matches '$2'}: $(grep -Em1 -- "$2" "$1")"
}

wait_line() {
	for _ in $(seq 600); do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.2
	done
	return 1
}

expect_exit() {
	[ "$WISP_RC" = "$1" ] && return 0
	[ "$WISP_RC" = 124 ] && fail "wisp timed out"
	fail "wisp exited $WISP_RC, want $1"
}

# The usual first checks after a boot: a timeout or a guest that never came
# up is reported as such (more useful than the first missing fact).
expect_guest_ok() {
	reject_line "$1" 'Kernel panic' "guest kernel panic"
	if ! grep -q '^WISP-GUEST-UP' "$1" 2>/dev/null; then
		[ "$WISP_RC" = 124 ] && fail "wisp timed out before WISP-GUEST-UP"
		fail "no WISP-GUEST-UP (wisp exit $WISP_RC)"
	fi
}

guest_fact() {
	sed -n "s/^GUEST $2=//p" "$1" | head -n 1
}

# integer check with a message naming the fact
expect_range() { # NAME VALUE MIN MAX
	case "$2" in '' | *[!0-9-]*) fail "guest $1 missing or not a number: '$2'" ;; esac
	[ "$2" -ge "$3" ] && [ "$2" -le "$4" ] || fail "guest $1=$2 not in [$3, $4]"
}

# One API request through $LAB/bin/host-tool (built for the lab's arch;
# an AArch64 lab host cannot run this machine's curl): the HTTP/1.1
# response, status line first, as curl -i prints it.
host_api() { # SOCKET METHOD PATH [JSON BODY]
	printf '%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s' \
		"$2" "$3" "${#4}" "$4" | "$LAB/bin/host-tool" api-raw "$1"
}

# curl is this machine's: an x86_64 program, which an AArch64 lab host
# cannot run; there host_api sends the same HTTP/1.1 request
if "$LAB/bin/curl" --version >/dev/null 2>&1; then
	api() { "$LAB/bin/curl" -s -i --max-time 60 --unix-socket "$1" -X "$2" "http://localhost$3" ${4:+-d "$4"}; }
else
	api() { host_api "$@"; }
fi
status_of() { sed -n '1s/^HTTP\/1.1 \([0-9]*\) .*/\1/p' "$1"; }

last_tick() { sed -n 's/^WISP-TICK \([0-9]*\) .*/\1/p' "$1" | tail -n 1; }
first_tick() { sed -n 's/^WISP-TICK \([0-9]*\) .*/\1/p' "$1" | head -n 1; }
wait_tick() { # LOG N
	for _ in $(seq 900); do
		[ "$(last_tick "$1")" -ge "$2" ] 2>/dev/null && return 0
		[ -e "$1.rc" ] && return 1
		sleep 0.2
	done
	return 1
}
snapshot_stop() { # SOCKET DIR LOG
	api "$1" PUT /api/v1/vm.pause >pause.out 2>&1
	last_tick "$3" >paused-tick
	api "$1" PUT /api/v1/vm.snapshot '{"destination_url":"file://'"$2"'"}' >snapshot.out 2>&1
	api "$1" PUT /api/v1/vm.shutdown >shutdown.out 2>&1
}
