//! Underlay neighbours from the kernel: for a remote VTEP that has no
//! configured MAC (no `[[underlay.neighbor]]` entry, no `next_hops`), the
//! control thread asks the kernel over netlink for the route to it (its
//! gateway, or the VTEP itself when directly connected) and for that next
//! hop's neighbour entry, and follows route and neighbour changes
//! (RTM_NEWROUTE, RTM_DELROUTE, RTM_NEWNEIGH, RTM_DELNEIGH) to apply them as
//! new running states: hitless, the workers just load the next snapshot.
//!
//! The kernel keeps the uplink (only VXLAN goes to the switch), so its ARP
//! works as usual; when the next hop has no entry yet, the resolver nudges
//! the kernel into resolving it with an empty UDP datagram to the next hop's
//! discard port (9), sent through the uplink, at most once a second.
//!
//! Thread safety: owned and used by the control thread only.

use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, UdpSocket};
use std::os::unix::io::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_DUMP, NLM_F_REQUEST,
};
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourMessage, NeighbourState,
};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

use crate::wire::Mac;

/// RTNLGRP_NEIGH and RTNLGRP_IPV4_ROUTE from linux/rtnetlink.h.
const RTNLGRP_NEIGH: u32 = 3;
const RTNLGRP_IPV4_ROUTE: u32 = 7;
/// Least time between two nudges toward one next hop.
const NUDGE_EVERY: Duration = Duration::from_secs(1);

/// How a remote VTEP is reached, as the kernel says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// At `mac`, through `gateway` (None: directly connected).
    Resolved { mac: Mac, gateway: Option<Ipv4Addr> },
    /// The next hop has no usable neighbour entry yet.
    Unresolved { next_hop: Ipv4Addr },
    /// The route leaves through another interface, or there is none.
    NoRoute,
}

/// Netlink sockets for queries and for change notifications.
pub struct Resolver {
    query: Socket,
    events: Socket,
    nudge: UdpSocket,
    uplink_ifindex: u32,
    last_nudge: HashMap<Ipv4Addr, Instant>,
    seq: u32,
    buf: Vec<u8>,
}

