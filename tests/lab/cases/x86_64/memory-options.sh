# memory-options: cloud-hypervisor's --memory keys applied (issue 18).
#   1. prefault=on,mergeable=on: every page of guest RAM is resident from
#      the start (a plain boot touches far less than 256 MiB), and the RAM
#      mapping carries KSM's flag (VmFlags "mg" in smaps)
#   2. hugepages=on,hugepage_size=2M,prefault=on: RAM comes from the lab host's pool
#      of 2 MiB pages, all of it at once (HugePages_Free falls by 128)
# lab-timeout: 60
# lab-boots: 2
# wisp's pid, once it runs; then the sampler's command, every 0.5 s
sample() { # COMMAND...: appends its output to samples.log while wisp runs
	(pid=
	while :; do
		if [ -z "$pid" ]; then
			for p in /proc/[0-9]*; do
				case "$(tr '\0' ' ' <$p/cmdline 2>/dev/null)" in
				"$WISP "*) pid=${p#/proc/} ;;
				esac
			done
		fi
		[ -n "$pid" ] && PID=$pid "$@" >>samples.log 2>/dev/null
		sleep 0.5
	done) &
	sampler=$!
}
rss_and_flags() {
	awk '/^VmRSS:/ { print "rss", $2 }' /proc/$PID/status
	# the RAM mapping: 256 MiB (262144 kB) or more, with its flags
	awk '/^Size:/ { big = $2 >= 262144 } /^VmFlags:/ && big { print "flags", $0 }' /proc/$PID/smaps
}
sample rss_and_flags
boot_guest "$LAB_BOOT_TIMEOUT" guest1.log facts --memory size=256M,prefault=on,mergeable=on
kill $sampler
expect_guest_ok guest1.log
expect_exit 0
peak=$(awk '$1 == "rss" { print $2 }' samples.log | sort -n | tail -n 1)
note "prefault=on: RSS peak ${peak} kB"
expect_range rss_peak_kb "${peak:-0}" 262144 1048576
grep -q '^flags .* mg' samples.log || fail "the RAM mapping lacks KSM's mg flag: $(grep -m1 '^flags' samples.log)"

echo 140 >/proc/sys/vm/nr_hugepages
free0=$(awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo)
[ "${free0:-0}" -ge 128 ] || fail "the lab host has only ${free0:-0} free 2 MiB pages"
: >samples.log
huge_free() { awk '/^HugePages_Free:/ { print "free", $2 }' /proc/meminfo; }
sample huge_free
boot_guest "$LAB_BOOT_TIMEOUT" guest2.log facts --memory size=256M,hugepages=on,hugepage_size=2M,prefault=on
kill $sampler
expect_guest_ok guest2.log
expect_exit 0
low=$(awk '$1 == "free" { print $2 }' samples.log | sort -n | head -n 1)
note "hugepage_size=2M: HugePages_Free $free0 -> ${low} while the guest ran"
expect_range huge_pages_used $((free0 - ${low:-$free0})) 128 140
echo 0 >/proc/sys/vm/nr_hugepages
pass
