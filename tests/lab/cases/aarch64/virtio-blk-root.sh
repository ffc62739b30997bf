# virtio-blk-root: the guest's root is an ext4 image on virtio-blk behind the
# generic ECAM host bridge, MSI-X through the ITS (root=/dev/vda: the
# initramfs loads virtio_pci, virtio_blk and ext4, a module in the arm64
# kernel, mounts it and switch_roots); its init writes a file and syncs, the
# guest powers off, and the file is in the host's image afterwards.
# lab-timeout: 40
# lab-boots: 1
cp /lab/guest/root.img root.img
GUEST_CMDLINE_EXTRA="root=/dev/vda wisp_root=/dev/vda wisp_modules=virtio_pci,virtio_blk,crc32c_generic,ext4" \
	boot_guest "$LAB_BOOT_TIMEOUT" guest.log blk-root --memory size=256M --disk path=root.img
expect_line guest.log '^WISP-ROOT-UP' "the guest did not come up on its virtio-blk root"
expect_line guest.log '^GUEST root=/dev/vda ext4$' "the root is not /dev/vda (ext4)"
expect_exit 0
mkdir -p mnt
# read-write: if the guest's journal still holds the file, mounting
# replays it, as the guest's own next boot would
mount -o loop root.img mnt || fail "cannot mount the image after the guest"
got=$(cat mnt/guest-wrote.txt 2>/dev/null)
umount mnt
[ "$got" = "written by the guest on its virtio-blk root" ] ||
	fail "the image does not hold the guest's file (got '$got')"
pass
