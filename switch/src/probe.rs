//! ARP on the uplink, from the control thread: probes for next hops (their
//! liveness and MAC) over one AF_PACKET socket that sees only ARP.
//!
//! Not the data plane: at most a few packets per next hop and probe
//! interval. The socket is non-blocking and polled by the control thread's
//! mio loop. The kernel keeps answering ARP for its own addresses; this
//! socket only listens alongside it and sends requests.

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Instant;

use crate::wire::Mac;

const ETH_P_ARP: u16 = 0x0806;
/// Ethernet header + ARP for IPv4 over Ethernet.
const FRAME_LEN: usize = 14 + 28;

/// An AF_PACKET socket for ARP on one interface.
pub struct ArpSocket {
    fd: OwnedFd,
    ifindex: i32,
    mac: Mac,
    ip: Ipv4Addr,
}

/// An ARP request for `target` from (`mac`, `ip`), broadcast.
pub fn request_frame(mac: &Mac, ip: Ipv4Addr, target: Ipv4Addr) -> [u8; FRAME_LEN] {
    let mut f = [0u8; FRAME_LEN];
    f[..6].copy_from_slice(&[0xff; 6]);
    f[6..12].copy_from_slice(mac);
    f[12..14].copy_from_slice(&ETH_P_ARP.to_be_bytes());
    let a = &mut f[14..];
    a[..8].copy_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]); // Ethernet, IPv4, request
    a[8..14].copy_from_slice(mac);
    a[14..18].copy_from_slice(&ip.octets());
    // Target MAC stays zero.
    a[24..28].copy_from_slice(&target.octets());
    f
}

/// The sender (IPv4, MAC) of an Ethernet/IPv4 ARP frame, request or reply:
/// either says where the sender is.
pub fn sender(frame: &[u8]) -> Option<(Ipv4Addr, Mac)> {
    if frame.len() < FRAME_LEN || frame[12..14] != ETH_P_ARP.to_be_bytes() {
        return None;
    }
    let a = &frame[14..];
    if a[..6] != [0, 1, 8, 0, 6, 4] {
        return None;
    }
    let mac: Mac = a[8..14].try_into().ok()?;
    let ip = Ipv4Addr::new(a[14], a[15], a[16], a[17]);
    if mac[0] & 1 != 0 || mac == [0; 6] || ip.is_unspecified() {
        return None;
    }
    Some((ip, mac))
}

/// An ARP link-layer address on interface `ifindex`.
fn sockaddr_ll(ifindex: i32) -> libc::sockaddr_ll {
    // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = ETH_P_ARP.to_be();
    sll.sll_ifindex = ifindex;
    sll
}

impl ArpSocket {
    /// Opens the socket on `ifname`, sending as (`mac`, `ip`).
    pub fn open(ifname: &str, mac: Mac, ip: Ipv4Addr) -> io::Result<ArpSocket> {
        let c = std::ffi::CString::new(ifname)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface name"))?;
        // SAFETY: c is a valid NUL-terminated string.
        let ifindex = unsafe { libc::if_nametoindex(c.as_ptr()) } as i32;
        if ifindex == 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: plain socket(2); the fd is owned below.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                i32::from(ETH_P_ARP.to_be()),
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: raw is a fresh fd that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let sll = sockaddr_ll(ifindex);
        // SAFETY: sll is a valid sockaddr_ll of the given size.
        let r = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                &sll as *const libc::sockaddr_ll as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(ArpSocket {
            fd,
            ifindex,
            mac,
            ip,
        })
    }

    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Broadcasts a request for `target`.
    pub fn request(&self, target: Ipv4Addr) -> io::Result<()> {
        let f = request_frame(&self.mac, self.ip, target);
        let mut sll = sockaddr_ll(self.ifindex);
        sll.sll_halen = 6;
        sll.sll_addr[..6].copy_from_slice(&[0xff; 6]);
        // SAFETY: f and sll are live and sized as given.
        let r = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                f.as_ptr() as *const libc::c_void,
                f.len(),
                0,
                &sll as *const libc::sockaddr_ll as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Every (sender IPv4, MAC) of the ARP frames waiting on the socket.
    pub fn drain(&self, out: &mut Vec<(Ipv4Addr, Mac)>) {
        let mut buf = [0u8; 256];
        loop {
            // SAFETY: buf is live and writable for its length.
            let n = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr() as *mut libc::c_void,
                    buf.len(),
                    0,
                )
            };
            if n <= 0 {
                return;
            }
            out.extend(sender(&buf[..n as usize]));
        }
    }
}

