# boot: wisp boots Debian's arm64 Image with the lab's initramfs (device tree,
# GICv3, PL011); the guest's /init comes up on ttyAMA0, reports and powers off
# through PSCI SYSTEM_OFF, and wisp exits 0.
# lab-timeout: 30
# lab-boots: 1
boot_guest "$LAB_BOOT_TIMEOUT" guest.log boot --cpus boot=1 --memory size=256M
expect_guest_ok guest.log
expect_line guest.log '^GUEST case=boot$' "guest did not see wisp_case=boot on its command line"
expect_line guest.log '^WISP-GUEST-DONE' "guest did not finish its /init"
expect_exit 0
pass
