#!/usr/bin/env python3
"""Container traffic as users see it: TCP throughput (iperf3) and
request/response latency (sockperf ping-pong) through the overlay, for
vxswitch (by default: generic XDP on the containers' veths, where their TCP
super-frames reach it and it segments them itself, native on the uplink;
the row vxswitch_native has every port native, so the containers hand over
MTU-sized frames; vxswitch_generic, when named, every port generic), the
kernel's vxlan + bridge with default offloads, the same with TX checksum
offload off in the containers, Open vSwitch's userspace datapath
with afxdp ports, and the raw AF_XDP forwarder (xdpfwd, no overlay: the
ceiling for any AF_XDP device here), side by side on one two-host topology:

    vxt-a100 (198.19.100.1)                 vxt-b100 (198.19.100.2)    containers
        | c100                                   | c100
    vxt-a  device under test (core 0)        vxt-b  device under test (core 1)
        | ul 198.18.0.1  ------ veth ------  ul 198.18.0.2 |

Containers keep their default offloads except where a row says "tx off"
(OVS's AF_XDP ports and the raw forwarder, like any AF_XDP device but
vxswitch, need it: they do not complete partial checksums). Per run it also reports CPU-seconds per
gigabit over both cores, so a result bought with more CPU is visible.
Speeds are reported, never asserted.

usage: tcp.py --bin DIR [--quick] [--json FILE] [--only NAMES]
"""

import argparse
import atexit
import json
import os
import re
import signal
import sys
import time

from nslib import Ovs, busy_secs, cleanup, cpu_times, log, netns, sh, start, stop, wait_for_path

P = "vxt"
MAC = {"a": "02:00:00:00:01:01", "b": "02:00:00:00:01:02"}
VTEP = {"a": "198.18.0.1", "b": "198.18.0.2"}
IN = {"a": "198.19.100.1", "b": "198.19.100.2"}
CORE = {"a": 0, "b": 1}


def topology(tx_off):
    for h in ("a", "b", "a100", "b100"):
        netns(f"{P}-{h}")
    sh(["ip", "link", "add", "ul", "netns", f"{P}-a", "type", "veth", "peer", "name", "ul", "netns", f"{P}-b"])
    for h in ("a", "b"):
        sh(["ip", "link", "set", "ul", "address", MAC[h], "up"], ns=f"{P}-{h}")
        sh(["ip", "addr", "add", f"{VTEP[h]}/24", "dev", "ul"], ns=f"{P}-{h}")
        c = f"{P}-{h}100"
        sh(["ip", "link", "add", "c100", "netns", f"{P}-{h}", "type", "veth", "peer", "name", "eth0", "netns", c])
        sh(["ip", "link", "set", "eth0", "address", f"02:00:00:00:{h}1:00", "mtu", "1450", "up"], ns=c)
        sh(["ip", "addr", "add", f"{IN[h]}/24", "dev", "eth0"], ns=c)
        sh(["ip", "link", "set", "c100", "up"], ns=f"{P}-{h}")
        if tx_off:
            sh(["ethtool", "-K", "eth0", "tx", "off"], ns=c)


def teardown():
    from nslib import NETNS
    for ns in list(NETNS):
        sh(["ip", "netns", "del", ns], check=False)
        NETNS.remove(ns)


class Vxswitch:
    tx_off = False

    def __init__(self, bins, xdp_mode="auto"):
        """`xdp_mode` "auto" (the default: access veths generic, the uplink
        native), "native" or "generic" (every port in that mode)."""
        self.bins, self.xdp_mode = bins, xdp_mode
        self.name = "vxswitch" if xdp_mode == "auto" else f"vxswitch_{xdp_mode}"

    def up(self):
        from nslib import TMP
        self.procs = []
        for h, o in (("a", "b"), ("b", "a")):
            cfg = os.path.join(TMP, f"tcp-{h}.toml")
            with open(cfg, "w") as f:
                f.write(f'[underlay]\nvtep = "{VTEP[h]}"\n[[underlay.neighbor]]\nip = "{VTEP[o]}"\nmac = "{MAC[o]}"\n'
                        f'[[vni]]\nid = 100\nflood = ["{VTEP[o]}"]\n[[port]]\nname = "c100"\nvni = 100\n')
            sock = os.path.join(TMP, f"tcp-{h}.sock")
            self.procs.append(start([os.path.join(self.bins, "vxswitch"), "--uplink", "ul", "--cores", str(CORE[h]),
                                     "--config", cfg, "--socket", sock, "--xdp-mode", self.xdp_mode],
                                    ns=f"{P}-{h}", logname=f"tcp-{h}.log"))
            if not wait_for_path(sock, self.procs[-1]):
                raise RuntimeError(f"vxswitch on host {h} did not start")

    def down(self):
        for p in self.procs:
            stop(p)


