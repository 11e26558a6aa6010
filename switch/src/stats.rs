//! Per-worker counters and the named drop reasons.
//!
//! Each worker owns one [`Counters`] block and is its only writer: it adds with
//! a relaxed load and store (no locked instruction), and the control thread
//! sums every worker's block for `vxctl stats`. Names are an interface:
//! scripts grep them, so renaming one is a breaking change.

use std::sync::atomic::{AtomicU64, Ordering};

macro_rules! named {
    ($(#[$m:meta])* $vis:vis enum $name:ident { $($(#[doc = $doc:literal])* $var:ident = $text:literal,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(usize)]
        $vis enum $name { $($(#[doc = $doc])* $var,)* }
        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$var,)*];
            /// The stable name that `vxctl stats` prints.
            pub const fn name(self) -> &'static str {
                match self { $($name::$var => $text,)* }
            }
        }
    };
}

named! {
    /// Why a frame left the pipeline without being sent. Names are stable.
    pub enum Drop {
        /// Frame shorter than the headers it claims (outer or inner).
        Truncated = "rx.truncated",
        /// Source MAC is a group address: no station sends from one.
        BadSrcMac = "rx.bad_src_mac",
        /// Frame arrived on a port that is not in the running state.
        UnknownPort = "rx.unknown_port",
        /// Frame larger than a frame buffer that the switch cannot segment:
        /// a GSO super-frame with AF_PACKET, or with AF_XDP in generic mode
        /// one that is not TCP (`pipeline::gso`).
        Oversize = "rx.oversize",
        /// Uplink frame that is not IPv4/UDP (ARP not for our VTEP included).
        NotVxlan = "decap.not_vxlan",
        /// Outer IPv4 header malformed or its checksum wrong.
        BadOuterIp = "decap.bad_ip_header",
        /// Outer destination is not our VTEP address.
        NotOurVtep = "decap.not_our_vtep",
        /// UDP to our address, but not to our VXLAN port.
        WrongPort = "decap.wrong_port",
        /// Outer IPv4 fragment: RFC 7348 s4.3 VTEPs do not fragment; we do not reassemble.
        Fragment = "decap.fragment",
        /// VXLAN I flag clear, or reserved bits set.
        BadFlags = "decap.bad_flags",
        /// No local segment for this VNI.
        UnknownVni = "decap.unknown_vni",
        /// A frame from the underlay had no local destination; it is never sent back to the underlay.
        SplitHorizon = "flood.split_horizon",
        /// A flooded frame from an access port had no other port and no remote VTEP in its VNI.
        NoFloodTarget = "flood.no_destination",
        /// The destination MAC was learned on the port the frame came in on.
        SamePort = "fwd.same_port",
        /// After encap the frame would exceed the uplink MTU, no ICMP
        /// too-big reply went back instead (not IPv4 or IPv6, a sender or
        /// destination an error may not go to, or over the rate limit), and
        /// it could not be fragmented (DF set, bad IP options: `pipeline::frag`).
        TooBig = "mtu.too_big",
        /// The remote VTEP's underlay MAC is not known yet (being resolved).
        Unresolved = "encap.unresolved",
        /// No free frame for a flood copy, a fragment or a segment.
        NoFrame = "tx.no_frame",
        /// The port's TX ring had no room.
        RingFull = "tx.ring_full",
        /// The destination port was detached while the frame was on its way.
        NoPort = "tx.no_port",
        /// The destination port's interface is down or gone (the kernel
        /// refuses to send on it); until it is back or detached.
        PortDown = "tx.port_down",
    }
}

