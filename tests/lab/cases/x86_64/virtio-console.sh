# virtio-console: the guest writes to hvc0; the line lands in the file
# given as --console file=.
# lab-timeout: 40
# lab-boots: 1
GUEST_CMDLINE_EXTRA="wisp_modules=virtio_pci,virtio_console"
run_wisp "$LAB_BOOT_TIMEOUT" guest.log -- --kernel "$GUEST_BZIMAGE" --initramfs "$GUEST_INITRD" \
	--cmdline "$(guest_cmdline hvc0)" --serial tty --console file=hvc0.out --memory size=256M
expect_guest_ok guest.log
expect_exit 0
grep -q '^WISP-HVC0 hello from the guest' hvc0.out || fail "hvc0 output missing: $(head -c 200 hvc0.out)"
pass
