# vhost-user-net with vhost_mode=server: wisp listens on the socket and
# the back-end connects, cloud-hypervisor's server mode.  Two wisp
# guests each wait on their own socket (vhost0.sock, vhost1.sock); only
# then does dpdk-testpmd start, with its two net_vhost ports as clients
# (client=1), and connect to both.  One guest pings the other through
# testpmd's io forwarding (small and 1400-byte packets); the socket
# files are wisp's and are gone after it exits.  Before that, a wisp
# waiting for a back-end that never comes is stopped by SIGTERM.
# lab-timeout: 200
# lab-boots: 2
mkdir -p /var/run
# first, a wisp that waits for a back-end that never comes is stopped by
# SIGTERM: status 128+15, one line, and its socket file gone
"$WISP" --kernel "$GUEST_BZIMAGE" --memory size=128M,shared=on \
	--net vhost_user=on,socket=lone.sock,vhost_mode=server >lone.out 2>&1 &
lone=$!
for _ in $(seq 100); do [ -S lone.sock ] && break; sleep 0.1; done
[ -S lone.sock ] || fail "wisp did not listen on lone.sock: $(cat lone.out)"
kill -TERM $lone
wait $lone
lone_rc=$?
note "stopped while waiting: status $lone_rc, $(cat lone.out)"
[ $lone_rc = 143 ] || fail "stopped while waiting for the back-end: status $lone_rc, want 143"
grep -q 'stopped by signal 15 while waiting for the back-end' lone.out || fail "no line for the stop: $(cat lone.out)"
[ ! -e lone.sock ] || fail "lone.sock is left behind"
# the answering guest, in the background: it waits for the back-end
run_wisp $((LAB_BOOT_TIMEOUT + 200)) peer.log -- --kernel "$GUEST_BZIMAGE" --initramfs "$GUEST_INITRD" \
	--cmdline "$(GUEST_CMDLINE_EXTRA="wisp_modules=virtio_pci,virtio_net wisp_ip=10.77.0.2/24 wisp_role=answer wisp_idle=300" guest_cmdline vhost-net)" \
	--serial tty --console off --memory size=128M,shared=on \
	--net vhost_user=on,socket=vhost1.sock,vhost_mode=server,mac=52:54:00:77:00:02 | sed 's/^/peer /' &
peer=$!
# testpmd once both wisps listen (the pinging one starts below)
(
	for _ in $(seq 300); do [ -S vhost0.sock ] && [ -S vhost1.sock ] && break; sleep 0.2; done
	[ -S vhost0.sock ] && [ -S vhost1.sock ] || { echo "no wisp socket to connect to" >testpmd.log; exit 0; }
	# both lcores on CPU 0: the forwarding one polls without pause, and
	# the guests need the lab host's other CPU
	setsid dpdk-testpmd --no-huge --no-pci --no-shconf -m 96 --lcores '(0,1)@0' \
		--vdev net_vhost0,iface=vhost0.sock,queues=1,client=1 \
		--vdev net_vhost1,iface=vhost1.sock,queues=1,client=1 \
		-- --forward-mode=io --auto-start --stats-period 10 --total-num-mbufs=2048 \
		</dev/null >testpmd.log 2>&1 &
	echo $! >>"${LAB_CASE_DIR:-.}/sessions"
) &
GUEST_CMDLINE_EXTRA="wisp_modules=virtio_pci,virtio_net wisp_ip=10.77.0.1/24 wisp_peer=10.77.0.2 wisp_role=ping wisp_idle=90" \
	boot_guest $((LAB_BOOT_TIMEOUT + 150)) guest.log vhost-net --memory size=128M,shared=on \
	--net vhost_user=on,socket=vhost0.sock,vhost_mode=server,mac=52:54:00:77:00:01
note "peer: $(grep -o 'GUEST [a-z_]*=[^ ]*' peer.log 2>/dev/null | tr '\n' ' ') $(tail -c 300 peer.log.err 2>/dev/null)"
note "testpmd: $(grep -E 'RX-packets|TX-packets|VHOST_CONFIG.*(connected|ready|new device|destroy)' testpmd.log | tail -n 12 | tr -s ' ' | tr '\n' '|')"
expect_guest_ok guest.log
[ "$(guest_fact guest.log mac)" = 52:54:00:77:00:01 ] || fail "guest MAC $(guest_fact guest.log mac)"
received=$(grep -o 'ping_received=[0-9]*' guest.log | cut -d= -f2)
if [ -z "$received" ] || [ "$received" -lt 4 ]; then
	fail "ping through testpmd: ${received:-none} of 5 answered"
fi
grep -q 'ping_big=ok' guest.log || fail "1400-byte pings through testpmd failed"
expect_exit 0
[ ! -e vhost0.sock ] || fail "wisp left its socket vhost0.sock behind"
grep -q 'GUEST mac=52:54:00:77:00:02' peer.log || fail "the peer guest did not come up"
# stop the peer's wisp and testpmd (each a session of its own, listed)
for s in $(cat "${LAB_CASE_DIR:-.}/sessions" 2>/dev/null); do
	kill -KILL -"$s" 2>/dev/null
done
wait "$peer" 2>/dev/null
note "ping: $received of 5 answered through dpdk-testpmd as the vhost-user client"
pass
