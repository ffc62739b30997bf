# api-reboot: vm.reboot on the API socket while the guest counts (the
# guest's api case, WISP-TICK lines).  cloud-hypervisor tears the VM down
# and boots it again inside the same process; wisp does not restart
# guests, so it answers 204 and then ends as when the guest reboots
# itself (reboot.sh): a line naming the reboot, exit 0, no tick after the
# answer's moment beyond the ones already in flight, and the socket file
# removed.  An orchestrator that wants CH's behaviour starts wisp again.
# --event-monitor says so too: vm rebooting (as cloud-hypervisor begins
# a reboot), then shutdown and deleted, never rebooted or a second
# booting.
# lab-timeout: 40
# lab-boots: 1
sock=$PWD/api.sock
(
	for _ in $(seq 900); do
		grep -q '^WISP-TICK 3 ' guest.log 2>/dev/null && break
		sleep 0.2
	done
	"$LAB/bin/host-tool" api "$sock" PUT /api/v1/vm.reboot >reboot.out 2>&1
) &
boot_guest "$LAB_BOOT_TIMEOUT" guest.log api --memory size=256M --api-socket "path=$sock" \
	--event-monitor "path=$PWD/events.json"
wait
events=$(awk '/^  "source": /{ s = $2 } /^  "event": /{ print s $2 }' events.json | tr -d '",' |
	grep -v '^virtio-device' | tr '\n' ' ')
note "events: $events"
[ "$events" = "vmmstarting vmbooting vmbooted vmrebooting vmshutdown vmdeleted vmmshutdown " ] ||
	fail "--event-monitor: $events"
note "vm.reboot: $(head -n 1 reboot.out)"
expect_guest_ok guest.log
expect_line guest.log '^WISP-TICK 3 ' "the guest never counted"
head -n 1 reboot.out | grep -q '^HTTP/1.1 204 ' || fail "vm.reboot: $(head -n 1 reboot.out)"
# wisp's own line, wherever it starts: the guest's last tick may not
# have ended its line when wisp wrote it
grep -Eq 'wisp: .*reboot' guest.log || fail "wisp printed no line containing 'reboot'"
# one boot only: the guest did not come up a second time
[ "$(grep -c '^WISP-GUEST-UP' guest.log)" = 1 ] || fail "the guest came up more than once"
expect_exit 0
[ -e "$sock" ] && fail "wisp left $sock behind"
pass
