# boot: how a real Linux boot costs under wisp and under QEMU's virt
# machine on AArch64, in one lab run (a benchmark, not a test: bench/lab/run
# runs it, `make test` never does); the AArch64 counterpart of
# tests/lab/bench/x86_64/boot.sh. The same guest (the lab's arm64 Image and
# initramfs, 1 vCPU, 256 MiB, no disk or network) boots and powers off
# (PSCI SYSTEM_OFF) BOOT_RUNS times under each variant, alternating: wisp as
# it comes (its default devices), the tiny configuration's wisp
# (aarch64_tiny_defconfig, its default devices; /lab/wisp-tiny, which
# bench/lab/run passes in with tests/lab/run --with), QEMU virt with its
# default devices, and QEMU virt with the fewest devices it boots this guest
# with (qemu-min, below), each of the two also with -cpu host,pauth=off
# (qemu-nopauth, qemu-min-nopauth, below). QEMU is Debian's arm64 build, which
# tests/lab/run --arch aarch64 --with-qemu packs from scripts/setup bench's
# unpacked copy. Per run:
#   - wall time from starting the VMM to its exit, on the lab host's clock
#   - the guest kernel's uptime when its /init ran (its own boot time)
#   - the lab host's time from starting the VMM to /init's first line
#     (WISP-GUEST-UP) on the serial console (the PL011), polled every 50 ms
#   - the VM exits of the run by kind, counted by a histogram trigger on
#     the lab host's kvm_exit tracepoint (nothing else runs VMs meanwhile).
#     On arm64 the event has ret (how the guest left: 0 an interrupt, 2 a
#     trap, ...), esr_ec (the trap's exception class) and vcpu_pc; the
#     histogram is keyed by ret and esr_ec, and a trap counts under its
#     class: exit_ec24 (data abort from the guest: MMIO, stage-2 faults),
#     exit_ec20 (instruction abort: stage-2 faults on code), exit_ec01
#     (WFI/WFE), exit_ec16 (HVC: PSCI), exit_ec18 (system register
#     access); an interrupt exit as exit_irq (its esr_ec is stale: KVM
#     reads the class whatever the exit was), anything else as exit_retN.
#   - of those, the exits KVM hands to the VMM (KVM_RUN returns to it: the
#     MMIO it emulates, the power-off), by the kvm_userspace_exit
#     tracepoint, as the x86_64 case counts them
# Under the lab's TCG every exit is emulated, so times mean little and the
# counts are the solid figures. Prints, per run and VMM:
#   [boot] RESULT wisp run=N wall_cs=N guest_init_cs=N to_init_cs=N exits=N exit_ec24=N ... vmm_exits=N
#   [boot] COMMAND wisp|wisp-tiny|qemu|qemu-min|qemu-nopauth|qemu-min-nopauth ...
# Needs `tests/lab/run --arch aarch64 --with-qemu --with build/bench-arm64-tiny/wisp:wisp-tiny`.
# lab-timeout: 500
# lab-boots: 18
BOOT_RUNS=${BOOT_RUNS:-3}

QEMU_BIN=/usr/bin/qemu-system-aarch64
[ -x "$QEMU_BIN" ] || fail "no QEMU in the lab host (tests/lab/run --arch aarch64 --with-qemu)"
TINY_BIN=/lab/wisp-tiny
[ -x "$TINY_BIN" ] || fail "no tiny wisp at $TINY_BIN (tests/lab/run --with build/bench-arm64-tiny/wisp:wisp-tiny)"
# for the report: which QEMU, and the lab host's THP setting (both VMMs
# ask for huge pages for guest RAM; "always" gives them anyway)
note "$("$QEMU_BIN" --version | head -n 1)"
note "transparent_hugepage=$(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)"

# the exits by how the guest left and the trap's exception class
# (tests/lab/lib.sh, boot_hist_init)
boot_hist_init ret,esr_ec
note "kvm_exit fields: $(sed -n 's/^[[:space:]]*field:[^;]* \([a-z_]*\);.*/\1/p' "$BOOT_EV"/format | tr '\n' ' ')"

# result VMM RUN LOG WALL_CS TO_INIT_CS: boot_result with exits=TOTAL and
# exit_KIND=N for each kind (above)
result() {
	# "{ ret:          2, esr_ec:         36 } hitcount:       1234",
	# then "Hits: N"; interrupt exits of every stale class summed
	boot_result "$@" "$(awk 'index($0, "{ ret:") == 1 {
			line = $0; gsub(/[{},]/, " ", line); split(line, f, " ")
			r = f[2]; ec = f[4]; n = $NF; total += n
			k = (r == 2) ? sprintf("ec%02x", ec) : (r == 0) ? "irq" : "ret" r
			if (!(k in c)) order[m++] = k
			c[k] += n }
		index($0, "Hits:") { hits = $2 }
		END { out = ""; for (i = 0; i < m; i++) out = out " exit_" order[i] "=" c[order[i]]
			print "exits=" (hits != "" ? hits : total + 0) out }' "$BOOT_EV"/hist)"
}

