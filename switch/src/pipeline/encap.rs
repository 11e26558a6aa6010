//! VXLAN encapsulation (RFC 7348 s5) into the frame the inner packet already
//! sits in.
//!
//! The inner frame is moved 50 bytes forward inside its own buffer and the
//! VTEP's prebuilt outer header copied in front; then the lengths, the IPv4
//! checksum (incrementally, RFC 1624), the UDP source port (inner flow hash,
//! RFC 7348 s5) and the VNI are patched. UDP checksum stays 0 (RFC 7348 s5),
//! DF is set (s4.3: VTEPs must not fragment).

use crate::state::{State, Vtep, ENCAP_LEN};
use crate::stats::Drop;
use crate::wire::{checksum, ethernet, ipv4};

const IP: usize = ethernet::HEADER_LEN;
const UDP: usize = IP + ipv4::HEADER_LEN;
const VX: usize = UDP + 8;

/// Whether an inner frame of `len` bytes fits the uplink MTU once
/// encapsulated: its outer IPv4 packet (IPv4 + UDP + VXLAN headers, then the
/// whole inner frame) is at most the uplink MTU. That is, its own IP packet
/// is at most the overlay MTU.
#[inline]
pub fn fits(st: &State, len: usize) -> bool {
    len + (ENCAP_LEN - ethernet::HEADER_LEN) <= usize::from(st.uplink_mtu)
}

/// Encapsulates `buf[..len]` in place toward `vtep` with `vni`; returns the new
/// length. `buf` is the whole frame buffer (its capacity), `hash` the inner
/// flow hash.
#[inline]
pub fn encap(
    buf: &mut [u8],
    len: usize,
    st: &State,
    vtep: &Vtep,
    vni: u32,
    hash: u32,
) -> Result<usize, Drop> {
    if !fits(st, len) || len + ENCAP_LEN > buf.len() {
        return Err(Drop::TooBig);
    }
    let outer_ip_len = len + (ENCAP_LEN - ethernet::HEADER_LEN);
    if vtep.mac.is_none() && st.next_hop_mac(hash).is_none() {
        return Err(Drop::Unresolved);
    }
    buf.copy_within(..len, ENCAP_LEN);
    write_outer(
        &mut buf[..ENCAP_LEN],
        st,
        vtep,
        vni,
        hash,
        outer_ip_len as u16,
    );
    Ok(len + ENCAP_LEN)
}

/// Writes the 50-byte outer header for an inner frame whose outer IPv4 total
/// length is `ip_len`.
#[inline]
pub fn write_outer(h: &mut [u8], st: &State, vtep: &Vtep, vni: u32, hash: u32, ip_len: u16) {
    h.copy_from_slice(&vtep.template);
    if vtep.mac.is_none() {
        // Through the next hops: the flow's ECMP bucket picks one (a live
        // one, so it has a MAC; `encap` drops the frame when none is up).
        if let Some(mac) = st.next_hop_mac(hash) {
            h[..6].copy_from_slice(&mac);
        }
    }
    let tmpl_csum = u16::from_be_bytes([h[IP + 10], h[IP + 11]]);
    h[IP + 2..IP + 4].copy_from_slice(&ip_len.to_be_bytes());
    h[IP + 10..IP + 12].copy_from_slice(&checksum::update16(tmpl_csum, 0, ip_len).to_be_bytes());
    // The hash scaled into the range by a multiply (Lemire's reduction), not
    // a division: `hash * span / 2^32` is below `span` and as even.
    let sport = st.src_port_min + ((u64::from(hash) * u64::from(st.src_port_span)) >> 32) as u16;
    h[UDP..UDP + 2].copy_from_slice(&sport.to_be_bytes());
    h[UDP + 4..UDP + 6].copy_from_slice(&(ip_len - ipv4::HEADER_LEN as u16).to_be_bytes());
    let v = vni.to_be_bytes();
    h[VX + 4..VX + 7].copy_from_slice(&v[1..4]);
}
