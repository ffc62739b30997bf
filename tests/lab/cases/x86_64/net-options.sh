# net-options: --net keys beyond tap=/ip=/mask= (issue 18).
# 1. tap= empty: wisp makes a TAP the kernel names (tap0), gives it the
#    host side address, host_mac= and mtu=; seen from the lab host while
#    the guest runs, the guest's eth0 has that mtu (VIRTIO_NET_F_MTU), the
#    guest pings the lab host, and the TAP is gone after wisp.
# 2. fd=9: a TAP queue opened by the caller (host-tool tap-fd) and
#    inherited; wisp addresses it and the guest pings through it.  With
#    offload_tso=off the guest's driver has the checksum offload (virtio
#    feature bit 0) but no TSO (bits 11, 12), which the first guest has.
# 3. fd=9 with nothing open there: one line, exit 2.
# lab-timeout: 240
# lab-boots: 2
HOST_MAC=52:54:00:aa:bb:01 MTU=9000
# the TAP wisp makes, as the lab host sees it while the guest runs
(for _ in $(seq 900); do
	for t in /sys/class/net/tap*; do
		[ -e "$t" ] || continue
		[ "$(cat "$t/operstate" 2>/dev/null)" = down ] && continue
		echo "${t##*/} $(cat "$t/address") $(cat "$t/mtu")" >seen && exit 0
	done
	sleep 0.1
done) &
watcher=$!
GUEST_CMDLINE_EXTRA="wisp_modules=virtio_pci,virtio_net wisp_ip=192.168.81.2/24 wisp_peer=192.168.81.1"
boot_guest "$LAB_BOOT_TIMEOUT" guest.log ping --memory size=256M \
	--net "tap=,ip=192.168.81.1,mask=255.255.255.0,host_mac=$HOST_MAC,mtu=$MTU,id=lab0"
kill "$watcher" 2>/dev/null
expect_guest_ok guest.log
[ -s seen ] || fail "no TAP named by the kernel (tap*) appeared while the guest ran"
note "lab host saw: $(cat seen)"
read -r tap mac mtu <seen
[ "$mac" = "$HOST_MAC" ] || fail "$tap has address $mac, not host_mac=$HOST_MAC"
[ "$mtu" = "$MTU" ] || fail "$tap has mtu $mtu, not $MTU"
[ "$(guest_fact guest.log mtu)" = "$MTU" ] || fail "the guest's eth0 has mtu $(guest_fact guest.log mtu), not $MTU"
[ "$(guest_fact guest.log ping)" = ok ] ||
	fail "the guest could not ping through the TAP named by the kernel"
# bit N of the virtio features the guest's driver took (sysfs: bit 0 first)
feature() { guest_fact "$1" net_features | cut -c$(($2 + 1)); }
[ "$(feature guest.log 0)$(feature guest.log 11)$(feature guest.log 12)" = 111 ] ||
	fail "by default the guest has no checksum or TSO offload: $(guest_fact guest.log net_features)"
expect_exit 0
[ -e "/sys/class/net/$tap" ] && fail "$tap is still there after wisp"

cat >with-fd <<EOF
#!/bin/sh
exec /lab/bin/host-tool tap-fd ftap0 9 /lab/wisp "\$@"
EOF
chmod 755 with-fd
GUEST_CMDLINE_EXTRA="wisp_modules=virtio_pci,virtio_net wisp_ip=192.168.82.2/24 wisp_peer=192.168.82.1"
WISP=$PWD/with-fd boot_guest "$LAB_BOOT_TIMEOUT" guest2.log ping --memory size=256M \
	--net fd=9,ip=192.168.82.1,mask=255.255.255.0,offload_tso=off
expect_guest_ok guest2.log
[ "$(guest_fact guest2.log ping)" = ok ] || fail "the guest could not ping through the fd= TAP"
[ "$(feature guest2.log 0)$(feature guest2.log 11)$(feature guest2.log 12)" = 100 ] ||
	fail "offload_tso=off: the guest took $(guest_fact guest2.log net_features)"
expect_exit 0

run_wisp 30 bad.log -- --kernel "$GUEST_BZIMAGE" --net fd=9
expect_exit 2
expect_line bad.log "fd=9.*not a TAP file descriptor" "no clear line for fd=9 with nothing open"
pass
