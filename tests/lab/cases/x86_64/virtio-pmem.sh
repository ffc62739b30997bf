# virtio-pmem: an ext4 image with a file the host put there is mapped as
# the guest's pmem (/dev/pmem0); the guest mounts it (DAX when it can),
# reads the file, writes another, and the host finds it afterwards.
# lab-timeout: 40
# lab-boots: 1
cp /lab/guest/pmem.img pmem.img
GUEST_CMDLINE_EXTRA="wisp_modules=virtio_pci,virtio_pmem,nd_pmem" \
	boot_guest "$LAB_BOOT_TIMEOUT" guest.log pmem --memory size=256M --pmem file=pmem.img
expect_guest_ok guest.log
[ "$(guest_fact guest.log pmem_file)" = "put there by the lab host" ] ||
	fail "the guest read '$(guest_fact guest.log pmem_file)' from pmem"
note "pmem mounted: $(guest_fact guest.log pmem_mount)"
expect_exit 0
mkdir -p mnt
mount -o loop,ro pmem.img mnt || fail "cannot mount the pmem image after the guest"
got=$(cat mnt/guest.txt 2>/dev/null)
umount mnt
[ "$got" = "written through pmem" ] || fail "the pmem image lacks the guest's file (got '$got')"
pass
