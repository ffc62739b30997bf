# virtio-balloon: cloud-hypervisor's --balloon size=...,free_page_reporting=on
# with Linux's virtio_balloon driver (issue 22).  The guest (256 MiB)
# touches 128 MiB and frees it, then loads the driver: it must give the
# 64 MiB asked for (its MemTotal drops by that much), and the freed pages
# it reports must go back to the host too.  wisp's resident memory,
# sampled from the lab host every 0.5 s, must fall by at least 80 MiB
# from its peak after the guest touched its memory: the balloon alone
# returns at most 64 MiB, so the rest is free page reporting.
# lab-timeout: 150
# lab-boots: 1
# (the lab host is emulated: find wisp once, then read one file per sample)
(pid=
while :; do
	if [ -z "$pid" ]; then
		for p in /proc/[0-9]*; do
			case "$(cat $p/cmdline 2>/dev/null | tr '\0' ' ')" in
			"$WISP "*) pid=${p#/proc/} ;;
			esac
		done
	fi
	[ -n "$pid" ] && awk '/^VmRSS:/ { print $2 }' /proc/$pid/status >>rss.log
	sleep 0.5
done) &
sampler=$!
GUEST_CMDLINE_EXTRA="wisp_modules=virtio_pci wisp_balloon_mb=64" \
	boot_guest $((LAB_BOOT_TIMEOUT + 60)) guest.log balloon --memory size=256M \
	--balloon size=64M,free_page_reporting=on
kill $sampler
note "$(wc -l <rss.log) RSS samples"
expect_guest_ok guest.log
expect_exit 0
expect_line guest.log '^WISP-BALLOON-SETTLED' "the guest did not finish"
given=$(guest_fact guest.log balloon_given_kb)
peak=$(sort -n rss.log | tail -n 1)
# the samples after the guest settled: the last few before wisp exited
last=$(tail -n 3 rss.log | sort -n | head -n 1)
note "guest gave ${given} KiB; wisp RSS peak ${peak} KiB, at the end ${last} KiB"
expect_range balloon_given_kb "$given" $((64 * 1024)) $((70 * 1024))
expect_range rss_returned_kb $((peak - last)) $((80 * 1024)) $((1024 * 1024))
pass
