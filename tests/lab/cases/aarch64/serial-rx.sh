# serial-rx: a line written into wisp's standard input (a FIFO, so it goes
# through the event loop) reaches the guest's ttyAMA0 through the PL011's
# receive FIFO and interrupt; the guest reports it.
# lab-timeout: 40
# lab-boots: 1
mkfifo in.fifo
# the writer waits for the guest's marker, types the line, keeps the FIFO
# open a little, and gives up with the case
(
	for _ in $(seq 900); do
		grep -q '^WISP-SERIAL-READY' guest.log 2>/dev/null && break
		sleep 0.2
	done
	echo "typed-into-wisp-4711"
	sleep 20
) >in.fifo &
WISP_STDIN=in.fifo boot_guest "$LAB_BOOT_TIMEOUT" guest.log serial-rx --memory size=256M
expect_guest_ok guest.log
expect_line guest.log '^GUEST serial_rx=typed-into-wisp-4711$' \
	"the guest did not read the line ($(guest_fact guest.log serial_rx))"
expect_exit 0
pass
