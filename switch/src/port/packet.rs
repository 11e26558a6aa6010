//! AF_PACKET ports through pnet, for hosts without AF_XDP. The same pipeline
//! and frame model as AF_XDP, over a private [`Arena`]: frames are copied in
//! on receive and out on send (two system calls per frame: this backend is a
//! fallback, not a fast path).
//!
//! Each socket is opened here with PACKET_IGNORE_OUTGOING before pnet binds
//! it, so the switch never sees frames the host itself sends on a port (its
//! own transmissions included).

use std::io;
use std::time::Duration;

use pnet_datalink::{Channel, Config, DataLinkReceiver, DataLinkSender, NetworkInterface};

use super::arena::{Arena, ArenaDesc};
use super::{Backend, FrameAccounting};
use crate::stats::{Counters, Drop};

/// Frame size: room for an MTU-3800 frame plus encap, as with AF_XDP.
pub const FRAME_SIZE: usize = 3840;
const FRAMES: usize = 4096;
const PENDING_MAX: usize = 256;
/// Linux's PACKET_IGNORE_OUTGOING (since 4.20).
const PACKET_IGNORE_OUTGOING: libc::c_int = 23;

struct PacketPort {
    tx: Box<dyn DataLinkSender>,
    rx: Box<dyn DataLinkReceiver>,
    pending: Vec<ArenaDesc>,
    /// The socket (owned by pnet's channel), for the idle wait.
    fd: i32,
}

/// One worker's AF_PACKET sockets.
pub struct PacketBackend {
    /// By slot; `None` for a closed one.
    ports: Vec<Option<PacketPort>>,
    arena: Arena,
    /// The sockets, for the idle wait.
    pollfds: Vec<libc::pollfd>,
    /// Frames dropped in `rx` since the last flush, counted there.
    oversize: u64,
    no_frame: u64,
}

fn raw_socket() -> io::Result<i32> {
    // SAFETY: plain socket(2) call; the fd is handed to pnet, which owns it.
    let fd = unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW,
            (libc::ETH_P_ALL as u16).to_be() as i32,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let one: libc::c_int = 1;
    // SAFETY: valid fd, option value points at a live c_int of the given size.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_PACKET,
            PACKET_IGNORE_OUTGOING,
            &one as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r != 0 {
        let e = io::Error::last_os_error();
        // SAFETY: closing the fd we just opened.
        unsafe { libc::close(fd) };
        return Err(e);
    }
    Ok(fd)
}

/// What the uplink's socket filter lets through.
#[derive(Debug, Clone, Copy)]
pub struct UplinkFilter {
    pub vtep: std::net::Ipv4Addr,
    pub port: u16,
    /// Also ARP (when the switch answers ARP for a VTEP address the kernel
    /// does not own).
    pub arp: bool,
}

/// A classic BPF program for the uplink socket, the AF_PACKET twin of
/// `xdp_uplink`: only IPv4 UDP to the VTEP address and port, not fragments
/// (and ARP when asked). The kernel still sees every frame as usual; the
/// switch's socket is no longer handed the host's own traffic.
fn uplink_filter(f: &UplinkFilter) -> Vec<libc::sock_filter> {
    // Opcodes from linux/filter.h.
    const LD_H_ABS: u16 = 0x28;
    const LD_B_ABS: u16 = 0x30;
    const LD_W_ABS: u16 = 0x20;
    const LDX_B_MSH: u16 = 0xb1;
    const LD_H_IND: u16 = 0x48;
    const JEQ_K: u16 = 0x15;
    const JSET_K: u16 = 0x45;
    const RET_K: u16 = 0x06;
    let op = |code, jt, jf, k| libc::sock_filter { code, jt, jf, k };
    // Jump offsets count from the next instruction; 13 drops, 14 accepts.
    vec![
        op(LD_H_ABS, 0, 0, 12),                          // 0: ethertype
        op(JEQ_K, 0, 1, 0x0806),                         // 1: ARP? else 3
        op(RET_K, 0, 0, if f.arp { 0xffff } else { 0 }), // 2: ARP, as configured
        op(JEQ_K, 0, 9, 0x0800),                         // 3: IPv4? else drop
        op(LD_B_ABS, 0, 0, 23),                          // 4: IP protocol
        op(JEQ_K, 0, 7, 17),                             // 5: UDP? else drop
        op(LD_W_ABS, 0, 0, 30),                          // 6: destination address
        op(JEQ_K, 0, 5, u32::from(f.vtep)),              // 7: ours? else drop
        op(LD_H_ABS, 0, 0, 20),                          // 8: flags + fragment offset
        op(JSET_K, 3, 0, 0x3fff),                        // 9: a fragment? drop
        op(LDX_B_MSH, 0, 0, 14),                         // 10: X = IP header length
        op(LD_H_IND, 0, 0, 16),                          // 11: UDP destination port (14 + X + 2)
        op(JEQ_K, 1, 0, u32::from(f.port)),              // 12: our port? accept
        op(RET_K, 0, 0, 0),                              // 13: drop
        op(RET_K, 0, 0, 0xffff),                         // 14: accept
    ]
}

