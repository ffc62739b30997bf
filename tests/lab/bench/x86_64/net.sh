# net: guest<->host stream throughput, in one lab run (a benchmark, not a
# test: bench/lab/run runs it, `make test` never does).  The same guest
# (kernel, initramfs, 1 vCPU, 256 MiB) runs bench/lab/netbench.c against
# servers in the lab host: TCP over virtio-net on a TAP under wisp, under
# QEMU microvm with virtio-net-pci on a TAP (userspace virtio-net), and the
# same with vhost=on (the lab host's vhost_net); and vsock streams through
# wisp's hybrid vsock (Unix sockets on the host).  Each direction is
# measured RUNS times at the receiving end.  Prints
#   [net] RESULT VMM KEY=KBIT    (one line per run; bench/lab/run takes medians)
#   [net] COMMAND VMM ...
# Needs `tests/lab/run --with-qemu` (QEMU, vhost_net in the lab host).
# lab-timeout: 520
# lab-boots: 3
SECS=3
RUNS=3
QEMU_BIN=/usr/bin/qemu-system-x86_64
[ -x "$QEMU_BIN" ] || fail "no QEMU in the lab host (tests/lab/run --with-qemu)"
NB=/lab/bin/netbench
HOST_IP=192.168.77.1
BASE_CMDLINE="wisp_ip=192.168.77.2/24 wisp_peer=$HOST_IP wisp_bench_secs=$SECS wisp_bench_runs=$RUNS"

# servers VMM: the lab host's side, for one VMM's run; their reports go
# to VMM-tcp_tx.out and VMM-vsock_tx.out
servers() {
	$NB sink tcp 5201 >"$1-tcp_tx.out" 2>&1 &
	echo $! >>servers.pids
	$NB source tcp 5202 "$SECS" >/dev/null 2>&1 &
	echo $! >>servers.pids
	if [ -n "$2" ]; then
		$NB sink unix "$2_5203" >"$1-vsock_tx.out" 2>&1 &
		echo $! >>servers.pids
		$NB source unix "$2_5204" "$SECS" >/dev/null 2>&1 &
		echo $! >>servers.pids
	fi
	sleep 0.5
}
servers_stop() {
	# shellcheck disable=SC2046
	kill $(cat servers.pids) 2>/dev/null
	rm -f servers.pids
	sleep 0.5
}

# results LOG VMM: RESULT lines; guest->host from the host's sink, the
# other direction from the guest's log
results() {
	grep -q '^BENCH net done' "$1" || fail "$2: no 'BENCH net done'"
	[ "$(guest_fact "$1" ping)" = ok ] || fail "$2: the guest could not ping the host"
	for dir in tcp vsock; do
		sed -n "s/^BENCH net ${dir}_rx NETBENCH .* kbit=\([0-9]*\)$/\1/p" "$1" | while read -r v; do
			note "RESULT $2 ${dir}_rx_kbit=$v"
		done
		[ -f "$2-${dir}_tx.out" ] || continue
		sed -n 's/^NETBENCH .* kbit=\([0-9]*\)$/\1/p' "$2-${dir}_tx.out" | while read -r v; do
			note "RESULT $2 ${dir}_tx_kbit=$v"
		done
	done
	n=$(grep -c "^BENCH net tcp_rx NETBENCH" "$1")
	[ "$n" = "$RUNS" ] || fail "$2: $n host->guest TCP runs, not $RUNS"
}

# --- wisp: virtio-net on a TAP it creates, vsock over Unix sockets
servers wisp "$PWD/v.sock"
wargs="--memory size=256M --net tap=wtap0,ip=$HOST_IP,mask=255.255.255.0 --vsock cid=3,socket=$PWD/v.sock"
GUEST_CMDLINE_EXTRA="wisp_modules=virtio_pci,virtio_net,vmw_vsock_virtio_transport $BASE_CMDLINE wisp_bench_vsock=1"
note "COMMAND wisp wisp --kernel vmlinuz --initramfs initrd.gz --cmdline '$(guest_cmdline netbench)' --serial tty --console off $wargs"
# shellcheck disable=SC2086
boot_guest $((LAB_BOOT_TIMEOUT + 150)) wisp.log netbench $wargs
servers_stop
expect_guest_ok wisp.log
results wisp.log wisp
expect_exit 0

# --- QEMU: microvm, virtio-net-pci on a TAP it opens (the script gives
# the host side its address), without and with vhost-net
cat >ifup <<IFUP
#!/bin/sh
ip addr add $HOST_IP/24 dev "\$1" && ip link set "\$1" up
IFUP
chmod 755 ifup
[ -c /dev/vhost-net ] || fail "no /dev/vhost-net in the lab host (vhost_net not loaded)"
GUEST_CMDLINE_EXTRA="wisp_modules=virtio_pci,virtio_net $BASE_CMDLINE"
qargs="-accel kvm -cpu host,-arch-capabilities -M microvm,pcie=on,rtc=on"
qargs="$qargs -nodefaults -no-user-config -display none -no-reboot -serial stdio"
qargs="$qargs -smp 1 -m 256M"
for vhost in off on; do
	vmm=qemu
	[ $vhost = on ] && vmm=qemuvhost
	qnet="-netdev tap,id=n0,ifname=qtap0,script=$PWD/ifup,downscript=no,vhost=$vhost -device virtio-net-pci,netdev=n0,romfile="
	note "COMMAND $vmm qemu-system-x86_64 $qargs -kernel vmlinuz -initrd initrd.gz -append '$(guest_cmdline netbench)' $qnet"
	servers $vmm ""
	WISP=$QEMU_BIN
	# shellcheck disable=SC2086
	run_wisp $((LAB_BOOT_TIMEOUT + 150)) $vmm.log -- $qargs \
		-kernel "$GUEST_BZIMAGE" -initrd "$GUEST_INITRD" -append "$(guest_cmdline netbench)" $qnet
	servers_stop
	expect_guest_ok $vmm.log
	results $vmm.log $vmm
	expect_exit 0
done
pass
