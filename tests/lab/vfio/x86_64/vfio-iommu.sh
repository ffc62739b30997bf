# vfio-iommu: a passed-through virtio-blk disk behind wisp's virtio-iommu
# (--device ...,iommu=on). Its VFIO container starts with nothing mapped:
# every DMA of the disk goes through host IOMMU mappings that the guest's
# virtio-iommu driver made (iommu.strict=1: each unmapped at once). The
# lab host first writes a 1 MiB file on the disk's ext4 and finds where its
# blocks lie; the guest (a kernel with VIRTIO_IOMMU, tests/lab/kernel, without
# ext4) reads the whole disk and the file's blocks, and writes new data
# over the file; the lab host then reads the file through ext4.
# lab-kernel: iommu
# A second boot does the same with iommu.passthrough=1: the guest makes an
# identity domain out of 1:1 MAPs, and all of its RAM gets mapped.
# lab-timeout: 90
# lab-boots: 4
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

# the file: 1024 blocks of 1 KiB, each starting with a marker (this run's
# tag and the block's number) after a byte strings(1) does not print, so
# the marker's offset on the disk is exact; the rest of the block is such
# bytes too
host_disk
mkdir -p mnt
mount -t ext4 /dev/vda mnt || fail "the lab host cannot mount its disk"
rm -f mnt/iommu.bin
tag=$(head -c 16 /dev/urandom | md5sum | cut -c1-8)
# (numbers without leading zeros: busybox awk reads "010" as octal)
awk -v tag="$tag" 'BEGIN {
	pad = ""; for (j = 0; j < 1024; j++) pad = pad "\001"
	for (i = 0; i < 1024; i++) {
		h = sprintf("\001WISP-%s-%d\n", tag, i)
		printf "%s%s", h, substr(pad, 1, 1024 - length(h))
	} }' >mnt/iommu.bin
[ "$(wc -c <mnt/iommu.bin)" = 1048576 ] || fail "the file is $(wc -c <mnt/iommu.bin) bytes"
file_md5=$(md5sum <mnt/iommu.bin | cut -d' ' -f1)
umount mnt
echo 3 >/proc/sys/vm/drop_caches
# where its blocks lie, as extents KiB:COUNT,... (ext4 may split it)
extents=$(strings -t d /dev/vda | awk -v tag="$tag" '
	index($2, "WISP-" tag "-") == 1 { n = substr($2, 15) + 0; off[n] = $1 - 1; found++ }
	END {
		if (found != 1024) { print "missing"; exit }
		for (i = 0; i < 1024; i++) {
			if (off[i] % 1024) { print "unaligned"; exit }
			if (i && off[i] == off[i - 1] + 1024) { cnt++; continue }
			if (i) out = out start ":" cnt ","
			start = off[i] / 1024; cnt = 1
		}
		print out start ":" cnt }')
case "$extents" in
missing | unaligned | '') fail "the file's blocks on the disk: '$extents'" ;;
esac
got=$(for e in $(echo "$extents" | tr ',' ' '); do
	dd if=/dev/vda bs=1024 skip="${e%:*}" count="${e#*:}" 2>/dev/null; done | md5sum | cut -d' ' -f1)
[ "$got" = "$file_md5" ] || fail "the file is not at $extents"
disk_md5=$(md5sum </dev/vda | cut -d' ' -f1)
to_driver "$bdf" vfio-pci || fail "cannot give $bdf back to vfio-pci"

