// SPDX-License-Identifier: MIT
/*
 * The snapshot format (core/snapshot.c): the writer and reader, the
 * state file's checks (each way a file can be wrong is refused with a
 * line saying which), the section walk, source_url parsing, and the
 * device registry that vm_snapshot.c walks.
 */
#include "unit.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef CONFIG_SNAPSHOT

#include "core/device.h"
#include "core/snapshot.h"

/* ------------------------------------------------- writer and reader */

static void test_round_trip(void **state)
{
	struct snap_writer w = { 0 };
	struct snap_reader r;
	uint8_t blob[5] = { 1, 2, 3, 4, 5 }, back[5];

	(void)state;
	snap_u8(&w, 0xab);
	snap_u16(&w, 0xbeef);
	snap_u32(&w, 0xdeadbeef);
	snap_u64(&w, 0x0123456789abcdefull);
	snap_blob(&w, blob, sizeof(blob));
	snap_u8(&w, 1);
	assert_false(w.failed);
	assert_int_equal(w.len, 1 + 2 + 4 + 8 + 4 + 5 + 1);

	r = (struct snap_reader){ .data = w.data, .len = w.len };
	assert_int_equal(snap_get_u8(&r), 0xab);
	assert_int_equal(snap_get_u16(&r), 0xbeef);
	assert_int_equal(snap_get_u32(&r), 0xdeadbeef);
	assert_true(snap_get_u64(&r) == 0x0123456789abcdefull);
	snap_get_blob(&r, back, sizeof(back));
	assert_memory_equal(back, blob, sizeof(blob));
	assert_true(snap_get_bool(&r));
	assert_int_equal(snap_done(&r), 0);

	/* one read past the end: zeros, and the reader stays failed */
	assert_int_equal(snap_get_u32(&r), 0);
	assert_true(r.failed);
	assert_int_equal(snap_done(&r), -1);
	snap_writer_free(&w);
	assert_null(w.data);
}

static void test_reader_refusals(void **state)
{
	uint8_t two = 2, data[12] = { 4, 0, 0, 0 }, out[8];
	struct snap_reader r;

	(void)state;
	/* a bool that is neither 0 nor 1 */
	r = (struct snap_reader){ .data = &two, .len = 1 };
	snap_get_bool(&r);
	assert_int_equal(snap_done(&r), -1);
	/* a blob whose stored length is not the one asked for */
	r = (struct snap_reader){ .data = data, .len = sizeof(data) };
	snap_get_blob(&r, out, 8);
	assert_true(r.failed);
	/* a payload not read to its end */
	r = (struct snap_reader){ .data = data, .len = sizeof(data) };
	snap_get_u64(&r);
	assert_int_equal(snap_done(&r), -1);
	/* an empty blob into no buffer (a device without config space) */
	r = (struct snap_reader){ .data = data, .len = 4 };
	data[0] = 0;
	snap_get_blob(&r, NULL, 0);
	assert_int_equal(snap_done(&r), 0);
	data[0] = 4;
	/* a read that ends one byte past the payload, from its middle */
	r = (struct snap_reader){ .data = data, .len = 4, .pos = 2 };
	snap_get(&r, out, 3);
	assert_true(r.failed);
	assert_int_equal(out[0], 0);
}

static void test_writer_grows(void **state)
{
	struct snap_writer w = { 0 };
	static uint8_t big[100000];

	(void)state;
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	snap_put(&w, big, 10);
	snap_put(&w, big, sizeof(big));
	assert_false(w.failed);
	assert_int_equal(w.len, sizeof(big) + 10);
	assert_memory_equal(w.data + 10, big, sizeof(big));
	snap_writer_free(&w);
}

/* ------------------------------------------------------ the file */

