/* SPDX-License-Identifier: MIT */
/*
 * The freestanding library every wisp test guest links against.
 *
 * A guest is one file, tests/guests/NAME.c, defining
 *     void guest_main(const struct hvm_start_info *si);
 * The PVH stub (start.S) enters it in 64-bit mode with the first 4 GiB
 * identity-mapped, the UART initialised and exceptions caught.  Every guest
 * ends with exactly one "RESULT NAME PASS" or "RESULT NAME FAIL why" line,
 * printed by pass() or fail(), which then power the VM off through ACPI.
 *
 * Interrupts stay disabled (IF=0) except inside wait_count() and msleep(),
 * which sti;hlt until an interrupt arrives: handlers only ever run there.
 *
 * Everything here executes under the host kernel's instruction emulator
 * (about 2 million instructions per second), so keep code paths short.
 */
#ifndef WISP_GUEST_H
#define WISP_GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define __packed __attribute__((packed))
#define __noreturn __attribute__((noreturn))
#define __printf(a, b) __attribute__((format(printf, a, b)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The Makefile compiles each guest with -DGUEST_NAME='"NAME"'. */
extern const char guest_name[];
#ifdef GUEST_NAME
const char guest_name[] = GUEST_NAME;
#endif

/* --------------------------------------------------- PVH start info */
/* Xen's public arch-x86/hvm/start_info.h, version 1. */
#define HVM_START_MAGIC 0x336ec578u

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	/* version >= 1 */
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

#define HVM_MEMMAP_RAM 1
#define HVM_MEMMAP_RESERVED 2
#define HVM_MEMMAP_ACPI 3
#define HVM_MEMMAP_NVS 4
#define HVM_MEMMAP_UNUSABLE 5
#define HVM_MEMMAP_DISABLED 6
#define HVM_MEMMAP_PMEM 7

/* The start info the VMM passed in %ebx (valid: its magic was checked). */
extern const struct hvm_start_info *start_info;
/* Its memory map, or NULL (version 0 or no map); *n gets the entry count. */
const struct hvm_memmap_entry *memmap(uint32_t *n);
/* Copies the value of "key=value" from the guest's command line into out
 * (at most n - 1 bytes, NUL-terminated): false if the key is absent. */
bool cmdline_get(const struct hvm_start_info *si, const char *key, char *out, size_t n);
/* The decimal number at the start of s (0 if none). */
uint64_t parse_u64(const char *s);

/* ----------------------------------------------------- CPU helpers */
static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint16_t inw(uint16_t port)
{
	uint16_t v;
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint32_t mmio_read32(uintptr_t addr)
{
	return *(volatile uint32_t *)addr;
}
static inline void mmio_write32(uintptr_t addr, uint32_t v)
{
	*(volatile uint32_t *)addr = v;
}
static inline void cli(void) { __asm__ volatile("cli" : : : "memory"); }
static inline void sti(void) { __asm__ volatile("sti" : : : "memory"); }
static inline void pause(void) { __asm__ volatile("pause" : : : "memory"); }
/* sti;hlt: the sti shadow makes an already-pending interrupt wake the hlt. */
static inline void sti_hlt(void) { __asm__ volatile("sti; hlt" : : : "memory"); }
static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (uint64_t)hi << 32 | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

/* ------------------------------------------------------ small libc */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);

/* ----------------------------------------------------------- UART */
#define COM1 0x3f8
#define UART_RBR 0 /* read, DLAB=0 */
#define UART_THR 0 /* write, DLAB=0 */
#define UART_DLL 0 /* DLAB=1 */
#define UART_IER 1 /* DLAB=0 */
#define UART_DLM 1 /* DLAB=1 */
#define UART_IIR 2 /* read */
#define UART_FCR 2 /* write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define UART_IER_RDI 0x01  /* received data available */
#define UART_IER_THRI 0x02 /* transmitter holding register empty */
#define UART_IIR_NO_INT 0x01
#define UART_IIR_ID 0x0e
#define UART_IIR_MSI 0x00
#define UART_IIR_THRI 0x02
#define UART_IIR_RDI 0x04
#define UART_IIR_RLSI 0x06
#define UART_IIR_TIMEOUT 0x0c
#define UART_LCR_DLAB 0x80
#define UART_LCR_8N1 0x03
#define UART_MCR_DTR 0x01
#define UART_MCR_RTS 0x02
#define UART_MCR_OUT2 0x08
#define UART_LSR_DR 0x01
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40

void serial_init(void);
void serial_putc(char c);
void serial_puts(const char *s);
/* Formatter to the UART: %s %c %d %i %u %x %p %%, the - and 0 flags, a
 * width, a precision for %s (%.4s), and the l/ll/z length modifiers.  Lines
 * end in "\n" only. */
void vprintf(const char *fmt, va_list ap);
void printf(const char *fmt, ...) __printf(1, 2);

