// SPDX-License-Identifier: MIT
/*
 * wisp-fsd (tools/wisp-fsd, compiled into this target as its unit test
 * does, main() left out) as a hostile guest and front end drive it:
 * guest memory (one 1 MiB region, no fd: handed over in place of
 * SET_MEM_TABLE), vhost-user messages without descriptors through its
 * socket into its message reader and handler, its split rings set up, written and kicked through
 * its queue processing (vring walker, gather, FUSE dispatcher, scatter),
 * and a shortcut -- "one well-formed chain holding this FUSE request" --
 * so that the file server's requests are reached at once.
 *
 * The share is a scratch directory under a temporary directory this
 * target makes (on /dev/shm when it is there: fsync is cheap on tmpfs),
 * beside a "secret" file that two symlinks in the share point at.
 * Before each input the share goes back to a fixed tree; after it the
 * temporary directory must hold the share and the secret, unchanged,
 * and nothing else: the fuzzer aborts otherwise, as a guest that
 * reached outside its share would be a bug.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

#define WISP_FSD_NO_MAIN
#include "../../tools/wisp-fsd/fuse_ops.c"
#undef MAX_PAYLOAD		/* fsd.c has its own */
#include "../../tools/wisp-fsd/vring.c"
#include "../../tools/wisp-fsd/fsd.c"

#define MEM_SIZE (1u << 20)
#define QVA_BASE 0x7f0000000000ull	/* the front end's address of guest memory */
#define NQ 2				/* queues the ops address */
#define REQ_GPA 0xc0000u		/* the shortcut's request and reply buffers */
#define REP_GPA 0xd0000u
#define REP_LEN 0x30000u
#define SECRET "not for the guest\n"

static uint8_t guest[MEM_SIZE] __attribute__((aligned(4096)));
static struct backend b;
static int peer = -1;			/* the front end's end of b.sock */
static char top[64], share[96], secret[96];
static int top_fd = -1, share_fd = -1;
static struct stat share_st;

/* ------------------------------------------------------- the scratch tree */

/* Empties the directory dfd (taken over), depth first, whatever modes
 * the guest left; never follows a symlink. */
static void wipe(int dfd)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;

	if (!d)
		abort();
	rewinddir(d);		/* a dup() shares the position of the last walk */
	while ((de = readdir(d))) {
		int sub;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!unlinkat(dfd, de->d_name, 0))
			continue;
		sub = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0 || fchmod(sub, 0700))
			abort();
		wipe(sub);
		if (unlinkat(dfd, de->d_name, AT_REMOVEDIR))
			abort();
	}
	closedir(d);
}

static void put_file(int dfd, const char *name, const char *text, mode_t mode)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || close(fd))
		abort();
}

/* The share as every input finds it: a file, a directory with a file,
 * and two symlinks out of the share (relative and absolute). */
