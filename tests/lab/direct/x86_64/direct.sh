# direct: the direct tests (tests/direct/run: the test guests of
# tests/guests on /dev/kvm, bad input, hostile drivers, vhost-user
# back-ends) inside the lab host, for a machine whose own /dev/kvm is
# missing or unusable.  tests/direct/in-lab starts it: it puts the runner
# at /lab/direct, GUEST_DIR (guests, bad inputs, host-side programs) at
# /lab/direct-guests, and the cached CloudHv firmware, if any, at
# /lab/direct-firmware.  The lab host is a machine with KVM like any
# other: the runner and its cases are the same scripts, unchanged; what
# they use beyond busybox comes from this machine (lab-programs below;
# tests/lab/run packs qemu-storage-daemon for a case that names it).
# Its output (DIRECT lines and the summary) goes to the lab console,
# where tests/direct/in-lab picks it up.
# The limit: the full binary's 88 cases took 168 s in the lab host
# (-smp 1, a busy 2-core machine; docs/lab.md); every wisp start there is
# emulated.  A frozen lab host is found at the limit + 60 s, and the case
# runs again in a new boot: so the limit is kept near 3.5 times that.
# lab-timeout: 600
# lab-programs: bash setpriv ip dmsetup
[ -f /lab/direct/run ] || fail "no /lab/direct/run: start this case with tests/direct/in-lab"
[ -d /lab/direct-guests/host ] || fail "no /lab/direct-guests/host (make guests)"
# /dev/kvm and /dev/net/tun as a distribution's udev rules leave them
# (the lab host has no udev: devtmpfs makes both root-only): /dev/kvm for
# the kvm group, which the cases' unprivileged user gets; /dev/net/tun
# for everybody
chgrp 78 /dev/kvm && chmod 0660 /dev/kvm && chmod 0666 /dev/net/tun ||
	fail "cannot set up /dev/kvm and /dev/net/tun"
# wisp-fsd beside wisp, where the runner looks for it
mkdir bin && ln -s /lab/wisp bin/wisp || fail "cannot link wisp"
[ -e /lab/bin/wisp-fsd ] && ln -s /lab/bin/wisp-fsd bin/wisp-fsd
[ -f /lab/direct-firmware/CLOUDHV.fd ] && export WISP_FIRMWARE=/lab/direct-firmware/CLOUDHV.fd
note "wisp $(/lab/wisp --version 2>&1 | head -n 1); /dev/kvm $(stat -c '%A %u:%g' /dev/kvm)"
bash /lab/direct/run "$PWD/bin/wisp" /lab/direct-guests
rc=$?
[ "$rc" = 0 ] || fail "the direct tests failed (exit $rc)"
pass
