# boot: how a real Linux boot costs under wisp and under QEMU microvm, in one
# lab run (a benchmark, not a test: bench/lab/run runs it, `make test` never
# does). The same guest (the lab's bzImage and initramfs, 1 vCPU, 256 MiB,
# no disk or network) boots and powers off BOOT_RUNS times under each
# variant, alternating: wisp as it comes (its default devices), wisp with
# --memory thp=off, the tiny configuration's wisp (its default devices;
# /lab/wisp-tiny, which bench/lab/run passes in with tests/lab/run --with),
# QEMU microvm with its default devices, and QEMU microvm with the fewest
# devices it boots this guest with (qemu-min, below). Per run:
#   - wall time from starting the VMM to its exit, on the lab host's clock
#   - the guest kernel's uptime when its /init ran (its own boot time)
#   - the lab host's time from starting the VMM to /init's first line
#     (WISP-GUEST-UP) on the serial console, polled every 50 ms
#   - the VM exits of the run by reason, counted by a histogram trigger on
#     the lab host's kvm_exit tracepoint (nothing else runs VMs meanwhile)
#   - of those, the exits KVM hands to the VMM (KVM_RUN returns to it:
#     port I/O and MMIO it emulates), by the kvm_userspace_exit tracepoint;
#     the rest KVM handles itself (MSRs, CPUID, interrupts, page faults,
#     and the writes it coalesces into a ring for the VMM)
# On real hardware the number of exits is what a boot's VMM cost is made of;
# under the lab's TCG every exit is emulated, so times mean little and the
# counts are the solid figures. Prints, per run and VMM:
#   [boot] RESULT wisp run=N wall_cs=N guest_init_cs=N to_init_cs=N exits=N ... vmm_exits=N
#   [boot] COMMAND wisp|wisp-4k|wisp-tiny|qemu|qemu-min ...
# Needs `tests/lab/run --with-qemu --with build/bench-tiny/wisp:wisp-tiny`.
# lab-timeout: 500
# lab-boots: 15
BOOT_RUNS=${BOOT_RUNS:-3}

QEMU_BIN=/usr/bin/qemu-system-x86_64
[ -x "$QEMU_BIN" ] || fail "no QEMU in the lab host (tests/lab/run --with-qemu)"
TINY_BIN=/lab/wisp-tiny
[ -x "$TINY_BIN" ] || fail "no tiny wisp at $TINY_BIN (tests/lab/run --with build/bench-tiny/wisp:wisp-tiny)"

# the exits by SVM exit code (tests/lab/lib.sh, boot_hist_init)
boot_hist_init exit_reason

# result VMM RUN LOG WALL_CS TO_INIT_CS: boot_result with exits=TOTAL
# and exit_REASON=N for each reason
result() {
	# "{ exit_reason:       1024 } hitcount:      29310", then "Hits: N"
	boot_result "$@" "$(awk 'index($0, "{ exit_reason:") == 1 {
			r = $3; n = $NF; total += n; out = out " exit_" r "=" n }
		index($0, "Hits:") { hits = $2 }
		END { print "exits=" (hits != "" ? hits : total + 0) out }' "$BOOT_EV"/hist)"
}

cmdline=$(guest_cmdline boot)
qargs="-accel kvm -cpu host,-arch-capabilities -M microvm,rtc=on"
qargs="$qargs -nodefaults -no-user-config -display none -no-reboot -serial stdio"
qargs="$qargs -smp 1 -m 256M"
# qemu-min: QEMU 7.2 microvm with every device it lets go off that this
# guest can do without: no RTC, PIT, 8259 PIC, second I/O APIC or option
# ROMs, and no virtio-mmio devices on the kernel command line (microvm
# still creates its empty virtio-mmio transports; nothing turns them off).
# The ISA serial port stays: it is the console /init's lines come out of.
# ACPI stays on: with acpi=off (firmware qboot.rom) the guest found no
# RSDP, printed "PCI: Fatal: No config space access function found" and
# never reached /init in 150 s, and ACPI's GED is how it powers off.
# rtc=off costs this guest some 40,000 port exits (Linux polls the absent
# CMOS clock: QEMU's tables do not say it is absent), which bench/lab/run's
# report says; it is still what QEMU's fewest devices are.
qmin="-accel kvm -cpu host,-arch-capabilities"
qmin="$qmin -M microvm,x-option-roms=off,pit=off,pic=off,rtc=off,ioapic2=off,isa-serial=on,acpi=on,auto-kernel-cmdline=off"
qmin="$qmin -nodefaults -no-user-config -display none -no-reboot -serial stdio"
qmin="$qmin -smp 1 -m 256M"
note "COMMAND wisp-4k wisp --kernel vmlinuz --initramfs initrd.gz --cmdline '$cmdline' --serial tty --console off --memory size=256M,thp=off"
note "COMMAND wisp wisp --kernel vmlinuz --initramfs initrd.gz --cmdline '$cmdline' --serial tty --console off --memory size=256M"
note "COMMAND wisp-tiny wisp-tiny --kernel vmlinuz --initramfs initrd.gz --cmdline '$cmdline' --serial tty --memory size=256M"
note "COMMAND qemu qemu-system-x86_64 $qargs -kernel vmlinuz -initrd initrd.gz -append '$cmdline'"
note "COMMAND qemu-min qemu-system-x86_64 $qmin -kernel vmlinuz -initrd initrd.gz -append '$cmdline'"

wisp_bin=$WISP
i=1
while [ $i -le "$BOOT_RUNS" ]; do
	for vmm in wisp wisp-4k wisp-tiny qemu qemu-min; do
		boot_hist_on
		rm -f $vmm.log $vmm.init
		boot_watch_init $vmm.log $vmm.init &
		watcher=$!
		t0=$(_lab_cs)
		if [ $vmm = wisp ]; then
			WISP=$wisp_bin
			boot_guest "$LAB_BOOT_TIMEOUT" $vmm.log boot --memory size=256M
		elif [ $vmm = wisp-4k ]; then
			WISP=$wisp_bin
			boot_guest "$LAB_BOOT_TIMEOUT" $vmm.log boot --memory size=256M,thp=off
		elif [ $vmm = wisp-tiny ]; then
			# no --console (the tiny build has no virtio-console), so
			# not boot_guest: the serial port is its console anyway
			WISP=$TINY_BIN
			run_wisp "$LAB_BOOT_TIMEOUT" $vmm.log -- --kernel "$GUEST_BZIMAGE" \
				--initramfs "$GUEST_INITRD" --cmdline "$cmdline" \
				--serial tty --memory size=256M
		else
			WISP=$QEMU_BIN
			a=$qargs
			[ $vmm = qemu-min ] && a=$qmin
			# shellcheck disable=SC2086
			run_wisp "$LAB_BOOT_TIMEOUT" $vmm.log -- $a \
				-kernel "$GUEST_BZIMAGE" -initrd "$GUEST_INITRD" -append "$cmdline"
		fi
		t1=$(_lab_cs)
		kill $watcher 2>/dev/null
		wait $watcher 2>/dev/null
		[ "$WISP_RC" = 0 ] || fail "$vmm run $i exited $WISP_RC"
		t_init=$(cat $vmm.init 2>/dev/null)
		result $vmm $i $vmm.log $((t1 - t0)) "${t_init:+$((t_init - t0))}"
		boot_hist_off
	done
	i=$((i + 1))
done
pass
