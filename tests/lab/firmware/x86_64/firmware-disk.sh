# firmware-disk: the CloudHv firmware boots Debian's kernel (its EFI stub)
# from an EFI system partition on virtio-blk (tests/lab/make-esp): the UEFI
# shell runs the disk's startup.nsh, which starts \vmlinuz.efi with the
# guest initramfs and command line, on two vCPUs (the firmware starts
# and parks the second, Linux starts it again). The guest's /init
# reports, sees EFI, both vCPUs, the disk and the CMOS RTC, powers off, and wisp exits 0.
# lab-timeout: 60
# lab-boots: 2
LAB_FIRMWARE=/lab/firmware/CLOUDHV.fd
[ -f "$LAB_FIRMWARE" ] || fail "no $LAB_FIRMWARE in the lab"
[ -f "$GUEST_DIR/esp.img" ] || fail "no EFI system partition image in the lab"
t0=$(date +%s)
run_wisp "$((LAB_BOOT_TIMEOUT * 2))" fw.log -- --firmware "$LAB_FIRMWARE" \
	--disk path="$GUEST_DIR/esp.img",readonly=on \
	--memory size=512M --cpus boot=2 --serial tty --console off
expect_line fw.log 'WISP-ESP-STARTUP' "the shell did not run startup.nsh from the ESP"
expect_guest_ok fw.log
expect_line fw.log '^GUEST case=firmware$' "the guest did not get the command line from startup.nsh"
[ "$(guest_fact fw.log efi)" = yes ] || fail "the guest does not see EFI (/sys/firmware/efi)"
[ "$(guest_fact fw.log efi_acpi20)" = 1 ] || fail "the firmware gave the guest no ACPI 2.0 tables"
[ "$(guest_fact fw.log esp_label)" = WISP-ESP ] ||
	fail "the guest could not read the ESP on /dev/vda (label '$(guest_fact fw.log esp_label)')"
[ "$(guest_fact fw.log nproc)" = 2 ] || fail "the guest runs $(guest_fact fw.log nproc) vCPU(s), not 2"
# the RTC (PNP0B00) reaches Linux through the firmware too, with the time
case "$(guest_fact fw.log rtc_name)" in rtc_cmos*) ;; *)
	fail "rtc0 is '$(guest_fact fw.log rtc_name)' under the firmware, not rtc_cmos" ;;
esac
expect_range rtc_epoch "$(guest_fact fw.log rtc_epoch)" "$t0" "$(date +%s)"
expect_line fw.log '^WISP-GUEST-DONE' "guest did not finish its /init"
expect_exit 0
pass
