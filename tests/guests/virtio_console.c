/* SPDX-License-Identifier: MIT */
/*
 * virtio-console, port 0 only (virtio 1.2, 5.3 "Console Device"), through
 * the modern PCI transport: queue 0 = receiveq, 1 = transmitq, MSI-X
 * entries 0 and 1 for them and 2 for configuration changes.
 *
 * Every run: VERSION_1 offered, MULTIPORT not (wisp has one port, so
 * exactly 2 queues: num_queues 2, queue 2 absent), both queues set up,
 * four 4-byte receive buffers posted before DRIVER_OK.
 *
 * The command line (--cmdline) picks the rest:
 *   con.mode=tx  transmit, each completed through the transmitq's
 *                interrupt with used length 0 (the device writes nothing):
 *                  "CONSOLE hello through the transmitq\n"    1 descriptor
 *                  "CONSOLE one line in three descriptors\n"  3 descriptors
 *                  "CONSOLE batch 1\n" .. "CONSOLE batch 3\n" 3 buffers, 1 kick
 *                the harness compares the console's output with these lines.
 *   con.mode=rx  print "virtio_console: waiting for input", then take
 *                input from the receiveq by interrupt (reposting each
 *                buffer; "ping\n" spans two of them) until a newline; the
 *                line must be "ping": print "RX ping" on the serial port
 *                and transmit "RX ping\n" on the console.  10 s timeout.
 */
#include "virtio.h"

#define VECTOR_BASE 0x50
#define TIMEOUT_MS 2000
#define RX_TIMEOUT_MS 10000
#define RXQ 0
#define TXQ 1
#define CFG_ENTRY 2
#define QSIZE 8
#define NRX 4
#define RXLEN 4

#define VIRTIO_CONSOLE_F_SIZE 0
#define VIRTIO_CONSOLE_F_MULTIPORT 1
#define VIRTIO_CONSOLE_F_EMERG_WRITE 2
#define CFG_MAX_NR_PORTS 4

static struct virtio_dev dev;
static uint8_t rxbuf[NRX][RXLEN] __attribute__((aligned(16)));
static int8_t rx_of_head[VQ_MAX_SIZE];	/* which rxbuf a posted head is */
static char txbuf[4][64] __attribute__((aligned(64)));

static void post_rx(unsigned i)
{
	struct vq_buf b = { rxbuf[i], RXLEN };
	int head;

	memset(rxbuf[i], 0, RXLEN);
	head = vq_add(&dev.vq[RXQ], &b, 0, 1);
	CHECK(head >= 0, "receiveq: no free descriptor");
	rx_of_head[head] = (int8_t)i;
}

static void bring_up(void)
{
	uint64_t f = virtio_device_features(&dev);
	uint16_t numq;

	printf("virtio_console: device features 0x%lx\n", f);
	CHECK(!(f & VIRTIO_F(VIRTIO_CONSOLE_F_MULTIPORT)),
	      "MULTIPORT offered: wisp documents one port");
	CHECK(dev.msix.nvec >= 3, "%u MSI-X vectors, want 3", dev.msix.nvec);
	virtio_init(&dev, VIRTIO_F(VIRTIO_F_VERSION_1));
	numq = virtio_cc_read16(&dev, VIRTIO_CC_NUMQ);
	CHECK(numq == 2, "num_queues %u, want 2 (port 0 only)", numq);
	virtio_cc_write16(&dev, VIRTIO_CC_Q_SELECT, 2);
	CHECK(virtio_cc_read16(&dev, VIRTIO_CC_Q_SIZE) == 0,
	      "queue 2 (control receiveq) exists without MULTIPORT");
	if (dev.device)
		printf("virtio_console: max_nr_ports %u\n",
		       *(volatile uint32_t *)(dev.device + CFG_MAX_NR_PORTS));
	virtio_msix_setup(&dev);
	virtio_msix_config(&dev, CFG_ENTRY);
	vq_setup(&dev, RXQ, QSIZE, RXQ);
	vq_setup(&dev, TXQ, QSIZE, TXQ);
	/* "the receiveq is populated with one or more receive buffers" */
	for (unsigned i = 0; i < NRX; i++)
		post_rx(i);
	virtio_driver_ok(&dev);
	vq_kick(&dev, &dev.vq[RXQ]);
}

