//! Shared set-up for the vxswitch criterion benches (`cargo bench -p bench`):
//! the switch under test ([`Rig`]: a running [`State`] built from
//! [`CONFIG`], an [`Fdb`] and real [`Counters`]), frame builders for inner
//! and VXLAN-encapsulated frames, and a small deterministic RNG for keys.
//!
//! Nothing here is timed; the benches build what they need with these
//! functions before criterion's timed loop starts. Every bench runs on the
//! in-memory port (no sockets, no kernel): the figures are compute-only.
//!
//! ```text
//!                 remote VTEPs 198.18.0.2 .. 198.18.0.9 (on-link neighbours)
//!                 remote VTEP  198.18.1.1 (off-subnet: via 4 ECMP next hops)
//!                                   |
//!                      port 0 "ul" 02:00:00:00:01:01
//!                   vxswitch, VTEP 198.18.0.1, uplink MTU 1600
//!              /              |               |              \
//!       port 1 p100a    port 2 p100b    port 3 p200     port 4 p300
//!         VNI 100         VNI 100         VNI 200         VNI 300
//!
//!  VNI 100 floods to .2 and .3, VNI 200 to the eight VTEPs .2 .. .9,
//!  VNI 300 to 198.18.1.1.
//! ```
//!
//! The uplink MTU is 1600 so that a 1,500-byte inner frame still fits after
//! the 50-byte encapsulation. Addresses come from the RFC 2544 benchmarking
//! range, as DESIGN.md asks.

use std::net::Ipv4Addr;

use etherparse::PacketBuilder;
use vxswitch::config::Config;
use vxswitch::fdb::{Dest, Fdb};
use vxswitch::port::arena::HEAD_ROOM;
use vxswitch::port::mem::FRAME_SIZE;
use vxswitch::port::{adjust_start, prefetch_headers, Backend, FrameAccounting, PortSpec};
use vxswitch::state::{State, UplinkInfo};
use vxswitch::stats::{Counters, Drop, Tally};
use vxswitch::wire::Mac;
use vxswitch::worker::{self, BusyClock};

/// Frames per batch, as the worker takes them from a ring.
pub const BATCH: usize = vxswitch::worker::BATCH;

/// The switch's configuration for every bench (see the module docs).
pub const CONFIG: &str = r#"
[underlay]
vtep = "198.18.0.1"
udp_port = 4789
mtu = 1600
next_hops = ["02:00:00:00:fe:01", "02:00:00:00:fe:02", "02:00:00:00:fe:03", "02:00:00:00:fe:04"]

[[underlay.neighbor]]
ip = "198.18.0.2"
mac = "02:00:00:00:01:02"
[[underlay.neighbor]]
ip = "198.18.0.3"
mac = "02:00:00:00:01:03"
[[underlay.neighbor]]
ip = "198.18.0.4"
mac = "02:00:00:00:01:04"
[[underlay.neighbor]]
ip = "198.18.0.5"
mac = "02:00:00:00:01:05"
[[underlay.neighbor]]
ip = "198.18.0.6"
mac = "02:00:00:00:01:06"
[[underlay.neighbor]]
ip = "198.18.0.7"
mac = "02:00:00:00:01:07"
[[underlay.neighbor]]
ip = "198.18.0.8"
mac = "02:00:00:00:01:08"
[[underlay.neighbor]]
ip = "198.18.0.9"
mac = "02:00:00:00:01:09"

[[vni]]
id = 100
flood = ["198.18.0.2", "198.18.0.3"]

[[vni]]
id = 200
flood = ["198.18.0.2", "198.18.0.3", "198.18.0.4", "198.18.0.5",
         "198.18.0.6", "198.18.0.7", "198.18.0.8", "198.18.0.9"]

[[vni]]
id = 300
flood = ["198.18.1.1"]

[[port]]
name = "p100a"
vni = 100

[[port]]
name = "p100b"
vni = 100

[[port]]
name = "p200"
vni = 200

[[port]]
name = "p300"
vni = 300
"#;

