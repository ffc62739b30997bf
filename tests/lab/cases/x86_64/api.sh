# api: wisp's --api-socket driven from the lab host while a Linux guest
# prints a counter with its uptime five times a second (WISP-TICK n up):
# and writes a synced record per tick to its disk: ping and info answer;
# vm.counters moves with the writes; a pause stops the counter, the disk
# image and the disk's counters (and vm.info says Paused), and the guest's
# clock does not jump by the pause at the resume; all go on after the
# resume; unknown and unimplemented
# endpoints and a chunked request are refused; 100 connections that send
# nothing do not stop the guest or the API; vm.shutdown ends wisp with
# status 0 and the socket file is gone; --event-monitor's file has the
# VM's events in order (vmm starting, vm booting, booted, pausing,
# paused, resuming, resumed, shutdown, deleted, vmm shutdown) in
# cloud-hypervisor's shape, and the disk's activation by its driver
# (virtio-device activated, id _disk0) between booted and pausing.  Every endpoint is driven with
# Debian's curl (--unix-socket), as a user would, on x86_64 (an AArch64
# lab host cannot run this machine's curl: /lab/bin/host-tool's HTTP/1.1
# there); host-tool also sends what curl will not: a chunked request and
# idle connections.
# lab-programs: curl
# lab-timeout: 120
# lab-boots: 1
sock=$PWD/api.sock
tool=$LAB/bin/host-tool
last_tick() { sed -n 's/^WISP-TICK \([0-9]*\) .*/\1/p' guest.log | tail -n 1; }
tick_uptime() { sed -n "s/^WISP-TICK $1 \([0-9.]*\).*/\1/p" guest.log | head -n 1; }
# curl is this machine's: an x86_64 program, which an AArch64 lab host
# cannot run; there host-tool speaks the same HTTP/1.1
if "$LAB/bin/curl" --version >/dev/null 2>&1; then
	api() { "$LAB/bin/curl" -s -i --max-time 10 --unix-socket "$sock" -X "$1" "http://localhost$2"; }
else
	api() { "$tool" api "$sock" "$1" "$2"; }
fi
status_of() { sed -n '1s/^HTTP\/1.1 \([0-9]*\) .*/\1/p' "$1"; }
(
	for _ in $(seq 600); do
		grep -q '^WISP-TICK 5 ' guest.log 2>/dev/null && break
		[ -e guest.log.rc ] && exit 0
		sleep 0.2
	done
	api GET /api/v1/vmm.ping >ping.out 2>&1
	api GET /api/v1/vm.info >info-running.out 2>&1
	"$tool" api-idle "$sock" 100 4 >idle.out 2>&1 &
	api GET /api/v1/vm.counters >counters-running.out 2>&1
	api PUT /api/v1/vm.pause >pause.out 2>&1
	t0=$(last_tick)
	md5sum <disk.img >disk-paused-0.md5
	api GET /api/v1/vm.info >info-paused.out 2>&1
	api GET /api/v1/vm.counters >counters-paused-0.out 2>&1
	sleep 6
	t1=$(last_tick)
	md5sum <disk.img >disk-paused-1.md5
	api GET /api/v1/vm.counters >counters-paused-1.out 2>&1
	echo "$t0 $t1" >paused-ticks
	api PUT /api/v1/vm.pause >pause-again.out 2>&1
	api PUT /api/v1/vm.resume >resume.out 2>&1
	sleep 3
	last_tick >resumed-tick
	api GET /api/v1/vm.counters >counters-resumed.out 2>&1
	api GET /api/v1/vm.nothing >unknown.out 2>&1
	api PUT /api/v1/vm.add-disk >add-disk.out 2>&1
	printf 'PUT /api/v1/vm.pause HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' |
		"$tool" api-raw "$sock" >chunked.out 2>&1
	api GET /api/v1/vm.info >info-resumed.out 2>&1
	api PUT /api/v1/vm.shutdown >shutdown.out 2>&1
) &
dd if=/dev/zero of=disk.img bs=1M count=4 2>/dev/null
GUEST_CMDLINE_EXTRA="wisp_modules=virtio_pci,virtio_blk" \
	boot_guest $((LAB_BOOT_TIMEOUT + 60)) guest.log api --cpus boot=2 --memory size=256M \
	--disk path=disk.img --api-socket "path=$sock" --event-monitor "path=$PWD/events.json"
wait
for f in ping info-running counters-running pause info-paused counters-paused-0 counters-paused-1 counters-resumed pause-again resume unknown add-disk chunked info-resumed shutdown; do
	note "$f: $(status_of $f.out) $(tail -n 1 $f.out 2>/dev/null | sed 's/.*\("state":"[A-Za-z]*"\).*/\1/' | head -c 120)"