fn attach_filter(fd: i32, prog: &[libc::sock_filter]) -> io::Result<()> {
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: fprog points at `prog`, which outlives the call; the kernel copies it.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            &fprog as *const libc::sock_fprog as *const libc::c_void,
            std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Opens one promiscuous AF_PACKET socket on `name`, with the uplink's
/// socket filter when `filter` is given; returns it and its fd.
fn open_port(name: &str, filter: Option<&UplinkFilter>) -> Result<(PacketPort, i32), String> {
    let ifaces = pnet_datalink::interfaces();
    let iface: &NetworkInterface = ifaces
        .iter()
        .find(|i| i.name == name)
        .ok_or_else(|| format!("interface {name} does not exist"))?;
    let fd = raw_socket().map_err(|e| format!("opening an AF_PACKET socket for {name}: {e}"))?;
    if let Some(f) = filter {
        if let Err(e) = attach_filter(fd, &uplink_filter(f)) {
            // SAFETY: closing the fd we just opened; nothing else owns it yet.
            unsafe { libc::close(fd) };
            return Err(format!("attaching the socket filter to {name}: {e}"));
        }
    }
    let config = Config {
        read_timeout: Some(Duration::ZERO),
        write_timeout: Some(Duration::from_millis(10)),
        // Larger than a frame, so a GSO super-frame is seen whole and
        // counted as rx.oversize rather than silently truncated.
        read_buffer_size: 65536 + 256,
        write_buffer_size: FRAME_SIZE,
        promiscuous: true,
        socket_fd: Some(fd),
        ..Default::default()
    };
    match pnet_datalink::channel(iface, config) {
        Ok(Channel::Ethernet(tx, rx)) => Ok((
            PacketPort {
                tx,
                rx,
                pending: Vec::with_capacity(PENDING_MAX),
                fd,
            },
            fd,
        )),
        Ok(_) => Err(format!("{name}: pnet returned a non-Ethernet channel")),
        Err(e) => Err(format!("binding an AF_PACKET socket to {name}: {e}")),
    }
}

impl PacketBackend {
    /// Opens one promiscuous AF_PACKET socket per port (uplink first); the
    /// uplink's socket gets the [`UplinkFilter`].
    pub fn open(ports: &[String], filter: UplinkFilter) -> Result<PacketBackend, String> {
        let mut opened = Vec::with_capacity(ports.len());
        for (i, name) in ports.iter().enumerate() {
            let (p, _) = open_port(name, (i == 0).then_some(&filter))?;
            opened.push(Some(p));
        }
        let mut b = PacketBackend {
            ports: opened,
            arena: Arena::new(FRAMES, FRAME_SIZE),
            pollfds: Vec::new(),
            oversize: 0,
            no_frame: 0,
        };
        b.update_pollfds();
        Ok(b)
    }

    fn update_pollfds(&mut self) {
        self.pollfds = self
            .ports
            .iter()
            .flatten()
            .map(|p| libc::pollfd {
                fd: p.fd,
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
    }

    fn send(&mut self, port: usize, ctr: &Counters) {
        let Some(p) = self.ports[port].as_mut() else {
            return;
        };
        for d in p.pending.drain(..) {
            match p.tx.send_to(self.arena.data(&d), None) {
                Some(Ok(())) => ctr.port_tx(port, 1, d.len as usize),
                _ => ctr.drop(Drop::RingFull, 1),
            }
            self.arena.free(d);
        }
    }
}

impl Backend for PacketBackend {
    type Desc = ArenaDesc;

    fn n_ports(&self) -> usize {
        self.ports.len()
    }
    fn open_port(&mut self, slot: usize, spec: &super::PortSpec) -> Result<(), String> {
        let (p, _) = open_port(&spec.name, None)?;
        if slot >= self.ports.len() {
            self.ports.resize_with(slot + 1, || None);
        }
        self.ports[slot] = Some(p);
        self.update_pollfds();
        Ok(())
    }
    fn close_port(&mut self, slot: usize) {
        if let Some(p) = self.ports.get_mut(slot).and_then(|p| p.take()) {
            for d in p.pending {
                self.arena.free(d);
            }
        }
        self.update_pollfds();
    }
    fn rx(&mut self, port: usize, out: &mut [ArenaDesc]) -> usize {
        let Some(p) = self.ports[port].as_mut() else {
            return 0;
        };
        let mut n = 0;
        while n < out.len() {
            let Ok(bytes) = p.rx.next() else {
                break;
            };
            if bytes.len() > FRAME_SIZE {
                self.oversize += 1;
                continue;
            }
            match self.arena.load(bytes) {
                Some(d) => {
                    out[n] = d;
                    n += 1;
                }
                None => {
                    self.no_frame += 1;
                    break;
                }
            }
        }
        n
    }
    fn len(&self, d: &ArenaDesc) -> usize {
        d.len as usize
    }
    #[inline(always)]
    fn with_frame<R>(
        &mut self,
        d: &mut ArenaDesc,
        f: impl FnOnce(&mut [u8], &mut usize) -> R,
    ) -> R {
        self.arena.with_frame(d, f)
    }
    #[inline(always)]
    fn adjust_head(&mut self, d: &mut ArenaDesc, delta: isize) -> bool {
        self.arena.adjust_head(d, delta)
    }
    fn clone_frame(&mut self, src: &ArenaDesc) -> Option<ArenaDesc> {
        self.arena.clone_frame(src)
    }
    fn alloc_from(
        &mut self,
        src: &ArenaDesc,
        fill: impl FnOnce(&[u8], &mut [u8]) -> usize,
    ) -> Option<ArenaDesc> {
        self.arena.alloc_from(src, fill)
    }
    fn tx(&mut self, port: usize, d: ArenaDesc, ctr: &Counters) {
        let Some(p) = self.ports.get_mut(port).and_then(|p| p.as_mut()) else {
            ctr.drop(Drop::NoPort, 1);
            self.arena.free(d);
            return;
        };
        p.pending.push(d);
        if p.pending.len() >= PENDING_MAX {
            self.send(port, ctr);
        }
    }
    fn free(&mut self, d: ArenaDesc) {
        self.arena.free(d);
    }
    fn flush(&mut self, ctr: &Counters) {
        for port in 0..self.ports.len() {
            self.send(port, ctr);
        }
        if self.oversize > 0 {
            ctr.drop(Drop::Oversize, std::mem::take(&mut self.oversize));
        }
        if self.no_frame > 0 {
            ctr.drop(Drop::NoFrame, std::mem::take(&mut self.no_frame));
        }
    }
    fn wait(&mut self, timeout_ms: i32) {
        super::poll_in(&mut self.pollfds, timeout_ms);
    }

    fn frames(&self) -> FrameAccounting {
        FrameAccounting {
            total: self.arena.total(),
            free: self.arena.n_free(),
            in_fill: 0,
            in_tx: 0,
        }
    }
}
