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
}

/// One worker's AF_PACKET sockets.
pub struct PacketBackend {
    ports: Vec<PacketPort>,
    arena: Arena,
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

impl PacketBackend {
    /// Opens one promiscuous AF_PACKET socket per port (uplink first).
    pub fn open(ports: &[String]) -> Result<PacketBackend, String> {
        let ifaces = pnet_datalink::interfaces();
        let mut opened = Vec::with_capacity(ports.len());
        for name in ports {
            let iface: &NetworkInterface = ifaces
                .iter()
                .find(|i| &i.name == name)
                .ok_or_else(|| format!("interface {name} does not exist"))?;
            let fd =
                raw_socket().map_err(|e| format!("opening an AF_PACKET socket for {name}: {e}"))?;
            let config = Config {
                read_timeout: Some(Duration::ZERO),
                write_timeout: Some(Duration::from_millis(10)),
                read_buffer_size: FRAME_SIZE,
                write_buffer_size: FRAME_SIZE,
                promiscuous: true,
                socket_fd: Some(fd),
                ..Default::default()
            };
            match pnet_datalink::channel(iface, config) {
                Ok(Channel::Ethernet(tx, rx)) => opened.push(PacketPort {
                    tx,
                    rx,
                    pending: Vec::with_capacity(PENDING_MAX),
                }),
                Ok(_) => return Err(format!("{name}: pnet returned a non-Ethernet channel")),
                Err(e) => return Err(format!("binding an AF_PACKET socket to {name}: {e}")),
            }
        }
        Ok(PacketBackend {
            ports: opened,
            arena: Arena::new(FRAMES, FRAME_SIZE),
        })
    }

    fn send(&mut self, port: usize, ctr: &Counters) {
        let p = &mut self.ports[port];
        for d in p.pending.drain(..) {
            match p.tx.send_to(self.arena.data(&d), None) {
                Some(Ok(())) => ctr.port_tx(port, d.len as usize),
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
    fn rx(&mut self, port: usize, out: &mut [ArenaDesc]) -> usize {
        let mut n = 0;
        while n < out.len() {
            let Ok(bytes) = self.ports[port].rx.next() else {
                break;
            };
            match self.arena.load(bytes) {
                Some(d) => {
                    out[n] = d;
                    n += 1;
                }
                None => break,
            }
        }
        n
    }
    fn len(&self, d: &ArenaDesc) -> usize {
        d.len as usize
    }
    fn with_frame<R>(
        &mut self,
        d: &mut ArenaDesc,
        f: impl FnOnce(&mut [u8], &mut usize) -> R,
    ) -> R {
        self.arena.with_frame(d, f)
    }
    fn clone_frame(&mut self, src: &ArenaDesc) -> Option<ArenaDesc> {
        self.arena.clone_frame(src)
    }
    fn tx(&mut self, port: usize, d: ArenaDesc, ctr: &Counters) {
        self.ports[port].pending.push(d);
        if self.ports[port].pending.len() >= PENDING_MAX {
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
