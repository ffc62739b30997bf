# reboot: the guest runs `reboot -f` (on aarch64 a PSCI SYSTEM_RESET); wisp
# stops the VM, says so with a line containing "reboot" and exits 0. (The
# guest kernel's own "reboot: ..." console lines do not count.)
# lab-timeout: 30
# lab-boots: 1
boot_guest "$LAB_BOOT_TIMEOUT" guest.log reboot --cpus boot=1 --memory size=256M
expect_guest_ok guest.log
expect_line guest.log '^GUEST case=reboot$' "guest did not see wisp_case=reboot"
grep -i reboot guest.log | grep -Evq '^(\[ *[0-9.]+\] )?reboot: |^GUEST ' ||
	fail "wisp printed no line containing 'reboot'"
expect_exit 0
pass
