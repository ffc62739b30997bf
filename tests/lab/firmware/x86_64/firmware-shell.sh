# firmware-shell: wisp boots the CloudHv OVMF firmware (CLOUDHV.fd, a PVH
# ELF) with no disk, given once as --firmware and once as --kernel: the
# firmware must reach the UEFI shell on the serial console each time. Then
# "reset -s" typed at the prompt makes the firmware power the machine off
# through the ACPI sleep register, and wisp exits 0.
# Notes how long the firmware took to the prompt.
# lab-timeout: 60
# lab-boots: 2
LAB_FIRMWARE=/lab/firmware/CLOUDHV.fd
[ -f "$LAB_FIRMWARE" ] || fail "no $LAB_FIRMWARE in the lab"

# boot_to_shell OPTION LOG: boot, wait for Shell>, type "reset -s"
boot_to_shell() {
	rm -f keys prompt.cs
	mkfifo keys
	t0=$(_lab_cs)
	# the typist: waits for the shell's prompt, then types the command
	(
		for _ in $(seq $((LAB_BOOT_TIMEOUT * 4))); do
			grep -q 'Shell>' "$2" 2>/dev/null && break
			sleep 0.25
		done
		echo $(($(_lab_cs) - t0)) >prompt.cs
		sleep 1
		printf 'reset -s\r'
		sleep "$LAB_BOOT_TIMEOUT"
	) >keys &
	WISP_STDIN=keys run_wisp "$LAB_BOOT_TIMEOUT" "$2" -- "$1" "$LAB_FIRMWARE" \
		--memory size=256M --serial tty --console off
	kill $! 2>/dev/null
	expect_line "$2" 'UEFI Interactive Shell' "$1: no UEFI shell banner on the serial console"
	expect_line "$2" 'Shell>' "$1: no shell prompt"
	cs=$(cat prompt.cs 2>/dev/null || echo 0)
	note "$1: firmware to the Shell> prompt in $((cs / 100)).$((cs % 100 / 10))s"
	expect_exit 0
}

boot_to_shell --firmware fw.log
boot_to_shell --kernel kernel.log
pass
