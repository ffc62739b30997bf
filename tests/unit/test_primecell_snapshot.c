// SPDX-License-Identifier: MIT
/*
 * Snapshot round trips of the AArch64 PrimeCells (devices/pl011.c,
 * pl031.c, pl061.c): registers a guest programmed come back in a fresh
 * instance (its registers read as a guest reads them, before and after),
 * and a payload cut short, one too long, or holding values the device
 * could never have is refused, the instance keeping what it had.
 */
#include "unit.h"

#include <stdlib.h>
#include <unistd.h>

#include "core/kconfig.h"

#if IS_ENABLED(CONFIG_SNAPSHOT) && IS_ENABLED(CONFIG_PL011) && IS_ENABLED(CONFIG_PL031) && \
	IS_ENABLED(CONFIG_PL061)

#include "fake_vm.h"
#include "snap_device.h"

/* Per device one VM the guest programs and one a snapshot loads into,
 * each with that device alone (the snapshot registry is the last VM's) */
static struct fake_vm vms[6];
static unsigned nvms;
static struct fake_vm *guest;	/* the VM rd() and wr() drive */

static uint32_t rd(uint64_t addr)
{
	return (uint32_t)fake_mmio_read(guest, addr, 4);
}

static void wr(uint64_t addr, uint32_t v)
{
	fake_mmio(guest, addr, v, 4, true);
}

/* A VM with only the device `name`, serial on nothing; rd() and wr()
 * drive it from then on */
static void create_vm(const char *name)
{
	char kernel[] = "/tmp/wisp-primecell-kernel-XXXXXX";
	int fd = mkstemp(kernel);
	const char *const argv[] = { "wisp", "--kernel", kernel, "--serial", "null", NULL };

	assert_true(fd >= 0 && write(fd, "k", 1) == 1 && !close(fd));
	assert_true(nvms < 6);
	guest = &vms[nvms++];
	fake_vm_create_only(guest, argv, name);
	unlink(kernel);
}

/* Every register a guest reads, over `n` offsets from `base` */
static void view(uint64_t base, const uint32_t *offs, size_t n, uint32_t *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = rd(base + offs[i]);
}

/* Saves `name` with the guest's state, loads it into a fresh instance
 * and compares the registers at `offs`; returns the payload. */
static void round_trip(const char *name, uint64_t base, const uint32_t *offs, size_t n,
		       struct snap_writer *w)
{
	uint32_t before[16], after[16];

	assert_true(n <= 16);
	snap_device_save(name, w);
	view(base, offs, n, before);
	create_vm(name);
	assert_int_equal(snap_device_load(name, w->data, w->len), 0);
	view(base, offs, n, after);
	assert_memory_equal(after, before, n * sizeof(before[0]));
}

/* Cut short and one byte too long: refused */
static void refuse_lengths(const char *name, const struct snap_writer *w)
{
	uint8_t longer[256];

	assert_true(w->len < sizeof(longer));
	assert_int_equal(snap_device_load(name, w->data, w->len - 1), -1);
	memcpy(longer, w->data, w->len);
	longer[w->len] = 0;
	assert_int_equal(snap_device_load(name, longer, w->len + 1), -1);
}

/* ---------------------------------------------------------------- PL011 */

static const uint32_t pl011_regs[] = { 0x018, 0x020, 0x024, 0x028, 0x02c, 0x030, 0x034,
				       0x038, 0x03c, 0x040, 0x048 };
#define NREGS(a) (sizeof(a) / sizeof((a)[0]))

