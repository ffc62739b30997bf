/* SPDX-License-Identifier: MIT */
/*
 * The guest library: UART output, a small formatter, results, ACPI lookup
 * and poweroff, the IDT, LAPIC timer waits and IOAPIC routing.  Kept short:
 * every instruction is emulated (see guest.h).
 */
#include "guest.h"

_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info layout");
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP layout");
_Static_assert(sizeof(struct acpi_header) == 36, "SDT header layout");
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS layout");
_Static_assert(offsetof(struct acpi_fadt, flags) == 112, "FADT flags");
_Static_assert(offsetof(struct acpi_fadt, reset_reg) == 116, "FADT reset_reg");
_Static_assert(offsetof(struct acpi_fadt, x_dsdt) == 140, "FADT x_dsdt");
_Static_assert(offsetof(struct acpi_fadt, sleep_control) == 244, "FADT sleep_control");
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT size");
_Static_assert(sizeof(struct irq_frame) == 22 * 8, "irq_frame layout");

const struct hvm_start_info *start_info;

/* ------------------------------------------------------ small libc */
/* GCC may emit calls to these four for struct copies and loops. */
void *memset(void *d, int c, size_t n)
{
	unsigned char *p = d;

	while (n--)
		*p++ = (unsigned char)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	unsigned char *p = d;
	const unsigned char *q = s;

	while (n--)
		*p++ = *q++;
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *p = a, *q = b;

	for (; n; n--, p++, q++)
		if (*p != *q)
			return *p - *q;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (unsigned char)*a - (unsigned char)*b;
}

/* ----------------------------------------------------------- UART */
void serial_init(void)
{
	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_LCR, UART_LCR_DLAB);
	outb(COM1 + UART_DLL, 1); /* 115200 baud */
	outb(COM1 + UART_DLM, 0);
	outb(COM1 + UART_LCR, UART_LCR_8N1);
	/* FCR is left alone: toggling or clearing the FIFOs would drop input
	 * the harness may have fed before the guest booted. */
	outb(COM1 + UART_MCR, UART_MCR_DTR | UART_MCR_RTS | UART_MCR_OUT2);
}

void serial_putc(char c)
{
	/* Bounded: a UART that never reports THRE must not hang the guest. */
	for (int i = 0; i < 100000; i++)
		if (inb(COM1 + UART_LSR) & UART_LSR_THRE)
			break;
	outb(COM1 + UART_THR, (uint8_t)c);
}

void serial_puts(const char *s)
{
	while (*s)
		serial_putc(*s++);
}

/* Emit s[0..n) in a field of `width`, right-aligned unless `left`; zero
 * padding goes after a leading '-'. */
static void put_field(const char *s, int n, int width, char pad, bool left)
{
	if (pad == '0' && n && *s == '-') {
		serial_putc('-');
		s++, n--, width--;
	}
	for (; !left && width > n; width--)
		serial_putc(pad);
	for (int i = 0; i < n; i++)
		serial_putc(s[i]);
	for (; left && width > n; width--)
		serial_putc(' ');
}

void vprintf(const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			serial_putc(*fmt);
			continue;
		}
		char buf[24], *p = buf + sizeof(buf), pad = ' ';
		const char *s = p;
		int width = 0, prec = -1, lng = 0, n;
		bool left = false, neg = false;
		uint64_t v;
		unsigned int base = 10;

		for (fmt++; *fmt == '-' || *fmt == '0'; fmt++)
			*fmt == '-' ? (left = true) : (pad = '0');
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		if (*fmt == '.')
			for (prec = 0, fmt++; *fmt >= '0' && *fmt <= '9'; fmt++)
				prec = prec * 10 + (*fmt - '0');
		while (*fmt == 'l' || *fmt == 'z')
			lng = 1, fmt++;
		switch (*fmt) {
		case 'd':
		case 'i': {
			int64_t sv = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
			neg = sv < 0;
			v = neg ? -(uint64_t)sv : (uint64_t)sv;
			goto number;
		}
		case 'p':
			v = (uintptr_t)va_arg(ap, void *);
			base = 16;
			serial_puts("0x");
			goto number;
		case 'x':
			base = 16;
			/* fall through */
		case 'u':
			v = lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned int);
