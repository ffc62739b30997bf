# cpus-hyperv-snapshot: a snapshot of a --cpus kvm_hyperv=on VM keeps the
# Hyper-V MSRs its guest set (arch/x86_64/hyperv.c adds the SynIC's and
# the synthetic timers' to the MSRs KVM lists).  The guest (init case
# hyperv-snap, /bin/cpuid through the msr module) writes the guest OS id,
# SINT2 and timer 2's count and config, and announces it; the lab host
# pauses the VM, snapshots it and shuts it down; a new wisp restores the
# snapshot (resume=on) and the guest, going on where it was, reads the
# same four values.  KVM refuses none of the saved MSRs at the restore.
# lab-timeout: 120
# lab-boots: 1
sock=$PWD/api.sock
snap=$PWD/snap
status_of() { sed -n '1s/^HTTP\/1.1 \([0-9]*\) .*/\1/p' "$1"; }
(
	wait_line guest.log '^WISP-HV-SET' || exit 0
	host_api "$sock" PUT /api/v1/vm.pause >pause.out 2>&1
	host_api "$sock" PUT /api/v1/vm.snapshot '{"destination_url":"file://'"$snap"'"}' >snapshot.out 2>&1
	host_api "$sock" PUT /api/v1/vm.shutdown >shutdown.out 2>&1
) &
GUEST_CMDLINE_EXTRA="wisp_modules=msr" \
	boot_guest "$LAB_BOOT_TIMEOUT" guest.log hyperv-snap --memory size=256M \
	--cpus boot=1,kvm_hyperv=on --api-socket "path=$sock"
wait
expect_guest_ok guest.log
expect_exit 0
set_values=$(guest_fact guest.log hv_set)
note "set: $set_values; pause $(status_of pause.out), snapshot $(status_of snapshot.out)"
[ "$set_values" = 8100000000001234,10040,3039,20000 ] || fail "the guest could not set the MSRs: $set_values"
[ "$(status_of pause.out)" = 204 ] || fail "vm.pause: $(head -n 1 pause.out)"
[ "$(status_of snapshot.out)" = 204 ] || fail "vm.snapshot: $(tail -n 1 snapshot.out)"
grep -q '^GUEST hv_after=' guest.log && fail "the guest got past its wait before the snapshot"

run_wisp 120 restore.log -- --restore "source_url=file://$snap,resume=on"
expect_exit 0
reject_line restore.log '^WISP-GUEST-UP' "the restored guest booted again"
reject_line restore.log.err 'refused MSR' "KVM refused a saved MSR"
after=$(guest_fact restore.log hv_after)
note "after the restore: $after"
[ "$after" = "$set_values" ] || fail "the restored guest reads '$after', it had set '$set_values'"
pass
