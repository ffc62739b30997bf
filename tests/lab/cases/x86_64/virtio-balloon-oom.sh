# virtio-balloon deflate_on_oom (issue 22): a 256 MiB guest gives 128 MiB
# to the balloon (--balloon size=128M,deflate_on_oom=on), then writes
# 112 MiB into tmpfs, more than it has available with the balloon full.
# tmpfs pages cannot be freed by killing anything, so the write succeeds
# only if Linux's balloon driver deflates on OOM: the guest must report the
# fill done with less available than it wrote, and wisp must have seen the
# balloon's 128 MiB come in and pages go back (inflated_pages and
# deflated_pages in vm.counters).  (With deflate_on_oom Linux does not
# take the balloon off MemTotal: the guest sees it in MemAvailable.)
# lab-programs: curl
# lab-timeout: 240
# lab-boots: 1
sock=$PWD/api.sock
(
	for _ in $(seq 900); do
		grep -q '^WISP-BALLOON-FILLED' guest.log 2>/dev/null && break
		[ -e guest.log.rc ] && exit 0
		sleep 0.2
	done
	"$LAB/bin/curl" -s --max-time 10 --unix-socket "$sock" \
		http://localhost/api/v1/vm.counters >counters.out 2>&1
) &
GUEST_CMDLINE_EXTRA="wisp_modules=virtio_pci,virtio_balloon wisp_balloon_mb=128 wisp_fill_mb=112" \
	boot_guest $((LAB_BOOT_TIMEOUT + 120)) guest.log balloon-oom --memory size=256M \
	--balloon size=128M,deflate_on_oom=on --api-socket "path=$sock"
wait
note "vm.counters: $(head -c 400 counters.out 2>/dev/null)"
expect_guest_ok guest.log
expect_exit 0
drop=$(guest_fact guest.log balloon_avail_drop_kb)
avail=$(guest_fact guest.log avail_before_fill_kb)
note "MemAvailable down ${drop} KiB with the balloon full, ${avail} KiB before the fill"
expect_range balloon_avail_drop_kb "$drop" $((96 * 1024)) $((256 * 1024))
expect_range avail_before_fill_kb "$avail" 0 $((112 * 1024 - 1))
[ "$(guest_fact guest.log fill)" = ok ] || fail "the guest could not write 112 MiB: the balloon did not deflate on OOM"
counter() { sed -n 's/.*"_balloon0":{[^}]*"'"$1"'":\([0-9]*\).*/\1/p' counters.out; }
expect_range inflated_pages "$(counter inflated_pages)" $((128 * 256)) $((2 * 128 * 256))
expect_range deflated_pages "$(counter deflated_pages)" 256 $((128 * 256))
pass
