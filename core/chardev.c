// SPDX-License-Identifier: MIT
#include "core/chardev.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "core/event.h"
#include "core/file.h"
#include "core/json.h"
#include "core/kconfig.h"
#include "core/seccomp.h"
#include "core/term.h"
#include "core/vm.h"

/* file=PATH must be somewhere output can go, checked without creating
 * anything: an existing file wisp may write (not a directory or a
 * socket), or a new name in a directory wisp may write. */
static int check_output_path(const char *path, struct cli_error *err)
{
	char dir[PATH_MAX];
	struct stat st;

	if (!stat(path, &st)) {
		if (S_ISDIR(st.st_mode) || S_ISSOCK(st.st_mode)) {
			cli_errorf(err, "'file=%s' is %s", path, file_kind(st.st_mode));
			return -1;
		}
		if (access(path, W_OK)) {
			cli_errorf(err, "cannot write 'file=%s': %s", path, strerror(errno));
			return -1;
		}
		return 0;
	}
	if (errno != ENOENT) {
		cli_errorf(err, "'file=%s': %s", path, strerror(errno));
		return -1;
	}
	file_dir(path, dir, sizeof(dir));
	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		cli_errorf(err, "'file=%s': directory '%s' does not exist", path, dir);
		return -1;
	}
	if (access(dir, W_OK | X_OK)) {
		cli_errorf(err, "cannot create 'file=%s': %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

#ifdef CONFIG_CHARDEV_PTY
#define PTY_WORD ", pty"
#else
#define PTY_WORD ""
#endif

/* "expected one of ..." lists what this build and this option take */
static void expected_one_of(const struct kv_list *args, bool socket_ok, struct cli_error *err)
{
	if (IS_ENABLED(CONFIG_CHARDEV_SOCKET) && socket_ok)
		cli_errorf(err, "expected one of off, null, tty" PTY_WORD ", file=PATH or "
			   "socket=PATH in '%s'", args->source);
	else
		cli_errorf(err, "expected one of off, null, tty" PTY_WORD " or file=PATH in '%s'",
			   args->source);
}

int chardev_parse(struct kv_list *args, struct chardev_config *c,
		  bool socket_ok, struct cli_error *err)
{
	static const char *const words[] = { "off", "null", "tty",
#ifdef CONFIG_CHARDEV_PTY
					     "pty",
#endif
					     NULL };
	const char *word = NULL, *socket = NULL;
	int have_word = kv_word(args, words, &word, err);
	int have_file = kv_str(args, "file", &c->path, err);
	int have_socket = 0;

#ifdef CONFIG_CHARDEV_SOCKET
	have_socket = kv_str(args, "socket", &socket, err);
	/* cloud-hypervisor parses socket= for --console too, then fails to
	 * create the VM ("No socket option support for console device"):
	 * wisp says so before anything starts */
	if (have_socket > 0 && !socket_ok) {
		cli_errorf(err, "'socket=%s': only --serial has a socket mode, as in "
			   "cloud-hypervisor", socket);
		return -1;
	}
#endif
	if (have_word < 0 || have_file < 0 || have_socket < 0)
		return -1;
	if (have_word + have_file + have_socket != 1) {
		expected_one_of(args, socket_ok, err);
		return -1;
	}
	if (have_socket) {
		c->mode = CHARDEV_SOCKET;
		c->path = socket;
		return file_check_new_socket("socket", socket, err);
	}
	if (have_file) {
		c->mode = CHARDEV_FILE;
		return check_output_path(c->path, err);
	}
	c->mode = !strcmp(word, "off") ? CHARDEV_OFF :
#ifdef CONFIG_CHARDEV_PTY
		  !strcmp(word, "pty") ? CHARDEV_PTY :
#endif
		  !strcmp(word, "null") ? CHARDEV_NULL : CHARDEV_TTY;
	return 0;
}

/* Standard input goes to the first tty device opened (devices are
 * created in table order: the serial port before the virtio console);
 * a second one shares standard output only. */
static bool stdin_taken;

/* Output files chardev_open() created, removed again if the VM never
 * runs (chardev_remove_created): a failed start leaves no new file. */
static const char *created[2];

/* Opens file=PATH for output: created if new (and remembered), else
 * truncated. */
static int open_output(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	if (fd >= 0) {
		for (size_t i = 0; i < sizeof(created) / sizeof(created[0]); i++)
			if (!created[i]) {
				created[i] = path;
				break;
			}
		return fd;
	}
	if (errno != EEXIST)
		return -1;
	return open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
}

void chardev_remove_created(void)
{
	for (size_t i = 0; i < sizeof(created) / sizeof(created[0]); i++) {
		if (created[i])
			unlink(created[i]);
		created[i] = NULL;
	}
}

#ifdef CONFIG_CHARDEV_PTY
/* A new pseudo-terminal whose terminal side is named on stderr, for
 * screen, minicom or socat to attach to.  wisp keeps that side open
 * too: without it, reading the master fails (EIO) until someone
 * attaches, which would end the device's input for good.  The master
 * is non-blocking so that output nobody reads is dropped once the
 * pty's buffer is full instead of stopping a vCPU. */
static int open_pty(const char *option, struct chardev *cd)
{
	int fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), tty = -1;
	struct termios t;
	const char *name;

	if (fd < 0 || grantpt(fd) || unlockpt(fd) || !(name = ptsname(fd)) ||
	    (tty = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0 ||
	    tcgetattr(tty, &t)) {
		wisp_err("--%s pty: cannot make a pseudo-terminal: %s", option, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	cfmakeraw(&t);	/* bytes pass as they are, in both directions */
	tcsetattr(tty, TCSANOW, &t);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	cd->out_fd = cd->in_fd = fd;
	wisp_err("--%s: pty %s", option, name);	/* where to attach */
	return 0;	/* tty stays open for the life of wisp, see above */
}
#endif

#ifdef CONFIG_CHARDEV_SOCKET
/*
 * socket=PATH (cloud-hypervisor's --serial socket=): wisp listens on a
 * Unix stream socket; the client connected gets the guest's output and
 * its bytes are the guest's input.  A new connection replaces the one
 * before (as in cloud-hypervisor); when the client goes away wisp
 * waits for the next.  Output while nobody is connected, or that the
 * client does not read fast enough, is dropped: a vCPU never waits.
 *
 * The device reads its input from a pipe that lives as long as wisp,
 * so it never sees an end of input; the event loop moves the client's
 * bytes into it with splice().  While the pipe is full (the guest is
 * not reading), the client is left unwatched and its bytes wait in the
 * socket, until the pipe drains.
 */
struct chardev_socket {
	struct event_loop *loop;
	int listen_fd;
	int client_fd;		/* -1: nobody connected */
	int pipe_in;		/* the pipe's write end; the device reads the other */
	bool pipe_full;		/* the client is unwatched until the pipe drains */
	pthread_mutex_t lock;	/* client_fd, against writers on vCPU threads */
	int dirfd;		/* the socket's directory, to remove it at exit */
	char name[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

/* The serial port is one device, with one socket. */
static struct chardev_socket the_socket = { .listen_fd = -1, .client_fd = -1,
					    .pipe_in = -1, .dirfd = -1,
					    .lock = PTHREAD_MUTEX_INITIALIZER };

/* Closes the client; the event loop. */
static void socket_drop_client(struct chardev_socket *s)
{
	if (s->client_fd < 0)
		return;
	if (s->pipe_full)
		event_del(s->loop, s->pipe_in);
	else
		event_del(s->loop, s->client_fd);
	s->pipe_full = false;
	pthread_mutex_lock(&s->lock);
	close(s->client_fd);
	s->client_fd = -1;
	pthread_mutex_unlock(&s->lock);
}

static void on_socket_event(void *opaque, uint32_t events);

/* The event loop: the client's bytes (or its end) into the pipe. */
static void on_socket_client(void *opaque, uint32_t events)
{
	struct chardev_socket *s = opaque;
	ssize_t n;

	(void)events;
	n = splice(s->client_fd, NULL, s->pipe_in, NULL, 65536, SPLICE_F_NONBLOCK);
	if (n > 0)
		return;
	if (n < 0 && errno == EINTR)
		return;
	if (n < 0 && errno == EAGAIN) {
		/* readable, yet nothing moved: the pipe is full.  Wait for
		 * room instead of spinning on the client. */
		event_del(s->loop, s->client_fd);
		if (!event_add(s->loop, s->pipe_in, EPOLLOUT, on_socket_event, s))
			s->pipe_full = true;
		else	/* cannot wait: drop the client rather than spin */
			socket_drop_client(s);
		return;
	}
	socket_drop_client(s);	/* gone (0), or broken */
}

/* The event loop, while the pipe was full: room again, watch the client. */
static void on_socket_room(struct chardev_socket *s)
{
	event_del(s->loop, s->pipe_in);
	s->pipe_full = false;
	if (event_add(s->loop, s->client_fd, EPOLLIN, on_socket_event, s))
		socket_drop_client(s);
}

static void on_socket_event(void *opaque, uint32_t events)
{
	struct chardev_socket *s = opaque;

	if (s->pipe_full)
		on_socket_room(s);
	else
		on_socket_client(s, events);
}

/* The event loop: a new client replaces the one before. */
static void on_socket_accept(void *opaque, uint32_t events)
{
	struct chardev_socket *s = opaque;
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	(void)events;
	if (fd < 0)
		return;
	socket_drop_client(s);
	if (event_add(s->loop, fd, EPOLLIN, on_socket_event, s)) {
		close(fd);
		return;
	}
	pthread_mutex_lock(&s->lock);
	s->client_fd = fd;
	pthread_mutex_unlock(&s->lock);
}

/* Output: whatever the client's socket takes now; the rest is dropped. */
static bool socket_write(struct chardev_socket *s, const void *buf, size_t len)
{
	pthread_mutex_lock(&s->lock);
	if (s->client_fd >= 0)
		(void)send(s->client_fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	pthread_mutex_unlock(&s->lock);
	return true;	/* a client's trouble is no output error of the device */
}

/* exit() runs on the main thread, under its filter: unlinkat() in the
 * directory held open, the one place that filter lets it remove. */
static void socket_remove(void)
{
	struct chardev_socket *s = &the_socket;

	if (s->dirfd >= 0 && s->name[0])
		unlinkat(s->dirfd, s->name, 0);
	s->name[0] = '\0';
}

/* Accepting and splicing on the main thread; output to the client
 * from vCPU threads (the UART's registers) and the main thread. */
static const struct seccomp_rule socket_main_seccomp[] = {
	SC_ALLOW(SYS_accept4),
	SC_ALLOW(SYS_splice),
	SC_ALLOW(SYS_close),
};
static const struct seccomp_rule socket_both_seccomp[] = {
	SC_ALLOW(SYS_sendto),
};

static int socket_allow(const struct chardev_socket *s)
{
	const struct seccomp_rule unlink_socket[] = {
		SC_ARG2(SYS_unlinkat, 0, SC_ALL, (uint32_t)s->dirfd, 2, SC_ALL, 0),
	};

	return seccomp_allow(SECCOMP_MAIN, socket_main_seccomp, SC_COUNT(socket_main_seccomp)) ||
	       seccomp_allow(SECCOMP_BOTH, socket_both_seccomp, SC_COUNT(socket_both_seccomp)) ||
	       seccomp_allow(SECCOMP_MAIN, unlink_socket, SC_COUNT(unlink_socket));
}

static int open_socket(const char *path, const char *option, struct event_loop *loop,
		       struct chardev *cd)
{
	struct chardev_socket *s = &the_socket;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof(sa.sun_path)];
	const char *slash = strrchr(path, '/');
	int pipefd[2];

	s->loop = loop;
	file_dir(path, dir, sizeof(dir));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	s->dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->dirfd < 0 || s->listen_fd < 0 ||
	    bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa))) {
		wisp_err("--%s: cannot listen on '%s': %s", option, path, strerror(errno));
		return -1;
	}
	/* bound: the file is ours, removed however wisp ends */
	snprintf(s->name, sizeof(s->name), "%s", slash ? slash + 1 : path);
	atexit(socket_remove);
	if (listen(s->listen_fd, 8) ||
	    pipe2(pipefd, O_NONBLOCK | O_CLOEXEC) ||
	    event_add(loop, s->listen_fd, EPOLLIN, on_socket_accept, s) || socket_allow(s)) {
		wisp_err("--%s: socket '%s': %s", option, path, strerror(errno));
		return -1;
	}
	s->pipe_in = pipefd[1];
	cd->in_fd = pipefd[0];
	cd->sock = s;
	wisp_log(LOG_INFO, "--%s: listening on %s", option, path);
	return 0;
}

#ifdef WISP_UNIT_TEST
/* Forgets the socket of an earlier test (its file removed). */
void chardev_test_socket_reset(void)
{
	struct chardev_socket *s = &the_socket;

	socket_remove();
	if (s->client_fd >= 0)
		close(s->client_fd);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->pipe_in >= 0)
		close(s->pipe_in);
	if (s->dirfd >= 0)
		close(s->dirfd);
	s->client_fd = s->listen_fd = s->pipe_in = s->dirfd = -1;
	s->pipe_full = false;
}
#endif
#endif

int chardev_open(const struct chardev_config *c, const char *option,
		 struct event_loop *loop, struct chardev *cd)
{
	cd->out_fd = -1;
	cd->in_fd = -1;
#ifdef CONFIG_CHARDEV_SOCKET
	cd->sock = NULL;
#endif
	(void)loop;
	switch (c->mode) {
	case CHARDEV_TTY:
		cd->out_fd = STDOUT_FILENO;
		if (!stdin_taken) {
			stdin_taken = true;
			cd->in_fd = STDIN_FILENO;
			term_raw(STDIN_FILENO);	/* not a terminal: used as it is */
		}
		break;
	case CHARDEV_FILE:
		cd->out_fd = open_output(c->path);
		if (cd->out_fd < 0) {
			wisp_err("--%s: cannot open '%s': %s", option, c->path, strerror(errno));
			return -1;
		}
		break;
#ifdef CONFIG_CHARDEV_PTY
	case CHARDEV_PTY:
		return open_pty(option, cd);
#endif
#ifdef CONFIG_CHARDEV_SOCKET
	case CHARDEV_SOCKET:
		return open_socket(c->path, option, loop, cd);
#endif
	default:
		break;
	}
	return 0;
}

bool chardev_write(const struct chardev *cd, const void *buf, size_t len)
{
	const char *p = buf;

#ifdef CONFIG_CHARDEV_SOCKET
	if (cd->sock)
		return socket_write(cd->sock, buf, len);
#endif
	if (cd->out_fd < 0)
		return true;
	while (len) {
		ssize_t n = write(cd->out_fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

#if IS_ENABLED(CONFIG_API)
void chardev_info_iommu(const struct chardev_config *c, bool iommu, struct json *j)
{
	static const char *const modes[] = {
		[CHARDEV_OFF] = "Off", [CHARDEV_NULL] = "Null",
		[CHARDEV_TTY] = "Tty", [CHARDEV_FILE] = "File",
		[CHARDEV_PTY] = "Pty", [CHARDEV_SOCKET] = "Socket",
	};

	json_string(j, "file", c->mode == CHARDEV_FILE ? c->path : NULL);
	json_string(j, "mode", modes[c->mode]);
	if (c->mode == CHARDEV_SOCKET)
		json_string(j, "socket", c->path);
	json_bool(j, "iommu", iommu);
}

void chardev_info(const void *config, struct json *j)
{
	chardev_info_iommu(config, false, j);
}
#endif
