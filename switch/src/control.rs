//! The control thread: serves vxctl over a Unix socket (mio, many clients,
//! JSON lines with a size limit), applies live changes, ages the FDB and sums
//! the workers' counters.
//!
//! It owns everything slow; workers never wait on it. A slow or silent client
//! holds only its own buffer: reads and writes are non-blocking.
//!
//! A change is made to a copy of the running configuration, checked as a
//! start-up file would be, turned into a new running state that keeps every
//! VNI, port and VTEP in its slot ([`State::rebuild`]), and published whole
//! (read-copy-update). What a removal leaves behind in the FDB is flushed
//! only after every worker has finished the batches that could still use
//! the old state ([`Change::Sync`]), so no stale entry can be learned back.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::Ipv4Addr;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use mio::net::{UnixListener, UnixStream};
use mio::{Events, Interest, Poll, Token};
use vxctl::{
    ArpInfo, Done, FdbEntry, NexthopInfo, PortInfo, PortStats, Reply, Request, Stats, TunnelInfo,
    VersionInfo, VniInfo, VniStats, VtepStats, WorkerStats, MAX_REQUEST_BYTES,
};

use crate::config::{
    format_mac, ArpEntry, Config, FdbDest, MssClamp, NextHop, PortConfig, StaticFdb, VniConfig,
};
use crate::fdb::Dest;
use crate::port::xdp::XdpMode;
use crate::port::xdp_prog::{Role, XdpProgram};
use crate::port::{FrameAccounting, PortSpec};
use crate::probe::{ArpSocket, HopState, Liveness};
use crate::state::{HopKey, State, UplinkInfo, Via};
use crate::stats::{Counters, Drop as DropReason, Event};
use crate::underlay::{Resolution, Resolver};
use crate::worker::{Change, Command};
use crate::Shared;

/// What a worker publishes for the control thread.
pub struct WorkerInfo {
    pub core: usize,
    pub counters: Counters,
    frames: [AtomicUsize; 4],
    /// The worker's AF_XDP socket fds, for the kernel's per-socket drop
    /// statistics; the worker replaces them when its ports change.
    pub xsk_fds: Mutex<Vec<i32>>,
}

impl WorkerInfo {
    pub fn new(core: usize) -> WorkerInfo {
        WorkerInfo {
            xsk_fds: Mutex::new(Vec::new()),
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

/// Who may use the control socket besides root and the switch's own user.
#[derive(Debug, Clone)]
pub struct ControlGroup {
    pub name: String,
    pub gid: u32,
}

impl ControlGroup {
    /// Looks a group up by name.
    pub fn lookup(name: &str) -> Result<ControlGroup, String> {
        let c = std::ffi::CString::new(name).map_err(|_| format!("bad group name {name:?}"))?;
        // SAFETY: getgrnam reads a NUL-terminated name; the result is read at
        // once, on this thread, before any other getgr* call.
        let g = unsafe { libc::getgrnam(c.as_ptr()) };
        if g.is_null() {
            return Err(format!(
                "control.group {name:?}: no such group on this host"
            ));
        }
        // SAFETY: g is a valid group entry (checked non-null above).
        let gid = unsafe { (*g).gr_gid };
        Ok(ControlGroup {
            name: name.to_string(),
            gid,
        })
    }
}

/// Creates the socket's directory and binds the socket, replacing a stale
/// socket file left by a switch that died. Without a group: directory
/// 0700, socket 0600. With one: 0750 and 0660, owned by the group.
pub fn bind(path: &Path, group: Option<&ControlGroup>) -> io::Result<UnixListener> {
    let (dir_mode, sock_mode) = if group.is_some() {
        (0o750, 0o660)
    } else {
        (0o700, 0o600)
    };
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() && !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(dir_mode)
                .create(dir)?;
            if let Some(g) = group {
                std::os::unix::fs::chown(dir, None, Some(g.gid))?;
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(dir_mode))?;
            }
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
    if let Some(g) = group {
        std::os::unix::fs::chown(path, None, Some(g.gid))?;
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(sock_mode))?;
    Ok(l)
}

struct Client {
    stream: UnixStream,
    inbuf: Vec<u8>,
    outbuf: Vec<u8>,
    closing: bool,
}

/// How ports are opened: decides what `port add` attaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Xdp(XdpMode),
    Packet,
}

impl BackendKind {
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Xdp(_) => "xdp",
            BackendKind::Packet => "packet",
        }
    }
}

/// The control thread's state.
pub struct Control {
    pub shared: Arc<Shared>,
    pub workers: Vec<Arc<WorkerInfo>>,
    /// Each worker's command channel, same order as `workers`.
    pub commands: Vec<mpsc::Sender<Command>>,
    /// The uplink's XDP program, for its verdict counters (AF_XDP only).
    pub uplink_prog: Option<Arc<XdpProgram>>,
    /// Access ports' XDP programs by name (detached when dropped).
    pub port_progs: HashMap<String, Arc<XdpProgram>>,
    pub backend: BackendKind,
    pub uplink: UplinkInfo,
    /// Whether the switch answers ARP for its VTEP address.
    pub answer_vtep_arp: bool,
    /// The file the switch started from: where `config save` writes.
    pub config_path: Option<PathBuf>,
    pub group: Option<ControlGroup>,
    /// Resolves remote VTEPs that have no configured MAC from the kernel's
    /// tables (None when netlink is unavailable).
    pub resolver: Option<Resolver>,
    /// ARP on the uplink: next-hop probes and the switch's own resolution of
    /// remote VTEPs and gateways (None when it could not be opened).
    pub arp: Option<ArpSocket>,
    /// Probed next hops by address.
    hops_live: HashMap<Ipv4Addr, Liveness>,
    /// What ARP on the uplink has said: address -> (MAC, when).
    arp_cache: HashMap<Ipv4Addr, (crate::wire::Mac, Instant)>,
    /// When the switch last asked for an address itself.
    arp_asked: HashMap<Ipv4Addr, Instant>,
    /// Counter values of a slot when its current port or VTEP took it:
    /// what `stats` subtracts, so a reused slot starts from zero.
    port_base: HashMap<usize, [u64; 5]>,
    vtep_base: HashMap<usize, [u64; 3]>,
}

const LISTENER: Token = Token(0);
/// Token of the resolver's netlink notifications; clients count up from 1
/// and never reach it.
const NETLINK: Token = Token(usize::MAX);
/// Token of the ARP socket.
const ARP: Token = Token(usize::MAX - 1);
/// How long an ARP answer counts, and when the switch asks again before that.
const ARP_STALE: Duration = Duration::from_secs(60);
const ARP_REFRESH: Duration = Duration::from_secs(15);
/// At most one request of the switch's own per address and this long.
const ARP_RETRY: Duration = Duration::from_secs(1);
/// How long a worker may take to apply a port change.
const WORKER_REPLY: Duration = Duration::from_secs(5);

