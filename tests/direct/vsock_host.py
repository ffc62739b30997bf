#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The host side of tests/guests/virtio_vsock.c (hybrid vsock):
#   vsock_host.py PATH
# listens on PATH_5678, connects to wisp's PATH, sends "CONNECT 1234",
# expects "OK <port>", sends "ping", expects "pong", closes; then takes
# the guest's connection on PATH_5678: "hello\n" in, "world\n" out.
import socket
import sys
import time

path = sys.argv[1]


def fail(why):
    print("HOST FAIL", why)
    sys.exit(1)


def read_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            fail("EOF after %r" % data)
        data += chunk
    return data


def read_line(s):
    data = b""
    while not data.endswith(b"\n"):
        data += read_exact(s, 1)
    return data


listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
listener.bind(path + "_5678")
listener.listen(1)
listener.settimeout(30)

deadline = time.time() + 30
while True:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        break
    except OSError:
        s.close()
        if time.time() > deadline:
            fail("cannot connect to " + path)
        time.sleep(0.05)
s.settimeout(30)
s.sendall(b"CONNECT 1234\n")
line = read_line(s)
if not line.startswith(b"OK ") or not line[3:-1].isdigit():
    fail("answer %r" % line)
s.sendall(b"ping")
reply = read_exact(s, 4)
if reply != b"pong":
    fail("reply %r" % reply)
s.close()
print("HOST connect 1234:", line.decode().strip(), "ping -> pong")

c, _ = listener.accept()
c.settimeout(30)
line = read_line(c)
if line != b"hello\n":
    fail("guest sent %r" % line)
c.sendall(b"world\n")
c.close()
print("HOST accepted on _5678: hello -> world")
