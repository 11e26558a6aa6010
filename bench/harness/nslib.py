"""Shared pieces of the harnesses: running commands (in network namespaces),
processes we start and end by PID, namespaces we make and always remove, and
per-core busy time from /proc/stat."""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

STARTED = []  # Popen objects we started, ended by PID on exit
NETNS = []
TMP = tempfile.mkdtemp(prefix="vxbench.")


def log(msg):
    print(f"==> {msg}", file=sys.stderr, flush=True)


def sh(cmd, check=True, capture=False, ns=None, timeout=120):
    if ns:
        cmd = ["ip", "netns", "exec", ns] + cmd
    r = subprocess.run(cmd, check=False, text=True, timeout=timeout,
                       stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
    return r.stdout if capture else r.returncode


def start(cmd, ns=None, logname=None):
    if ns:
        cmd = ["ip", "netns", "exec", ns] + cmd
    out = open(os.path.join(TMP, logname), "w") if logname else subprocess.DEVNULL
    p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    STARTED.append(p)
    return p


def stop(p, sig=signal.SIGTERM):
    if p.poll() is None:
        p.send_signal(sig)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def cleanup():
    for p in reversed(STARTED):
        try:
            stop(p)
        except Exception:
            pass
    for ns in NETNS:
        subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
    shutil.rmtree(TMP, ignore_errors=True)


def netns(name):
    subprocess.run(["ip", "netns", "del", name], stderr=subprocess.DEVNULL)
    sh(["ip", "netns", "add", name])
    NETNS.append(name)
    sh(["ip", "link", "set", "lo", "up"], ns=name)
    sh(["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"], ns=name)


def wait_for_path(path, proc=None, timeout_s=10.0):
    """True once `path` exists; False after `timeout_s`, or as soon as `proc`
    (the process expected to create it) has exited."""
    import time
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if os.path.exists(path):
            return True
        if proc is not None and proc.poll() is not None:
            return False
        time.sleep(0.1)
    return os.path.exists(path)


def proc_stat():
    """Jiffies per CPU from /proc/stat: user, nice, system, idle, iowait,
    irq, softirq, steal, ..."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            m = re.match(r"cpu(\d+) (.*)", line)
            if m:
                out[int(m.group(1))] = [int(x) for x in m.group(2).split()] + [0] * 8
    return out


def cpu_times():
    """(busy, total) jiffies per CPU."""
    return {cpu: (sum(v[:8]) - v[3] - v[4], sum(v[:8])) for cpu, v in proc_stat().items()}


def steal_ms():
    """Milliseconds per CPU that the hypervisor ran something else while
    this VM's CPU had work (the steal column; 10 ms resolution)."""
    hz = os.sysconf("SC_CLK_TCK")
    return {cpu: v[7] * 1000 // hz for cpu, v in proc_stat().items()}


def busy_pct(before, after, cpu):
    b = after[cpu][0] - before[cpu][0]
    t = after[cpu][1] - before[cpu][1]
    return round(100.0 * b / t, 1) if t else 0.0


def busy_secs(before, after):
    """CPU-seconds spent busy on all cores between two samples."""
    hz = os.sysconf("SC_CLK_TCK")
    return sum(after[c][0] - before[c][0] for c in after) / hz


class Ovs:
    """One Open vSwitch userspace datapath, started by hand in namespace `ns`
    with a private run directory: br-phy (netdev) holding the uplink `ul`
    (afxdp) with the VTEP address on its internal port, and br-int (netdev)
    holding `access` (afxdp) and a vxlan port toward `remote`."""

    def __init__(self, ns, core, name, vtep, prefix_len, vtep_mac, remote, remote_mac, access, vni):
        self.ns, self.core, self.dir = ns, core, os.path.join(TMP, f"ovs-{name}")
        self.vtep, self.prefix_len, self.vtep_mac = vtep, prefix_len, vtep_mac
        self.remote, self.remote_mac, self.access, self.vni = remote, remote_mac, access, vni

    def vsctl(self, *args):
        return sh(["ovs-vsctl", f"--db=unix:{self.dir}/db.sock", "--timeout=20"] + list(args), capture=True)

    def appctl(self, *args):
        pid = open(f"{self.dir}/ovs-vswitchd.pid").read().strip()
        return sh(["ovs-appctl", "-t", f"{self.dir}/ovs-vswitchd.{pid}.ctl"] + list(args), capture=True)

    def up(self):
        import time
        os.makedirs(self.dir)
        env = dict(os.environ, OVS_RUNDIR=self.dir, OVS_DBDIR=self.dir, OVS_LOGDIR=self.dir, OVS_SYSCONFDIR=self.dir)
        sh(["ovsdb-tool", "create", f"{self.dir}/conf.db", "/usr/share/openvswitch/vswitch.ovsschema"])
        self.db = subprocess.Popen(["ip", "netns", "exec", self.ns, "ovsdb-server", f"{self.dir}/conf.db",
                                    f"--remote=punix:{self.dir}/db.sock", f"--pidfile={self.dir}/ovsdb-server.pid",
                                    f"--log-file={self.dir}/ovsdb-server.log"], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        STARTED.append(self.db)
        wait_for_path(f"{self.dir}/db.sock", self.db, 5)
        self.vsctl("--no-wait", "init")
        self.vsctl("--no-wait", "set", "Open_vSwitch", ".", f"other_config:pmd-cpu-mask={1 << self.core:#x}")
        self.vs = subprocess.Popen(["ip", "netns", "exec", self.ns, "ovs-vswitchd", f"unix:{self.dir}/db.sock",
                                    f"--pidfile={self.dir}/ovs-vswitchd.pid",
                                    f"--log-file={self.dir}/ovs-vswitchd.log"], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        STARTED.append(self.vs)
        wait_for_path(f"{self.dir}/ovs-vswitchd.pid", self.vs, 5)
        sh(["ip", "addr", "flush", "dev", "ul"], ns=self.ns)
        self.vsctl("add-br", "br-phy", "--", "set", "bridge", "br-phy", "datapath_type=netdev",
                   f"other_config:hwaddr={self.vtep_mac}")
        self.vsctl("add-port", "br-phy", "ul", "--", "set", "interface", "ul", "type=afxdp")
        sh(["ip", "addr", "add", f"{self.vtep}/{self.prefix_len}", "dev", "br-phy"], ns=self.ns)
        sh(["ip", "link", "set", "br-phy", "up"], ns=self.ns)
        self.vsctl("add-br", "br-int", "--", "set", "bridge", "br-int", "datapath_type=netdev")
        self.vsctl("add-port", "br-int", self.access, "--", "set", "interface", self.access, "type=afxdp")
        self.vsctl("add-port", "br-int", f"vx{self.vni}", "--", "set", "interface", f"vx{self.vni}", "type=vxlan",
                   f"options:remote_ip={self.remote}", f"options:key={self.vni}", f"options:local_ip={self.vtep}")
        self.appctl("tnl/neigh/set", "br-phy", self.remote, self.remote_mac)
        self.appctl("ovs/route/add", f"{self.remote}/32", "br-phy")
        time.sleep(2)

    def down(self):
        for p in (self.vs, self.db):
            stop(p)
        sh(["ip", "addr", "add", f"{self.vtep}/{self.prefix_len}", "dev", "ul"], ns=self.ns, check=False)

    def clear_stats(self):
        self.appctl("dpif-netdev/pmd-stats-clear")

    def cycles_per_packet(self):
        out = self.appctl("dpif-netdev/pmd-stats-show")
        m = re.search(r"pmd thread.*?avg processing cycles per packet: ([\d.]+)", out, re.S)
        return round(float(m.group(1))) if m else None