cmdline=$(guest_cmdline boot)
# qemu: virt with its default devices. Whatever the options, QEMU 7.2's
# virt board has a GICv3 with an ITS, the PL011 UART (the console here),
# the PL031 RTC, the PL061 GPIO (its power button), fw_cfg, 32 virtio-mmio
# transports (empty), a PCIe host bridge (ECAM) and, with ACPI on (its
# default, "auto"), the ACPI GED. QEMU's default devices beyond the board
# (a virtio-net-pci NIC on user networking, a monitor) go with -nodefaults,
# as in the x86_64 case: wisp's default has no NIC either. gic-version=3:
# the lab host's GIC (tests/lab/run --gic 3, the default), which KVM's
# vGIC must match; -cpu host: KVM on arm64 runs no other CPU model.
qargs="-accel kvm -cpu host -M virt,gic-version=3"
qargs="$qargs -nodefaults -no-user-config -display none -no-reboot -serial stdio"
qargs="$qargs -smp 1 -m 256M"
# qemu-min: of the board's devices, QEMU 7.2's virt lets two go that this
# guest can do without: its=off (no GIC ITS: the guest has no PCI device
# to send it MSIs) and acpi=off (no ACPI GED: booted with -kernel and no
# firmware, the guest takes its hardware from the device tree and never
# sees the ACPI tables, and powers off through PSCI). The PL011 stays: it
# is the console /init's lines come out of. Nothing turns off the PL031,
# the PL061, fw_cfg, the virtio-mmio transports or the PCIe host bridge;
# usb, secure, virtualization, mte, ras and iommu are off already.
qmin="-accel kvm -cpu host -M virt,gic-version=3,its=off,acpi=off"
qmin="$qmin -nodefaults -no-user-config -display none -no-reboot -serial stdio"
qmin="$qmin -smp 1 -m 256M"
# -nopauth: the same without pointer authentication. wisp's vCPU has
# none (it asks KVM_ARM_VCPU_INIT for no PTRAUTH feature); QEMU's
# -cpu host has it whenever KVM offers it, and the lab's emulated host
# does: TCG computes every PACIASP/AUTIASP of the guest kernel in
# software (QARMA5), which made QEMU's guest 3-5 times slower to /init
# (one boot each, 2026-12-07: 17-25 s as it comes; 4.96 s with
# pauth=off, 17.18 s with sve=off, 14.02 s with pmu=off), with about
# 3,000 more host-interrupt exits for the longer boot. On hardware
# pointer authentication costs a few cycles; so the -nopauth variants
# are the VMM against the VMM, the others QEMU as it comes.
nopauth() { echo "$1" | sed 's/-cpu host /-cpu host,pauth=off /'; }
note "COMMAND wisp wisp --kernel Image --initramfs initrd.gz --cmdline '$cmdline' --serial tty --console off --memory size=256M"
note "COMMAND wisp-tiny wisp-tiny --kernel Image --initramfs initrd.gz --cmdline '$cmdline' --serial tty --memory size=256M"
note "COMMAND qemu qemu-system-aarch64 $qargs -kernel Image -initrd initrd.gz -append '$cmdline'"
note "COMMAND qemu-min qemu-system-aarch64 $qmin -kernel Image -initrd initrd.gz -append '$cmdline'"
note "COMMAND qemu-nopauth qemu-system-aarch64 $(nopauth "$qargs") -kernel Image -initrd initrd.gz -append '$cmdline'"
note "COMMAND qemu-min-nopauth qemu-system-aarch64 $(nopauth "$qmin") -kernel Image -initrd initrd.gz -append '$cmdline'"

wisp_bin=$WISP
i=1
while [ $i -le "$BOOT_RUNS" ]; do
	for vmm in wisp wisp-tiny qemu qemu-min qemu-nopauth qemu-min-nopauth; do
		boot_hist_on
		rm -f $vmm.log $vmm.init
		boot_watch_init $vmm.log $vmm.init &
		watcher=$!
		t0=$(_lab_cs)
		if [ $vmm = wisp ]; then
			WISP=$wisp_bin
			boot_guest "$LAB_BOOT_TIMEOUT" $vmm.log boot --memory size=256M
		elif [ $vmm = wisp-tiny ]; then
			# no --console (the tiny build has no virtio-console), so
			# not boot_guest: the PL011 is its console anyway
			WISP=$TINY_BIN
			run_wisp "$LAB_BOOT_TIMEOUT" $vmm.log -- --kernel "$GUEST_BZIMAGE" \
				--initramfs "$GUEST_INITRD" --cmdline "$cmdline" \
				--serial tty --memory size=256M
		else
			WISP=$QEMU_BIN
			case $vmm in
			qemu) a=$qargs ;;
			qemu-min) a=$qmin ;;
			qemu-nopauth) a=$(nopauth "$qargs") ;;
			*) a=$(nopauth "$qmin") ;;
			esac
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
