#!/usr/bin/env python3
# Seeds for the devices fuzzer (tests/fuzz/fuzz_devices.c): one valid
# request per device so that fuzzing starts from inside request parsing.
# Slot indices follow the order of the PCI functions the fuzzer finds:
# blk, console, net, rng, vsock.  Writes tests/fuzz/devices/corpus/seed-*.
import os, struct

BLK, CONSOLE, NET, RNG, VSOCK = range(5)
N, W = 1, 2

def op_setup(slot, q, sizeexp=4): return bytes([5, slot, q, sizeexp])
def op_ram(gpa, data):
    data += b'\0' * ((-len(data)) % 4)
    assert gpa % 16 == 0 and len(data) <= 1020
    return bytes([4, 0]) + struct.pack('<H', gpa >> 4) + bytes([len(data) // 4]) + data
def op_notify(slot, q): return bytes([6, slot, q])
def op_frame(peer, frame): return bytes([8, 0]) + struct.pack('<H', len(frame)) + bytes([peer]) + frame
def desc(addr, ln, flags, nxt): return struct.pack('<QIHH', addr, ln, flags, nxt)
def ring(q): return 0x10000 + q * 0x4000
def chain(q, descs):
    return op_ram(ring(q), b''.join(descs)) + op_ram(ring(q) + 0x1000, struct.pack('<HHH', 0, 1, 0))

def blk(type_, sector, data_flags, data_len, extra=b''):
    hdr = struct.pack('<IIQ', type_, 0, sector) + extra
    ds = [desc(0x40000, len(hdr), N, 1)]
    if data_len:
        ds += [desc(0x41000, data_len, data_flags | N, 2), desc(0x42000, 1, W, 0)]
    else:
        ds += [desc(0x42000, 1, W, 0)]
    return op_setup(BLK, 0) + chain(0, ds) + op_ram(0x40000, hdr) + op_notify(BLK, 0)

vsock_hdr = struct.pack('<QQIIIHHIII', 3, 2, 5000, 1000, 0, 1, 1, 0, 65536, 0)
frame = b'\0' * 12 + b'\xff' * 6 + b'\x52\x54\0\0\0\1' + b'\x08\x00' + b'x' * 46
seeds = {
    'blk-read': blk(0, 1, W, 512),
    'blk-write': blk(1, 2, 0, 1024),
    'blk-flush': blk(4, 0, 0, 0),
    'blk-getid': blk(8, 0, W, 20),
    'blk-discard': blk(11, 0, 0, 0, struct.pack('<QII', 8, 8, 0)),
    'blk-writezeroes': blk(13, 0, 0, 0, struct.pack('<QII', 8, 8, 1)),
    'rng': op_setup(RNG, 0) + chain(0, [desc(0x40000, 64, W, 0)]) + op_notify(RNG, 0),
    'console-tx': op_setup(CONSOLE, 1) + chain(1, [desc(0x40000, 8, 0, 0)]) +
                  op_ram(0x40000, b'hello\n') + op_notify(CONSOLE, 1),
    'vsock-request': op_setup(VSOCK, 1) + chain(1, [desc(0x40000, 44, 0, 0)]) +
                     op_ram(0x40000, vsock_hdr) + op_notify(VSOCK, 1) +
                     op_setup(VSOCK, 0) + chain(0, [desc(0x50000, 4096, W, 0)]) + op_notify(VSOCK, 0),
    'net-tx': op_setup(NET, 1) + chain(1, [desc(0x40000, len(frame), 0, 0)]) +
              op_ram(0x40000, frame) + op_notify(NET, 1),
    'net-rx': op_setup(NET, 0) + chain(0, [desc(0x50000, 2048, W, 0)]) + op_notify(NET, 0) +
              op_frame(0, frame),
    'net-ctrl': op_setup(NET, 4) + chain(4, [desc(0x40000, 4, N, 1), desc(0x41000, 1, W, 0)]) +
                op_ram(0x40000, bytes([4, 0, 2, 0])) + op_notify(NET, 4),
}
out = os.path.join(os.path.dirname(__file__), 'devices', 'corpus')
os.makedirs(out, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(out, 'seed-' + name), 'wb') as f:
        f.write(data)
