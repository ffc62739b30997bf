// SPDX-License-Identifier: MIT
/* vhost-user messages: sending one, and awaiting its reply within a
 * deadline with the descriptors it may carry. */
#include "vhost/vhost_user/vu.h"

/* ------------------------------------------------------------ messages */

void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int vu_send(int sock, uint32_t request, uint32_t flags, const void *payload,
	    uint32_t size, const int *fds, unsigned nfds, char *err, size_t errlen)
{
	struct vu_header hdr = { .request = request, .flags = flags | VU_VERSION, .size = size };
	struct iovec iov[2] = {
		{ .iov_base = &hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)payload, .iov_len = size },
	};
	char control[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = size ? 2 : 1 };
	size_t total = sizeof(hdr) + size;
	ssize_t n;

	if (nfds > VU_MAX_FDS || size > VU_MAX_PAYLOAD) {
		set_err(err, errlen, "request %u too large", request);
		return -1;
	}
	if (nfds) {
		struct cmsghdr *cm;

		memset(control, 0, sizeof(control));
		msg.msg_control = control;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
		set_err(err, errlen, "the back-end closed the connection");
		return -1;
	}
	if (n < 0) {
		set_err(err, errlen, "sending request %u: %s", request, strerror(errno));
		return -1;
	}
	/* messages are small: a short send means the socket is wedged */
	if ((size_t)n != total) {
		set_err(err, errlen, "sending request %u: short write", request);
		return -1;
	}
	return 0;
}

/* The socket's receive timeout bounds a whole reply, not each recvmsg:
 * a back-end trickling its reply a byte at a time, each within the
 * timeout, would otherwise hold the device lock (and a vCPU or the
 * event loop) for minutes.  A zero timeout means none. */
struct reply_deadline {
	struct timeval limit;		/* the socket's SO_RCVTIMEO */
	struct timespec end;		/* CLOCK_MONOTONIC */
};

static void deadline_start(int sock, struct reply_deadline *d)
{
	socklen_t len = sizeof(d->limit);

	if (getsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &d->limit, &len))
		d->limit = (struct timeval){ .tv_sec = REPLY_TIMEOUT_S };
	clock_gettime(CLOCK_MONOTONIC, &d->end);
	d->end.tv_sec += d->limit.tv_sec;
	d->end.tv_nsec += d->limit.tv_usec * 1000;
	if (d->end.tv_nsec >= 1000000000) {
		d->end.tv_sec++;
		d->end.tv_nsec -= 1000000000;
	}
}

/* Before each recvmsg: the socket's timeout becomes what is left of the
 * reply's; false when nothing is left */
static bool deadline_arm(int sock, const struct reply_deadline *d)
{
	struct timespec now;
	struct timeval left;
	int64_t us;

	if (!d->limit.tv_sec && !d->limit.tv_usec)
		return true;
	clock_gettime(CLOCK_MONOTONIC, &now);
	us = (int64_t)(d->end.tv_sec - now.tv_sec) * 1000000 +
	     (d->end.tv_nsec - now.tv_nsec) / 1000;
	if (us <= 0)
		return false;
	left.tv_sec = (time_t)(us / 1000000);
	left.tv_usec = (suseconds_t)(us % 1000000);
	return !setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &left, sizeof(left));
}

static void deadline_end(int sock, const struct reply_deadline *d)
{
	setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &d->limit, sizeof(d->limit));
}

/* Reads exactly len bytes before the deadline.  The first descriptor
 * riding along goes to *keep when keep is not NULL and still -1; any
 * other is closed and counted in *nfds. */
static int read_exact(int sock, void *buf, size_t len, int *keep, unsigned *nfds,
		      const struct reply_deadline *d, char *err, size_t errlen)
{
	size_t got = 0;

	while (got < len) {
		char control[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
		struct iovec iov = { .iov_base = (uint8_t *)buf + got, .iov_len = len - got };
		struct msghdr msg = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = control, .msg_controllen = sizeof(control),
		};
		ssize_t n;

		if (!deadline_arm(sock, d)) {
			set_err(err, errlen, "no complete reply within the timeout");
			return -1;
		}
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ECONNRESET)
			n = 0;	/* closed with our request unread */
		if (n < 0) {
			set_err(err, errlen, "%s", errno == EAGAIN || errno == EWOULDBLOCK ?
				"no reply within the timeout" : strerror(errno));
			return -1;
		}
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
			if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
				continue;
			for (size_t i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
				int fd;

				memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
				if (keep && *keep < 0) {
					*keep = fd;
					continue;
				}
				close(fd);
				(*nfds)++;
			}
		}
		if (msg.msg_flags & MSG_CTRUNC)
			(*nfds)++;
		if (n == 0) {
			set_err(err, errlen, "the back-end closed the connection");
			return -1;
		}
		got += (size_t)n;
	}
	return 0;
}

/* A reply, with exactly one descriptor when fd is not NULL (it goes to
 * *fd), else none. */
static int recv_reply_within(int sock, uint32_t request, void *payload, uint32_t size, int *fd,
			     const struct reply_deadline *d, char *err, size_t errlen)
{
	struct vu_header hdr;
	unsigned nfds = 0;

	if (fd)
		*fd = -1;
	if (read_exact(sock, &hdr, sizeof(hdr), fd, &nfds, d, err, errlen)) {
		size_t n = strlen(err);

		snprintf(err + n, errlen - n, " (request %u)", request);
		goto fail;
	}
	if (hdr.request != request) {
		set_err(err, errlen, "answered request %u with request %u", request, hdr.request);
		goto fail;
	}
	if ((hdr.flags & VU_VERSION_MASK) != VU_VERSION || !(hdr.flags & VU_FLAG_REPLY)) {
		set_err(err, errlen, "reply to request %u has flags 0x%x (version 1 and reply expected)",
			request, hdr.flags);
		goto fail;
	}
	if (hdr.size != size) {
		/* the payload is not read: the connection is dropped anyway */
		set_err(err, errlen, "reply to request %u has %u bytes, expected %u", request,
			hdr.size, size);
		goto fail;
	}
	if (size && read_exact(sock, payload, size, fd, &nfds, d, err, errlen))
		goto fail;
	if (nfds) {
		set_err(err, errlen, "reply to request %u carried %sfile descriptors", request,
			fd ? "more than one " : "");
		goto fail;
	}
	if (fd && *fd < 0) {
		set_err(err, errlen, "reply to request %u carried no file descriptor", request);
		return -1;
	}
	return 0;
fail:
	if (fd && *fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	return -1;
}

static int recv_reply(int sock, uint32_t request, void *payload, uint32_t size, int *fd,
		      char *err, size_t errlen)
{
	struct reply_deadline d;
	int ret;

	deadline_start(sock, &d);
	ret = recv_reply_within(sock, request, payload, size, fd, &d, err, errlen);
	deadline_end(sock, &d);
	return ret;
}

int vu_recv_reply(int sock, uint32_t request, void *payload, uint32_t size,
		  char *err, size_t errlen)
{
	return recv_reply(sock, request, payload, size, NULL, err, errlen);
}

int vu_recv_reply_fd(int sock, uint32_t request, void *payload, uint32_t size, int *fd,
		     char *err, size_t errlen)
{
	return recv_reply(sock, request, payload, size, fd, err, errlen);
}