/* --------------------------------------------------------- results */
/* Print "RESULT <name> PASS" and power off through ACPI. */
__noreturn void pass(void);
/* Print "RESULT <name> FAIL <why>" and power off through ACPI. */
__noreturn void fail(const char *fmt, ...) __printf(1, 2);
/* Just the line, for a guest that powers off (or resets) by itself. */
void print_pass(void);
#define CHECK(cond, ...)                  \
	do {                              \
		if (!(cond))              \
			fail(__VA_ARGS__); \
	} while (0)

/* Byte 0x7b to port 0x440: "guest boot complete" in wisp's timeline. */
#define TIMELINE_PORT 0x440
#define TIMELINE_BOOT_COMPLETE 0x7b
static inline void timeline_mark(void) { outb(TIMELINE_PORT, TIMELINE_BOOT_COMPLETE); }

/* ------------------------------------------------------------ ACPI */
struct acpi_rsdp {
	char signature[8]; /* "RSD PTR " */
	uint8_t checksum;  /* of the first 20 bytes */
	char oem_id[6];
	uint8_t revision; /* 2 for ACPI 2.0+ (XSDT) */
	uint32_t rsdt_address;
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t extended_checksum; /* of all `length` bytes */
	uint8_t reserved[3];
} __packed;

struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	uint32_t creator_id;
	uint32_t creator_revision;
} __packed;

/* Generic Address Structure */
struct acpi_gas {
	uint8_t space_id; /* 0 system memory, 1 system I/O */
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
} __packed;
#define ACPI_GAS_MEMORY 0
#define ACPI_GAS_IO 1

struct acpi_fadt {
	struct acpi_header h;		/*   0 "FACP" */
	uint32_t firmware_ctrl;		/*  36 */
	uint32_t dsdt;			/*  40 */
	uint8_t reserved0;		/*  44 */
	uint8_t preferred_pm_profile;	/*  45 */
	uint16_t sci_int;		/*  46 */
	uint8_t legacy[60];		/*  48 SMI_CMD .. MON_ALRM, unused */
	uint8_t century;		/* 108 */
	uint16_t iapc_boot_arch;	/* 109 */
	uint8_t reserved1;		/* 111 */
	uint32_t flags;			/* 112 */
	struct acpi_gas reset_reg;	/* 116 */
	uint8_t reset_value;		/* 128 */
	uint16_t arm_boot_arch;		/* 129 */
	uint8_t minor_version;		/* 131 */
	uint64_t x_firmware_ctrl;	/* 132 */
	uint64_t x_dsdt;		/* 140 */
	struct acpi_gas x_legacy[8];	/* 148 X_PM1a_EVT_BLK .. X_GPE1_BLK */
	struct acpi_gas sleep_control;	/* 244 */
	struct acpi_gas sleep_status;	/* 256 */
	uint64_t hypervisor_vendor;	/* 268 */
} __packed;				/* 276 */

#define ACPI_FADT_RESET_REG_SUP (1u << 10)
#define ACPI_FADT_HW_REDUCED (1u << 20)
/* SLEEP_CONTROL_REG value for S5: SLP_TYP=5 in bits 2-4, SLP_EN bit 5. */
#define ACPI_SLEEP_S5 ((5 << 2) | (1 << 5))
/* wisp's SLEEP_CONTROL_REG, used only when no FADT is found. */
#define WISP_SLEEP_CONTROL_PORT 0x600

struct acpi_madt {
	struct acpi_header h; /* "APIC" */
	uint32_t lapic_address;
	uint32_t flags;
	uint8_t entries[];
} __packed;

#define MADT_LAPIC 0
#define MADT_IOAPIC 1
#define MADT_ISO 2
#define MADT_X2APIC 9

struct madt_lapic {
	uint8_t type, length;
	uint8_t processor_uid;
	uint8_t apic_id;
	uint32_t flags; /* bit 0 enabled, bit 1 online capable */
} __packed;

struct madt_ioapic {
	uint8_t type, length;
	uint8_t id;
	uint8_t reserved;
	uint32_t address;
	uint32_t gsi_base;
} __packed;

struct madt_iso {
	uint8_t type, length;
	uint8_t bus; /* 0: ISA */
	uint8_t source;
	uint32_t gsi;
	uint16_t flags; /* MPS INTI flags: bits 0-1 polarity, 2-3 trigger */
} __packed;

