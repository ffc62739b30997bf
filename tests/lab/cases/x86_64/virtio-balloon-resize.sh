# virtio-balloon-resize: the balloon driven at run time (issue 22).  A
# 320 MiB guest starts with an empty balloon (--balloon size=0 with
# statistics every second), touches 240 MiB and frees it, so that wisp
# holds it; then, with Debian's curl on the API socket, the lab host
# sets desired_balloon to 128 MiB (vm.resize): the guest's MemTotal must
# drop by 128 MiB and wisp's resident memory in the lab host by at least
# 100 MiB; vm.counters must show the guest's statistics and vm.info's
# memory_actual_size the RAM less the balloon.  Then desired_balloon=0:
# the guest must get its 128 MiB back.
# lab-programs: curl
# lab-timeout: 300
# lab-boots: 1
sock=$PWD/api.sock
api() { "$LAB/bin/curl" -s -i --max-time 10 --unix-socket "$sock" -X "$1" "http://localhost$2" ${3:+-d "$3"}; }
status_of() { sed -n '1s/^HTTP\/1.1 \([0-9]*\) .*/\1/p' "$1"; }
wait_line() { # PATTERN: 0 once guest.log has it, 1 if wisp ended first
	for _ in $(seq 900); do
		grep -q "$1" guest.log 2>/dev/null && return 0
		[ -e guest.log.rc ] && return 1
		sleep 0.2
	done
	return 1
}
# (the lab host is emulated: find wisp once, then read one file per sample)
wisp_pid() {
	for p in /proc/[0-9]*; do
		case "$(tr '\0' ' ' <$p/cmdline 2>/dev/null)" in
		"$WISP "*) echo "${p#/proc/}"; return ;;
		esac
	done
}
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
(
	wait_line '^WISP-BALLOON-READY' || exit 0
	pid=$(wisp_pid)
	sleep 1
	rss "$pid" >rss-before
	api PUT /api/v1/vm.resize '{"desired_balloon": 134217728}' >resize-128.out 2>&1
	wait_line '^WISP-BALLOON-INFLATED' || exit 0
	sleep 3	# the inflate queue's last pages, and a statistics round
	rss "$pid" >rss-inflated
	api GET /api/v1/vm.counters >counters.out 2>&1
	api GET /api/v1/vm.info >info-inflated.out 2>&1
	api PUT /api/v1/vm.resize '{"desired_vcpus": 4}' >resize-vcpus.out 2>&1
	api PUT /api/v1/vm.resize '{"desired_balloon": 0}' >resize-0.out 2>&1
	wait_line '^WISP-BALLOON-DEFLATED' || exit 0
	api GET /api/v1/vm.info >info-deflated.out 2>&1
) &
GUEST_CMDLINE_EXTRA="wisp_modules=virtio_pci,virtio_balloon" \
	boot_guest $((LAB_BOOT_TIMEOUT + 200)) guest.log balloon-resize --memory size=320M \
	--balloon size=0,stats_polling_interval_s=1 --api-socket "path=$sock"
wait
for f in resize-128 counters info-inflated resize-vcpus resize-0 info-deflated; do
	note "$f: $(status_of $f.out) $(tail -n 1 $f.out 2>/dev/null | head -c 400)"
done
expect_guest_ok guest.log
expect_exit 0
expect_line guest.log '^WISP-BALLOON-DEFLATED' "the guest did not get through inflate and deflate"
[ "$(status_of resize-128.out)" = 204 ] || fail "vm.resize 128 MiB: $(head -n 1 resize-128.out)"
[ "$(status_of resize-0.out)" = 204 ] || fail "vm.resize 0: $(head -n 1 resize-0.out)"
[ "$(status_of resize-vcpus.out)" = 500 ] && grep -q 'no vCPU hotplug' resize-vcpus.out ||
	fail "vm.resize desired_vcpus: $(tail -n 1 resize-vcpus.out)"
given=$(guest_fact guest.log balloon_given_kb)
back=$(guest_fact guest.log balloon_back_kb)
avail0=$(guest_fact guest.log balloon_avail_before_kb)
avail1=$(guest_fact guest.log balloon_avail_given_kb)
before=$(cat rss-before) inflated=$(cat rss-inflated)
note "guest gave ${given} KiB (MemAvailable ${avail0} -> ${avail1} KiB), got ${back} KiB back; wisp RSS ${before} -> ${inflated} KiB"
expect_range balloon_given_kb "$given" $((128 * 1024)) $((132 * 1024))
expect_range balloon_avail_drop_kb $((avail0 - avail1)) $((100 * 1024)) $((320 * 1024))
expect_range balloon_back_kb "$back" $((128 * 1024)) $((132 * 1024))
expect_range rss_returned_kb $((before - inflated)) $((100 * 1024)) $((320 * 1024))
grep -q '"_balloon0":{"inflated_pages":[0-9]' counters.out || fail "vm.counters has no balloon: $(tail -n 1 counters.out)"
free=$(sed -n 's/.*"free_memory":\([0-9]*\).*/\1/p' counters.out)
total=$(sed -n 's/.*"total_memory":\([0-9]*\).*/\1/p' counters.out)
# (MemTotal less the balloon, when the guest counted)
expect_range stats_total_memory_mib $((${total:-0} >> 20)) 100 320
expect_range stats_free_memory_mib $((${free:-0} >> 20)) 1 320
actual=$(sed -n 's/.*"memory_actual_size":\([0-9]*\).*/\1/p' info-inflated.out)
expect_range memory_actual_size_mib $((${actual:-0} >> 20)) 192 192
actual=$(sed -n 's/.*"memory_actual_size":\([0-9]*\).*/\1/p' info-deflated.out)
expect_range memory_actual_size_after_mib $((${actual:-0} >> 20)) 320 320
pass
