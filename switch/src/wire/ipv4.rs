//! IPv4 header view (RFC 791).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version|  IHL  |Type of Service|          Total Length         |
//! |         Identification        |Flags|      Fragment Offset    |
//! |  Time to Live |    Protocol   |         Header Checksum       |
//! |                       Source Address                          |
//! |                    Destination Address                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use std::net::Ipv4Addr;

use super::{be16, checksum, set_be16, Malformed};

/// Length of a header without options.
pub const HEADER_LEN: usize = 20;
/// Protocol number of ICMP.
pub const PROTO_ICMP: u8 = 1;
/// Protocol number of UDP.
pub const PROTO_UDP: u8 = 17;
/// Protocol number of TCP.
pub const PROTO_TCP: u8 = 6;
/// The Don't Fragment flag within the flags/fragment-offset word.
pub const FLAG_DF: u16 = 0x4000;
const FLAG_MF: u16 = 0x2000;
const FRAG_OFFSET_MASK: u16 = 0x1fff;

mod field {
    pub const VER_IHL: usize = 0;
    pub const TOS: usize = 1;
    pub const TOTAL_LEN: usize = 2;
    pub const IDENT: usize = 4;
    pub const FLAGS_FRAG: usize = 6;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: usize = 10;
    pub const SRC: core::ops::Range<usize> = 12..16;
    pub const DST: core::ops::Range<usize> = 16..20;
}

/// A view of an IPv4 packet.
#[derive(Debug)]
pub struct Ipv4Packet<T> {
    buf: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Checks version 4, a header length of at least 20 bytes that fits, and a
    /// total length between the header length and the buffer's length (the
    /// buffer may carry Ethernet padding beyond it).
    #[inline(always)]
    pub fn new_checked(buf: T) -> Result<Self, Malformed> {
        let b = buf.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Malformed::Truncated);
        }
        if b[field::VER_IHL] >> 4 != 4 {
            return Err(Malformed::BadHeader);
        }
        let ihl = usize::from(b[field::VER_IHL] & 0x0f) * 4;
        if ihl < HEADER_LEN {
            return Err(Malformed::BadHeader);
        }
        let total = usize::from(be16(b, field::TOTAL_LEN));
        if b.len() < ihl || b.len() < total {
            return Err(Malformed::Truncated);
        }
        if total < ihl {
            return Err(Malformed::BadHeader);
        }
        Ok(Self { buf })
    }

    /// Wraps `buf` without checks; for writing a header into a fresh buffer of
    /// at least [`HEADER_LEN`] bytes.
    #[inline]
    pub fn new_unchecked(buf: T) -> Self {
        Self { buf }
    }

    #[inline(always)]
    pub fn header_len(&self) -> usize {
        usize::from(self.buf.as_ref()[field::VER_IHL] & 0x0f) * 4
    }
    #[inline(always)]
    pub fn total_len(&self) -> u16 {
        be16(self.buf.as_ref(), field::TOTAL_LEN)
    }
    #[inline]
    pub fn ident(&self) -> u16 {
        be16(self.buf.as_ref(), field::IDENT)
    }
    /// True for any fragment: MF set or a non-zero offset.
    #[inline(always)]
    pub fn is_fragment(&self) -> bool {
        let w = be16(self.buf.as_ref(), field::FLAGS_FRAG);
        w & FLAG_MF != 0 || w & FRAG_OFFSET_MASK != 0
    }
    #[inline]
    pub fn dont_frag(&self) -> bool {
        be16(self.buf.as_ref(), field::FLAGS_FRAG) & FLAG_DF != 0
    }
    #[inline]
    pub fn ttl(&self) -> u8 {
        self.buf.as_ref()[field::TTL]
    }
    #[inline(always)]
    pub fn protocol(&self) -> u8 {
        self.buf.as_ref()[field::PROTOCOL]
    }
    #[inline]
    pub fn checksum(&self) -> u16 {
        be16(self.buf.as_ref(), field::CHECKSUM)
    }
    #[inline(always)]
    pub fn src(&self) -> Ipv4Addr {
        let s: [u8; 4] = self.buf.as_ref()[field::SRC]
            .try_into()
            .expect("4-byte range");
        Ipv4Addr::from(s)
    }
    #[inline(always)]
    pub fn dst(&self) -> Ipv4Addr {
        let d: [u8; 4] = self.buf.as_ref()[field::DST]
            .try_into()
            .expect("4-byte range");
        Ipv4Addr::from(d)
    }
    /// Source then destination address, as the TCP and UDP checksums'
    /// pseudo-header (RFC 9293 s3.1) takes them.
    #[inline]
    pub fn addrs(&self) -> &[u8] {
        &self.buf.as_ref()[field::SRC.start..field::DST.end]
    }
    /// True when the header checksum verifies.
    #[inline]
    pub fn verify_checksum(&self) -> bool {
        let h = &self.buf.as_ref()[..self.header_len()];
        // Nearly every header has no options: a fixed length the sum unrolls for.
        let sum = if h.len() == HEADER_LEN {
            checksum::sum(0, &h[..HEADER_LEN])
        } else {
            checksum::sum(0, h)
        };
        checksum::finish(sum) == 0
    }
    /// The payload, up to the total length (Ethernet padding excluded).
    #[inline(always)]
    pub fn payload(&self) -> &[u8] {
        &self.buf.as_ref()[self.header_len()..usize::from(self.total_len())]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    /// Writes a 20-byte header with no options; the checksum is computed.
    #[inline]
    pub fn emit(&mut self, r: &Ipv4Repr) {
        let b = self.buf.as_mut();
        b[field::VER_IHL] = 0x45;
        b[field::TOS] = r.tos;
        set_be16(b, field::TOTAL_LEN, r.total_len);
        set_be16(b, field::IDENT, 0);
        set_be16(b, field::FLAGS_FRAG, if r.dont_frag { FLAG_DF } else { 0 });
        b[field::TTL] = r.ttl;
        b[field::PROTOCOL] = r.protocol;
        b[field::SRC].copy_from_slice(&r.src.octets());
        b[field::DST].copy_from_slice(&r.dst.octets());
        fill_checksum(&mut b[..HEADER_LEN]);
    }
}

