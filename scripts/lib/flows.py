#!/usr/bin/env python3
"""Many paced UDP flows, counted per flow, for the ECMP failover test.

usage: flows.py send IP PORT --flows N --sport BASE --rate-per-flow R --out FILE
       flows.py recv IP PORT --out FILE
       flows.py report --sent FILE --received FILE --map NAME=FILE... --event NAME=NS...
       flows.py hops VXCTL SOCK
       flows.py watch VXCTL SOCK IP --since NS --until FIELD=VALUE [--for S] [--timeout S]

`send` sends datagram i of flow i % N (source port BASE + flow) at
t0 + i / (N * R) until SIGTERM, each carrying (flow, sequence), and writes
t0 (wall clock), the rate, N, BASE and how many it sent to FILE. `recv`
prints "ready" once bound, receives until SIGTERM, then writes the sequence
numbers received per flow to FILE.

`report` prints "key value" lines: flows per router (from MAP files, one
inner source port a line, as tshark read them off each router's leg), and,
per phase (before the first event, then from each event to the next; each
event a wall-clock time in ns) and per router, the datagrams its flows lost,
how many of its flows lost any, the loss window each flow saw (lost
datagrams / per-flow rate: max and mean, ms), the send times of the first
and last lost datagram from the phase's start, and how many of its flows
were received after the last event.

`hops` prints one line per next hop: ip state mac weight buckets tx_packets.
`watch` polls `nexthop list` and prints elapsed_ms (since NS) when the hop's
FIELD first equals VALUE, the states and MACs it saw, and its last entry;
with --for it keeps polling that long (from NS) after the match. Exits 1 if
the match never came within --timeout (from NS).
"""
import json
import resource
import signal
import socket
import struct
import subprocess
import sys
import time


def opt(name, default=None):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def opts(name):
    return [sys.argv[i + 1] for i, a in enumerate(sys.argv) if a == name]


def stopper():
    stop = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.append(1))
    return stop


