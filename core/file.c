// SPDX-License-Identifier: MIT
#include "core/file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/vm.h"

int file_map(const char *option, const char *path, struct mapped_file *f)
{
	struct stat st;
	void *p;
	int fd;

	f->data = NULL;
	f->size = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		wisp_err("--%s: cannot open '%s': %s", option, path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size <= 0) {
		wisp_err("--%s: '%s' is not a non-empty regular file", option, path);
		close(fd);
		return -1;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		wisp_err("--%s: cannot map '%s': %s", option, path, strerror(errno));
		return -1;
	}
	f->data = p;
	f->size = (size_t)st.st_size;
	return 0;
}

void file_unmap(struct mapped_file *f)
{
	if (f->data)
		munmap((void *)f->data, f->size);
	f->data = NULL;
	f->size = 0;
}
