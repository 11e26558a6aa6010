//! The poll loop: one per worker thread, pinned to its core.
//!
//! Each iteration receives a batch of up to [`BATCH`] frames from every
//! port in turn, runs each through the pipeline (loading the running state
//! once, when the first frame comes), flushes the backend once (send, kick
//! if asked, reap, refill) and publishes the batch's counts. Nothing here
//! allocates, locks or makes a system call per frame.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use crate::fdb::Fdb;
use crate::pipeline::csum::complete_partial;
use crate::pipeline::encap::{encap, fits, outer_len, write_outer};
use crate::pipeline::frag::{self, MAX_FRAGMENTS};
use crate::pipeline::mtu::{self, clamp_mss};
use crate::pipeline::{
    access::access_rx,
    hash::flow_hash,
    uplink::{strip_front, uplink_rx_in_place},
    Verdict,
};
use crate::port::{Backend, PortSpec};
use crate::state::{State, ENCAP_LEN, UPLINK};
use crate::stats::{Counters, Drop, Event, Tally};
use crate::Shared;

/// Most frames taken from one port's RX ring per iteration.
pub const BATCH: usize = 64;
/// How long an adaptive worker keeps polling, yielding its core between
/// polls, after the last frame before it naps (see [`Idle::Adaptive`]).
const IDLE_SPIN_US: u64 = 1000;
/// Longest idle wait: bounds how long `stop` goes unseen.
const IDLE_WAIT_MS: i32 = 10;

/// How a worker waits when there is no traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idle {
    /// Spin forever: lowest latency, one core at 100 %.
    Busy,
    /// For [`IDLE_SPIN_US`] after the last frame, keep polling but yield
    /// the core (`sched_yield`) after each empty poll, so a container or
    /// any other thread on the same core runs at once while the worker
    /// still sees the next frame within microseconds; then sleep in
    /// poll(2) until a frame arrives (one system call per idle wait, none
    /// per frame). An idle switch costs no CPU; request/response traffic
    /// (a message every few hundred microseconds) never waits for a
    /// wake-up. Measured with `bench/harness/tcp.py` (README): ping-pong
    /// p99 at 5,000/s 27 us, against 221 us when workers napped after 256
    /// empty polls; always yielding, never napping, gave 67 us.
    Adaptive,
}

/// A change to a worker's ports, from the control thread.
pub enum Change {
    /// Open a port in this slot.
    Open { slot: usize, spec: PortSpec },
    /// Close the port in this slot.
    Close { slot: usize },
    /// Nothing: the reply says that the worker has finished every batch it
    /// began before the command was sent, so none still uses an older
    /// running state (a grace period, in read-copy-update terms).
    Sync,
}

/// A [`Change`] and where the worker answers.
pub struct Command {
    pub change: Change,
    pub done: mpsc::Sender<Result<(), String>>,
}

/// Applies a change between batches. Rare and slow (it opens and closes
/// sockets): kept out of line so the poll loop's code stays tight.
#[cold]
#[inline(never)]
fn apply<B: Backend>(b: &mut B, cmd: Command) {
    let r = match &cmd.change {
        Change::Open { slot, spec } => b.open_port(*slot, spec),
        Change::Close { slot } => {
            b.close_port(*slot);
            Ok(())
        }
        Change::Sync => Ok(()),
    };
    // The control thread may have given up waiting; nothing to do then.
    let _ = cmd.done.send(r);
}

