# boot-bzimage: wisp boots the cloud kernel's bzImage (Linux boot protocol)
# with the lab's initramfs; the guest's /init comes up, reports and powers
# off, and wisp exits 0.
# lab-timeout: 30
# lab-boots: 1
boot_guest "$LAB_BOOT_TIMEOUT" guest.log boot --cpus boot=1 --memory size=256M
expect_guest_ok guest.log
expect_line guest.log '^GUEST case=boot$' "guest did not see wisp_case=boot on its command line"
expect_line guest.log '^WISP-GUEST-DONE' "guest did not finish its /init"
expect_exit 0
pass
