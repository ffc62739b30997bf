# smp2: with --cpus boot=2 the guest brings up both vCPUs (on aarch64 the
# second through PSCI CPU_ON, handled by KVM).
# lab-timeout: 30
# lab-boots: 1
boot_guest "$LAB_BOOT_TIMEOUT" guest.log smp2 --cpus boot=2 --memory size=256M
expect_guest_ok guest.log
n=$(guest_fact guest.log nproc)
[ "$n" = 2 ] || fail "guest nproc=${n:-missing}, want 2"
expect_exit 0
pass
