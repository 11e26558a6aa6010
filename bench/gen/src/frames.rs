//! The frames vxgen sends, built once per flow before the run starts: an
//! inner Ethernet/IPv4/UDP frame (modes `encap` and `raw`), or that frame
//! inside VXLAN/UDP/IPv4/Ethernet (mode `decap`).
//!
//! Every frame ends in a 16-byte tail: a u64 magic that names the run, then
//! a u64 send time (CLOCK_MONOTONIC ns), both little-endian (the generator
//! and the sink are one process). A VXLAN switch adds or removes headers at
//! the front only, so the sink finds the tail intact whatever the device
//! under test did. The tail is the end of the inner UDP payload; the inner
//! IPv4 total length covers it, so no Ethernet padding follows it.
//!
//! Checksums: every IPv4 header checksum is right; UDP checksums are 0
//! (allowed over IPv4, RFC 768; RFC 7348 s5 asks for 0 on the outer one),
//! which keeps them right while the send time changes per packet.
//!
//! Flows differ in their UDP source ports only: the inner one is
//! `inner_src_port + flow`, and in decap mode the outer one is
//! `49152 + flow` (RFC 7348 s5's entropy range), so a switch hashing either
//! sees `flows` distinct flows.

use std::net::Ipv4Addr;

use vxswitch::wire::checksum::checksum;

/// Ethernet header without VLAN tag.
pub const ETH_LEN: usize = 14;
/// IPv4 header without options.
pub const IPV4_LEN: usize = 20;
/// UDP header.
pub const UDP_LEN: usize = 8;
/// VXLAN header.
pub const VXLAN_LEN: usize = 8;
/// What VXLAN over IPv4 adds in front of the inner frame.
pub const VXLAN_OVERHEAD: usize = ETH_LEN + IPV4_LEN + UDP_LEN + VXLAN_LEN;
/// The magic and the send time at the end of every frame.
pub const TAIL_LEN: usize = 16;
/// The Ethernet frame check sequence: counted in `--size`, never in a buffer.
pub const FCS_LEN: usize = 4;
/// The smallest inner frame: its headers and the tail.
pub const MIN_INNER_LEN: usize = ETH_LEN + IPV4_LEN + UDP_LEN + TAIL_LEN;
/// RFC 7348 s5: the outer UDP source port range used for flow entropy.
pub const OUTER_SRC_PORT_BASE: u16 = 49152;
/// The IANA VXLAN port.
pub const VXLAN_PORT: u16 = 4789;

const ETHERTYPE_IPV4: u16 = 0x0800;
const IPPROTO_UDP: u8 = 17;
/// RFC 7348 s5: the I flag, set when the VNI is valid.
const VXLAN_FLAG_I: u8 = 0x08;

/// The magic's top 40 bits; the low 24 name the run, so frames left in a
/// queue by an earlier run are not counted.
pub const MAGIC_BASE: u64 = 0x7678_6765_6e00_0000; // "vxgen" then the run id

/// The magic for run `run_id` (only its low 24 bits are kept).
pub fn magic(run_id: u32) -> u64 {
    MAGIC_BASE | u64::from(run_id & 0x00ff_ffff)
}

/// The addresses and ports of the inner (overlay) frame.
#[derive(Debug, Clone, Copy)]
pub struct Inner {
    pub src_mac: [u8; 6],
    pub dst_mac: [u8; 6],
    pub src_ip: Ipv4Addr,
    pub dst_ip: Ipv4Addr,
    /// The UDP source port of flow 0; flow `f` uses this + `f`.
    pub src_port: u16,
    pub dst_port: u16,
}

/// The addresses and ports of the outer (underlay) headers, decap mode.
#[derive(Debug, Clone, Copy)]
pub struct Outer {
    pub src_mac: [u8; 6],
    pub dst_mac: [u8; 6],
    pub src_ip: Ipv4Addr,
    pub dst_ip: Ipv4Addr,
    pub vni: u32,
    /// The VXLAN UDP port (destination).
    pub dst_port: u16,
}

fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

/// Writes an IPv4 header (no options, DF, TTL 64, UDP) with its checksum.
fn ipv4(b: &mut [u8], total_len: usize, src: Ipv4Addr, dst: Ipv4Addr) {
    b[0] = 0x45; // version 4, IHL 5
    b[1] = 0; // DSCP/ECN
    put16(b, 2, total_len as u16);
    put16(b, 4, 0); // identification: DF set, never fragmented
    put16(b, 6, 0x4000); // flags: DF; fragment offset 0
    b[8] = 64; // TTL
    b[9] = IPPROTO_UDP;
    put16(b, 10, 0);
    b[12..16].copy_from_slice(&src.octets());
    b[16..20].copy_from_slice(&dst.octets());
    let c = checksum(&b[..IPV4_LEN]);
    put16(b, 10, c);
}

/// Writes an Ethernet header carrying IPv4.
fn ethernet(b: &mut [u8], dst: [u8; 6], src: [u8; 6]) {
    b[0..6].copy_from_slice(&dst);
    b[6..12].copy_from_slice(&src);
    put16(b, 12, ETHERTYPE_IPV4);
}

/// The inner frame of `flow`, `len` bytes without FCS (at least
/// [`MIN_INNER_LEN`]), payload zero, tail not yet stamped.
pub fn inner_frame(p: &Inner, flow: u16, len: usize) -> Vec<u8> {
    assert!(
        len >= MIN_INNER_LEN,
        "an inner frame needs {MIN_INNER_LEN} bytes"
    );
    let mut b = vec![0u8; len];
    ethernet(&mut b, p.dst_mac, p.src_mac);
    let ip_len = len - ETH_LEN;
    ipv4(&mut b[ETH_LEN..], ip_len, p.src_ip, p.dst_ip);
    let u = ETH_LEN + IPV4_LEN;
    put16(&mut b, u, p.src_port.wrapping_add(flow));
    put16(&mut b, u + 2, p.dst_port);
    put16(&mut b, u + 4, (ip_len - IPV4_LEN) as u16);
    put16(&mut b, u + 6, 0); // no checksum
    b
}

/// `inner` inside VXLAN/UDP/IPv4/Ethernet, outer UDP source port from `flow`.
pub fn vxlan_frame(o: &Outer, flow: u16, inner: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; VXLAN_OVERHEAD + inner.len()];
    ethernet(&mut b, o.dst_mac, o.src_mac);
    let ip_len = b.len() - ETH_LEN;
    ipv4(&mut b[ETH_LEN..], ip_len, o.src_ip, o.dst_ip);
    let u = ETH_LEN + IPV4_LEN;
    put16(&mut b, u, OUTER_SRC_PORT_BASE.wrapping_add(flow));
    put16(&mut b, u + 2, o.dst_port);
    put16(&mut b, u + 4, (ip_len - IPV4_LEN) as u16);
    put16(&mut b, u + 6, 0); // RFC 7348 s5: SHOULD be 0
    let v = u + UDP_LEN;
    b[v] = VXLAN_FLAG_I; // flags; then 24 reserved bits, zero
    b[v + 4..v + 7].copy_from_slice(&o.vni.to_be_bytes()[1..]); // VNI; then 8 reserved bits
    b[VXLAN_OVERHEAD..].copy_from_slice(inner);
    b
}

/// Writes the tail: `magic`, then `ts_ns`, in the last 16 bytes of `frame`.
#[inline]
pub fn stamp(frame: &mut [u8], magic: u64, ts_ns: u64) {
    let n = frame.len();
    frame[n - TAIL_LEN..n - 8].copy_from_slice(&magic.to_le_bytes());
    frame[n - 8..].copy_from_slice(&ts_ns.to_le_bytes());
}

