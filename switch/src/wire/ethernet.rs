//! Ethernet II header view (IEEE 802.3).
//!
//! ```text
//! +-------------------+-------------------+-----------+
//! | destination (6 B) |   source (6 B)    | type (2 B)|
//! +-------------------+-------------------+-----------+
//! ```

use super::{be16, set_be16, Mac, Malformed};

/// Length of an untagged Ethernet header.
pub const HEADER_LEN: usize = 14;
/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// EtherType of an 802.1Q tag.
pub const ETHERTYPE_VLAN: u16 = 0x8100;

mod field {
    use core::ops::Range;
    pub const DST: Range<usize> = 0..6;
    pub const SRC: Range<usize> = 6..12;
    pub const ETHERTYPE: usize = 12;
    pub const PAYLOAD: usize = 14;
}

/// A view of an Ethernet frame.
#[derive(Debug)]
pub struct EthernetFrame<T> {
    buf: T,
}

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    /// Wraps `buf` after checking it holds a whole header.
    #[inline]
    pub fn new_checked(buf: T) -> Result<Self, Malformed> {
        if buf.as_ref().len() < HEADER_LEN {
            return Err(Malformed::Truncated);
        }
        Ok(Self { buf })
    }

    /// Destination address.
    #[inline]
    pub fn dst(&self) -> Mac {
        self.buf.as_ref()[field::DST]
            .try_into()
            .expect("6-byte range")
    }

    /// Source address.
    #[inline]
    pub fn src(&self) -> Mac {
        self.buf.as_ref()[field::SRC]
            .try_into()
            .expect("6-byte range")
    }

    /// EtherType (or, below 0x0600, an 802.3 length).
    #[inline]
    pub fn ethertype(&self) -> u16 {
        be16(self.buf.as_ref(), field::ETHERTYPE)
    }

    /// Everything after the header.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buf.as_ref()[field::PAYLOAD..]
    }

    /// The wrapped buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buf
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EthernetFrame<T> {
    #[inline]
    pub fn set_dst(&mut self, mac: &Mac) {
        self.buf.as_mut()[field::DST].copy_from_slice(mac);
    }
    #[inline]
    pub fn set_src(&mut self, mac: &Mac) {
        self.buf.as_mut()[field::SRC].copy_from_slice(mac);
    }
    #[inline]
    pub fn set_ethertype(&mut self, t: u16) {
        set_be16(self.buf.as_mut(), field::ETHERTYPE, t);
    }
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buf.as_mut()[field::PAYLOAD..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[rustfmt::skip]
    const FRAME: [u8; 16] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // dst: broadcast
        0x02, 0x00, 0x00, 0x00, 0x01, 0x01, // src
        0x08, 0x06,                         // ARP
        0xaa, 0xbb,                         // payload
    ];

    #[test]
    fn deconstruct() {
        let f = EthernetFrame::new_checked(&FRAME[..]).unwrap();
        assert_eq!(f.dst(), [0xff; 6]);
        assert_eq!(f.src(), [2, 0, 0, 0, 1, 1]);
        assert_eq!(f.ethertype(), ETHERTYPE_ARP);
        assert_eq!(f.payload(), &[0xaa, 0xbb]);
    }

    #[test]
    fn construct() {
        let mut buf = [0u8; 16];
        let mut f = EthernetFrame::new_checked(&mut buf[..]).unwrap();
        f.set_dst(&[0xff; 6]);
        f.set_src(&[2, 0, 0, 0, 1, 1]);
        f.set_ethertype(ETHERTYPE_ARP);
        f.payload_mut().copy_from_slice(&[0xaa, 0xbb]);
        assert_eq!(buf, FRAME);
    }

    #[test]
    fn truncated() {
        for n in 0..HEADER_LEN {
            assert_eq!(
                EthernetFrame::new_checked(&FRAME[..n]).unwrap_err(),
                Malformed::Truncated
            );
        }
    }

    #[test]
    fn matches_etherparse() {
        let (h, rest) = etherparse::Ethernet2Header::from_slice(&FRAME).unwrap();
        let f = EthernetFrame::new_checked(&FRAME[..]).unwrap();
        assert_eq!(h.destination, f.dst());
        assert_eq!(h.source, f.src());
        assert_eq!(h.ether_type.0, f.ethertype());
        assert_eq!(rest, f.payload());
    }
}