/// The uplink's MAC.
pub const UPLINK_MAC: Mac = [2, 0, 0, 0, 1, 1];
/// Our VTEP address.
pub const VTEP_LOCAL: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
/// The remote VTEP that the access -> uplink and uplink -> access benches use.
pub const VTEP_REMOTE: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
/// Its MAC (an on-link neighbour).
pub const VTEP_REMOTE_MAC: Mac = [2, 0, 0, 0, 1, 2];
/// A remote VTEP off the uplink subnet: reached through the ECMP next hops.
pub const VTEP_ROUTED: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 1);
/// VXLAN UDP port.
pub const VXLAN_PORT: u16 = 4789;

/// Port indexes (port 0 is the uplink).
pub const UL: u16 = 0;
pub const P100A: u16 = 1;
pub const P100B: u16 = 2;
pub const P200: u16 = 3;
pub const P300: u16 = 4;

/// The switch under test: running state, FDB and one worker's counters.
pub struct Rig {
    pub state: State,
    pub fdb: Fdb,
    pub ctr: Counters,
}

impl Rig {
    /// The switch of [`CONFIG`] with an FDB of `fdb_capacity` entries.
    pub fn new(fdb_capacity: usize) -> Rig {
        let config = Config::parse(CONFIG, "bench.toml").expect("bench config is valid");
        let uplink = UplinkInfo {
            name: "ul".into(),
            mac: UPLINK_MAC,
            ipv4: None,
            mtu: 1600,
        };
        let state = State::build(&config, &uplink, true).expect("bench config runs");
        Rig {
            state,
            fdb: Fdb::new(fdb_capacity),
            ctr: Counters::default(),
        }
    }

    /// The BD of `vni`.
    pub fn bd(&self, vni: u32) -> u16 {
        self.state.bd_of_vni(vni).expect("VNI is configured")
    }

    /// The VTEP index of `ip`.
    pub fn vtep(&self, ip: Ipv4Addr) -> u16 {
        self.state.vtep_of_ip(ip).expect("VTEP is in a flood list")
    }

    /// Learns the [`BATCH`] local hosts of [`local_host`] on `port` and the
    /// remote hosts of [`remote_host`] behind [`VTEP_REMOTE`], in `vni`, at
    /// time `now`: after this, both directions of the benches' traffic hit.
    pub fn learn_hosts(&self, vni: u32, port: u16, now: u32) {
        let bd = self.bd(vni);
        let v = self.vtep(VTEP_REMOTE);
        for i in 0..BATCH {
            self.fdb.learn(bd, &local_host(i), Dest::Port(port), now);
            self.fdb.learn(bd, &remote_host(i), Dest::Vtep(v), now);
        }
    }

    /// Fills `vni`'s ARP suppression table with `n` entries: [`remote_ip`]
    /// `i` owned by [`remote_host`] `i`, for `i` in `0..n`.
    pub fn fill_arp(&mut self, vni: u32, n: usize) {
        let bd = usize::from(self.bd(vni));
        let mut arp: Vec<(u32, Mac)> = (0..n)
            .map(|i| (u32::from(remote_ip(i)), remote_host(i)))
            .collect();
        arp.sort_unstable();
        self.state.bds[bd].arp = arp;
    }
}

/// Local host `i` (behind an access port).
pub fn local_host(i: usize) -> Mac {
    [2, 0, 0, 0x10, (i >> 8) as u8, i as u8]
}

/// Remote host `i` (behind a remote VTEP).
pub fn remote_host(i: usize) -> Mac {
    [2, 0, 0, 0x20, (i >> 8) as u8, i as u8]
}

/// Overlay address of local host `i` (`i` < 32,768): 198.19.0.0/17.
pub fn local_ip(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(198, 19, (i >> 8) as u8, i as u8)
}

/// Overlay address of remote host `i` (`i` < 32,768): 198.19.128.0/17.
pub fn remote_ip(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(198, 19, 128 | (i >> 8) as u8, i as u8)
}

