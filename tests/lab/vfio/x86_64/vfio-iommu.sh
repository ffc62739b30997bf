# vfio-iommu: a passed-through virtio-blk disk behind wisp's virtio-iommu
# (--device ...,iommu=on). Its VFIO container starts with nothing mapped:
# every DMA of the disk goes through host IOMMU mappings that the guest's
# virtio-iommu driver made (iommu.strict=1: each unmapped at once). The
# lab host first writes a 1 MiB file on the disk's ext4 and finds where it
# lies; the guest (a kernel with VIRTIO_IOMMU, tests/lab/kernel, without
# ext4) reads the whole disk and the file's blocks, and writes new data
# over the file; the lab host then reads the file through ext4.
# lab-kernel: iommu
# lab-timeout: 90
# lab-boots: 2
bdf=$(sed -n '1s/ .*//p' /run/lab-vfio)
[ -n "$bdf" ] || fail "no device in /run/lab-vfio"
to_driver() { # BDF DRIVER
	echo "$2" >"/sys/bus/pci/devices/$1/driver_override"
	[ -e "/sys/bus/pci/devices/$1/driver" ] &&
		echo "$1" >"/sys/bus/pci/devices/$1/driver/unbind"
	echo "$1" >"/sys/bus/pci/drivers/$2/bind"
}
host_disk() { # the lab host's own /dev/vda on the disk
	to_driver "$bdf" virtio-pci || fail "cannot bind $bdf to virtio-pci"
	for _ in $(seq 50); do [ -b /dev/vda ] && break; sleep 0.2; done
	[ -b /dev/vda ] || fail "the lab host sees no /dev/vda"
}

# the file: 256 blocks of 4 KiB, each starting with its number
host_disk
mkdir -p mnt
mount -t ext4 /dev/vda mnt || fail "the lab host cannot mount its disk"
rm -f mnt/iommu.bin
for i in $(seq 0 255); do
	printf 'WISP-IOMMU-BLOCK-%04d\n' "$i" | dd bs=4096 conv=sync 2>/dev/null
done >mnt/iommu.bin
file_md5=$(md5sum <mnt/iommu.bin | cut -d' ' -f1)
umount mnt
echo 3 >/proc/sys/vm/drop_caches
# where it lies: block 1's marker follows block 0's zeros, so its offset is
# exact; the whole file must be there, in one piece (a fresh 1 MiB file on
# a nearly empty ext4 is)
off=$(strings -t d /dev/vda | awk '$2 == "WISP-IOMMU-BLOCK-0001" { print $1; exit }')
[ -n "$off" ] || fail "the file's blocks are not on the disk"
off=$((off - 4096))
[ $((off % 1024)) = 0 ] || fail "the file starts at byte $off, not on a 1 KiB boundary"
kib=$((off / 1024))
got=$(dd if=/dev/vda bs=1024 skip="$kib" count=1024 2>/dev/null | md5sum | cut -d' ' -f1)
[ "$got" = "$file_md5" ] || fail "the file is not in one piece at $kib KiB"
disk_md5=$(md5sum </dev/vda | cut -d' ' -f1)
to_driver "$bdf" vfio-pci || fail "cannot give $bdf back to vfio-pci"

GUEST_KERNEL=/lab/guest/kernel-iommu \
	GUEST_CMDLINE_EXTRA="iommu.strict=1 wisp_file_kib=$kib" \
	boot_guest "$((LAB_BOOT_TIMEOUT * 2))" guest.log vfio-iommu --memory size=192M \
	--device path=/sys/bus/pci/devices/$bdf,iommu=on
expect_guest_ok guest.log
expect_exit 0
[ "$(guest_fact guest.log viommu_bound)" = 1 ] || fail "the guest's virtio-iommu driver is not bound"
group=$(guest_fact guest.log disk_group)
[ -n "$group" ] || fail "the disk ($(guest_fact guest.log disk_fn)) is in no IOMMU group"
# DMA: the DMA API translates through the IOMMU (identity would be bypass)
case "$(guest_fact guest.log disk_group_type)" in
DMA | DMA-FQ) ;;
*) fail "the disk's IOMMU group $group is of type '$(guest_fact guest.log disk_group_type)', not DMA" ;;
esac
[ "$(guest_fact guest.log disk_msix)" = on ] || fail "the disk's MSI-X is not on"
expect_range queue_irqs "$(guest_fact guest.log queue_irqs)" 1 100000000
[ "$(guest_fact guest.log disk_md5)" = "$disk_md5" ] ||
	fail "the guest read the disk as $(guest_fact guest.log disk_md5), the lab host as $disk_md5"
[ "$(guest_fact guest.log file_md5)" = "$file_md5" ] ||
	fail "the guest read the file as $(guest_fact guest.log file_md5), it is $file_md5"
[ "$(guest_fact guest.log wrote)" = ok ] || fail "the guest's write failed"
wrote=$(guest_fact guest.log wrote_md5)
[ "$(guest_fact guest.log reread_md5)" = "$wrote" ] || fail "the guest read back something else"
# wisp's account of the container: mappings made, and far less than the
# guest's 192 MiB mapped at any time
stats=$(grep -E "vfio $bdf: behind the virtio-iommu: " guest.log.err)
[ -n "$stats" ] || fail "wisp did not report the container's mappings"
maps=$(echo "$stats" | sed -n 's/.*: \([0-9]*\) DMA mappings made.*/\1/p')
peak=$(echo "$stats" | sed -n 's/.*at most \([0-9]*\) KiB mapped.*/\1/p')
expect_range maps "$maps" 1 100000000
expect_range peak_kib "$peak" 1 65535
reject_line guest.log.err 'cannot unmap|VFIO_IOMMU_' "wisp reported a host IOMMU failure"

# the file through the lab host's ext4: what the guest wrote
host_disk
mount -t ext4 /dev/vda mnt || fail "the lab host cannot mount its disk afterwards"
got=$(md5sum <mnt/iommu.bin | cut -d' ' -f1)
rm -f mnt/iommu.bin
umount mnt
to_driver "$bdf" vfio-pci || fail "cannot give $bdf back to vfio-pci"
[ "$got" = "$wrote" ] || fail "the file holds $got, the guest wrote $wrote"
note "disk $(guest_fact guest.log disk_fn) in IOMMU group $group ($(guest_fact guest.log disk_group_type)); $stats"
pass
