#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A whole session with wisp-fsd, as wisp and a Linux virtiofs driver
would drive it, without a VM: the vhost-user set-up on its socket (guest
memory in a memfd, a request queue with kick and call eventfds), then
every FUSE request wisp-fsd serves, through the ring, on DIR (its --dir,
empty; this script puts a symlink there first); then a malformed ring,
and a second front end after the first went away.

    fsd_session.py SOCKET DIR

Exit 0 when every reply and the directory are as expected.  Run against
`wisp-fsd --seccomp true` it shows the filter lets a session through;
under `strace -f -c` it lists the calls a session takes (docs/security.md).
"""
import mmap
import os
import select
import socket
import struct
import sys

MEM = 1 << 20
QVA = 0x7f0000000000          # where the "front end" says it maps guest memory
NUM = 8
DESC, AVAIL, USED = 0x1000, 0x2000, 0x3000
REQ, REP = 0x10000, 0x40000   # request and reply buffers (guest-physical)
REP_LEN = 0x30000

(GET_FEATURES, SET_FEATURES, SET_OWNER, SET_MEM_TABLE, SET_VRING_NUM, SET_VRING_ADDR,
 SET_VRING_BASE, GET_VRING_BASE, SET_VRING_KICK, SET_VRING_CALL, SET_VRING_ERR,
 GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES, SET_VRING_ENABLE) = (
    1, 2, 3, 5, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18)

LOOKUP, FORGET, GETATTR, SETATTR, READLINK, MKDIR, UNLINK, RMDIR, RENAME = 1, 2, 3, 4, 5, 9, 10, 11, 12
OPEN, READ, WRITE, STATFS, RELEASE, FSYNC, FLUSH, INIT = 14, 15, 16, 17, 18, 20, 25, 26
OPENDIR, READDIR, RELEASEDIR, ACCESS, CREATE, DESTROY = 27, 28, 29, 34, 35, 38
BATCH_FORGET, READDIRPLUS, RENAME2, SYMLINK = 42, 44, 45, 6


def fail(msg):
    print("fsd_session: " + msg, file=sys.stderr)
    sys.exit(1)


class FrontEnd:
    def __init__(self, path, mem_fd, mem):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.mem_fd, self.mem = mem_fd, mem
        self.unique = 0
        self.used_seen = 0

    def msg(self, req, payload=b"", fds=(), reply=False):
        flags = 0x1 | (0x8 if reply else 0)
        data = struct.pack("<III", req, flags, len(payload)) + payload
        socket.send_fds(self.s, [data], list(fds))
        if reply or req in (GET_FEATURES, GET_PROTOCOL_FEATURES, GET_VRING_BASE):
            hdr = self.s.recv(12, socket.MSG_WAITALL)
            size = struct.unpack("<III", hdr)[2]
            return self.s.recv(size, socket.MSG_WAITALL)
        return None

    def setup(self):
        feats = struct.unpack("<Q", self.msg(GET_FEATURES))[0]
        self.msg(SET_FEATURES, struct.pack("<Q", feats))
        struct.unpack("<Q", self.msg(GET_PROTOCOL_FEATURES))
        self.msg(SET_PROTOCOL_FEATURES, struct.pack("<Q", 1 << 3))
        self.msg(SET_OWNER)
        table = struct.pack("<II", 1, 0) + struct.pack("<QQQQ", 0, MEM, QVA, 0)
        if self.msg(SET_MEM_TABLE, table, [self.mem_fd], reply=True) != struct.pack("<Q", 0):
            fail("SET_MEM_TABLE refused")
        self.mem[0:MEM] = bytes(MEM)
        self.msg(SET_VRING_NUM, struct.pack("<II", 1, NUM))
        self.msg(SET_VRING_BASE, struct.pack("<II", 1, 0))
        self.msg(SET_VRING_ADDR, struct.pack("<IIQQQQ", 1, 0, QVA + DESC, QVA + USED,
                                              QVA + AVAIL, 0))
        self.call, self.kick, self.err = os.eventfd(0), os.eventfd(0), os.eventfd(0)
        self.msg(SET_VRING_CALL, struct.pack("<Q", 1), [self.call])
        self.msg(SET_VRING_ERR, struct.pack("<Q", 1), [self.err])
        self.msg(SET_VRING_KICK, struct.pack("<Q", 1), [self.kick])
        self.msg(SET_VRING_ENABLE, struct.pack("<II", 1, 1))
        self.avail = 0

    def offer(self, descs):
        for i, (addr, length, flags, nxt) in enumerate(descs):
            struct.pack_into("<QIHH", self.mem, DESC + 16 * i, addr, length, flags, nxt)
        struct.pack_into("<H", self.mem, AVAIL + 4 + 2 * (self.avail % NUM), 0)
        self.avail = (self.avail + 1) & 0xffff
        struct.pack_into("<H", self.mem, AVAIL + 2, self.avail)
        os.eventfd_write(self.kick, 1)

    def fuse(self, opcode, node, arg=b"", expect_reply=True):
        self.unique += 1
        req = struct.pack("<IIQQIIIHH", 40 + len(arg), opcode, self.unique, node, 0, 0, 0, 0, 0) + arg
        self.mem[REQ:REQ + len(req)] = req
        self.offer([(REQ, len(req), 1, 1), (REP, REP_LEN, 2, 0)])
        if not select.select([self.call], [], [], 5)[0]:
            fail("no reply to opcode %d" % opcode)
        os.eventfd_read(self.call)
        used = struct.unpack_from("<H", self.mem, USED + 2)[0]
        if used != self.avail:
            fail("used index %d, expected %d" % (used, self.avail))
        length = struct.unpack_from("<I", self.mem, USED + 4 + 8 * ((used - 1) % NUM) + 4)[0]
        if not expect_reply:
            return 0, b""
        olen, err, uniq = struct.unpack_from("<IiQ", self.mem, REP)
        if uniq != self.unique or olen != length:
            fail("opcode %d: reply header %d/%d/%d" % (opcode, olen, uniq, length))
        return err, bytes(self.mem[REP + 16:REP + olen])

    def ok(self, opcode, node, arg=b""):
        err, data = self.fuse(opcode, node, arg)
        if err:
            fail("opcode %d on node %d: error %d" % (opcode, node, err))
        return data


def session(fe, d):
    fe.ok(INIT, 0, struct.pack("<IIII", 7, 31, 65536, 0) + bytes(48))
    create = fe.ok(CREATE, 1, struct.pack("<IIII", os.O_RDWR, 0o644, 0, 0) + b"f\0")
    node, fh = struct.unpack_from("<Q", create)[0], struct.unpack_from("<Q", create, 128)[0]
    fe.ok(WRITE, node, struct.pack("<QQIIQII", fh, 0, 5, 0, 0, 0, 0) + b"hello")
    if fe.ok(READ, node, struct.pack("<QQIIQII", fh, 0, 100, 0, 0, 0, 0)) != b"hello":
        fail("read back")
    fe.ok(FSYNC, node, struct.pack("<QII", fh, 1, 0))
    fe.ok(FSYNC, node, struct.pack("<QII", fh, 0, 0))
    fe.ok(FLUSH, node, struct.pack("<QIIQ", fh, 0, 0, 0))
    # mode, size through the handle, times
    fe.ok(SETATTR, node, struct.pack("<IIQQQQQQIIIIIIII", 1 | 8 | 64 | 16 | 256, 0, fh, 3, 0,
                                     1000, 0, 0, 0, 0, 0, 0o600, 0, 0, 0, 0))
    fe.ok(SETATTR, node, struct.pack("<IIQQQQQQIIIIIIII", 8, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0,
                                     0, 0, 0, 0, 0))
    # owner and group: to what they are (a chown any user may make)
    fe.ok(SETATTR, node, struct.pack("<IIQQQQQQIIIIIIII", 2 | 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                     0, 0, os.getuid(), os.getgid(), 0))
    fe.ok(GETATTR, node, bytes(16))
    fe.ok(RELEASE, node, struct.pack("<QIIQ", fh, 0, 0, 0))
    fe.ok(ACCESS, node, struct.pack("<II", 4, 0))
    # opened again with O_TRUNC: empty from here on
    fh = struct.unpack_from("<Q", fe.ok(OPEN, node, struct.pack("<II", os.O_RDWR | os.O_TRUNC, 0)))[0]
    fe.ok(RELEASE, node, struct.pack("<QIIQ", fh, 0, 0, 0))
    dnode = struct.unpack_from("<Q", fe.ok(MKDIR, 1, struct.pack("<II", 0o755, 0) + b"d\0"))[0]
    link = struct.unpack_from("<Q", fe.ok(LOOKUP, 1, b"link\0"))[0]
    if fe.ok(READLINK, link) != b"/etc/passwd":
        fail("readlink")
    dfh = struct.unpack_from("<Q", fe.ok(OPENDIR, 1, struct.pack("<II", 0, 0)))[0]
    fe.ok(READDIRPLUS, 1, struct.pack("<QQIIQII", dfh, 0, 4096, 0, 0, 0, 0))
    fe.ok(READDIR, 1, struct.pack("<QQIIQII", dfh, 0, 4096, 0, 0, 0, 0))
    fe.ok(READDIR, 1, struct.pack("<QQIIQII", dfh, 1, 4096, 0, 0, 0, 0))
    fe.ok(RELEASEDIR, 1, struct.pack("<QIIQ", dfh, 0, 0, 0))
    fe.ok(STATFS, 1)
    fe.ok(RENAME, 1, struct.pack("<Q", dnode) + b"f\0g\0")
    fe.ok(RENAME2, dnode, struct.pack("<QII", 1, 0, 0) + b"g\0h\0")
    # refused, answered all the same
    for opcode, node_id, arg in ((SYMLINK, 1, b"x\0y\0"), (LOOKUP, 1, b"..\0"), (99, 1, b""),
                                 (OPEN, link, struct.pack("<II", 0, 0)), (LOOKUP, 1, b"nope\0")):
        if fe.fuse(opcode, node_id, arg)[0] == 0:
            fail("opcode %d was served" % opcode)
    if sorted(os.listdir(d)) != ["d", "h", "link"] or os.path.getsize(os.path.join(d, "h")) != 0:
        fail("directory: %s" % sorted(os.listdir(d)))
    fe.fuse(FORGET, link, struct.pack("<Q", 1), expect_reply=False)
    fe.fuse(BATCH_FORGET, 0, struct.pack("<II", 1, 0) + struct.pack("<QQ", dnode, 1), expect_reply=False)
    fe.ok(UNLINK, 1, b"h\0")
    fe.ok(RMDIR, 1, b"d\0")
    fe.ok(DESTROY, 0)


def main():
    path, d = sys.argv[1], sys.argv[2]
    os.symlink("/etc/passwd", os.path.join(d, "link"))
    mem_fd = os.memfd_create("guest")
    os.ftruncate(mem_fd, MEM)
    mem = mmap.mmap(mem_fd, MEM)
    fe = FrontEnd(path, mem_fd, mem)
    fe.setup()
    session(fe, d)
    # a descriptor chain that loops: the queue stops and says so
    fe.offer([(REQ, 64, 1, 0)])
    if not select.select([fe.err], [], [], 5)[0]:
        fail("no error signalled for a looping chain")
    base = struct.unpack("<II", fe.msg(GET_VRING_BASE, struct.pack("<II", 1, 0)))[1]
    fe.s.close()
    # the next front end finds it
    fe = FrontEnd(path, mem_fd, mem)
    fe.setup()
    fe.ok(INIT, 0, struct.pack("<IIII", 7, 31, 65536, 0) + bytes(48))
    fe.ok(STATFS, 1)
    fe.s.close()
    print("fsd_session: %d requests, a stopped queue (base %d), a second front end: ok"
          % (fe.unique, base))


main()
