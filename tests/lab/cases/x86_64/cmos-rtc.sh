# cmos-rtc: Linux's rtc_cmos driver binds to wisp's CMOS RTC (PNP0B00 in
# the DSDT) and makes /dev/rtc0; its time is the lab host's, hwclock reads
# it, an alarm 3 s ahead raises IRQ 8 on time, and a time the guest sets
# is what it reads back (issue 23).
# lab-timeout: 40
# lab-boots: 1
t0=$(date +%s)
boot_guest "$LAB_BOOT_TIMEOUT" guest.log rtc --cpus boot=1 --memory size=256M
t1=$(date +%s)
expect_guest_ok guest.log
[ "$(guest_fact guest.log rtc_dev)" = yes ] || fail "no /dev/rtc0 in the guest"
case "$(guest_fact guest.log rtc_name)" in rtc_cmos*) ;; *)
	fail "rtc0 is '$(guest_fact guest.log rtc_name)', not rtc_cmos" ;;
esac
[ "$(guest_fact guest.log hwclock_read)" = ok ] || fail "hwclock -r failed in the guest"
# the RTC was read while wisp ran: between its start and its end
expect_range rtc_epoch "$(guest_fact guest.log rtc_epoch)" "$t0" "$t1"
b=$(guest_fact guest.log rtc_irqs_before) a=$(guest_fact guest.log rtc_irqs_after)
[ -n "$b" ] && [ "$b" != none ] && [ "${a:-0}" -gt "$b" ] ||
	fail "no RTC interrupt after the alarm (rtc0 interrupts $b -> $a)"
# set 3 s ahead, on a clock whose seconds tick at whole seconds: 2-4 s
expect_range rtc_alarm_cs "$(guest_fact guest.log rtc_alarm_cs)" 190 420
expect_range rtc_set_epoch "$(guest_fact guest.log rtc_set_epoch)" 1893456000 1893456002
expect_exit 0
pass