static void test_pl011(void **state)
{
	struct snap_writer w;
	uint8_t bad[128];

	(void)state;
	create_vm("pl011");
	wr(ARM_PL011 + 0x024, 0x27);	/* IBRD */
	wr(ARM_PL011 + 0x028, 0x04);	/* FBRD */
	wr(ARM_PL011 + 0x02c, 0x70);	/* LCR_H: FIFO, 8 bits */
	wr(ARM_PL011 + 0x034, 0x09);	/* IFLS */
	wr(ARM_PL011 + 0x038, 0x50);	/* IMSC: RX and RT */
	wr(ARM_PL011 + 0x048, 0x03);	/* DMACR */
	round_trip("pl011", ARM_PL011, pl011_regs, NREGS(pl011_regs), &w);
	assert_int_equal(rd(ARM_PL011 + 0x024), 0x27);
	refuse_lengths("pl011", &w);

	/* the receive FIFO: three bytes in the payload, read back in order */
	assert_true(w.len + 3 <= sizeof(bad));
	memcpy(bad, w.data, w.len);
	bad[w.len - 1] = 3;
	memcpy(bad + w.len, "hi!", 3);
	assert_int_equal(snap_device_load("pl011", bad, w.len + 3), 0);
	assert_int_equal(rd(ARM_PL011 + 0x018) & 0x10, 0);	/* FR: not empty */
	assert_int_equal(rd(ARM_PL011 + 0x03c) & 0x40, 0x40);	/* RIS: RT */
	assert_int_equal(rd(ARM_PL011), 'h');
	assert_int_equal(rd(ARM_PL011), 'i');
	assert_int_equal(rd(ARM_PL011), '!');

	/* impossible values: a register bit no write keeps, too many bytes */
	memcpy(bad, w.data, w.len);
	bad[2 * 4] = 0x40;		/* FBRD is 6 bits */
	assert_int_equal(snap_device_load("pl011", bad, w.len), -1);
	memcpy(bad, w.data, w.len);
	bad[w.len - 1] = 17;		/* the FIFO holds 16 */
	assert_int_equal(snap_device_load("pl011", bad, w.len), -1);
	assert_int_equal(rd(ARM_PL011 + 0x024), 0x27);
	snap_writer_free(&w);
}

/* ---------------------------------------------------------------- PL031 */

static void test_pl031(void **state)
{
	const uint32_t regs[] = { 0x04, 0x08, 0x10, 0x14 };
	struct snap_writer w;
	uint8_t bad[64];
	uint32_t dr;

	(void)state;
	create_vm("pl031");
	wr(ARM_PL031 + 0x08, 1000000);		/* LR: the clock at 1000000 s */
	wr(ARM_PL031 + 0x04, 0xfffffff0);	/* MR: far off */
	wr(ARM_PL031 + 0x10, 1);		/* IMSC */
	round_trip("pl031", ARM_PL031, regs, NREGS(regs), &w);
	/* the counter kept its offset from the host's clock */
	dr = rd(ARM_PL031);
	assert_true(dr >= 1000000 && dr <= 1000005);
	refuse_lengths("pl031", &w);
	memcpy(bad, w.data, w.len);
	bad[7] = 0x40;			/* an offset of 2^62 s */
	assert_int_equal(snap_device_load("pl031", bad, w.len), -1);
	memcpy(bad, w.data, w.len);
	bad[8 + 8] = 2;			/* IMSC bit the RTC lacks */
	assert_int_equal(snap_device_load("pl031", bad, w.len), -1);
	assert_int_equal(rd(ARM_PL031 + 0x10), 1);
	snap_writer_free(&w);
}

/* ---------------------------------------------------------------- PL061 */

static void test_pl061(void **state)
{
	const uint32_t regs[] = { 0x3fc, 0x400, 0x404, 0x408, 0x40c, 0x410, 0x414, 0x418, 0x420 };
	struct snap_writer w;
	uint8_t bad[64];

	(void)state;
	create_vm("pl061");
	wr(ARM_PL061 + 0x400, 0xf0);		/* DIR: upper lines out */
	wr(ARM_PL061 + 0x3fc, 0xa5);		/* DATA */
	wr(ARM_PL061 + 0x408, 0x08);		/* IBE on the button */
	wr(ARM_PL061 + 0x410, 0x08);		/* IE */
	wr(ARM_PL061 + 0x420, 0x01);		/* AFSEL */
	round_trip("pl061", ARM_PL061, regs, NREGS(regs), &w);
	assert_int_equal(rd(ARM_PL061 + 0x3fc), 0xa0);
	refuse_lengths("pl061", &w);
	memcpy(bad, w.data, w.len);
	bad[8] = 0x01;			/* an input line nothing drives */
	assert_int_equal(snap_device_load("pl061", bad, w.len), -1);
	assert_int_equal(rd(ARM_PL061 + 0x420), 1);
	snap_writer_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pl011),
		cmocka_unit_test(test_pl031),
		cmocka_unit_test(test_pl061),
	};

	return cmocka_run_group_tests_name("primecell snapshot", tests, NULL, NULL);
}

#else

UNIT_NOT_BUILT("primecell snapshot")

#endif
