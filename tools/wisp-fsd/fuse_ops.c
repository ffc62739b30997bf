// SPDX-License-Identifier: MIT
/*
 * FUSE requests (include/uapi/linux/fuse.h) against one host directory.
 *
 * Inodes are O_PATH descriptors; a FUSE node id is an index into the
 * node table plus one (1 is the shared directory).  Names from the
 * guest must be single path components (no "/", not "." or ".."), and
 * are opened with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS) relative to their parent's descriptor: a
 * symlink is looked up as itself (the guest may read it and resolve it
 * in its own namespace) but never followed here.  Files are opened for
 * I/O by reopening the O_PATH descriptor through /proc/self/fd, which
 * refuses symlinks.
 */
#include "fuse_ops.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The open flags a guest may ask for; anything else is dropped. */
#define OPEN_FLAGS (O_ACCMODE | O_APPEND | O_CREAT | O_EXCL | O_TRUNC | O_NONBLOCK | \
		    O_SYNC | O_DSYNC | O_NOATIME | O_DIRECTORY)

#define MAX_NODES 65536
#define MAX_HANDLES 4096
#define ENTRY_TIMEOUT_S 1

struct node {
	int fd;			/* O_PATH */
	dev_t dev;
	ino_t ino;
	uint64_t nlookup;
	bool used;
};

struct handle {
	int fd;
	DIR *dir;
	uint64_t node;		/* the directory's node id, for READDIRPLUS */
	bool used;
};

static struct node *nodes;
static size_t nnodes;
static struct handle handles[MAX_HANDLES];

/* ----------------------------------------------------------- helpers */

static int open_beneath(int dirfd, const char *name, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC | O_NOFOLLOW),
		.mode = (flags & O_CREAT) ? mode : 0,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));

	return fd < 0 ? -errno : (int)fd;
}

static void proc_path(int fd, char *buf, size_t len)
{
	snprintf(buf, len, "/proc/self/fd/%d", fd);
}

static struct node *node_get(uint64_t id)
{
	if (!id || id > nnodes || !nodes[id - 1].used)
		return NULL;
	return &nodes[id - 1];
}

/* A name from the guest: NUL-terminated inside the request, one path
 * component.  Returns its length plus one (bytes consumed), or 0. */
static size_t name_ok(const char *name, size_t avail)
{
	size_t n = strnlen(name, avail);

	if (n == avail || n == 0 || n > 255 || memchr(name, '/', n) ||
	    !strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	return n + 1;
}

static int stat_fd(int fd, struct stat *st)
{
	return fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) ? -errno : 0;
}

static void fill_attr(struct fuse_attr *a, const struct stat *st, uint64_t id)
{
	memset(a, 0, sizeof(*a));
	a->ino = id;
	a->size = (uint64_t)st->st_size;
	a->blocks = (uint64_t)st->st_blocks;
	a->atime = (uint64_t)st->st_atim.tv_sec;
	a->mtime = (uint64_t)st->st_mtim.tv_sec;
	a->ctime = (uint64_t)st->st_ctim.tv_sec;
	a->atimensec = (uint32_t)st->st_atim.tv_nsec;
	a->mtimensec = (uint32_t)st->st_mtim.tv_nsec;
	a->ctimensec = (uint32_t)st->st_ctim.tv_nsec;
	a->mode = st->st_mode;
	a->nlink = (uint32_t)st->st_nlink;
	a->uid = st->st_uid;
	a->gid = st->st_gid;
	a->rdev = (uint32_t)st->st_rdev;
	a->blksize = (uint32_t)st->st_blksize;
}

/* The node for fd (taken over), existing or new; its lookup count
 * raised.  Node id or 0 (-errno in *err). */
static uint64_t node_for(int fd, const struct stat *st, int *err)
{
	size_t free_slot = nnodes;

	for (size_t i = 0; i < nnodes; i++) {
		if (nodes[i].used && nodes[i].dev == st->st_dev && nodes[i].ino == st->st_ino) {
			close(fd);
			nodes[i].nlookup++;
			return i + 1;
		}
		if (!nodes[i].used && free_slot == nnodes)
			free_slot = i;
	}
	if (free_slot == nnodes) {
		if (nnodes == MAX_NODES) {
			close(fd);
			*err = -ENFILE;
			return 0;
		}
		nnodes++;
	}
	nodes[free_slot] = (struct node){ .fd = fd, .dev = st->st_dev, .ino = st->st_ino,
					  .nlookup = 1, .used = true };
	return free_slot + 1;
}

