/* SPDX-License-Identifier: MIT */
/*
 * What the UARTs share (devices/serial_16550.c, devices/pl011.c): the
 * receive FIFO and the host input that fills it.
 *
 * Bytes come from standard input through the event loop; while the FIFO
 * is full the input is unwatched, so nothing typed is dropped, and it is
 * watched again once the guest makes room.  Input that epoll refuses (a
 * regular file, /dev/null) is read on demand instead, when the guest
 * looks at the UART with an empty FIFO; such reads never wait.
 *
 * The functions are inline, and the FIFO's depth is the includer's
 * UART_FIFO (defined before the #include): each build has one UART, so
 * the code exists once either way, compiled for its depth, and calls
 * into another file would cost the tiny binary bytes.  Every function
 * runs with the UART's lock held.
 */
#ifndef WISP_DEVICES_UART_INPUT_H
#define WISP_DEVICES_UART_INPUT_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "core/chardev.h"
#include "core/event.h"
#include "core/vm.h"

#ifndef UART_FIFO
#error "define UART_FIFO, the receive FIFO's depth, before including uart_input.h"
#endif

struct uart_input {
	struct vm *vm;
	struct chardev io;	/* io.in_fd: -1 once the input has ended */
	bool paused;		/* input unwatched while the FIFO is full */
	bool on_demand;		/* input epoll refused: read as the guest reads */
	unsigned head, count;
	uint8_t fifo[UART_FIFO];
};

static bool uart_fifo_full(const struct uart_input *in)
{
	return in->count == UART_FIFO;
}

static void uart_fifo_push(struct uart_input *in, uint8_t c)
{
	if (uart_fifo_full(in))
		return;
	in->fifo[(in->head + in->count++) % UART_FIFO] = c;
}

static void uart_input_resume(struct uart_input *in)
{
	if (in->io.in_fd >= 0 && in->paused && !uart_fifo_full(in)) {
		in->paused = false;
		event_mod(in->vm->loop, in->io.in_fd, EPOLLIN);
	}
}

/* The oldest byte, or 0 when the FIFO is empty. */
static uint8_t uart_fifo_pop(struct uart_input *in)
{
	uint8_t c = 0;

	if (in->count) {
		c = in->fifo[in->head];
		in->head = (in->head + 1) % UART_FIFO;
		in->count--;
		uart_input_resume(in);
	}
	return c;
}

static void uart_fifo_clear(struct uart_input *in)
{
	in->count = 0;
	uart_input_resume(in);
}

static void uart_input_pause(struct uart_input *in)
{
	in->paused = true;
	event_mod(in->vm->loop, in->io.in_fd, 0);
}

/* Input read on demand: what there is, once the guest emptied the FIFO. */
static void uart_input_refill(struct uart_input *in)
{
	uint8_t buf[UART_FIFO];
	ssize_t n;

	if (!in->on_demand || in->io.in_fd < 0 || in->count)
		return;
	n = read(in->io.in_fd, buf, sizeof(buf));
	if (n <= 0) {
		in->io.in_fd = -1;
		return;
	}
	for (ssize_t i = 0; i < n; i++)
		uart_fifo_push(in, buf[i]);
}

/* Event loop: the input has bytes (or hung up). */
static void uart_input_ready(struct uart_input *in)
{
	uint8_t buf[UART_FIFO];
	ssize_t n;

	if (uart_fifo_full(in)) {
		/* Full (a 16550 in loopback fills it from the guest's own
		 * bytes): a read of 0 bytes would look like the end of
		 * input, so stop watching until the guest makes room. */
		uart_input_pause(in);
		return;
	}
	n = read(in->io.in_fd, buf, UART_FIFO - in->count);
	if (n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EINTR))) {
		/* end of input: stop watching, keep the UART working */
		event_del(in->vm->loop, in->io.in_fd);
		in->io.in_fd = -1;
	}
	for (ssize_t i = 0; i < n; i++)
		uart_fifo_push(in, buf[i]);
	if (in->io.in_fd >= 0 && uart_fifo_full(in))
		uart_input_pause(in);
}

/* Opens --serial's ends (option "serial"); the input is watched with on_input(opaque), which takes the UART's
 * lock and calls uart_input_ready().  0, or -1 (reported). */
static int uart_input_open(struct uart_input *in, struct vm *vm,
			   const struct chardev_config *c,
			   void (*on_input)(void *opaque, uint32_t events), void *opaque)
{
	in->vm = vm;
	if (chardev_open(c, "serial", vm->loop, &in->io))
		return -1;
	if (in->io.in_fd >= 0 &&
	    event_add(vm->loop, in->io.in_fd, EPOLLIN, on_input, opaque) < 0) {
		/* epoll refuses regular files (and /dev/null): those are
		 * read on demand instead */
		in->on_demand = errno == EPERM;
		if (!in->on_demand)
			in->io.in_fd = -1;
	}
	return 0;
}

#endif