done
expect_guest_ok guest.log
[ "$(status_of ping.out)" = 200 ] || fail "vmm.ping: $(head -n 1 ping.out)"
grep -q '"pid":[0-9]' ping.out || fail "vmm.ping has no pid"
grep -q '"state":"Running"' info-running.out || fail "vm.info before the pause: $(tail -n 1 info-running.out)"
grep -q '"boot_vcpus":2' info-running.out || fail "vm.info has not boot_vcpus 2"
[ "$(status_of pause.out)" = 204 ] || fail "vm.pause: $(head -n 1 pause.out)"
grep -q '"state":"Paused"' info-paused.out || fail "vm.info while paused: $(tail -n 1 info-paused.out)"
read -r t0 t1 <paused-ticks
note "ticks: $t0 at the pause, $t1 6 s later, $(cat resumed-tick) 3 s after the resume"
[ -n "$t0" ] && [ "$t0" = "$t1" ] || fail "the guest went on while paused: tick $t0 -> $t1"
writes() { sed -n 's/.*"_disk0":{[^}]*"write_ops":\([0-9]*\).*/\1/p' "$1"; }
note "disk write_ops: $(writes counters-running.out) running, $(writes counters-paused-0.out) and $(writes counters-paused-1.out) paused, $(writes counters-resumed.out) resumed"
expect_range write_ops_running "$(writes counters-running.out)" 1 1000000
[ "$(writes counters-paused-0.out)" = "$(writes counters-paused-1.out)" ] ||
	fail "the disk's write_ops moved while paused"
cmp -s disk-paused-0.md5 disk-paused-1.md5 || fail "the disk image changed while paused"
expect_range write_ops_resumed "$(writes counters-resumed.out)" $(($(writes counters-paused-1.out) + 2)) 1000000
grep -q '"read_bytes":[0-9]*,"read_ops":[0-9]*,"write_bytes":[1-9][0-9]*,"write_ops"' counters-resumed.out ||
	fail "vm.counters: $(tail -n 1 counters-resumed.out)"
[ "$(status_of pause-again.out)" = 405 ] || fail "a second vm.pause: $(head -n 1 pause-again.out)"
[ "$(status_of resume.out)" = 204 ] || fail "vm.resume: $(head -n 1 resume.out)"
expect_range resumed_ticks "$(cat resumed-tick)" $((t1 + 2)) $((t1 + 30))
# the guest's uptime from the last tick before the pause to the next one
gap=$(awk "BEGIN { printf \"%d\", ($(tick_uptime $((t1 + 1))) - $(tick_uptime "$t1")) * 100 }")
note "guest uptime across the pause: ${gap} cs"
case "$(uname -m)" in
aarch64)
	# the virtual counter runs on through a pause (wisp leaves the
	# counter offset alone): the guest sees the 6 s and more it was paused
	expect_range pause_gap_cs "$gap" 600 6000 ;;
*)
	# kvmclock put back at the resume: 0.2 s plus the tick's own time
	# (its synced disk write: up to 1.6 s seen on a busy lab host), not
	# the more than 6 s the guest spent paused
	expect_range pause_gap_cs "$gap" 1 400 ;;
esac
[ "$(status_of unknown.out)" = 404 ] || fail "unknown endpoint: $(head -n 1 unknown.out)"
[ "$(status_of add-disk.out)" = 500 ] || fail "vm.add-disk: $(head -n 1 add-disk.out)"
grep -q 'vm.add-disk is not implemented' add-disk.out || fail "vm.add-disk's body does not name it"
[ "$(status_of chunked.out)" = 411 ] || fail "a chunked request: $(head -n 1 chunked.out)"
grep -q '"state":"Running"' info-resumed.out || fail "vm.info after the resume: $(tail -n 1 info-resumed.out)"
[ "$(status_of shutdown.out)" = 204 ] || fail "vm.shutdown: $(head -n 1 shutdown.out)"
expect_exit 0
[ -e "$sock" ] && fail "wisp left $sock behind"
# source/event (and id) of each object, in the file's order
awk '/^  "source": /{ s = $2 } /^  "event": /{ e = $2 } /^    "id": /{ e = e $2 }
     /^}$/{ print s e }' events.json | tr -d '",' >events.txt
note "events: $(tr '\n' ' ' <events.txt)"
events=$(grep -v '^virtio-device' events.txt | tr '\n' ' ')
[ "$events" = "vmmstarting vmbooting vmbooted vmpausing vmpaused vmresuming vmresumed vmshutdown vmdeleted vmmshutdown " ] ||
	fail "--event-monitor: events $events"
sed -n '/^vmbooted$/,/^vmpausing$/p' events.txt | grep -qx 'virtio-deviceactivated_disk0' ||
	fail "--event-monitor: no virtio-device activated _disk0 between booted and pausing"
[ "$(grep -c '^    "secs": [0-9]*,$' events.json)" = "$(wc -l <events.txt)" ] ||
	fail "--event-monitor: timestamps not in cloud-hypervisor's shape"
grep -q '^  "properties": null$' events.json || fail "--event-monitor: no \"properties\": null"
pass
