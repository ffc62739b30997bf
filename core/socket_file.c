// SPDX-License-Identifier: MIT
#include "core/socket_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file.h"
#include "core/log.h"
#include "core/seccomp.h"

/* Whether a process listens on the Unix socket at path. */
static bool socket_live(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool live;

	if (fd < 0)
		return false;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	live = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return live;
}

int socket_file_check(const char *path, size_t spare, struct cli_error *err)
{
	struct sockaddr_un sa;
	char dir[sizeof(sa.sun_path)];
	struct stat st;

	if (strlen(path) + spare >= sizeof(sa.sun_path)) {
		cli_errorf(err, "'socket=%s': too long for a Unix socket (at most %zu bytes)", path,
			   sizeof(sa.sun_path) - spare - 1);
		return -1;
	}
	file_dir(path, dir, sizeof(dir));
	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		cli_errorf(err, "'socket=%s': directory '%s' does not exist", path, dir);
		return -1;
	}
	if (lstat(path, &st)) {
		if (errno == ENOENT)
			return 0;
		cli_errorf(err, "'socket=%s': %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		cli_errorf(err, "'socket=%s': exists and is not a socket", path);
		return -1;
	}
	if (socket_live(path)) {
		cli_errorf(err, "'socket=%s': in use by a listening process", path);
		return -1;
	}
	return 0;
}

int socket_file_listen(struct socket_file *s, const char *option, const char *path, int backlog)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof(sa.sun_path)];
	const char *slash = strrchr(path, '/');
	struct stat st;
	int fd;

	s->bound = false;
	snprintf(s->path, sizeof(s->path), "%s", path);
	snprintf(s->name, sizeof(s->name), "%s", slash ? slash + 1 : path);
	file_dir(path, dir, sizeof(dir));
	s->dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		wisp_err("--%s: cannot open the directory of '%s': %s", option, path, strerror(errno));
		return -1;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (!lstat(path, &st) && S_ISSOCK(st.st_mode))
		unlink(path);	/* stale: socket_file_check() saw no listener */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    (s->bound = true, listen(fd, backlog))) {
		wisp_err("--%s: cannot listen on '%s': %s", option, path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int socket_file_allow_removal(const struct socket_file *s)
{
	const struct seccomp_rule unlink_socket[] = {
		SC_ARG2(SYS_unlinkat, 0, SC_ALL, (uint32_t)s->dirfd, 2, SC_ALL, 0),
	};

	return seccomp_allow(SECCOMP_MAIN, unlink_socket, SC_COUNT(unlink_socket));
}

void socket_file_close(struct socket_file *s)
{
	if (s->bound)
		unlinkat(s->dirfd, s->name, 0);
	s->bound = false;
	if (s->dirfd >= 0)
		close(s->dirfd);
	s->dirfd = -1;
}