number:
			do {
				*--p = "0123456789abcdef"[v % base];
				v /= base;
			} while (v);
			if (neg)
				*--p = '-';
			put_field(p, buf + sizeof(buf) - p, width, left ? ' ' : pad, left);
			break;
		case 's':
			s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			for (n = 0; s[n] && n != prec; n++) /* %.Ns: at most N characters */
				;
			put_field(s, n, width, ' ', left);
			break;
		case 'c':
			buf[0] = (char)va_arg(ap, int);
			put_field(buf, 1, width, ' ', left);
			break;
		case '\0':
			return;
		default:
			serial_putc(*fmt);
			break;
		}
	}
}

void printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

/* --------------------------------------------------------- results */
static bool result_printed;

void print_pass(void)
{
	if (result_printed)
		return;
	result_printed = true;
	printf("RESULT %s PASS\n", guest_name);
}

void pass(void)
{
	print_pass();
	acpi_poweroff();
}

void fail(const char *fmt, ...)
{
	va_list ap;

	if (!result_printed) {
		result_printed = true;
		printf("RESULT %s FAIL ", guest_name);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		serial_putc('\n');
	}
	acpi_poweroff();
}

/* ------------------------------------------------------------ ACPI */
uint8_t acpi_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return sum;
}

/* Tables must sit in the identity-mapped first 4 GiB. */
static bool mapped(uint64_t addr, uint64_t len)
{
	return addr && addr < 0x100000000ull && len <= 0x100000000ull - addr;
}

const struct acpi_rsdp *acpi_rsdp(void)
{
	const struct acpi_rsdp *rsdp;

	if (!start_info || !mapped(start_info->rsdp_paddr, sizeof(*rsdp)))
		return NULL;
	rsdp = (const struct acpi_rsdp *)(uintptr_t)start_info->rsdp_paddr;
	if (memcmp(rsdp->signature, "RSD PTR ", 8))
		return NULL;
	return rsdp;
}

const struct acpi_header *acpi_find_table(const char *sig)
{
	const struct acpi_rsdp *rsdp = acpi_rsdp();
	const struct acpi_header *sdt;
	unsigned int width, n;

	if (!rsdp)
		return NULL;
	if (rsdp->revision >= 2 && mapped(rsdp->xsdt_address, 36)) {
		sdt = (const void *)(uintptr_t)rsdp->xsdt_address;
		width = 8;
	} else if (mapped(rsdp->rsdt_address, 36)) {
		sdt = (const void *)(uintptr_t)rsdp->rsdt_address;
		width = 4;
	} else {
		return NULL;
	}
	if (sdt->length < sizeof(*sdt) || !mapped((uintptr_t)sdt, sdt->length))
		return NULL;
	n = (sdt->length - sizeof(*sdt)) / width;
	for (unsigned int i = 0; i < n; i++) {
		const uint8_t *e = (const uint8_t *)(sdt + 1) + i * width;
		uint64_t addr = 0;

		memcpy(&addr, e, width);
		if (!mapped(addr, 36))
			continue;
		const struct acpi_header *t = (const void *)(uintptr_t)addr;
		if (!memcmp(t->signature, sig, 4))
			return t;
	}
	return NULL;
}

const struct acpi_fadt *acpi_find_fadt(void)
{
	return (const struct acpi_fadt *)acpi_find_table("FACP");
}

const struct acpi_madt *acpi_find_madt(void)
{
	const struct acpi_madt *m = (const void *)acpi_find_table("APIC");

	return m && m->h.length >= sizeof(*m) ? m : NULL;
}