# round LOG KERNEL-ARGS GROUP-TYPES PEAK-MIN PEAK-MAX: one boot; the guest
# reads the disk (the lab host's disk_md5) and the file (file_md5) and
# writes the file anew; its IOMMU group must be of one of GROUP-TYPES and
# wisp's account of the container must show PEAK-MIN..PEAK-MAX KiB mapped
# at most; then the lab host reads the file through ext4 (file_md5 and
# disk_md5 become what the next round must find)
round() {
	GUEST_KERNEL=/lab/guest/kernel-iommu GUEST_CMDLINE_EXTRA="$2 wisp_file=$extents" \
		boot_guest "$((LAB_BOOT_TIMEOUT * 2))" "$1" vfio-iommu --memory size=192M \
		--device path=/sys/bus/pci/devices/$bdf,iommu=on
	expect_guest_ok "$1"
	expect_exit 0
	[ "$(guest_fact "$1" viommu_bound)" = 1 ] || fail "$1: the guest's virtio-iommu driver is not bound"
	group=$(guest_fact "$1" disk_group)
	[ -n "$group" ] || fail "$1: the disk ($(guest_fact "$1" disk_fn)) is in no IOMMU group"
	type=$(guest_fact "$1" disk_group_type)
	echo " $3 " | grep -q " $type " || fail "$1: the disk's IOMMU group $group is of type '$type', not $3"
	[ "$(guest_fact "$1" disk_msix)" = on ] || fail "$1: the disk's MSI-X is not on"
	expect_range queue_irqs "$(guest_fact "$1" queue_irqs)" 1 100000000
	[ "$(guest_fact "$1" disk_md5)" = "$disk_md5" ] ||
		fail "$1: the guest read the disk as $(guest_fact "$1" disk_md5), the lab host as $disk_md5"
	[ "$(guest_fact "$1" file_md5)" = "$file_md5" ] ||
		fail "$1: the guest read the file as $(guest_fact "$1" file_md5), it is $file_md5"
	[ "$(guest_fact "$1" wrote)" = ok ] || fail "$1: the guest's write failed"
	wrote=$(guest_fact "$1" wrote_md5)
	[ "$(guest_fact "$1" reread_md5)" = "$wrote" ] || fail "$1: the guest read back something else"
	stats=$(grep -E "vfio $bdf: behind the virtio-iommu: " "$1.err")
	[ -n "$stats" ] || fail "$1: wisp did not report the container's mappings"
	maps=$(echo "$stats" | sed -n 's/.*: \([0-9]*\) DMA mappings made.*/\1/p')
	peak=$(echo "$stats" | sed -n 's/.*at most \([0-9]*\) KiB mapped.*/\1/p')
	expect_range maps "$maps" 1 100000000
	expect_range peak_kib "$peak" "$4" "$5"
	reject_line "$1.err" 'cannot unmap|VFIO_IOMMU_' "$1: wisp reported a host IOMMU failure"

	host_disk
	mount -t ext4 /dev/vda mnt || fail "$1: the lab host cannot mount its disk afterwards"
	file_md5=$(md5sum <mnt/iommu.bin | cut -d' ' -f1)
	umount mnt
	disk_md5=$(md5sum </dev/vda | cut -d' ' -f1)
	to_driver "$bdf" vfio-pci || fail "cannot give $bdf back to vfio-pci"
	[ "$file_md5" = "$wrote" ] || fail "$1: the file holds $file_md5, the guest wrote $wrote"
	note "$1: disk $(guest_fact "$1" disk_fn) in IOMMU group $group ($type), file at $extents; $stats"
}

# translated DMA, each mapping removed as soon as the driver is done
# (strict): a few hundred KiB to a few MiB mapped at a time, of 192 MiB
round strict.log "iommu.strict=1" "DMA DMA-FQ" 1 65535
# iommu.passthrough=1: an identity domain, which Linux makes with 1:1
# MAPs of the whole input range (BYPASS_CONFIG is not offered): all of
# RAM mapped, around the MSI window
round passthrough.log "iommu.passthrough=1" "identity" 190000 200000

host_disk
mount -t ext4 /dev/vda mnt || fail "the lab host cannot mount its disk at the end"
rm -f mnt/iommu.bin
umount mnt
to_driver "$bdf" vfio-pci || fail "cannot give $bdf back to vfio-pci"
pass
