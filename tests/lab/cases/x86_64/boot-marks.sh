# boot-marks: the peers' boot-time conventions on wisp's timeline (issue
# 21). The guest's init writes 0x40 and then 0x41 to cloud-hypervisor's
# debug port 0x80 and the byte 123 to Firecracker's boot timer at
# 0xd0000000; under --timeline wisp logs each on stderr in its peer's
# words, read here the way the peers' tools read them, and the timeline
# at exit shows the guest's boot complete at the boot timer's moment.
# The guest's CPU also has the TSC-deadline timer, and so Linux did not
# calibrate its local APIC timer.
# lab-timeout: 60
# lab-boots: 1
# apic=verbose: Linux logs its APIC timer calibration only then
GUEST_CMDLINE_EXTRA="apic=verbose"
boot_guest "$LAB_BOOT_TIMEOUT" guest.log marks --memory size=256M --timeline
expect_guest_ok guest.log
expect_exit 0
# wisp's stderr reaches guest.log through a tee of its own, so its lines
# can land inside the guest's: the facts are looked for anywhere in a line
has_fact() { grep -q "GUEST $1=$2" guest.log; }
has_fact port80 ok || fail "the guest could not write to port 0x80 (/bin/outb)"
has_fact fc_boot_timer ok || fail "the guest could not write to 0xd0000000 (devmem)"
# the guest's timer: the TSC deadline (the lab host's KVM has
# KVM_CAP_TSC_DEADLINE_TIMER), so Linux skips its 100 ms APIC timer
# calibration (docs/performance.md, "Where a Linux boot's time went")
has_fact tsc_deadline yes || fail "no tsc_deadline_timer in the guest's CPU flags"
has_fact apic_calibrated no || fail "the guest calibrated its APIC timer"
err=guest.log.err

# cloud-hypervisor's performance-metrics: the line with the code, the text
# after its one "--", eight words, the seventh the seconds (printed here in
# microseconds; nothing when the line is not in that shape)
ch_line() { grep "\[Debug I/O port: Kernel code $1\]" $err; }
ch_us() {
	ch_line "$1" | awk -F'--' 'NF == 2 { n = split($2, w, " ")
		if (n == 8 && w[8] == "seconds" && w[7] ~ /^[0-9]+\.[0-9][0-9][0-9][0-9][0-9][0-9]$/)
			printf "%.0f\n", w[7] * 1000000 }'
}
for code in 0x40 0x41; do
	n=$(ch_line $code | wc -l)
	[ "$n" = 1 ] || fail "$n lines for debug-port code $code on wisp's stderr, want 1"
done
t40=$(ch_us 0x40) t41=$(ch_us 0x41)
[ -n "$t40" ] && [ -n "$t41" ] || fail "debug-port lines not in cloud-hypervisor's shape: $(ch_line 0x40) / $(ch_line 0x41)"
[ "$t41" -ge "$t40" ] || fail "code 0x41 logged at ${t41} us, before 0x40 at ${t40} us"

# Firecracker's tools: "Guest-boot-time = W us W/1000 ms, C CPU us ..."
fc=$(sed -n 's/.*Guest-boot-time = *\([0-9]*\) us \([0-9]*\) ms, *\([0-9]*\) CPU us \([0-9]*\) CPU ms$/\1 \2 \3 \4/p' $err)
[ -n "$fc" ] || fail "no Guest-boot-time line on wisp's stderr"
set -- $fc
[ "$2" = $(($1 / 1000)) ] && [ "$4" = $(($3 / 1000)) ] || fail "Guest-boot-time line inconsistent: $fc"
[ "$1" -ge "$t41" ] || fail "boot timer at $1 us, before the guest's later debug-port write at $t41 us"

# the timeline: the guest's boot complete at the boot timer's write
done_us=$(sed -n 's/^wisp: *\([0-9]*\)  guest boot complete$/\1/p' $err)
[ -n "$done_us" ] || fail "no 'guest boot complete' time in wisp's timeline: $(grep 'boot complete' $err)"
[ "$done_us" -le "$1" ] && [ $(($1 - done_us)) -lt 100000 ] ||
	fail "timeline's boot complete at $done_us us, Guest-boot-time $1 us"
note "debug port 0x40 at $t40 us, 0x41 at $t41 us; boot timer at $1 us (timeline $done_us us)"
pass