/// Runs frames through the pipeline until `stop` is set. Between batches it
/// applies port changes from `cmds` (one channel read per iteration, no
/// system call) and then calls `publish` with whether a port changed.
pub fn run<B: Backend>(
    b: &mut B,
    shared: &Shared,
    ctr: &Counters,
    stop: &AtomicBool,
    idle: Idle,
    cmds: &mpsc::Receiver<Command>,
    publish: impl Fn(&B, bool),
) {
    let mut rxd = [B::Desc::default(); BATCH];
    let mut idle_since: Option<Instant> = None;
    let mut tally = Tally::new(ctr);
    let mut busy = BusyClock::new();
    {
        let st = shared.state.load();
        b.set_overlay(usize::from(st.overlay_mtu()), st.udp_port);
    }
    while !stop.load(Ordering::Relaxed) {
        let mut changed = false;
        while let Ok(cmd) = cmds.try_recv() {
            changed |= !matches!(cmd.change, Change::Sync);
            // Opening a port takes milliseconds: not processing time.
            busy.stop(ctr);
            apply(b, cmd);
        }
        busy.start();
        let (mut got, mut full) = (0, false);
        // The running state and the clock, read once per iteration and only
        // when a frame has come: an empty poll stays a few ring reads, so a
        // busy-polling worker sees the next frame sooner.
        let mut batch = None;
        let budget = b.rx_budget().min(BATCH);
        for port in 0..b.n_ports() {
            if budget == 0 {
                break;
            }
            let n = b.rx(port, &mut rxd[..budget]);
            if n == 0 {
                continue;
            }
            got += n;
            full |= n == budget;
            let (st, now) = batch.get_or_insert_with(|| (shared.state.load(), shared.now_secs()));
            b.set_overlay(usize::from(st.overlay_mtu()), st.udp_port);
            forward_batch(b, st, &shared.fdb, port as u16, &rxd[..n], *now, &mut tally);
        }
        b.flush(ctr);
        if got > 0 {
            tally.publish();
            busy.moved(ctr, got, full);
        } else {
            busy.stop(ctr);
        }
        publish(b, changed);
        if got == 0 && idle == Idle::Adaptive {
            let since = *idle_since.get_or_insert_with(Instant::now);
            if since.elapsed().as_micros() < u128::from(IDLE_SPIN_US) {
                // Poll again soon, but let anything else runnable on this
                // core go first (the container whose reply we wait for).
                std::thread::yield_now();
            } else {
                // Sleep in poll(2) on the RX sockets: the kernel wakes us
                // with the next frame, so an idle switch costs no CPU and
                // the first frame after a pause waits microseconds, not a
                // timer tick.
                b.wait(IDLE_WAIT_MS);
            }
        } else {
            idle_since = None;
        }
    }
}

/// A batch received from `port` through the pipeline: counted as received
/// once (port rx packets and bytes), then forwarded frame by frame. The
/// caller publishes `t` after its flush.
#[inline]
pub fn forward_batch<B: Backend, const ON: bool>(
    b: &mut B,
    st: &State,
    fdb: &Fdb,
    port: u16,
    descs: &[B::Desc],
    now: u32,
    t: &mut Tally<'_, ON>,
) {
    if descs.is_empty() {
        return;
    }
    // Every frame's headers on their way to this core's cache before the
    // first is parsed: the misses overlap (see `Backend::prefetch`).
    for d in descs {
        b.prefetch(d);
    }
    // Bytes in a loop of their own: the frame loop below keeps its
    // registers for the frames.
    let bytes = descs.iter().map(|d| b.len(d)).sum();
    t.port_rx(usize::from(port), descs.len(), bytes);
    for d in descs {
        forward(b, st, fdb, port, *d, now, t);
    }
}