/// A 42-byte Ethernet/IPv4 ARP request, broadcast: who has `tpa`? Tell
/// `spa` at `sha`.
#[rustfmt::skip]
pub fn arp_request(sha: Mac, spa: Ipv4Addr, tpa: Ipv4Addr) -> Vec<u8> {
    let mut f = Vec::with_capacity(42);
    f.extend_from_slice(&[0xff; 6]);          // Ethernet destination: broadcast
    f.extend_from_slice(&sha);                // Ethernet source
    f.extend_from_slice(&[0x08, 0x06]);       // EtherType ARP
    f.extend_from_slice(&[0x00, 0x01]);       // HTYPE Ethernet
    f.extend_from_slice(&[0x08, 0x00]);       // PTYPE IPv4
    f.extend_from_slice(&[6, 4]);             // HLEN, PLEN
    f.extend_from_slice(&[0x00, 0x01]);       // OPER request
    f.extend_from_slice(&sha);                // SHA
    f.extend_from_slice(&spa.octets());       // SPA
    f.extend_from_slice(&[0; 6]);             // THA: unknown
    f.extend_from_slice(&tpa.octets());       // TPA
    f
}

/// An inner Ethernet + IPv4 + UDP frame of exactly `len` bytes (at least 42)
/// from `src` to `dst`, UDP source port `sport`.
pub fn inner_udp(src: Mac, dst: Mac, sport: u16, len: usize) -> Vec<u8> {
    assert!(len >= 42, "Ethernet + IPv4 + UDP headers take 42 bytes");
    let b = PacketBuilder::ethernet2(src, dst)
        .ipv4([198, 19, 0, src[5]], [198, 19, 1, dst[5]], 64)
        .udp(sport, 5000);
    let payload = vec![0x5a; len - 42];
    let mut v = Vec::with_capacity(len);
    b.write(&mut v, &payload).expect("writing to a Vec");
    debug_assert_eq!(v.len(), len);
    v
}

/// A VXLAN-in-IPv4 frame from remote VTEP `from` (sent from `from_mac`) to
/// our VTEP, in `vni`, carrying `inner`.
pub fn vxlan_frame(from: Ipv4Addr, from_mac: Mac, vni: u32, sport: u16, inner: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(from_mac, UPLINK_MAC)
        .ipv4(from.octets(), VTEP_LOCAL.octets(), 64)
        .udp(sport, VXLAN_PORT);
    let v = vni.to_be_bytes();
    let mut payload = vec![0x08, 0, 0, 0, v[1], v[2], v[3], 0];
    payload.extend_from_slice(inner);
    let mut f = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut f, &payload).expect("writing to a Vec");
    f
}

/// The [`BATCH`] inner frames of `len` bytes from local host `i` to remote
/// host `i` (access -> uplink traffic), one flow each.
pub fn access_batch(len: usize) -> Vec<Vec<u8>> {
    (0..BATCH)
        .map(|i| inner_udp(local_host(i), remote_host(i), 40000 + i as u16, len))
        .collect()
}

/// The [`BATCH`] VXLAN frames from [`VTEP_REMOTE`] in `vni`, each carrying
/// an inner frame of `inner_len` bytes from remote host `i` to local host `i`
/// (uplink -> access traffic).
pub fn uplink_batch(vni: u32, inner_len: usize) -> Vec<Vec<u8>> {
    (0..BATCH)
        .map(|i| {
            let inner = inner_udp(remote_host(i), local_host(i), 40000 + i as u16, inner_len);
            vxlan_frame(VTEP_REMOTE, VTEP_REMOTE_MAC, vni, 49152 + i as u16, &inner)
        })
        .collect()
}

/// The [`BATCH`] ARP requests from local host `i` for the address of remote
/// host `i * stride % n`: with [`Rig::fill_arp`]`(vni, n)`, every one is in
/// the table, and the lookups spread over it.
pub fn arp_batch(stride: usize, n: usize) -> Vec<Vec<u8>> {
    (0..BATCH)
        .map(|i| arp_request(local_host(i), local_ip(i), remote_ip(i * stride % n)))
        .collect()
}

