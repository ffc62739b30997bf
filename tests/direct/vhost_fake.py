#!/usr/bin/env python3
# A misbehaving vhost-user back-end for the direct tests' bad-input
# cases (tests/direct/vhost.sh): it listens on SOCKET, serves one
# connection the way MODE says, and exits.
#   vhost_fake.py SOCKET MODE
# MODE:
#   close       closes the connection at the first request
#   garbage     answers GET_FEATURES with a message that is no reply
#   short       answers GET_FEATURES with 3 payload bytes
#   old         offers no VIRTIO_F_VERSION_1
#   noconfig    a block back-end that does not offer GET_CONFIG
#   zero        a block back-end whose capacity is 0
#   fds         answers GET_FEATURES with a file descriptor attached
#   silent      never answers
#   owner       closes the connection at SET_OWNER (mid-negotiation)
#   runtime     negotiates properly, then closes the connection when the
#               driver starts the device (SET_FEATURES)
#   onepair     a net back-end with multiqueue (protocol feature MQ,
#               VIRTIO_NET_F_MQ) that serves one queue pair
#   inflight    a block back-end with INFLIGHT_SHMFD that "dies" once the
#               driver starts the device (after SET_MEM_TABLE), leaving
#               a marker in the inflight memory it gave wisp; its
#               successor (the next connection) checks that wisp hands
#               that same memory back with SET_INFLIGHT_FD and asks for
#               no new one.  It prints its findings, "INFLIGHT ...".
import os
import socket
import struct
import sys
import time

GET_FEATURES, SET_FEATURES, SET_OWNER = 1, 2, 3
GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES, GET_CONFIG = 15, 16, 24
GET_QUEUE_NUM, GET_VRING_BASE = 17, 11
SET_MEM_TABLE, GET_INFLIGHT_FD, SET_INFLIGHT_FD = 5, 31, 32
F_INFLIGHT = 1 << 12
INFLIGHT = struct.Struct("<QQHHI")
VERSION_1, PROTOCOL_FEATURES, NET_F_MQ = 1 << 32, 1 << 30, 1 << 22
F_MQ, F_REPLY_ACK, F_CONFIG = 1 << 0, 1 << 3, 1 << 9
HDR = struct.Struct("<III")


def recv_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            sys.exit(0)
        data += chunk
    return data


def reply(conn, req, payload):
    conn.sendall(HDR.pack(req, 0x5, len(payload)) + payload)