/// One frame through the pipeline, ending in exactly one place: queued for
/// TX or freed with a counted drop.
///
/// After the lookup, a frame that crosses the underlay (decapsulated, or
/// from an access port toward remote VTEPs) has its TCP MSS clamped to its
/// BD's (`pipeline::mtu`); then partial checksums are completed (in that
/// order: see `pipeline::mtu`). A frame from an access port to one remote
/// VTEP that will not fit the uplink once encapsulated is turned into an
/// ICMP too-big reply to its sender instead; failing that, an IPv4 packet
/// without DF goes on (its checksum completed first) to be fragmented by
/// `to_vtep`, and anything else is dropped as `mtu.too_big`. `flood` does
/// the same for the VTEP copies of a flooded one.
#[inline]
pub fn forward<B: Backend, const ON: bool>(
    b: &mut B,
    st: &State,
    fdb: &Fdb,
    port: u16,
    mut d: B::Desc,
    now: u32,
    t: &mut Tally<'_, ON>,
) {
    let ctr = t.counters();
    // Decap leaves the inner frame where it is, at `off` (the outer
    // headers' length): what follows in the closure works on it there, and
    // the frame's start is moved past the outer headers after it.
    let mut off = 0;
    let verdict = b.with_frame(&mut d, |buf, len| {
        let v = if port == UPLINK {
            uplink_rx_in_place(st, fdb, buf, len, now, t).map(|(v, o)| {
                off = o;
                v
            })
        } else {
            access_rx(st, fdb, port, &mut buf[..*len], now, ctr)
        };
        // The BD of a frame that crosses the underlay; local port-to-port
        // frames never do, and keep their MSS (but their checksum is still
        // completed below).
        let crossing = match v {
            Ok(Verdict::Port(p)) if port == UPLINK => {
                st.ports.get(usize::from(p)).and_then(|p| p.bd)
            }
            Ok(Verdict::Vtep(_)) => st.ports[usize::from(port)].bd,
            Ok(Verdict::Flood(bd)) => Some(bd),
            Ok(Verdict::Port(_)) => None,
            Ok(Verdict::Reply) | Err(_) => return v,
        };
        // From here on the frame is `buf[off..*len]` (the inner frame, when
        // it came from the uplink).
        if let Some(mss) = crossing.and_then(|bd| st.bds[usize::from(bd)].mss) {
            if clamp_mss(&mut buf[off..*len], mss) {
                ctr.event(Event::MssClamped, 1);
            }
        }
        // Only frames from access ports, so `off` is 0.
        if port != UPLINK && matches!(v, Ok(Verdict::Vtep(_))) && !fits(st, *len) {
            match mtu::too_big(st, buf, len, now, ctr) {
                Ok(()) => return Ok(Verdict::Port(port)),
                // No DF: fragmented once encap finds it too big (`to_vtep`).
                Err(_) if frag::may_fragment(st, &buf[..*len]) => {}
                Err(drop) => return Err(drop),
            }
        }
        // The frame goes on (decapsulated, when from the uplink): finish any
        // checksum its sender left to offload (pipeline::csum). Before any
        // fragmenting: the L4 checksum covers the whole datagram.
        if complete_partial(&mut buf[off..*len]) {
            ctr.port_csum(usize::from(port));
        }
        v
    });
    if off > 0 && verdict.is_ok() && !b.adjust_head(&mut d, off as isize) {
        b.with_frame(&mut d, |buf, len| strip_front(buf, len, off));
    }
    match verdict {
        Err(drop) => {
            ctr.drop(drop, 1);
            b.free(d);
        }
        Ok(Verdict::Port(p)) => b.tx(usize::from(p), d, ctr),
        Ok(Verdict::Reply) => b.tx(usize::from(UPLINK), d, ctr),
        Ok(Verdict::Vtep(v)) => {
            let bd = st.ports[usize::from(port)]
                .bd
                .expect("access_rx only returns Vtep for ports with a BD");
            let vni = st.bds[usize::from(bd)].vni;
            let hash = b.with_frame(&mut d, |buf, len| flow_hash(&buf[..*len]));
            to_vtep(b, st, v, vni, hash, d, t);
        }
        Ok(Verdict::Flood(bd)) => flood(b, st, port, bd, d, now, t),
    }
}

/// Encapsulates the inner frame `d` toward VTEP `v` and queues it on the
/// uplink. An inner IPv4 packet without DF that is too big is fragmented
/// (`fragment`): the common path, a frame that fits, pays nothing for it
/// but encap's own length check.
#[inline(always)]
fn to_vtep<B: Backend, const ON: bool>(
    b: &mut B,
    st: &State,
    v: u16,
    vni: u32,
    hash: u32,
    mut d: B::Desc,
    t: &mut Tally<'_, ON>,
) {
    let ctr = t.counters();
    match encap_frame(b, st, v, vni, hash, &mut d) {
        Ok(()) => send_encapped(b, st, v, hash, d, t),
        Err(Drop::TooBig) => fragment(b, st, v, vni, hash, d, t),
        Err(drop) => {
            ctr.drop(drop, 1);
            b.free(d);
        }
    }
}

