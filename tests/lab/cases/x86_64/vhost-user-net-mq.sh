# vhost-user-net with two queue pairs: dpdk-testpmd (no hugepages, no
# PCI) with one net_vhost port of two queues, answering ARP and pings
# itself (icmpecho, each reply on the queue its request came in on).  The
# guest has two vCPUs, so its driver asks for both pairs on the control
# queue (VQ_PAIRS_SET, which wisp turns into SET_VRING_ENABLE for the
# second pair); it then pings from each CPU, 100 1400-byte pings each,
# which its driver sends on that CPU's pair.  Both receive queues must
# have interrupted the guest.
# lab-timeout: 200
# lab-boots: 1
mkdir -p /var/run
setsid dpdk-testpmd --no-huge --no-pci --no-shconf -m 96 --lcores '(0,1)@0' \
	--vdev net_vhost0,iface=vhost-mq.sock,queues=2 \
	-- --forward-mode=icmpecho --port-topology=loop --rxq=2 --txq=2 --auto-start \
	--stats-period 10 --total-num-mbufs=2048 \
	</dev/null >testpmd.log 2>&1 &
echo $! >>"${LAB_CASE_DIR:-.}/sessions"
tp_pid=$!
for _ in $(seq 100); do [ -S vhost-mq.sock ] && break; sleep 0.2; done
[ -S vhost-mq.sock ] || { cat testpmd.log; fail "dpdk-testpmd did not start (its log is above)"; }
GUEST_CMDLINE_EXTRA="wisp_modules=virtio_pci,virtio_net wisp_ip=10.78.0.1/24 wisp_peer=10.78.0.2 wisp_role=ping wisp_idle=90" \
	boot_guest $((LAB_BOOT_TIMEOUT + 120)) guest.log vhost-net --cpus boot=2 \
	--memory size=128M,shared=on --net vhost_user=on,socket=vhost-mq.sock,num_queues=4,mac=52:54:00:78:00:01
note "testpmd: $(grep -E 'RX-packets|TX-packets|VHOST_CONFIG.*(ready|new device|destroy|vring|queue)' testpmd.log | tail -n 16 | tr -s ' ' | tr '\n' '|')"
kill "$tp_pid" 2>/dev/null
expect_guest_ok guest.log
[ "$(guest_fact guest.log net_queues)" = "rx-0 rx-1 tx-0 tx-1" ] ||
	fail "the guest uses queues '$(guest_fact guest.log net_queues)', expected two pairs"
received=$(grep -o 'ping_received=[0-9]*' guest.log | cut -d= -f2)
if [ -z "$received" ] || [ "$received" -lt 4 ]; then
	fail "ping through testpmd: ${received:-none} of 5 answered"
fi
for cpu in 0 1; do
	n=$(grep -o "ping_cpu${cpu}_received=[0-9]*" guest.log | cut -d= -f2)
	if [ -z "$n" ] || [ "$n" -lt 95 ]; then
		fail "1400-byte pings from CPU $cpu: ${n:-none} of 100 answered"
	fi
done
irqs=$(guest_fact guest.log queue_irqs)
for q in 0 1; do
	n=$(echo "$irqs" | grep -o "input\.$q=[0-9]*" | cut -d= -f2)
	if [ -z "$n" ] || [ "$n" -eq 0 ]; then
		fail "receive queue $q never interrupted the guest ($irqs)"
	fi
done
# the driver's VQ_PAIRS_SET 2 became SET_VRING_ENABLE of queues 2 and 3
for q in 2 3; do
	grep -q "set queue enable: 1 to qp idx: $q" testpmd.log || fail "testpmd never had queue $q enabled"
done
reject_line guest.log.err 'needs a reset|unusable|refused' "wisp reported a problem"
expect_exit 0
note "two pairs: $(guest_fact guest.log ping_cpu0_received) + $(guest_fact guest.log ping_cpu1_received) of 2x100 big pings answered; $irqs"
pass
