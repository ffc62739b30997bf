# virtio-iommu: a disk given iommu=on sits behind wisp's virtio-iommu; a
# guest kernel with VIRTIO_IOMMU (built from Debian's linux-source-6.1 by
# tests/lab/kernel/build, Debian's own kernels lack it) binds the driver
# and puts the disk in an IOMMU group, so every DMA of the disk goes
# through the guest's mappings.  The guest reads the whole host-written
# disk and writes 8 MiB; the host checks both against the image.
# lab-kernel: iommu
# lab-timeout: 60
# lab-boots: 1
dd if=/dev/urandom of=disk.img bs=1M count=16 2>/dev/null
want=$(md5sum <disk.img | cut -d' ' -f1)
GUEST_KERNEL=/lab/guest/kernel-iommu GUEST_CMDLINE_EXTRA="iommu.strict=1" \
	boot_guest "$LAB_BOOT_TIMEOUT" guest.log blk-iommu --memory size=256M \
	--disk path=disk.img,iommu=on
expect_guest_ok guest.log
[ "$(guest_fact guest.log viommu_bound)" = 1 ] || fail "the guest's virtio-iommu driver is not bound"
group=$(guest_fact guest.log disk_group)
[ -n "$group" ] || fail "the disk is in no IOMMU group ($(guest_fact guest.log iommu_groups) groups)"
[ "$(guest_fact guest.log disk_md5)" = "$want" ] ||
	fail "the guest read the disk as $(guest_fact guest.log disk_md5), the image is $want"
[ "$(guest_fact guest.log wrote)" = ok ] || fail "the guest's write failed"
wrote=$(guest_fact guest.log wrote_md5)
[ "$(guest_fact guest.log reread_md5)" = "$wrote" ] || fail "the guest read back something else"
expect_exit 0
got=$(dd if=disk.img bs=1M skip=4 count=8 2>/dev/null | md5sum | cut -d' ' -f1)
[ "$got" = "$wrote" ] || fail "the image holds $got at 4 MiB, the guest wrote $wrote"
reject_line guest.log 'virtio-iommu: endpoint .* refused' "wisp refused some of the disk's DMA"
note "disk in IOMMU group $group; 16 MiB read, 8 MiB written through the guest's mappings"
pass
