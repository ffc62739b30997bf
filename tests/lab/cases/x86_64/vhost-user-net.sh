# vhost-user-net with DPDK: dpdk-testpmd (no hugepages, no PCI) with two
# net_vhost ports in io forwarding, each a wisp guest's network device;
# one guest pings the other through testpmd (small and 1400-byte
# packets).  Both guests have their own MAC address from --net mac=.
# lab-timeout: 200
# lab-boots: 2
mkdir -p /var/run
# both lcores on CPU 0: the forwarding one polls without pause, and the
# guests need the lab host's other CPU
setsid dpdk-testpmd --no-huge --no-pci --no-shconf -m 96 --lcores '(0,1)@0' \
	--vdev net_vhost0,iface=vhost0.sock,queues=1 --vdev net_vhost1,iface=vhost1.sock,queues=1 \
	-- --forward-mode=io --auto-start --stats-period 10 --total-num-mbufs=2048 \
	</dev/null >testpmd.log 2>&1 &
echo $! >>"${LAB_CASE_DIR:-.}/sessions"
tp_pid=$!
for _ in $(seq 100); do [ -S vhost0.sock ] && [ -S vhost1.sock ] && break; sleep 0.2; done
[ -S vhost1.sock ] || { cat testpmd.log; fail "dpdk-testpmd did not start (its log is above)"; }
# the answering guest, in the background
run_wisp $((LAB_BOOT_TIMEOUT + 200)) peer.log -- --kernel "$GUEST_BZIMAGE" --initramfs "$GUEST_INITRD" \
	--cmdline "$(GUEST_CMDLINE_EXTRA="wisp_modules=virtio_pci,virtio_net wisp_ip=10.77.0.2/24 wisp_role=answer wisp_idle=300" guest_cmdline vhost-net)" \
	--serial tty --console off --memory size=128M,shared=on \
	--net vhost_user=on,socket=vhost1.sock,mac=52:54:00:77:00:02 | sed 's/^/peer /' &
peer=$!
GUEST_CMDLINE_EXTRA="wisp_modules=virtio_pci,virtio_net wisp_ip=10.77.0.1/24 wisp_peer=10.77.0.2 wisp_role=ping wisp_idle=90" \
	boot_guest $((LAB_BOOT_TIMEOUT + 150)) guest.log vhost-net --memory size=128M,shared=on \
	--net vhost_user=on,socket=vhost0.sock,mac=52:54:00:77:00:01
# what the peer and testpmd saw, for a failure's diagnosis
note "peer: $(grep -o 'GUEST [a-z_]*=[^ ]*' peer.log 2>/dev/null | tr '\n' ' ') $(tail -c 300 peer.log.err 2>/dev/null)"
note "testpmd: $(grep -E 'RX-packets|TX-packets|VHOST_CONFIG.*(ready|new device|destroy)' testpmd.log | tail -n 12 | tr -s ' ' | tr '\n' '|')"
expect_guest_ok guest.log
[ "$(guest_fact guest.log mac)" = 52:54:00:77:00:01 ] || fail "guest MAC $(guest_fact guest.log mac)"
# (a wisp message may share the console line with the fact)
received=$(grep -o 'ping_received=[0-9]*' guest.log | cut -d= -f2)
if [ -z "$received" ] || [ "$received" -lt 4 ]; then
	fail "ping through testpmd: ${received:-none} of 5 answered"
fi
grep -q 'ping_big=ok' guest.log || fail "1400-byte pings through testpmd failed"
expect_exit 0
grep -q 'GUEST mac=52:54:00:77:00:02' peer.log || fail "the peer guest did not come up"
# the peer's wisp has done its part: stop every wisp session listed after
# testpmd's (which one registered first is a race; the pinging one has
# exited already, so killing its group again is harmless)
for s in $(sed -n '2,$p' "${LAB_CASE_DIR:-.}/sessions"); do
	kill -KILL -"$s" 2>/dev/null
done
wait "$peer" 2>/dev/null
kill "$tp_pid" 2>/dev/null
note "ping: $received of 5 answered through dpdk-testpmd"
pass