type Handled = Result<Reply, String>;

fn done(message: impl Into<String>) -> Handled {
    Ok(Reply::ok(Done {
        message: message.into(),
    }))
}

/// The configuration of VNI `id`, or the error naming it.
fn vni_config(st: &State, id: u32) -> Result<&VniConfig, String> {
    st.config
        .vnis
        .iter()
        .find(|v| v.id == id)
        .ok_or_else(|| no_vni(id))
}

/// VNI `id` in a config being edited.
fn vni_mut(c: &mut Config, id: u32) -> Option<&mut VniConfig> {
    c.vnis.iter_mut().find(|v| v.id == id)
}

/// `198.18.0.254`, `02:00:00:00:00:fe`, or both.
fn hop_name(ip: Option<Ipv4Addr>, mac: Option<[u8; 6]>) -> String {
    match (ip, mac) {
        (Some(ip), Some(m)) => format!("{ip} ({})", format_mac(&m)),
        (Some(ip), None) => ip.to_string(),
        (None, Some(m)) => format_mac(&m),
        (None, None) => "-".into(),
    }
}

fn no_vni(id: u32) -> String {
    format!("vni {id} does not exist")
}

/// Why an address cannot be a remote VTEP, if it cannot.
fn bad_remote(st: &State, ip: Ipv4Addr) -> Option<String> {
    if ip == st.vtep_ip {
        return Some(format!("{ip} is this switch's own VTEP address"));
    }
    if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() || ip.is_loopback() {
        return Some(format!("{ip} is not a unicast address"));
    }
    None
}

