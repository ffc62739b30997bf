#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Seeds for tests/fuzz/fuzz_arm64_image.c: the selector byte (RAM size
in 2 MiB steps above bit 2, room above the kernel in bits 0-1), then the
kernel file.  Usage: arm64_image_seeds.py DIR"""
import os
import struct
import sys

MAGIC = 0x644d5241          # "ARM\x64"


def header(text_offset, image_size, flags=0xa, magic=MAGIC):
    # code0/code1 as a real Image has them (an "MZ" nop and a branch)
    return struct.pack('<IIQQQQQQII', 0x91005a4d, 0x14000000, text_offset, image_size,
                       flags, 0, 0, 0, magic, 0)


def sel(ram_mib, room):
    return bytes([(ram_mib // 2 - 1) << 2 | room])


def elf(machine):
    return b'\x7fELF\x02\x01\x01' + bytes(11) + struct.pack('<H', machine) + bytes(44)


def seeds():
    fdt = 2                 # the device tree's 2 MiB above the kernel
    yield 'valid-minimal', sel(64, fdt) + header(0, 0x10000) + bytes(64)
    yield 'valid-text-offset', sel(8, fdt) + header(0x80000, 0x200000)
    yield 'legacy-no-image-size', sel(8, fdt) + header(0x123000, 0)
    yield 'big-endian', sel(8, fdt) + header(0, 0x10000, flags=0xb)
    yield 'bad-magic', sel(8, fdt) + header(0, 0x10000, magic=0x12345678)
    yield 'too-short', sel(8, fdt) + header(0, 0x10000)[:40]
    yield 'too-big', sel(2, fdt) + header(0, 0x200000)
    yield 'offset-overflow', sel(64, fdt) + header(0xfffffffffffff000, 0x2000)
    yield 'size-overflow', sel(64, fdt) + header(0x1000, 0xfffffffffffff000)
    yield 'elf-aarch64', sel(8, fdt) + elf(183)
    yield 'elf-x86_64', sel(8, fdt) + elf(62)
    yield 'bzimage', sel(8, fdt) + bytes(0x202) + b'HdrS' + bytes(16)
    yield 'gzip', sel(8, fdt) + b'\x1f\x8b\x08\0' + bytes(60)


def main():
    os.makedirs(sys.argv[1], exist_ok=True)
    for name, data in seeds():
        with open(os.path.join(sys.argv[1], name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
