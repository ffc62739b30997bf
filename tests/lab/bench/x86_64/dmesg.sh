# dmesg: where a Linux boot's time goes under wisp and under QEMU microvm
# (issue 21), one boot each in the same lab run: the same kernel and
# initramfs, 1 vCPU, 256 MiB, with initcall_debug, printk timestamps and
# apic=verbose (which shows whether the local APIC timer was calibrated).
# A third boot under wisp hides the TSC-deadline timer from the guest
# (clearcpuid=), as wisp's CPUID did before it advertised it: the cost of
# that, measured in the same run. The guest prints its kernel log without
# the initcalls under a millisecond ("DMESG ..." lines); this case prints
# each, prefixed "[dmesg] WISP ", "[dmesg] NODL " and "[dmesg] QEMU ", and
# the slowest initcalls of each. A tool for reading, not a benchmark:
# bench never runs it; run it with
#   tests/lab/run --arch x86_64 --wisp build/wisp --with-qemu \
#     --case-dir tests/lab/bench/x86_64 --case dmesg
# lab-timeout: 120
# lab-boots: 3
QEMU_BIN=/usr/bin/qemu-system-x86_64
[ -x "$QEMU_BIN" ] || fail "no QEMU in the lab host (tests/lab/run --with-qemu)"
# the log buffer keeps the initcall lines whatever the console shows
GUEST_CMDLINE_EXTRA="initcall_debug printk.time=1 apic=verbose ${DMESG_EXTRA:-}"
cmdline=$(guest_cmdline dmesg)
boot_guest "$LAB_BOOT_TIMEOUT" wisp.log dmesg --memory size=256M
[ "$WISP_RC" = 0 ] || fail "wisp exited $WISP_RC"
GUEST_CMDLINE_EXTRA="$GUEST_CMDLINE_EXTRA clearcpuid=tsc_deadline_timer"
boot_guest "$LAB_BOOT_TIMEOUT" nodl.log dmesg --memory size=256M
[ "$WISP_RC" = 0 ] || fail "wisp (clearcpuid=tsc_deadline_timer) exited $WISP_RC"
WISP=$QEMU_BIN
run_wisp "$LAB_BOOT_TIMEOUT" qemu.log -- -accel kvm -cpu host,-arch-capabilities -M microvm,rtc=on \
	-nodefaults -no-user-config -display none -no-reboot -serial stdio -smp 1 -m 256M \
	-kernel "$GUEST_BZIMAGE" -initrd "$GUEST_INITRD" -append "$cmdline"
[ "$WISP_RC" = 0 ] || fail "qemu exited $WISP_RC"
for v in wisp nodl qemu; do
	V=$(echo $v | tr a-z A-Z)
	note "$V uptime at /init: $(sed -n 's/^GUEST uptime=//p' $v.log)"
	sed -n "s/^DMESG /$V /p" $v.log | while IFS= read -r l; do note "$l"; done
	note "$V slowest initcalls:"
	sed -n 's/.*initcall \([^ ]*\) returned [-0-9]* after \([0-9]*\) usecs.*/\2 \1/p' $v.log |
		sort -rn | head -n 15 | while IFS= read -r l; do note "$V   $l"; done
done
pass