def recv_msg(conn):
    """One request: (request, payload, fds); None at the end."""
    data, anc, _, _ = conn.recvmsg(HDR.size, socket.CMSG_SPACE(8 * 4))
    if not data:
        return None
    data += recv_exact(conn, HDR.size - len(data))
    fds = []
    for level, kind, raw in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds += list(struct.unpack("%di" % (len(raw) // 4), raw[:len(raw) - len(raw) % 4]))
    req, _, size = HDR.unpack(data)
    return req, recv_exact(conn, size) if size else b"", fds


def blk_config(payload):
    offset, length, cflags = struct.unpack("<III", payload[:12])
    config = bytearray(length)
    config[0:8] = struct.pack("<Q", 8192)
    config[12:16] = struct.pack("<I", 126)
    config[20:24] = struct.pack("<I", 512)
    return struct.pack("<III", offset, length, cflags) + bytes(config)


def inflight(srv):
    marker = b"WISP-INFLIGHT-%d" % os.getpid()
    for n in (1, 2):
        conn, _ = srv.accept()
        while True:
            msg = recv_msg(conn)
            if msg is None:
                break
            req, payload, fds = msg
            if req == GET_FEATURES:
                # a read-only disk: SEG_MAX, RO, BLK_SIZE, FLUSH
                blk = (1 << 2) | (1 << 5) | (1 << 6) | (1 << 9)
                reply(conn, req, struct.pack("<Q", VERSION_1 | PROTOCOL_FEATURES | blk))
            elif req == GET_PROTOCOL_FEATURES:
                reply(conn, req, struct.pack("<Q", F_CONFIG | F_INFLIGHT))
            elif req == GET_CONFIG:
                reply(conn, req, blk_config(payload))
            elif req == GET_VRING_BASE:
                reply(conn, req, payload[:4] + struct.pack("<I", 0))
            elif req == GET_INFLIGHT_FD:
                _, _, queues, qsize, _ = INFLIGHT.unpack(payload)
                print("INFLIGHT connection %d: GET_INFLIGHT_FD for %d queue(s) of %d" %
                      (n, queues, qsize), flush=True)
                region = os.memfd_create("inflight")
                os.write(region, marker.ljust(4096, b"\0"))
                conn.sendmsg([HDR.pack(req, 0x5, INFLIGHT.size) +
                              INFLIGHT.pack(4096, 0, queues, qsize, 0)],
                             [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("i", region))])
                os.close(region)
            elif req == SET_INFLIGHT_FD:
                size, offset, _, _, _ = INFLIGHT.unpack(payload)
                got = os.pread(fds[0], len(marker), offset) if len(fds) == 1 else b""
                print("INFLIGHT connection %d: SET_INFLIGHT_FD with %d fd(s), %d bytes, %s" %
                      (n, len(fds), size, "the region holding our marker"
                       if got == marker else "another region %r" % got), flush=True)
            elif req == SET_MEM_TABLE and n == 1:
                # dies with the driver's requests "in flight"
                for fd in fds:
                    os.close(fd)
                conn.close()
                break
            for fd in fds:
                os.close(fd)
        print("INFLIGHT connection %d: closed" % n, flush=True)
    srv.close()


def main():
    path, mode = sys.argv[1], sys.argv[2]
    if os.path.exists(path):
        os.unlink(path)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    if mode == "inflight":
        inflight(srv)
        return
    conn, _ = srv.accept()
    srv.close()
    protocol = F_CONFIG | (F_MQ if mode == "onepair" else 0)
    while True:
        req, flags, size = HDR.unpack(recv_exact(conn, HDR.size))
        payload = recv_exact(conn, size) if size else b""
        if mode == "close" or (mode == "owner" and req == SET_OWNER) or \
                (mode == "runtime" and req == SET_FEATURES):
            conn.close()
            # the runtime case: stay away, so wisp keeps retrying
            time.sleep(30 if mode == "runtime" else 0)
            return
        if mode == "silent":
            time.sleep(30)
            return
        if req == GET_FEATURES:
            if mode == "garbage":
                conn.sendall(b"\xde\xad\xbe\xef" * 8)
            elif mode == "short":
                reply(conn, req, b"abc")
            elif mode == "fds":
                msg = HDR.pack(req, 0x5, 8) + struct.pack("<Q", VERSION_1)
                conn.sendmsg([msg], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                      struct.pack("i", sys.stdin.fileno()))])
            elif mode == "old":
                reply(conn, req, struct.pack("<Q", PROTOCOL_FEATURES))
            elif mode == "onepair":
                reply(conn, req, struct.pack("<Q", VERSION_1 | PROTOCOL_FEATURES | NET_F_MQ))
            else:
                # a read-only disk: SEG_MAX, RO, BLK_SIZE, FLUSH
                blk = (1 << 2) | (1 << 5) | (1 << 6) | (1 << 9)
                reply(conn, req, struct.pack("<Q", VERSION_1 | PROTOCOL_FEATURES | blk))
        elif req == GET_PROTOCOL_FEATURES:
            reply(conn, req, struct.pack("<Q", 0 if mode == "noconfig" else protocol))
        elif req == GET_QUEUE_NUM:
            reply(conn, req, struct.pack("<Q", 1))
        elif req == GET_CONFIG:
            offset, length, cflags = struct.unpack("<III", payload[:12])
            config = bytearray(length)
            capacity = 0 if mode == "zero" else 8192
            config[0:8] = struct.pack("<Q", capacity)
            config[12:16] = struct.pack("<I", 126)
            config[20:24] = struct.pack("<I", 512)
            reply(conn, req, struct.pack("<III", offset, length, cflags) + bytes(config))
        # other requests (SET_OWNER, SET_PROTOCOL_FEATURES) need no reply


main()