class Kernel:
    def __init__(self, tx_off):
        self.tx_off = tx_off
        self.name = "kernel_txoff" if tx_off else "kernel"

    def up(self):
        for h, o in (("a", "b"), ("b", "a")):
            ns = f"{P}-{h}"
            sh(["ip", "link", "add", "vx100", "type", "vxlan", "id", "100", "local", VTEP[h], "dstport", "4789",
                "dev", "ul"], ns=ns)
            sh(["bridge", "fdb", "append", "00:00:00:00:00:00", "dev", "vx100", "dst", VTEP[o]], ns=ns)
            sh(["ip", "link", "add", "br100", "type", "bridge"], ns=ns)
            sh(["ip", "link", "set", "vx100", "master", "br100", "up"], ns=ns)
            sh(["ip", "link", "set", "c100", "master", "br100", "up"], ns=ns)
            sh(["ip", "link", "set", "br100", "up"], ns=ns)

    def down(self):
        pass


class RawPair:
    """The raw AF_XDP forwarder (xdpfwd) on each host, c100 <-> ul unchanged:
    no overlay, the same sockets, rings and copies as any AF_XDP device, so
    its throughput is the ceiling for one on this topology. It does not
    complete partial checksums, so the containers have tx off."""
    name, tx_off = "raw_afxdp_txoff", True

    def __init__(self, bins):
        self.bins = bins

    def up(self):
        from nslib import TMP
        self.procs = []
        for h in ("a", "b"):
            self.procs.append(start([os.path.join(self.bins, "xdpfwd"), "--a", "c100", "--b", "ul", "--core",
                                     str(CORE[h]), "--yield-idle"], ns=f"{P}-{h}", logname=f"tcp-fwd-{h}.log"))
        time.sleep(1)
        for h, p in zip(("a", "b"), self.procs):
            if p.poll() is not None:
                raise RuntimeError(f"xdpfwd on host {h} exited: " + open(os.path.join(TMP, f"tcp-fwd-{h}.log")).read())

    def down(self):
        for p in self.procs:
            stop(p, signal.SIGINT)


class OvsPair:
    name, tx_off = "ovs_txoff", True

    def up(self):
        self.ovs = [Ovs(f"{P}-{h}", CORE[h], f"tcp-{h}", VTEP[h], 24, MAC[h], VTEP[o], MAC[o], "c100", 100)
                    for h, o in (("a", "b"), ("b", "a"))]
        for o in self.ovs:
            o.up()

    def down(self):
        for o in self.ovs:
            o.down()


def iperf(direction, flows, secs, length=None):
    """Gbit/s received and CPU-seconds per Gbit, client in a100, server in b100."""
    srv = start(["iperf3", "-s", "-1", "-B", IN["b"]], ns=f"{P}-b100")
    time.sleep(0.5)
    args = ["iperf3", "-c", IN["b"], "-t", str(secs), "-P", str(flows), "-J"]
    if direction == "b->a":
        args.append("-R")
    if length:
        args += ["-l", length]
    c0 = cpu_times()
    out = sh(args, ns=f"{P}-a100", capture=True, timeout=secs + 30)
    c1 = cpu_times()
    stop(srv)
    j = json.loads(out)
    bps = j["end"]["sum_received"]["bits_per_second"]
    gbits = j["end"]["sum_received"]["bytes"] * 8 / 1e9
    retr = j["end"].get("sum_sent", {}).get("retransmits")
    return dict(gbps=round(bps / 1e9, 3), cpu_s_per_gbit=round(busy_secs(c0, c1) / gbits, 3) if gbits else None,
                retransmits=retr)


