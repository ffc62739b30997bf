# net-iommu: virtio-net and virtio-vsock behind wisp's virtio-iommu
# (iommu=on on both), with the guest kernel of the virtio-iommu case
# (tests/lab/kernel/iommu.config: the IOMMU, net and vsock drivers built
# in) and iommu.strict=1, so every buffer the guest posts is mapped
# before and unmapped right after the device used it.  The guest binds
# the IOMMU driver, has both devices in IOMMU groups, takes an address on
# the TAP wisp creates, pings the lab host and moves LAB_NET_MB MiB each
# way over TCP at once (mergeable receive buffers, checksum offload, all
# through translated DMA) with md5 sums compared on both ends; first, 8
# vsock connections of 128 KiB each way (byte count and FNV-1a checked at
# the other end, tests/lab/vsock-tool.c).  No DMA may be refused, and the
# guest's driver may report no fault.
# 1 MiB, not more: Linux 6.1's virtio-iommu driver maps and unmaps every
# buffer with a synchronous request (MAP, then UNMAP and a sync: its
# domains have no lazy mode), and in the nested lab each costs a few ms,
# so the guest moves ~35 KB/s each way here (2 MiB each way: 84 s; the
# cloud kernel's guest without the IOMMU moves 100 MiB each way in ~2
# minutes, virtio-net.sh).  1 MiB is still ~1000 frames each way, every
# one of their buffers mapped and unmapped around its use.
# lab-kernel: iommu
# lab-timeout: 120
# lab-boots: 1
mb=${LAB_NET_MB:-1}
tool=$LAB/bin/vsock-tool
sock=$PWD/v.sock
dd if=/dev/urandom of=to-guest.bin bs=1M count="$mb" 2>/dev/null
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
	VSOCK_TIMEOUT=60 "$tool" host-connect "$sock" 1234 8 131072 >host-connect.out 2>&1
	echo $? >host-connect.rc
else
	echo "the guest never listened" >host-connect.out
fi) &
connect_pid=$!
GUEST_KERNEL=/lab/guest/kernel-iommu \
GUEST_CMDLINE_EXTRA="iommu.strict=1 wisp_ip=192.168.77.2/24 wisp_peer=192.168.77.1 wisp_mb=$mb wisp_vsock=8,131072" \
	boot_guest $((LAB_BOOT_TIMEOUT + 60)) guest.log net-iommu --memory size=256M \
	--net tap=wtap0,ip=192.168.77.1,mask=255.255.255.0,iommu=on \
	--vsock "cid=3,socket=$sock,iommu=on"
for _ in $(seq 30); do
	[ -e host-serve.rc ] && ! kill -0 "$connect_pid" 2>/dev/null && break
	sleep 0.5
done
note "host-serve: $(tail -n 1 host-serve.out 2>/dev/null)"
note "host-connect: $(tail -n 1 host-connect.out 2>/dev/null)"
expect_guest_ok guest.log
[ "$(guest_fact guest.log viommu_bound)" = 1 ] || fail "the guest's virtio-iommu driver is not bound"
net_group=$(guest_fact guest.log net_group)
vsock_group=$(guest_fact guest.log vsock_group)
[ -n "$net_group" ] || fail "the NIC is in no IOMMU group"
[ -n "$vsock_group" ] || fail "the vsock device is in no IOMMU group"
[ "$(guest_fact guest.log ping)" = ok ] || fail "the guest could not ping the lab host"
[ "$(guest_fact guest.log recv_md5)" = "$want_to_guest" ] || fail "host->guest data differs"
[ "$(md5sum <from-guest.bin | cut -d' ' -f1)" = "$(guest_fact guest.log sent_md5)" ] ||
	fail "guest->host data differs ($(wc -c <from-guest.bin) bytes arrived)"
[ "$(cat host-connect.rc 2>/dev/null)" = 0 ] || fail "vsock host->guest: $(tail -n 1 host-connect.out)"
[ "$(guest_fact guest.log vsock_serve)" = ok ] ||
	fail "vsock host->guest: the guest's server says $(guest_fact guest.log vsock_serve)"
[ "$(guest_fact guest.log vsock_connect)" = ok ] ||
	fail "vsock guest->host: the guest's clients say $(guest_fact guest.log vsock_connect)"
[ "$(cat host-serve.rc 2>/dev/null)" = 0 ] ||
	fail "vsock guest->host: the host's server: $(tail -n 1 host-serve.out 2>/dev/null)"
expect_exit 0
reject_line guest.log 'virtio-iommu: endpoint .* refused' "wisp refused some DMA"
reject_line guest.log 'fault from EP' "the guest's IOMMU driver reported a fault"
ip link show wtap0 >/dev/null 2>&1 && fail "the TAP wisp created is still there after exit"
note "NIC in IOMMU group $net_group, vsock in $vsock_group; 8 x 128 KiB each way over vsock; ${mb} MiB each way over TCP in $(guest_fact guest.log net_seconds) s (with making and summing the data)"
pass