static void fill_share(void)
{
	int dir;

	/* the guest may have changed the share's own mode and owner */
	if (fchmod(share_fd, 0755) || fchown(share_fd, getuid(), getgid()))
		abort();
	put_file(share_fd, "file", "0123456789abcdef", 0644);
	if (mkdirat(share_fd, "dir", 0755))
		abort();
	dir = openat(share_fd, "dir", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		abort();
	put_file(dir, "inner", "inner\n", 0600);
	close(dir);
	if (symlinkat("../secret", share_fd, "up") || symlinkat(secret, share_fd, "abs"))
		abort();
}

/* libFuzzer exits through exit(): the temporary directory goes too */
static void remove_scratch(void)
{
	fs_reset();
	wipe(dup(top_fd));
	rmdir(top);
}

static void make_scratch(void)
{
	const char *base = access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm";

	snprintf(top, sizeof(top), "%s/wisp-fuzz-fsd-XXXXXX", base);
	if (!mkdtemp(top))
		abort();
	snprintf(share, sizeof(share), "%s/share", top);
	snprintf(secret, sizeof(secret), "%s/secret", top);
	top_fd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (top_fd < 0 || mkdir(share, 0755))
		abort();
	share_fd = open(share, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (share_fd < 0 || fstat(share_fd, &share_st))
		abort();
	put_file(top_fd, "secret", SECRET, 0600);
	fill_share();
	if (fs_open_root(share))
		abort();
	atexit(remove_scratch);
	fprintf(stderr, "fuzz_fsd: sharing %s\n", share);
}

/* Nothing outside the share changed: the temporary directory holds the
 * share (the same directory) and the secret (the same bytes and mode). */
static void check_outside(void)
{
	char buf[64];
	struct stat st;
	DIR *d;
	struct dirent *de;
	unsigned n = 0;
	int fd = openat(top_fd, "secret", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t got = fd < 0 ? -1 : read(fd, buf, sizeof(buf));

	if (fd < 0 || got != (ssize_t)strlen(SECRET) || memcmp(buf, SECRET, (size_t)got) ||
	    fstat(fd, &st) || (st.st_mode & 07777) != 0600 || st.st_uid != getuid())
		abort();
	close(fd);
	if (fstatat(top_fd, "share", &st, AT_SYMLINK_NOFOLLOW) || st.st_ino != share_st.st_ino ||
	    st.st_dev != share_st.st_dev)
		abort();
	d = fdopendir(dup(top_fd));
	if (!d)
		abort();
	rewinddir(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    (n++, strcmp(de->d_name, "share") && strcmp(de->d_name, "secret")))
			abort();
	closedir(d);
	if (n != 2)
		abort();
}

/* ------------------------------------------------------- the back-end */

/* The front end's view after SET_MEM_TABLE: one region over `guest`
 * (no mapping of its own: mem_unmap's munmap(NULL, 0) fails harmlessly). */
static void give_memory(void)
{
	b.mem = (struct fsd_mem){ .n = 1 };
	b.mem.r[0] = (struct fsd_region){ .gpa = 0, .size = MEM_SIZE, .qva = QVA_BASE,
					  .host = guest };
}

static void make_backend(void)
{
	int sv[2];

	/* messages come from `peer`, replies go there and are thrown away;
	 * non-blocking, so a short message or a full buffer fails instead
	 * of hanging */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
		abort();
	b.sock = sv[0];
	peer = sv[1];
	for (unsigned i = 0; i < FSD_MAX_QUEUES; i++)
		b.q[i] = (struct fsd_vring){ .kick = -1, .call = -1, .err = -1 };
}

/* Whatever waits on fd's side of the socket pair. */
static void drain(int fd)
{
	uint8_t buf[4096];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

/* A front end that went away and came back (what serve() does when
 * handle_msg() refuses): everything forgotten, memory handed over again. */
static void reconnect(void)
{
	reset_backend(&b);
	fs_reset();
	give_memory();
}

/* ------------------------------------------------------- operations */

static uint64_t take_addr(struct fuzz_in *in)
{
	uint8_t how = (uint8_t)fuzz_take(in, 1);
	uint64_t a = fuzz_take(in, 3) % MEM_SIZE;

	/* mostly inside guest memory, sometimes anywhere */
	return how < 240 ? QVA_BASE + a : fuzz_take(in, 8);
}

/* Queue q set up (num, ring addresses, next index) and started, as
 * SET_VRING_NUM/ADDR/BASE/KICK/ENABLE would. */
static void op_ring(struct fuzz_in *in)
{
	struct fsd_vring *q = &b.q[fuzz_take(in, 1) % NQ];

	/* up to 1024 entries: a ring of 32768 is as easy to break, and a
	 * call serves up to a ring's worth, which made inputs that put the
	 * reply over the avail ring take seconds each */
	q->num = 1u << (fuzz_take(in, 1) % 11);
	q->desc_qva = take_addr(in);
	q->avail_qva = take_addr(in);
	q->used_qva = take_addr(in);
	q->last_avail = (uint16_t)fuzz_take(in, 2);
	q->started = q->enabled = true;
	q->broken = vring_map(q, &b.mem) != 0;
}

static void op_memory(struct fuzz_in *in)
{
	uint32_t at = (uint32_t)fuzz_take(in, 3) % MEM_SIZE;
	size_t n = (size_t)fuzz_take(in, 2) % 1024;

	if (n > in->left)
		n = in->left;
	if (n > MEM_SIZE - at)
		n = MEM_SIZE - at;
	memcpy(guest + at, in->p, n);
	in->p += n;
	in->left -= n;
}

/* The driver offers head h on queue q (its avail ring, if mapped:
 * after a refused vring_map() the pointers are stale). */
static void offer(struct fsd_vring *q, uint16_t h)
{
	uint16_t idx;

	if (!q->avail || !q->num || q->broken)
		return;
	idx = q->avail[1];
	q->avail[2 + idx % q->num] = h;
	__atomic_store_n(&q->avail[1], (uint16_t)(idx + 1), __ATOMIC_RELEASE);
}

static const uint32_t opcodes[] = {
	FUSE_LOOKUP, FUSE_FORGET, FUSE_GETATTR, FUSE_SETATTR, FUSE_READLINK, FUSE_SYMLINK,
	FUSE_MKNOD, FUSE_MKDIR, FUSE_UNLINK, FUSE_RMDIR, FUSE_RENAME, FUSE_LINK, FUSE_OPEN,
	FUSE_READ, FUSE_WRITE, FUSE_STATFS, FUSE_RELEASE, FUSE_FSYNC, FUSE_FLUSH, FUSE_INIT,
	FUSE_OPENDIR, FUSE_READDIR, FUSE_RELEASEDIR, FUSE_FSYNCDIR, FUSE_ACCESS, FUSE_CREATE,
	FUSE_INTERRUPT, FUSE_DESTROY, FUSE_BATCH_FORGET, FUSE_READDIRPLUS, FUSE_RENAME2,
};

/* One FUSE request in a well-formed two-descriptor chain on queue q,
 * kicked: header from a few input bytes, arguments as they come. */
static void op_fuse(struct fuzz_in *in)
{
	struct fsd_vring *q = &b.q[fuzz_take(in, 1) % NQ];
	uint8_t sel = (uint8_t)fuzz_take(in, 1);
	size_t n = (size_t)fuzz_take(in, 1);
	struct fuse_in_header h = {
		.opcode = sel < 248 ? opcodes[sel % (sizeof(opcodes) / sizeof(opcodes[0]))] : (uint32_t)fuzz_take(in, 4),
		.unique = fuzz_take(in, 1),
		.nodeid = fuzz_take(in, 1) % 8,
	};
	uint32_t made_up = (sel & 7) ? 0 : (uint32_t)fuzz_take(in, 4);
	uint16_t head;

	if (n > in->left)
		n = in->left;
	/* mostly the true length, sometimes one the guest made up */
	h.len = (sel & 7) ? (uint32_t)(sizeof(h) + n) : made_up;
	if (!q->desc || q->num < 2 || q->broken)
		return;
	memcpy(guest + REQ_GPA, &h, sizeof(h));
	memcpy(guest + REQ_GPA + sizeof(h), in->p, n);
	in->p += n;
	in->left -= n;
	head = (uint16_t)(q->last_avail % (q->num / 2) * 2);
	q->desc[head] = (struct vring_desc){ REQ_GPA, (uint32_t)(sizeof(h) + n), DESC_F_NEXT,
					    (uint16_t)(head + 1) };
	q->desc[head + 1] = (struct vring_desc){ REP_GPA, REP_LEN, DESC_F_WRITE, 0 };
	offer(q, head);
	process_queue(&b, (unsigned)(q - b.q));
}

/* A vhost-user message without descriptors, through the socket into
 * recv_msg() and handle_msg(); a refusal drops the connection, as
 * serve() does.  The header's size may claim more than follows. */
static void op_message(struct fuzz_in *in)
{
	static struct msg m;
	uint8_t buf[12 + MAX_PAYLOAD];
	uint32_t hdr[3];
	size_t n;

	hdr[0] = (uint32_t)fuzz_take(in, 1) % 20;
	hdr[1] = (uint32_t)fuzz_take(in, 1);
	hdr[2] = (uint32_t)fuzz_take(in, 2) % (MAX_PAYLOAD + 64);
	n = hdr[2] < MAX_PAYLOAD ? hdr[2] : MAX_PAYLOAD;
	if (n > in->left)
		n = in->left;
	memcpy(buf, hdr, 12);
	memcpy(buf + 12, in->p, n);
	in->p += n;
	in->left -= n;
	if (send(peer, buf, 12 + n, MSG_NOSIGNAL) != (ssize_t)(12 + n))
		abort();
	if (recv_msg(b.sock, &m) || handle_msg(&b, &m))
		reconnect();
	drain(peer);
	drain(b.sock);		/* what a refused message left unread */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct fuzz_in in = { data, size };

	if (!ready) {
		make_scratch();
		make_backend();
		ready = true;
	}
	memset(guest, 0, MEM_SIZE);
	give_memory();
	for (unsigned ops = 0; in.left && ops < 256; ops++) {
		switch (fuzz_take(&in, 1) % 6) {
		case 0: op_ring(&in); break;
		case 1: op_memory(&in); break;
		case 2: op_fuse(&in); break;
		case 3: op_message(&in); break;
		case 4: offer(&b.q[fuzz_take(&in, 1) % NQ], (uint16_t)fuzz_take(&in, 2)); break;
		default: process_queue(&b, (unsigned)fuzz_take(&in, 1) % FSD_MAX_QUEUES); break;
		}
	}
	/* every input from the same state: no front end, nothing open,
	 * the fixed tree, and nothing outside the share touched */
	reset_backend(&b);
	fs_reset();
	check_outside();
	wipe(dup(share_fd));
	fill_share();
	return 0;
}