static int lookup(struct node *parent, const char *name, struct fuse_entry_out *e)
{
	struct stat st;
	uint64_t id;
	int fd = open_beneath(parent->fd, name, O_PATH, 0), err;

	if (fd < 0)
		return fd;
	err = stat_fd(fd, &st);
	if (err) {
		close(fd);
		return err;
	}
	id = node_for(fd, &st, &err);
	if (!id)
		return err;
	memset(e, 0, sizeof(*e));
	e->nodeid = id;
	e->generation = 0;
	e->entry_valid = ENTRY_TIMEOUT_S;
	e->attr_valid = ENTRY_TIMEOUT_S;
	fill_attr(&e->attr, &st, id);
	return 0;
}

static void forget(uint64_t id, uint64_t n)
{
	struct node *nd = node_get(id);

	if (!nd || id == FUSE_ROOT_ID)
		return;
	nd->nlookup = n >= nd->nlookup ? 0 : nd->nlookup - n;
	if (!nd->nlookup) {
		close(nd->fd);
		nd->used = false;
	}
}

static int handle_new(int fd, DIR *dir, uint64_t node)
{
	for (int i = 0; i < MAX_HANDLES; i++) {
		if (!handles[i].used) {
			handles[i] = (struct handle){ .fd = fd, .dir = dir, .node = node, .used = true };
			return i;
		}
	}
	return -EMFILE;
}

static struct handle *handle_get(uint64_t fh, bool dir)
{
	if (fh >= MAX_HANDLES || !handles[fh].used || (handles[fh].dir != NULL) != dir)
		return NULL;
	return &handles[fh];
}

static void handle_close(struct handle *h)
{
	if (h->dir)
		closedir(h->dir);
	else
		close(h->fd);
	h->used = false;
}

/* Reopens an inode for I/O (never a symlink). */
static int reopen(struct node *nd, int flags)
{
	struct stat st;
	char path[32];
	int fd, err = stat_fd(nd->fd, &st);

	if (err)
		return err;
	/* a symlink is never opened (through /proc it would be followed) */
	if (S_ISLNK(st.st_mode))
		return -ELOOP;
	proc_path(nd->fd, path, sizeof(path));
	/* no O_NOFOLLOW: /proc/self/fd/N is itself a link, to this inode */
	fd = open(path, (flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC)) | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if ((flags & O_TRUNC) && ftruncate(fd, 0)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int fs_open_root(const char *dir)
{
	struct stat st;
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "wisp-fsd: cannot open the shared directory '%s': %s\n", dir,
			strerror(errno));
		return -1;
	}
	nodes = calloc(MAX_NODES, sizeof(*nodes));
	if (!nodes)
		return -1;
	nodes[0] = (struct node){ .fd = fd, .dev = st.st_dev, .ino = st.st_ino, .nlookup = 1,
				  .used = true };
	nnodes = 1;
	return 0;
}

void fs_reset(void)
{
	for (size_t i = 1; i < nnodes; i++)
		if (nodes[i].used) {
			close(nodes[i].fd);
			nodes[i].used = false;
		}
	nnodes = 1;
	for (int i = 0; i < MAX_HANDLES; i++)
		if (handles[i].used)
			handle_close(&handles[i]);
}

/* ----------------------------------------------------------- requests */

struct req {
	const struct fuse_in_header *h;
	const uint8_t *arg;	/* after the header */
	size_t arglen;
	uint8_t *out;		/* after the reply header */
	size_t outlen;		/* bytes of reply payload */
};

#define ARG(r, type) ((r)->arglen >= sizeof(type) ? (const type *)(r)->arg : NULL)
#define MAX_PAYLOAD (FSD_MAX_MSG - sizeof(struct fuse_out_header))

static int reply_data(struct req *r, const void *data, size_t len)
{
	memcpy(r->out, data, len);
	r->outlen = len;
	return 0;
}