named! {
    /// Things that happened to frames that went on. Names are stable.
    pub enum Event {
        /// Frames encapsulated toward a remote VTEP (flood copies included).
        Encap = "encap.packets",
        /// Frames decapsulated from the underlay.
        Decap = "decap.packets",
        /// Extra copies made to flood (BUM and unknown unicast).
        FloodCopies = "flood.copies",
        /// Frames flooded.
        Flooded = "flood.packets",
        /// New FDB entries learned.
        LearnNew = "learn.new",
        /// MACs that moved to a new port or VTEP.
        LearnMoved = "learn.moved",
        /// MACs not learned because the FDB is full (the frame still went on).
        LearnFull = "learn.fdb_full",
        /// Frames from a VTEP in no flood list: forwarded, source not learned.
        LearnUnknownVtep = "learn.unknown_vtep",
        /// Frames whose source MAC was not learned because learning is off in
        /// their VNI (counted per frame, not per distinct MAC; the frame still went on).
        LearnDisabled = "learn.disabled",
        /// ARP requests for our VTEP address answered by the switch.
        ArpVtepReply = "arp.vtep_replies",
        /// ARP requests from access ports answered by the switch from the
        /// VNI's ARP table (ARP suppression) instead of being flooded.
        ArpSuppressed = "arp.suppressed",
        /// Partial TCP/UDP checksums (offload left to "hardware") completed.
        CsumCompleted = "csum.completed",
        /// TCP SYNs whose MSS option the switch lowered to fit the overlay MTU.
        MssClamped = "mtu.mss_clamped",
        /// ICMP fragmentation-needed and ICMPv6 packet-too-big replies sent
        /// to senders of packets too big for the overlay.
        IcmpTooBig = "mtu.icmp_sent",
        /// Inner IPv4 packets without DF, too big for the overlay, that the
        /// switch cut into fragments (`pipeline::frag`).
        Fragmented = "mtu.fragmented",
        /// Fragments made of them (each encapsulated on its own; missing
        /// ones, for want of a frame, are counted as `tx.no_frame`).
        Fragments = "mtu.fragments",
        /// Frames larger than a UMEM frame (TCP GSO super-frames, AF_XDP
        /// generic mode) cut into segments that fit the overlay (`pipeline::gso`).
        GsoSegmented = "gso.segmented",
        /// Segments made of them.
        GsoSegments = "gso.segments",
        /// TSC cycles spent in poll iterations that moved frames (idle polls
        /// excluded, but for the empty poll that ends a run of full batches:
        /// `worker::BusyClock`).
        BusyCycles = "worker.busy_cycles",
        /// Frames received in those iterations: busy_cycles / busy_packets is
        /// the switch's own processing cost per packet.
        BusyPackets = "worker.busy_packets",
    }
}

/// Most ports, VTEPs and next hops a switch tracks counters for.
pub const MAX_PORTS: usize = 256;
pub const MAX_VTEPS: usize = 1024;
pub const MAX_HOPS: usize = 64;

const N_DROPS: usize = Drop::ALL.len();
const N_EVENTS: usize = Event::ALL.len();
const PORT_BASE: usize = N_DROPS + N_EVENTS;
/// rx packets, rx bytes, tx packets, tx bytes, partial checksums completed
const PORT_STRIDE: usize = 5;
const VTEP_BASE: usize = PORT_BASE + MAX_PORTS * PORT_STRIDE;
/// tx packets, tx bytes, rx packets
const VTEP_STRIDE: usize = 3;
const HOP_BASE: usize = VTEP_BASE + MAX_VTEPS * VTEP_STRIDE;
/// tx packets, tx bytes
const HOP_STRIDE: usize = 2;
const LEN: usize = HOP_BASE + MAX_HOPS * HOP_STRIDE;

/// One worker's counters. Single writer (its worker), any number of readers.
/// Each worker's block is its own ~30 KiB heap allocation, so two workers
/// can share at most the cache lines at the edges of their blocks.
///
/// It also holds the one piece of per-worker state a stage keeps, the ICMP
/// too-big rate limit (`pipeline::mtu`): the same single writer, and every
/// stage already gets its worker's counters.
pub struct Counters {
    /// Fixed length, so an index made from a `% MAX_*` is known in bounds
    /// and a count is one load, add and store, with no bounds check.
    c: Box<[AtomicU64; LEN]>,
    /// ICMP too-big replies: [`ICMP_PER_SEC`](crate::pipeline::mtu::ICMP_PER_SEC) per second.
    pub icmp_limit: RateLimit,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            c: (0..LEN)
                .map(|_| AtomicU64::new(0))
                .collect::<Box<[_]>>()
                .try_into()
                .expect("LEN counters"),
            icmp_limit: RateLimit::new(crate::pipeline::mtu::ICMP_PER_SEC),
        }
    }
}

