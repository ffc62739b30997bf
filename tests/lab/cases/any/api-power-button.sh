# api-power-button: vm.power-button on the API socket presses the guest's
# power button (the PL061's gpio-keys line on aarch64, the ACPI GED on
# x86_64), as SIGTERM does in power-button.sh; the guest sees the key and
# powers off; wisp exits 0 and the socket file is gone.
# lab-timeout: 40
# lab-boots: 1
sock=$PWD/api.sock
(
	for _ in $(seq 900); do
		grep -q '^WISP-POWER-READY' guest.log 2>/dev/null && break
		sleep 0.2
	done
	sleep 1
	"$LAB/bin/host-tool" api "$sock" PUT /api/v1/vm.power-button >button.out 2>&1
) &
GUEST_CMDLINE_EXTRA="wisp_modules=$POWER_BUTTON_MODULES" \
	boot_guest "$LAB_BOOT_TIMEOUT" guest.log power-button --memory size=256M \
	--api-socket "path=$sock"
wait
note "vm.power-button: $(head -n 1 button.out)"
expect_guest_ok guest.log
head -n 1 button.out | grep -q '^HTTP/1.1 204 ' || fail "vm.power-button: $(head -n 1 button.out)"
# EV_KEY (1), KEY_POWER (116)
expect_line guest.log '^GUEST power_event=1 116$' \
	"the guest did not get KEY_POWER ($(guest_fact guest.log power_event))"
expect_exit 0
[ -e "$sock" ] && fail "wisp left $sock behind"
pass
