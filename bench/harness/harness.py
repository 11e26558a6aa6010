#!/usr/bin/env python3
"""End-to-end performance harness: vxswitch, the Linux kernel's vxlan + bridge,
Open vSwitch's userspace datapath (AF_XDP ports) and a raw AF_XDP forwarder,
side by side on one namespace topology, driven by vxgen (bench/gen).

    vxb-tg (generator, pinned to the generator core)        vxb-dut (device under test, its core)
    a0  02:00:00:00:a1:00  <--veth-->  c0   access port, VNI 100
    u0  02:00:00:00:01:02  <--veth-->  ul   uplink 198.18.0.1/24  02:00:00:00:01:01
        (plays the remote VTEP 198.18.0.2)

encap: vxgen sends inner frames on a0; the DUT encapsulates toward 198.18.0.2
       and vxgen receives VXLAN on u0.
decap: vxgen sends VXLAN (VNI 100) on u0; the DUT decapsulates and vxgen
       receives the inner frames on a0.
raw:   the raw forwarder moves the same frames unchanged (the ceiling).

Each frame carries a send timestamp in its last 16 bytes, so vxgen measures
latency at the sink whatever headers the DUT added or removed. Per run the
harness also samples /proc/stat for both cores (so a saturated generator core
is visible) and reads the DUT's own processing cycles per packet where it
reports them (vxswitch: vxctl stats; OVS: dpif-netdev/pmd-stats-show; the raw
forwarder: the running totals xdpfwd prints on SIGUSR1), and vxswitch's
ratio to each peer in Mpps and in cycles per packet.

Everything it creates (namespaces, processes, OVS's private run directory) is
removed on exit, even on failure or Ctrl-C. Speeds are reported, never
asserted: the machine is shared and noisy; compare ratios from one run.

usage: harness.py --bin DIR [--quick] [--json FILE] [--only NAMES]
"""

import argparse
import atexit
import json
import os
import signal
import sys
import time

NS_TG, NS_DUT = "vxb-tg", "vxb-dut"
MAC_A0, MAC_B1 = "02:00:00:00:a1:00", "02:00:00:00:b1:00"
MAC_UL, MAC_U0 = "02:00:00:00:01:01", "02:00:00:00:01:02"
VTEP, REMOTE = "198.18.0.1", "198.18.0.2"
IN_A, IN_B = "198.19.100.1", "198.19.100.2"
VNI = 100

from nslib import (TMP, Ovs as OvsDatapath, busy_pct, cleanup, cpu_times, log, netns, sh, start, steal_ms, stop,
                   wait_for_path)


def topology():
    for ns in (NS_TG, NS_DUT):
        netns(ns)
    sh(["ip", "link", "add", "a0", "netns", NS_TG, "type", "veth", "peer", "name", "c0", "netns", NS_DUT])
    sh(["ip", "link", "add", "u0", "netns", NS_TG, "type", "veth", "peer", "name", "ul", "netns", NS_DUT])
    sh(["ip", "link", "set", "a0", "address", MAC_A0, "up"], ns=NS_TG)
    sh(["ip", "link", "set", "u0", "address", MAC_U0, "up"], ns=NS_TG)
    sh(["ip", "link", "set", "c0", "up"], ns=NS_DUT)
    sh(["ip", "link", "set", "ul", "address", MAC_UL, "up"], ns=NS_DUT)
    sh(["ip", "addr", "add", f"{VTEP}/24", "dev", "ul"], ns=NS_DUT)
    # The generator's socket takes every frame on u0, so the DUT's kernel
    # cannot ARP for the remote VTEP: give it the answer.
    sh(["ip", "neigh", "replace", REMOTE, "lladdr", MAC_U0, "dev", "ul", "nud", "permanent"], ns=NS_DUT)


# --- devices under test ------------------------------------------------------

class Dut:
    name = "?"
    directions = ("decap", "encap")

    def up(self):
        pass

    def down(self):
        pass

    def totals(self):
        """(busy cycles, frames) so far, for devices that count their own;
        None for the others."""
        return None

    def before(self):
        self.b = self.totals()

    def cycles_per_packet(self):
        """Busy cycles per frame since `before`."""
        now = self.totals()
        if not (now and self.b):
            return None
        dc, dp = now[0] - self.b[0], now[1] - self.b[1]
        return round(dc / dp) if dp else None


