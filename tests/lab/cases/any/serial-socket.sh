# serial-socket: --serial socket=PATH with a Linux guest whose console is
# the serial port (ttyS0, ttyAMA0).  A first client connects as soon as
# the socket is there and reads the guest's console until the guest
# waits for a line, then leaves; wisp goes on, and a second client
# connects and types the line, which the guest reads from its console
# and reports, and the second client sees that.  Nothing of the
# guest's comes out on wisp's standard output, wisp exits 0 when the
# guest powers off, and the socket file is gone.
# lab-timeout: 60
# lab-boots: 1
sock=$PWD/serial.sock
tool=$LAB/bin/host-tool
(
	for _ in $(seq 300); do
		[ -S "$sock" ] && break
		sleep 0.1
	done
	"$tool" serial "$sock" $((LAB_BOOT_TIMEOUT + 30)) WISP-SERIAL-READY >first.out 2>first.err
	"$tool" serial "$sock" 60 - typed-into-socket-4711 >second.out 2>second.err
) &
client=$!
run_wisp $((LAB_BOOT_TIMEOUT + 30)) guest.log -- --kernel "${GUEST_KERNEL:-$GUEST_BZIMAGE}" \
	--initramfs "$GUEST_INITRD" --cmdline "$(guest_cmdline serial-rx)" \
	--serial "socket=$sock" --console off --memory size=256M
wait "$client"
tr -d '\r' <first.out >first.txt
tr -d '\r' <second.out >second.txt
note "first client: $(wc -c <first.out) bytes, $(head -n 1 first.txt | head -c 80)"
note "second client: $(wc -c <second.out) bytes; $(cat first.err second.err 2>/dev/null | head -c 200)"
expect_guest_ok first.txt
expect_line first.txt '^WISP-SERIAL-READY' "the first client did not see the guest wait for a line"
reject_line second.txt '^WISP-GUEST-UP' "the second client saw output from before it connected"
expect_line second.txt '^GUEST serial_rx=typed-into-socket-4711$' \
	"the guest did not read the line sent through the socket ($(guest_fact second.txt serial_rx))"
reject_line guest.log 'WISP-GUEST-UP|Linux version' "the guest's output reached wisp's standard output"
expect_exit 0
[ -e "$sock" ] && fail "wisp left $sock behind"
pass