static int op_init(struct req *r)
{
	const struct fuse_init_in *in = ARG(r, struct fuse_init_in);
	struct fuse_init_out out = { 0 };

	if (!in)
		return -EINVAL;
	if (in->major != FUSE_KERNEL_VERSION)
		return -EPROTO;
	fs_reset();
	out.major = FUSE_KERNEL_VERSION;
	out.minor = in->minor < FUSE_KERNEL_MINOR_VERSION ? in->minor : FUSE_KERNEL_MINOR_VERSION;
	out.max_readahead = in->max_readahead;
	out.flags = in->flags & (FUSE_BIG_WRITES | FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO |
				 FUSE_MAX_PAGES);
	out.max_background = 16;
	out.congestion_threshold = 12;
	out.max_write = FSD_MAX_WRITE;
	out.time_gran = 1;
	out.max_pages = FSD_MAX_WRITE / 4096;
	return reply_data(r, &out, sizeof(out));
}

static int op_lookup(struct req *r)
{
	struct node *parent = node_get(r->h->nodeid);
	const char *name = (const char *)r->arg;
	struct fuse_entry_out e;
	int err;

	if (!parent)
		return -ENOENT;
	if (!name_ok(name, r->arglen))
		return -EINVAL;
	err = lookup(parent, name, &e);
	return err ? err : reply_data(r, &e, sizeof(e));
}

static int op_getattr(struct req *r)
{
	struct node *nd = node_get(r->h->nodeid);
	struct fuse_attr_out out = { .attr_valid = ENTRY_TIMEOUT_S };
	struct stat st;
	int err;

	if (!nd)
		return -ENOENT;
	err = stat_fd(nd->fd, &st);
	if (err)
		return err;
	fill_attr(&out.attr, &st, r->h->nodeid);
	return reply_data(r, &out, sizeof(out));
}

static int op_setattr(struct req *r)
{
	const struct fuse_setattr_in *in = ARG(r, struct fuse_setattr_in);
	struct node *nd = node_get(r->h->nodeid);
	struct handle *h;
	char path[32];
	struct stat st;

	if (!in)
		return -EINVAL;
	if (!nd)
		return -ENOENT;
	/* the /proc path below would reach a symlink's target: only the
	 * owner of a symlink itself may change */
	if (stat_fd(nd->fd, &st) == 0 && S_ISLNK(st.st_mode) &&
	    (in->valid & (FATTR_MODE | FATTR_SIZE | FATTR_ATIME | FATTR_MTIME)))
		return -ELOOP;
	proc_path(nd->fd, path, sizeof(path));
	if ((in->valid & FATTR_MODE) && chmod(path, in->mode & 07777))
		return -errno;
	if ((in->valid & (FATTR_UID | FATTR_GID)) &&
	    fchownat(nd->fd, "", (in->valid & FATTR_UID) ? in->uid : (uid_t)-1,
		     (in->valid & FATTR_GID) ? in->gid : (gid_t)-1,
		     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		return -errno;
	if (in->valid & FATTR_SIZE) {
		h = (in->valid & FATTR_FH) ? handle_get(in->fh, false) : NULL;
		if (h ? ftruncate(h->fd, (off_t)in->size) : truncate(path, (off_t)in->size))
			return -errno;
	}
	if (in->valid & (FATTR_ATIME | FATTR_MTIME)) {
		struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_OMIT } };

		if (in->valid & FATTR_ATIME_NOW)
			ts[0].tv_nsec = UTIME_NOW;
		else if (in->valid & FATTR_ATIME)
			ts[0] = (struct timespec){ (time_t)in->atime, in->atimensec };
		if (in->valid & FATTR_MTIME_NOW)
			ts[1].tv_nsec = UTIME_NOW;
		else if (in->valid & FATTR_MTIME)
			ts[1] = (struct timespec){ (time_t)in->mtime, in->mtimensec };
		if (utimensat(AT_FDCWD, path, ts, 0))
			return -errno;
	}
	return op_getattr(r);
}

