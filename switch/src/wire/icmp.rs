//! ICMP (RFC 792) and ICMPv6 (RFC 4443) header view: the 8 bytes that the
//! two share, as far as the too-big replies of `pipeline::mtu` need them.
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |     Code      |          Checksum             |
//! |                      rest of header (4 B)                     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! The rest of the header of ICMPv4 "fragmentation needed" (type 3 code 4)
//! is 16 unused bits then the next-hop MTU (RFC 1191 s4); of ICMPv6
//! "packet too big" (type 2 code 0) it is the 32-bit MTU (RFC 4443 s3.2).
//! The original packet, or as much of it as fits, follows.
//!
//! The checksum covers the ICMP message; for ICMPv6 also the IPv6
//! pseudo-header (RFC 4443 s2.3). The view does not compute it.

use super::{be16, set_be16, Malformed};

/// Length of the header: type, code, checksum, rest of header.
pub const HEADER_LEN: usize = 8;
/// ICMPv4 destination unreachable (RFC 792).
pub const V4_DEST_UNREACHABLE: u8 = 3;
/// Its code "fragmentation needed and DF set" (RFC 792, RFC 1191).
pub const V4_CODE_FRAG_NEEDED: u8 = 4;
/// ICMPv6 packet too big (RFC 4443 s3.2).
pub const V6_PACKET_TOO_BIG: u8 = 2;

mod field {
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: usize = 2;
    pub const REST: core::ops::Range<usize> = 4..8;
    pub const NEXT_HOP_MTU: usize = 6;
}

/// True for the ICMPv4 error types, which are never answered with an error
/// (RFC 1122 s3.2.2): destination unreachable, source quench, redirect,
/// time exceeded, parameter problem (Linux's `icmp_is_err`).
pub fn is_v4_error(msg_type: u8) -> bool {
    matches!(msg_type, 3 | 4 | 5 | 11 | 12)
}

/// True for the ICMPv6 error types, 0..=127 (RFC 4443 s2.1); never
/// answered with an error (s2.4 e.1).
pub fn is_v6_error(msg_type: u8) -> bool {
    msg_type < 128
}

/// A view of an ICMP or ICMPv6 message.
#[derive(Debug)]
pub struct IcmpPacket<T> {
    buf: T,
}

impl<T: AsRef<[u8]>> IcmpPacket<T> {
    /// Checks that the buffer holds the 8-byte header.
    #[inline]
    pub fn new_checked(buf: T) -> Result<Self, Malformed> {
        if buf.as_ref().len() < HEADER_LEN {
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
    pub fn msg_type(&self) -> u8 {
        self.buf.as_ref()[field::TYPE]
    }
    #[inline]
    pub fn code(&self) -> u8 {
        self.buf.as_ref()[field::CODE]
    }
    #[inline]
    pub fn checksum(&self) -> u16 {
        be16(self.buf.as_ref(), field::CHECKSUM)
    }
    /// Bytes 4..8, as one big-endian number: the MTU of an ICMPv6 packet
    /// too big.
    #[inline]
    pub fn rest_of_header(&self) -> u32 {
        let r: [u8; 4] = self.buf.as_ref()[field::REST]
            .try_into()
            .expect("4-byte range");
        u32::from_be_bytes(r)
    }
    /// The next-hop MTU of an ICMPv4 fragmentation needed (RFC 1191 s4).
    #[inline]
    pub fn next_hop_mtu(&self) -> u16 {
        be16(self.buf.as_ref(), field::NEXT_HOP_MTU)
    }
    /// What follows the header.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buf.as_ref()[HEADER_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> IcmpPacket<T> {
    #[inline]
    pub fn set_msg_type(&mut self, t: u8) {
        self.buf.as_mut()[field::TYPE] = t;
    }
    #[inline]
    pub fn set_code(&mut self, c: u8) {
        self.buf.as_mut()[field::CODE] = c;
    }
    #[inline]
    pub fn set_checksum(&mut self, c: u16) {
        set_be16(self.buf.as_mut(), field::CHECKSUM, c);
    }
    #[inline]
    pub fn set_rest_of_header(&mut self, r: u32) {
        self.buf.as_mut()[field::REST].copy_from_slice(&r.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::checksum;

    #[rustfmt::skip]
    const FRAG_NEEDED: [u8; 12] = [
        0x03,                   // destination unreachable
        0x04,                   // fragmentation needed
        0xac, 0x75,             // checksum
        0x00, 0x00,             // unused
        0x05, 0xaa,             // next-hop MTU 1450
        0x45, 0x00, 0x05, 0xdc, // the original packet's first bytes
    ];

    #[test]
    fn deconstruct() {
        let p = IcmpPacket::new_checked(&FRAG_NEEDED[..]).unwrap();
        assert_eq!((p.msg_type(), p.code()), (3, 4));
        assert_eq!(p.next_hop_mtu(), 1450);
        assert_eq!(p.rest_of_header(), 1450);
        assert_eq!(p.payload(), &FRAG_NEEDED[8..]);
        assert_eq!(checksum::checksum(&FRAG_NEEDED), 0, "fixture checksum");
    }

    #[test]
    fn construct() {
        let mut b = [0xffu8; 12];
        b[8..].copy_from_slice(&FRAG_NEEDED[8..]);
        let mut p = IcmpPacket::new_checked(&mut b[..]).unwrap();
        p.set_msg_type(V4_DEST_UNREACHABLE);
        p.set_code(V4_CODE_FRAG_NEEDED);
        p.set_checksum(0);
        p.set_rest_of_header(1450);
        let c = checksum::checksum(&b);
        IcmpPacket::new_checked(&mut b[..]).unwrap().set_checksum(c);
        assert_eq!(b, FRAG_NEEDED);
    }

    #[test]
    fn truncated() {
        for n in 0..HEADER_LEN {
            assert_eq!(
                IcmpPacket::new_checked(&FRAG_NEEDED[..n]).unwrap_err(),
                Malformed::Truncated
            );
        }
    }

    #[test]
    fn matches_etherparse() {
        use etherparse::icmpv4::DestUnreachableHeader;
        let s = etherparse::Icmpv4Slice::from_slice(&FRAG_NEEDED).unwrap();
        assert_eq!(
            s.icmp_type(),
            etherparse::Icmpv4Type::DestinationUnreachable(
                DestUnreachableHeader::FragmentationNeeded { next_hop_mtu: 1450 }
            )
        );
        assert_eq!(s.checksum(), 0xac75);
        assert_eq!(s.icmp_type().calc_checksum(s.payload()), 0xac75);
    }

    #[test]
    fn error_types() {
        let v4: Vec<u8> = (0..=255).filter(|&t| is_v4_error(t)).collect();
        assert_eq!(v4, vec![3, 4, 5, 11, 12]);
        assert!(is_v6_error(2) && is_v6_error(127));
        assert!(!is_v6_error(128) && !is_v6_error(135));
    }
}
