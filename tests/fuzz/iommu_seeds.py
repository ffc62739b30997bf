#!/usr/bin/env python3
# Seeds for the virtio-iommu fuzzer (tests/fuzz/fuzz_iommu.c): a driver's
# usual sequences -- attach both endpoints, map, translate (inside, at
# the edge, past the end, writes to read-only), probe, unmap, detach --
# and the IOMMU's own queues set up and notified.  Writes
# tests/fuzz/iommu/corpus/seed-*.
import os

ATTACH, DETACH, MAP, UNMAP, PROBE = range(5)   # type byte -> type % 5 + 1


def le(v, n): return v.to_bytes(n, 'little')
def op(kind, slot=0): return bytes([slot, kind])
def page(n): return bytes([0]) + le(n, 2)              # n * 4 KiB
def pages(n): return bytes([n - 1])                    # a range of n pages


def attach(ep, dom=1): return op(0) + bytes([ATTACH, 0, dom, ep])
def detach(ep, dom=1): return op(0) + bytes([DETACH, 0, dom, ep])
def map_(start, n, phys, flags=3, dom=1): return op(0) + bytes([MAP, 0, dom]) + page(start) + pages(n) + page(phys) + bytes([flags])
def unmap(start, n, dom=1): return op(0) + bytes([UNMAP, 0, dom]) + page(start) + pages(n)
def probe(ep, resp=None):
    shape = 0x10 if resp is not None else 0
    return op(0) + bytes([PROBE, shape, 0, ep]) + (le(resp, 2) if resp is not None else b'')
def translate(ep, seen, off, length, write=False):
    return op(2) + bytes([ep, 2 if not write else 3, seen]) + le(off, 3) + le(length - 1, 3)
def queue(slot, q, log2): return op(5, slot) + bytes([q, log2])
def notify(slot, q): return op(6, slot) + bytes([q])


seeds = {
    'map-translate': attach(0) + map_(0x100, 4, 0x200) + translate(0, 0, 0x10, 64)
    + translate(0, 0, 0x3ff0, 64, True) + translate(0, 0, 0x4000, 8) + unmap(0x100, 4)
    + translate(0, 0, 0, 8) + detach(0),
    'shared-domain': attach(0) + attach(1) + map_(0x10, 1, 0x20, 1) + map_(0x11, 1, 0x21, 3)
    + translate(1, 0, 0xff0, 0x20) + translate(1, 0, 0, 8, True) + detach(0) + translate(1, 1, 0, 8)
    + attach(1, 2) + translate(1, 1, 0, 8),
    'probe': attach(0) + probe(0) + probe(1, 100) + probe(0, 1000),
    'unmap-split': attach(0) + map_(0x100, 8, 0x300) + unmap(0x102, 2) + unmap(0x100, 8),
    'queues': b''.join(queue(s, q, 4) + notify(s, q) for s in range(5) for q in range(2))
    + translate(0, 0, 0, 8) + op(7) + bytes([0]),
}
d = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'iommu', 'corpus')
os.makedirs(d, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(d, 'seed-' + name), 'wb') as f:
        f.write(data)
