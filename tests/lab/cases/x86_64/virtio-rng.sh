# virtio-rng: the guest's /dev/hwrng is wisp's virtio-rng and gives bytes.
# lab-timeout: 40
# lab-boots: 1
GUEST_CMDLINE_EXTRA="wisp_modules=virtio_pci,virtio_rng" \
	boot_guest "$LAB_BOOT_TIMEOUT" guest.log hwrng --memory size=256M
expect_guest_ok guest.log
case "$(guest_fact guest.log rng_current)" in virtio_rng*) ;; *) fail "hw_random uses '$(guest_fact guest.log rng_current)'" ;; esac
[ "$(guest_fact guest.log hwrng_bytes)" = 256 ] || fail "read $(guest_fact guest.log hwrng_bytes) bytes from /dev/hwrng, not 256"
expect_range hwrng_distinct "$(guest_fact guest.log hwrng_distinct)" 20 64
expect_exit 0
pass
