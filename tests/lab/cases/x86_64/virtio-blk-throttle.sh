# virtio-blk-throttle: cloud-hypervisor's rate-limit keys on --disk, in a
# Linux guest reading with O_DIRECT (issue 22).
#   vda: bw_size=1 MiB per bw_refill_time=1000 ms; 4 MiB read: the full
#        bucket, then 3 MiB at 1 MiB/s, so at least 3 s
#   vdb: no limit (its time is reported, for comparison)
#   vdc: ops_size=10 per ops_refill_time=100 ms, 100 ops/s; 200 reads of
#        4 KiB: 10, then 190 at 100/s, so at least 1.9 s
#   vdd, vde: rate_limit_group=g0, one --rate-limit-group of 1 MiB per
#        1000 ms for both; 2 MiB read from each at once: 1 MiB, then
#        3 MiB at 1 MiB/s, so at least 3 s (each alone would take 1 s)
# Each time must be at least 90% of what the limit allows (the guest
# clock's granularity), and at most 115% of it plus twice what the same
# reads took on vdb, which has no limit (the emulated lab's own cost,
# measured in the same boot): the limit is met within 15%, neither
# undercut nor overshot.  The data read through the limiter is the
# image's.
# lab-timeout: 60
# lab-boots: 1
for d in a b c d e; do head -c 4194304 /dev/urandom >$d.img; done
GUEST_CMDLINE_EXTRA="wisp_modules=virtio_pci,virtio_blk" \
	boot_guest "$LAB_BOOT_TIMEOUT" guest.log blk-throttle --memory size=256M \
	--disk path=a.img,bw_size=1048576,bw_refill_time=1000 path=b.img \
	path=c.img,ops_size=10,ops_refill_time=100 \
	path=d.img,rate_limit_group=g0 path=e.img,rate_limit_group=g0 \
	--rate-limit-group id=g0,bw_size=1048576,bw_refill_time=1000
expect_guest_ok guest.log
expect_exit 0
reject_line guest.log '^GUEST missing=' "a disk did not appear"
[ "$(guest_fact guest.log vda_md5)" = "$(md5sum <a.img | cut -d' ' -f1)" ] ||
	fail "vda read through the limiter differs from a.img"
free=$(guest_fact guest.log vdb_cs) free_ops=$(guest_fact guest.log vdb_ops_cs)
note "4 MiB: limited $(guest_fact guest.log vda_cs) cs, unlimited ${free} cs; 200 ops: limited $(guest_fact guest.log vdc_cs) cs, unlimited ${free_ops} cs; group: $(guest_fact guest.log group_cs) cs"
expect_range vdb_cs "$free" 0 100000
expect_range vdb_ops_cs "$free_ops" 0 100000
# 1 MiB/s: 3 MiB past the bucket = 300 cs
expect_range vda_cs "$(guest_fact guest.log vda_cs)" 270 $((345 + 2 * free))
# 100 ops/s: 190 ops past the bucket = 190 cs
expect_range vdc_cs "$(guest_fact guest.log vdc_cs)" 170 $((219 + 2 * free_ops))
# the group's 1 MiB/s for 4 MiB read by two disks at once
expect_range group_cs "$(guest_fact guest.log group_cs)" 270 $((345 + 2 * free))
pass