/// A port backend over one batch of pre-made frames, for timing the
/// worker's own code with nothing else around it: [`Staged::batch`] is what
/// `worker::run` does per port and iteration (`rx`,
/// `worker::forward_batch` with a [`Tally`], `flush`, `publish`), and the
/// flush counts what was sent per port, once, as the AF_XDP backend's send
/// does. There are no rings: `rx` hands out the staged frames (once per
/// [`Staged::restore`]) and `tx` only notes where each went.
///
/// No allocation after [`Staged::new`]. It has no spare frames: a path that
/// clones (flood) or allocates (fragments) gets none, counted as
/// `tx.no_frame`; the benches check where their frames went before timing.
///
/// `COUNT` false ([`Staged::uncounted`]) is the same worker code with its
/// steady-state counting taken out: a `Tally<false>`, no bytes summed or
/// counted at the flush, no busy-cycle clock. What is left to count is
/// what a frame in steady state never triggers (drops, learning changes).
/// `stats/paired_*` times the two in turn.
pub struct Staged<const COUNT: bool = true> {
    frames: Frames,
    in_port: usize,
    received: bool,
    /// Frames queued per port since the last flush, as the AF_XDP
    /// backend's pending queues hold them (room for a batch each, reserved
    /// up front).
    queued: Vec<Vec<StagedDesc>>,
    /// Frames sent per port since [`Staged::new`].
    sent: Vec<usize>,
    busy: BusyClock,
}

/// A batch of frame-sized buffers (`port::mem::FRAME_SIZE`, a UMEM
/// chunk's data area), each after `head` bytes of room (a UMEM chunk's XDP
/// headroom, where encap writes the outer headers when it moves a frame's
/// start), and the templates they are restored from.
pub struct Frames {
    /// Each the room, then the frame (`buf[head..]`).
    pub bufs: Vec<Box<[u8]>>,
    pub lens: Vec<usize>,
    /// Bytes of room before each frame.
    pub head: usize,
    templates: Vec<Vec<u8>>,
}

impl Frames {
    /// Buffers holding copies of `templates`, with no room before them.
    pub fn new(templates: Vec<Vec<u8>>) -> Frames {
        Frames::with_head(templates, 0)
    }

    /// Buffers holding copies of `templates`, `head` bytes in.
    pub fn with_head(templates: Vec<Vec<u8>>, head: usize) -> Frames {
        let mut f = Frames {
            bufs: templates
                .iter()
                .map(|_| vec![0u8; head + FRAME_SIZE].into_boxed_slice())
                .collect(),
            lens: vec![0; templates.len()],
            head,
            templates,
        };
        f.restore();
        f
    }

    /// Copies the templates back over whatever the buffers hold now.
    pub fn restore(&mut self) {
        for ((buf, len), t) in self
            .bufs
            .iter_mut()
            .zip(&mut self.lens)
            .zip(&self.templates)
        {
            buf[self.head..self.head + t.len()].copy_from_slice(t);
            *len = t.len();
        }
    }
}

impl Staged {
    /// `templates` staged to arrive on `in_port` of a switch with `n_ports`.
    pub fn new(templates: Vec<Vec<u8>>, in_port: u16, n_ports: usize) -> Staged {
        Staged::make(templates, in_port, n_ports)
    }
}

impl Staged<false> {
    /// As [`Staged::new`], counting nothing in steady state (see the type).
    pub fn uncounted(templates: Vec<Vec<u8>>, in_port: u16, n_ports: usize) -> Staged<false> {
        Staged::make(templates, in_port, n_ports)
    }
}

impl<const COUNT: bool> Staged<COUNT> {
    fn make(templates: Vec<Vec<u8>>, in_port: u16, n_ports: usize) -> Staged<COUNT> {
        Staged {
            frames: Frames::with_head(templates, HEAD_ROOM),
            in_port: usize::from(in_port),
            received: false,
            queued: (0..n_ports).map(|_| Vec::with_capacity(BATCH)).collect(),
            sent: vec![0; n_ports],
            busy: BusyClock::new(),
        }
    }

    /// Puts the original frames back, ready to be received again.
    pub fn restore(&mut self) {
        self.frames.restore();
        self.received = false;
    }

