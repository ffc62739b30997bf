# kvm-smoke: the lab host's /dev/kvm runs guest code (tests/lab/kvm-probe.c:
# a VM with one vCPU runs real-mode code that writes to I/O ports; the exits
# must be KVM_EXIT_IO with the right port and value, then KVM_EXIT_HLT).
# lab-timeout: 60
[ -c /dev/kvm ] || fail "no /dev/kvm in the lab host"
kvm-probe >probe.log 2>&1
rc=$?
sed 's/^/  | /' probe.log
[ "$rc" = 0 ] || fail "kvm-probe exited $rc: $(tail -n 1 probe.log)"
expect_line probe.log '^kvm-probe: exit IO dir=out size=1 port=0x1234 count=1 value=0x3a$'
expect_line probe.log '^kvm-probe: OK$'
pass
