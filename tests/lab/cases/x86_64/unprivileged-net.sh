# unprivileged-net: wisp as an ordinary user (uid 1000, no
# capabilities) with a TAP that root made for it beforehand, persistent
# and owned by that user (`ip tuntap add ... user 1000 vnet_hdr`; the
# lab host's busybox has no tuntap, so /lab/bin/host-tool does it), up
# with an address; the user reaches /dev/kvm through its group only.
# The guest pings the lab host through the TAP and powers off; wisp
# exits 0 and leaves the TAP as it found it.  While the guest runs,
# wisp's /proc status must show uid 1000 and no effective capabilities.
# Then the same user asks wisp for a TAP that does not exist (creating
# one needs CAP_NET_ADMIN) and for root's TAP: one line each, exit 2,
# nothing created.
# lab-timeout: 60
# lab-boots: 1
U=1000 KVM_GID=78 TAP=utap0 ROOT_TAP=rtap0
/lab/bin/host-tool tap "$TAP" "$U" || fail "cannot make the user's TAP"
/lab/bin/host-tool tap "$ROOT_TAP" 0 || fail "cannot make root's TAP"
ip addr add 192.168.79.1/24 dev "$TAP" && ip link set "$TAP" up || fail "cannot configure $TAP"
# /dev/kvm for the kvm group only, not for everybody; /dev/net/tun for
# everybody, as Debian's udev rules have it (the lab host has no udev:
# devtmpfs makes it 0600)
chgrp "$KVM_GID" /dev/kvm && chmod 0660 /dev/kvm && chmod 0666 /dev/net/tun
note "/dev/kvm $(stat -c '%A %u:%g' /dev/kvm), /dev/net/tun $(stat -c '%A' /dev/net/tun)"
# wisp started through host-tool runas (run_wisp runs $WISP)
cat >as-user <<EOF
#!/bin/sh
exec /lab/bin/host-tool runas $U $U $KVM_GID /lab/wisp "\$@"
EOF
chmod 755 as-user
# the running wisp's credentials, taken while the guest runs
(for _ in $(seq 600); do
	p=$(pidof wisp) && grep -E '^(Uid|Gid|Groups|CapEff|CapPrm):' "/proc/${p%% *}/status" >creds &&
		[ -s creds ] && break
	sleep 0.1
done) &
watcher=$!
GUEST_CMDLINE_EXTRA="wisp_modules=virtio_pci,virtio_net wisp_ip=192.168.79.2/24 wisp_peer=192.168.79.1"
WISP=$PWD/as-user boot_guest "$LAB_BOOT_TIMEOUT" guest.log ping --memory size=256M --net tap="$TAP"
kill "$watcher" 2>/dev/null
expect_guest_ok guest.log
[ "$(guest_fact guest.log ping)" = ok ] ||
	fail "the guest could not ping the lab host ($(guest_fact guest.log ping_received) replies)"
expect_exit 0
[ -s creds ] || fail "wisp's /proc status was never read"
sed 's/^/creds: /' creds
grep -Eq "^Uid:[[:space:]]+${U}[[:space:]]+${U}[[:space:]]+${U}[[:space:]]+${U}\$" creds || fail "wisp did not run as uid $U"
grep -Eq '^CapEff:[[:space:]]+0+$' creds || fail "wisp had effective capabilities"
grep -Eq '^CapPrm:[[:space:]]+0+$' creds || fail "wisp had permitted capabilities"
ip link show "$TAP" | grep -q 'UP' || fail "$TAP is no longer up after wisp"
[ "$(cat /sys/class/net/$TAP/owner)" = "$U" ] || fail "$TAP changed owner"

# no permission: a TAP wisp would have to create, root's TAP
WISP=$PWD/as-user run_wisp 30 nocreate.log -- --kernel "$GUEST_BZIMAGE" --memory size=64M \
	--net tap=wnew0
expect_exit 2
[ "$(wc -l <nocreate.log.err)" = 1 ] || fail "not one line on stderr: $(cat nocreate.log.err)"
expect_line nocreate.log.err "^wisp: --net: cannot create TAP 'wnew0': Operation not permitted\$"
[ -e /sys/class/net/wnew0 ] && fail "a TAP wnew0 exists"
WISP=$PWD/as-user run_wisp 30 notowner.log -- --kernel "$GUEST_BZIMAGE" --memory size=64M \
	--net tap="$ROOT_TAP"
expect_exit 2
[ "$(wc -l <notowner.log.err)" = 1 ] || fail "not one line on stderr: $(cat notowner.log.err)"
expect_line notowner.log.err "^wisp: --net: cannot open TAP '$ROOT_TAP': Operation not permitted\$"
/lab/bin/host-tool tap-del "$TAP"
/lab/bin/host-tool tap-del "$ROOT_TAP"
pass