const uint8_t *madt_next(const struct acpi_madt *madt, const uint8_t *prev)
{
	const uint8_t *end = (const uint8_t *)madt + madt->h.length;
	const uint8_t *p = prev ? prev + prev[1] : madt->entries;

	if (p + 2 > end || p[1] < 2 || p + p[1] > end)
		return NULL;
	return p;
}

void acpi_gas_write(const struct acpi_gas *reg, uint32_t value)
{
	unsigned int width = reg->bit_width ? reg->bit_width : 8;

	if (reg->space_id == ACPI_GAS_IO) {
		uint16_t port = (uint16_t)reg->address;
		if (width <= 8)
			outb(port, (uint8_t)value);
		else if (width <= 16)
			outw(port, (uint16_t)value);
		else
			outl(port, value);
	} else if (reg->space_id == ACPI_GAS_MEMORY && mapped(reg->address, 4)) {
		uintptr_t a = (uintptr_t)reg->address;
		if (width <= 8)
			*(volatile uint8_t *)a = (uint8_t)value;
		else if (width <= 16)
			*(volatile uint16_t *)a = (uint16_t)value;
		else
			*(volatile uint32_t *)a = value;
	}
}

void acpi_poweroff_via(const struct acpi_gas *reg)
{
	acpi_gas_write(reg, ACPI_SLEEP_S5);
	/* Still here a second later: say so (never a RESULT line) and stop. */
	deadline_start(1000);
	while (!deadline_passed())
		pause();
	serial_puts("POWEROFF failed: the VM is still running\n");
	halt_forever();
}

void acpi_poweroff(void)
{
	static const struct acpi_gas fallback = {
		.space_id = ACPI_GAS_IO, .bit_width = 8, .address = WISP_SLEEP_CONTROL_PORT,
	};
	static bool busy;
	const struct acpi_fadt *fadt;

	if (busy) /* a fault while looking for the FADT: skip it */
		acpi_poweroff_via(&fallback);
	busy = true;
	fadt = acpi_find_fadt();
	if (fadt && fadt->h.length >= offsetof(struct acpi_fadt, sleep_status) &&
	    fadt->sleep_control.address)
		acpi_poweroff_via(&fadt->sleep_control);
	acpi_poweroff_via(&fallback);
}

/* ------------------------------------------------------ interrupts */
struct idt_gate {
	uint16_t offset_lo;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t offset_mid;
	uint32_t offset_hi;
	uint32_t zero;
} __packed;

extern const char isr_stubs[]; /* start.S: 256 stubs, 16 bytes apart */
static struct idt_gate idt[256];
static irq_handler_t handlers[256];

static void idt_set_gate(uint8_t vector)
{
	uintptr_t a = (uintptr_t)isr_stubs + 16 * vector;

	idt[vector] = (struct idt_gate){
		.offset_lo = (uint16_t)a,
		.selector = 0x08,
		.type_attr = 0x8e, /* present, DPL 0, 64-bit interrupt gate */
		.offset_mid = (uint16_t)(a >> 16),
		.offset_hi = (uint32_t)(a >> 32),
	};
}

static void idt_init(void)
{
	struct __packed {
		uint16_t limit;
		uint64_t base;
	} idtr = { sizeof(idt) - 1, (uintptr_t)idt };

	for (int v = 0; v < 32; v++)
		idt_set_gate(v);
	idt_set_gate(SPURIOUS_VECTOR);
	__asm__ volatile("lidt %0" : : "m"(idtr));
}

void irq_set_handler(uint8_t vector, irq_handler_t fn)
{
	handlers[vector] = fn;
	idt_set_gate(vector);
}

void isr_dispatch(struct irq_frame *f);
void isr_dispatch(struct irq_frame *f)
{
	uint8_t v = (uint8_t)f->vector;

	if (handlers[v]) {
		handlers[v](f);
	} else if (v < 32) {
		uint64_t cr2;
		__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
		fail("exception %u error=0x%lx rip=0x%lx cr2=0x%lx", v, f->error, f->rip, cr2);
	}
	if (v >= 32 && v != SPURIOUS_VECTOR)
		lapic_eoi();
}