class Vxswitch(Dut):
    def __init__(self, bins, core, xdp_mode="auto"):
        """`xdp_mode` "native" or "generic" (rows `vxswitch_native`,
        `vxswitch_generic`, only when named in --only): every port in that
        mode, where the default (`auto`) has the access port in generic mode
        and the uplink native: what small packets pay for each."""
        self.bins, self.core, self.xdp_mode = bins, core, xdp_mode
        self.name = "vxswitch" if xdp_mode == "auto" else f"vxswitch_{xdp_mode}"
        self.sock = os.path.join(TMP, "vxswitch.sock")

    def up(self):
        cfg = os.path.join(TMP, "vxswitch.toml")
        with open(cfg, "w") as f:
            f.write(f'[underlay]\nvtep = "{VTEP}"\n[[underlay.neighbor]]\nip = "{REMOTE}"\nmac = "{MAC_U0}"\n'
                    f'[[vni]]\nid = {VNI}\nflood = ["{REMOTE}"]\n[[port]]\nname = "c0"\nvni = {VNI}\n')
        self.p = start([os.path.join(self.bins, "vxswitch"), "--uplink", "ul", "--cores", str(self.core),
                        "--config", cfg, "--socket", self.sock, "--busy-poll", "--xdp-mode", self.xdp_mode],
                       ns=NS_DUT, logname="vxswitch.log")
        if wait_for_path(self.sock, self.p):
            return
        raise RuntimeError("vxswitch did not start: " + open(os.path.join(TMP, "vxswitch.log")).read())

    def down(self):
        stop(self.p)

    def totals(self):
        out = sh([os.path.join(self.bins, "vxctl"), "-s", self.sock, "--json", "stats"], capture=True)
        ws = json.loads(out)["workers"]
        return sum(w["busy_cycles"] for w in ws), sum(w["busy_packets"] for w in ws)


class Kernel(Dut):
    name = "kernel"

    def up(self):
        sh(["ip", "link", "add", "vx100", "type", "vxlan", "id", str(VNI), "local", VTEP, "dstport", "4789",
            "dev", "ul"], ns=NS_DUT)
        sh(["bridge", "fdb", "append", "00:00:00:00:00:00", "dev", "vx100", "dst", REMOTE], ns=NS_DUT)
        sh(["ip", "link", "add", "br100", "type", "bridge"], ns=NS_DUT)
        sh(["ip", "link", "set", "vx100", "master", "br100", "up"], ns=NS_DUT)
        sh(["ip", "link", "set", "c0", "master", "br100", "up"], ns=NS_DUT)
        sh(["ip", "link", "set", "br100", "up"], ns=NS_DUT)

    def down(self):
        for d in ("br100", "vx100"):
            sh(["ip", "link", "del", d], ns=NS_DUT, check=False)


class Ovs(Dut):
    """Open vSwitch's userspace datapath (nslib.Ovs) with afxdp ports."""
    name = "ovs"

    def __init__(self, core):
        self.ovs = OvsDatapath(NS_DUT, core, "dut", VTEP, 24, MAC_UL, REMOTE, MAC_U0, "c0", VNI)

    def up(self):
        self.ovs.up()

    def down(self):
        self.ovs.down()

    def before(self):
        self.ovs.clear_stats()

    def cycles_per_packet(self):
        return self.ovs.cycles_per_packet()


class Raw(Dut):
    """The raw AF_XDP forwarder: frames between c0 and ul, unchanged."""
    name = "raw_afxdp"

    def __init__(self, bins, core):
        self.bins, self.core = bins, core

    def up(self):
        self.p = start([os.path.join(self.bins, "xdpfwd"), "--a", "c0", "--b", "ul", "--core", str(self.core),
                        "--busy-poll"], ns=NS_DUT, logname="xdpfwd.log")
        time.sleep(1)
        if self.p.poll() is not None:
            raise RuntimeError("xdpfwd exited: " + open(os.path.join(TMP, "xdpfwd.log")).read())

    def down(self):
        stop(self.p, signal.SIGINT)

    def totals(self):
        """xdpfwd's running totals (busy cycles, frames moved), which it
        prints as one JSON line on SIGUSR1; None (logged) if none comes."""
        log_path = os.path.join(TMP, "xdpfwd.log")
        seen = len(open(log_path).read().splitlines())
        self.p.send_signal(signal.SIGUSR1)
        deadline = time.time() + 5
        while time.time() < deadline:
            text = open(log_path).read()
            # Whole lines only: a line still being written waits a round.
            for line in text[:text.rfind("\n") + 1].splitlines()[seen:]:
                if line.startswith('{"busy_cycles"'):
                    r = json.loads(line)
                    return r["busy_cycles"], r["frames"]
            time.sleep(0.01)
        log("raw_afxdp: xdpfwd did not report its totals within 5 s")
        return None


