# vfio-blk: three virtio-blk disks of the lab host passed through with VFIO
# (one alone in its IOMMU group, two sharing one); the guest sees their ids,
# binds virtio-pci, reads the host's file on each and writes its own, with
# MSI-X interrupts. Afterwards the lab host binds its own driver again,
# finds the guest's files, and hands the disks back to vfio-pci.
# lab-timeout: 90
# lab-boots: 2
# (one boot, given twice the usual time: every guest DMA goes through the
# lab host's emulated IOMMU, and all guest RAM is pinned first)
args=""
for bdf in $(cut -d' ' -f1 /run/lab-vfio); do
	args="$args path=/sys/bus/pci/devices/$bdf"
done
GUEST_CMDLINE_EXTRA="wisp_modules=virtio_pci,virtio_blk" \
	boot_guest "$((LAB_BOOT_TIMEOUT * 2))" guest.log vfio-blk --memory size=192M --device $args
expect_guest_ok guest.log
expect_exit 0
ids=$(guest_fact guest.log pci_ids)
[ "$(echo "$ids" | tr ' ' '\n' | grep -c '^1af4:1042$')" = 3 ] ||
	fail "the guest does not see three 1af4:1042 devices: $ids"
[ "$(guest_fact guest.log disks)" = 3 ] || fail "the guest has $(guest_fact guest.log disks) disks, not 3"
for i in 0 1 2; do
	[ "$(guest_fact guest.log read_vfio$i)" = "vfio$i: put there by the lab host" ] ||
		fail "vfio$i: the guest read '$(guest_fact guest.log read_vfio$i)'"
done
# every disk with MSI-X on, and its queue interrupts came
expect_range msix_devices "$(guest_fact guest.log msix_devices)" 3 3
expect_range queue_irqs "$(guest_fact guest.log queue_irqs)" 3 100000000

# the disks back to the lab host's driver: the guest's files are there
modprobe_bind() { # BDF DRIVER
	echo "$2" >"/sys/bus/pci/devices/$1/driver_override"
	echo "$1" >"/sys/bus/pci/devices/$1/driver/unbind" 2>/dev/null
	echo "$1" >"/sys/bus/pci/drivers/$2/bind"
}
for bdf in $(cut -d' ' -f1 /run/lab-vfio); do
	modprobe_bind "$bdf" virtio-pci || fail "cannot bind $bdf to virtio-pci"
done
for _ in $(seq 50); do [ "$(ls /sys/block | grep -c '^vd')" = 3 ] && break; sleep 0.2; done
mkdir -p mnt
for b in /sys/block/vd*; do
	serial=$(cat "$b/serial")
	mount -t ext4 "/dev/${b##*/}" mnt || fail "the lab host cannot mount ${b##*/} ($serial)"
	got=$(cat mnt/guest.txt 2>/dev/null)
	want="$serial: written by the guest $(md5sum <mnt/guest.bin | cut -d' ' -f1)"
	umount mnt
	[ "$got" = "$want" ] || fail "$serial holds '$got', want '$want'"
	[ "$got" = "$(guest_fact guest.log wrote_$serial)" ] || fail "$serial: not what the guest wrote"
done
for bdf in $(cut -d' ' -f1 /run/lab-vfio); do
	modprobe_bind "$bdf" vfio-pci || fail "cannot give $bdf back to vfio-pci"
done
pass
