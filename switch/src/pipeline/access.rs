//! Frames from an access port: classify, learn the source, answer ARP
//! requests that the VNI's ARP table can answer (ARP suppression), look up
//! the destination.
//!
//! Already checked: nothing. The frame is whatever the container sent.

use super::{arp, Verdict};
use crate::fdb::{Dest, Fdb, Learned};
use crate::state::{Bd, State};
use crate::stats::{Counters, Drop, Event};
use crate::wire::ethernet::{EthernetFrame, ETHERTYPE_ARP};
use crate::wire::is_multicast;

/// Learns `frame`'s source in its port's BD and decides where it goes.
/// `frame` is the received frame, exactly its length; it is written only
/// when it is an ARP request that the BD's ARP table answers: then it has
/// been rewritten into the reply and the verdict is [`Verdict::Port`] with
/// `port`, the port it came in on.
#[inline]
pub fn access_rx(
    st: &State,
    fdb: &Fdb,
    port: u16,
    frame: &mut [u8],
    now_secs: u32,
    ctr: &Counters,
) -> Result<Verdict, Drop> {
    let eth = EthernetFrame::new_checked(&*frame).map_err(|_| Drop::Truncated)?;
    let bd = match st.ports.get(usize::from(port)).and_then(|p| p.bd) {
        Some(bd) => bd,
        None => return Err(Drop::UnknownPort),
    };
    let src = eth.src();
    if is_multicast(&src) {
        return Err(Drop::BadSrcMac);
    }
    let bdv = &st.bds[usize::from(bd)];
    if bdv.learning {
        count_learn(ctr, fdb.learn(bd, &src, Dest::Port(port), now_secs));
    } else {
        ctr.event(Event::LearnDisabled, 1);
    }
    let dst = eth.dst();
    // Only ARP takes the suppression branch: every other frame pays one
    // compare of its EtherType. The requester has been learned above, as
    // the source of any frame is.
    if eth.ethertype() == ETHERTYPE_ARP && suppress_arp(bdv, frame, ctr) {
        return Ok(Verdict::Port(port));
    }
    if is_multicast(&dst) {
        return Ok(Verdict::Flood(bd));
    }
    match fdb.lookup(bd, &dst) {
        Some(Dest::Port(p)) if p == port => Err(Drop::SamePort),
        Some(Dest::Port(p)) => Ok(Verdict::Port(p)),
        Some(Dest::Vtep(v)) => Ok(Verdict::Vtep(v)),
        None => Ok(Verdict::Flood(bd)),
    }
}

/// ARP suppression: when `frame` is an ARP request for an address in `bd`'s
/// ARP table, rewrites it into the reply from the address's owner, counts
/// it, and returns true. Everything else (other ARP, requests for addresses
/// not in the table, ARP packets cut short) returns false untouched and
/// goes on like any frame: flooded or forwarded. Out of line: it is the
/// uncommon branch, and keeps `access_rx` small where it is inlined.
#[inline(never)]
fn suppress_arp(bd: &Bd, frame: &mut [u8], ctr: &Counters) -> bool {
    if bd.arp.is_empty() {
        return false;
    }
    let Some(req) = arp::request(frame) else {
        return false;
    };
    // A gratuitous ARP (sender address == target address) announces, it
    // does not ask: everyone in the VNI should hear it. A probe (sender
    // 0.0.0.0, RFC 5227) asks, and is answered.
    if req.sender_ip == req.target_ip {
        return false;
    }
    let Some(mac) = bd.arp_lookup(req.target_ip) else {
        return false;
    };
    // The owner asking for its own address (its RFC 5227 probe before it
    // takes the address) must not be answered with itself: it would read
    // the reply as a conflict. Linux's vxlan proxy mode does not answer for
    // a bridge-local owner either.
    if mac == req.sender_mac {
        return false;
    }
    arp::reply_in_place(frame, &mac);
    ctr.event(Event::ArpSuppressed, 1);
    true
}

#[inline]
pub(crate) fn count_learn(ctr: &Counters, l: Learned) {
    match l {
        Learned::New => ctr.event(Event::LearnNew, 1),
        Learned::Moved => ctr.event(Event::LearnMoved, 1),
        Learned::Full => ctr.event(Event::LearnFull, 1),
        Learned::Unchanged | Learned::Static => {}
    }
}