/// Writes only the send time (the magic is written once, when the frame is built).
#[inline]
pub fn stamp_time(frame: &mut [u8], ts_ns: u64) {
    let n = frame.len();
    frame[n - 8..].copy_from_slice(&ts_ns.to_le_bytes());
}

/// The send time in `frame`'s tail, if the tail carries `magic`.
#[inline]
pub fn read_tail(frame: &[u8], magic: u64) -> Option<u64> {
    let n = frame.len();
    if n < TAIL_LEN {
        return None;
    }
    let m = u64::from_le_bytes(frame[n - TAIL_LEN..n - 8].try_into().ok()?);
    if m != magic {
        return None;
    }
    Some(u64::from_le_bytes(frame[n - 8..].try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{NetSlice, SlicedPacket, TransportSlice};

    fn inner() -> Inner {
        Inner {
            src_mac: [2, 0, 0, 0, 0, 1],
            dst_mac: [2, 0, 0, 0, 0, 2],
            src_ip: Ipv4Addr::new(198, 19, 0, 1),
            dst_ip: Ipv4Addr::new(198, 19, 0, 2),
            src_port: 10000,
            dst_port: 9,
        }
    }

    fn check_ipv4_udp(frame: &[u8], src_port: u16, dst_port: u16) -> usize {
        let p = SlicedPacket::from_ethernet(frame).expect("parses");
        let Some(NetSlice::Ipv4(ip)) = p.net else {
            panic!("not IPv4")
        };
        let hdr = ip.header();
        assert_eq!(checksum(hdr.slice()), 0, "IPv4 checksum verifies");
        assert_eq!(
            usize::from(hdr.total_len()),
            frame.len() - ETH_LEN,
            "no padding"
        );
        let Some(TransportSlice::Udp(udp)) = p.transport else {
            panic!("not UDP")
        };
        assert_eq!(udp.source_port(), src_port);
        assert_eq!(udp.destination_port(), dst_port);
        assert_eq!(udp.checksum(), 0);
        assert_eq!(usize::from(udp.length()), frame.len() - ETH_LEN - IPV4_LEN);
        udp.payload().len()
    }

    #[test]
    fn inner_60_bytes() {
        let mut f = inner_frame(&inner(), 7, 60);
        assert_eq!(check_ipv4_udp(&f, 10007, 9), 18);
        stamp(&mut f, magic(5), 123);
        assert_eq!(read_tail(&f, magic(5)), Some(123));
        assert_eq!(read_tail(&f, magic(6)), None);
        stamp_time(&mut f, 456);
        assert_eq!(read_tail(&f, magic(5)), Some(456));
    }

    #[test]
    fn vxlan_around_inner() {
        let o = Outer {
            src_mac: [2, 0, 0, 0, 1, 1],
            dst_mac: [2, 0, 0, 0, 1, 2],
            src_ip: Ipv4Addr::new(198, 18, 0, 1),
            dst_ip: Ipv4Addr::new(198, 18, 0, 2),
            vni: 0x123456,
            dst_port: VXLAN_PORT,
        };
        let mut i = inner_frame(&inner(), 3, 1396);
        stamp(&mut i, magic(1), 99);
        let f = vxlan_frame(&o, 3, &i);
        assert_eq!(f.len(), 1446);
        check_ipv4_udp(&f, 49155, 4789);
        let v = &f[ETH_LEN + IPV4_LEN + UDP_LEN..VXLAN_OVERHEAD];
        assert_eq!(v, &[0x08, 0, 0, 0, 0x12, 0x34, 0x56, 0]);
        assert_eq!(&f[VXLAN_OVERHEAD..], &i[..]);
        check_ipv4_udp(&f[VXLAN_OVERHEAD..], 10003, 9);
        assert_eq!(read_tail(&f, magic(1)), Some(99), "the tail survives encap");
    }

    #[test]
    fn short_frames_have_no_tail() {
        assert_eq!(read_tail(&[0u8; 15], magic(0)), None);
    }
}