impl Resolver {
    /// Opens the sockets for the uplink `ifname` (with index `ifindex`).
    pub fn new(ifname: &str, ifindex: u32) -> io::Result<Resolver> {
        let mut query = Socket::new(NETLINK_ROUTE)?;
        query.bind_auto()?;
        query.connect(&SocketAddr::new(0, 0))?;
        let mut events = Socket::new(NETLINK_ROUTE)?;
        events.bind_auto()?;
        events.add_membership(RTNLGRP_NEIGH)?;
        events.add_membership(RTNLGRP_IPV4_ROUTE)?;
        events.set_non_blocking(true)?;
        let nudge = UdpSocket::bind("0.0.0.0:0")?;
        // SAFETY: the option value is the interface name and its length.
        let r = unsafe {
            libc::setsockopt(
                nudge.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_BINDTODEVICE,
                ifname.as_ptr() as *const libc::c_void,
                ifname.len() as libc::socklen_t,
            )
        };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Resolver {
            query,
            events,
            nudge,
            uplink_ifindex: ifindex,
            last_nudge: HashMap::new(),
            seq: 0,
            buf: vec![0; 64 * 1024],
        })
    }

    /// The notification socket, to wait on for readability.
    pub fn events_fd(&self) -> RawFd {
        self.events.as_raw_fd()
    }

    /// Reads every pending notification; true if any route or neighbour
    /// changed (the caller then resolves again).
    pub fn drain_events(&mut self) -> bool {
        let mut changed = false;
        while let Ok(n) = self.events.recv(&mut &mut self.buf[..], libc::MSG_DONTWAIT) {
            if n == 0 {
                break;
            }
            changed = true;
        }
        changed
    }

    /// How `vtep` is reached now; nudges the kernel to resolve a next hop it
    /// has no entry for.
    pub fn resolve(&mut self, vtep: Ipv4Addr) -> io::Result<Resolution> {
        let Some((gateway, oif)) = self.route_to(vtep)? else {
            return Ok(Resolution::NoRoute);
        };
        if oif != self.uplink_ifindex {
            return Ok(Resolution::NoRoute);
        }
        let next_hop = gateway.unwrap_or(vtep);
        match self.neighbour(next_hop)? {
            Some(mac) => Ok(Resolution::Resolved { mac, gateway }),
            None => {
                let due = self
                    .last_nudge
                    .get(&next_hop)
                    .is_none_or(|t| t.elapsed() >= NUDGE_EVERY);
                if due {
                    self.last_nudge.insert(next_hop, Instant::now());
                    // Any datagram makes the kernel resolve the next hop; an
                    // error here (no route yet) only means no nudge.
                    let _ = self.nudge.send_to(&[], (next_hop, 9));
                }
                Ok(Resolution::Unresolved { next_hop })
            }
        }
    }

    fn request(
        &mut self,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> io::Result<Vec<RouteNetlinkMessage>> {
        self.seq = self.seq.wrapping_add(1);
        let mut hdr = NetlinkHeader::default();
        hdr.flags = flags;
        hdr.sequence_number = self.seq;
        let mut req = NetlinkMessage::new(hdr, NetlinkPayload::from(msg));
        req.finalize();
        let mut out = vec![0; req.header.length as usize];
        req.serialize(&mut out[..]);
        self.query.send(&out, 0)?;
        let mut replies = Vec::new();
        loop {
            let n = self.query.recv(&mut &mut self.buf[..], 0)?;
            let mut off = 0;
            while off < n {
                let msg: NetlinkMessage<RouteNetlinkMessage> =
                    NetlinkMessage::deserialize(&self.buf[off..n])
                        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
                let len = msg.header.length as usize;
                if msg.header.sequence_number == self.seq {
                    match msg.payload {
                        NetlinkPayload::Done(_) => return Ok(replies),
                        NetlinkPayload::Error(e) => {
                            return match e.code {
                                Some(code) => Err(io::Error::from_raw_os_error(-code.get())),
                                None => Ok(replies), // an ACK
                            };
                        }
                        NetlinkPayload::InnerMessage(m) => {
                            replies.push(m);
                            if flags & NLM_F_DUMP != NLM_F_DUMP {
                                return Ok(replies);
                            }
                        }
                        _ => {}
                    }
                }
                if len == 0 {
                    break;
                }
                off += len;
            }
        }
    }

    /// RTM_GETROUTE for `dst`: (gateway, output interface).
    /// How `dst` is reached over the uplink: `Some(gateway)` (`None` for
    /// directly connected), or `None` when the route leaves through another
    /// interface or there is none.
    pub fn route(&mut self, dst: Ipv4Addr) -> io::Result<Option<Option<Ipv4Addr>>> {
        Ok(self
            .route_to(dst)?
            .filter(|(_, oif)| *oif == self.uplink_ifindex)
            .map(|(gw, _)| gw))
    }

    fn route_to(&mut self, dst: Ipv4Addr) -> io::Result<Option<(Option<Ipv4Addr>, u32)>> {
        let mut m = RouteMessage::default();
        m.header.address_family = AddressFamily::Inet;
        m.header.destination_prefix_length = 32;
        m.attributes
            .push(RouteAttribute::Destination(RouteAddress::Inet(dst)));
        let replies = match self.request(RouteNetlinkMessage::GetRoute(m), NLM_F_REQUEST) {
            Ok(r) => r,
            // No route to it (ENETUNREACH, EHOSTUNREACH): not an error of ours.
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ENETUNREACH) | Some(libc::EHOSTUNREACH)
                ) =>
            {
                return Ok(None)
            }
            Err(e) => return Err(e),
        };
        for r in replies {
            if let RouteNetlinkMessage::NewRoute(route) = r {
                let mut gateway = None;
                let mut oif = None;
                for a in &route.attributes {
                    match a {
                        RouteAttribute::Gateway(RouteAddress::Inet(g)) => gateway = Some(*g),
                        RouteAttribute::Oif(i) => oif = Some(*i),
                        _ => {}
                    }
                }
                return Ok(oif.map(|o| (gateway, o)));
            }
        }
        Ok(None)
    }

    /// The usable neighbour entry of `ip` on the uplink, from a dump.
    /// The kernel's neighbour entry for `ip` on the uplink, if usable.
    pub fn neighbour(&mut self, ip: Ipv4Addr) -> io::Result<Option<Mac>> {
        let mut m = NeighbourMessage::default();
        m.header.family = AddressFamily::Inet;
        m.header.ifindex = self.uplink_ifindex;
        let replies = self.request(
            RouteNetlinkMessage::GetNeighbour(m),
            NLM_F_REQUEST | NLM_F_DUMP,
        )?;
        for r in replies {
            let RouteNetlinkMessage::NewNeighbour(n) = r else {
                continue;
            };
            if n.header.ifindex != self.uplink_ifindex {
                continue;
            }
            let usable = matches!(
                n.header.state,
                NeighbourState::Reachable
                    | NeighbourState::Stale
                    | NeighbourState::Delay
                    | NeighbourState::Probe
                    | NeighbourState::Permanent
                    | NeighbourState::Noarp
            );
            let mut dst = None;
            let mut mac = None;
            for a in &n.attributes {
                match a {
                    NeighbourAttribute::Destination(NeighbourAddress::Inet(d)) => dst = Some(*d),
                    NeighbourAttribute::LinkLayerAddress(l) if l.len() == 6 => {
                        mac = Some([l[0], l[1], l[2], l[3], l[4], l[5]]);
                    }
                    _ => {}
                }
            }
            if usable && dst == Some(ip) {
                return Ok(mac);
            }
        }
        Ok(None)
    }
}
