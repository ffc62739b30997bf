# vfio-exclude-bars: cloud-hypervisor's --device x_exclude_mmap_bars=
# (issue 18): the first virtio-blk disk of the lab host passed through with
# every memory BAR it has (its MSI-X BAR and the virtio registers' BAR,
# read from sysfs) kept out of KVM's memory slots, so each guest access to
# them traps and wisp forwards it to the device with pread/pwrite.  wisp
# says so for each BAR (-v), and the guest's driver still works: it reads
# the host's file, writes its own, with MSI-X; the lab host finds the
# guest's file afterwards.  A seventh BAR and a BAR given twice are
# refused, exit 2.
# lab-timeout: 90
# lab-boots: 2
bdf=$(head -n 1 /run/lab-vfio | cut -d' ' -f1)
# memory BARs (IORESOURCE_MEM, 0x200) with a size, from sysfs "resource"
bars="" n=0
while read -r start end flags && [ "$n" -lt 6 ]; do
	[ "$start" != "$end" ] && [ $((flags & 0x200)) != 0 ] && bars="$bars${bars:+,}$n"
	n=$((n + 1))
done <"/sys/bus/pci/devices/$bdf/resource"
[ -n "$bars" ] || fail "$bdf has no memory BAR: $(head -n 6 /sys/bus/pci/devices/$bdf/resource)"
note "$bdf: memory BARs $bars"
GUEST_CMDLINE_EXTRA="wisp_modules=virtio_pci,virtio_blk" \
	boot_guest "$((LAB_BOOT_TIMEOUT * 2))" guest.log vfio-blk --memory size=192M -v \
	--device "path=/sys/bus/pci/devices/$bdf,x_exclude_mmap_bars=[$bars]"
expect_guest_ok guest.log
expect_exit 0
for n in $(echo "$bars" | tr ',' ' '); do
	expect_line guest.log "^wisp: .*vfio $bdf: BAR $n \([0-9]+ bytes\) not mapped into the guest \(x_exclude_mmap_bars\): every access is trapped" \
		"no line saying BAR $n was kept out of the guest's memory slots"
done
[ "$(guest_fact guest.log disks)" = 1 ] || fail "the guest has $(guest_fact guest.log disks) disks, not 1"
[ "$(guest_fact guest.log read_vfio0)" = "vfio0: put there by the lab host" ] ||
	fail "the guest read '$(guest_fact guest.log read_vfio0)' through trapped BARs"
expect_range msix_devices "$(guest_fact guest.log msix_devices)" 1 1
expect_range queue_irqs "$(guest_fact guest.log queue_irqs)" 1 100000000
want=$(guest_fact guest.log wrote_vfio0)
[ -n "$want" ] || fail "the guest wrote nothing"

# the disk back to the lab host's driver: the guest's file is there
echo virtio-pci >"/sys/bus/pci/devices/$bdf/driver_override"
echo "$bdf" >"/sys/bus/pci/devices/$bdf/driver/unbind" 2>/dev/null
echo "$bdf" >/sys/bus/pci/drivers/virtio-pci/bind || fail "cannot bind $bdf to virtio-pci"
for _ in $(seq 50); do ls /sys/bus/pci/devices/$bdf/virtio*/block 2>/dev/null | grep -q vd && break; sleep 0.2; done
blk=$(ls /sys/bus/pci/devices/$bdf/virtio*/block | grep '^vd' | head -n 1)
mkdir -p mnt
mount -t ext4 "/dev/$blk" mnt || fail "the lab host cannot mount $blk"
got=$(cat mnt/guest.txt 2>/dev/null)
umount mnt
echo vfio-pci >"/sys/bus/pci/devices/$bdf/driver_override"
echo "$bdf" >"/sys/bus/pci/devices/$bdf/driver/unbind" 2>/dev/null
echo "$bdf" >/sys/bus/pci/drivers/vfio-pci/bind || fail "cannot give $bdf back to vfio-pci"
[ "$got" = "$want" ] || fail "$blk holds '$got', want '$want'"

run_wisp 30 bad.log -- --kernel "$GUEST_BZIMAGE" --initramfs "$GUEST_INITRD" --memory size=192M \
	--device "path=/sys/bus/pci/devices/$bdf,x_exclude_mmap_bars=[6]"
expect_exit 2
expect_line bad.log "^wisp: --device: 'x_exclude_mmap_bars=\[6\]': '6' is not a number in 0\.\.5" \
	"no line refusing BAR 6"
run_wisp 30 bad2.log -- --kernel "$GUEST_BZIMAGE" --initramfs "$GUEST_INITRD" --memory size=192M \
	--device "path=/sys/bus/pci/devices/$bdf,x_exclude_mmap_bars=[4,4]"
expect_exit 2
expect_line bad2.log "BAR 4 given twice" "no line refusing BAR 4 twice"
pass