    /// One worker iteration over the staged batch, as `worker::run` does
    /// it: start the busy clock, receive, forward, flush, publish the
    /// tally, tell the busy clock what moved. Never inlined: each variant
    /// is one function with its frame loop in it, as the worker's is.
    #[inline(never)]
    pub fn batch(&mut self, rig: &Rig, now: u32) {
        let mut rxd = [StagedDesc::default(); BATCH];
        let port = self.in_port;
        if COUNT {
            self.busy.start();
        }
        let n = self.rx(port, &mut rxd);
        // A new tally per batch is the worker's after its publish.
        let mut t = Tally::<COUNT>::build(&rig.ctr);
        worker::forward_batch(
            self,
            &rig.state,
            &rig.fdb,
            port as u16,
            &rxd[..n],
            now,
            &mut t,
        );
        self.flush(&rig.ctr);
        t.publish();
        if COUNT {
            self.busy.moved(&rig.ctr, n, n == BATCH);
        }
    }

    /// Frames sent on `port` so far.
    pub fn sent(&self, port: u16) -> usize {
        self.sent[usize::from(port)]
    }
}

/// A staged frame: its buffer's index, its length and where it starts in
/// its buffer, which travel with the descriptor as an AF_XDP descriptor's
/// do (so reading them is no lookup).
#[derive(Clone, Copy, Default)]
pub struct StagedDesc {
    idx: u32,
    len: u32,
    start: u32,
}

impl<const COUNT: bool> Backend for Staged<COUNT> {
    type Desc = StagedDesc;

    fn n_ports(&self) -> usize {
        self.sent.len()
    }
    fn open_port(&mut self, _slot: usize, _spec: &PortSpec) -> Result<(), String> {
        Err("the staged backend has fixed ports".into())
    }
    fn close_port(&mut self, _slot: usize) {}
    fn rx(&mut self, port: usize, out: &mut [StagedDesc]) -> usize {
        if port != self.in_port || self.received {
            return 0;
        }
        self.received = true;
        let n = out.len().min(self.frames.bufs.len());
        for (i, d) in out[..n].iter_mut().enumerate() {
            *d = StagedDesc {
                idx: i as u32,
                len: self.frames.lens[i] as u32,
                start: self.frames.head as u32,
            };
        }
        n
    }
    #[inline(always)]
    fn len(&self, d: &StagedDesc) -> usize {
        d.len as usize
    }
    #[inline(always)]
    fn prefetch(&self, d: &StagedDesc) {
        // As the AF_XDP backend's: here the frames are in cache already,
        // so this measures what the hints cost, not what they save.
        prefetch_headers(self.frames.bufs[d.idx as usize][d.start as usize..].as_ptr());
    }
    #[inline(always)]
    fn adjust_head(&mut self, d: &mut StagedDesc, delta: isize) -> bool {
        // As the AF_XDP backend's: within the buffer, keeping the end.
        adjust_start(&mut d.start, &mut d.len, delta)
    }
    #[inline(always)]
    fn with_frame<R>(
        &mut self,
        d: &mut StagedDesc,
        f: impl FnOnce(&mut [u8], &mut usize) -> R,
    ) -> R {
        let mut len = d.len as usize;
        let r = f(
            &mut self.frames.bufs[d.idx as usize][d.start as usize..],
            &mut len,
        );
        d.len = len as u32;
        r
    }
    fn clone_frame(&mut self, _src: &StagedDesc) -> Option<StagedDesc> {
        None
    }
    fn alloc_from(
        &mut self,
        _src: &StagedDesc,
        _fill: impl FnOnce(&[u8], &mut [u8]) -> usize,
    ) -> Option<StagedDesc> {
        None
    }
    fn tx(&mut self, port: usize, d: StagedDesc, ctr: &Counters) {
        match self.queued.get_mut(port) {
            Some(q) => q.push(d),
            None => ctr.drop(Drop::NoPort, 1),
        }
    }
    fn free(&mut self, _d: StagedDesc) {}
    fn flush(&mut self, ctr: &Counters) {
        // As the AF_XDP backend's send: bytes summed over the frames as
        // they go, packets and bytes counted once per port.
        for (port, q) in self.queued.iter_mut().enumerate() {
            if !q.is_empty() {
                if COUNT {
                    let bytes = q.iter().map(|d| d.len as usize).sum();
                    ctr.port_tx(port, q.len(), bytes);
                }
                self.sent[port] += q.len();
                q.clear();
            }
        }
    }
    fn frames(&self) -> FrameAccounting {
        let n = self.frames.bufs.len();
        FrameAccounting {
            total: n,
            free: if self.received { n } else { 0 },
            in_fill: if self.received { 0 } else { n },
            in_tx: 0,
        }
    }
}