/* A sealed state file: config, vm, a device and memory sections. */
static void make_file(struct snap_writer *w, const char *device)
{
	size_t at;

	memset(w, 0, sizeof(*w));
	at = snapshot_section_begin(w, SNAP_CONFIG, "config");
	snap_put(w, "--memory\0size=64M", 18);
	snapshot_section_end(w, at);
	at = snapshot_section_begin(w, SNAP_VM, "vm");
	snap_u64(w, 42);
	snapshot_section_end(w, at);
	at = snapshot_section_begin(w, SNAP_DEVICE, device);
	snap_u32(w, 7);
	snapshot_section_end(w, at);
	at = snapshot_section_begin(w, SNAP_MEMORY, "memory");
	snapshot_section_end(w, at);
	snapshot_seal(w);
	assert_false(w->failed);
}

static char why[200];

static int check(const uint8_t *data, size_t len)
{
	why[0] = '\0';
	return snapshot_file_check(data, len, why, sizeof(why));
}

/* The CRC again after the body was changed, so that only the change
 * itself can be refused. */
static void reseal(uint8_t *data, size_t len)
{
	struct snap_header h;

	memcpy(&h, data, sizeof(h));
	h.length = len - sizeof(h);
	h.crc = snapshot_crc32(data + sizeof(h), len - sizeof(h));
	memcpy(data, &h, sizeof(h));
}

static void test_crc32(void **state)
{
	(void)state;
	/* the IEEE check value */
	assert_int_equal(snapshot_crc32((const uint8_t *)"123456789", 9), 0xcbf43926u);
	assert_int_equal(snapshot_crc32(NULL, 0), 0);
}

static void test_file_good(void **state)
{
	struct snap_writer w;
	struct snapshot_file f;
	struct snapshot_section s;
	size_t pos = 0;
	unsigned n = 0;
	uint32_t tags[4];

	(void)state;
	make_file(&w, "serial#0");
	assert_int_equal(check(w.data, w.len), 0);
	f = (struct snapshot_file){ .data = w.data, .len = w.len };
	while (snapshot_next(&f, &pos, &s))
		if (n < 4)
			tags[n++] = s.tag;
		else
			n++;
	assert_int_equal(n, 4);
	assert_int_equal(tags[0], SNAP_CONFIG);
	assert_int_equal(tags[3], SNAP_MEMORY);

	assert_int_equal(snapshot_find(&f, SNAP_VM, "vm", &s), 0);
	assert_true(snap_get_u64(&s.payload) == 42);
	assert_int_equal(snap_done(&s.payload), 0);
	assert_int_equal(snapshot_find(&f, SNAP_DEVICE, "serial#0", &s), 0);
	assert_int_equal(snap_get_u32(&s.payload), 7);
	assert_int_equal(snapshot_find(&f, SNAP_DEVICE, NULL, &s), 0);
	assert_int_equal(snapshot_find(&f, SNAP_DEVICE, "serial#1", &s), -1);
	assert_int_equal(snapshot_find(&f, SNAP_VCPU, NULL, &s), -1);
	assert_int_equal(snapshot_find(&f, SNAP_MEMORY, "memory", &s), 0);
	assert_int_equal(s.payload.len, 0);
	snap_writer_free(&w);
}

