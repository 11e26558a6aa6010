//! The control thread: serves vxctl over a Unix socket (mio, many clients,
//! JSON lines with a size limit), ages the FDB and sums the workers' counters.
//!
//! It owns everything slow; workers never wait on it. A slow or silent client
//! holds only its own buffer: reads and writes are non-blocking.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::{UnixListener, UnixStream};
use mio::{Events, Interest, Poll, Token};
use vxctl::{
    FdbEntry, PortStats, Reply, Request, Stats, VtepStats, WorkerStats, MAX_REQUEST_BYTES,
};

use crate::config::format_mac;
use crate::fdb::Dest;
use crate::port::FrameAccounting;
use crate::state::{State, Via};
use crate::stats::{Counters, Drop as DropReason, Event};
use crate::underlay::{Resolution, Resolver};
use crate::Shared;

/// What a worker publishes for the control thread.
pub struct WorkerInfo {
    pub core: usize,
    pub counters: Counters,
    frames: [AtomicUsize; 4],
    /// The worker's AF_XDP socket fds, set once at start, for the kernel's
    /// per-socket drop statistics (read by the control thread).
    pub xsk_fds: std::sync::OnceLock<Vec<i32>>,
}

impl WorkerInfo {
    pub fn new(core: usize) -> WorkerInfo {
        WorkerInfo {
            xsk_fds: std::sync::OnceLock::new(),
            core,
            counters: Counters::default(),
            frames: Default::default(),
        }
    }
    /// Called by the worker once per batch.
    #[inline]
    pub fn publish(&self, f: FrameAccounting) {
        for (slot, v) in self
            .frames
            .iter()
            .zip([f.total, f.free, f.in_fill, f.in_tx])
        {
            slot.store(v, Ordering::Relaxed);
        }
    }
    fn frames(&self) -> [u64; 4] {
        self.frames
            .each_ref()
            .map(|a| a.load(Ordering::Relaxed) as u64)
    }
}

/// Creates the socket's directory (0700) and binds the socket (0600),
/// replacing a stale socket file left by a switch that died.
pub fn bind(path: &Path) -> io::Result<UnixListener> {
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() && !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
        }
    }
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                "another switch is listening on it",
            ));
        }
        std::fs::remove_file(path)?;
    }
    let l = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(l)
}

struct Client {
    stream: UnixStream,
    inbuf: Vec<u8>,
    outbuf: Vec<u8>,
    closing: bool,
}

/// Everything the server reads to answer.
pub struct Control {
    pub shared: Arc<Shared>,
    pub workers: Vec<Arc<WorkerInfo>>,
    /// The uplink's XDP program, for its verdict counters (AF_XDP only).
    pub uplink_prog: Option<Arc<crate::port::xdp_prog::XdpProgram>>,
    pub backend: &'static str,
    /// Resolves remote VTEPs that have no configured MAC from the kernel's
    /// tables (None when every VTEP has one).
    pub resolver: Option<std::cell::RefCell<Resolver>>,
}

const LISTENER: Token = Token(0);
/// Token of the resolver's netlink notifications; clients count up from 1
/// and never reach it.
const NETLINK: Token = Token(usize::MAX);