/// A token bucket over whole seconds of the worker's clock (`now_secs`):
/// `per_sec` tokens a second, holding at most `per_sec` (one second's
/// worth, so the burst is the rate). Starts full.
///
/// Thread safety: single writer (its worker) with a relaxed load and store,
/// as for the counters; no allocation, no lock.
pub struct RateLimit {
    per_sec: u32,
    /// Second of the last take << 32 | tokens left.
    state: AtomicU64,
}

impl RateLimit {
    pub fn new(per_sec: u32) -> RateLimit {
        RateLimit {
            per_sec,
            state: AtomicU64::new(u64::from(per_sec)),
        }
    }

    /// Takes a token at `now_secs`; false when none is left.
    #[inline]
    pub fn take(&self, now_secs: u32) -> bool {
        let s = self.state.load(Ordering::Relaxed);
        let (last, mut tokens) = ((s >> 32) as u32, s as u32);
        if now_secs > last {
            let refill = (now_secs - last).saturating_mul(self.per_sec);
            tokens = tokens.saturating_add(refill).min(self.per_sec);
        }
        let ok = tokens > 0;
        tokens -= u32::from(ok);
        let t = u64::from(last.max(now_secs)) << 32 | u64::from(tokens);
        self.state.store(t, Ordering::Relaxed);
        ok
    }
}

impl Counters {
    #[inline]
    fn add(&self, i: usize, n: u64) {
        // Single writer: a plain load and store is exact and needs no lock prefix.
        let c = &self.c[i];
        c.store(c.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
    }
    #[inline]
    fn get(&self, i: usize) -> u64 {
        self.c[i].load(Ordering::Relaxed)
    }
    #[inline]
    pub fn drop(&self, d: Drop, n: u64) {
        self.add(d as usize, n);
    }
    #[inline]
    pub fn event(&self, e: Event, n: u64) {
        self.add(N_DROPS + e as usize, n);
    }
    /// `packets` frames of `bytes` bytes in all received on `port`.
    #[inline]
    pub fn port_rx(&self, port: usize, packets: usize, bytes: usize) {
        let b = PORT_BASE + (port % MAX_PORTS) * PORT_STRIDE;
        self.add(b, packets as u64);
        self.add(b + 1, bytes as u64);
    }
    /// `packets` frames of `bytes` bytes in all sent on `port`.
    #[inline]
    pub fn port_tx(&self, port: usize, packets: usize, bytes: usize) {
        let b = PORT_BASE + (port % MAX_PORTS) * PORT_STRIDE;
        self.add(b + 2, packets as u64);
        self.add(b + 3, bytes as u64);
    }
    /// A partial L4 checksum completed on a frame received on `port`.
    #[inline]
    pub fn port_csum(&self, port: usize) {
        self.add(PORT_BASE + (port % MAX_PORTS) * PORT_STRIDE + 4, 1);
        self.event(Event::CsumCompleted, 1);
    }
    /// `packets` frames of `bytes` bytes in all encapsulated toward `vtep`.
    #[inline]
    pub fn vtep_tx(&self, vtep: usize, packets: u64, bytes: u64) {
        let b = VTEP_BASE + (vtep % MAX_VTEPS) * VTEP_STRIDE;
        self.add(b, packets);
        self.add(b + 1, bytes);
    }
    /// `packets` frames received from `vtep` (decapsulated or dropped
    /// after its inner source was read).
    #[inline]
    pub fn vtep_rx(&self, vtep: usize, packets: u64) {
        self.add(VTEP_BASE + (vtep % MAX_VTEPS) * VTEP_STRIDE + 2, packets);
    }
    /// `packets` frames of `bytes` bytes in all sent through underlay next
    /// hop `hop` (its ECMP slot).
    #[inline]
    pub fn hop_tx(&self, hop: usize, packets: u64, bytes: u64) {
        let b = HOP_BASE + (hop % MAX_HOPS) * HOP_STRIDE;
        self.add(b, packets);
        self.add(b + 1, bytes);
    }
    /// (tx packets, tx bytes) through next hop `hop`.
    pub fn hop(&self, hop: usize) -> [u64; 2] {
        let b = HOP_BASE + hop * HOP_STRIDE;
        [self.get(b), self.get(b + 1)]
    }
    pub fn drops(&self, d: Drop) -> u64 {
        self.get(d as usize)
    }
    pub fn events(&self, e: Event) -> u64 {
        self.get(N_DROPS + e as usize)
    }
    /// (rx packets, rx bytes, tx packets, tx bytes)
    pub fn port(&self, port: usize) -> [u64; 4] {
        let b = PORT_BASE + port * PORT_STRIDE;
        [
            self.get(b),
            self.get(b + 1),
            self.get(b + 2),
            self.get(b + 3),
        ]
    }
    /// Partial checksums completed on frames received on `port`.
    pub fn port_csum_completed(&self, port: usize) -> u64 {
        self.get(PORT_BASE + port * PORT_STRIDE + 4)
    }
    /// (tx packets, tx bytes, rx packets)
    pub fn vtep(&self, vtep: usize) -> [u64; 3] {
        let b = VTEP_BASE + vtep * VTEP_STRIDE;
        [self.get(b), self.get(b + 1), self.get(b + 2)]
    }
}

/// The counts a worker makes for nearly every frame, kept in locals for a
/// batch and added to its [`Counters`] once, by [`Tally::publish`] (also on
/// drop): the encap and decap events, and per-VTEP and per-next-hop traffic
/// as runs (consecutive frames to one VTEP or next hop are one count). Port RX and TX are
/// counted per batch and per send by the worker and the backends. Rare
/// events and drops go straight to the counters, which the tally derefs to.
///
/// Why: seven counter adds per frame (load and store each, to three cache
/// lines) cost about a fifth of a 64-byte frame's pipeline time; with the
/// tally (a compare and one add per encapsulated frame) all of a worker's
/// counting costs a few per cent of the real path (`cargo bench -p bench
/// --bench pipeline -- stats/paired`). `vxctl stats` lags by at most one
/// batch.
///
/// Thread safety: one per worker thread, on its stack; not shared.
///
/// `ON` is true in the switch. A `Tally<false>` counts nothing a frame
/// makes in steady state (its methods are empty, so the worker's code
/// compiled with it has no counting left in the frame loop); it exists so
/// that a bench can time the worker's real code with and without its
/// counting (`stats/paired_*`). Drops and rare events still reach
/// the counters through `Deref`.
pub struct Tally<'c, const ON: bool = true> {
    ctr: &'c Counters,
    /// Frames encapsulated since the last publish (`encap.packets`) and
    /// their bytes, packed as a [`Run`]'s sum is: what a VTEP TX run is
    /// measured from.
    encap: u64,
    decap: u64,
    vtep_tx: Mark,
    vtep_rx: Run,
    hop_tx: Run,
}

