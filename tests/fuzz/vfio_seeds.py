#!/usr/bin/env python3
# Seeds for the VFIO fuzzer (tests/fuzz/fuzz_vfio.c): a guest's driver
# turning on each interrupt kind and using the BARs, so that fuzzing
# starts from inside MSI, MSI-X, INTx and BAR handling.  Devices: 0 "a"
# (MSI 64-bit with masking, MSI-X 16 vectors in BAR 0, I/O BAR 4), 1 "b"
# (MSI 32-bit, I/O BAR 1, INTx), 2 "c" (MSI-X 64 vectors in BAR 2, table
# and PBA in one page).  Writes tests/fuzz/vfio/corpus/seed-*.
import os, struct

A, B, C = range(3)
MSI, MSIX, PCIE = range(3)


def opbyte(kind, size):
    # kind = op % 10, access size = 1 << ((op >> 4) & 3)
    want = {1: 0, 2: 1, 4: 2, 8: 3}[size]
    return next(o for o in range(256) if o % 10 == kind and (o >> 4) & 3 == want)


def le(v, n): return v.to_bytes(n, 'little')
def cfg_write(d, off, val, size=4): return bytes([opbyte(0, size), d]) + le(off, 2) + le(val, 4)
def cfg_read(d, off, size=4): return bytes([opbyte(1, size), d]) + le(off, 2)
def cap_write(d, cap, off, val, size=4): return bytes([opbyte(2, size), d, cap, off]) + le(val, 4)
def bar_write(d, n, off, val, size=4): return bytes([opbyte(3, size), d, n]) + le(val, 8) + le(off, 3)
def bar_read(d, n, off, size=4): return bytes([opbyte(4, size), d, n]) + le(0, 8) + le(off, 3)
def msix_entry(d, vec, word, val): return bytes([opbyte(5, 4), d, vec, word]) + le(val, 4)
def move_bar(d, n, to, hi=None):
    return bytes([opbyte(6, 4), d, n]) + le(to, 2) + (bytes([hi]) if hi is not None else b'')
def command(d, val): return bytes([opbyte(7, 4), d]) + le(val, 2)
def interrupt(d, vec): return bytes([opbyte(8, 4), d, vec])
def irq_bits(d, msix=False, maskall=False, msi=False, master=True):
    return bytes([opbyte(9, 4), d, msix | maskall << 1 | msi << 2 | master << 3])


def msix_vector(d, vec, data, masked=False):
    return (msix_entry(d, vec, 0, 0xfee00000) + msix_entry(d, vec, 1, 0) +
            msix_entry(d, vec, 2, data) + msix_entry(d, vec, 3, int(masked)))


seeds = {
    # MSI-X on, four vectors, an interrupt; one masked, raised (parked,
    # the PBA shows it), unmasked (delivered); MSI-X off again
    'msix': (command(A, 0x7) + irq_bits(A, msix=True) +
             b''.join(msix_vector(A, v, 0x41 + v) for v in range(4)) +
             interrupt(A, 0) + msix_entry(A, 1, 3, 1) + interrupt(A, 1) +
             bar_read(A, 0, 0x3000, 8) + msix_entry(A, 1, 3, 0) + bar_read(A, 0, 0x2010, 8) +
             irq_bits(A, msix=True, maskall=True) + irq_bits(A, msix=False)),
    'msix-shared-page': (command(C, 0x6) + irq_bits(C, msix=True) +
                         b''.join(msix_vector(C, v, 0x50 + v) for v in (0, 33, 63)) +
                         interrupt(C, 1) + bar_read(C, 2, 0x800, 8) + bar_write(C, 2, 0x900, 1) +
                         bar_read(C, 0, 0x1000) + bar_write(C, 0, 0x10, 0xabcd)),
    # MSI: address, data, enable, an interrupt, the mask bit, off
    'msi-64': (command(A, 0x7) + cap_write(A, MSI, 4, 0xfee00000) + cap_write(A, MSI, 8, 0) +
               cap_write(A, MSI, 12, 0x45, 2) + irq_bits(A, msi=True) + interrupt(A, 0) +
               cap_write(A, MSI, 16, 1) + cap_write(A, MSI, 16, 0) + cfg_read(A, 0x50) +
               irq_bits(A, msi=False)),
    'msi-32': (command(B, 0x7) + cap_write(B, MSI, 4, 0xfee01000) + cap_write(B, MSI, 8, 0x46, 2) +
               irq_bits(B, msi=True) + interrupt(B, 0) + command(B, 0x3) + irq_bits(B, msi=False)),
    # a guest that turns on MSI while MSI-X is on (VFIO refuses), and back
    'msi-and-msix': (command(A, 0x7) + irq_bits(A, msix=True) + msix_vector(A, 0, 0x60) +
                     cap_write(A, MSI, 4, 0xfee00000) + irq_bits(A, msix=True, msi=True) +
                     irq_bits(A, msi=True) + irq_bits(A) + irq_bits(A, msi=True)),
    # INTx: the device raises it, wisp pulses the line and unmasks later
    'intx': command(B, 0x3) + interrupt(B, 0) + interrupt(B, 0) + command(B, 0x403),
    # BARs: moved, read and written, memory and I/O, past the region
    'bars': (move_bar(C, 0, 0x2000) + move_bar(C, 2, 0x2010, 0) + command(C, 0x3) +
             bar_write(C, 0, 0x1ff0, 0x1122334455667788, 8) + bar_read(C, 0, 0x1ff0, 8) +
             bar_read(C, 2, 0x1800) + command(B, 0x3) + bar_write(B, 1, 0x10, 0x5a, 1) +
             bar_read(B, 1, 0xff, 1) + bar_read(B, 1, 0x100, 4) + bar_read(B, 0, 0x0ffc) +
             command(A, 0x3) + bar_write(A, 4, 0x1e, 0x77, 2) + bar_read(A, 2, 0xfff8, 8) +
             move_bar(A, 2, 0x3000, 1) + bar_read(A, 2, 0x10) + cfg_read(A, 0x18) +
             cfg_write(A, 0x30, 0xffffffff) + cfg_read(A, 0x30)),
    # config space: the device's own bytes, the PCIe capability, past 256
    'config': (cfg_write(A, 0x40, 0x12345678) + cfg_read(A, 0x40) + cap_write(A, PCIE, 8, 0x20, 2) +
               cfg_read(A, 0x100) + cfg_write(A, 0x104, 1) + cfg_read(B, 0x100) +
               cfg_write(B, 0x3c, 0xff, 1) + cfg_read(B, 0x3c) + cfg_write(C, 0x34, 0, 1) +
               cfg_read(C, 0x34) + cfg_write(A, 0x0e, 0x80, 1) + cfg_read(A, 0x0c)),
}

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'vfio', 'corpus')
os.makedirs(out, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(out, 'seed-' + name), 'wb') as f:
        f.write(data)
print(f'{len(seeds)} seeds in {out}')
