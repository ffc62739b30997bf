#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Seeds for tests/fuzz/fuzz_vhost_user.c: well-behaved back-ends.

Each seed is the parameter byte, the config-length byte, then the
back-end's replies as segments (16-bit length, descriptor count, bytes),
in the order wisp's front end asks: GET_FEATURES, GET_PROTOCOL_FEATURES,
GET_QUEUE_NUM, the SET_OWNER ack, GET_CONFIG, then per started queue
the SET_VRING_ENABLE ack and GET_VRING_BASE.  Usage: vhost_user_seeds.py DIR
"""
import os
import struct
import sys

REPLY = 0x1 | 0x4          # version 1, reply
GET_FEATURES, SET_OWNER, GET_VRING_BASE = 1, 3, 11
GET_PROTOCOL_FEATURES, GET_QUEUE_NUM, SET_VRING_ENABLE, GET_CONFIG = 15, 17, 18, 24
VERSION_1, PROTOCOL_FEATURES = 1 << 32, 1 << 30
MQ, REPLY_ACK, CONFIG = 1 << 0, 1 << 3, 1 << 9


def reply(request, payload, flags=REPLY):
    return struct.pack('<III', request, flags, len(payload)) + payload


def u64(v):
    return struct.pack('<Q', v)


def segments(*msgs, nfds=0):
    out = b''
    for m in msgs:
        out += struct.pack('<HB', len(m), nfds) + m
    return out


def params(nqueues=1, without_mq2=False, config=False, started=0, required=False,
           check=False):
    return bytes([(nqueues - 1) | without_mq2 << 2 | config << 3 | started << 4 |
                  required << 6 | check << 7])


def config_reply(length, payload):
    return reply(GET_CONFIG, struct.pack('<III', 0, length, 0) + payload)


def seeds():
    # the oldest back-end: VERSION_1 and nothing else
    yield 'minimal', params() + b'\0' + segments(reply(GET_FEATURES, u64(VERSION_1)))
    # a qemu-storage-daemon-like blk back-end: protocol features, its
    # config (60 bytes, capacity 2048 sectors), one queue reset
    blk_config = u64(2048) + bytes(52)
    yield 'blk-config', params(config=True, started=1, check=True, required=True) + \
        bytes([60 - 1]) + segments(
            reply(GET_FEATURES, u64(VERSION_1 | PROTOCOL_FEATURES | 1 << 6)),
            reply(GET_PROTOCOL_FEATURES, u64(MQ | REPLY_ACK | CONFIG | 1 << 1)),
            reply(SET_OWNER, u64(0)),
            config_reply(60, blk_config),
            reply(SET_VRING_ENABLE, u64(0)),
            reply(GET_VRING_BASE, struct.pack('<II', 0, 7)))
    # a multiqueue net pair: GET_QUEUE_NUM, two queues reset
    yield 'net-mq', params(nqueues=4, without_mq2=True, started=2) + b'\0' + segments(
        reply(GET_FEATURES, u64(VERSION_1 | PROTOCOL_FEATURES)),
        reply(GET_PROTOCOL_FEATURES, u64(MQ | REPLY_ACK)),
        reply(GET_QUEUE_NUM, u64(4)),
        reply(SET_OWNER, u64(0)),
        reply(SET_VRING_ENABLE, u64(0)),
        reply(GET_VRING_BASE, struct.pack('<II', 0, 0)),
        reply(SET_VRING_ENABLE, u64(0)),
        reply(GET_VRING_BASE, struct.pack('<II', 1, 0)))
    # a reply split over two writes, and one carrying a descriptor
    r = reply(GET_FEATURES, u64(VERSION_1))
    yield 'split', params() + b'\0' + segments(r[:5], r[5:])
    yield 'fd-refused', params() + b'\0' + segments(r, nfds=1)
    # a refusal: REPLY_ACK says no to SET_OWNER
    yield 'refused', params() + b'\0' + segments(
        reply(GET_FEATURES, u64(VERSION_1 | PROTOCOL_FEATURES)),
        reply(GET_PROTOCOL_FEATURES, u64(REPLY_ACK)),
        reply(SET_OWNER, u64(1)))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, data in seeds():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
