// SPDX-License-Identifier: MIT
#include "core/chardev.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "core/term.h"
#include "core/vm.h"

int chardev_parse(struct kv_list *args, struct chardev_config *c,
		  struct cli_error *err)
{
	static const char *const words[] = { "off", "null", "tty", NULL };
	const char *word = NULL;
	int have_word = kv_word(args, words, &word, err);
	int have_file = kv_str(args, "file", &c->path, err);

	if (have_word < 0 || have_file < 0)
		return -1;
	if (have_word + have_file != 1) {
		cli_errorf(err, "expected one of off, null, tty or file=PATH in '%s'",
			   args->source);
		return -1;
	}
	if (have_file)
		c->mode = CHARDEV_FILE;
	else
		c->mode = !strcmp(word, "off") ? CHARDEV_OFF :
			  !strcmp(word, "null") ? CHARDEV_NULL : CHARDEV_TTY;
	return 0;
}

/* Standard input goes to the first tty device opened (devices are
 * created in table order: the serial port before the virtio console);
 * a second one shares standard output only. */
static bool stdin_taken;

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
		cd->out_fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (cd->out_fd < 0) {
			wisp_err("--%s: cannot open '%s': %s", option, c->path, strerror(errno));
			return -1;
		}
		break;
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
