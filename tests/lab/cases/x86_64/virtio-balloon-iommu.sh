# virtio-balloon behind wisp's virtio-iommu (--balloon ...,iommu=on,
# cloud-hypervisor's size=0,iommu=on with a size): the guest kernel of the
# virtio-iommu case (tests/lab/kernel/iommu.config, virtio_balloon built
# in) binds the IOMMU and balloon drivers and has the balloon in an IOMMU
# group.  Linux's virtio_balloon clears VIRTIO_F_ACCESS_PLATFORM in its
# validate(), so its queues and reports are guest-physical, as QEMU lets
# such a driver bypass the IOMMU (docs/iommu.md; a driver that accepts
# the feature gets its addresses translated: tests/unit/test_iommu.c).  The 256 MiB guest gives the 64 MiB asked for
# (MemTotal drops by that from what its kernel counted at boot and freed
# since), then touches 128 MiB and frees it: free page reporting must
# hand those pages to wisp, which discards them (vm.counters:
# reported_bytes, and discarded_bytes beyond what the balloon gave).
# Afterwards the guest writes 128 MiB again and powers off cleanly; no
# DMA may be refused.
# lab-kernel: iommu
# lab-timeout: 120
# lab-boots: 1
sock=$PWD/api.sock
(
	for _ in $(seq 500); do
		grep -q '^WISP-BALLOON-SETTLED' guest.log 2>/dev/null && break
		[ -e guest.log.rc ] && exit 0
		sleep 0.2
	done
	host_api "$sock" GET /api/v1/vm.counters >counters.out 2>&1
) &
GUEST_KERNEL=/lab/guest/kernel-iommu \
	GUEST_CMDLINE_EXTRA="iommu.strict=1 wisp_balloon_mb=64" \
	boot_guest $((LAB_BOOT_TIMEOUT + 60)) guest.log balloon-iommu --memory size=256M \
	--balloon size=64M,free_page_reporting=on,iommu=on --api-socket "path=$sock"
wait
note "vm.counters: $(tr -d '\r' <counters.out 2>/dev/null | tail -n 1 | head -c 400)"
expect_guest_ok guest.log
expect_exit 0
expect_line guest.log '^WISP-BALLOON-SETTLED' "the guest did not finish"
[ "$(guest_fact guest.log viommu_bound)" = 1 ] || fail "the guest's virtio-iommu driver is not bound"
[ "$(guest_fact guest.log balloon_bound)" = 1 ] || fail "the guest's virtio_balloon driver is not bound"
group=$(guest_fact guest.log balloon_group)
[ -n "$group" ] || fail "the balloon is in no IOMMU group"
given=$(guest_fact guest.log balloon_given_kb)
note "balloon in IOMMU group $group; MemTotal ${given} KiB below its count without the balloon ($(guest_fact guest.log boot_memory_kb) KiB)"
expect_range balloon_given_kb "$given" $((60 * 1024)) $((70 * 1024))
[ "$(guest_fact guest.log refill)" = ok ] || fail "the guest could not write 128 MiB after its reports"
counter() { tr -d '\r' <counters.out | sed -n 's/.*"_balloon0":{[^}]*"'"$1"'":\([0-9]*\).*/\1/p'; }
expect_range inflated_pages "$(counter inflated_pages)" $((64 * 256)) $((2 * 64 * 256))
expect_range refused_pfns "$(counter refused_pfns)" 0 0
expect_range reported_bytes "$(counter reported_bytes)" $((32 << 20)) $((1 << 30))
expect_range discarded_bytes "$(counter discarded_bytes)" $(((64 + 32) << 20)) $((1 << 30))
reject_line guest.log 'virtio-iommu: endpoint .* refused' "wisp refused some of the balloon's DMA"
reject_line guest.log 'virtio-balloon: .*needs a reset' "the balloon's queues broke"
pass
