//! ARP that the switch answers itself, by rewriting the request in place into
//! the reply (no new frame, no copy). Two callers: requests for our VTEP
//! address on the uplink ([`uplink`](super::uplink)), and ARP suppression on
//! access ports ([`access`](super::access)): a request for an address in the
//! VNI's ARP table is answered back out of the port it came in on instead of
//! being flooded to every port and remote VTEP of the VNI, as VPP's arp-term
//! node and the Linux vxlan device's `proxy` mode do.
//!
//! Already checked by the callers: the frame holds a whole Ethernet header
//! whose EtherType is ARP. [`request`] checks the ARP packet itself. The
//! frame is the worker's, received on the port the reply leaves by.

use std::net::Ipv4Addr;

use crate::wire::arp::{ArpPacket, OP_REQUEST};
use crate::wire::ethernet::EthernetFrame;
use crate::wire::Mac;

/// What an ARP request asks: who has `target_ip`? Tell `sender_ip`, at
/// `sender_mac`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpRequest {
    pub sender_mac: Mac,
    pub sender_ip: Ipv4Addr,
    pub target_ip: Ipv4Addr,
}

/// The Ethernet/IPv4 ARP request that Ethernet `frame` carries, or `None`
/// for anything else: a reply or another operation, another hardware or
/// protocol type, an ARP packet cut short.
#[inline]
pub fn request(frame: &[u8]) -> Option<ArpRequest> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    let arp = ArpPacket::new_checked(eth.payload()).ok()?;
    if arp.oper() != OP_REQUEST {
        return None;
    }
    Some(ArpRequest {
        sender_mac: arp.sender_mac(),
        sender_ip: arp.sender_ip(),
        target_ip: arp.target_ip(),
    })
}

/// Rewrites the request in `frame`, one that [`request`] accepted, into the
/// reply that `mac` owns its target address, addressed to the requester's
/// ARP sender MAC (RFC 826: sender and target swap, the sender becomes
/// `mac`). The frame keeps its length: Ethernet padding after the ARP packet
/// is left as it was.
#[inline]
pub fn reply_in_place(frame: &mut [u8], mac: &Mac) {
    let mut eth =
        EthernetFrame::new_checked(frame).expect("request() accepted this frame's Ethernet header");
    let mut arp = ArpPacket::new_checked(eth.payload_mut())
        .expect("request() accepted this frame's ARP packet");
    let requester = arp.sender_mac();
    arp.make_reply(mac);
    eth.set_dst(&requester);
    eth.set_src(mac);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[rustfmt::skip]
    const REQUEST: [u8; 42] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // Ethernet destination: broadcast
        0x02, 0x00, 0x00, 0x00, 0x10, 0x0a, // Ethernet source
        0x08, 0x06,                         // EtherType ARP
        0x00, 0x01,                         // HTYPE Ethernet
        0x08, 0x00,                         // PTYPE IPv4
        6, 4,                               // HLEN, PLEN
        0x00, 0x01,                         // OPER request
        0x02, 0x00, 0x00, 0x00, 0x10, 0x0a, // SHA
        198, 19, 100, 10,                   // SPA
        0, 0, 0, 0, 0, 0,                   // THA: unknown
        198, 19, 100, 11,                   // TPA
    ];

    #[test]
    fn request_fields() {
        assert_eq!(
            request(&REQUEST),
            Some(ArpRequest {
                sender_mac: [2, 0, 0, 0, 0x10, 0x0a],
                sender_ip: Ipv4Addr::new(198, 19, 100, 10),
                target_ip: Ipv4Addr::new(198, 19, 100, 11),
            })
        );
        let mut reply = REQUEST;
        reply[21] = 2;
        assert_eq!(request(&reply), None, "a reply asks nothing");
        for n in 0..REQUEST.len() {
            assert_eq!(request(&REQUEST[..n]), None, "cut at {n}");
        }
    }

    #[test]
    fn reply_in_place_matches_etherparse() {
        let mut f = REQUEST.to_vec();
        f.extend_from_slice(&[0xee; 18]); // Ethernet padding to 60 bytes
        let owner = [2, 0, 0, 0, 0x10, 0x0b];
        reply_in_place(&mut f, &owner);
        let eth = etherparse::Ethernet2Header::from_slice(&f).unwrap().0;
        assert_eq!(eth.destination, [2, 0, 0, 0, 0x10, 0x0a]);
        assert_eq!(eth.source, owner);
        assert_eq!(eth.ether_type, etherparse::EtherType::ARP);
        let p = etherparse::ArpPacket::from_slice(&f[14..42]).unwrap();
        assert_eq!(p.operation, etherparse::ArpOperation::REPLY);
        assert_eq!(p.sender_hw_addr(), &owner);
        assert_eq!(p.sender_protocol_addr(), &[198, 19, 100, 11]);
        assert_eq!(p.target_hw_addr(), &[2, 0, 0, 0, 0x10, 0x0a]);
        assert_eq!(p.target_protocol_addr(), &[198, 19, 100, 10]);
        assert_eq!(&f[42..], &[0xee; 18], "padding untouched");
    }
}