/* ------------------------------------------------------------ LAPIC */
void lapic_enable(void)
{
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_SVR, 0x100 | SPURIOUS_VECTOR);
}

void lapic_send_ipi(uint8_t dest, uint32_t icr)
{
	lapic_write(LAPIC_ICR_HI, (uint32_t)dest << 24);
	lapic_write(LAPIC_ICR_LO, icr);
	for (int i = 0; i < 1000 && (lapic_read(LAPIC_ICR_LO) & LAPIC_ICR_PENDING); i++)
		pause();
}

static void timer_arm(uint32_t lvt, uint64_t ticks)
{
	lapic_enable();
	lapic_write(LAPIC_TIMER_DCR, 0x3); /* divide by 16 */
	lapic_write(LAPIC_LVT_TIMER, lvt);
	lapic_write(LAPIC_TIMER_ICR, ticks > 0xffffffffu ? 0xffffffffu : (uint32_t)ticks);
}

void deadline_start(uint32_t ms)
{
	timer_arm(LAPIC_LVT_MASKED | TIMER_VECTOR, (uint64_t)ms * LAPIC_TICKS_PER_MS + 1);
}

bool deadline_passed(void)
{
	return lapic_read(LAPIC_TIMER_CCR) == 0;
}

void udelay(uint32_t us)
{
	timer_arm(LAPIC_LVT_MASKED | TIMER_VECTOR, (uint64_t)us * (LAPIC_TICKS_PER_MS / 1000) + 1);
	while (!deadline_passed())
		pause();
}

static volatile uint32_t ticks;

static void timer_tick(struct irq_frame *f)
{
	(void)f;
	ticks++;
}

bool wait_count(volatile uint32_t *p, uint32_t want, uint32_t ms)
{
	bool ok;

	cli();
	irq_set_handler(TIMER_VECTOR, timer_tick);
	ticks = 0;
	timer_arm(LAPIC_LVT_PERIODIC | TIMER_VECTOR, LAPIC_TICKS_PER_MS);
	for (;;) {
		cli();
		if ((ok = *p >= want) || ticks >= ms)
			break;
		sti_hlt();
	}
	lapic_write(LAPIC_TIMER_ICR, 0);
	lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED | TIMER_VECTOR);
	return ok;
}

void msleep(uint32_t ms)
{
	static volatile uint32_t never;

	wait_count(&never, 1, ms);
}

/* ----------------------------------------------------------- IOAPIC */
#define IOAPIC_REGSEL 0x00
#define IOAPIC_WIN 0x10
#define IOAPIC_VER 0x01
#define IOAPIC_REDTBL(pin) (0x10 + 2 * (pin))

uint32_t ioapic_read(uint32_t base, uint8_t reg)
{
	mmio_write32(base + IOAPIC_REGSEL, reg);
	return mmio_read32(base + IOAPIC_WIN);
}

void ioapic_write(uint32_t base, uint8_t reg, uint32_t v)
{
	mmio_write32(base + IOAPIC_REGSEL, reg);
	mmio_write32(base + IOAPIC_WIN, v);
}

