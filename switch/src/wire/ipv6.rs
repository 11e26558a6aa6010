//! IPv6 fixed header view (RFC 8200 s3). The switch looks inside inner IPv6
//! packets only to clamp TCP MSS and to answer too-big ones with ICMPv6
//! (`pipeline::mtu`); extension headers are not walked.
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version| Traffic Class |           Flow Label                  |
//! |         Payload Length        |  Next Header  |   Hop Limit   |
//! |                     Source Address (16 B)                     |
//! |                  Destination Address (16 B)                   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use std::net::Ipv6Addr;

use super::{be16, set_be16, Malformed};

/// Length of the fixed header.
pub const HEADER_LEN: usize = 40;
/// The minimum link MTU every IPv6 link must carry (RFC 8200 s5).
pub const MIN_MTU: u16 = 1280;
/// Next header of TCP.
pub const NEXT_TCP: u8 = 6;
/// Next header of ICMPv6.
pub const NEXT_ICMPV6: u8 = 58;

mod field {
    use core::ops::Range;
    pub const VER_TC_FLOW: Range<usize> = 0..4;
    pub const PAYLOAD_LEN: usize = 4;
    pub const NEXT_HEADER: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC: Range<usize> = 8..24;
    pub const DST: Range<usize> = 24..40;
    pub const ADDRS: Range<usize> = 8..40;
}

/// A view of an IPv6 packet.
#[derive(Debug)]
pub struct Ipv6Packet<T> {
    buf: T,
}

impl<T: AsRef<[u8]>> Ipv6Packet<T> {
    /// Checks version 6 and that the fixed header and the payload length fit
    /// the buffer (which may carry Ethernet padding beyond them).
    #[inline]
    pub fn new_checked(buf: T) -> Result<Self, Malformed> {
        let b = buf.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Malformed::Truncated);
        }
        if b[0] >> 4 != 6 {
            return Err(Malformed::BadHeader);
        }
        if HEADER_LEN + usize::from(be16(b, field::PAYLOAD_LEN)) > b.len() {
            return Err(Malformed::Truncated);
        }
        Ok(Self { buf })
    }

    /// Wraps `buf` without checks; for writing a header into a buffer of at
    /// least [`HEADER_LEN`] bytes.
    #[inline]
    pub fn new_unchecked(buf: T) -> Self {
        Self { buf }
    }

    #[inline]
    pub fn payload_len(&self) -> u16 {
        be16(self.buf.as_ref(), field::PAYLOAD_LEN)
    }
    /// Header and payload: the packet's length on the wire.
    #[inline]
    pub fn total_len(&self) -> usize {
        HEADER_LEN + usize::from(self.payload_len())
    }
    #[inline]
    pub fn next_header(&self) -> u8 {
        self.buf.as_ref()[field::NEXT_HEADER]
    }
    #[inline]
    pub fn hop_limit(&self) -> u8 {
        self.buf.as_ref()[field::HOP_LIMIT]
    }
    #[inline]
    pub fn src(&self) -> Ipv6Addr {
        let a: [u8; 16] = self.buf.as_ref()[field::SRC]
            .try_into()
            .expect("16-byte range");
        a.into()
    }
    #[inline]
    pub fn dst(&self) -> Ipv6Addr {
        let a: [u8; 16] = self.buf.as_ref()[field::DST]
            .try_into()
            .expect("16-byte range");
        a.into()
    }
    /// Source then destination address, as the upper-layer checksums'
    /// pseudo-header (RFC 8200 s8.1) takes them.
    #[inline]
    pub fn addrs(&self) -> &[u8] {
        &self.buf.as_ref()[field::ADDRS]
    }
    /// The payload, up to the payload length (Ethernet padding excluded).
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buf.as_ref()[HEADER_LEN..self.total_len()]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6Packet<T> {
    /// Writes the fixed header: traffic class and flow label zero.
    #[inline]
    pub fn emit(&mut self, r: &Ipv6Repr) {
        let b = self.buf.as_mut();
        b[field::VER_TC_FLOW].copy_from_slice(&[0x60, 0, 0, 0]);
        set_be16(b, field::PAYLOAD_LEN, r.payload_len);
        b[field::NEXT_HEADER] = r.next_header;
        b[field::HOP_LIMIT] = r.hop_limit;
        b[field::SRC].copy_from_slice(&r.src.octets());
        b[field::DST].copy_from_slice(&r.dst.octets());
    }
}