impl Control {
    /// Serves until `stop` is set. Ages the FDB once a second; resolves
    /// remote VTEPs from the kernel when routes or neighbours change, and
    /// once a second.
    pub fn serve(&self, listener: UnixListener, stop: &AtomicBool) -> io::Result<()> {
        let mut poll = Poll::new()?;
        let mut listener = listener;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        if let Some(r) = &self.resolver {
            let fd = r.borrow().events_fd();
            poll.registry()
                .register(&mut mio::unix::SourceFd(&fd), NETLINK, Interest::READABLE)?;
            self.resolve_vteps();
        }
        let mut events = Events::with_capacity(64);
        let mut clients: HashMap<Token, Client> = HashMap::new();
        let mut next = 1usize;
        let mut last_age = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            match poll.poll(&mut events, Some(Duration::from_millis(100))) {
                Ok(()) => {}
                // A signal (SIGTERM sets `stop`) interrupts the wait: look at `stop` again.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            for ev in events.iter() {
                if ev.token() == NETLINK {
                    let changed = self
                        .resolver
                        .as_ref()
                        .is_some_and(|r| r.borrow_mut().drain_events());
                    if changed {
                        self.resolve_vteps();
                    }
                    continue;
                }
                if ev.token() == LISTENER {
                    loop {
                        match listener.accept() {
                            Ok((mut stream, _)) => {
                                let t = Token(next);
                                next += 1;
                                poll.registry().register(
                                    &mut stream,
                                    t,
                                    Interest::READABLE | Interest::WRITABLE,
                                )?;
                                let mut c = Client {
                                    stream,
                                    inbuf: Vec::new(),
                                    outbuf: Vec::new(),
                                    closing: false,
                                };
                                if let Err(msg) = check_peer(&c.stream) {
                                    queue(&mut c, &Reply::err(msg));
                                    c.closing = true;
                                }
                                clients.insert(t, c);
                            }
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                            Err(e) => return Err(e),
                        }
                    }
                    continue;
                }
                let t = ev.token();
                let Some(c) = clients.get_mut(&t) else {
                    continue;
                };
                let gone = self.service(c);
                if gone {
                    if let Some(mut c) = clients.remove(&t) {
                        let _ = poll.registry().deregister(&mut c.stream);
                    }
                }
            }
            if last_age.elapsed() >= Duration::from_secs(1) {
                last_age = Instant::now();
                let st = self.shared.state.load();
                self.shared
                    .fdb
                    .age(self.shared.now_secs(), st.fdb_age_secs, |_, _| false);
                self.resolve_vteps();
            }
        }
        Ok(())
    }

    /// Asks the kernel how each remote VTEP without a configured MAC is
    /// reached, and publishes a new running state if any answer changed.
    fn resolve_vteps(&self) {
        let Some(r) = &self.resolver else { return };
        let mut r = r.borrow_mut();
        let cur = self.shared.state.load_full();
        let mut next: Option<State> = None;
        for (i, v) in cur.vteps.iter().enumerate() {
            if !matches!(v.via, Via::Kernel { .. } | Via::Unresolved) {
                continue;
            }
            let (mac, via) = match r.resolve(v.ip) {
                Ok(Resolution::Resolved { mac, gateway }) => (Some(mac), Via::Kernel { gateway }),
                Ok(Resolution::Unresolved { .. }) | Ok(Resolution::NoRoute) => {
                    (None, Via::Unresolved)
                }
                Err(e) => {
                    eprintln!("vxswitch: resolving remote VTEP {}: {e}", v.ip);
                    continue;
                }
            };
            if (mac, via) != (v.mac, v.via) {
                let base = next.as_ref().unwrap_or(&cur);
                next = Some(base.with_vtep_mac(i, mac, via));
                match mac {
                    Some(m) => eprintln!(
                        "vxswitch: remote VTEP {} at {} ({via})",
                        v.ip,
                        format_mac(&m)
                    ),
                    None => eprintln!("vxswitch: remote VTEP {} is unresolved", v.ip),
                }
            }
        }
        if let Some(st) = next {
            // Read-copy-update: workers pick it up at their next batch.
            self.shared.state.store(Arc::new(st));
        }
    }

    /// Reads requests and writes replies; true when the client is done.
    fn service(&self, c: &mut Client) -> bool {
        let mut buf = [0u8; 4096];
        while !c.closing {
            match c.stream.read(&mut buf) {
                Ok(0) => {
                    c.closing = true;
                }
                Ok(n) => {
                    c.inbuf.extend_from_slice(&buf[..n]);
                    while let Some(pos) = c.inbuf.iter().position(|&b| b == b'\n') {
                        let line: Vec<u8> = c.inbuf.drain(..=pos).collect();
                        let reply = self.handle(&line[..line.len() - 1]);
                        queue(c, &reply);
                    }
                    if c.inbuf.len() > MAX_REQUEST_BYTES {
                        queue(
                            c,
                            &Reply::err(format!("request longer than {MAX_REQUEST_BYTES} bytes")),
                        );
                        c.closing = true;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => return true,
            }
        }
        while !c.outbuf.is_empty() {
            match c.stream.write(&c.outbuf) {
                Ok(n) => {
                    c.outbuf.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
                Err(_) => return true,
            }
        }
        c.closing
    }

    fn handle(&self, line: &[u8]) -> Reply {
        let req: Request = match serde_json::from_slice(line) {
            Ok(r) => r,
            Err(e) => return Reply::err(format!("bad request: {e}")),
        };
        match req {
            Request::Stats {} => Reply::ok(self.stats()),
            Request::FdbShow { vni } => Reply::ok(self.fdb_show(vni)),
            Request::Version {} => Reply::ok(env!("CARGO_PKG_VERSION")),
        }
    }

    /// Sums every worker's counters.
    pub fn stats(&self) -> Stats {
        let st = self.shared.state.load();
        let sum =
            |f: &dyn Fn(&Counters) -> u64| self.workers.iter().map(|w| f(&w.counters)).sum::<u64>();
        let mut counters = std::collections::BTreeMap::new();
        for &d in DropReason::ALL {
            counters.insert(d.name().to_string(), sum(&|c| c.drops(d)));
        }
        for &e in Event::ALL {
            counters.insert(e.name().to_string(), sum(&|c| c.events(e)));
        }
        let mut xsk = [0u64; XSK_STATS.len()];
        for w in &self.workers {
            for &fd in w.xsk_fds.get().map(|v| v.as_slice()).unwrap_or(&[]) {
                for (t, v) in xsk.iter_mut().zip(xdp_statistics(fd)) {
                    *t += v;
                }
            }
        }
        if self.backend == "xdp" {
            for (name, v) in XSK_STATS.iter().zip(xsk) {
                counters.insert(name.to_string(), v);
            }
        }
        if let Some(p) = &self.uplink_prog {
            for (name, v) in crate::port::xdp_prog::VERDICTS.iter().zip(p.verdicts()) {
                counters.insert(name.to_string(), v);
            }
        }
        let ports = st
            .ports
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let v = |k: usize| sum(&|c| c.port(i)[k]);
                PortStats {
                    name: p.name.clone(),
                    vni: p.bd.map(|b| st.bds[usize::from(b)].vni),
                    rx_packets: v(0),
                    rx_bytes: v(1),
                    tx_packets: v(2),
                    tx_bytes: v(3),
                    csum_completed: sum(&|c| c.port_csum_completed(i)),
                }
            })
            .collect();
        let vteps = st
            .vteps
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let v = |k: usize| sum(&|c| c.vtep(i)[k]);
                VtepStats {
                    ip: t.ip.to_string(),
                    mac: t.mac.map_or_else(|| "-".to_string(), |m| format_mac(&m)),
                    via: t.via.to_string(),
                    tx_packets: v(0),
                    tx_bytes: v(1),
                    rx_packets: v(2),
                }
            })
            .collect();
        let workers = self
            .workers
            .iter()
            .map(|w| {
                let [total, free, in_fill, in_tx] = w.frames();
                let (rx, tx) = (0..st.ports.len()).fold((0, 0), |(rx, tx), p| {
                    let c = w.counters.port(p);
                    (rx + c[0], tx + c[2])
                });
                WorkerStats {
                    core: w.core,
                    rx_packets: rx,
                    tx_packets: tx,
                    busy_cycles: w.counters.events(Event::BusyCycles),
                    busy_packets: w.counters.events(Event::BusyPackets),
                    frames_total: total,
                    frames_free: free,
                    frames_in_fill: in_fill,
                    frames_in_tx: in_tx,
                }
            })
            .collect();
        Stats {
            uplink: st.ports[0].name.clone(),
            backend: self.backend.to_string(),
            vtep: st.vtep_ip.to_string(),
            udp_port: st.udp_port,
            uplink_mtu: st.uplink_mtu,
            overlay_mtu: st.overlay_mtu(),
            fdb_entries: self.shared.fdb.len() as u64,
            fdb_capacity: self.shared.fdb.capacity() as u64,
            counters,
            ports,
            vteps,
            workers,
        }
    }

    fn fdb_show(&self, vni: Option<u32>) -> Vec<FdbEntry> {
        let st = self.shared.state.load();
        let mut out: Vec<FdbEntry> = self
            .shared
            .fdb
            .entries(self.shared.now_secs())
            .into_iter()
            .filter_map(|e| {
                let bd = st.bds.get(usize::from(e.bd))?;
                if vni.is_some_and(|v| v != bd.vni) {
                    return None;
                }
                let dest = match e.dest {
                    Dest::Port(p) => format!("port {}", st.ports.get(usize::from(p))?.name),
                    Dest::Vtep(v) => format!("vtep {}", st.vteps.get(usize::from(v))?.ip),
                };
                Some(FdbEntry {
                    vni: bd.vni,
                    mac: format_mac(&e.mac),
                    dest,
                    is_static: e.is_static,
                    age_secs: e.age_secs,
                })
            })
            .collect();
        out.sort_by(|a, b| (a.vni, &a.mac).cmp(&(b.vni, &b.mac)));
        out
    }
}

