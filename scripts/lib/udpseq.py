#!/usr/bin/env python3
"""A sequence-numbered UDP stream, to check that a flow's frames are never
reordered through the switch.

usage: udpseq.py send IP PORT COUNT [--flows N]
       udpseq.py recv IP PORT COUNT TIMEOUT_S
       udpseq.py send IP PORT --rate PPS --seconds S [--flows N]
       udpseq.py recv IP PORT --idle S [--wait S]
`send` sends COUNT datagrams round-robin over N flows (source ports), each
carrying (flow, sequence); `recv` prints one JSON line: received, lost,
reordered (a datagram older than one already seen from its flow), duplicates.

Paced mode: `send --rate` sends PPS datagrams a second for S seconds, or
until SIGTERM or SIGINT, and prints one JSON line: sent, seconds. `recv
--idle` waits up to --wait seconds (default 10) for the first datagram, stops
once none came for S seconds, and prints received, reordered, duplicates and
missing (sequence numbers below each flow's highest that never came); the
sender's count minus received is what was lost.
"""
import json
import signal
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


def send_paced(ip, port, rate, seconds, flows):
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(flows)]
    stop = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.append(1))
    t0 = time.monotonic()
    sent = 0
    while not stop:
        now = time.monotonic()
        if now - t0 >= seconds:
            break
        due = int((now - t0) * rate) + 1  # datagrams due by now, schedule kept from t0
        while sent < due and not stop:
            f = sent % flows
            socks[f].sendto(struct.pack("!II", f, sent // flows) + bytes(64), (ip, port))
            sent += 1
        time.sleep(min(0.001, 1.0 / rate))
    print(json.dumps(dict(sent=sent, seconds=round(time.monotonic() - t0, 3))), flush=True)


def recv_idle(ip, port, idle, wait):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((ip, port))
    s.settimeout(wait)
    last, seen = {}, set()
    received = reordered = dups = 0
    while True:
        try:
            data = s.recv(2048)
        except socket.timeout:
            break
        s.settimeout(idle)
        f, n = struct.unpack("!II", data[:8])
        if (f, n) in seen:
            dups += 1
            continue
        seen.add((f, n))
        received += 1
        if n < last.get(f, -1):
            reordered += 1
        last[f] = max(n, last.get(f, -1))
    missing = sum(top + 1 for top in last.values()) - received
    print(json.dumps(dict(received=received, reordered=reordered, duplicates=dups, missing=missing)), flush=True)


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


def opt(name, default):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


if __name__ == "__main__":
    if sys.argv[1] == "send":
        flows = int(opt("--flows", 1))
        if "--rate" in sys.argv:
            send_paced(sys.argv[2], int(sys.argv[3]), float(opt("--rate", 0)), float(opt("--seconds", 0)), flows)
        else:
            send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), flows)
    elif "--idle" in sys.argv:
        recv_idle(sys.argv[2], int(sys.argv[3]), float(opt("--idle", 1)), float(opt("--wait", 10)))
    else:
        recv(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
