# kvm-smoke: the lab host's /dev/kvm runs AArch64 guest code
# (tests/lab/kvm-probe.c: a VM with one vCPU at EL1 stores two bytes
# to unbacked addresses, then calls PSCI SYSTEM_OFF; the exits must be
# KVM_EXIT_MMIO with the right address and value, then the shutdown event).
# lab-timeout: 60
[ -c /dev/kvm ] || fail "no /dev/kvm in the lab host"
kvm-probe >probe.log 2>&1
rc=$?
sed 's/^/  | /' probe.log
[ "$rc" = 0 ] || fail "kvm-probe exited $rc: $(tail -n 1 probe.log)"
expect_line probe.log '^kvm-probe: exit MMIO write len=1 addr=0x10000000 value=0x3a$'
expect_line probe.log '^kvm-probe: exit MMIO write len=1 addr=0x10000001 value=0x5a$'
expect_line probe.log '^kvm-probe: exit SYSTEM_EVENT shutdown'
expect_line probe.log '^kvm-probe: OK$'
pass
