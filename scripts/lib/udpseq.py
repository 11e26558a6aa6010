#!/usr/bin/env python3
"""A sequence-numbered UDP stream, to check that a flow's frames are never
reordered through the switch.

usage: udpseq.py send IP PORT COUNT [--flows N]
       udpseq.py recv IP PORT COUNT TIMEOUT_S
`send` sends COUNT datagrams round-robin over N flows (source ports), each
carrying (flow, sequence); `recv` prints one JSON line: received, lost,
reordered (a datagram older than one already seen from its flow), duplicates.
"""
import json
import socket
import struct
import sys
import time


def send(ip, port, count, flows):
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(flows)]
    for i in range(count):
        f = i % flows
        socks[f].sendto(struct.pack("!II", f, i // flows) + bytes(64), (ip, port))
        if i % 64 == 63:
            time.sleep(0.0005)  # paced a little, so loss in socket buffers stays rare


def recv(ip, port, count, timeout):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((ip, port))
    s.settimeout(timeout)
    last, seen = {}, set()
    received = reordered = dups = 0
    while received + dups < count:
        try:
            data = s.recv(2048)
        except socket.timeout:
            break
        f, n = struct.unpack("!II", data[:8])
        if (f, n) in seen:
            dups += 1
            continue
        seen.add((f, n))
        received += 1
        if n < last.get(f, -1):
            reordered += 1
        last[f] = max(n, last.get(f, -1))
    print(json.dumps(dict(received=received, lost=count - received, reordered=reordered, duplicates=dups)))


if __name__ == "__main__":
    if sys.argv[1] == "send":
        flows = int(sys.argv[sys.argv.index("--flows") + 1]) if "--flows" in sys.argv else 1
        send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), flows)
    else:
        recv(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
