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
import os
import socket
import struct
import sys
import time

GET_FEATURES, SET_FEATURES, SET_OWNER = 1, 2, 3
GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES, GET_CONFIG = 15, 16, 24
GET_QUEUE_NUM = 17
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


def main():
    path, mode = sys.argv[1], sys.argv[2]
    if os.path.exists(path):
        os.unlink(path)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
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