/// The VTEP TX run: its VTEP and the tally's `encap` total when it began.
/// Every encapsulated frame is counted in that total, so a frame costs a
/// compare and one add, and the run's traffic is what the total grew by
/// since the mark.
#[derive(Clone, Copy)]
struct Mark {
    idx: usize,
    at: u64,
}

impl Mark {
    const START: Mark = Mark {
        idx: usize::MAX,
        at: 0,
    };
}

/// Consecutive frames counted against one index (a VTEP, a next hop):
/// packets and bytes packed in one word, packets from bit [`PACKET_SHIFT`]
/// up, so counting a frame is one add. A tally is published after every
/// batch, so a run holds at most a batch's frames (and their flood copies
/// and fragments): far below 2^24 packets and 2^40 bytes.
#[derive(Clone, Copy)]
struct Run {
    idx: usize,
    sum: u64,
}

const PACKET_SHIFT: u32 = 40;

impl Run {
    const NONE: Run = Run {
        idx: usize::MAX,
        sum: 0,
    };

    fn packets(self) -> u64 {
        self.sum >> PACKET_SHIFT
    }

    fn bytes(self) -> u64 {
        self.sum & ((1 << PACKET_SHIFT) - 1)
    }

    #[inline(always)]
    fn add(&mut self, idx: usize, bytes: u64, flush: impl FnOnce(Run)) {
        if idx != self.idx {
            self.restart(idx, flush);
        }
        self.sum += (1 << PACKET_SHIFT) | bytes;
    }

