//! VXLAN encapsulation (RFC 7348 s5) into the frame the inner packet already
//! sits in.
//!
//! The VTEP's prebuilt outer header is copied in front of the inner frame,
//! into the 50 bytes before it where the port has room there (the worker
//! moves the frame's start: `Backend::adjust_head`, then [`write_outer`]),
//! else after moving the inner frame 50 bytes forward inside its own buffer
//! ([`encap`]); then the lengths, the IPv4 checksum (incrementally, RFC
//! 1624), the UDP source port (inner flow hash, RFC 7348 s5) and the VNI are
//! patched. UDP checksum stays 0 (RFC 7348 s5),
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

/// Whether an inner frame of `len` bytes with flow hash `hash` can be
/// encapsulated toward `vtep` (it fits the uplink MTU once encapsulated,
/// and the underlay MAC it goes to is known); its outer IPv4 total length
/// if so. Nothing is written.
#[inline]
pub fn outer_len(st: &State, vtep: &Vtep, len: usize, hash: u32) -> Result<u16, Drop> {
    if !fits(st, len) {
        return Err(Drop::TooBig);
    }
    if vtep.mac.is_none() && st.next_hop_mac(hash).is_none() {
        return Err(Drop::Unresolved);
    }
    Ok((len + (ENCAP_LEN - ethernet::HEADER_LEN)) as u16)
}

/// Encapsulates `buf[..len]` in place toward `vtep` with `vni` by moving it
/// 50 bytes forward; returns the new length. `buf` is the whole frame
/// buffer (its capacity), `hash` the inner flow hash.
#[inline]
pub fn encap(
    buf: &mut [u8],
    len: usize,
    st: &State,
    vtep: &Vtep,
    vni: u32,
    hash: u32,
) -> Result<usize, Drop> {
    let outer_ip_len = outer_len(st, vtep, len, hash)?;
    if len + ENCAP_LEN > buf.len() {
        return Err(Drop::TooBig);
    }
    buf.copy_within(..len, ENCAP_LEN);
    write_outer(&mut buf[..ENCAP_LEN], st, vtep, vni, hash, outer_ip_len);
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
