//! Zero-copy header views over frame bytes.
//!
//! Each view wraps `T: AsRef<[u8]>` (and `AsMut<[u8]>` to write). `new_checked`
//! validates every length the accessors rely on, once; after that accessors
//! index without checks and never panic. Views never allocate: a bad packet is
//! a [`Malformed`] value that the pipeline turns into a counted drop.

pub mod arp;
pub mod checksum;
pub mod ethernet;
pub mod icmp;
pub mod ipv4;
pub mod ipv6;
pub mod tcp;
pub mod udp;
pub mod vxlan;

/// A header failed validation. Carries no string: the pipeline maps it to a
/// named drop reason, so a hostile packet costs no formatting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// The buffer is shorter than the header, or than the length it claims.
    Truncated,
    /// A version, header-length or similar field holds a value we cannot parse.
    BadHeader,
}

/// A 48-bit Ethernet address.
pub type Mac = [u8; 6];

/// True for group (broadcast or multicast) addresses: the I/G bit is set.
#[inline]
pub fn is_multicast(mac: &Mac) -> bool {
    mac[0] & 1 == 1
}

/// Reads a big-endian u16 at `at`. Callers have checked the length.
#[inline]
pub(crate) fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

#[inline]
pub(crate) fn set_be16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
}