    /// Ends the run (see `take`) and starts an empty one for `idx`. Out of
    /// line: in steady state runs are long, and the caller's loop keeps its
    /// registers for the frames.
    #[cold]
    #[inline(never)]
    fn restart(&mut self, idx: usize, flush: impl FnOnce(Run)) {
        self.take(flush);
        self.idx = idx;
    }

    /// Hands the run to `flush` (when it counted anything) and empties it.
    #[inline]
    fn take(&mut self, flush: impl FnOnce(Run)) {
        if self.sum != 0 {
            flush(*self);
        }
        *self = Run::NONE;
    }
}

impl<'c> Tally<'c> {
    pub fn new(ctr: &'c Counters) -> Tally<'c> {
        Tally::build(ctr)
    }
}

impl<'c, const ON: bool> Tally<'c, ON> {
    /// [`Tally::new`], or with `ON` false one that counts nothing per frame
    /// (benches only: see the type).
    pub fn build(ctr: &'c Counters) -> Tally<'c, ON> {
        Tally {
            ctr,
            encap: 0,
            decap: 0,
            vtep_tx: Mark::START,
            vtep_rx: Run::NONE,
            hop_tx: Run::NONE,
        }
    }

    /// The counters this tally adds to.
    pub fn counters(&self) -> &'c Counters {
        self.ctr
    }

    /// A frame of `bytes` encapsulated toward `vtep` (`encap.packets` and
    /// the VTEP's tx).
    #[inline(always)]
    pub fn encapped(&mut self, vtep: usize, bytes: usize) {
        if !ON {
            return;
        }
        if vtep != self.vtep_tx.idx {
            self.new_vtep_run(vtep);
        }
        self.encap += (1 << PACKET_SHIFT) | bytes as u64;
    }

    /// Ends the VTEP TX run and marks the start of one toward `vtep`. Out
    /// of line, as for [`Run`]'s.
    #[cold]
    #[inline(never)]
    fn new_vtep_run(&mut self, vtep: usize) {
        self.end_vtep_run();
        self.vtep_tx.idx = vtep;
    }

    /// Counts the VTEP TX run's traffic (what the total grew by since its
    /// mark) and marks the total as it is now, for no VTEP.
    #[inline]
    fn end_vtep_run(&mut self) {
        let m = self.vtep_tx;
        let run = Run {
            idx: m.idx,
            sum: self.encap - m.at,
        };
        if run.sum != 0 {
            self.ctr.vtep_tx(run.idx, run.packets(), run.bytes());
        }
        self.vtep_tx = Mark {
            idx: usize::MAX,
            at: self.encap,
        };
    }

    /// A frame of `bytes` sent through next hop `hop`.
    #[inline]
    pub fn hop_tx(&mut self, hop: usize, bytes: usize) {
        if !ON {
            return;
        }
        let ctr = self.ctr;
        self.hop_tx.add(hop, bytes as u64, |r| {
            ctr.hop_tx(r.idx, r.packets(), r.bytes())
        });
    }

    /// A frame received from remote VTEP `vtep` (forwarded or not).
    #[inline]
    pub fn vtep_rx(&mut self, vtep: usize) {
        if !ON {
            return;
        }
        let ctr = self.ctr;
        self.vtep_rx
            .add(vtep, 0, |r| ctr.vtep_rx(r.idx, r.packets()));
    }

    /// A frame decapsulated (`decap.packets`).
    #[inline]
    pub fn decapped(&mut self) {
        if ON {
            self.decap += 1;
        }
    }

    /// `packets` frames of `bytes` bytes in all received on `port` (straight
    /// to the counters: once per batch).
    #[inline(always)]
    pub fn port_rx(&self, port: usize, packets: usize, bytes: usize) {
        if ON {
            self.ctr.port_rx(port, packets, bytes);
        }
    }

    /// Adds what the tally holds to the counters and starts again from zero.
    pub fn publish(&mut self) {
        if !ON {
            return;
        }
        let ctr = self.ctr;
        self.end_vtep_run();
        if self.encap > 0 {
            ctr.event(Event::Encap, self.encap >> PACKET_SHIFT);
        }
        (self.encap, self.vtep_tx) = (0, Mark::START);
        if self.decap > 0 {
            ctr.event(Event::Decap, std::mem::take(&mut self.decap));
        }
        self.vtep_rx.take(|r| ctr.vtep_rx(r.idx, r.packets()));
        self.hop_tx
            .take(|r| ctr.hop_tx(r.idx, r.packets(), r.bytes()));
    }
}

impl<const ON: bool> std::ops::Deref for Tally<'_, ON> {
    type Target = Counters;
    fn deref(&self) -> &Counters {
        self.ctr
    }
}