static void test_file_header_refusals(void **state)
{
	struct snap_writer w;
	struct snap_header h;
	uint8_t *copy;

	(void)state;
	make_file(&w, "serial#0");
	copy = malloc(w.len);
	assert_non_null(copy);

	/* too short for a header, or not ours */
	assert_int_equal(check(w.data, sizeof(h) - 1), -1);
	assert_contains(why, "not a wisp snapshot");
	assert_int_equal(check(w.data, 0), -1);
	memcpy(copy, w.data, w.len);
	copy[0] = 'X';
	assert_int_equal(check(copy, w.len), -1);
	assert_contains(why, "not a wisp snapshot");

	/* another format version */
	memcpy(copy, w.data, w.len);
	memcpy(&h, copy, sizeof(h));
	h.version = SNAPSHOT_VERSION + 1;
	memcpy(copy, &h, sizeof(h));
	assert_int_equal(check(copy, w.len), -1);
	assert_contains(why, "format version 2");

	/* another arch */
	memcpy(copy, w.data, w.len);
	h.version = SNAPSHOT_VERSION;
	h.arch = SNAPSHOT_ARCH == 62 ? 183 : 62;
	memcpy(copy, &h, sizeof(h));
	assert_int_equal(check(copy, w.len), -1);
	assert_contains(why, "another architecture");

	/* cut short, or with bytes after the end */
	assert_int_equal(check(w.data, w.len - 1), -1);
	assert_contains(why, "truncated");
	assert_int_equal(check(w.data, sizeof(h)), -1);
	assert_contains(why, "truncated");

	/* one bit flipped anywhere in the body */
	for (size_t at = sizeof(h); at < w.len; at += 5) {
		memcpy(copy, w.data, w.len);
		copy[at] ^= 0x10;
		assert_int_equal(check(copy, w.len), -1);
		assert_contains(why, "checksum");
	}
	/* or in the stored CRC itself */
	memcpy(copy, w.data, w.len);
	copy[offsetof(struct snap_header, crc)] ^= 1;
	assert_int_equal(check(copy, w.len), -1);
	assert_contains(why, "checksum");
	free(copy);
	snap_writer_free(&w);
}

/* The body of a file whose CRC is right yet whose sections are not. */
static void test_file_section_refusals(void **state)
{
	struct snap_writer w;
	size_t hdr = sizeof(struct snap_header), first_len;
	uint8_t *copy;
	uint64_t big;
	uint16_t namelen;

	(void)state;
	make_file(&w, "serial#0");
	copy = malloc(w.len + 16);
	assert_non_null(copy);
	/* the first section: tag (4), name length (2), "config\0", length */
	first_len = hdr + 4 + 2 + 7;

	/* a payload running past the end of the file (oversized), and one
	 * so long that pos + length would wrap */
	memcpy(copy, w.data, w.len);
	big = w.len;
	memcpy(copy + first_len, &big, sizeof(big));
	reseal(copy, w.len);
	assert_int_equal(check(copy, w.len), -1);
	assert_contains(why, "malformed section at byte");
	big = UINT64_MAX - 3;
	memcpy(copy + first_len, &big, sizeof(big));
	reseal(copy, w.len);
	assert_int_equal(check(copy, w.len), -1);

	/* a payload shorter than its bytes: the next section then starts
	 * inside this one (overlapping), and what is read there is not a
	 * section */
	memcpy(copy, w.data, w.len);
	big = 1;
	memcpy(copy + first_len, &big, sizeof(big));
	reseal(copy, w.len);
	assert_int_equal(check(copy, w.len), -1);

	/* a name without its NUL, with a NUL inside, of length 0, or
	 * longer than the file */
	memcpy(copy, w.data, w.len);
	copy[hdr + 6 + 6] = 'x';
	reseal(copy, w.len);
	assert_int_equal(check(copy, w.len), -1);
	memcpy(copy, w.data, w.len);
	copy[hdr + 6 + 2] = '\0';
	reseal(copy, w.len);
	assert_int_equal(check(copy, w.len), -1);
	for (unsigned i = 0; i < 2; i++) {
		memcpy(copy, w.data, w.len);
		namelen = i ? 0xffff : 0;
		memcpy(copy + hdr + 4, &namelen, sizeof(namelen));
		reseal(copy, w.len);
		assert_int_equal(check(copy, w.len), -1);
	}

	/* bytes after the last section that are not a whole section */
	memcpy(copy, w.data, w.len);
	memset(copy + w.len, 0, 5);
	reseal(copy, w.len + 5);
	assert_int_equal(check(copy, w.len + 5), -1);
	assert_contains(why, "malformed section");

	/* a tag this wisp does not know, and tag 0 */
	for (uint32_t tag = 0; tag < 2; tag++) {
		uint32_t t = tag ? SNAP_MEMORY + 1 : 0;

		memcpy(copy, w.data, w.len);
		memcpy(copy + hdr, &t, sizeof(t));
		reseal(copy, w.len);
		assert_int_equal(check(copy, w.len), -1);
		assert_contains(why, "unknown section");
	}

	/* a header alone (no sections) is well formed: what sections a
	 * restore needs is asked for by name */
	memcpy(copy, w.data, hdr);
	reseal(copy, hdr);
	assert_int_equal(check(copy, hdr), 0);
	free(copy);
	snap_writer_free(&w);
}

