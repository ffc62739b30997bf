# virtio-vsock: wisp's hybrid vsock (socket=PATH) both ways, 32 concurrent
# connections of 64 KiB each, with a byte count and FNV-1a checked at the
# other end (tests/lab/vsock-tool.c): the lab host connects through
# PATH ("CONNECT 1234") to the guest's server on port 1234, and the guest
# connects to host port 5678, which wisp relays to PATH_5678.
# lab-timeout: 120
# lab-boots: 1
tool=$LAB/bin/vsock-tool
sock=$PWD/v.sock
# the host's server, before the guest can connect (with its own timeout)
(VSOCK_TIMEOUT=170 "$tool" host-serve "${sock}_5678" 32 >host-serve.out 2>&1
echo $? >host-serve.rc) &
# the host's clients, once the guest says it listens
(for _ in $(seq 300); do
	grep -q 'GUEST vsock_listening=1' guest.log 2>/dev/null && break
	[ -e guest.log.rc ] && break	# wisp is gone
	sleep 0.5
done
if grep -q 'GUEST vsock_listening=1' guest.log 2>/dev/null; then
	VSOCK_TIMEOUT=60 "$tool" host-connect "$sock" 1234 32 65536 >host-connect.out 2>&1
	echo $? >host-connect.rc
else
	echo "the guest never listened" >host-connect.out
fi) &
connect_pid=$!
GUEST_CMDLINE_EXTRA="wisp_modules=virtio_pci,vmw_vsock_virtio_transport"
boot_guest $((LAB_BOOT_TIMEOUT + 60)) guest.log vsock --memory size=512M --cpus boot=2 \
	--vsock "cid=3,socket=$sock"
# with wisp gone the helpers cannot make progress: give them a little
# while to finish, and leave the rest to the case's end (which kills them)
for _ in $(seq 30); do
	[ -e host-serve.rc ] && ! kill -0 "$connect_pid" 2>/dev/null && break
	sleep 0.5
done
note "host-serve: $(tail -n 1 host-serve.out 2>/dev/null)"
note "host-connect: $(tail -n 1 host-connect.out 2>/dev/null)"
expect_guest_ok guest.log
[ "$(guest_fact guest.log modules)" = "ok=2,failed=0" ] ||
	fail "guest modules: $(guest_fact guest.log modules)"
[ "$(guest_fact guest.log vsock_listening)" = 1 ] || fail "the guest's vsock server did not listen"
[ "$(cat host-connect.rc 2>/dev/null)" = 0 ] ||
	fail "host->guest: $(grep -m1 -v '^VSOCK listening' host-connect.out) / $(tail -n 1 host-connect.out)"
[ "$(guest_fact guest.log vsock_serve)" = ok ] ||
	fail "host->guest: the guest's server says $(guest_fact guest.log vsock_serve)"
[ "$(guest_fact guest.log vsock_connect)" = ok ] ||
	fail "guest->host: the guest's clients say $(guest_fact guest.log vsock_connect)"
[ "$(cat host-serve.rc 2>/dev/null)" = 0 ] ||
	fail "guest->host: the host's server: $(tail -n 1 host-serve.out 2>/dev/null)"
expect_exit 0
[ -e "$sock" ] && fail "wisp left $sock behind"
pass