static int op_open(struct req *r, bool dir)
{
	const struct fuse_open_in *in = ARG(r, struct fuse_open_in);
	struct node *nd = node_get(r->h->nodeid);
	struct fuse_open_out out = { 0 };
	DIR *d = NULL;
	int fd, fh;

	if (!in)
		return -EINVAL;
	if (!nd)
		return -ENOENT;
	fd = reopen(nd, dir ? O_RDONLY | O_DIRECTORY : ((int)in->flags & OPEN_FLAGS & ~O_DIRECTORY));
	if (fd < 0)
		return fd;
	if (dir && !(d = fdopendir(fd))) {
		close(fd);
		return -errno;
	}
	fh = handle_new(fd, d, r->h->nodeid);
	if (fh < 0) {
		if (d)
			closedir(d);
		else
			close(fd);
		return fh;
	}
	out.fh = (uint64_t)fh;
	return reply_data(r, &out, sizeof(out));
}

static int op_create(struct req *r)
{
	const struct fuse_create_in *in = ARG(r, struct fuse_create_in);
	struct node *parent = node_get(r->h->nodeid);
	struct {
		struct fuse_entry_out e;
		struct fuse_open_out o;
	} out;
	const char *name;
	int fd, fh, err;

	if (!in)
		return -EINVAL;
	if (!parent)
		return -ENOENT;
	name = (const char *)(in + 1);
	if (!name_ok(name, r->arglen - sizeof(*in)))
		return -EINVAL;
	fd = open_beneath(parent->fd, name, ((int)in->flags & OPEN_FLAGS & ~O_DIRECTORY) | O_CREAT,
			  in->mode & 07777);
	if (fd < 0)
		return fd;
	err = lookup(parent, name, &out.e);
	if (err) {
		close(fd);
		return err;
	}
	fh = handle_new(fd, NULL, out.e.nodeid);
	if (fh < 0) {
		close(fd);
		forget(out.e.nodeid, 1);
		return fh;
	}
	memset(&out.o, 0, sizeof(out.o));
	out.o.fh = (uint64_t)fh;
	return reply_data(r, &out, sizeof(out));
}

static int op_mkdir(struct req *r)
{
	const struct fuse_mkdir_in *in = ARG(r, struct fuse_mkdir_in);
	struct node *parent = node_get(r->h->nodeid);
	struct fuse_entry_out e;
	const char *name;
	int err;

	if (!in)
		return -EINVAL;
	if (!parent)
		return -ENOENT;
	name = (const char *)(in + 1);
	if (!name_ok(name, r->arglen - sizeof(*in)))
		return -EINVAL;
	if (mkdirat(parent->fd, name, in->mode & 07777))
		return -errno;
	err = lookup(parent, name, &e);
	return err ? err : reply_data(r, &e, sizeof(e));
}

static int op_remove(struct req *r, int flags)
{
	struct node *parent = node_get(r->h->nodeid);
	const char *name = (const char *)r->arg;

	if (!parent)
		return -ENOENT;
	if (!name_ok(name, r->arglen))
		return -EINVAL;
	return unlinkat(parent->fd, name, flags) ? -errno : 0;
}

static int op_rename(struct req *r, bool two)
{
	size_t fixed = two ? sizeof(struct fuse_rename2_in) : sizeof(struct fuse_rename_in);
	const struct fuse_rename2_in *in2 = (const void *)r->arg;
	struct node *from, *to;
	const char *old, *new;
	size_t n;
	unsigned flags;

	if (r->arglen < fixed)
		return -EINVAL;
	from = node_get(r->h->nodeid);
	to = node_get(in2->newdir);	/* newdir leads both layouts */
	if (!from || !to)
		return -ENOENT;
	flags = two ? in2->flags : 0;
	old = (const char *)r->arg + fixed;
	n = name_ok(old, r->arglen - fixed);
	if (!n)
		return -EINVAL;
	new = old + n;
	if (!name_ok(new, r->arglen - fixed - n))
		return -EINVAL;
	if (syscall(SYS_renameat2, from->fd, old, to->fd, new, flags))
		return -errno;
	return 0;
}

static int op_read(struct req *r)
{
	const struct fuse_read_in *in = ARG(r, struct fuse_read_in);
	struct handle *h;
	size_t size;
	ssize_t n;

	if (!in)
		return -EINVAL;
	h = handle_get(in->fh, false);
	if (!h)
		return -EBADF;
	size = in->size < MAX_PAYLOAD ? in->size : MAX_PAYLOAD;
	n = pread(h->fd, r->out, size, (off_t)in->offset);
	if (n < 0)
		return -errno;
	r->outlen = (size_t)n;
	return 0;
}

