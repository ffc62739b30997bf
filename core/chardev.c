// SPDX-License-Identifier: MIT
#include "core/chardev.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "core/file.h"
#include "core/json.h"
#include "core/kconfig.h"
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

int chardev_parse(struct kv_list *args, struct chardev_config *c,
		  struct cli_error *err)
{
	static const char *const words[] = { "off", "null", "tty",
#ifdef CONFIG_CHARDEV_PTY
					     "pty",
#endif
					     NULL };
	const char *word = NULL;
	int have_word = kv_word(args, words, &word, err);
	int have_file = kv_str(args, "file", &c->path, err);

	if (have_word < 0 || have_file < 0)
		return -1;
	if (have_word + have_file != 1) {
		cli_errorf(err, "expected one of off, null, tty" PTY_WORD " or file=PATH in '%s'",
			   args->source);
		return -1;
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

int chardev_open(const struct chardev_config *c, const char *option,
		 struct chardev *cd)
{
	cd->out_fd = -1;
	cd->in_fd = -1;
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
	default:
		break;
	}
	return 0;
}

bool chardev_write(const struct chardev *cd, const void *buf, size_t len)
{
	const char *p = buf;

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
void chardev_info(const void *config, struct json *j)
{
	static const char *const modes[] = {
		[CHARDEV_OFF] = "Off", [CHARDEV_NULL] = "Null",
		[CHARDEV_TTY] = "Tty", [CHARDEV_FILE] = "File",
	};
	const struct chardev_config *c = config;

	json_string(j, "file", c->mode == CHARDEV_FILE ? c->path : NULL);
	json_string(j, "mode", modes[c->mode]);
	json_bool(j, "iommu", false);
}
#endif