/// Computes and writes the header checksum of `header`, an IPv4 header of
/// exactly its IHL bytes (options included), over whatever the field held.
#[inline]
pub fn fill_checksum(header: &mut [u8]) {
    set_be16(header, field::CHECKSUM, 0);
    let c = checksum::checksum(header);
    set_be16(header, field::CHECKSUM, c);
}

/// The fields of an option-less IPv4 header, as the encap template uses them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Repr {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub protocol: u8,
    pub ttl: u8,
    pub tos: u8,
    pub dont_frag: bool,
    pub total_len: u16,
}

impl Ipv4Repr {
    /// Parses a checked packet. Options are skipped, not kept.
    #[inline]
    pub fn parse<T: AsRef<[u8]>>(p: &Ipv4Packet<T>) -> Ipv4Repr {
        Ipv4Repr {
            src: p.src(),
            dst: p.dst(),
            protocol: p.protocol(),
            ttl: p.ttl(),
            tos: p.buf.as_ref()[field::TOS],
            dont_frag: p.dont_frag(),
            total_len: p.total_len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[rustfmt::skip]
    const PACKET: [u8; 24] = [
        0x45,                   // version 4, IHL 5
        0x00,                   // TOS
        0x00, 0x18,             // total length 24
        0x00, 0x00,             // identification
        0x40, 0x00,             // DF, offset 0
        0x40,                   // TTL 64
        0x11,                   // UDP
        0x00, 0x00,             // checksum (filled in by the test)
        198, 18, 0, 1,          // source
        198, 18, 0, 2,          // destination
        0xde, 0xad, 0xbe, 0xef, // payload
    ];

    fn packet() -> [u8; 24] {
        let mut p = PACKET;
        let c = checksum::checksum(&p[..20]);
        p[10..12].copy_from_slice(&c.to_be_bytes());
        p
    }

    fn repr() -> Ipv4Repr {
        Ipv4Repr {
            src: Ipv4Addr::new(198, 18, 0, 1),
            dst: Ipv4Addr::new(198, 18, 0, 2),
            protocol: PROTO_UDP,
            ttl: 64,
            tos: 0,
            dont_frag: true,
            total_len: 24,
        }
    }

    #[test]
    fn deconstruct() {
        let p = packet();
        let v = Ipv4Packet::new_checked(&p[..]).unwrap();
        assert_eq!(Ipv4Repr::parse(&v), repr());
        assert!(v.verify_checksum());
        assert!(!v.is_fragment());
        assert_eq!(v.payload(), &[0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(v.addrs(), &[198, 18, 0, 1, 198, 18, 0, 2]);
    }

    #[test]
    fn construct() {
        let mut b = [0u8; 24];
        Ipv4Packet::new_unchecked(&mut b[..]).emit(&repr());
        b[20..].copy_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(b, packet());
    }

    #[test]
    fn truncated() {
        let p = packet();
        for n in 0..p.len() {
            assert_eq!(
                Ipv4Packet::new_checked(&p[..n]).unwrap_err(),
                Malformed::Truncated
            );
        }
    }

    #[test]
    fn bad_version_and_ihl() {
        let mut p = packet();
        p[0] = 0x65;
        assert_eq!(
            Ipv4Packet::new_checked(&p[..]).unwrap_err(),
            Malformed::BadHeader
        );
        p[0] = 0x44;
        assert_eq!(
            Ipv4Packet::new_checked(&p[..]).unwrap_err(),
            Malformed::BadHeader
        );
    }

    #[test]
    fn matches_etherparse() {
        let p = packet();
        let (h, _) = etherparse::Ipv4Header::from_slice(&p).unwrap();
        let v = Ipv4Packet::new_checked(&p[..]).unwrap();
        assert_eq!(h.source, v.src().octets());
        assert_eq!(h.destination, v.dst().octets());
        assert_eq!(h.header_checksum, v.checksum());
        assert_eq!(h.dont_fragment, v.dont_frag());
    }

    proptest! {
        #[test]
        fn round_trip(src: u32, dst: u32, ttl in 1u8.., tos: u8, df: bool, proto: u8, extra in 0u16..1400) {
            let r = Ipv4Repr { src: src.into(), dst: dst.into(), protocol: proto, ttl, tos, dont_frag: df, total_len: 20 + extra };
            let mut b = vec![0u8; 20 + usize::from(extra)];
            Ipv4Packet::new_unchecked(&mut b[..]).emit(&r);
            let v = Ipv4Packet::new_checked(&b[..]).unwrap();
            prop_assert!(v.verify_checksum());
            prop_assert_eq!(Ipv4Repr::parse(&v), r);
        }

        #[test]
        fn random_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(v) = Ipv4Packet::new_checked(&b[..]) {
                let _ = (v.payload().len(), v.verify_checksum(), v.is_fragment());
            }
        }
    }
}