/// Where a probed next hop stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HopState {
    /// Not heard from yet.
    Resolving,
    Up,
    Down,
}

impl std::fmt::Display for HopState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HopState::Resolving => "resolving",
            HopState::Up => "up",
            HopState::Down => "down",
        })
    }
}

/// Liveness of one probed next hop: up while it answers, down after
/// `misses` probes in a row went unanswered (an answer to a probe is any ARP
/// frame from the hop before the next probe is sent).
#[derive(Debug, Clone)]
pub struct Liveness {
    pub state: HopState,
    pub mac: Option<Mac>,
    /// Whether a probe has been sent, and whether the hop spoke since.
    probed: bool,
    heard: bool,
    /// Probes in a row without an answer.
    misses: u32,
    /// When the state last changed.
    pub since: Instant,
}

impl Liveness {
    pub fn new(mac: Option<Mac>, now: Instant) -> Liveness {
        Liveness {
            state: HopState::Resolving,
            mac,
            probed: false,
            heard: false,
            misses: 0,
            since: now,
        }
    }

    /// The hop spoke from `mac`. True when its state or MAC changed.
    pub fn heard(&mut self, mac: Mac, now: Instant) -> bool {
        self.heard = true;
        self.misses = 0;
        let changed = self.state != HopState::Up || self.mac != Some(mac);
        if self.state != HopState::Up {
            self.since = now;
        }
        self.state = HopState::Up;
        self.mac = Some(mac);
        changed
    }

    /// Called just before each probe is sent: settles the previous one.
    /// True when the hop just went down, its last `misses` probes unanswered.
    pub fn tick(&mut self, now: Instant, misses: u32) -> bool {
        if self.probed && !self.heard {
            self.misses += 1;
        }
        self.probed = true;
        self.heard = false;
        if self.state != HopState::Down && self.misses >= misses {
            self.state = HopState::Down;
            self.since = now;
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_round_trips_through_etherparse() {
        let mac = [2, 0, 0, 0, 1, 1];
        let f = request_frame(
            &mac,
            Ipv4Addr::new(198, 18, 0, 1),
            Ipv4Addr::new(198, 18, 0, 254),
        );
        let p = etherparse::SlicedPacket::from_ethernet(&f).expect("parses");
        match p.net {
            Some(etherparse::NetSlice::Arp(a)) => {
                assert_eq!(a.operation(), etherparse::ArpOperation::REQUEST);
                assert_eq!(a.sender_hw_addr(), &mac);
                assert_eq!(a.sender_protocol_addr(), &[198, 18, 0, 1]);
                assert_eq!(a.target_protocol_addr(), &[198, 18, 0, 254]);
            }
            other => panic!("not ARP: {other:?}"),
        }
        assert_eq!(sender(&f), Some((Ipv4Addr::new(198, 18, 0, 1), mac)));
        // Short, not ARP, or a group sender: nothing.
        assert_eq!(sender(&f[..41]), None);
        let mut g = f;
        g[12] = 8;
        g[13] = 0;
        assert_eq!(sender(&g), None);
        let mut g = f;
        g[22] = 1;
        assert_eq!(sender(&g), None);
    }

    #[test]
    fn down_after_misses_and_up_on_an_answer() {
        let t = Instant::now();
        let mut l = Liveness::new(None, t);
        assert!(!l.tick(t, 3), "first probe");
        assert!(l.heard([2, 0, 0, 0, 0, 1], t));
        assert_eq!(l.state, HopState::Up);
        for _ in 0..10 {
            // Answered every time, however late the probe loop runs.
            assert!(!l.tick(t, 1));
            assert!(!l.heard([2, 0, 0, 0, 0, 1], t), "nothing changed");
        }
        assert!(!l.tick(t, 3), "the last probe was answered");
        assert!(!l.tick(t, 3), "one unanswered");
        assert!(!l.tick(t, 3), "two unanswered");
        assert!(l.tick(t, 3), "three unanswered: down");
        assert_eq!(l.state, HopState::Down);
        assert!(!l.tick(t, 3), "down once");
        assert!(l.heard([2, 0, 0, 0, 0, 2], t), "back, at a new MAC");
        assert_eq!((l.state, l.mac), (HopState::Up, Some([2, 0, 0, 0, 0, 2])));
        // Never heard: down after as many probes.
        let mut n = Liveness::new(None, t);
        assert!(!n.tick(t, 3));
        assert!(!n.tick(t, 3));
        assert!(!n.tick(t, 3));
        assert!(n.tick(t, 3));
    }
}