/* ----------------------------------------- reading a directory */

static char dir[] = "/tmp/wisp-snap-test-XXXXXX";

static void put_state(const void *data, size_t len)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, SNAPSHOT_STATE_FILE);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void test_file_read(void **state)
{
	struct snap_writer w;
	struct snapshot_file f;
	char path[64];

	(void)state;
	assert_non_null(mkdtemp(dir));
	/* no directory, or no state file in it */
	assert_int_equal(snapshot_file_read("/nonexistent/wisp", &f, why, sizeof(why)), -1);
	assert_contains(why, "/nonexistent/wisp");
	assert_null(f.data);
	assert_int_equal(snapshot_file_read(dir, &f, why, sizeof(why)), -1);
	assert_contains(why, "incomplete snapshot");

	make_file(&w, "serial#0");
	put_state(w.data, w.len);
	assert_int_equal(snapshot_file_read(dir, &f, why, sizeof(why)), 0);
	assert_int_equal(f.len, w.len);
	assert_memory_equal(f.data, w.data, w.len);
	snapshot_file_free(&f);
	assert_null(f.data);

	/* truncated on disk */
	put_state(w.data, w.len - 3);
	assert_int_equal(snapshot_file_read(dir, &f, why, sizeof(why)), -1);
	assert_contains(why, "truncated");
	assert_null(f.data);

	/* a state file that is a directory, or a symlink */
	snprintf(path, sizeof(path), "%s/%s", dir, SNAPSHOT_STATE_FILE);
	unlink(path);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(snapshot_file_read(dir, &f, why, sizeof(why)), -1);
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_int_equal(snapshot_file_read(dir, &f, why, sizeof(why)), -1);
	unlink(path);
	rmdir(dir);
	snap_writer_free(&w);
}

/* ------------------------------------------ devices and the URL */

static void test_check_devices(void **state)
{
	const struct device_desc *const *table;
	size_t n = device_table(&table);
	struct snap_writer w;
	struct snapshot_file f;
	char name[80];

	(void)state;
	assert_true(n > 0);
	snprintf(name, sizeof(name), "%s#0", table[0]->name);
	make_file(&w, name);
	f = (struct snapshot_file){ .data = w.data, .len = w.len };
	assert_int_equal(snapshot_check_devices(&f, why, sizeof(why)), 0);
	snap_writer_free(&w);

	/* a device this binary was built without */
	make_file(&w, "virtio-teapot#0");
	f = (struct snapshot_file){ .data = w.data, .len = w.len };
	assert_int_equal(snapshot_check_devices(&f, why, sizeof(why)), -1);
	assert_contains(why, "virtio-teapot");
	assert_contains(why, "built without");
	snap_writer_free(&w);

	/* a prefix of a real name is not that device */
	snprintf(name, sizeof(name), "%.*s#0", (int)strlen(table[0]->name) - 1, table[0]->name);
	make_file(&w, name);
	f = (struct snapshot_file){ .data = w.data, .len = w.len };
	assert_int_equal(snapshot_check_devices(&f, why, sizeof(why)), -1);
	snap_writer_free(&w);
}

