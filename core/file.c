// SPDX-License-Identifier: MIT
#include "core/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/vm.h"

const char *file_kind(mode_t mode)
{
	if (S_ISREG(mode))
		return "a regular file";
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISSOCK(mode))
		return "a socket";
	return "of an unknown kind";
}

void file_dir(const char *path, char *buf, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(buf, len, ".");
	else if (slash == path)
		snprintf(buf, len, "/");
	else
		snprintf(buf, len, "%.*s", (int)(slash - path), path);
}

int file_check_new_socket(const char *key, const char *path, struct cli_error *err)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct stat st;

	if (!*path || strlen(path) >= sizeof(dir)) {
		cli_errorf(err, "%s '%s': a socket path is 1 to %zu bytes", key, path,
			   sizeof(dir) - 1);
		return -1;
	}
	if (!lstat(path, &st)) {
		cli_errorf(err, "%s '%s' exists already (%s): remove it or choose another", key,
			   path, file_kind(st.st_mode));
		return -1;
	}
	file_dir(path, dir, sizeof(dir));
	if (stat(dir, &st)) {
		cli_errorf(err, "%s '%s': directory '%s' does not exist", key, path, dir);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		cli_errorf(err, "%s '%s': '%s' is not a directory", key, path, dir);
		return -1;
	}
	if (access(dir, W_OK | X_OK)) {
		cli_errorf(err, "%s '%s': cannot create it in '%s': %s", key, path, dir,
			   strerror(errno));
		return -1;
	}
	return 0;
}

/* A file that can be mapped whole, or -1 after the message.  O_NONBLOCK:
 * opening a FIFO for reading would otherwise wait for a writer forever;
 * it changes nothing for a regular file. */
static int open_regular(const char *option, const char *path, off_t *size)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0) {
		/* a Unix socket cannot be opened at all (ENXIO): name it */
		if (!stat(path, &st) && !S_ISREG(st.st_mode))
			wisp_err("--%s: '%s' is %s, not a regular file", option, path,
				 file_kind(st.st_mode));
		else
			wisp_err("--%s: cannot open '%s': %s", option, path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st)) {
		wisp_err("--%s: cannot stat '%s': %s", option, path, strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		wisp_err("--%s: '%s' is %s, not a regular file", option, path,
			 file_kind(st.st_mode));
	} else if (st.st_size == 0) {
		wisp_err("--%s: '%s' is empty", option, path);
	} else {
		*size = st.st_size;
		return fd;
	}
	close(fd);
	return -1;
}

int file_map(const char *option, const char *path, struct mapped_file *f)
{
	off_t size;
	void *p;
	int fd;

	f->data = NULL;
	f->size = 0;
	fd = open_regular(option, path, &size);
	if (fd < 0)
		return -1;
	p = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		wisp_err("--%s: cannot map '%s': %s", option, path, strerror(errno));
		return -1;
	}
	f->data = p;
	f->size = (size_t)size;
	return 0;
}

void file_unmap(struct mapped_file *f)
{
	if (f->data)
		munmap((void *)f->data, f->size);
	f->data = NULL;
	f->size = 0;
}
