//! Frames from an access port: classify, learn the source, look up the
//! destination.
//!
//! Already checked: nothing. The frame is whatever the container sent.

use super::Verdict;
use crate::fdb::{Dest, Fdb, Learned};
use crate::state::State;
use crate::stats::{Counters, Drop, Event};
use crate::wire::{ethernet::EthernetFrame, is_multicast};

/// Learns `frame`'s source in its port's BD and decides where it goes.
#[inline]
pub fn access_rx(
    st: &State,
    fdb: &Fdb,
    port: u16,
    frame: &[u8],
    now_secs: u32,
    ctr: &Counters,
) -> Result<Verdict, Drop> {
    let eth = EthernetFrame::new_checked(frame).map_err(|_| Drop::Truncated)?;
    let bd = match st.ports.get(usize::from(port)).and_then(|p| p.bd) {
        Some(bd) => bd,
        None => return Err(Drop::UnknownPort),
    };
    let src = eth.src();
    if is_multicast(&src) {
        return Err(Drop::BadSrcMac);
    }
    if st.bds[usize::from(bd)].learning {
        count_learn(ctr, fdb.learn(bd, &src, Dest::Port(port), now_secs));
    }
    let dst = eth.dst();
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

#[inline]
pub(crate) fn count_learn(ctr: &Counters, l: Learned) {
    match l {
        Learned::New => ctr.event(Event::LearnNew, 1),
        Learned::Moved => ctr.event(Event::LearnMoved, 1),
        Learned::Full => ctr.event(Event::LearnFull, 1),
        Learned::Unchanged | Learned::Static => {}
    }
}