/// Encapsulates the inner frame `d` in place toward VTEP `v`.
#[inline(always)]
fn encap_frame<B: Backend>(
    b: &mut B,
    st: &State,
    v: u16,
    vni: u32,
    hash: u32,
    d: &mut B::Desc,
) -> Result<(), Drop> {
    let vtep = &st.vteps[usize::from(v)];
    let ip_len = outer_len(st, vtep, b.len(d), hash)?;
    if b.adjust_head(d, -(ENCAP_LEN as isize)) {
        // The outer headers go in the room before the frame: no byte of
        // the inner frame moves.
        b.with_frame(d, |buf, _| {
            write_outer(&mut buf[..ENCAP_LEN], st, vtep, vni, hash, ip_len)
        });
        return Ok(());
    }
    b.with_frame(d, |buf, len| {
        encap(buf, *len, st, vtep, vni, hash).map(|n| *len = n)
    })
}

/// Counts and queues a frame encapsulated toward VTEP `v`.
#[inline(always)]
fn send_encapped<B: Backend, const ON: bool>(
    b: &mut B,
    st: &State,
    v: u16,
    hash: u32,
    d: B::Desc,
    t: &mut Tally<'_, ON>,
) {
    let bytes = b.len(&d);
    t.encapped(usize::from(v), bytes);
    if st.vteps[usize::from(v)].mac.is_none() {
        // Through the next hop the flow's ECMP bucket picked.
        if let Some(h) = st.ecmp.pick(hash) {
            t.hop_tx(usize::from(h), bytes);
        }
    }
    b.tx(usize::from(UPLINK), d, t);
}

/// The inner frame `d`, too big for the uplink once encapsulated, cut into
/// IPv4 fragments that fit (`pipeline::frag`), each encapsulated toward `v`
/// with the original's flow hash (one outer source port, one ECMP path, so
/// the fragments keep their order) and queued in order. The later
/// fragments are made first, each in a free frame, from the untouched
/// original, which then becomes the first. A fragment with no free frame
/// is counted as `tx.no_frame` and the others still go, as with flood
/// copies. A frame `frag` refuses is dropped as `mtu.too_big`.
#[cold]
fn fragment<B: Backend, const ON: bool>(
    b: &mut B,
    st: &State,
    v: u16,
    vni: u32,
    hash: u32,
    mut d: B::Desc,
    t: &mut Tally<'_, ON>,
) {
    let ctr = t.counters();
    let mtu = st.overlay_mtu();
    let Some(plan) = b.with_frame(&mut d, |buf, len| frag::plan(&buf[..*len], mtu)) else {
        ctr.drop(Drop::TooBig, 1);
        b.free(d);
        return;
    };
    let mut frags = [B::Desc::default(); MAX_FRAGMENTS];
    let mut made = 1;
    for k in 1..plan.count() {
        match b.alloc_from(&d, |src, dst| plan.write(k, src, dst)) {
            Some(f) => {
                frags[made] = f;
                made += 1;
            }
            None => ctr.drop(Drop::NoFrame, 1),
        }
    }
    b.with_frame(&mut d, |buf, len| *len = plan.first(buf));
    frags[0] = d;
    ctr.event(Event::Fragmented, 1);
    ctr.event(Event::Fragments, made as u64);
    for mut f in frags.into_iter().take(made) {
        match encap_frame(b, st, v, vni, hash, &mut f) {
            Ok(()) => send_encapped(b, st, v, hash, f, t),
            Err(drop) => {
                ctr.drop(drop, 1);
                b.free(f);
            }
        }
    }
}