/* Transmits the chain of `n` strings, completed by interrupt, used len 0. */
static void transmit(const char *const *parts, unsigned n)
{
	struct vq *vq = &dev.vq[TXQ];
	struct vq_buf b[4];
	uint32_t id, len;
	int head;

	for (unsigned i = 0; i < n; i++) {
		size_t l = strlen(parts[i]);

		memcpy(txbuf[i], parts[i], l);
		b[i] = (struct vq_buf){ txbuf[i], (uint32_t)l };
	}
	head = vq_add(vq, b, n, 0);
	CHECK(head >= 0, "transmitq: no free descriptors");
	vq_kick(&dev, vq);
	CHECK(vq_wait_used(&dev, vq, 1, TIMEOUT_MS, true),
	      "transmitq: no completion by interrupt in %u ms (status 0x%x)", TIMEOUT_MS,
	      virtio_status(&dev));
	CHECK(vq_get_used(vq, &id, &len), "transmitq: no used entry");
	CHECK(id == (uint32_t)head, "transmitq: used id %u, head %d", id, head);
	CHECK(len == 0, "transmitq: used len %u, want 0 (nothing written)", len);
}

static void tx_mode(void)
{
	static const char *const one[] = { "CONSOLE hello through the transmitq\n" };
	static const char *const three[] = { "CONSOLE one line ", "in three ", "descriptors\n" };
	static const char *const batch[] = { "CONSOLE batch 1\n", "CONSOLE batch 2\n",
					     "CONSOLE batch 3\n" };
	struct vq *vq = &dev.vq[TXQ];
	uint32_t id, len;
	int head[3];

	transmit(one, 1);
	transmit(three, 3);
	/* three buffers, one kick: used in order, each len 0 */
	for (unsigned i = 0; i < 3; i++) {
		struct vq_buf b = { txbuf[i], (uint32_t)strlen(batch[i]) };

		memcpy(txbuf[i], batch[i], b.len);
		head[i] = vq_add(vq, &b, 1, 0);
		CHECK(head[i] >= 0, "transmitq: no free descriptors");
	}
	vq_kick(&dev, vq);
	CHECK(vq_wait_used(&dev, vq, 3, TIMEOUT_MS, true), "batch: %u of 3 used",
	      vq_used_pending(vq));
	for (unsigned i = 0; i < 3; i++) {
		CHECK(vq_get_used(vq, &id, &len), "batch: no used entry");
		CHECK(id == (uint32_t)head[i] && len == 0, "batch: used id %u len %u, want %d, 0",
		      id, len, head[i]);
	}
	printf("virtio_console: transmitted 5 lines, %u transmitq interrupt(s)\n",
	       virtio_irqs[TXQ]);
}

static void rx_mode(void)
{
	static const char *const echo[] = { "RX ping\n" };
	struct vq *vq = &dev.vq[RXQ];
	char line[32];
	unsigned n = 0, chunks = 0;
	bool done = false;

	printf("virtio_console: waiting for input\n");
	while (!done) {
		uint32_t id, len;

		/* by interrupt: a used buffer and an interrupt since the last
		 * look (one raised before is pending in the LAPIC, IF=0) */
		CHECK(vq_wait_used(&dev, vq, 1, RX_TIMEOUT_MS, true),
		      "no input by interrupt through the receiveq in %u ms (%u bytes so far, %u used, status 0x%x)",
		      RX_TIMEOUT_MS, n, vq_used_pending(vq), virtio_status(&dev));
		while (!done && vq_get_used(vq, &id, &len)) {
			int i = rx_of_head[id];

			CHECK(len <= RXLEN, "receiveq: used len %u > buffer %u", len, RXLEN);
			chunks++;
			for (unsigned k = 0; k < len && !done; k++) {
				char c = (char)rxbuf[i][k];

				if (c == '\n')
					done = true;
				else if (n + 1 < sizeof(line))
					line[n++] = c;
			}
			post_rx((unsigned)i);
		}
		vq_kick(&dev, vq);
		CHECK(chunks < 64, "64 receive buffers and no newline");
	}
	line[n] = 0;
	printf("virtio_console: line in %u buffer(s), %u receiveq interrupt(s)\n", chunks,
	       virtio_irqs[RXQ]);
	printf("RX %s\n", line);
	CHECK(!strcmp(line, "ping"), "received '%s', want 'ping'", line);
	transmit(echo, 1);
}

void guest_main(const struct hvm_start_info *si)
{
	char mode[8] = "tx";

	cmdline_get(si, "con.mode", mode, sizeof(mode));
	virtio_find(&dev, VIRTIO_ID_CONSOLE, VECTOR_BASE);
	printf("virtio_console: 00:%02x.%x, %u MSI-X vectors, mode %s\n", PCI_DEV(dev.bdf),
	       PCI_FN(dev.bdf), dev.msix.nvec, mode);
	bring_up();
	if (!strcmp(mode, "rx"))
		rx_mode();
	else
		tx_mode();
	CHECK(virtio_irqs[CFG_ENTRY] == 0, "%u configuration interrupts", virtio_irqs[CFG_ENTRY]);
	pass();
}
