# no-gicv3: on a lab host whose interrupt controller is a GICv2 (tests/lab/run
# --arch aarch64 --gic 2), KVM cannot give a guest a GICv3; wisp says so in
# one line before the guest starts and exits 2.
# lab-timeout: 60
grep -q GICv3 /proc/interrupts && fail "the lab host has a GICv3: run with --gic 2"
grep -q 'GIC' /proc/interrupts || fail "the lab host shows no GIC in /proc/interrupts"
[ -c /dev/kvm ] || fail "no /dev/kvm in the lab host"
run_wisp 20 nogic.log -- --kernel "$GUEST_DIR/vmlinuz" --memory size=128M --serial null --console off
[ "$WISP_RC" = 2 ] || fail "wisp exited $WISP_RC, want 2"
lines=$(grep -c . nogic.log.err)
[ "$lines" = 1 ] || fail "$lines lines on stderr, want one: $(head -c 300 nogic.log.err)"
expect_line nogic.log.err "^wisp: this host's KVM cannot emulate a GICv3 \\(.*\\); wisp's AArch64 machine needs one\$"
pass
