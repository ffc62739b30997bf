# restore: a snapshot's restore against a cold boot of the same guest to the
# same point, in one lab run (a benchmark, not a test: bench/lab/run runs it,
# `make test` never does; issue 20). The guest (the lab's bzImage and
# initramfs, 1 vCPU, 256 MiB, an API socket) runs the init case `ticker`: a
# line WISP-TICK n on the serial console every 20 ms. The point is the first
# such line on the console, polled every 10 ms on the lab host's clock:
#   - cold: from starting wisp with --kernel to the first tick, RESTORE_RUNS
#     times; the first boot is paused at tick 25 and snapshotted
#     (vm.pause, vm.snapshot with Debian's curl), the others shut down
#   - restore: from starting `wisp --restore source_url=file://DIR,resume=on`
#     to the first tick it prints, RESTORE_RUNS times, and as many with
#     prefault=on (the memory file read whole before the guest runs)
# With each, wisp's resident memory (VmRSS) at that point: after a plain
# restore it holds only the pages the guest touched since, and its
# page tables; with prefault=on, the whole snapshot.
# Prints per run:  [restore] RESULT cold|restore|prefault run=N to_tick_cs=N rss_kb=N
# lab-programs: curl
# lab-timeout: 600
# lab-boots: 9
RESTORE_RUNS=${RESTORE_RUNS:-3}
sock=$PWD/api.sock
snap=$PWD/snap
api() { "$LAB/bin/curl" -s -i --max-time 60 --unix-socket "$sock" -X "$1" "http://localhost$2" ${3:+-d "$3"}; }
ticks() { n=$(grep -c '^WISP-TICK' "$1" 2>/dev/null); echo "${n:-0}"; }
# watch_tick LOG OUT: once LOG has a tick, the lab host's clock (cs) and wisp's
# VmRSS (KiB) into OUT; wisp is the last session run_wisp started
watch_tick() {
	while [ "$(ticks "$1")" = 0 ]; do usleep 10000; done
	t=$(_lab_cs)
	pid=$(tail -n 1 "${LAB_CASE_DIR:-.}/sessions")
	echo "$t $(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")" >"$2"
}
result() { # KIND RUN T0 OUT
	read -r t1 rss <"$4" || fail "$1 run $2: the guest's first tick was not seen"
	note "RESULT $1 run=$2 to_tick_cs=$((t1 - $3)) rss_kb=${rss:-0}"
}

GUEST_CMDLINE_EXTRA=""
note "COMMAND cold wisp --kernel vmlinuz --initramfs initrd.gz --cmdline '$(guest_cmdline ticker)' --serial tty --console off --memory size=256M --api-socket path=api.sock"
note "COMMAND restore wisp --restore source_url=file:///DIR,resume=on"
note "COMMAND prefault wisp --restore source_url=file:///DIR,prefault=on,resume=on"
i=1
while [ $i -le "$RESTORE_RUNS" ]; do
	rm -f cold.log cold.log.rc cold.t
	watch_tick cold.log cold.t &
	(
		# the first boot runs on to tick 25 and is snapshotted there
		want=1
		[ $i = 1 ] && want=25
		until [ -s cold.t ] && [ "$(ticks cold.log)" -ge $want ]; do
			[ -e cold.log.rc ] && exit 0
			usleep 20000
		done
		if [ $i = 1 ]; then
			api PUT /api/v1/vm.pause >pause.out 2>&1
			api PUT /api/v1/vm.snapshot '{"destination_url":"file://'"$snap"'"}' >snapshot.out 2>&1
		fi
		api PUT /api/v1/vm.shutdown >/dev/null 2>&1
	) &
	t0=$(_lab_cs)
	boot_guest 120 cold.log ticker --memory size=256M --api-socket "path=$sock" >/dev/null
	wait
	result cold $i "$t0" cold.t
	i=$((i + 1))
done
grep -q '^HTTP/1.1 204' snapshot.out || fail "vm.snapshot: $(head -n 1 snapshot.out)"
note "snapshot: $(du -k "$snap" | tail -n 1 | cut -f1) KiB on disk"

for kind in restore prefault; do
	opt=resume=on
	[ $kind = prefault ] && opt=prefault=on,resume=on
	i=1
	while [ $i -le "$RESTORE_RUNS" ]; do
		rm -f r.log r.log.rc r.t
		watch_tick r.log r.t &
		(
			while [ ! -s r.t ]; do [ -e r.log.rc ] && exit 0; usleep 20000; done
			kill -KILL "$(tail -n 1 "${LAB_CASE_DIR:-.}/sessions")"
		) &
		t0=$(_lab_cs)
		run_wisp 60 r.log -- --restore "source_url=file://$snap,$opt" >/dev/null
		wait
		result $kind $i "$t0" r.t
		i=$((i + 1))
	done
done
pass
