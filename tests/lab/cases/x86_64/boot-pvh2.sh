# boot-pvh: wisp boots the ELF vmlinux through its PVH entry
# (XEN_ELFNOTE_PHYS32_ENTRY); same checks as boot-bzimage.
# lab-timeout: 30
# lab-boots: 1
GUEST_KERNEL=$GUEST_VMLINUX boot_guest "$LAB_BOOT_TIMEOUT" guest.log boot \
	--cpus boot=1 --memory size=256M
expect_guest_ok guest.log
expect_line guest.log '^GUEST case=boot$' "guest did not see wisp_case=boot on its command line"
expect_line guest.log '^WISP-GUEST-DONE' "guest did not finish its /init"
expect_exit 0
pass