def sockperf(mps, secs):
    """Round-trip latency percentiles (microseconds) at `mps` messages/s."""
    srv = start(["sockperf", "server", "-i", IN["b"], "-p", "11111"], ns=f"{P}-b100")
    time.sleep(0.5)
    out = sh(["sockperf", "ping-pong", "-i", IN["b"], "-p", "11111", "--mps", str(mps), "-t", str(secs),
              "--full-rtt"], ns=f"{P}-a100", capture=True, timeout=secs + 30)
    stop(srv)
    pct = {}
    for m in re.finditer(r"percentile\s+([\d.]+)\s*=\s*([\d.]+)", out):
        pct[m.group(1)] = float(m.group(2))
    return dict(p50=pct.get("50.000"), p99=pct.get("99.000"), p999=pct.get("99.900"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", required=True)
    ap.add_argument("--quick", action="store_true", help="2 s runs, no write-size rows: about a minute")
    ap.add_argument("--json")
    ap.add_argument("--only", help="comma-separated: vxswitch,vxswitch_native,kernel,kernel_txoff,ovs_txoff,"
                    "raw_afxdp_txoff (and vxswitch_generic, run only when named)")
    a = ap.parse_args()
    atexit.register(cleanup)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    secs = 2 if a.quick else 10
    duts = [Vxswitch(a.bin), Vxswitch(a.bin, "native"), Kernel(False), Kernel(True), OvsPair(), RawPair(a.bin)]
    if a.only and "vxswitch_generic" in a.only.split(","):
        duts.insert(2, Vxswitch(a.bin, "generic"))
    if a.only:
        duts = [d for d in duts if d.name in a.only.split(",")]
    rows = []
    for dut in duts:
        log(f"{dut.name}: setting up")
        topology(dut.tx_off)
        try:
            dut.up()
            sh(["ping", "-c", "3", "-i", "0.2", "-W", "2", IN["b"]], ns=f"{P}-a100")
        except Exception as e:
            log(f"{dut.name}: could not start: {e}")
            rows.append(dict(dut=dut.name, error=str(e)))
            teardown()
            continue
        try:
            for direction in ("a->b", "b->a"):
                for flows in (1, 8):
                    r = iperf(direction, flows, secs)
                    rows.append(dict(dut=dut.name, kind="tcp", direction=direction, flows=flows, **r))
                    log(f"{dut.name} TCP {direction} {flows} flow(s): {r['gbps']} Gbit/s, "
                        f"{r['cpu_s_per_gbit']} CPU-s/Gbit, {r['retransmits']} retransmits")
            if not a.quick:
                for length in ("1K", "16K", "128K"):
                    r = iperf("a->b", 1, secs // 2, length)
                    rows.append(dict(dut=dut.name, kind="tcp_write", direction="a->b", flows=1, write=length, **r))
                    log(f"{dut.name} TCP {length} writes: {r['gbps']} Gbit/s")
            for mps in (5000, 50000):
                r = sockperf(mps, secs)
                rows.append(dict(dut=dut.name, kind="rr", mps=mps, **r))
                log(f"{dut.name} ping-pong {mps}/s: p50 {r['p50']} p99 {r['p99']} p99.9 {r['p999']} us")
        except Exception as e:
            log(f"{dut.name}: failed: {e}")
            rows.append(dict(dut=dut.name, error=str(e)))
        finally:
            dut.down()
            teardown()
    report(rows, a)


def report(rows, a):
    print()
    print("TCP throughput (iperf3, Gbit/s received; CPU-s/Gbit over both cores)")
    print(f"{'dut':<14} {'dir':<5} {'flows':>5} {'Gbit/s':>8} {'CPU-s/Gbit':>10} {'retrans':>8}")
    for r in rows:
        if r.get("kind") == "tcp":
            print(f"{r['dut']:<14} {r['direction']:<5} {r['flows']:>5} {r['gbps']:>8} {str(r['cpu_s_per_gbit']):>10} "
                  f"{str(r['retransmits']):>8}")
    w = [r for r in rows if r.get("kind") == "tcp_write"]
    if w:
        print()
        print("One TCP flow by write size (stalls would show as an order of magnitude below the kernel)")
        for r in w:
            print(f"  {r['dut']:<14} {r['write']:>5} writes: {r['gbps']} Gbit/s")
    print()
    print("Request/response round trip (sockperf ping-pong, microseconds)")
    for r in rows:
        if r.get("kind") == "rr":
            print(f"  {r['dut']:<14} {r['mps']:>6}/s: p50 {r['p50']}  p99 {r['p99']}  p99.9 {r['p999']}")
    for r in rows:
        if "error" in r:
            print(f"\n{r['dut']}: not measured: {r['error']}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(dict(quick=a.quick, rows=rows), f, indent=1)
        print(f"\nJSON: {a.json}")


if __name__ == "__main__":
    main()