static void test_url(void **state)
{
	(void)state;
	assert_string_equal(snapshot_url_path("file:///tmp/snap"), "/tmp/snap");
	assert_string_equal(snapshot_url_path("file:///"), "/");
	/* no other scheme, no host, no relative path, no bare path */
	assert_null(snapshot_url_path("http:///tmp/snap"));
	assert_null(snapshot_url_path("file://host/tmp"));
	assert_null(snapshot_url_path("file://tmp"));
	assert_null(snapshot_url_path("file://"));
	assert_null(snapshot_url_path("file:/tmp"));
	assert_null(snapshot_url_path("/tmp/snap"));
	assert_null(snapshot_url_path(""));
	assert_null(snapshot_url_path("FILE:///tmp"));
}

/* ------------------------------------------------------ registry */

static const struct snapshot_ops saving = {
	.save = (int (*)(void *, struct snap_writer *))1,
};
static const struct device_desc dev_a = { .name = "a", .snapshot = &saving };
static const struct device_desc dev_b = { .name = "b", .snapshot = &snapshot_stateless };
static const struct device_desc dev_c = { .name = "c" };	/* no ops */

static void test_registry(void **state)
{
	const struct snapshot_instance *in;
	int x, y;

	(void)state;
	snapshot_reset();
	assert_int_equal(snapshot_instances(&in), 0);

	snapshot_device_begin(&dev_a);
	snapshot_instance(&x);
	snapshot_instance(&y);	/* a second call does not replace the first */
	assert_int_equal(snapshot_device_end(), 0);
	snapshot_device_begin(&dev_b);	/* stateless: need not register */
	assert_int_equal(snapshot_device_end(), 0);
	snapshot_device_begin(&dev_a);
	snapshot_instance(NULL);	/* the option made nothing */
	assert_int_equal(snapshot_device_end(), 0);
	snapshot_device_begin(&dev_c);
	assert_int_equal(snapshot_device_end(), 0);
	snapshot_device_begin(&dev_a);
	snapshot_instance(&y);
	assert_int_equal(snapshot_device_end(), 0);

	assert_int_equal(snapshot_instances(&in), 5);
	assert_ptr_equal(in[0].desc, &dev_a);
	assert_ptr_equal(in[0].instance, &x);
	assert_int_equal(in[0].index, 0);
	assert_ptr_equal(in[1].desc, &dev_b);
	assert_null(in[1].instance);
	assert_int_equal(in[1].index, 0);
	assert_int_equal(in[2].index, 1);
	assert_null(in[2].instance);
	assert_ptr_equal(in[3].desc, &dev_c);
	assert_int_equal(in[4].index, 2);
	assert_ptr_equal(in[4].instance, &y);

	/* a device with save ops that forgot to register */
	snapshot_device_begin(&dev_a);
	assert_int_equal(snapshot_device_end(), -1);
	assert_int_equal(snapshot_instances(&in), 5);

	snapshot_reset();
	assert_int_equal(snapshot_instances(&in), 0);
}

/* More instances than the table holds: the extra ones are not
 * recorded, and nothing is written past the table. */
static void test_registry_full(void **state)
{
	const struct snapshot_instance *in;
	int x;

	(void)state;
	snapshot_reset();
	for (unsigned i = 0; i < SNAPSHOT_MAX_INSTANCES + 3; i++) {
		snapshot_device_begin(&dev_a);
		snapshot_instance(&x);
		assert_int_equal(snapshot_device_end(), 0);
	}
	assert_int_equal(snapshot_instances(&in), SNAPSHOT_MAX_INSTANCES);
	assert_int_equal(in[SNAPSHOT_MAX_INSTANCES - 1].index, SNAPSHOT_MAX_INSTANCES - 1);
	snapshot_reset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_reader_refusals),
		cmocka_unit_test(test_writer_grows),
		cmocka_unit_test(test_crc32),
		cmocka_unit_test(test_file_good),
		cmocka_unit_test(test_file_header_refusals),
		cmocka_unit_test(test_file_section_refusals),
		cmocka_unit_test(test_file_read),
		cmocka_unit_test(test_check_devices),
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_registry_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

#else

int main(void)
{
	puts("snapshots not built in (CONFIG_SNAPSHOT off): nothing to test");
	return 0;
}

#endif