bool ioapic_route_isa(uint8_t irq, uint8_t vector, uint8_t dest, struct ioapic_route *r)
{
	const struct acpi_madt *madt = acpi_find_madt();
	uint32_t gsi = irq, base = IOAPIC_DEFAULT_BASE, gsi_base = 0;
	uint16_t flags = 0;
	const uint8_t *e;

	if (madt) {
		for (e = madt_next(madt, NULL); e; e = madt_next(madt, e)) {
			const struct madt_iso *iso = (const void *)e;
			if (e[0] == MADT_ISO && e[1] >= sizeof(*iso) && iso->bus == 0 &&
			    iso->source == irq) {
				gsi = iso->gsi;
				flags = iso->flags;
			}
		}
		base = 0;
		for (e = madt_next(madt, NULL); e; e = madt_next(madt, e)) {
			const struct madt_ioapic *io = (const void *)e;
			if (e[0] != MADT_IOAPIC || e[1] < sizeof(*io) || io->gsi_base > gsi)
				continue;
			uint32_t pins = ((ioapic_read(io->address, IOAPIC_VER) >> 16) & 0xff) + 1;
			if (gsi < io->gsi_base + pins) {
				base = io->address;
				gsi_base = io->gsi_base;
			}
		}
		if (!base)
			return false;
	}
	r->ioapic = base;
	r->gsi = gsi;
	r->pin = gsi - gsi_base;
	/* ISA defaults: active high, edge; the override's MPS flags may differ. */
	r->low = vector;
	if ((flags & 3) == 3)
		r->low |= 1u << 13; /* active low */
	if (((flags >> 2) & 3) == 3)
		r->low |= 1u << 15; /* level */
	ioapic_write(base, IOAPIC_REDTBL(r->pin) + 1, (uint32_t)dest << 24);
	ioapic_write(base, IOAPIC_REDTBL(r->pin), r->low);
	return true;
}

void ioapic_mask(const struct ioapic_route *r)
{
	ioapic_write(r->ioapic, IOAPIC_REDTBL(r->pin), r->low | (1u << 16));
}

/* ------------------------------------------------------------ entry */
const struct hvm_memmap_entry *memmap(uint32_t *n)
{
	*n = 0;
	if (!start_info || start_info->version < 1 || !start_info->memmap_entries ||
	    !mapped(start_info->memmap_paddr,
		    (uint64_t)start_info->memmap_entries * sizeof(struct hvm_memmap_entry)))
		return NULL;
	*n = start_info->memmap_entries;
	return (const void *)(uintptr_t)start_info->memmap_paddr;
}

void wisp_guest_start(uint32_t si_paddr);
void wisp_guest_start(uint32_t si_paddr)
{
	const struct hvm_start_info *si = (const void *)(uintptr_t)si_paddr;

	serial_init();
	idt_init();
	if (!si)
		fail("no hvm_start_info (%%ebx = 0)");
	if (si->magic != HVM_START_MAGIC)
		fail("hvm_start_info at 0x%x has magic 0x%x, not 0x%x", si_paddr, si->magic,
		     HVM_START_MAGIC);
	start_info = si;
	guest_main(si);
	fail("guest_main returned without a result");
}

/* ------------------------------------------------- PCI and virtio */
/* pci.h and virtio.h declare these; they are compiled into lib.o because
 * the Makefile links start.o and lib.o only.  --gc-sections drops them
 * (and the ring memory) from guests that do not use them. */
/* Copies the value of "key=value" from the command line into out (at
 * most n - 1 bytes, NUL-terminated): false if the key is absent. */
uint64_t parse_u64(const char *s)
{
	uint64_t v = 0;

	while (*s >= '0' && *s <= '9')
		v = v * 10 + (uint64_t)(*s++ - '0');
	return v;
}

bool cmdline_get(const struct hvm_start_info *si, const char *key, char *out, size_t n)
{
	const char *p = (const char *)(uintptr_t)si->cmdline_paddr;
	size_t klen = strlen(key);

	if (!p)
		return false;
	while (*p) {
		while (*p == ' ')
			p++;
		if (!memcmp(p, key, klen) && p[klen] == '=') {
			size_t i = 0;

			for (p += klen + 1; *p && *p != ' ' && i + 1 < n; p++)
				out[i++] = *p;
			out[i] = 0;
			return true;
		}
		while (*p && *p != ' ')
			p++;
	}
	return false;
}

#include "pci.c"
#include "virtio.c"