/// SplitMix64: a fast deterministic generator for table keys. Not for
/// anything but benches.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A value in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// A random locally administered unicast MAC.
    pub fn mac(&mut self) -> Mac {
        let b = self.next_u64().to_le_bytes();
        [(b[0] & 0xfc) | 0x02, b[1], b[2], b[3], b[4], b[5]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vxswitch::pipeline::{access::access_rx, uplink::uplink_rx, Verdict};

    #[test]
    fn rig_forwards_both_directions() {
        let rig = Rig::new(1024);
        rig.learn_hosts(100, P100A, 1);
        let v = rig.vtep(VTEP_REMOTE);
        for mut f in access_batch(64) {
            assert_eq!(
                access_rx(&rig.state, &rig.fdb, P100A, &mut f, 1, &rig.ctr),
                Ok(Verdict::Vtep(v))
            );
        }
        let mut t = Tally::new(&rig.ctr);
        for f in uplink_batch(100, 1500) {
            let mut buf = f.clone();
            let mut len = buf.len();
            assert_eq!(
                uplink_rx(&rig.state, &rig.fdb, &mut buf, &mut len, 1, &mut t),
                Ok(Verdict::Port(P100A))
            );
            assert_eq!(len, 1500);
        }
    }

    #[test]
    fn staged_batch_forwards_and_counts_like_a_worker() {
        let rig = Rig::new(1024);
        rig.learn_hosts(100, P100A, 1);
        let v = usize::from(rig.vtep(VTEP_REMOTE));
        let n_ports = rig.state.ports.len();
        let mut s = Staged::new(access_batch(64), P100A, n_ports);
        for round in 1..=2 {
            s.batch(&rig, 1);
            let n = (BATCH * round) as u64;
            let out = 64 + vxswitch::state::ENCAP_LEN as u64;
            assert_eq!(s.sent(UL), BATCH * round);
            assert_eq!(rig.ctr.port(usize::from(P100A))[..2], [n, n * 64]);
            assert_eq!(rig.ctr.port(usize::from(UL))[2..], [n, n * out]);
            assert_eq!(rig.ctr.vtep(v)[..2], [n, n * out]);
            assert_eq!(rig.ctr.events(vxswitch::stats::Event::Encap), n);
            // Nothing until restored: the staged frames arrive once.
            s.batch(&rig, 1);
            assert_eq!(s.sent(UL), BATCH * round);
            s.restore();
        }
        let mut s = Staged::new(uplink_batch(100, 64), UL, n_ports);
        s.batch(&rig, 1);
        assert_eq!(s.sent(P100A), BATCH);
        assert_eq!(rig.ctr.events(vxswitch::stats::Event::Decap), BATCH as u64);
        assert_eq!(rig.ctr.vtep(v)[2], BATCH as u64);
    }

    #[test]
    fn rig_answers_the_arp_batch() {
        let mut rig = Rig::new(1024);
        rig.learn_hosts(100, P100A, 1);
        rig.fill_arp(100, 1024);
        for (i, mut f) in arp_batch(16, 1024).into_iter().enumerate() {
            assert_eq!(
                access_rx(&rig.state, &rig.fdb, P100A, &mut f, 1, &rig.ctr),
                Ok(Verdict::Port(P100A))
            );
            assert_eq!(&f[..6], &local_host(i), "to the requester");
            assert_eq!(&f[6..12], &remote_host(i * 16 % 1024), "from the owner");
        }
    }
}
