# memory: with --memory size=256M the guest's MemTotal is below 256 MiB (the
# kernel keeps its own image and reserved ranges out) but not by much.
# lab-timeout: 30
# lab-boots: 1
boot_guest "$LAB_BOOT_TIMEOUT" guest.log memory --cpus boot=1 --memory size=256M
expect_guest_ok guest.log
kb=$(guest_fact guest.log memtotal_kb)
# 256 MiB = 262144 kB. The cloud kernel keeps ~35 MiB for itself: under
# QEMU (microvm) in the lab it reports 222756 kB. Accept 192 MiB..256 MiB.
expect_range memtotal_kb "$kb" 196608 262143
expect_exit 0
pass