static int op_write(struct req *r)
{
	const struct fuse_write_in *in = ARG(r, struct fuse_write_in);
	struct fuse_write_out out = { 0 };
	struct handle *h;
	ssize_t n;

	if (!in)
		return -EINVAL;
	if (in->size > r->arglen - sizeof(*in))
		return -EINVAL;		/* claims more data than it carries */
	h = handle_get(in->fh, false);
	if (!h)
		return -EBADF;
	n = pwrite(h->fd, in + 1, in->size, (off_t)in->offset);
	if (n < 0)
		return -errno;
	out.size = (uint32_t)n;
	return reply_data(r, &out, sizeof(out));
}

static int op_release(struct req *r, bool dir)
{
	const struct fuse_release_in *in = ARG(r, struct fuse_release_in);
	struct handle *h;

	if (!in)
		return -EINVAL;
	h = handle_get(in->fh, dir);
	if (!h)
		return -EBADF;
	handle_close(h);
	return 0;
}

static int op_fsync(struct req *r)
{
	const struct fuse_fsync_in *in = ARG(r, struct fuse_fsync_in);
	struct handle *h;

	if (!in)
		return -EINVAL;
	h = handle_get(in->fh, false);
	if (!h)
		return -EBADF;
	if ((in->fsync_flags & 1) ? fdatasync(h->fd) : fsync(h->fd))
		return -errno;
	return 0;
}

static int op_readdir(struct req *r, bool plus)
{
	const struct fuse_read_in *in = ARG(r, struct fuse_read_in);
	struct node *dirnode;
	struct handle *h;
	size_t size, used = 0;

	if (!in)
		return -EINVAL;
	h = handle_get(in->fh, true);
	if (!h)
		return -EBADF;
	dirnode = node_get(h->node);
	if (!dirnode)
		return -ENOENT;
	size = in->size < MAX_PAYLOAD ? in->size : MAX_PAYLOAD;
	if (in->offset == 0)
		rewinddir(h->dir);
	else
		seekdir(h->dir, (long)in->offset);
	for (;;) {
		long before = telldir(h->dir);
		struct dirent *de;
		size_t namelen, reclen;
		struct fuse_dirent *fd;

		errno = 0;
		de = readdir(h->dir);
		if (!de)
			break;
		namelen = strlen(de->d_name);
		reclen = plus ? FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET_DIRENTPLUS + namelen)
			      : FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET + namelen);
		if (used + reclen > size) {
			seekdir(h->dir, before);
			break;
		}
		memset(r->out + used, 0, reclen);
		if (plus) {
			struct fuse_direntplus *dp = (void *)(r->out + used);

			fd = &dp->dirent;
			/* "." and "..": no entry (node id 0), the kernel knows them */
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
			    lookup(dirnode, de->d_name, &dp->entry_out))
				memset(&dp->entry_out, 0, sizeof(dp->entry_out));
		} else {
			fd = (void *)(r->out + used);
		}
		fd->ino = de->d_ino;
		fd->off = (uint64_t)telldir(h->dir);
		fd->namelen = (uint32_t)namelen;
		fd->type = de->d_type;
		memcpy(fd->name, de->d_name, namelen);
		used += reclen;
	}
	r->outlen = used;
	return 0;
}

static int op_statfs(struct req *r)
{
	struct fuse_statfs_out out = { 0 };
	struct statfs s;

	if (fstatfs(nodes[0].fd, &s))
		return -errno;
	out.st.blocks = s.f_blocks;
	out.st.bfree = s.f_bfree;
	out.st.bavail = s.f_bavail;
	out.st.files = s.f_files;
	out.st.ffree = s.f_ffree;
	out.st.bsize = (uint32_t)s.f_bsize;
	out.st.namelen = (uint32_t)s.f_namelen;
	out.st.frsize = (uint32_t)s.f_frsize;
	return reply_data(r, &out, sizeof(out));
}

static int op_readlink(struct req *r)
{
	struct node *nd = node_get(r->h->nodeid);
	ssize_t n;

	if (!nd)
		return -ENOENT;
	n = readlinkat(nd->fd, "", (char *)r->out, MAX_PAYLOAD);
	if (n < 0)
		return -errno;
	r->outlen = (size_t)n;
	return 0;
}