impl<const ON: bool> std::ops::Drop for Tally<'_, ON> {
    fn drop(&mut self) {
        self.publish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_unique_and_grouped() {
        let mut names: Vec<&str> = Drop::ALL.iter().map(|d| d.name()).collect();
        names.extend(Event::ALL.iter().map(|e| e.name()));
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n, "a counter name is used twice");
        assert!(
            names.iter().all(|s| s.split('.').count() == 2),
            "names are stage.reason"
        );
    }

    #[test]
    fn counts_land_where_read() {
        let c = Counters::default();
        c.drop(Drop::UnknownVni, 2);
        c.event(Event::Decap, 5);
        c.port_rx(3, 1, 100);
        c.port_tx(3, 1, 60);
        c.vtep_tx(9, 1, 150);
        c.vtep_rx(9, 1);
        assert_eq!(c.drops(Drop::UnknownVni), 2);
        assert_eq!(c.drops(Drop::Truncated), 0);
        assert_eq!(c.events(Event::Decap), 5);
        assert_eq!(c.port(3), [1, 100, 1, 60]);
        assert_eq!(c.vtep(9), [1, 150, 1]);
    }

    #[test]
    fn tally_adds_every_frame_once_published() {
        let c = Counters::default();
        let mut t = Tally::new(&c);
        // Runs: 3 to VTEP 1, 1 to VTEP 2, 2 to VTEP 1 again.
        for (v, bytes) in [(1, 100), (1, 100), (1, 100), (2, 50), (1, 10), (1, 10)] {
            t.encapped(v, bytes);
            t.hop_tx(v + 10, bytes);
        }
        for v in [4, 4, 5] {
            t.vtep_rx(v);
        }
        for _ in 0..4 {
            t.decapped();
        }
        // A finished run is already counted; the current one waits.
        assert_eq!(c.vtep(1), [3, 300, 0]);
        assert_eq!(c.events(Event::Encap), 0, "counted in locals until publish");
        t.publish();
        assert_eq!(c.vtep(1), [5, 320, 0]);
        assert_eq!(c.vtep(2), [1, 50, 0]);
        assert_eq!(c.hop(11), [5, 320]);
        assert_eq!(c.hop(12), [1, 50]);
        assert_eq!(c.vtep(4), [0, 0, 2]);
        assert_eq!(c.vtep(5), [0, 0, 1]);
        assert_eq!(c.events(Event::Encap), 6);
        assert_eq!(c.events(Event::Decap), 4);
        // Publishing twice adds nothing; dropping the tally publishes.
        t.publish();
        t.encapped(2, 7);
        drop(t);
        assert_eq!(c.vtep(2), [2, 57, 0]);
        assert_eq!(c.events(Event::Encap), 7);
        // Far more than a batch of the largest frames is counted exactly.
        let mut t = Tally::new(&c);
        for _ in 0..100_000 {
            t.encapped(3, 65_535);
        }
        t.publish();
        assert_eq!(c.vtep(3), [100_000, 6_553_500_000, 0]);
        assert_eq!(c.events(Event::Encap), 100_007);
    }

    #[test]
    fn rate_limit_refills_each_second_up_to_the_rate() {
        let r = RateLimit::new(3);
        let takes = |now: u32, n: usize| (0..n).filter(|_| r.take(now)).count();
        assert_eq!(takes(0, 5), 3, "starts full");
        assert_eq!(takes(0, 5), 0, "then empty for the rest of the second");
        assert_eq!(takes(1, 5), 3, "full again the next second");
        assert_eq!(
            takes(9, 5),
            3,
            "an idle spell does not bank more than the rate"
        );
        assert_eq!(takes(8, 5), 0, "a clock that steps back refills nothing");
        let r = RateLimit::new(0);
        assert!(!r.take(0) && !r.take(100), "rate 0: never");
    }
}
