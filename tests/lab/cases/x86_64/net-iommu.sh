# net-iommu: virtio-net and virtio-vsock behind wisp's virtio-iommu
# (iommu=on on both), with the guest kernel of the virtio-iommu case
# (tests/lab/kernel/iommu.config: the IOMMU, net and vsock drivers built
# in).  In each of two boots the guest binds the IOMMU driver, has both
# devices in IOMMU groups, runs 8 vsock connections each way (byte count
# and FNV-1a checked at the other end, tests/lab/vsock-tool.c), takes an
# address on the TAP wisp creates, pings the lab host and moves data
# both ways over TCP at once (mergeable receive buffers, checksum
# offload) with md5 sums compared on both ends.  No DMA may be refused,
# and the guest's driver may report no fault.
#  - identity: iommu.passthrough=1.  Without BYPASS the driver makes an
#    identity domain by MAPping all of RAM once; every buffer is still
#    translated by wisp through those mappings.  16 MiB each way.
#  - strict: iommu.strict=1, Linux's DMA domains: every buffer mapped
#    just before the device gets it and unmapped right after, so wisp
#    revokes mappings (and remaps rings) under live traffic.  Each MAP
#    and UNMAP is a synchronous request (6.1's driver has no lazy mode)
#    costing a few ms in the nested lab: ~20-35 KB/s each way (1 MiB
#    each way took 42-57 s), hence 512 KiB (still ~500 frames each way,
#    every buffer mapped and unmapped around its use).
# lab-kernel: iommu
# lab-timeout: 150
# lab-boots: 2
tool=$LAB/bin/vsock-tool

# iommu_boot MODE KIB VSOCK_BYTES KERNEL_ARGS: one boot, in ./MODE
iommu_boot() {
	mode=$1 kb=$2 vbytes=$3
	mkdir -p "$mode" && cd "$mode" || fail "no directory $mode"
	sock=$PWD/v.sock
	dd if=/dev/urandom of=to-guest.bin bs=1k count="$kb" 2>/dev/null
	want_to_guest=$(md5sum <to-guest.bin | cut -d' ' -f1)
	# TCP: the host sends (listening) and fetches the guest's file
	# (connecting; busybox nc quits when its stdin ends, hence the FIFO
	# held open read-write, as in virtio-net.sh)
	(nc -l -p 5002 <to-guest.bin) &
	mkfifo hold
	(exec 7<>hold
	for _ in $(seq 120); do
		nc 192.168.77.2 5001 <&7 >from-guest.bin 2>/dev/null
		[ -s from-guest.bin ] && break
		sleep 1
	done) &
	# vsock: the host's server for the guest's clients, and the host's
	# clients once the guest's server listens
	(VSOCK_TIMEOUT=150 "$tool" host-serve "${sock}_5678" 8 >host-serve.out 2>&1
	echo $? >host-serve.rc) &
	(for _ in $(seq 300); do
		grep -q 'GUEST vsock_listening=1' guest.log 2>/dev/null && break
		[ -e guest.log.rc ] && break	# wisp is gone
		sleep 0.5
	done
	if grep -q 'GUEST vsock_listening=1' guest.log 2>/dev/null; then
		VSOCK_TIMEOUT=60 "$tool" host-connect "$sock" 1234 8 "$vbytes" >host-connect.out 2>&1
		echo $? >host-connect.rc
	else
		echo "the guest never listened" >host-connect.out
	fi) &
	connect_pid=$!
	GUEST_KERNEL=/lab/guest/kernel-iommu \
	GUEST_CMDLINE_EXTRA="$4 wisp_ip=192.168.77.2/24 wisp_peer=192.168.77.1 wisp_kb=$kb wisp_vsock=8,$vbytes" \
		boot_guest $((LAB_BOOT_TIMEOUT + 60)) guest.log net-iommu --memory size=256M \
		--net tap=wtap0,ip=192.168.77.1,mask=255.255.255.0,iommu=on \
		--vsock "cid=3,socket=$sock,iommu=on"
	for _ in $(seq 30); do
		[ -e host-serve.rc ] && ! kill -0 "$connect_pid" 2>/dev/null && break
		sleep 0.5
	done
	expect_guest_ok guest.log
	[ "$(guest_fact guest.log viommu_bound)" = 1 ] || fail "$mode: the guest's virtio-iommu driver is not bound"
	net_group=$(guest_fact guest.log net_group)
	vsock_group=$(guest_fact guest.log vsock_group)
	[ -n "$net_group" ] || fail "$mode: the NIC is in no IOMMU group"
	[ -n "$vsock_group" ] || fail "$mode: the vsock device is in no IOMMU group"
	[ "$(cat host-connect.rc 2>/dev/null)" = 0 ] ||
		fail "$mode: vsock host->guest: $(tail -n 1 host-connect.out)"
	[ "$(guest_fact guest.log vsock_serve)" = ok ] ||
		fail "$mode: vsock host->guest: the guest's server says $(guest_fact guest.log vsock_serve)"
	[ "$(guest_fact guest.log vsock_connect)" = ok ] ||
		fail "$mode: vsock guest->host: the guest's clients say $(guest_fact guest.log vsock_connect)"
	[ "$(cat host-serve.rc 2>/dev/null)" = 0 ] ||
		fail "$mode: vsock guest->host: the host's server: $(tail -n 1 host-serve.out 2>/dev/null)"
	[ "$(guest_fact guest.log ping)" = ok ] || fail "$mode: the guest could not ping the lab host"
	[ "$(guest_fact guest.log recv_md5)" = "$want_to_guest" ] || fail "$mode: host->guest data differs"
	[ "$(md5sum <from-guest.bin | cut -d' ' -f1)" = "$(guest_fact guest.log sent_md5)" ] ||
		fail "$mode: guest->host data differs ($(wc -c <from-guest.bin) bytes arrived)"
	expect_exit 0
	reject_line guest.log 'virtio-iommu: endpoint .* refused' "$mode: wisp refused some DMA"
	reject_line guest.log 'fault from EP' "$mode: the guest's IOMMU driver reported a fault"
	ip link show wtap0 >/dev/null 2>&1 && fail "$mode: the TAP wisp created is still there after exit"
	note "$mode: NIC in IOMMU group $net_group, vsock in $vsock_group; 8 x $vbytes bytes each way over vsock; $kb KiB each way over TCP in $(guest_fact guest.log net_seconds) s (making and summing the data included)"
	cd ..
}

iommu_boot identity 16384 131072 iommu.passthrough=1
iommu_boot strict 512 65536 iommu.strict=1
pass