def send(ip, port):
    flows = int(opt("--flows"))
    base = int(opt("--sport"))
    rate = flows * float(opt("--rate-per-flow"))
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    socks = []
    for f in range(flows):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", base + f))
        socks.append(s)
    pad = bytes(56)
    stop = stopper()
    t0 = time.time()
    m0 = time.monotonic()
    sent = 0
    while not stop:
        due = int((time.monotonic() - m0) * rate) + 1
        while sent < due and not stop:
            f = sent % flows
            socks[f].sendto(struct.pack("!II", f, sent // flows) + pad, (ip, port))
            sent += 1
        time.sleep(0.001)
    out = dict(t0=t0, rate=rate, flows=flows, sport=base, sent=sent)
    with open(opt("--out"), "w") as fh:
        json.dump(out, fh)


def recv(ip, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, 33, 32 << 20)  # SO_RCVBUFFORCE (root)
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 << 20)
    s.bind((ip, port))
    s.settimeout(0.1)
    stop = stopper()
    got = {}
    print("ready", flush=True)
    while True:
        try:
            data = s.recv(2048)
        except socket.timeout:
            if stop:
                break
            continue
        except InterruptedError:
            continue
        f, n = struct.unpack("!II", data[:8])
        got.setdefault(f, []).append(n)
    with open(opt("--out"), "w") as fh:
        json.dump(got, fh)


def report():
    with open(opt("--sent")) as fh:
        sent = json.load(fh)
    with open(opt("--received")) as fh:
        got = {int(f): set(v) for f, v in json.load(fh).items()}
    flows, rate, base, total = sent["flows"], sent["rate"], sent["sport"], sent["sent"]
    per_flow = rate / flows
    where = {}
    routers = []
    for m in opts("--map"):
        name, path = m.split("=", 1)
        routers.append(name)
        with open(path) as fh:
            for line in fh:
                if line.strip():
                    where.setdefault(int(line) - base, []).append(name)
    out = {}
    for r in routers:
        out["flows_" + r] = sum(1 for f in range(flows) if where.get(f) == [r])
    out["flows_unseen"] = sum(1 for f in range(flows) if f not in where)
    out["flows_multi"] = sum(1 for f in range(flows) if len(where.get(f, [])) > 1)
    out["flows_foreign"] = sum(1 for f in where if not 0 <= f < flows)
    # Phases: from the first datagram to the first event, then between events.
    events = sorted((int(ns) / 1e9, name) for name, ns in (e.split("=", 1) for e in opts("--event")))
    bounds = [(sent["t0"], "pre")] + events + [(float("inf"), None)]
    lost = {}  # (phase, flow) -> count
    first_lost = {}
    last_lost = {}
    received_after = {}  # flow -> latest send time received
    for f in range(flows):
        count = total // flows + (1 if f < total % flows else 0)
        have = got.get(f, set())
        out["received"] = out.get("received", 0) + len(have)
        for n in range(count):
            t = sent["t0"] + (n * flows + f) / rate
            if n in have:
                received_after[f] = t
                continue
            ph = next(bounds[k][1] for k in range(len(bounds) - 1) if t < bounds[k + 1][0])
            lost[(ph, f)] = lost.get((ph, f), 0) + 1
            first_lost.setdefault((ph, f), t)
            last_lost[(ph, f)] = t
    out["sent"] = total
    out["seconds"] = round(total / rate, 3)
    last_event = events[-1][0] if events else sent["t0"]
    for r in routers + ["unmapped"]:
        mine = [f for f in range(flows) if where.get(f, ["unmapped"]) == [r]]
        for start, ph in bounds[:-1]:
            key = "%s_%s_" % (ph, r)
            ms = [1000.0 * lost.get((ph, f), 0) / per_flow for f in mine]
            out[key + "lost"] = sum(lost.get((ph, f), 0) for f in mine)
            out[key + "lost_flows"] = sum(1 for f in mine if lost.get((ph, f)))
            out[key + "max_ms"] = round(max(ms)) if ms else 0
            out[key + "mean_ms"] = round(sum(ms) / len(ms)) if ms else 0
            span = [(first_lost[(ph, f)] - start, last_lost[(ph, f)] - start)
                    for f in mine if (ph, f) in first_lost]
            out[key + "span_ms"] = (
                "%d..%d" % (1000 * min(a for a, _ in span), 1000 * max(b for _, b in span)) if span else "-"
            )
        # Flows of r that were received after the last event (they resumed).
        out["late_" + r] = sum(1 for f in mine if received_after.get(f, 0) > last_event)
    for k, v in out.items():
        print(k, v)


def hop_list(vxctl, sock):
    raw = subprocess.run([vxctl, "-s", sock, "--json", "nexthop", "list"],
                         check=True, capture_output=True, text=True).stdout
    doc = json.loads(raw)
    if isinstance(doc, dict):
        doc = next(v for v in doc.values() if isinstance(v, list))
    return doc


def hops(vxctl, sock):
    for h in hop_list(vxctl, sock):
        print(h["ip"], h["state"], h["mac"] or "-", h["weight"], h["buckets"], h["tx_packets"])


def watch(vxctl, sock, ip):
    since = int(opt("--since")) / 1e9
    field, value = opt("--until").split("=", 1)
    hold = float(opt("--for", 0))
    timeout = float(opt("--timeout", 2))
    every = float(opt("--every", 0.05))
    states, macs, polls = [], [], 0
    hit = None
    last = None
    while True:
        now = time.time()
        if hit is None and now - since > timeout:
            break
        if hit is not None and now - since > max(hold, hit):
            break
        h = next(h for h in hop_list(vxctl, sock) if h["ip"] == ip)
        polls += 1
        last = h
        if h["state"] not in states:
            states.append(h["state"])
        if h["mac"] not in macs:
            macs.append(h["mac"])
        if hit is None and str(h[field]) == value:
            hit = time.time() - since
        time.sleep(every)
    print("elapsed_ms", round(1000 * hit) if hit is not None else "-")
    print("states", ",".join(states))
    print("macs", ",".join(str(m) for m in macs))
    print("polls", polls)
    for k in ("state", "mac", "buckets", "tx_packets"):
        print(k, last[k])
    sys.exit(0 if hit is not None else 1)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "send":
        send(sys.argv[2], int(sys.argv[3]))
    elif cmd == "recv":
        recv(sys.argv[2], int(sys.argv[3]))
    elif cmd == "report":
        report()
    elif cmd == "hops":
        hops(sys.argv[2], sys.argv[3])
    elif cmd == "watch":
        watch(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)