# --- traffic -----------------------------------------------------------------

def vxgen(bins, core, direction, raw, size, flows, rate, duration, warmup):
    encap = direction == "encap"
    args = [os.path.join(bins, "vxgen"), "--tx-if", "a0" if encap else "u0", "--rx-if", "u0" if encap else "a0",
            "--size", str(size), "--flows", str(flows), "--rate", str(rate), "--duration", str(duration),
            "--warmup", str(warmup), "--core", str(core), "--json", "--vni", str(VNI)]
    if raw or encap:
        args += ["--mode", "raw" if raw else "encap", "--src-mac", MAC_A0, "--dst-mac", MAC_B1,
                 "--inner-src-ip", IN_A, "--inner-dst-ip", IN_B]
    else:
        args += ["--mode", "decap", "--outer-src-mac", MAC_U0, "--outer-dst-mac", MAC_UL,
                 "--outer-src-ip", REMOTE, "--outer-dst-ip", VTEP,
                 "--src-mac", MAC_B1, "--dst-mac", MAC_A0, "--inner-src-ip", IN_B, "--inner-dst-ip", IN_A]
    out = sh(args, ns=NS_TG, capture=True, timeout=duration + warmup + 30)
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", required=True, help="directory with vxswitch, vxctl, vxgen, xdpfwd")
    ap.add_argument("--quick", action="store_true", help="64 B, 1 flow, short runs: under a minute")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--only", help="comma-separated DUTs: vxswitch,kernel,ovs,raw_afxdp "
                    "(and vxswitch_native, vxswitch_generic, run only when named)")
    ap.add_argument("--dut-core", type=int, default=0)
    ap.add_argument("--gen-core", type=int, default=1)
    a = ap.parse_args()
    atexit.register(cleanup)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))

    sizes, flows_list = ((64,), (1,)) if a.quick else ((64, 1400), (1, 1000))
    duration, warmup = (2, 1) if a.quick else (3, 1)
    lat_rate = 20000
    duts = [Vxswitch(a.bin, a.dut_core), Kernel(), Ovs(a.dut_core), Raw(a.bin, a.dut_core)]
    for mode in ("generic", "native"):
        if a.only and f"vxswitch_{mode}" in a.only.split(","):
            duts.insert(1, Vxswitch(a.bin, a.dut_core, mode))
    if a.only:
        keep = a.only.split(",")
        duts = [d for d in duts if d.name in keep]

    topology()
    rows = []
    for dut in duts:
        log(f"{dut.name}: setting up")
        try:
            dut.up()
        except Exception as e:  # a peer that cannot run here is reported, not fatal
            log(f"{dut.name}: could not start: {e}")
            rows.append(dict(dut=dut.name, error=str(e)))
            continue
        try:
            for direction in dut.directions:
                for size in sizes:
                    for flows in flows_list:
                        dut.before()
                        c0 = cpu_times()
                        r = vxgen(a.bin, a.gen_core, direction, dut.name == "raw_afxdp", size, flows, 0,
                                  duration, warmup)
                        c1 = cpu_times()
                        row = dict(dut=dut.name, direction=direction, size=size, flows=flows, kind="max_rate",
                                   gen=r, dut_core_busy_pct=busy_pct(c0, c1, a.dut_core),
                                   gen_core_busy_pct=round(r["busy_pct"], 1),
                                   gen_core_cpu_pct=busy_pct(c0, c1, a.gen_core),
                                   cycles_per_packet=dut.cycles_per_packet())
                        rows.append(row)
                        log(f"{dut.name} {direction} {size}B {flows} flow(s): {r['received_pps'] / 1e6:.3f} Mpps "
                            f"(sent {r['sent_pps'] / 1e6:.3f}), cores dut {row['dut_core_busy_pct']}% "
                            f"gen {row['gen_core_busy_pct']}%, cycles/pkt {row['cycles_per_packet']}")
                # Latency at a fixed moderate rate, 64 B, one flow. Steal time
                # (the hypervisor running something else on a core) is noted:
                # a device on its own core waits out its core's steal, while
                # the kernel path runs inside the generator's send and so
                # pauses with the generator.
                s0 = steal_ms()
                r = vxgen(a.bin, a.gen_core, direction, dut.name == "raw_afxdp", 64, 1, lat_rate, duration, warmup)
                s1 = steal_ms()
                rows.append(dict(dut=dut.name, direction=direction, size=64, flows=1, kind="latency",
                                 rate_pps=lat_rate, gen=r,
                                 steal_ms={"dut_core": s1.get(a.dut_core, 0) - s0.get(a.dut_core, 0),
                                           "gen_core": s1.get(a.gen_core, 0) - s0.get(a.gen_core, 0)}))
        finally:
            dut.down()
    report(rows, a)


