# power-button: SIGTERM to wisp presses the guest's power button (on aarch64
# PL061 line 3, gpio-keys KEY_POWER; on x86_64 the GED's level interrupt on
# I/O APIC pin 9, whose _EVT notifies the ACPI power button); the guest sees
# KEY_POWER and powers off; wisp exits 0.
# lab-timeout: 40
# lab-boots: 1
(
	for _ in $(seq 900); do
		grep -q '^WISP-POWER-READY' guest.log 2>/dev/null && break
		sleep 0.2
	done
	sleep 1
	# the first session run_wisp started is wisp itself
	kill -TERM "$(head -n 1 "$LAB_CASE_DIR/sessions")"
) &
GUEST_CMDLINE_EXTRA="wisp_modules=$POWER_BUTTON_MODULES" \
	boot_guest "$LAB_BOOT_TIMEOUT" guest.log power-button --memory size=256M
expect_guest_ok guest.log
expect_line guest.log '^GUEST power_input=/dev/input/event' "the guest has no power button input device"
expect_line guest.log "pressing the guest's power button" "wisp did not press the power button"
# EV_KEY (1), KEY_POWER (116)
expect_line guest.log '^GUEST power_event=1 116$' \
	"the guest did not get KEY_POWER ($(guest_fact guest.log power_event))"
expect_exit 0
pass
