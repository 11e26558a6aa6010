//! VXLAN header view (RFC 7348 s5).
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |R|R|R|R|I|R|R|R|            Reserved                           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                VXLAN Network Identifier (VNI) |   Reserved    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use super::Malformed;

/// Length of the VXLAN header.
pub const HEADER_LEN: usize = 8;
/// The IANA-assigned VXLAN UDP port (RFC 7348 s5).
pub const DEFAULT_PORT: u16 = 4789;
/// The I flag: the VNI is valid. RFC 7348 s5: it MUST be set.
pub const FLAG_I: u8 = 0x08;
/// Largest 24-bit VNI.
pub const MAX_VNI: u32 = 0x00ff_ffff;

/// A view of a VXLAN header and the inner frame after it.
#[derive(Debug)]
pub struct VxlanPacket<T> {
    buf: T,
}

impl<T: AsRef<[u8]>> VxlanPacket<T> {
    #[inline(always)]
    pub fn new_checked(buf: T) -> Result<Self, Malformed> {
        if buf.as_ref().len() < HEADER_LEN {
            return Err(Malformed::Truncated);
        }
        Ok(Self { buf })
    }
    #[inline]
    pub fn new_unchecked(buf: T) -> Self {
        Self { buf }
    }
    #[inline]
    pub fn flags(&self) -> u8 {
        self.buf.as_ref()[0]
    }
    /// The 24-bit VNI.
    #[inline(always)]
    pub fn vni(&self) -> u32 {
        let b = self.buf.as_ref();
        u32::from_be_bytes([0, b[4], b[5], b[6]])
    }
    /// True when only the I flag is set and every reserved bit is zero.
    ///
    /// RFC 7348 s5 asks receivers to ignore reserved bits; we drop such frames
    /// instead (counted as `decap.bad_flags`), because a peer that sets them is
    /// speaking an extension (GPE, GBP) whose frames we would misread.
    #[inline(always)]
    pub fn flags_valid(&self) -> bool {
        let b = self.buf.as_ref();
        b[0] == FLAG_I && b[1] == 0 && b[2] == 0 && b[3] == 0 && b[7] == 0
    }
    #[inline(always)]
    pub fn payload(&self) -> &[u8] {
        &self.buf.as_ref()[HEADER_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> VxlanPacket<T> {
    /// Writes the I flag, the VNI and zero reserved fields.
    #[inline]
    pub fn emit(&mut self, vni: u32) {
        let b = self.buf.as_mut();
        let v = vni.to_be_bytes();
        b[..8].copy_from_slice(&[FLAG_I, 0, 0, 0, v[1], v[2], v[3], 0]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[rustfmt::skip]
    const HDR: [u8; 8] = [
        0x08,             // flags: I
        0x00, 0x00, 0x00, // reserved
        0x00, 0x00, 0x64, // VNI 100
        0x00,             // reserved
    ];

    #[test]
    fn deconstruct() {
        let v = VxlanPacket::new_checked(&HDR[..]).unwrap();
        assert_eq!(v.vni(), 100);
        assert!(v.flags_valid());
    }

    #[test]
    fn construct() {
        let mut b = [0xffu8; 8];
        VxlanPacket::new_unchecked(&mut b[..]).emit(100);
        assert_eq!(b, HDR);
    }

    #[test]
    fn truncated() {
        for n in 0..HDR.len() {
            assert!(VxlanPacket::new_checked(&HDR[..n]).is_err());
        }
    }

    #[test]
    fn flags_checked() {
        for (i, bit) in [(0, 0x08u8), (0, 0x01), (1, 0x80), (3, 0x01), (7, 0x01)] {
            let mut b = HDR;
            b[i] ^= bit;
            assert!(
                !VxlanPacket::new_checked(&b[..]).unwrap().flags_valid(),
                "byte {i} bit {bit:#x}"
            );
        }
    }

    #[test]
    fn round_trip_every_vni_bit() {
        for shift in 0..24 {
            let vni = 1u32 << shift;
            let mut b = [0u8; 8];
            VxlanPacket::new_unchecked(&mut b[..]).emit(vni);
            assert_eq!(VxlanPacket::new_checked(&b[..]).unwrap().vni(), vni);
        }
    }

    #[test]
    fn matches_etherparse() {
        // etherparse has no VXLAN type; its UDP view of a whole datagram must
        // still hand back our header as the payload.
        let mut d = vec![0xc0, 0x01, 0x12, 0xb5, 0x00, 0x10, 0x00, 0x00];
        d.extend_from_slice(&HDR);
        let (_, payload) = etherparse::UdpHeader::from_slice(&d).unwrap();
        assert_eq!(VxlanPacket::new_checked(payload).unwrap().vni(), 100);
    }
}
