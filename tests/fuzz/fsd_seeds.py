#!/usr/bin/env python3
# Seeds for the wisp-fsd fuzzer (tests/fuzz/fuzz_fsd.c): a ring set up,
# then FUSE sessions on the scratch share (file, dir/inner, the symlinks
# up and abs) through the "one well-formed chain" shortcut, and the
# vhost-user messages that set a ring up.  Writes
# tests/fuzz/fsd/corpus/seed-*.
import os, struct

OPCODES = [1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 20, 25, 26,
           27, 28, 29, 30, 34, 35, 36, 38, 42, 44, 45]
(LOOKUP, FORGET, GETATTR, SETATTR, READLINK, OPEN, READ, WRITE, RELEASE, FSYNC, INIT,
 OPENDIR, READDIR, CREATE, MKDIR, UNLINK, RMDIR, RENAME2, READDIRPLUS, STATFS, ACCESS) = (
    1, 2, 3, 4, 5, 14, 15, 16, 18, 20, 26, 27, 28, 35, 9, 10, 11, 45, 44, 17, 34)


def addr(gpa): return bytes([0]) + gpa.to_bytes(3, 'little')


def ring(q=0, log2=4, base=0x1000):
    return bytes([0, q, log2]) + addr(base) + addr(base + 0x1000) + addr(base + 0x2000) + b'\0\0'


def fuse(opcode, node, arg=b'', q=0):
    sel = next(s for s in range(1, 248) if s % len(OPCODES) == OPCODES.index(opcode) and s & 7)
    return bytes([2, q, sel, len(arg), 1, node]) + arg


def msg(req, payload=b''):
    return bytes([3, req, 1]) + len(payload).to_bytes(2, 'little') + payload


def rd(fh, off=0, size=4096): return struct.pack('<QQIIQII', fh, off, size, 0, 0, 0, 0)


init = fuse(INIT, 0, struct.pack('<IIII', 7, 31, 65536, 0) + bytes(48))
seeds = {
    'lookup-read': ring() + init + fuse(LOOKUP, 1, b'file\0') + fuse(OPEN, 2, struct.pack('<II', 2, 0))
    + fuse(READ, 2, rd(0)) + fuse(GETATTR, 2, bytes(16)) + fuse(RELEASE, 2, bytes(24)),
    'create-write': ring() + init + fuse(CREATE, 1, struct.pack('<IIII', 0o102, 0o644, 0, 0) + b'new\0')
    + fuse(WRITE, 2, struct.pack('<QQIIQII', 0, 0, 5, 0, 0, 0, 0) + b'hello')
    + fuse(FSYNC, 2, struct.pack('<QII', 0, 1, 0)) + fuse(SETATTR, 2, struct.pack('<IIQQQQQQIIIIIIII', 8 | 1, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0o600, 0, 0, 0, 0)),
    'dirs': ring() + init + fuse(MKDIR, 1, struct.pack('<II', 0o755, 0) + b'd\0')
    + fuse(OPENDIR, 1, bytes(8)) + fuse(READDIRPLUS, 1, rd(0)) + fuse(READDIR, 1, rd(0, 1))
    + fuse(RENAME2, 1, struct.pack('<QII', 2, 0, 0) + b'file\0moved\0') + fuse(RMDIR, 1, b'd\0'),
    'symlinks': ring() + init + fuse(LOOKUP, 1, b'up\0') + fuse(READLINK, 2) + fuse(LOOKUP, 1, b'abs\0')
    + fuse(OPEN, 3, bytes(8)) + fuse(ACCESS, 2, struct.pack('<II', 4, 0)) + fuse(LOOKUP, 1, b'..\0')
    + fuse(FORGET, 2, struct.pack('<Q', 1)) + fuse(STATFS, 1),
    'vhost-user': msg(1) + msg(15) + msg(2, struct.pack('<Q', 1 << 32)) + msg(8, struct.pack('<II', 1, 8))
    + msg(9, struct.pack('<IIQQQQ', 1, 0, 0x7f0000001000, 0x7f0000003000, 0x7f0000002000, 0))
    + msg(10, struct.pack('<II', 1, 0)) + msg(12, struct.pack('<Q', 0x101)) + msg(18, struct.pack('<II', 1, 1))
    + fuse(INIT, 0, struct.pack('<IIII', 7, 31, 65536, 0) + bytes(48), q=1)
    + msg(11, struct.pack('<II', 1, 0)) + msg(4),
}
d = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fsd', 'corpus')
os.makedirs(d, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(d, 'seed-' + name), 'wb') as f:
        f.write(data)