def report(rows, a):
    def mpps(r):
        return r["gen"]["received_pps"] / 1e6

    tp = [r for r in rows if r.get("kind") == "max_rate"]
    print()
    print("Max-rate throughput (Mpps received at the sink; sent = offered by the generator)")
    print(f"{'dut':<10} {'dir':<6} {'size':>5} {'flows':>5} {'rx Mpps':>8} {'tx Mpps':>8} {'loss%':>6} "
          f"{'dut cpu%':>8} {'gen cpu%':>8} {'cyc/pkt':>8}")
    for r in tp:
        g = r["gen"]
        print(f"{r['dut']:<10} {r['direction']:<6} {r['size']:>5} {r['flows']:>5} {mpps(r):>8.3f} "
              f"{g['sent_pps'] / 1e6:>8.3f} {g['loss_pct']:>6.1f} {r['dut_core_busy_pct']:>8} "
              f"{r['gen_core_busy_pct']:>8} {str(r['cycles_per_packet'] or '-'):>8}")
    print("  (gen cpu% is the generator's share of busy loops, vxgen's busy_pct; the generator core also "
          "carries the veth receive work of the AF_XDP devices)")
    print()
    print("vxswitch's ratio to each peer (same direction, size and flows, this run): Mpps, and where both "
          "report them, cycles per packet (lower is better)")
    ours = {(r["direction"], r["size"], r["flows"]): r for r in tp if r["dut"] == "vxswitch"}
    for r in tp:
        if r["dut"] == "vxswitch":
            continue
        k = (r["direction"], r["size"], r["flows"])
        if k in ours and mpps(r) > 0:
            o = ours[k]
            cyc = ""
            if o["cycles_per_packet"] and r["cycles_per_packet"]:
                cyc = f", cycles {o['cycles_per_packet'] / r['cycles_per_packet']:.2f}x"
            print(f"  vs {r['dut']:<10} {k[0]:<6} {k[1]:>5}B {k[2]:>5} flows: {mpps(o) / mpps(r):.2f}x{cyc}")
    print()
    print("Latency at a fixed rate, 64 B, 1 flow (microseconds)")
    for r in rows:
        if r.get("kind") == "latency":
            g = r["gen"]
            lat = g["latency_us"]
            st = r.get("steal_ms", {})
            print(f"  {r['dut']:<10} {r['direction']:<6} {r['rate_pps']} pps: p50 {lat['p50']:.1f}  "
                  f"p99 {lat['p99']:.1f}  p99.9 {lat['p999']:.1f}  max {lat['max']:.1f}  "
                  f"(received {g['received']} of {g['sent']}; steal ms dut core {st.get('dut_core', '-')}, "
                  f"gen core {st.get('gen_core', '-')})")
    gen_bound = [r for r in tp if r["gen_core_busy_pct"] >= 95 and r["gen"]["loss_pct"] < 1]
    if gen_bound:
        print()
        print(f"note: in {len(gen_bound)} of {len(tp)} max-rate runs the generator's core was >= 95 % busy and "
              "the DUT lost < 1 %: the generator (which also does the veth receive work of the AF_XDP devices) "
              "was the limit there, not the DUT; compare the DUTs' own cycles per packet instead: "
              + ", ".join(f"{r['dut']} {r['direction']} {r['size']}B" for r in gen_bound))
    for r in rows:
        if "error" in r:
            print(f"\n{r['dut']}: not measured: {r['error']}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(dict(host=os.uname().nodename, kernel=os.uname().release, quick=a.quick, rows=rows), f, indent=1)
        print(f"\nJSON: {a.json}")


if __name__ == "__main__":
    main()