fn queue(c: &mut Client, r: &Reply) {
    let mut s = serde_json::to_vec(r).expect("replies serialise");
    s.push(b'\n');
    c.outbuf.extend_from_slice(&s);
}

/// The kernel's drop counters of AF_XDP sockets (struct xdp_statistics),
/// summed over every socket: where frames were lost outside the switch.
const XSK_STATS: [&str; 6] = [
    "xsk.rx_dropped",
    "xsk.rx_invalid_descs",
    "xsk.tx_invalid_descs",
    "xsk.rx_ring_full",
    "xsk.rx_fill_ring_empty",
    "xsk.tx_ring_empty",
];

/// getsockopt(SOL_XDP, XDP_STATISTICS) on one socket; zeros if it fails.
fn xdp_statistics(fd: i32) -> [u64; 6] {
    const SOL_XDP: libc::c_int = 283;
    const XDP_STATISTICS: libc::c_int = 7;
    let mut v = [0u64; 6];
    let mut len = std::mem::size_of_val(&v) as libc::socklen_t;
    // SAFETY: the kernel writes at most `len` bytes into `v`.
    let r = unsafe {
        libc::getsockopt(
            fd,
            SOL_XDP,
            XDP_STATISTICS,
            v.as_mut_ptr() as *mut libc::c_void,
            &mut len,
        )
    };
    if r != 0 {
        return [0; 6];
    }
    v
}

/// Root, or the switch's own user, may control it.
fn check_peer(s: &UnixStream) -> Result<(), String> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `cred`, a live ucred.
    let r = unsafe {
        libc::getsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            &mut cred as *mut libc::ucred as *mut libc::c_void,
            &mut len,
        )
    };
    if r != 0 {
        return Err("cannot read the peer's credentials".into());
    }
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    if cred.uid == 0 || cred.uid == me {
        Ok(())
    } else {
        Err(format!(
            "permission denied: uid {} may not control this switch",
            cred.uid
        ))
    }
}

/// Removes the socket file on drop.
pub struct SocketFile(pub PathBuf);

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