static int op_access(struct req *r)
{
	const struct fuse_access_in *in = ARG(r, struct fuse_access_in);
	struct node *nd = node_get(r->h->nodeid);
	struct stat st;
	char path[32];

	if (!in)
		return -EINVAL;
	if (!nd)
		return -ENOENT;
	if (stat_fd(nd->fd, &st) == 0 && S_ISLNK(st.st_mode))
		return -ELOOP;	/* never followed here */
	proc_path(nd->fd, path, sizeof(path));
	return faccessat(AT_FDCWD, path, (int)in->mask, 0) ? -errno : 0;
}

static void batch_forget(struct req *r)
{
	const struct fuse_batch_forget_in *in = ARG(r, struct fuse_batch_forget_in);
	const struct fuse_forget_one *one;
	size_t max;

	if (!in)
		return;
	one = (const void *)(in + 1);
	max = (r->arglen - sizeof(*in)) / sizeof(*one);
	for (size_t i = 0; i < in->count && i < max; i++)
		forget(one[i].nodeid, one[i].nlookup);
}

size_t fs_handle(const uint8_t *msg, size_t len, uint8_t *reply)
{
	struct fuse_out_header *oh = (void *)reply;
	struct fuse_in_header h;
	struct req r = { .h = &h, .out = reply + sizeof(*oh) };
	int err;

	if (len < sizeof(h))
		return 0;	/* not even a header: nothing to answer */
	memcpy(&h, msg, sizeof(h));
	r.arg = msg + sizeof(h);
	/* the header's length bounds the arguments, the buffer bounds it */
	r.arglen = (h.len < len ? h.len : len) - sizeof(h);
	if (h.len < sizeof(h))
		r.arglen = 0;
	switch (h.opcode) {
	case FUSE_FORGET: {
		const struct fuse_forget_in *in = ARG(&r, struct fuse_forget_in);

		if (in)
			forget(h.nodeid, in->nlookup);
		return 0;
	}
	case FUSE_BATCH_FORGET:
		batch_forget(&r);
		return 0;
	case FUSE_INTERRUPT:
		return 0;	/* every request completes at once anyway */
	case FUSE_INIT: err = op_init(&r); break;
	case FUSE_DESTROY: fs_reset(); err = 0; break;
	case FUSE_LOOKUP: err = op_lookup(&r); break;
	case FUSE_GETATTR: err = op_getattr(&r); break;
	case FUSE_SETATTR: err = op_setattr(&r); break;
	case FUSE_OPEN: err = op_open(&r, false); break;
	case FUSE_OPENDIR: err = op_open(&r, true); break;
	case FUSE_CREATE: err = op_create(&r); break;
	case FUSE_MKDIR: err = op_mkdir(&r); break;
	case FUSE_UNLINK: err = op_remove(&r, 0); break;
	case FUSE_RMDIR: err = op_remove(&r, AT_REMOVEDIR); break;
	case FUSE_RENAME: err = op_rename(&r, false); break;
	case FUSE_RENAME2: err = op_rename(&r, true); break;
	case FUSE_READ: err = op_read(&r); break;
	case FUSE_WRITE: err = op_write(&r); break;
	case FUSE_RELEASE: err = op_release(&r, false); break;
	case FUSE_RELEASEDIR: err = op_release(&r, true); break;
	case FUSE_FLUSH: err = 0; break;
	case FUSE_FSYNC: err = op_fsync(&r); break;
	case FUSE_FSYNCDIR: err = 0; break;
	case FUSE_READDIR: err = op_readdir(&r, false); break;
	case FUSE_READDIRPLUS: err = op_readdir(&r, true); break;
	case FUSE_STATFS: err = op_statfs(&r); break;
	case FUSE_READLINK: err = op_readlink(&r); break;
	case FUSE_ACCESS: err = op_access(&r); break;
	/* links, special files and xattrs are not served */
	case FUSE_SYMLINK: case FUSE_LINK: case FUSE_MKNOD: err = -EPERM; break;
	default: err = -ENOSYS; break;
	}
	oh->unique = h.unique;
	oh->error = err;
	oh->len = (uint32_t)(sizeof(*oh) + (err ? 0 : r.outlen));
	return oh->len;
}