uint8_t acpi_checksum(const void *p, size_t len);
/* The RSDP named by start_info (signature checked, not the checksums). */
const struct acpi_rsdp *acpi_rsdp(void);
/* A table by signature through the XSDT (or the RSDT if there is none). */
const struct acpi_header *acpi_find_table(const char *sig);
const struct acpi_fadt *acpi_find_fadt(void);
const struct acpi_madt *acpi_find_madt(void);
/* Iterate MADT entries: pass NULL first; returns NULL at the end. */
const uint8_t *madt_next(const struct acpi_madt *madt, const uint8_t *prev);
/* Write `value` to a GAS register (I/O or memory, 8/16/32-bit). */
void acpi_gas_write(const struct acpi_gas *reg, uint32_t value);
/* Power off: S5 through the FADT's SLEEP_CONTROL_REG (fallback: port 0x600). */
__noreturn void acpi_poweroff(void);
/* Write S5 to `reg`; if the VM is still running a second later, say so and halt. */
__noreturn void acpi_poweroff_via(const struct acpi_gas *reg);
__noreturn void halt_forever(void);

/* ------------------------------------------------------ interrupts */
/* The stack frame isr_common builds; handlers may inspect it. */
struct irq_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};
typedef void (*irq_handler_t)(struct irq_frame *f);

/* Install a handler for `vector` (32..254): the dispatcher sends the LAPIC
 * EOI after it returns.  Vectors 0-31 without a handler fail the test. */
void irq_set_handler(uint8_t vector, irq_handler_t fn);

#define TIMER_VECTOR 0xf0
#define SPURIOUS_VECTOR 0xff

/* ------------------------------------------------------------ LAPIC */
#define LAPIC_BASE 0xfee00000u
#define LAPIC_ID 0x020
#define LAPIC_VERSION 0x030
#define LAPIC_TPR 0x080
#define LAPIC_EOI 0x0b0
#define LAPIC_SVR 0x0f0
#define LAPIC_ESR 0x280
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_LVT_ERROR 0x370
#define LAPIC_TIMER_ICR 0x380
#define LAPIC_TIMER_CCR 0x390
#define LAPIC_TIMER_DCR 0x3e0

#define LAPIC_LVT_MASKED (1u << 16)
#define LAPIC_LVT_PERIODIC (1u << 17)
#define LAPIC_ICR_INIT 0x00000500u
#define LAPIC_ICR_STARTUP 0x00000600u
#define LAPIC_ICR_PENDING 0x00001000u
#define LAPIC_ICR_ASSERT 0x00004000u

static inline uint32_t lapic_read(uint32_t reg) { return mmio_read32(LAPIC_BASE + reg); }
static inline void lapic_write(uint32_t reg, uint32_t v) { mmio_write32(LAPIC_BASE + reg, v); }
static inline uint8_t lapic_id(void) { return lapic_read(LAPIC_ID) >> 24; }
static inline void lapic_eoi(void) { lapic_write(LAPIC_EOI, 0); }
/* Software-enable the LAPIC (SVR), spurious vector 0xff, TPR 0. */
void lapic_enable(void);
/* Send an IPI (ICR low word `icr`) to physical APIC id `dest`. */
void lapic_send_ipi(uint8_t dest, uint32_t icr);

/* Timing uses the LAPIC timer, divide by 16, assuming KVM's 1 GHz APIC bus
 * clock (1 ns per cycle): 62500 timer ticks per millisecond. */
#define LAPIC_TICKS_PER_MS 62500u
/* Busy deadlines, no interrupt: one-shot count read back from CCR. */
void deadline_start(uint32_t ms);
bool deadline_passed(void);
void udelay(uint32_t us);
/* Sleep (sti;hlt, 1 ms timer tick) until *p >= want or `ms` elapse; returns
 * whether *p reached `want`.  Returns with interrupts disabled. */
bool wait_count(volatile uint32_t *p, uint32_t want, uint32_t ms);
void msleep(uint32_t ms);

/* ----------------------------------------------------------- IOAPIC */
#define IOAPIC_DEFAULT_BASE 0xfec00000u
struct ioapic_route {
	uint32_t ioapic; /* MMIO base */
	uint32_t gsi;
	uint32_t pin;
	uint32_t low; /* redirection entry, low word as written */
};
/* Route ISA IRQ `irq` (through the MADT's IOAPICs and overrides) to
 * `vector` on APIC id `dest`: fixed, physical, unmasked. */
bool ioapic_route_isa(uint8_t irq, uint8_t vector, uint8_t dest, struct ioapic_route *r);
void ioapic_mask(const struct ioapic_route *r);
uint32_t ioapic_read(uint32_t base, uint8_t reg);
void ioapic_write(uint32_t base, uint8_t reg, uint32_t v);

/* --------------------------------------------------- the SMP helper */
/* start.S: 16-bit AP trampoline to copy below 1 MiB; each AP reaching
 * 64-bit mode sets bit (LAPIC id) in ap_mask, then increments ap_started. */
extern const char ap_trampoline_start[], ap_trampoline_end[];
extern volatile uint32_t ap_started;
extern volatile uint64_t ap_mask[4];

/* ------------------------------------------------------------ entry */
void guest_main(const struct hvm_start_info *si);

#endif
