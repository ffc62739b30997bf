# vfio-intx: a passed-through virtio-blk disk driven by INTx (the guest
# boots with pci=nomsi): wisp pulses the guest's I/O APIC line for each
# VFIO INTx interrupt and unmasks the host's INTx after it. The guest reads
# and writes the disk; the lab host then finds the guest's file.
# lab-timeout: 60
# lab-boots: 2
bdf=$(sed -n '1s/ .*//p' /run/lab-vfio)
GUEST_CMDLINE_EXTRA="wisp_modules=virtio_pci,virtio_blk pci=nomsi" \
	boot_guest "$((LAB_BOOT_TIMEOUT * 2))" guest.log vfio-blk --memory size=192M \
	--device path=/sys/bus/pci/devices/$bdf
expect_guest_ok guest.log
expect_exit 0
[ "$(guest_fact guest.log disks)" = 1 ] || fail "the guest has $(guest_fact guest.log disks) disks, not 1"
[ "$(guest_fact guest.log read_vfio0)" = "vfio0: put there by the lab host" ] ||
	fail "the guest read '$(guest_fact guest.log read_vfio0)'"
expect_range msix_devices "$(guest_fact guest.log msix_devices)" 0 0
expect_range intx_irqs "$(guest_fact guest.log intx_irqs)" 1 100000000

echo > "/sys/bus/pci/devices/$bdf/driver_override"
echo "$bdf" >/sys/bus/pci/drivers/vfio-pci/unbind
echo "$bdf" >/sys/bus/pci/drivers_probe
for _ in $(seq 50); do [ -b /dev/vda ] && break; sleep 0.2; done
mkdir -p mnt
mount -t ext4 /dev/vda mnt || fail "the lab host cannot mount its disk again"
got=$(cat mnt/guest.txt 2>/dev/null)
want="vfio0: written by the guest $(md5sum <mnt/guest.bin | cut -d' ' -f1)"
umount mnt
[ "$got" = "$want" ] || fail "vfio0 holds '$got', want '$want'"
echo vfio-pci >"/sys/bus/pci/devices/$bdf/driver_override"
echo "$bdf" >"/sys/bus/pci/devices/$bdf/driver/unbind"
echo "$bdf" >/sys/bus/pci/drivers/vfio-pci/bind || fail "cannot give $bdf back to vfio-pci"
pass
