//! ARP for IPv4 over Ethernet (RFC 826), the only kind the switch speaks.
//!
//! ```text
//! | htype 1 (2) | ptype 0x0800 (2) | hlen 6 | plen 4 | oper (2) |
//! | sender MAC (6) | sender IP (4) | target MAC (6) | target IP (4) |
//! ```

use std::net::Ipv4Addr;

use super::{be16, set_be16, Mac, Malformed};

/// Length of an Ethernet/IPv4 ARP packet.
pub const PACKET_LEN: usize = 28;
pub const OP_REQUEST: u16 = 1;
pub const OP_REPLY: u16 = 2;

mod field {
    use core::ops::Range;
    pub const HTYPE: usize = 0;
    pub const PTYPE: usize = 2;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: usize = 6;
    pub const SHA: Range<usize> = 8..14;
    pub const SPA: Range<usize> = 14..18;
    pub const THA: Range<usize> = 18..24;
    pub const TPA: Range<usize> = 24..28;
}

/// A view of an Ethernet/IPv4 ARP packet.
#[derive(Debug)]
pub struct ArpPacket<T> {
    buf: T,
}

impl<T: AsRef<[u8]>> ArpPacket<T> {
    /// Checks the length and that this is Ethernet/IPv4 ARP.
    #[inline]
    pub fn new_checked(buf: T) -> Result<Self, Malformed> {
        let b = buf.as_ref();
        if b.len() < PACKET_LEN {
            return Err(Malformed::Truncated);
        }
        if be16(b, field::HTYPE) != 1
            || be16(b, field::PTYPE) != 0x0800
            || b[field::HLEN] != 6
            || b[field::PLEN] != 4
        {
            return Err(Malformed::BadHeader);
        }
        Ok(Self { buf })
    }
    #[inline]
    pub fn oper(&self) -> u16 {
        be16(self.buf.as_ref(), field::OPER)
    }
    #[inline]
    pub fn sender_mac(&self) -> Mac {
        self.buf.as_ref()[field::SHA]
            .try_into()
            .expect("6-byte range")
    }
    #[inline]
    pub fn sender_ip(&self) -> Ipv4Addr {
        let a: [u8; 4] = self.buf.as_ref()[field::SPA]
            .try_into()
            .expect("4-byte range");
        a.into()
    }
    #[inline]
    pub fn target_ip(&self) -> Ipv4Addr {
        let a: [u8; 4] = self.buf.as_ref()[field::TPA]
            .try_into()
            .expect("4-byte range");
        a.into()
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> ArpPacket<T> {
    /// Turns a request into the reply that `mac` owns its target address:
    /// sender and target swap, and the sender MAC becomes `mac`.
    #[inline]
    pub fn make_reply(&mut self, mac: &Mac) {
        let b = self.buf.as_mut();
        let (sha, spa, tpa) = {
            let r: &[u8] = b;
            let sha: Mac = r[field::SHA].try_into().expect("6-byte range");
            let spa: [u8; 4] = r[field::SPA].try_into().expect("4-byte range");
            let tpa: [u8; 4] = r[field::TPA].try_into().expect("4-byte range");
            (sha, spa, tpa)
        };
        set_be16(b, field::OPER, OP_REPLY);
        b[field::SHA].copy_from_slice(mac);
        b[field::SPA].copy_from_slice(&tpa);
        b[field::THA].copy_from_slice(&sha);
        b[field::TPA].copy_from_slice(&spa);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[rustfmt::skip]
    const REQUEST: [u8; 28] = [
        0x00, 0x01,                         // Ethernet
        0x08, 0x00,                         // IPv4
        6, 4,                               // lengths
        0x00, 0x01,                         // request
        0x02, 0x00, 0x00, 0x00, 0x01, 0x02, // sender MAC
        198, 18, 0, 2,                      // sender IP
        0, 0, 0, 0, 0, 0,                   // target MAC: unknown
        198, 18, 0, 1,                      // target IP
    ];

    #[test]
    fn deconstruct() {
        let a = ArpPacket::new_checked(&REQUEST[..]).unwrap();
        assert_eq!(a.oper(), OP_REQUEST);
        assert_eq!(a.sender_mac(), [2, 0, 0, 0, 1, 2]);
        assert_eq!(a.sender_ip(), Ipv4Addr::new(198, 18, 0, 2));
        assert_eq!(a.target_ip(), Ipv4Addr::new(198, 18, 0, 1));
    }

    #[test]
    fn reply_matches_etherparse() {
        let mut b = REQUEST;
        ArpPacket::new_checked(&mut b[..])
            .unwrap()
            .make_reply(&[2, 0, 0, 0, 1, 1]);
        let p = etherparse::ArpPacket::from_slice(&b).unwrap();
        assert_eq!(p.operation, etherparse::ArpOperation::REPLY);
        assert_eq!(p.sender_hw_addr(), &[2, 0, 0, 0, 1, 1]);
        assert_eq!(p.sender_protocol_addr(), &[198, 18, 0, 1]);
        assert_eq!(p.target_hw_addr(), &[2, 0, 0, 0, 1, 2]);
        assert_eq!(p.target_protocol_addr(), &[198, 18, 0, 2]);
    }

    #[test]
    fn truncated() {
        for n in 0..PACKET_LEN {
            assert_eq!(
                ArpPacket::new_checked(&REQUEST[..n]).unwrap_err(),
                Malformed::Truncated
            );
        }
    }
}