impl Control {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        shared: Arc<Shared>,
        workers: Vec<Arc<WorkerInfo>>,
        commands: Vec<mpsc::Sender<Command>>,
        backend: BackendKind,
        uplink: UplinkInfo,
        answer_vtep_arp: bool,
        config_path: Option<PathBuf>,
        group: Option<ControlGroup>,
    ) -> Control {
        Control {
            shared,
            workers,
            commands,
            uplink_prog: None,
            port_progs: HashMap::new(),
            backend,
            uplink,
            answer_vtep_arp,
            config_path,
            group,
            resolver: None,
            arp: None,
            hops_live: HashMap::new(),
            arp_cache: HashMap::new(),
            arp_asked: HashMap::new(),
            port_base: HashMap::new(),
            vtep_base: HashMap::new(),
        }
    }

    /// Serves until `stop` is set. Ages the FDB once a second; resolves
    /// remote VTEPs from the kernel when routes or neighbours change, and
    /// once a second.
    pub fn serve(&mut self, listener: UnixListener, stop: &AtomicBool) -> io::Result<()> {
        let mut poll = Poll::new()?;
        let mut listener = listener;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        if let Some(r) = &self.resolver {
            let fd = r.events_fd();
            poll.registry()
                .register(&mut mio::unix::SourceFd(&fd), NETLINK, Interest::READABLE)?;
            self.resolve_vteps();
        }
        if let Some(a) = &self.arp {
            let fd = a.fd();
            poll.registry()
                .register(&mut mio::unix::SourceFd(&fd), ARP, Interest::READABLE)?;
        }
        let mut events = Events::with_capacity(64);
        let mut clients: HashMap<Token, Client> = HashMap::new();
        let mut next = 1usize;
        let mut last_age = Instant::now();
        let mut next_probe = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            let wait = next_probe
                .saturating_duration_since(Instant::now())
                .min(Duration::from_millis(100));
            match poll.poll(&mut events, Some(wait)) {
                Ok(()) => {}
                // A signal (SIGTERM sets `stop`) interrupts the wait: look at `stop` again.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            if Instant::now() >= next_probe {
                let iv = self.probe_next_hops();
                next_probe = Instant::now() + iv;
            }
            for ev in events.iter() {
                if ev.token() == ARP {
                    self.on_arp();
                    continue;
                }
                if ev.token() == NETLINK {
                    let changed = self.resolver.as_mut().is_some_and(|r| r.drain_events());
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
                                if let Err(msg) = check_peer(&c.stream, self.group.as_ref()) {
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
                self.detach_vanished();
                self.resolve_vteps();
            }
        }
        Ok(())
    }

    /// Resolves each remote VTEP without a configured MAC: the route from
    /// the kernel (its gateway, or the VTEP itself when directly connected),
    /// then that next hop's MAC from the switch's own ARP (asked again
    /// before it goes stale), the kernel's neighbour table as the start-up
    /// hint. Publishes a new running state if any answer changed.
    fn resolve_vteps(&mut self) {
        if self.resolver.is_none() {
            return;
        }
        let cur = self.shared.state.load_full();
        let now = Instant::now();
        let mut next: Option<State> = None;
        for (i, v) in cur.vteps.iter().enumerate() {
            if v.is_vacant() || !v.via.is_resolved_here() {
                continue;
            }
            let Some((mac, via)) = self.resolve_one(v.ip, now) else {
                continue;
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

    /// How one remote VTEP is reached now; `None` when netlink failed
    /// (keep what is known).
    fn resolve_one(
        &mut self,
        ip: Ipv4Addr,
        now: Instant,
    ) -> Option<(Option<crate::wire::Mac>, Via)> {
        let r = self.resolver.as_mut()?;
        if self.arp.is_none() {
            // No ARP socket: the kernel resolves, nudged.
            return match r.resolve(ip) {
                Ok(Resolution::Resolved { mac, gateway }) => {
                    Some((Some(mac), Via::Kernel { gateway }))
                }
                Ok(Resolution::Unresolved { .. }) | Ok(Resolution::NoRoute) => {
                    Some((None, Via::Unresolved))
                }
                Err(e) => {
                    eprintln!("vxswitch: resolving remote VTEP {ip}: {e}");
                    None
                }
            };
        }
        let gateway = match r.route(ip) {
            Ok(Some(gw)) => gw,
            Ok(None) => return Some((None, Via::Unresolved)),
            Err(e) => {
                eprintln!("vxswitch: route to remote VTEP {ip}: {e}");
                return None;
            }
        };
        let target = gateway.unwrap_or(ip);
        let ours = self
            .arp_cache
            .get(&target)
            .filter(|(_, t)| now.saturating_duration_since(*t) < ARP_STALE)
            .copied();
        let stale = ours.is_none_or(|(_, t)| now.saturating_duration_since(t) >= ARP_REFRESH);
        let asked = self
            .arp_asked
            .get(&target)
            .is_some_and(|t| now.saturating_duration_since(*t) < ARP_RETRY);
        if stale && !asked {
            self.arp_asked.insert(target, now);
            if let Some(a) = &self.arp {
                let _ = a.request(target);
            }
        }
        if let Some((mac, _)) = ours {
            return Some((Some(mac), Via::Arp { gateway }));
        }
        match r.neighbour(target) {
            Ok(Some(mac)) => Some((Some(mac), Via::Kernel { gateway })),
            Ok(None) => Some((None, Via::Unresolved)),
            Err(_) => None,
        }
    }

    /// ARP frames seen on the uplink: answers to the switch's probes and
    /// requests, and anyone else's (each names its sender's MAC).
    fn on_arp(&mut self) {
        let Some(a) = &self.arp else { return };
        let mut heard = Vec::new();
        a.drain(&mut heard);
        if heard.is_empty() {
            return;
        }
        let now = Instant::now();
        let cur = self.shared.state.load_full();
        let mut next: Option<State> = None;
        let mut vteps_changed = false;
        for (ip, mac) in heard {
            let before = self.arp_cache.insert(ip, (mac, now)).map(|(m, _)| m);
            vteps_changed |= before != Some(mac);
            let Some(l) = self.hops_live.get_mut(&ip) else {
                continue;
            };
            if l.heard(mac, now) {
                let base = next.as_ref().unwrap_or(&cur);
                if let Some(slot) = base
                    .next_hops
                    .iter()
                    .position(|h| h.as_ref().is_some_and(|h| h.key == HopKey::Ip(ip)))
                {
                    eprintln!("vxswitch: next hop {ip} is up at {}", format_mac(&mac));
                    next = Some(base.with_next_hop(slot, Some(mac), true));
                }
            }
        }
        if let Some(st) = next {
            self.shared.state.store(Arc::new(st));
        }
        if vteps_changed {
            self.resolve_vteps();
        }
    }

    /// Detaches access ports whose interface is gone (a container's veth
    /// deleted with it), as the Linux bridge drops a deleted port: their
    /// sockets close, their frames and FDB entries come back.
    fn detach_vanished(&mut self) {
        let gone: Vec<String> = self
            .shared
            .state
            .load()
            .config
            .ports
            .iter()
            .filter(|p| crate::host::require_interface(&p.name).is_err())
            .map(|p| p.name.clone())
            .collect();
        for name in gone {
            match self.port_del(&name) {
                Ok(_) => eprintln!("vxswitch: port {name}: its interface is gone; detached"),
                Err(e) => eprintln!("vxswitch: port {name}: its interface is gone; detaching: {e}"),
            }
        }
    }

    /// Probes every next hop that has an address, marking down those silent
    /// for `probe_misses` intervals (their ECMP buckets go to the live
    /// hops). Returns the probe interval.
    fn probe_next_hops(&mut self) -> Duration {
        let cur = self.shared.state.load_full();
        let u = &cur.config.underlay;
        let interval = Duration::from_millis(u64::from(u.probe_interval_ms));
        let now = Instant::now();
        let mut next: Option<State> = None;
        let mut probed = Vec::new();
        for (slot, h) in cur.next_hops.iter().enumerate() {
            let Some(h) = h else { continue };
            let HopKey::Ip(ip) = h.key else { continue };
            probed.push(ip);
            let l = self
                .hops_live
                .entry(ip)
                .or_insert_with(|| Liveness::new(h.mac, now));
            if l.tick(now, u.probe_misses) {
                eprintln!(
                    "vxswitch: next hop {ip} is down: no ARP answer for {} probes",
                    u.probe_misses
                );
                let base = next.as_ref().unwrap_or(&cur);
                next = Some(base.with_next_hop(slot, l.mac, false));
            }
            if let Some(a) = &self.arp {
                let _ = a.request(ip);
            }
        }
        self.hops_live.retain(|ip, _| probed.contains(ip));
        if let Some(st) = next {
            self.shared.state.store(Arc::new(st));
        }
        interval
    }

    /// Reads requests and writes replies; true when the client is done.
    fn service(&mut self, c: &mut Client) -> bool {
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

    /// One request line: parsed, dispatched, answered. An error changes nothing.
    pub fn handle(&mut self, line: &[u8]) -> Reply {
        let req: Request = match serde_json::from_slice(line) {
            Ok(r) => r,
            Err(e) => return Reply::err(format!("bad request: {e}")),
        };
        self.dispatch(req).unwrap_or_else(Reply::err)
    }

    fn dispatch(&mut self, req: Request) -> Handled {
        check_request(&req)?;
        match req {
            Request::VniAdd { id, flood_remote } => self.vni_add(id, flood_remote),
            Request::VniDel { id } => self.vni_del(id),
            Request::VniSet {
                id,
                learning,
                mss_clamp,
            } => self.vni_set(id, learning, mss_clamp),
            Request::VniList {} => Ok(Reply::ok(self.vni_list())),
            Request::PortAdd { name, vni } => self.port_add(name, vni),
            Request::PortDel { name } => self.port_del(&name),
            Request::PortList {} => Ok(Reply::ok(self.port_list())),
            Request::TunnelAdd { vni, remote } => self.tunnel_add(vni, remote),
            Request::TunnelDel { vni, remote } => self.tunnel_del(vni, remote),
            Request::TunnelList { vni } => Ok(Reply::ok(self.tunnel_list(vni))),
            Request::FdbShow { vni } => Ok(Reply::ok(self.fdb_show(vni))),
            Request::FdbAdd {
                vni,
                mac,
                port,
                remote,
            } => self.fdb_add(vni, mac.0, port, remote),
            Request::FdbDel { vni, mac } => self.fdb_del(vni, mac.0),
            Request::FdbFlush { vni } => self.fdb_flush(vni),
            Request::ArpAdd { vni, ip, mac } => self.arp_add(vni, ip, mac.0),
            Request::ArpDel { vni, ip } => self.arp_del(vni, ip),
            Request::ArpList { vni } => Ok(Reply::ok(self.arp_list(vni))),
            Request::NexthopAdd { ip, mac, weight } => {
                self.nexthop_add(ip, mac.map(|m| m.0), weight)
            }
            Request::NexthopDel { ip, mac } => self.nexthop_del(ip, mac.map(|m| m.0)),
            Request::NexthopList {} => Ok(Reply::ok(self.nexthop_list())),
            Request::Stats {} => Ok(Reply::ok(self.stats())),
            Request::ConfigShow {} => Ok(Reply::ok(running_toml(&self.shared.state.load()))),
            Request::ConfigSave { file } => self.config_save(file),
            Request::Version {} => Ok(Reply::ok(VersionInfo {
                version: env!("CARGO_PKG_VERSION").to_string(),
            })),
        }
    }

    // ---- applying changes ----

    /// The running config with `edit` applied, checked as a start-up file
    /// would be, and the running state it makes (not yet published).
    fn prepare(&self, edit: impl FnOnce(&mut Config)) -> Result<State, String> {
        let cur = self.shared.state.load();
        let mut cfg = cur.config.clone();
        edit(&mut cfg);
        cfg.check().map_err(|e| e.to_string())?;
        State::rebuild(&cfg, &self.uplink, self.answer_vtep_arp, Some(&cur))
            .map_err(|e| e.to_string())
    }

    /// Publishes `next`; a slot that changed hands starts its counters at zero.
    fn publish(&mut self, next: State) -> Arc<State> {
        let prev = self.shared.state.load_full();
        for (i, p) in next.ports.iter().enumerate() {
            let was = prev.ports.get(i).map(|q| q.name.as_str());
            if !p.is_vacant() && was != Some(p.name.as_str()) {
                let now = self.port_counters(i);
                self.port_base.insert(i, now);
            }
        }
        for (i, v) in next.vteps.iter().enumerate() {
            if !v.is_vacant() && prev.vteps.get(i).map(|w| w.ip) != Some(v.ip) {
                let now = self.vtep_counters(i);
                self.vtep_base.insert(i, now);
            }
        }
        let next = Arc::new(next);
        self.shared.state.store(next.clone());
        next
    }

    /// Sends a change to every worker and waits until each has applied it.
    fn tell_workers(&self, change: impl Fn() -> Change) -> Result<(), String> {
        let mut waiting = Vec::new();
        for (w, tx) in self.workers.iter().zip(&self.commands) {
            let (done, rx) = mpsc::channel();
            tx.send(Command {
                change: change(),
                done,
            })
            .map_err(|_| format!("the worker on core {} has stopped", w.core))?;
            waiting.push((w.core, rx));
        }
        let mut first = None;
        for (core, rx) in waiting {
            let r = match rx.recv_timeout(WORKER_REPLY) {
                Ok(r) => r.map_err(|e| format!("worker on core {core}: {e}")),
                Err(_) => Err(format!(
                    "the worker on core {core} did not answer within {} s",
                    WORKER_REPLY.as_secs()
                )),
            };
            if let Err(e) = r {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// Publishes `next`, waits out the workers' batches on the old state,
    /// then removes the FDB entries for which `doomed` holds.
    fn publish_and_flush(
        &mut self,
        next: State,
        doomed: impl Fn(u16, Dest, bool) -> bool,
    ) -> Result<usize, String> {
        self.publish(next);
        self.tell_workers(|| Change::Sync)?;
        Ok(self.shared.fdb.remove_where(doomed))
    }

    /// Installs the static FDB entries of `st`'s config.
    fn install_static(&self, st: &State) -> Result<(), String> {
        st.install_static(&self.shared.fdb)
            .map_err(|_| format!("the FDB is full ({} entries)", self.shared.fdb.capacity()))
    }

    fn vni_add(&mut self, id: u32, flood: Vec<Ipv4Addr>) -> Handled {
        let st = self.shared.state.load_full();
        if st.bd_of_vni(id).is_some() {
            return Err(format!("vni {id} exists already"));
        }
        if let Some(e) = flood.iter().find_map(|ip| bad_remote(&st, *ip)) {
            return Err(e);
        }
        let mut uniq = flood.clone();
        uniq.sort();
        uniq.dedup();
        if uniq.len() != flood.len() {
            return Err("--flood-remote lists an address twice".into());
        }
        let next = self.prepare(|c| {
            c.vnis.push(VniConfig {
                id,
                flood,
                learning: true,
                mss_clamp: MssClamp::Auto,
                fdb: Vec::new(),
                arp: Vec::new(),
            })
        })?;
        self.publish(next);
        self.resolve_vteps();
        done(format!("vni {id} added"))
    }

    fn vni_del(&mut self, id: u32) -> Handled {
        let st = self.shared.state.load_full();
        let bd = st.bd_of_vni(id).ok_or_else(|| no_vni(id))?;
        let ports: Vec<&str> = st
            .config
            .ports
            .iter()
            .filter(|p| p.vni == id)
            .map(|p| p.name.as_str())
            .collect();
        if !ports.is_empty() {
            return Err(format!(
                "vni {id} still has port(s) {}: delete them first",
                ports.join(", ")
            ));
        }
        let next = self.prepare(|c| c.vnis.retain(|v| v.id != id))?;
        let n = self.publish_and_flush(next, |b, _, _| b == bd)?;
        done(format!("vni {id} deleted ({n} FDB entries with it)"))
    }

    fn vni_set(
        &mut self,
        id: u32,
        learning: Option<vxctl::Toggle>,
        mss_clamp: Option<String>,
    ) -> Handled {
        let st = self.shared.state.load_full();
        let bd = st.bd_of_vni(id).ok_or_else(|| no_vni(id))?;
        if learning.is_none() && mss_clamp.is_none() {
            return Err(
                "nothing to change: give --learning on|off or --mss-clamp auto|off|N".into(),
            );
        }
        let clamp = mss_clamp
            .as_deref()
            .map(str::parse::<MssClamp>)
            .transpose()?;
        let on = learning.map(|l| l.is_on());
        let next = self.prepare(|c| {
            if let Some(v) = vni_mut(c, id) {
                if let Some(on) = on {
                    v.learning = on;
                }
                if let Some(m) = clamp {
                    v.mss_clamp = m;
                }
            }
        })?;
        let mut said = Vec::new();
        if let Some(m) = clamp {
            let mss = next.bds[usize::from(bd)].mss;
            said.push(match (m, mss) {
                (_, None) => "MSS clamping off".to_string(),
                (_, Some(n)) => format!("SYNs clamped to MSS {n}"),
            });
        }
        if on != Some(false) {
            self.publish(next);
            if on == Some(true) {
                said.insert(0, "learning on".into());
            }
            return done(format!("vni {id}: {}", said.join(", ")));
        }
        // Off: what was learned goes, so only static entries decide.
        let n = self.publish_and_flush(next, |b, _, is_static| b == bd && !is_static)?;
        said.insert(0, format!("learning off ({n} learned entries forgotten)"));
        done(format!("vni {id}: {}", said.join(", ")))
    }

    fn vni_list(&self) -> Vec<VniInfo> {
        let st = self.shared.state.load();
        st.config
            .vnis
            .iter()
            .map(|v| VniInfo {
                vni: v.id,
                learning: v.learning,
                mss_clamp: v.mss_clamp.to_string().trim_matches('"').to_string(),
                mss: st.bd_of_vni(v.id).and_then(|b| st.bds[usize::from(b)].mss),
                ports: st
                    .config
                    .ports
                    .iter()
                    .filter(|p| p.vni == v.id)
                    .map(|p| p.name.clone())
                    .collect(),
                flood: v.flood.iter().map(|ip| ip.to_string()).collect(),
                static_fdb: v.fdb.len(),
                arp: v.arp.len(),
            })
            .collect()
    }

    fn port_add(&mut self, name: String, vni: u32) -> Handled {
        let st = self.shared.state.load_full();
        if name == self.uplink.name {
            return Err(format!("{name} is the uplink"));
        }
        if let Some(p) = st.config.ports.iter().find(|p| p.name == name) {
            return Err(format!("port {name} is already in vni {}", p.vni));
        }
        if st.bd_of_vni(vni).is_none() {
            return Err(no_vni(vni));
        }
        crate::host::require_interface(&name).map_err(|e| e.to_string())?;
        let next = self.prepare(|c| {
            c.ports.push(PortConfig {
                name: name.clone(),
                vni,
            })
        })?;
        let slot = usize::from(
            next.port_of_name(&name)
                .expect("the new state has the port"),
        );
        let prog = match self.backend {
            BackendKind::Xdp(mode) => {
                let queues = crate::host::queue_count(&name);
                if queues < self.workers.len() {
                    return Err(crate::host::HostError::TooFewQueues {
                        port: name,
                        queues,
                        workers: self.workers.len(),
                    }
                    .to_string());
                }
                Some(Arc::new(
                    XdpProgram::attach(
                        &name,
                        Role::Access,
                        queues as u32,
                        mode.for_port(&name, self.workers.len()),
                    )
                    .map_err(|e| e.to_string())?,
                ))
            }
            // Best effort, as at start: makes the peer segment GSO frames.
            BackendKind::Packet => XdpProgram::attach(&name, Role::Pass, 1, XdpMode::Auto)
                .ok()
                .map(Arc::new),
        };
        let spec = PortSpec {
            name: name.clone(),
            prog: match self.backend {
                BackendKind::Xdp(_) => prog.clone(),
                BackendKind::Packet => None,
            },
        };
        if let Err(e) = self.tell_workers(|| Change::Open {
            slot,
            spec: spec.clone(),
        }) {
            // Undo on every worker (closing a slot that did not open is a no-op).
            let _ = self.tell_workers(|| Change::Close { slot });
            return Err(format!("attaching {name}: {e}"));
        }
        let how = match &prog {
            Some(p) if matches!(self.backend, BackendKind::Xdp(_)) => {
                format!(" (XDP {})", p.attached().name())
            }
            _ => String::new(),
        };
        if let Some(p) = prog {
            self.port_progs.insert(name.clone(), p);
        }
        self.publish(next);
        done(format!("port {name} attached to vni {vni}{how}"))
    }

    fn port_del(&mut self, name: &str) -> Handled {
        let st = self.shared.state.load_full();
        let slot = st
            .port_of_name(name)
            .filter(|&s| s != crate::state::UPLINK)
            .ok_or_else(|| format!("port {name} does not exist"))?;
        let next = self.prepare(|c| {
            c.ports.retain(|p| p.name != name);
            for v in &mut c.vnis {
                v.fdb.retain(|e| e.dest != FdbDest::Port(name.to_string()));
            }
        })?;
        self.publish(next);
        // Closing the sockets is also each worker's grace period.
        let closed = self.tell_workers(|| Change::Close {
            slot: usize::from(slot),
        });
        let n = self
            .shared
            .fdb
            .remove_where(|_, d, _| d == Dest::Port(slot));
        self.port_progs.remove(name);
        closed?;
        done(format!("port {name} detached ({n} FDB entries with it)"))
    }

    fn port_list(&self) -> Vec<PortInfo> {
        let st = self.shared.state.load();
        st.ports
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.is_vacant())
            .map(|(i, p)| {
                let c = self.port_since_attached(i);
                PortInfo {
                    name: p.name.clone(),
                    vni: p.bd.map(|b| st.bds[usize::from(b)].vni),
                    rx_packets: c[0],
                    tx_packets: c[2],
                }
            })
            .collect()
    }

    fn tunnel_add(&mut self, vni: u32, remote: Ipv4Addr) -> Handled {
        let st = self.shared.state.load_full();
        let v = vni_config(&st, vni)?;
        if let Some(e) = bad_remote(&st, remote) {
            return Err(e);
        }
        if v.flood.contains(&remote) {
            return Err(format!("vni {vni} already floods to {remote}"));
        }
        let next = self.prepare(|c| {
            if let Some(v) = vni_mut(c, vni) {
                v.flood.push(remote);
            }
        })?;
        self.publish(next);
        self.resolve_vteps();
        done(format!("vni {vni} floods to {remote}"))
    }

    fn tunnel_del(&mut self, vni: u32, remote: Ipv4Addr) -> Handled {
        let st = self.shared.state.load_full();
        let v = vni_config(&st, vni)?;
        if !v.flood.contains(&remote) {
            return Err(format!("vni {vni} has no tunnel to {remote}"));
        }
        let bd = st.bd_of_vni(vni).expect("the VNI exists");
        let vtep = st
            .vtep_of_ip(remote)
            .expect("a flood-list address has a VTEP");
        let next = self.prepare(|c| {
            if let Some(v) = vni_mut(c, vni) {
                v.flood.retain(|ip| *ip != remote);
            }
        })?;
        // MACs learned behind it in this VNI go; when no VNI uses the VTEP
        // any more, whatever points at it goes too.
        let gone = next.vtep_of_ip(remote).is_none();
        let n = self.publish_and_flush(next, |b, d, is_static| {
            d == Dest::Vtep(vtep) && (gone || (b == bd && !is_static))
        })?;
        done(format!(
            "vni {vni} no longer floods to {remote} ({n} FDB entries with it)"
        ))
    }

    fn tunnel_list(&self, vni: Option<u32>) -> Vec<TunnelInfo> {
        let st = self.shared.state.load();
        let mut out = Vec::new();
        for v in st
            .config
            .vnis
            .iter()
            .filter(|v| vni.is_none_or(|n| n == v.id))
        {
            for ip in &v.flood {
                let Some(i) = st.vtep_of_ip(*ip) else {
                    continue;
                };
                let t = &st.vteps[usize::from(i)];
                let c = self.vtep_since_added(usize::from(i));
                out.push(TunnelInfo {
                    vni: v.id,
                    remote: ip.to_string(),
                    mac: t.mac.map_or_else(|| "-".to_string(), |m| format_mac(&m)),
                    via: t.via.to_string(),
                    tx_packets: c[0],
                    rx_packets: c[2],
                });
            }
        }
        out
    }

    fn fdb_add(
        &mut self,
        vni: u32,
        mac: [u8; 6],
        port: Option<String>,
        remote: Option<Ipv4Addr>,
    ) -> Handled {
        let st = self.shared.state.load_full();
        if st.bd_of_vni(vni).is_none() {
            return Err(no_vni(vni));
        }
        let dest = match (port, remote) {
            (Some(_), Some(_)) => return Err("give --port or --remote, not both".into()),
            (None, None) => return Err("give --port IF or --remote IP".into()),
            (Some(p), None) => match st.config.ports.iter().find(|c| c.name == p) {
                None => return Err(format!("port {p} does not exist")),
                Some(c) if c.vni != vni => {
                    return Err(format!("port {p} is in vni {}, not {vni}", c.vni))
                }
                Some(_) => FdbDest::Port(p),
            },
            (None, Some(ip)) => {
                if let Some(e) = bad_remote(&st, ip) {
                    return Err(e);
                }
                FdbDest::Remote(ip)
            }
        };
        let next = self.prepare(|c| {
            if let Some(v) = vni_mut(c, vni) {
                v.fdb.retain(|e| e.mac != mac);
                v.fdb.push(StaticFdb {
                    mac,
                    dest: dest.clone(),
                });
            }
        })?;
        let next = self.publish(next);
        self.install_static(&next)?;
        self.resolve_vteps();
        let where_ = match &dest {
            FdbDest::Port(p) => format!("port {p}"),
            FdbDest::Remote(ip) => format!("vtep {ip}"),
        };
        done(format!(
            "vni {vni}: {} at {where_} (static)",
            format_mac(&mac)
        ))
    }

    fn fdb_del(&mut self, vni: u32, mac: [u8; 6]) -> Handled {
        let st = self.shared.state.load_full();
        let bd = st.bd_of_vni(vni).ok_or_else(|| no_vni(vni))?;
        let is_static = st
            .config
            .vnis
            .iter()
            .any(|v| v.id == vni && v.fdb.iter().any(|e| e.mac == mac));
        if is_static {
            let next = self.prepare(|c| {
                if let Some(v) = vni_mut(c, vni) {
                    v.fdb.retain(|e| e.mac != mac);
                }
            })?;
            self.publish(next);
        }
        if !self.shared.fdb.remove(bd, &mac) && !is_static {
            return Err(format!(
                "no FDB entry for {} in vni {vni}",
                format_mac(&mac)
            ));
        }
        done(format!("vni {vni}: {} deleted", format_mac(&mac)))
    }

    fn fdb_flush(&mut self, vni: Option<u32>) -> Handled {
        let st = self.shared.state.load_full();
        let bd = match vni {
            Some(v) => Some(st.bd_of_vni(v).ok_or_else(|| no_vni(v))?),
            None => None,
        };
        let n = self
            .shared
            .fdb
            .remove_where(|b, _, is_static| !is_static && bd.is_none_or(|x| x == b));
        done(format!("{n} learned entries flushed"))
    }

    fn arp_add(&mut self, vni: u32, ip: Ipv4Addr, mac: [u8; 6]) -> Handled {
        let st = self.shared.state.load_full();
        if st.bd_of_vni(vni).is_none() {
            return Err(no_vni(vni));
        }
        let next = self.prepare(|c| {
            if let Some(v) = vni_mut(c, vni) {
                v.arp.retain(|e| e.ip != ip);
                v.arp.push(ArpEntry { ip, mac });
            }
        })?;
        self.publish(next);
        done(format!(
            "vni {vni}: ARP for {ip} answered with {}",
            format_mac(&mac)
        ))
    }

    fn arp_del(&mut self, vni: u32, ip: Ipv4Addr) -> Handled {
        let st = self.shared.state.load_full();
        let v = vni_config(&st, vni)?;
        if !v.arp.iter().any(|e| e.ip == ip) {
            return Err(format!("vni {vni} has no ARP entry for {ip}"));
        }
        let next = self.prepare(|c| {
            if let Some(v) = vni_mut(c, vni) {
                v.arp.retain(|e| e.ip != ip);
            }
        })?;
        self.publish(next);
        done(format!("vni {vni}: ARP entry for {ip} deleted"))
    }

    fn arp_list(&self, vni: Option<u32>) -> Vec<ArpInfo> {
        let st = self.shared.state.load();
        st.config
            .vnis
            .iter()
            .filter(|v| vni.is_none_or(|n| n == v.id))
            .flat_map(|v| {
                v.arp.iter().map(|e| ArpInfo {
                    vni: v.id,
                    ip: e.ip.to_string(),
                    mac: format_mac(&e.mac),
                })
            })
            .collect()
    }

    fn nexthop_add(
        &mut self,
        ip: Option<Ipv4Addr>,
        mac: Option<[u8; 6]>,
        weight: Option<u32>,
    ) -> Handled {
        let st = self.shared.state.load_full();
        if ip.is_none() && mac.is_none() {
            return Err("give --ip IP (probed, MAC resolved by ARP) and/or --mac MAC".into());
        }
        if let Some(e) = ip.and_then(|ip| bad_remote(&st, ip)) {
            return Err(e);
        }
        let hops = &st.config.underlay.next_hops;
        if let Some(ip) = ip.filter(|ip| hops.iter().any(|h| h.ip == Some(*ip))) {
            return Err(format!("next hop {ip} exists already"));
        }
        if let Some(m) = mac.filter(|m| hops.iter().any(|h| h.mac == Some(*m))) {
            return Err(format!("next hop {} exists already", format_mac(&m)));
        }
        let hop = NextHop {
            ip,
            mac,
            weight: weight.unwrap_or(1),
        };
        let next = self.prepare(|c| c.underlay.next_hops.push(hop))?;
        self.publish(next);
        done(format!("next hop {} added", hop_name(ip, mac)))
    }

    fn nexthop_del(&mut self, ip: Option<Ipv4Addr>, mac: Option<[u8; 6]>) -> Handled {
        let st = self.shared.state.load_full();
        if ip.is_none() && mac.is_none() {
            return Err("give --ip IP or --mac MAC".into());
        }
        let matches = |h: &NextHop| {
            ip.is_none_or(|ip| h.ip == Some(ip)) && mac.is_none_or(|m| h.mac == Some(m))
        };
        if !st.config.underlay.next_hops.iter().any(matches) {
            return Err(format!("next hop {} does not exist", hop_name(ip, mac)));
        }
        let next = self.prepare(|c| c.underlay.next_hops.retain(|h| !matches(h)))?;
        self.publish(next);
        // VTEPs that went through next hops may now be resolved directly.
        self.resolve_vteps();
        done(format!("next hop {} deleted", hop_name(ip, mac)))
    }

    fn nexthop_list(&self) -> Vec<NexthopInfo> {
        let st = self.shared.state.load();
        st.config
            .underlay
            .next_hops
            .iter()
            .map(|h| {
                let key = HopKey::of(h);
                let slot = st
                    .next_hops
                    .iter()
                    .position(|s| s.as_ref().is_some_and(|s| Some(s.key) == key));
                let running = slot.and_then(|i| st.next_hops[i].as_ref());
                // The running MAC (what ARP found, for a probed hop), else
                // the configured one; "-" while a probed hop has none.
                let mac = running
                    .and_then(|r| r.mac)
                    .or(h.mac)
                    .map_or_else(|| "-".into(), |m| format_mac(&m));
                let state = match (h.ip, running) {
                    (None, _) => "static".to_string(),
                    (Some(ip), r) => self.hops_live.get(&ip).map_or_else(
                        || {
                            if r.is_some_and(|r| r.up) {
                                HopState::Up.to_string()
                            } else {
                                HopState::Resolving.to_string()
                            }
                        },
                        |l| l.state.to_string(),
                    ),
                };
                let c = slot.map_or([0, 0], |i| {
                    let mut c = [0u64; 2];
                    for (k, o) in c.iter_mut().enumerate() {
                        *o = self.sum(|w| w.hop(i)[k]);
                    }
                    c
                });
                NexthopInfo {
                    ip: h.ip.map_or_else(|| "-".into(), |ip| ip.to_string()),
                    mac,
                    weight: h.weight,
                    state,
                    buckets: slot.map_or(0, |i| st.ecmp.buckets_of(i as u16)),
                    tx_packets: c[0],
                    tx_bytes: c[1],
                }
            })
            .collect()
    }

    fn config_save(&self, file: Option<PathBuf>) -> Handled {
        if let Some(f) = file.as_ref().filter(|f| !f.is_absolute()) {
            return Err(format!(
                "--file {}: give an absolute path (the switch does not share your working directory)",
                f.display()
            ));
        }
        let path = file.or_else(|| self.config_path.clone()).ok_or_else(|| {
            "the switch was started without --config: give --file PATH".to_string()
        })?;
        let text = running_toml(&self.shared.state.load());
        write_atomically(&path, &text).map_err(|e| format!("writing {}: {e}", path.display()))?;
        done(format!("saved to {}", path.display()))
    }

    // ---- reading ----

    fn sum(&self, f: impl Fn(&Counters) -> u64) -> u64 {
        self.workers.iter().map(|w| f(&w.counters)).sum()
    }

    /// rx packets, rx bytes, tx packets, tx bytes, checksums completed.
    fn port_counters(&self, i: usize) -> [u64; 5] {
        let mut out = [0u64; 5];
        for (k, o) in out.iter_mut().enumerate().take(4) {
            *o = self.sum(|c| c.port(i)[k]);
        }
        out[4] = self.sum(|c| c.port_csum_completed(i));
        out
    }

    /// A port's counters since it took its slot.
    fn port_since_attached(&self, i: usize) -> [u64; 5] {
        let base = self.port_base.get(&i).copied().unwrap_or_default();
        let mut c = self.port_counters(i);
        for (c, b) in c.iter_mut().zip(base) {
            *c -= b;
        }
        c
    }

    /// A remote VTEP's counters since it took its slot.
    fn vtep_since_added(&self, i: usize) -> [u64; 3] {
        let base = self.vtep_base.get(&i).copied().unwrap_or_default();
        let mut c = self.vtep_counters(i);
        for (c, b) in c.iter_mut().zip(base) {
            *c -= b;
        }
        c
    }

    /// tx packets, tx bytes, rx packets.
    fn vtep_counters(&self, i: usize) -> [u64; 3] {
        let mut out = [0u64; 3];
        for (k, o) in out.iter_mut().enumerate() {
            *o = self.sum(|c| c.vtep(i)[k]);
        }
        out
    }

    /// Sums every worker's counters.
    pub fn stats(&self) -> Stats {
        let st = self.shared.state.load();
        let mut counters = std::collections::BTreeMap::new();
        for &d in DropReason::ALL {
            counters.insert(d.name().to_string(), self.sum(|c| c.drops(d)));
        }
        for &e in Event::ALL {
            counters.insert(e.name().to_string(), self.sum(|c| c.events(e)));
        }
        let mut xsk = [0u64; XSK_STATS.len()];
        for w in &self.workers {
            let fds = w.xsk_fds.lock().map(|v| v.clone()).unwrap_or_default();
            for fd in fds {
                for (t, v) in xsk.iter_mut().zip(xdp_statistics(fd)) {
                    *t += v;
                }
            }
        }
        if matches!(self.backend, BackendKind::Xdp(_)) {
            for (name, v) in XSK_STATS.iter().zip(xsk) {
                counters.insert(name.to_string(), v);
            }
        }
        if let Some(p) = &self.uplink_prog {
            for (name, v) in crate::port::xdp_prog::VERDICTS.iter().zip(p.verdicts()) {
                counters.insert(name.to_string(), v);
            }
        }
        let mut ports = Vec::new();
        let mut per_bd: HashMap<u16, (u64, u64)> = HashMap::new();
        for (i, p) in st.ports.iter().enumerate() {
            if p.is_vacant() {
                continue;
            }
            let d = self.port_since_attached(i);
            if let Some(bd) = p.bd {
                let e = per_bd.entry(bd).or_default();
                e.0 += d[0];
                e.1 += d[2];
            }
            ports.push(PortStats {
                name: p.name.clone(),
                vni: p.bd.map(|b| st.bds[usize::from(b)].vni),
                rx_packets: d[0],
                rx_bytes: d[1],
                tx_packets: d[2],
                tx_bytes: d[3],
                csum_completed: d[4],
            });
        }
        let mut fdb_per_bd: HashMap<u16, u64> = HashMap::new();
        for e in self.shared.fdb.entries(self.shared.now_secs()) {
            *fdb_per_bd.entry(e.bd).or_default() += 1;
        }
        let mut vnis: Vec<VniStats> = st
            .bds
            .iter()
            .enumerate()
            .filter(|(_, b)| !b.is_vacant())
            .map(|(i, b)| {
                let (rx, tx) = per_bd.get(&(i as u16)).copied().unwrap_or_default();
                VniStats {
                    vni: b.vni,
                    ports: b.ports.len(),
                    remote_vteps: b.flood.len(),
                    rx_packets: rx,
                    tx_packets: tx,
                    fdb_entries: fdb_per_bd.get(&(i as u16)).copied().unwrap_or_default(),
                }
            })
            .collect();
        vnis.sort_by_key(|v| v.vni);
        let vteps = st
            .vteps
            .iter()
            .enumerate()
            .filter(|(_, t)| !t.is_vacant())
            .map(|(i, t)| {
                let c = self.vtep_since_added(i);
                VtepStats {
                    ip: t.ip.to_string(),
                    mac: t.mac.map_or_else(|| "-".to_string(), |m| format_mac(&m)),
                    via: t.via.to_string(),
                    tx_packets: c[0],
                    tx_bytes: c[1],
                    rx_packets: c[2],
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
            backend: self.backend.name().to_string(),
            vtep: st.vtep_ip.to_string(),
            udp_port: st.udp_port,
            uplink_mtu: st.uplink_mtu,
            overlay_mtu: st.overlay_mtu(),
            fdb_entries: self.shared.fdb.len() as u64,
            fdb_capacity: self.shared.fdb.capacity() as u64,
            counters,
            ports,
            vnis,
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
                let bd = st.bds.get(usize::from(e.bd)).filter(|b| !b.is_vacant())?;
                if vni.is_some_and(|v| v != bd.vni) {
                    return None;
                }
                let dest = match e.dest {
                    Dest::Port(p) => {
                        let p = st.ports.get(usize::from(p)).filter(|p| !p.is_vacant())?;
                        format!("port {}", p.name)
                    }
                    Dest::Vtep(v) => {
                        let v = st.vteps.get(usize::from(v)).filter(|v| !v.is_vacant())?;
                        format!("vtep {}", v.ip)
                    }
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

/// Checks the values a request carries that its JSON types do not, with
/// the words vxctl uses, before anything else looks at them.
fn check_request(req: &Request) -> Result<(), String> {
    let vni_ok = |v: u32| {
        if (1..=vxctl::VNI_MAX).contains(&v) {
            Ok(())
        } else {
            Err(format!("{v} is not a VNI (1-{})", vxctl::VNI_MAX))
        }
    };
    match req {
        Request::VniAdd { id, .. } | Request::VniDel { id } | Request::VniSet { id, .. } => {
            vni_ok(*id)
        }
        Request::PortAdd { name, vni } => {
            vni_ok(*vni)?;
            if name.is_empty()
                || name.len() > 15
                || name == "."
                || name == ".."
                || name.contains(['/', ':'])
                || name.chars().any(char::is_whitespace)
            {
                return Err(format!(
                    "{name:?} is not an interface name (1-15 bytes, no '/', ':' or spaces)"
                ));
            }
            Ok(())
        }
        Request::TunnelAdd { vni, .. }
        | Request::TunnelDel { vni, .. }
        | Request::FdbAdd { vni, .. }
        | Request::FdbDel { vni, .. }
        | Request::ArpDel { vni, .. } => vni_ok(*vni),
        Request::ArpAdd { vni, ip, .. } => {
            vni_ok(*vni)?;
            if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() || ip.is_loopback() {
                return Err(format!("{ip} is not a unicast address"));
            }
            Ok(())
        }
        Request::TunnelList { vni }
        | Request::FdbShow { vni }
        | Request::FdbFlush { vni }
        | Request::ArpList { vni } => vni.map_or(Ok(()), vni_ok),
        _ => Ok(()),
    }
}

/// The running configuration as `config show` prints and `config save`
/// writes it: the start-up schema, headed by the MTUs in force.
fn running_toml(st: &State) -> String {
    format!(
        "# running configuration of vxswitch {}: uplink MTU {}, overlay MTU {} (50 bytes of VXLAN over IPv4)\n{}",
        env!("CARGO_PKG_VERSION"),
        st.uplink_mtu,
        st.overlay_mtu(),
        st.config.to_toml()
    )
}

/// Writes `text` to `path` through a temporary file in the same directory
/// and a rename, so a crash never leaves half a config; mode 0600.
fn write_atomically(path: &Path, text: &str) -> io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    let tmp = dir.join(format!(".{}.tmp", name.to_string_lossy()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)
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

/// Whether a peer may control the switch: root, the switch's own user, or
/// (with a control group) a member of it, primary or supplementary.
pub fn allowed(uid: u32, gids: &[u32], me: u32, group: Option<&ControlGroup>) -> bool {
    uid == 0 || uid == me || group.is_some_and(|g| gids.contains(&g.gid))
}

/// The groups of process `pid` (primary first), from /proc.
fn groups_of(pid: i32, primary: u32) -> Vec<u32> {
    let mut gids = vec![primary];
    if let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
        if let Some(line) = s.lines().find(|l| l.starts_with("Groups:")) {
            gids.extend(
                line["Groups:".len()..]
                    .split_whitespace()
                    .filter_map(|g| g.parse::<u32>().ok()),
            );
        }
    }
    gids
}

/// Checks the peer's credentials (SO_PEERCRED).
fn check_peer(s: &UnixStream, group: Option<&ControlGroup>) -> Result<(), String> {
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
    let gids = if group.is_some() {
        groups_of(cred.pid, cred.gid)
    } else {
        vec![cred.gid]
    };
    if allowed(cred.uid, &gids, me, group) {
        Ok(())
    } else {
        Err(match group {
            Some(g) => format!(
                "permission denied: uid {} is not root and not in group {}",
                cred.uid, g.name
            ),
            None => format!(
                "permission denied: uid {} may not control this switch",
                cred.uid
            ),
        })
    }
}

/// Removes the socket file on drop.
pub struct SocketFile(pub PathBuf);

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_may_control() {
        let g = ControlGroup {
            name: "vxadmin".into(),
            gid: 990,
        };
        assert!(allowed(0, &[0], 0, None), "root");
        assert!(allowed(1000, &[1000], 1000, None), "the switch's own user");
        assert!(!allowed(1000, &[1000, 990], 0, None), "no group configured");
        assert!(allowed(1000, &[1000, 990], 0, Some(&g)), "a member");
        assert!(!allowed(1000, &[1000, 27], 0, Some(&g)), "not a member");
    }
}
