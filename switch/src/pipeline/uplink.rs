//! Frames from the uplink: validate the outer headers, decapsulate in place,
//! learn the inner source behind the sending VTEP, look up the destination.
//!
//! Checks, in order, each with its own drop reason: Ethernet length, IPv4
//! (version, header length, total length, checksum), our VTEP address, not a
//! fragment, UDP, our port, VXLAN flags (I set, reserved clear), a known VNI,
//! an inner frame at least an Ethernet header long with a unicast source.
//! ARP requests for our VTEP address are answered in place when the state
//! says the switch owns the uplink.

use super::access::count_learn;
use super::{arp, Verdict};
use crate::fdb::{Dest, Fdb};
use crate::state::State;
use crate::stats::{Counters, Drop, Event, Tally};
use crate::wire::ethernet::{self, EthernetFrame};
use crate::wire::ipv4::{self, Ipv4Packet};
use crate::wire::udp::UdpPacket;
use crate::wire::vxlan::{self, VxlanPacket};
use crate::wire::{is_multicast, Malformed};

/// Handles one uplink frame held in `buf[..*len]`. On [`Verdict::Port`] and
/// [`Verdict::Flood`] the frame has been decapsulated (its inner frame moved
/// to the front of `buf`) and `*len` shortened, and counted in `t`
/// (`decap.packets`). A frame from a known VTEP counts in that VTEP's rx
/// once its inner source is read, forwarded or not.
#[inline(always)]
pub fn uplink_rx<const ON: bool>(
    st: &State,
    fdb: &Fdb,
    buf: &mut [u8],
    len: &mut usize,
    now_secs: u32,
    t: &mut Tally<'_, ON>,
) -> Result<Verdict, Drop> {
    let (v, off) = uplink_rx_in_place(st, fdb, buf, len, now_secs, t)?;
    strip_front(buf, len, off);
    Ok(v)
}

/// Completes a decap left in place ([`uplink_rx_in_place`]) for a frame
/// whose start cannot move: the inner frame `buf[off..*len]` is moved to
/// the front of `buf` and `*len` shortened to it.
#[inline]
pub fn strip_front(buf: &mut [u8], len: &mut usize, off: usize) {
    if off > 0 {
        buf.copy_within(off..*len, 0);
        *len -= off;
    }
}

/// As [`uplink_rx`], but the inner frame stays where it is: on
/// [`Verdict::Port`] and [`Verdict::Flood`] it is `buf[off..*len]`, `off`
/// returned with the verdict (the outer headers' length) and `*len` cut to
/// the inner frame's end, so that stripping the first `off` bytes (moving
/// the frame's start: `Backend::adjust_head`) completes the decap. `off` is
/// 0 for any other verdict.
#[inline(always)]
pub fn uplink_rx_in_place<const ON: bool>(
    st: &State,
    fdb: &Fdb,
    buf: &mut [u8],
    len: &mut usize,
    now_secs: u32,
    t: &mut Tally<'_, ON>,
) -> Result<(Verdict, usize), Drop> {
    let ctr = t.counters();
    let frame = &buf[..*len];
    let eth = EthernetFrame::new_checked(frame).map_err(|_| Drop::Truncated)?;
    match eth.ethertype() {
        ethernet::ETHERTYPE_IPV4 => {}
        ethernet::ETHERTYPE_ARP if st.answer_vtep_arp => {
            return arp_for_vtep(st, &mut buf[..*len], ctr).map(|v| (v, 0))
        }
        _ => return Err(Drop::NotVxlan),
    }
    let ip = Ipv4Packet::new_checked(eth.payload()).map_err(|e| match e {
        Malformed::Truncated => Drop::Truncated,
        Malformed::BadHeader => Drop::BadOuterIp,
    })?;
    if ip.dst() != st.vtep_ip {
        return Err(Drop::NotOurVtep);
    }
    if !ip.verify_checksum() {
        return Err(Drop::BadOuterIp);
    }
    if ip.is_fragment() {
        return Err(Drop::Fragment);
    }
    if ip.protocol() != ipv4::PROTO_UDP {
        return Err(Drop::NotVxlan);
    }
    let udp = UdpPacket::new_checked(ip.payload()).map_err(|e| match e {
        Malformed::Truncated => Drop::Truncated,
        Malformed::BadHeader => Drop::NotVxlan,
    })?;
    if udp.dst_port() != st.udp_port {
        return Err(Drop::WrongPort);
    }
    let vx = VxlanPacket::new_checked(udp.payload()).map_err(|_| Drop::Truncated)?;
    if !vx.flags_valid() {
        return Err(Drop::BadFlags);
    }
    let bd = st.bd_of_vni(vx.vni()).ok_or(Drop::UnknownVni)?;
    let inner = vx.payload();
    if inner.len() < ethernet::HEADER_LEN {
        return Err(Drop::Truncated);
    }
    let inner_len = inner.len();
    let src_vtep = st.vtep_of_ip(ip.src());
    let inner_off = ethernet::HEADER_LEN + ip.header_len() + 8 + vxlan::HEADER_LEN;

    let inner = EthernetFrame::new_checked(&buf[inner_off..inner_off + inner_len])
        .map_err(|_| Drop::Truncated)?;
    let (src, dst) = (inner.src(), inner.dst());
    if is_multicast(&src) {
        return Err(Drop::BadSrcMac);
    }
    match src_vtep {
        Some(v) => {
            t.vtep_rx(usize::from(v));
            if st.bds[usize::from(bd)].learning {
                count_learn(ctr, fdb.learn(bd, &src, Dest::Vtep(v), now_secs));
            } else {
                ctr.event(Event::LearnDisabled, 1);
            }
        }
        None => ctr.event(Event::LearnUnknownVtep, 1),
    }
    let verdict = if is_multicast(&dst) {
        Verdict::Flood(bd)
    } else {
        match fdb.lookup(bd, &dst) {
            Some(Dest::Port(p)) => Verdict::Port(p),
            // Split horizon: what came from the underlay never goes back to it.
            Some(Dest::Vtep(_)) => return Err(Drop::SplitHorizon),
            None => Verdict::Flood(bd),
        }
    };
    // Decap: what the caller strips is the outer headers.
    *len = inner_off + inner_len;
    t.decapped();
    Ok((verdict, inner_off))
}

/// Answers an ARP request for our VTEP address by rewriting it into the reply.
fn arp_for_vtep(st: &State, frame: &mut [u8], ctr: &Counters) -> Result<Verdict, Drop> {
    match arp::request(frame) {
        Some(req) if req.target_ip == st.vtep_ip => {}
        _ => return Err(Drop::NotVxlan),
    }
    arp::reply_in_place(frame, &st.uplink_mac);
    ctr.event(Event::ArpVtepReply, 1);
    Ok(Verdict::Reply)
}
