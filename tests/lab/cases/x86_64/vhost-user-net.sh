# vhost-user-net with DPDK: dpdk-testpmd (no hugepages, no PCI) with two
# net_vhost ports in io forwarding, each a wisp guest's network device;
# one guest pings the other through testpmd (small and 1400-byte
# packets).  Both guests have their own MAC address from --net mac=.
# lab-timeout: 120
# lab-boots: 2
mkdir -p /var/run
setsid dpdk-testpmd --no-huge --no-pci --no-shconf -m 96 -l 0,1 \
	--vdev net_vhost0,iface=vhost0.sock,queues=1 --vdev net_vhost1,iface=vhost1.sock,queues=1 \
	-- --forward-mode=io --auto-start --stats-period 30 --total-num-mbufs=2048 \
	</dev/null >testpmd.log 2>&1 &
echo $! >>"${LAB_CASE_DIR:-.}/sessions"
tp_pid=$!
for _ in $(seq 100); do [ -S vhost0.sock ] && [ -S vhost1.sock ] && break; sleep 0.2; done
[ -S vhost1.sock ] || { cat testpmd.log; fail "dpdk-testpmd did not start (its log is above)"; }
# the answering guest, in the background
run_wisp $((LAB_BOOT_TIMEOUT + 60)) peer.log -- --kernel "$GUEST_BZIMAGE" --initramfs "$GUEST_INITRD" \
	--cmdline "$(GUEST_CMDLINE_EXTRA="wisp_modules=virtio_pci,virtio_net wisp_ip=10.77.0.2/24 wisp_role=answer wisp_idle=100" guest_cmdline vhost-net)" \
	--serial tty --console off --memory size=192M,shared=on \
	--net vhost_user=on,socket=vhost1.sock,mac=52:54:00:77:00:02 >/dev/null &
peer=$!
GUEST_CMDLINE_EXTRA="wisp_modules=virtio_pci,virtio_net wisp_ip=10.77.0.1/24 wisp_peer=10.77.0.2 wisp_role=ping wisp_idle=90" \
	boot_guest $((LAB_BOOT_TIMEOUT + 60)) guest.log vhost-net --memory size=192M,shared=on \
	--net vhost_user=on,socket=vhost0.sock,mac=52:54:00:77:00:01
expect_guest_ok guest.log
[ "$(guest_fact guest.log mac)" = 52:54:00:77:00:01 ] || fail "guest MAC $(guest_fact guest.log mac)"
received=$(guest_fact guest.log ping_received)
[ -n "$received" ] && [ "$received" -ge 4 ] || fail "ping through testpmd: $received of 5 answered"
[ "$(guest_fact guest.log ping_big)" = ok ] || fail "1400-byte pings through testpmd failed"
expect_exit 0
grep -q 'GUEST mac=52:54:00:77:00:02' peer.log || fail "the peer guest did not come up"
# the peer's wisp (the second session listed) has done its part
kill -KILL -"$(sed -n 2p "${LAB_CASE_DIR:-.}/sessions")" 2>/dev/null
wait "$peer" 2>/dev/null
kill "$tp_pid" 2>/dev/null
note "ping: $received of 5 answered through dpdk-testpmd"
pass
