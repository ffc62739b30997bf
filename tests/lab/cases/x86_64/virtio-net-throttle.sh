# virtio-net-throttle: cloud-hypervisor's rate-limit keys on --net (issue
# 22): bw_size=64 KiB per bw_refill_time=1000 ms, which CH applies to
# each direction on its own.  512 KiB each way over TCP: the full bucket,
# then 448 KiB at 64 KiB/s, so each direction takes at least 7 s.  Timed
# by the receiving end: the guest times host->guest; the lab host times
# guest->host from the first byte to the end.  Only lower bounds are
# checked (a slow lab host only adds time; without the limits
# the same transfers took 1.37 s and 0.21 s), with 10% for clock granularity; the data must arrive intact.
# lab-timeout: 120
# lab-boots: 1
kb=512
dd if=/dev/urandom of=to-guest.bin bs=1k count=$kb 2>/dev/null
cs() { awk '{ printf "%d", $1 * 100 }' /proc/uptime; }
(nc -l -p 5002 <to-guest.bin) &
# guest->host: a listener, and a watcher noting the first byte and the end
# (busybox nc quits when its stdin ends: give it a FIFO opened read-write,
# which never ends and has no writer to wait for)
mkfifo hold
(exec 7<>hold; exec nc -l -p 5003 <&7 >from-guest.bin) &
receiver=$!
(while [ ! -s from-guest.bin ]; do kill -0 $receiver 2>/dev/null || exit; sleep 0.05; done
first=$(cs)
while kill -0 $receiver 2>/dev/null; do sleep 0.05; done
echo $(($(cs) - first)) >send.cs
echo done | nc -l -p 5004) &
GUEST_CMDLINE_EXTRA="wisp_modules=virtio_pci,virtio_net wisp_ip=192.168.78.2/24 wisp_peer=192.168.78.1 wisp_kb=$kb"
boot_guest 100 guest.log net-throttle --memory size=256M \
	--net tap=wtap1,ip=192.168.78.1,mask=255.255.255.0,bw_size=65536,bw_refill_time=1000
expect_guest_ok guest.log
expect_exit 0
[ "$(guest_fact guest.log sent_acked)" = 1 ] || fail "the guest's data was never all received"
[ "$(guest_fact guest.log recv_md5)" = "$(md5sum <to-guest.bin | cut -d' ' -f1)" ] ||
	fail "host->guest data differs"
for _ in $(seq 20); do [ -s send.cs ] && break; sleep 0.5; done
[ "$(md5sum <from-guest.bin | cut -d' ' -f1)" = "$(guest_fact guest.log sent_md5)" ] ||
	fail "guest->host data differs ($(wc -c <from-guest.bin) bytes arrived)"
note "$kb KiB at 64 KiB/s: host->guest $(guest_fact guest.log recv_cs) cs, guest->host $(cat send.cs) cs"
expect_range recv_cs "$(guest_fact guest.log recv_cs)" 630 100000
expect_range send_cs "$(cat send.cs)" 630 100000
pass