/// Floods within `bd`: to its other local ports and, for frames from an
/// access port, one encapsulated copy per remote VTEP of the BD (head-end
/// replication). The original frame goes to the last target; the others get
/// copies.
///
/// A frame from an access port too big for the uplink reaches the BD's
/// local ports as usual; its VTEP copies are replaced by one ICMP too-big
/// reply to the sender, built in the original frame (the last target), when
/// `pipeline::mtu` allows one. Otherwise the copies are made and `to_vtep`
/// fragments each (IPv4 without DF) or drops it as `mtu.too_big`.
fn flood<B: Backend, const ON: bool>(
    b: &mut B,
    st: &State,
    in_port: u16,
    bd: u16,
    mut d: B::Desc,
    now: u32,
    t: &mut Tally<'_, ON>,
) {
    let ctr = t.counters();
    let bdv = &st.bds[usize::from(bd)];
    let from_uplink = in_port == UPLINK;
    let n_ports = bdv.ports.iter().filter(|&&p| p != in_port).count();
    let n_vteps = if from_uplink { 0 } else { bdv.flood.len() };
    let reply = if n_vteps > 0 && !fits(st, b.len(&d)) {
        b.with_frame(&mut d, |buf, len| {
            mtu::may_reply(st, &buf[..*len], now, ctr)
        })
    } else {
        None
    };
    let n_vteps = if reply.is_some() { 0 } else { n_vteps };
    let total = n_ports + n_vteps + usize::from(reply.is_some());
    if total == 0 {
        ctr.drop(
            if from_uplink {
                Drop::SplitHorizon
            } else {
                Drop::NoFloodTarget
            },
            1,
        );
        b.free(d);
        return;
    }
    ctr.event(Event::Flooded, 1);
    let hash = if n_vteps > 0 {
        b.with_frame(&mut d, |buf, len| flow_hash(&buf[..*len]))
    } else {
        0
    };
    let mut left = total;
    let mut next = |b: &mut B, d: &B::Desc| -> Option<B::Desc> {
        left -= 1;
        if left == 0 {
            return Some(*d);
        }
        match b.clone_frame(d) {
            Some(c) => {
                ctr.event(Event::FloodCopies, 1);
                Some(c)
            }
            None => {
                ctr.drop(Drop::NoFrame, 1);
                None
            }
        }
    };
    for &p in bdv.ports.iter().filter(|&&p| p != in_port) {
        if let Some(c) = next(b, &d) {
            b.tx(usize::from(p), c, ctr);
        }
    }
    if n_vteps > 0 {
        let vni = bdv.vni;
        for &v in &bdv.flood {
            if let Some(c) = next(b, &d) {
                to_vtep(b, st, v, vni, hash, c, t);
            }
        }
    }
    if let Some(r) = reply {
        // The last target: `next` hands back the original, untouched by the
        // copies made from it.
        if let Some(mut c) = next(b, &d) {
            if b.with_frame(&mut c, |buf, len| mtu::write_reply(r, buf, len, ctr)) {
                b.tx(usize::from(in_port), c, ctr);
            } else {
                ctr.drop(Drop::TooBig, 1);
                b.free(c);
            }
        }
    }
}

/// Most busy iterations timed as one span (see [`BusyClock`]).
pub const BUSY_SPAN_MAX: u32 = 16;

/// The worker's processing cycles per packet (`worker.busy_cycles` over
/// `worker.busy_packets`), as OVS counts "processing cycles": the TSC
/// cycles of the poll iterations that moved frames, from the start of
/// each such iteration to its end (its publish included, the next command
/// check too when busy iterations follow each other); idle polls, and the
/// naps and yields that only idle iterations take, are charged nothing.
///
/// A TSC read costs about 10 ns here (`rdtsc` on this machine's EPYC),
/// 0.6 % of a 64-frame batch, so a run of busy iterations is timed as one
/// span: an iteration that received a full batch on some port is almost
/// surely followed by another busy one, and the clock is read again only
/// when one was not full, or every [`BUSY_SPAN_MAX`] iterations (so the
/// counts stay fresh under a steady full load). Under a moderate load (no
/// full batches) that is two reads per busy iteration, as before. A span
/// still open when an iteration finds nothing is charged up to the end of
/// that empty poll (a poll of every ring, well under a microsecond, once
/// per burst), never through the naps and yields that follow it.
///
/// Thread safety: one per worker, on its stack.
pub struct BusyClock {
    /// TSC at the start of the open span (or of this iteration).
    since: u64,
    /// Frames and full-batch iterations in the open span.
    packets: u64,
    iterations: u32,
    open: bool,
}