/// The fields of a fixed IPv6 header that the switch reads or writes
/// (traffic class and flow label are written as zero, not kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Repr {
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub next_header: u8,
    pub hop_limit: u8,
    pub payload_len: u16,
}

impl Ipv6Repr {
    #[inline]
    pub fn parse<T: AsRef<[u8]>>(p: &Ipv6Packet<T>) -> Ipv6Repr {
        Ipv6Repr {
            src: p.src(),
            dst: p.dst(),
            next_header: p.next_header(),
            hop_limit: p.hop_limit(),
            payload_len: p.payload_len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[rustfmt::skip]
    const PACKET: [u8; 44] = [
        0x60, 0x00, 0x00, 0x00,             // version 6, class 0, flow 0
        0x00, 0x04,                         // payload length 4
        0x3a,                               // next header: ICMPv6
        0x40,                               // hop limit 64
        0xfd, 0, 0, 0, 0, 0, 0, 0,          // source fd00::1
        0, 0, 0, 0, 0, 0, 0, 0x01,
        0xfd, 0, 0, 0, 0, 0, 0, 0,          // destination fd00::2
        0, 0, 0, 0, 0, 0, 0, 0x02,
        0xde, 0xad, 0xbe, 0xef,             // payload
    ];

    fn repr() -> Ipv6Repr {
        Ipv6Repr {
            src: "fd00::1".parse().unwrap(),
            dst: "fd00::2".parse().unwrap(),
            next_header: NEXT_ICMPV6,
            hop_limit: 64,
            payload_len: 4,
        }
    }

    #[test]
    fn deconstruct() {
        let p = Ipv6Packet::new_checked(&PACKET[..]).unwrap();
        assert_eq!(Ipv6Repr::parse(&p), repr());
        assert_eq!(p.total_len(), 44);
        assert_eq!(p.payload(), &[0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(p.addrs(), &PACKET[8..40]);
    }

    #[test]
    fn construct() {
        let mut b = [0xffu8; 44];
        Ipv6Packet::new_unchecked(&mut b[..]).emit(&repr());
        b[40..].copy_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(b, PACKET);
    }

    #[test]
    fn truncated_and_bad_version() {
        for n in 0..PACKET.len() {
            assert_eq!(
                Ipv6Packet::new_checked(&PACKET[..n]).unwrap_err(),
                Malformed::Truncated,
                "{n}"
            );
        }
        let mut b = PACKET;
        b[0] = 0x40;
        assert_eq!(
            Ipv6Packet::new_checked(&b[..]).unwrap_err(),
            Malformed::BadHeader
        );
    }

    #[test]
    fn matches_etherparse() {
        let (h, rest) = etherparse::Ipv6Header::from_slice(&PACKET).unwrap();
        let p = Ipv6Packet::new_checked(&PACKET[..]).unwrap();
        assert_eq!(h.source, p.src().octets());
        assert_eq!(h.destination, p.dst().octets());
        assert_eq!(h.next_header.0, p.next_header());
        assert_eq!(h.hop_limit, p.hop_limit());
        assert_eq!(h.payload_length, p.payload_len());
        assert_eq!(rest, p.payload());
    }

    proptest! {
        #[test]
        fn round_trip(src: [u8; 16], dst: [u8; 16], next: u8, hop: u8, len in 0u16..1400) {
            let r = Ipv6Repr { src: src.into(), dst: dst.into(), next_header: next, hop_limit: hop, payload_len: len };
            let mut b = vec![0u8; HEADER_LEN + usize::from(len)];
            Ipv6Packet::new_unchecked(&mut b[..]).emit(&r);
            let p = Ipv6Packet::new_checked(&b[..]).unwrap();
            prop_assert_eq!(Ipv6Repr::parse(&p), r);
        }

        #[test]
        fn random_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(p) = Ipv6Packet::new_checked(&b[..]) {
                let _ = (p.payload().len(), p.src(), p.addrs().len());
            }
        }
    }
}
