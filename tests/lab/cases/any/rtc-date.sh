# rtc-date: the guest's clock, read at boot from the emulated RTC (x86_64:
# the CMOS RTC, or a paravirtual clock; aarch64: the PL031), is within 120 s
# of the lab host's.
# lab-timeout: 30
# lab-boots: 1
t0=$(date +%s)
boot_guest "$LAB_BOOT_TIMEOUT" guest.log rtc-date --cpus boot=1 --memory size=256M
t1=$(date +%s)
expect_guest_ok guest.log
g=$(guest_fact guest.log date)
expect_range date "$g" $((t0 - 120)) $((t1 + 120))
note "guest date $g, lab host $t0..$t1"
expect_exit 0
pass