impl Default for BusyClock {
    fn default() -> Self {
        BusyClock::new()
    }
}

impl BusyClock {
    pub fn new() -> BusyClock {
        BusyClock {
            since: 0,
            packets: 0,
            iterations: 0,
            open: false,
        }
    }

    /// At the start of each poll iteration: reads the clock unless a span
    /// of busy iterations is open.
    #[inline(always)]
    pub fn start(&mut self) {
        if !self.open {
            self.since = cycles();
        }
    }

    /// At the end of an iteration that received `packets` frames; `full`
    /// when some port gave a full batch (more are likely waiting).
    #[inline(always)]
    pub fn moved(&mut self, ctr: &Counters, packets: usize, full: bool) {
        self.packets += packets as u64;
        self.iterations += 1;
        self.open = full && self.iterations < BUSY_SPAN_MAX;
        if !self.open {
            self.charge(ctr);
        }
    }

    /// Ends an open span before the worker does something that is not
    /// processing: an iteration that found nothing (the span is charged up
    /// to now, so one empty poll with it) or a port change.
    #[inline(always)]
    pub fn stop(&mut self, ctr: &Counters) {
        if self.open {
            self.open = false;
            self.charge(ctr);
        }
    }

    /// Ends the span: its cycles and frames go to the counters.
    #[inline(never)]
    fn charge(&mut self, ctr: &Counters) {
        ctr.event(Event::BusyCycles, cycles().wrapping_sub(self.since));
        ctr.event(Event::BusyPackets, self.packets);
        (self.packets, self.iterations) = (0, 0);
    }
}

/// The CPU's time-stamp counter (cycles at the TSC's rate), or nanoseconds
/// where there is none.
#[inline]
pub fn cycles() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: rdtsc has no preconditions on x86_64.
        unsafe { core::arch::x86_64::_rdtsc() }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        use std::sync::OnceLock;
        static START: OnceLock<Instant> = OnceLock::new();
        START.get_or_init(Instant::now).elapsed().as_nanos() as u64
    }
}

/// A coarse clock for FDB ages: whole seconds since the switch started.
pub struct Clock(Instant);

impl Default for Clock {
    fn default() -> Self {
        Clock(Instant::now())
    }
}

impl Clock {
    pub fn now_secs(&self) -> u32 {
        self.0.elapsed().as_secs() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn busy(c: &Counters) -> (u64, u64) {
        (c.events(Event::BusyCycles), c.events(Event::BusyPackets))
    }

    #[test]
    fn busy_clock_counts_every_frame_and_no_idle_time() {
        let c = Counters::default();
        let mut clock = BusyClock::new();
        // A steady full load: one span per BUSY_SPAN_MAX iterations.
        for i in 1..=2 * BUSY_SPAN_MAX {
            clock.start();
            clock.moved(&c, 64, true);
            let spans = u64::from(i / BUSY_SPAN_MAX);
            assert_eq!(busy(&c).1, spans * u64::from(BUSY_SPAN_MAX) * 64);
        }
        // A burst ends in an empty poll, which closes its span; the nap
        // after it is charged to nobody.
        clock.start();
        clock.moved(&c, 64, true);
        clock.start();
        clock.stop(&c);
        let (cycles, packets) = busy(&c);
        assert_eq!(packets, u64::from(2 * BUSY_SPAN_MAX + 1) * 64);
        std::thread::sleep(std::time::Duration::from_millis(200));
        // A partial batch is timed on its own, from its own start.
        clock.start();
        clock.moved(&c, 10, false);
        let (later, packets) = busy(&c);
        assert_eq!(packets, u64::from(2 * BUSY_SPAN_MAX + 1) * 64 + 10);
        // 200 ms is over 200 M cycles at any TSC rate above 1 GHz (and
        // 200 M ns where the clock is in nanoseconds): none of it counted.
        assert!(
            later - cycles < 100_000_000,
            "the nap was charged: {}",
            later - cycles
        );
        // Stopping with nothing open charges nothing.
        clock.stop(&c);
        assert_eq!(busy(&c), (later, packets));
    }
}
