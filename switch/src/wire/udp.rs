//! UDP header view (RFC 768).
//!
//! ```text
//! +----------------+----------------+
//! | src port (2 B) | dst port (2 B) |
//! | length (2 B)   | checksum (2 B) |
//! +----------------+----------------+
//! ```

use super::{be16, set_be16, Malformed};

/// Length of the UDP header.
pub const HEADER_LEN: usize = 8;

mod field {
    pub const SRC_PORT: usize = 0;
    pub const DST_PORT: usize = 2;
    pub const LENGTH: usize = 4;
    pub const CHECKSUM: usize = 6;
}

/// A view of a UDP datagram.
#[derive(Debug)]
pub struct UdpPacket<T> {
    buf: T,
}

impl<T: AsRef<[u8]>> UdpPacket<T> {
    /// Checks the header fits and the length field lies between the header
    /// length and the buffer's length.
    #[inline(always)]
    pub fn new_checked(buf: T) -> Result<Self, Malformed> {
        let b = buf.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Malformed::Truncated);
        }
        let len = usize::from(be16(b, field::LENGTH));
        if len < HEADER_LEN {
            return Err(Malformed::BadHeader);
        }
        if len > b.len() {
            return Err(Malformed::Truncated);
        }
        Ok(Self { buf })
    }
    #[inline]
    pub fn new_unchecked(buf: T) -> Self {
        Self { buf }
    }
    #[inline]
    pub fn src_port(&self) -> u16 {
        be16(self.buf.as_ref(), field::SRC_PORT)
    }
    #[inline(always)]
    pub fn dst_port(&self) -> u16 {
        be16(self.buf.as_ref(), field::DST_PORT)
    }
    #[inline]
    pub fn len(&self) -> u16 {
        be16(self.buf.as_ref(), field::LENGTH)
    }
    #[inline]
    pub fn is_empty(&self) -> bool {
        usize::from(self.len()) == HEADER_LEN
    }
    #[inline]
    pub fn checksum(&self) -> u16 {
        be16(self.buf.as_ref(), field::CHECKSUM)
    }
    /// The payload, up to the length field.
    #[inline(always)]
    pub fn payload(&self) -> &[u8] {
        &self.buf.as_ref()[HEADER_LEN..usize::from(self.len())]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> UdpPacket<T> {
    #[inline]
    pub fn set_src_port(&mut self, p: u16) {
        set_be16(self.buf.as_mut(), field::SRC_PORT, p);
    }
    #[inline]
    pub fn set_dst_port(&mut self, p: u16) {
        set_be16(self.buf.as_mut(), field::DST_PORT, p);
    }
    #[inline]
    pub fn set_len(&mut self, l: u16) {
        set_be16(self.buf.as_mut(), field::LENGTH, l);
    }
    #[inline]
    pub fn set_checksum(&mut self, c: u16) {
        set_be16(self.buf.as_mut(), field::CHECKSUM, c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[rustfmt::skip]
    const DGRAM: [u8; 10] = [
        0xc0, 0x01, // src port 49153
        0x12, 0xb5, // dst port 4789
        0x00, 0x0a, // length 10
        0x00, 0x00, // checksum: none (RFC 7348 s5 allows zero)
        0x08, 0x00, // payload
    ];

    #[test]
    fn deconstruct() {
        let u = UdpPacket::new_checked(&DGRAM[..]).unwrap();
        assert_eq!(
            (u.src_port(), u.dst_port(), u.len(), u.checksum()),
            (49153, 4789, 10, 0)
        );
        assert_eq!(u.payload(), &[0x08, 0x00]);
    }

    #[test]
    fn construct() {
        let mut b = [0u8; 10];
        let mut u = UdpPacket::new_unchecked(&mut b[..]);
        u.set_src_port(49153);
        u.set_dst_port(4789);
        u.set_len(10);
        u.set_checksum(0);
        b[8..].copy_from_slice(&[0x08, 0x00]);
        assert_eq!(b, DGRAM);
    }

    #[test]
    fn truncated() {
        for n in 0..DGRAM.len() {
            assert_eq!(
                UdpPacket::new_checked(&DGRAM[..n]).unwrap_err(),
                Malformed::Truncated
            );
        }
    }

    #[test]
    fn length_below_header() {
        let mut b = DGRAM;
        b[5] = 7;
        assert_eq!(
            UdpPacket::new_checked(&b[..]).unwrap_err(),
            Malformed::BadHeader
        );
    }
}
