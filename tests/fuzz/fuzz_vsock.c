// SPDX-License-Identifier: MIT
/*
 * vsock packets (virtio/vsock/) from a hostile guest, interleaved with
 * host activity: the input is a list of operations -- transmit a packet
 * the input spells out, let the device fill receive buffers, poll the
 * host side, accept and feed the guest's connections at PATH_1000, or
 * connect from the host with "CONNECT <port>".  Connections, credit and
 * the 1024-connection bound must hold whatever the guest sends.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fuzz.h"
#include "virtio/vsock/vsock_test.h"

#define MAX_HOST_FDS 64

static char dir[64], sock[96], port_sock[112];
static int listener = -1;

static void setup_once(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(dir, sizeof(dir), "/tmp/wisp-fuzz-vsock-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(sock, sizeof(sock), "%s/v.sock", dir);
	snprintf(port_sock, sizeof(port_sock), "%s_1000", sock);
	listener = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", port_sock);
	if (listener < 0 || bind(listener, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(listener, 64))
		abort();
}

static int host_connect(unsigned port)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char line[32];
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int n = snprintf(line, sizeof(line), "CONNECT %u\n", port);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	if (fd >= 0 && (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
			send(fd, line, (size_t)n, MSG_NOSIGNAL) != n)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct fuzz_in in = { data, size };
	int host[MAX_HOST_FDS];
	unsigned nhost = 0;
	struct vsock *v;
	uint8_t buf[4096];

	if (!ready++)
		setup_once();
	v = vsock_test_open(3, sock);
	if (!v)
		abort();
	for (unsigned ops = 0; in.left && ops < 256; ops++) {
		switch (fuzz_take(&in, 1) % 6) {
		case 0: {	/* the guest transmits one packet */
			size_t len = (size_t)fuzz_take(&in, 2) % 512;

			if (len > in.left)
				len = in.left;
			memcpy(buf, in.p, len);
			in.p += len;
			in.left -= len;
			vsock_test_tx(v, buf, len);
			break;
		}
		case 1: {	/* the guest posts receive buffers */
			size_t len = 44 + (size_t)fuzz_take(&in, 2) % 4000;

			for (int i = 0; i < 4 && vsock_test_rx(v, buf, len); i++)
				;
			break;
		}
		case 2:
			vsock_test_poll(v);
			break;
		case 3: {	/* the host end of guest connections talks back */
			int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK);

			if (fd >= 0 && nhost < MAX_HOST_FDS)
				host[nhost++] = fd;
			else if (fd >= 0)
				close(fd);
			if (nhost) {
				size_t len = (size_t)fuzz_take(&in, 2) % sizeof(buf);

				if (send(host[nhost - 1], buf, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
					len = 0;
			}
			break;
		}
		case 4:
			if (nhost < MAX_HOST_FDS) {
				int fd = host_connect((unsigned)fuzz_take(&in, 2));

				if (fd >= 0)
					host[nhost++] = fd;
			}
			break;
		case 5:		/* the host closes one of its ends */
			if (nhost)
				close(host[--nhost]);
			break;
		}
	}
	vsock_test_poll(v);
	while (nhost)
		close(host[--nhost]);
	vsock_test_close(v);
	return 0;
}
