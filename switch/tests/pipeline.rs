//! Pipeline tests: real frames through the real pipeline (`worker::forward`)
//! on the in-memory backend, asserting both the frames that come out of each
//! port and the counter deltas.
//!
//! ```text
//!        198.18.0.2 02:00:00:00:01:02      198.18.0.3 02:00:00:00:01:03
//!                   \                          /
//!                    +---- underlay 198.18.0.0/24 ----+
//!                                   |
//!                       port 0 "ul" 02:00:00:00:01:01
//!                    vxswitch, VTEP 198.18.0.1, MTU 1500
//!                     /             |              \
//!             port 1 p100a    port 2 p100b    port 3 p200
//!               VNI 100         VNI 100         VNI 200
//!
//!  VNI 100 floods to .2 and .3, VNI 200 to .2, VNI 300 to .2 (no local port).
//! ```

use std::net::Ipv4Addr;

use etherparse::{
    EtherType, Ethernet2Header, Icmpv4Type, Icmpv6Type, IpNumber, Ipv4Header, LinkSlice, NetSlice,
    PacketBuilder, SlicedPacket, TcpOptionElement, TransportSlice, UdpHeader,
};
use proptest::prelude::*;
use vxswitch::config::Config;
use vxswitch::fdb::{Dest, Fdb};
use vxswitch::port::arena::ArenaDesc;
use vxswitch::port::mem::MemBackend;
use vxswitch::port::Backend;
use vxswitch::state::{State, UplinkInfo};
use vxswitch::stats::{Counters, Drop, Event, Tally};
use vxswitch::worker;

const CONFIG: &str = r#"
[underlay]
vtep = "198.18.0.1"
udp_port = 4789
mtu = 1500

[[underlay.neighbor]]
ip = "198.18.0.2"
mac = "02:00:00:00:01:02"

[[underlay.neighbor]]
ip = "198.18.0.3"
mac = "02:00:00:00:01:03"

[[vni]]
id = 100
flood = ["198.18.0.2", "198.18.0.3"]

[[vni]]
id = 200
flood = ["198.18.0.2"]

[[vni]]
id = 300
flood = ["198.18.0.2"]

[[port]]
name = "p100a"
vni = 100

[[port]]
name = "p100b"
vni = 100

[[port]]
name = "p200"
vni = 200
"#;

const UPLINK_MAC: [u8; 6] = [2, 0, 0, 0, 1, 1];
const VTEP1: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const VTEP2: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
const VTEP3: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 3);
const VTEP2_MAC: [u8; 6] = [2, 0, 0, 0, 1, 2];
const VTEP3_MAC: [u8; 6] = [2, 0, 0, 0, 1, 3];
const VXLAN_PORT: u16 = 4789;

const UL: usize = 0;
const P100A: usize = 1;
const P100B: usize = 2;
const P200: usize = 3;

/// Hosts: A behind p100a, B behind p100b, C behind p200, X and Z behind remote VTEPs.
const MAC_A: [u8; 6] = [2, 0, 0, 0, 0x10, 0x0a];
const MAC_B: [u8; 6] = [2, 0, 0, 0, 0x10, 0x0b];
const MAC_C: [u8; 6] = [2, 0, 0, 0, 0x10, 0x0c];
const MAC_X: [u8; 6] = [2, 0, 0, 0, 0x20, 0x01];
const MAC_Z: [u8; 6] = [2, 0, 0, 0, 0x20, 0x02];
const MAC_UNKNOWN: [u8; 6] = [2, 0, 0, 0, 0x30, 0x01];
const BROADCAST: [u8; 6] = [0xff; 6];

/// Outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8.
const ENCAP: usize = 50;
const OUTER_IP: usize = 14;
const OUTER_UDP: usize = 34;
const OUTER_VXLAN: usize = 42;

// ---------------------------------------------------------------------------
// The switch under test.

struct Switch {
    state: State,
    fdb: Fdb,
    ctr: Counters,
    b: MemBackend,
    now_secs: u32,
}

impl Switch {
    fn new() -> Switch {
        Switch::from_config(CONFIG, UPLINK_MAC, true, 256)
    }

    fn from_config(text: &str, mac: [u8; 6], answer_arp: bool, frames: usize) -> Switch {
        Switch::build(text, mac, answer_arp, frames, true)
    }

    /// `moves`: whether the port moves a frame's start for encap and decap
    /// (`Backend::adjust_head`), as AF_XDP does, or the pipeline moves the
    /// frame's bytes (`MemBackend::fixed_start`).
    fn build(text: &str, mac: [u8; 6], answer_arp: bool, frames: usize, moves: bool) -> Switch {
        let config = Config::parse(text, "pipeline.toml").expect("test config is valid");
        let uplink = UplinkInfo {
            name: "ul".into(),
            mac,
            ipv4: None,
            mtu: 1500,
        };
        let state = State::build(&config, &uplink, answer_arp).expect("test config runs");
        let b = if moves {
            MemBackend::new(state.ports.len(), frames)
        } else {
            MemBackend::fixed_start(state.ports.len(), frames)
        };
        Switch {
            state,
            fdb: Fdb::new(1024),
            ctr: Counters::default(),
            b,
            now_secs: 1,
        }
    }

    fn inject(&mut self, port: usize, bytes: &[u8]) {
        assert!(self.b.inject(port, bytes), "no free frame to inject into");
    }

    /// One iteration of `worker::run`'s loop: a batch from every port, then
    /// one flush. Returns the number of frames received.
    fn batch(&mut self) -> usize {
        let mut rxd = [ArenaDesc::default(); worker::BATCH];
        let mut got = 0;
        let mut tally = Tally::new(&self.ctr);
        for port in 0..self.b.n_ports() {
            let n = self.b.rx(port, &mut rxd);
            got += n;
            worker::forward_batch(
                &mut self.b,
                &self.state,
                &self.fdb,
                port as u16,
                &rxd[..n],
                self.now_secs,
                &mut tally,
            );
        }
        self.b.flush(&self.ctr);
        tally.publish();
        got
    }

    /// Runs batches until every injected frame has been received.
    fn run(&mut self) {
        self.batch();
        while self.b.frames().in_fill > 0 {
            self.batch();
        }
    }

    /// Takes the output of every port.
    fn take_all(&mut self) -> Vec<Vec<Vec<u8>>> {
        (0..self.b.n_ports()).map(|p| self.b.take(p)).collect()
    }

    /// Injects, runs, and returns every port's output and the counter deltas.
    fn send(&mut self, port: usize, bytes: &[u8]) -> (Vec<Vec<Vec<u8>>>, Delta) {
        let before = self.snapshot();
        self.inject(port, bytes);
        self.run();
        let out = self.take_all();
        (out, self.snapshot().since(&before))
    }

    fn vtep(&self, ip: Ipv4Addr) -> usize {
        usize::from(self.state.vtep_of_ip(ip).expect("VTEP is in a flood list"))
    }

    fn snapshot(&self) -> Delta {
        Delta {
            drops: Drop::ALL.iter().map(|&d| self.ctr.drops(d)).collect(),
            events: Event::ALL.iter().map(|&e| self.ctr.events(e)).collect(),
            ports: (0..self.state.ports.len())
                .map(|p| self.ctr.port(p))
                .collect(),
            vteps: (0..self.state.vteps.len())
                .map(|v| self.ctr.vtep(v))
                .collect(),
        }
    }

    fn assert_frames_home(&self) {
        let f = self.b.frames();
        assert_eq!(f.in_fill, 0, "frames still queued: {f:?}");
        assert_eq!(f.free, f.total, "frames leaked: {f:?}");
    }
}

/// Counter values, or their change between two snapshots.
#[derive(Debug, Clone, PartialEq)]
struct Delta {
    drops: Vec<u64>,
    events: Vec<u64>,
    ports: Vec<[u64; 4]>,
    vteps: Vec<[u64; 3]>,
}

impl Delta {
    fn since(&self, before: &Delta) -> Delta {
        fn sub<const N: usize>(a: &[[u64; N]], b: &[[u64; N]]) -> Vec<[u64; N]> {
            a.iter()
                .zip(b)
                .map(|(x, y)| std::array::from_fn(|i| x[i] - y[i]))
                .collect()
        }
        Delta {
            drops: self
                .drops
                .iter()
                .zip(&before.drops)
                .map(|(a, b)| a - b)
                .collect(),
            events: self
                .events
                .iter()
                .zip(&before.events)
                .map(|(a, b)| a - b)
                .collect(),
            ports: sub(&self.ports, &before.ports),
            vteps: sub(&self.vteps, &before.vteps),
        }
    }
    fn drop(&self, d: Drop) -> u64 {
        self.drops[Drop::ALL.iter().position(|&x| x == d).expect("listed")]
    }
    fn event(&self, e: Event) -> u64 {
        self.events[Event::ALL.iter().position(|&x| x == e).expect("listed")]
    }
    fn all_drops(&self) -> u64 {
        self.drops.iter().sum()
    }
    fn rx(&self) -> u64 {
        self.ports.iter().map(|p| p[0]).sum()
    }
    fn tx(&self) -> u64 {
        self.ports.iter().map(|p| p[2]).sum()
    }
    /// Asserts exactly these drops (every other reason unchanged).
    fn assert_drops(&self, want: &[(Drop, u64)]) {
        for &d in Drop::ALL {
            let w = want.iter().find(|(x, _)| *x == d).map_or(0, |(_, n)| *n);
            assert_eq!(self.drop(d), w, "drop {}", d.name());
        }
    }
    /// Asserts these events (every other event unchanged).
    fn assert_events(&self, want: &[(Event, u64)]) {
        for &e in Event::ALL {
            let w = want.iter().find(|(x, _)| *x == e).map_or(0, |(_, n)| *n);
            assert_eq!(self.event(e), w, "event {}", e.name());
        }
    }
    /// Every frame ends in one place: each received frame, each flood copy
    /// and each fragment past a packet's first wanted (made, or dropped for
    /// want of a frame) is sent once or dropped once.
    fn assert_accounted(&self) {
        let more_fragments = self.event(Event::Fragments) - self.event(Event::Fragmented);
        assert_eq!(
            self.tx() + self.all_drops(),
            self.rx() + self.event(Event::FloodCopies) + more_fragments + self.drop(Drop::NoFrame),
            "tx + drops != rx + copies + fragments: {self:?}"
        );
    }
}

/// Asserts that only `port` sent frames, and returns them.
fn only_on(out: &[Vec<Vec<u8>>], port: usize) -> &[Vec<u8>] {
    for (p, frames) in out.iter().enumerate() {
        if p != port {
            assert!(frames.is_empty(), "port {p} sent {} frames", frames.len());
        }
    }
    &out[port]
}

fn assert_silent(out: &[Vec<Vec<u8>>]) {
    for (p, frames) in out.iter().enumerate() {
        assert!(frames.is_empty(), "port {p} sent {} frames", frames.len());
    }
}

// ---------------------------------------------------------------------------
// Frames.

fn udp_frame(src: [u8; 6], dst: [u8; 6], sport: u16, payload: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(src, dst)
        .ipv4([198, 19, 100, src[5]], [198, 19, 100, dst[5]], 64)
        .udp(sport, 5000);
    let mut v = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut v, payload).expect("writing to a Vec");
    v
}

fn tcp_frame(src: [u8; 6], dst: [u8; 6], sport: u16, payload: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(src, dst)
        .ipv4([198, 19, 100, src[5]], [198, 19, 100, dst[5]], 64)
        .tcp(sport, 80, 1, 65535);
    let mut v = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut v, payload).expect("writing to a Vec");
    v
}

fn icmp_frame(src: [u8; 6], dst: [u8; 6], seq: u16) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(src, dst)
        .ipv4([198, 19, 100, src[5]], [198, 19, 100, dst[5]], 64)
        .icmpv4_echo_request(7, seq);
    let mut v = Vec::new();
    b.write(&mut v, b"ping").expect("writing to a Vec");
    v
}

/// An inner frame of exactly `len` bytes (Ethernet + IPv4 + UDP + payload).
fn udp_frame_of_len(src: [u8; 6], dst: [u8; 6], len: usize) -> Vec<u8> {
    let f = udp_frame(src, dst, 1234, &vec![0x5a; len - 42]);
    assert_eq!(f.len(), len);
    f
}

/// An outer VXLAN frame from `from` to `to` with the 8-byte VXLAN header `vx`.
fn vxlan_raw(from: Ipv4Addr, to: Ipv4Addr, dport: u16, vx: [u8; 8], inner: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ethernet2([2, 0, 0, 0, 1, from.octets()[3]], UPLINK_MAC)
        .ipv4(from.octets(), to.octets(), 64)
        .udp(50000, dport);
    let mut payload = vx.to_vec();
    payload.extend_from_slice(inner);
    let mut v = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut v, &payload).expect("writing to a Vec");
    v
}

/// The VXLAN header: I flag, reserved zero, the VNI, reserved zero.
fn vx_header(vni: u32) -> [u8; 8] {
    let v = vni.to_be_bytes();
    [0x08, 0, 0, 0, v[1], v[2], v[3], 0]
}

/// A valid VXLAN frame from remote VTEP `from` to us.
fn vxlan(from: Ipv4Addr, vni: u32, inner: &[u8]) -> Vec<u8> {
    vxlan_raw(from, VTEP1, VXLAN_PORT, vx_header(vni), inner)
}

/// Recomputes the outer IPv4 header checksum (header at 14, its IHL long).
fn fix_ip_checksum(f: &mut [u8]) {
    let ihl = usize::from(f[OUTER_IP] & 0x0f) * 4;
    f[OUTER_IP + 10] = 0;
    f[OUTER_IP + 11] = 0;
    let c = ip_checksum(&f[OUTER_IP..(OUTER_IP + ihl).max(OUTER_UDP)]);
    f[OUTER_IP + 10..OUTER_IP + 12].copy_from_slice(&c.to_be_bytes());
}

/// RFC 1071 Internet checksum.
fn ip_checksum(b: &[u8]) -> u16 {
    let mut s: u32 = b
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

#[rustfmt::skip]
fn arp(op: u16, sha: [u8; 6], spa: Ipv4Addr, tpa: Ipv4Addr) -> Vec<u8> {
    let mut f = Vec::with_capacity(42);
    f.extend_from_slice(&BROADCAST);          // Ethernet destination
    f.extend_from_slice(&sha);                // Ethernet source
    f.extend_from_slice(&[0x08, 0x06]);       // EtherType ARP
    f.extend_from_slice(&[0x00, 0x01]);       // HTYPE Ethernet
    f.extend_from_slice(&[0x08, 0x00]);       // PTYPE IPv4
    f.extend_from_slice(&[6, 4]);             // HLEN, PLEN
    f.extend_from_slice(&op.to_be_bytes());   // OPER
    f.extend_from_slice(&sha);                // SHA
    f.extend_from_slice(&spa.octets());       // SPA
    f.extend_from_slice(&[0; 6]);             // THA
    f.extend_from_slice(&tpa.octets());       // TPA
    f
}

/// Checks every field of an encapsulated frame toward `vtep_ip`/`vtep_mac`
/// in `vni` carrying `inner`, as sent by switch `local` with MAC `local_mac`.
/// Returns the outer UDP source port.
fn check_outer_from(
    f: &[u8],
    local: Ipv4Addr,
    local_mac: [u8; 6],
    vtep_ip: Ipv4Addr,
    vtep_mac: [u8; 6],
    vni: u32,
    inner: &[u8],
) -> u16 {
    assert_eq!(f.len(), inner.len() + ENCAP, "outer length");
    let (eth, _) = Ethernet2Header::from_slice(f).expect("outer Ethernet");
    assert_eq!(eth.destination, vtep_mac, "outer dst MAC");
    assert_eq!(eth.source, local_mac, "outer src MAC");
    assert_eq!(eth.ether_type, EtherType::IPV4);
    let (ip, _) = Ipv4Header::from_slice(&f[OUTER_IP..]).expect("outer IPv4");
    assert_eq!(ip.ihl(), 5, "no options");
    assert_eq!(Ipv4Addr::from(ip.source), local, "outer src IP");
    assert_eq!(Ipv4Addr::from(ip.destination), vtep_ip, "outer dst IP");
    assert!(ip.dont_fragment, "DF set (RFC 7348 s4.3)");
    assert!(!ip.more_fragments);
    assert_eq!(ip.fragment_offset.value(), 0);
    assert_eq!(ip.time_to_live, 64);
    assert_eq!(ip.protocol, IpNumber::UDP);
    assert_eq!(
        usize::from(ip.total_len),
        f.len() - OUTER_IP,
        "IPv4 total length"
    );
    assert_eq!(
        ip.header_checksum,
        ip.calc_header_checksum(),
        "IPv4 checksum"
    );
    assert_eq!(
        ip_checksum(&f[OUTER_IP..OUTER_UDP]),
        0,
        "IPv4 checksum verifies"
    );
    let (udp, _) = UdpHeader::from_slice(&f[OUTER_UDP..]).expect("outer UDP");
    assert_eq!(udp.destination_port, VXLAN_PORT);
    assert_eq!(udp.checksum, 0, "UDP checksum 0 (RFC 7348 s5)");
    assert_eq!(usize::from(udp.length), f.len() - OUTER_UDP, "UDP length");
    assert!(udp.source_port >= 49152, "source port in the dynamic range");
    let vx = &f[OUTER_VXLAN..ENCAP];
    assert_eq!(vx[0], 0x08, "VXLAN flags: I only");
    assert_eq!(&vx[1..4], &[0, 0, 0], "VXLAN reserved");
    assert_eq!(u32::from_be_bytes([0, vx[4], vx[5], vx[6]]), vni, "VNI");
    assert_eq!(vx[7], 0, "VXLAN reserved");
    assert_eq!(&f[ENCAP..], inner, "inner frame byte-identical");
    udp.source_port
}

fn check_outer(f: &[u8], vtep_ip: Ipv4Addr, vtep_mac: [u8; 6], vni: u32, inner: &[u8]) -> u16 {
    check_outer_from(f, VTEP1, UPLINK_MAC, vtep_ip, vtep_mac, vni, inner)
}

/// Teaches the switch that X lives behind 198.18.0.2 in VNI 100.
fn learn_x(sw: &mut Switch) {
    let (out, d) = sw.send(
        UL,
        &vxlan(VTEP2, 100, &udp_frame(MAC_X, BROADCAST, 1, b"hi")),
    );
    assert_eq!(out[P100A].len() + out[P100B].len(), 2);
    d.assert_drops(&[]);
}

// ---------------------------------------------------------------------------
// 1. Flooding from an access port.

#[test]
fn access_unknown_unicast_floods_to_port_and_vteps() {
    let mut sw = Switch::new();
    let (v2, v3) = (sw.vtep(VTEP2), sw.vtep(VTEP3));
    let f = udp_frame(MAC_A, MAC_UNKNOWN, 1000, b"unknown unicast");
    let (out, d) = sw.send(P100A, &f);

    assert!(out[P100A].is_empty(), "never back out of the ingress port");
    assert_eq!(out[P100B], vec![f.clone()], "local copy byte-identical");
    assert!(out[P200].is_empty(), "nothing leaks into VNI 200");
    assert_eq!(out[UL].len(), 2, "one copy per VTEP");
    let mut seen = Vec::new();
    let mut sports = Vec::new();
    for o in &out[UL] {
        let dst = Ipv4Addr::from(<[u8; 4]>::try_from(&o[30..34]).expect("4 bytes"));
        let mac = if dst == VTEP2 { VTEP2_MAC } else { VTEP3_MAC };
        sports.push(check_outer(o, dst, mac, 100, &f));
        seen.push(dst);
    }
    seen.sort();
    assert_eq!(seen, vec![VTEP2, VTEP3]);
    assert_eq!(sports[0], sports[1], "one flow, one source port");

    d.assert_drops(&[]);
    d.assert_events(&[
        (Event::Flooded, 1),
        (Event::FloodCopies, 2),
        (Event::Encap, 2),
        (Event::LearnNew, 1),
    ]);
    let outer_len = (f.len() + ENCAP) as u64;
    assert_eq!(d.vteps[v2], [1, outer_len, 0]);
    assert_eq!(d.vteps[v3], [1, outer_len, 0]);
    assert_eq!(d.ports[P100A], [1, f.len() as u64, 0, 0]);
    assert_eq!(d.ports[P100B], [0, 0, 1, f.len() as u64]);
    assert_eq!(d.ports[UL], [0, 0, 2, 2 * outer_len]);
    assert_eq!(d.ports[P200], [0; 4]);
    sw.assert_frames_home();
}

#[test]
fn broadcast_icmp_in_vni_200_goes_only_to_its_vtep() {
    let mut sw = Switch::new();
    let f = icmp_frame(MAC_C, BROADCAST, 1);
    let (out, d) = sw.send(P200, &f);
    let ul = only_on(&out, UL);
    assert_eq!(ul.len(), 1);
    check_outer(&ul[0], VTEP2, VTEP2_MAC, 200, &f);
    d.assert_drops(&[]);
    d.assert_events(&[(Event::Flooded, 1), (Event::Encap, 1), (Event::LearnNew, 1)]);
    assert_eq!(d.vteps[sw.vtep(VTEP2)][0], 1);
    sw.assert_frames_home();
}

// ---------------------------------------------------------------------------
// 2. Learning, then unicast.

#[test]
fn learns_from_both_sides_then_forwards_unicast() {
    let mut sw = Switch::new();
    let (v2, v3) = (sw.vtep(VTEP2), sw.vtep(VTEP3));

    // X behind .2 sends to the unknown A: decapsulated, flooded locally only.
    let inner = udp_frame(MAC_X, MAC_A, 7, b"from afar");
    let (out, d) = sw.send(UL, &vxlan(VTEP2, 100, &inner));
    assert!(
        out[UL].is_empty(),
        "split horizon: nothing back to the underlay"
    );
    assert_eq!(out[P100A], vec![inner.clone()]);
    assert_eq!(out[P100B], vec![inner.clone()]);
    assert!(out[P200].is_empty());
    d.assert_drops(&[]);
    d.assert_events(&[
        (Event::Decap, 1),
        (Event::Flooded, 1),
        (Event::FloodCopies, 1),
        (Event::LearnNew, 1),
    ]);
    assert_eq!(d.vteps[v2], [0, 0, 1]);
    assert_eq!(d.vteps[v3], [0, 0, 0]);

    // A answers X: one encapsulated frame, to .2 only.
    let f = tcp_frame(MAC_A, MAC_X, 40000, b"reply");
    let (out, d) = sw.send(P100A, &f);
    let ul = only_on(&out, UL);
    assert_eq!(ul.len(), 1);
    check_outer(&ul[0], VTEP2, VTEP2_MAC, 100, &f);
    d.assert_drops(&[]);
    d.assert_events(&[(Event::Encap, 1), (Event::LearnNew, 1)]);
    assert_eq!(d.vteps[v2], [1, (f.len() + ENCAP) as u64, 0]);
    assert_eq!(d.vteps[v3], [0, 0, 0]);

    // B (unknown so far) sends to A (learned on p100a): port to port.
    let f = icmp_frame(MAC_B, MAC_A, 1);
    let (out, d) = sw.send(P100B, &f);
    assert_eq!(only_on(&out, P100A), &[f]);
    d.assert_drops(&[]);
    d.assert_events(&[(Event::LearnNew, 1)]);

    // Both learned: A to B goes only to p100b, and nothing new is learned.
    let f = udp_frame(MAC_A, MAC_B, 9, b"local");
    let (out, d) = sw.send(P100A, &f);
    assert_eq!(only_on(&out, P100B), &[f]);
    d.assert_drops(&[]);
    d.assert_events(&[]);
    assert_eq!(d.ports[P100A][0], 1);
    assert_eq!(d.ports[P100B][2], 1);

    // A second station on p100a sending to A: same port, dropped.
    let (out, d) = sw.send(P100A, &udp_frame(MAC_C, MAC_A, 9, b"same"));
    assert_silent(&out);
    d.assert_drops(&[(Drop::SamePort, 1)]);
    sw.assert_frames_home();
}

// ---------------------------------------------------------------------------
// 3. One flow, one source port.

#[test]
fn one_flow_one_source_port_many_flows_spread() {
    let mut sw = Switch::new();
    learn_x(&mut sw);
    let sport_of = |sw: &mut Switch, f: &[u8]| {
        let (out, d) = sw.send(P100A, f);
        d.assert_drops(&[]);
        let ul = only_on(&out, UL);
        assert_eq!(ul.len(), 1);
        check_outer(&ul[0], VTEP2, VTEP2_MAC, 100, f)
    };
    let first = sport_of(&mut sw, &tcp_frame(MAC_A, MAC_X, 40000, b""));
    for n in 1..20 {
        let f = tcp_frame(MAC_A, MAC_X, 40000, &vec![n as u8; n * 37]);
        assert_eq!(sport_of(&mut sw, &f), first, "payload changed the path");
    }
    let sports: std::collections::HashSet<u16> = (0..64)
        .map(|i| sport_of(&mut sw, &tcp_frame(MAC_A, MAC_X, 41000 + i, b"x")))
        .collect();
    assert!(
        sports.len() >= 48,
        "64 flows on {} source ports",
        sports.len()
    );
    sw.assert_frames_home();
}

// ---------------------------------------------------------------------------
// 4. Decap drops, each under its own reason.

#[test]
fn decap_drops_each_counted_by_reason() {
    let inner = udp_frame(MAC_X, MAC_A, 7, b"inner");
    let good = vxlan(VTEP2, 100, &inner);
    let with = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut v = good.clone();
        f(&mut v);
        v
    };
    let cases: Vec<(&str, Vec<u8>, Drop)> = vec![
        ("unknown VNI", vxlan(VTEP2, 999, &inner), Drop::UnknownVni),
        (
            "I flag clear",
            vxlan_raw(VTEP2, VTEP1, VXLAN_PORT, [0, 0, 0, 0, 0, 0, 100, 0], &inner),
            Drop::BadFlags,
        ),
        (
            "other flag set",
            vxlan_raw(
                VTEP2,
                VTEP1,
                VXLAN_PORT,
                [0x0c, 0, 0, 0, 0, 0, 100, 0],
                &inner,
            ),
            Drop::BadFlags,
        ),
        (
            "reserved bits after flags",
            vxlan_raw(
                VTEP2,
                VTEP1,
                VXLAN_PORT,
                [0x08, 0, 1, 0, 0, 0, 100, 0],
                &inner,
            ),
            Drop::BadFlags,
        ),
        (
            "reserved byte after VNI",
            vxlan_raw(
                VTEP2,
                VTEP1,
                VXLAN_PORT,
                [0x08, 0, 0, 0, 0, 0, 100, 1],
                &inner,
            ),
            Drop::BadFlags,
        ),
        (
            "wrong UDP port",
            vxlan_raw(VTEP2, VTEP1, 4790, vx_header(100), &inner),
            Drop::WrongPort,
        ),
        (
            "not our VTEP",
            vxlan_raw(
                VTEP2,
                Ipv4Addr::new(198, 18, 0, 9),
                VXLAN_PORT,
                vx_header(100),
                &inner,
            ),
            Drop::NotOurVtep,
        ),
        (
            "bad IPv4 checksum",
            with(&|v| v[OUTER_IP + 10] ^= 0x01),
            Drop::BadOuterIp,
        ),
        (
            "IPv4 version 6",
            with(&|v| {
                v[OUTER_IP] = 0x65;
                fix_ip_checksum(v);
            }),
            Drop::BadOuterIp,
        ),
        (
            "IHL 4",
            with(&|v| {
                v[OUTER_IP] = 0x44;
                fix_ip_checksum(v);
            }),
            Drop::BadOuterIp,
        ),
        (
            "more fragments",
            with(&|v| {
                v[OUTER_IP + 6] = 0x20;
                fix_ip_checksum(v);
            }),
            Drop::Fragment,
        ),
        (
            "fragment offset",
            with(&|v| {
                v[OUTER_IP + 7] = 0x10;
                fix_ip_checksum(v);
            }),
            Drop::Fragment,
        ),
        (
            "TCP, not UDP",
            with(&|v| {
                v[OUTER_IP + 9] = 6;
                fix_ip_checksum(v);
            }),
            Drop::NotVxlan,
        ),
        (
            "IPv6 ethertype",
            with(&|v| v[12..14].copy_from_slice(&[0x86, 0xdd])),
            Drop::NotVxlan,
        ),
        (
            "VLAN ethertype",
            with(&|v| v[12..14].copy_from_slice(&[0x81, 0x00])),
            Drop::NotVxlan,
        ),
        (
            "UDP length below its header",
            with(&|v| v[OUTER_UDP + 4..OUTER_UDP + 6].copy_from_slice(&4u16.to_be_bytes())),
            Drop::NotVxlan,
        ),
        (
            "UDP length beyond the IPv4 payload",
            with(&|v| {
                let l = (v.len() - OUTER_UDP + 1) as u16;
                v[OUTER_UDP + 4..OUTER_UDP + 6].copy_from_slice(&l.to_be_bytes());
            }),
            Drop::Truncated,
        ),
        (
            "no room for the VXLAN header",
            {
                let mut v = vxlan_raw(VTEP2, VTEP1, VXLAN_PORT, vx_header(100), &[]);
                v.truncate(OUTER_VXLAN + 3);
                fix_lengths(&mut v);
                v
            },
            Drop::Truncated,
        ),
        (
            "inner shorter than Ethernet",
            vxlan(VTEP2, 100, &inner[..13]),
            Drop::Truncated,
        ),
        (
            "inner multicast source",
            vxlan(VTEP2, 100, &udp_frame([3, 0, 0, 0, 0, 1], MAC_A, 7, b"m")),
            Drop::BadSrcMac,
        ),
        (
            "inner broadcast source",
            vxlan(VTEP2, 100, &udp_frame(BROADCAST, MAC_A, 7, b"b")),
            Drop::BadSrcMac,
        ),
    ];

    let mut sw = Switch::new();
    for (name, frame, reason) in &cases {
        let (out, d) = sw.send(UL, frame);
        assert!(out.iter().all(|p| p.is_empty()), "{name}: sent something");
        for &r in Drop::ALL {
            let want = u64::from(r == *reason);
            assert_eq!(d.drop(r), want, "{name}: drop {}", r.name());
        }
        d.assert_events(&[]);
        assert_eq!(
            d.vteps[sw.vtep(VTEP2)],
            [0, 0, 0],
            "{name}: counted from .2"
        );
    }
    assert!(sw.fdb.is_empty(), "a dropped frame taught the FDB");

    // The frame they were all made from does decap.
    let (out, d) = sw.send(UL, &good);
    assert_eq!(out[P100A], vec![inner.clone()]);
    d.assert_drops(&[]);
    sw.assert_frames_home();
}

/// Rewrites the outer IPv4 and UDP lengths (and the IPv4 checksum) to match
/// the frame's length.
fn fix_lengths(v: &mut [u8]) {
    let ip_len = (v.len() - OUTER_IP) as u16;
    v[OUTER_IP + 2..OUTER_IP + 4].copy_from_slice(&ip_len.to_be_bytes());
    let udp_len = (v.len() - OUTER_UDP) as u16;
    v[OUTER_UDP + 4..OUTER_UDP + 6].copy_from_slice(&udp_len.to_be_bytes());
    fix_ip_checksum(v);
}

#[test]
fn decap_tolerates_options_padding_and_unknown_senders() {
    let inner = udp_frame(MAC_X, MAC_A, 7, b"inner");
    let good = vxlan(VTEP2, 100, &inner);
    let mut sw = Switch::new();

    // Outer IPv4 options: the inner frame starts 4 bytes later.
    let mut opts = good.clone();
    opts.splice(OUTER_UDP..OUTER_UDP, [1, 1, 1, 0]); // NOP NOP NOP EOL
    opts[OUTER_IP] = 0x46;
    let ip_len = (opts.len() - OUTER_IP) as u16;
    opts[OUTER_IP + 2..OUTER_IP + 4].copy_from_slice(&ip_len.to_be_bytes());
    fix_ip_checksum(&mut opts);
    // Bytes after the IPv4 total length (Ethernet padding) are not inner bytes.
    let mut padded = good.clone();
    padded.extend_from_slice(&[0xee; 10]);
    for (name, f) in [("options", opts), ("padding", padded)] {
        let (out, d) = sw.send(UL, &f);
        assert_eq!(out[P100A], vec![inner.clone()], "{name}");
        assert_eq!(out[P100B], vec![inner.clone()], "{name}");
        d.assert_drops(&[]);
        assert_eq!(d.event(Event::Decap), 1, "{name}");
    }

    // A sender in no flood list: delivered, not learned.
    let stranger = Ipv4Addr::new(198, 18, 0, 77);
    let zin = udp_frame(MAC_Z, MAC_A, 7, b"stranger");
    let (out, d) = sw.send(UL, &vxlan(stranger, 100, &zin));
    assert_eq!(out[P100A], vec![zin]);
    d.assert_drops(&[]);
    d.assert_events(&[
        (Event::Decap, 1),
        (Event::Flooded, 1),
        (Event::FloodCopies, 1),
        (Event::LearnUnknownVtep, 1),
    ]);
    let (out, d) = sw.send(P100A, &udp_frame(MAC_A, MAC_Z, 7, b"who?"));
    assert_eq!(out[UL].len(), 2, "Z unknown: flooded to both VTEPs");
    assert_eq!(d.event(Event::Flooded), 1);
    sw.assert_frames_home();
}

#[test]
fn truncated_vxlan_frame_dropped_at_every_length() {
    let inner = udp_frame(MAC_X, MAC_A, 7, b"truncate me");
    let good = vxlan(VTEP2, 100, &inner);
    let mut sw = Switch::new();
    for len in 0..good.len() {
        let (out, d) = sw.send(UL, &good[..len]);
        assert!(
            out.iter().all(|p| p.is_empty()),
            "len {len}: sent something"
        );
        assert_eq!(d.all_drops(), 1, "len {len}: dropped once");
        // The outer IPv4 total length covers the whole frame, so every cut is
        // short of what the headers claim.
        assert_eq!(d.drop(Drop::Truncated), 1, "len {len}: {d:?}");
        d.assert_events(&[]);
    }
    assert!(sw.fdb.is_empty());
    sw.assert_frames_home();
}

// ---------------------------------------------------------------------------
// 5. Split horizon.

#[test]
fn split_horizon_never_sends_underlay_frames_back() {
    let mut sw = Switch::new();
    learn_x(&mut sw);

    // Z behind .3 sends to X, learned behind .2: not relayed VTEP to VTEP.
    let (out, d) = sw.send(UL, &vxlan(VTEP3, 100, &udp_frame(MAC_Z, MAC_X, 1, b"z")));
    assert_silent(&out);
    d.assert_drops(&[(Drop::SplitHorizon, 1)]);
    d.assert_events(&[(Event::LearnNew, 1)]);
    assert_eq!(d.vteps[sw.vtep(VTEP3)], [0, 0, 1]);

    // BUM and unknown unicast in VNI 300, which has no local port.
    for dst in [BROADCAST, MAC_UNKNOWN] {
        let (out, d) = sw.send(UL, &vxlan(VTEP2, 300, &udp_frame(MAC_X, dst, 1, b"bum")));
        assert_silent(&out);
        d.assert_drops(&[(Drop::SplitHorizon, 1)]);
        assert_eq!(d.event(Event::Flooded), 0);
        assert_eq!(d.event(Event::Encap), 0);
    }
    sw.assert_frames_home();
}

// ---------------------------------------------------------------------------
// 6. ARP for the VTEP address.

#[test]
fn arp_for_vtep_answered_others_dropped() {
    let mut sw = Switch::new();
    let requester = [2, 0, 0, 0, 1, 0xfe];
    let req_ip = Ipv4Addr::new(198, 18, 0, 254);
    let req = arp(1, requester, req_ip, VTEP1);
    let (out, d) = sw.send(UL, &req);
    let ul = only_on(&out, UL);
    assert_eq!(ul.len(), 1);
    let r = &ul[0];
    assert_eq!(r.len(), req.len());
    assert_eq!(&r[0..6], &requester, "to the requester");
    assert_eq!(&r[6..12], &UPLINK_MAC, "from the uplink");
    assert_eq!(&r[12..14], &[0x08, 0x06]);
    assert_eq!(&r[14..20], &[0, 1, 8, 0, 6, 4]);
    assert_eq!(&r[20..22], &[0, 2], "opcode reply");
    assert_eq!(&r[22..28], &UPLINK_MAC, "sender MAC");
    assert_eq!(&r[28..32], &VTEP1.octets(), "sender IP");
    assert_eq!(&r[32..38], &requester, "target MAC");
    assert_eq!(&r[38..42], &req_ip.octets(), "target IP");
    d.assert_drops(&[]);
    d.assert_events(&[(Event::ArpVtepReply, 1)]);
    assert_eq!(d.ports[UL], [1, 42, 1, 42]);

    for (name, f) in [
        ("for another address", arp(1, requester, req_ip, VTEP2)),
        ("a reply, not a request", arp(2, requester, req_ip, VTEP1)),
    ] {
        let (out, d) = sw.send(UL, &f);
        assert_silent(&out);
        assert_eq!(d.drop(Drop::NotVxlan), 1, "{name}");
        d.assert_drops(&[(Drop::NotVxlan, 1)]);
        d.assert_events(&[]);
    }

    // When the kernel keeps the uplink, it answers ARP, not us.
    let mut sw = Switch::from_config(CONFIG, UPLINK_MAC, false, 64);
    let (out, d) = sw.send(UL, &req);
    assert_silent(&out);
    d.assert_drops(&[(Drop::NotVxlan, 1)]);
    sw.assert_frames_home();
}

// ---------------------------------------------------------------------------
// 7. MTU: overlay MTU 1450 (uplink 1500 - 50).

/// `f` with the inner IPv4 DF flag cleared (IPv4 header at 14).
fn without_df(mut f: Vec<u8>) -> Vec<u8> {
    f[20] &= !0x40;
    fix_ip_checksum(&mut f);
    f
}

/// A UDP datagram in an IPv4 packet of `ip_len` bytes without DF, as a
/// container with MTU 1500 sends one (its own stack fragments larger
/// datagrams at 1500), with an identification to reassemble by.
fn udp_no_df(src: [u8; 6], dst: [u8; 6], ip_len: usize) -> Vec<u8> {
    let payload: Vec<u8> = (0..ip_len - 28).map(|i| (i * 13 + i / 256) as u8).collect();
    let mut f = without_df(udp_frame(src, dst, 4321, &payload));
    f[18..20].copy_from_slice(&0x7e57u16.to_be_bytes());
    fix_ip_checksum(&mut f);
    assert_eq!(f.len(), 14 + ip_len);
    f
}

/// Checks the encapsulated fragments `outer` of the inner frame `orig`
/// toward `vtep_ip`/`vtep_mac` in `vni`: each outer packet fits the uplink
/// MTU and is not itself a fragment, all share one outer UDP source port,
/// and the inner fragments, decapsulated, reassemble (by hand: etherparse
/// has no reassembly) to `orig`'s IP payload. Returns the source port.
fn check_fragments(
    outer: &[&Vec<u8>],
    orig: &[u8],
    vtep_ip: Ipv4Addr,
    vtep_mac: [u8; 6],
    vni: u32,
) -> u16 {
    let (oh, _) = Ipv4Header::from_slice(&orig[14..]).expect("the original parses");
    let want = &orig[14 + oh.header_len()..14 + usize::from(oh.total_len)];
    let mut data = Vec::new();
    let mut sports = Vec::new();
    for (i, o) in outer.iter().enumerate() {
        assert!(o.len() - OUTER_IP <= 1500, "fits the uplink: {}", o.len());
        // Every outer field, DF set and no outer fragmenting (RFC 7348 s4.3).
        sports.push(check_outer(o, vtep_ip, vtep_mac, vni, &o[ENCAP..]));
        let inner = &o[ENCAP..];
        assert_eq!(&inner[..14], &orig[..14], "Ethernet header copied");
        let (h, _) = Ipv4Header::from_slice(&inner[14..]).expect("inner IPv4");
        assert_eq!(
            h.header_checksum,
            h.calc_header_checksum(),
            "inner checksum"
        );
        assert_eq!(usize::from(h.total_len), inner.len() - 14, "inner length");
        assert!(usize::from(h.total_len) <= 1450, "fits the overlay MTU");
        assert_eq!(h.identification, oh.identification);
        assert_eq!((h.source, h.destination), (oh.source, oh.destination));
        assert!(!h.dont_fragment);
        let last = i + 1 == outer.len();
        assert_eq!(h.more_fragments, !last || oh.more_fragments, "MF of {i}");
        assert_eq!(
            usize::from(h.fragment_offset.value()) * 8,
            usize::from(oh.fragment_offset.value()) * 8 + data.len(),
            "offset of fragment {i}"
        );
        let payload = &inner[14 + h.header_len()..];
        if !last {
            assert_eq!(payload.len() % 8, 0);
        }
        data.extend_from_slice(payload);
    }
    assert_eq!(data, want, "the fragments reassemble to the original");
    assert!(
        sports.windows(2).all(|w| w[0] == w[1]),
        "one source port: {sports:?}"
    );
    sports[0]
}

#[test]
fn too_big_without_df_fragmented_toward_a_remote_host() {
    let mut sw = Switch::new();
    learn_x(&mut sw);
    let v2 = sw.vtep(VTEP2);

    // A 1,500-byte IPv4 packet without DF: 1,500 + 50 = 1,550 bytes of
    // outer IPv4, too big. Two fragments: 1,424 + 56 bytes of payload.
    let big = udp_no_df(MAC_A, MAC_X, 1500);
    let (out, d) = sw.send(P100A, &big);
    let ul = only_on(&out, UL);
    assert_eq!(ul.len(), 2);
    assert_eq!(ul[0].len(), ENCAP + 14 + 20 + 1424);
    assert_eq!(ul[1].len(), ENCAP + 14 + 20 + 56);
    let sport = check_fragments(&[&ul[0], &ul[1]], &big, VTEP2, VTEP2_MAC, 100);
    // The same source port as the flow's unfragmented packets.
    let small = udp_no_df(MAC_A, MAC_X, 100);
    let (out, _) = sw.send(P100A, &small);
    assert_eq!(
        check_outer(&out[UL][0], VTEP2, VTEP2_MAC, 100, &small),
        sport
    );
    d.assert_drops(&[]);
    d.assert_events(&[
        (Event::Fragmented, 1),
        (Event::Fragments, 2),
        (Event::Encap, 2),
        (Event::LearnNew, 1),
    ]);
    let bytes = (ul[0].len() + ul[1].len()) as u64;
    assert_eq!(d.vteps[v2], [2, bytes, 0]);
    assert_eq!(d.ports[UL], [0, 0, 2, bytes]);
    d.assert_accounted();

    // One byte over (1,451 bytes of IPv4): 1,424 + 7.
    let f = udp_no_df(MAC_A, MAC_X, 1451);
    let (out, d) = sw.send(P100A, &f);
    let ul = only_on(&out, UL);
    assert_eq!(ul.len(), 2);
    check_fragments(&[&ul[0], &ul[1]], &f, VTEP2, VTEP2_MAC, 100);
    assert_eq!(d.event(Event::Fragments), 2);

    // Exactly the overlay MTU: encapsulated whole, 1,500 bytes of outer IPv4.
    let fits = udp_no_df(MAC_A, MAC_X, 1450);
    let (out, d) = sw.send(P100A, &fits);
    let ul = only_on(&out, UL);
    assert_eq!(ul.len(), 1);
    check_outer(&ul[0], VTEP2, VTEP2_MAC, 100, &fits);
    assert_eq!(u16::from_be_bytes([ul[0][16], ul[0][17]]), 1500);
    d.assert_drops(&[]);
    d.assert_events(&[(Event::Encap, 1)]);

    // Already a fragment (a middle one: MF, offset 185): cut again, the
    // last piece keeps MF.
    let mut mid = udp_no_df(MAC_A, MAC_X, 1500);
    mid[20..22].copy_from_slice(&(0x2000u16 | 185).to_be_bytes());
    fix_ip_checksum(&mut mid);
    let (out, d) = sw.send(P100A, &mid);
    let ul = only_on(&out, UL);
    assert_eq!(ul.len(), 2);
    check_fragments(&[&ul[0], &ul[1]], &mid, VTEP2, VTEP2_MAC, 100);
    assert_eq!(ul[1][ENCAP + 20] & 0x20, 0x20, "MF on the last piece");
    assert_eq!(d.event(Event::Fragmented), 1);
    sw.assert_frames_home();
}

#[test]
fn fragments_carry_the_checksum_completed_before_cutting() {
    let mut sw = Switch::new();
    learn_x(&mut sw);
    // The sender left the UDP checksum to offload: only the pseudo-header
    // sum. It covers the whole datagram, so it is completed first.
    let good = udp_no_df(MAC_A, MAC_X, 1500);
    let mut big = good.clone();
    let mut pseudo = 17 + 1480u32;
    for w in big[26..34].chunks(2) {
        pseudo += u32::from(u16::from_be_bytes([w[0], w[1]]));
    }
    while pseudo > 0xffff {
        pseudo = (pseudo & 0xffff) + (pseudo >> 16);
    }
    big[40..42].copy_from_slice(&(pseudo as u16).to_be_bytes());
    let (out, d) = sw.send(P100A, &big);
    let ul = only_on(&out, UL);
    assert_eq!(ul.len(), 2);
    // Reassembled, it is the fully checksummed datagram.
    check_fragments(&[&ul[0], &ul[1]], &good, VTEP2, VTEP2_MAC, 100);
    assert_eq!(d.event(Event::CsumCompleted), 1);
    assert_eq!(d.event(Event::Fragmented), 1);
    sw.assert_frames_home();
}

#[test]
fn too_big_and_not_fragmentable_dropped() {
    let mut sw = Switch::new();
    learn_x(&mut sw);
    let v2 = sw.vtep(VTEP2);
    sw.send(P100A, &udp_no_df(MAC_A, MAC_X, 100)); // learn A
    let big = udp_no_df(MAC_A, MAC_X, 1500);
    // Not IP (a local experimental EtherType): no reply, no fragments.
    let mut other = big.clone();
    other[12..14].copy_from_slice(&[0x88, 0xb5]);
    // IPv4 options that do not parse (an option running past the header).
    let mut opts = udp_frame(MAC_A, MAC_X, 4321, &[0x11; 1472]);
    opts.splice(34..34, [1, 1, 7, 9, 0, 0, 0, 0]);
    opts[14] = 0x47;
    opts[16..18].copy_from_slice(&1508u16.to_be_bytes());
    opts[20] = 0;
    fix_ip_checksum(&mut opts);
    // A DF fragment: neither an ICMP reply (Linux answers exactly DF) nor
    // fragments.
    let mut df_frag = udp_frame_of_len(MAC_A, MAC_X, 1514);
    df_frag[20..22].copy_from_slice(&0x6000u16.to_be_bytes());
    fix_ip_checksum(&mut df_frag);
    for (name, f) in [
        ("not IP", other),
        ("bad options", opts),
        ("DF fragment", df_frag),
    ] {
        let (out, d) = sw.send(P100A, &f);
        assert_silent(&out);
        d.assert_drops(&[(Drop::TooBig, 1)]);
        d.assert_events(&[]);
        assert_eq!(d.vteps[v2], [0, 0, 0], "{name}");
    }

    // A 1,465-byte frame of valid options (NOPs), no DF: fragmented.
    let mut nops = udp_frame(MAC_A, MAC_X, 4321, &[0x22; 1472]);
    nops.splice(34..34, [1, 1, 1, 1]);
    nops[14] = 0x46;
    nops[16..18].copy_from_slice(&1504u16.to_be_bytes());
    nops[20] = 0;
    fix_ip_checksum(&mut nops);
    let (out, d) = sw.send(P100A, &nops);
    let ul = only_on(&out, UL);
    assert_eq!(ul.len(), 2);
    check_fragments(&[&ul[0], &ul[1]], &nops, VTEP2, VTEP2_MAC, 100);
    d.assert_drops(&[]);
    sw.assert_frames_home();
}

#[test]
fn flooded_too_big_without_df_fragmented_for_every_vtep() {
    let mut sw = Switch::new();
    let (v2, v3) = (sw.vtep(VTEP2), sw.vtep(VTEP3));
    // Unknown unicast: the local port gets the packet whole, each VTEP
    // its two fragments.
    let big = udp_no_df(MAC_A, MAC_UNKNOWN, 1500);
    let (out, d) = sw.send(P100A, &big);
    assert_eq!(out[P100B], vec![big.clone()], "whole to the local port");
    assert!(out[P100A].is_empty() && out[P200].is_empty());
    assert_eq!(out[UL].len(), 4);
    let to = |ip: Ipv4Addr| -> Vec<&Vec<u8>> {
        out[UL]
            .iter()
            .filter(|f| f[30..34] == ip.octets())
            .collect()
    };
    let s2 = check_fragments(&to(VTEP2), &big, VTEP2, VTEP2_MAC, 100);
    let s3 = check_fragments(&to(VTEP3), &big, VTEP3, VTEP3_MAC, 100);
    assert_eq!(s2, s3, "one flow, one source port");
    d.assert_drops(&[]);
    d.assert_events(&[
        (Event::Flooded, 1),
        (Event::FloodCopies, 2),
        (Event::Fragmented, 2),
        (Event::Fragments, 4),
        (Event::Encap, 4),
        (Event::LearnNew, 1),
    ]);
    assert_eq!(d.vteps[v2][0], 2);
    assert_eq!(d.vteps[v3][0], 2);
    d.assert_accounted();

    // Broadcast in VNI 200 (one VTEP, no other local port): the original
    // frame itself is cut.
    let c = udp_no_df(MAC_C, BROADCAST, 1500);
    let (out, d) = sw.send(P200, &c);
    let ul = only_on(&out, UL);
    assert_eq!(ul.len(), 2);
    check_fragments(&[&ul[0], &ul[1]], &c, VTEP2, VTEP2_MAC, 200);
    d.assert_drops(&[]);
    d.assert_events(&[
        (Event::Flooded, 1),
        (Event::Fragmented, 1),
        (Event::Fragments, 2),
        (Event::Encap, 2),
        (Event::LearnNew, 1),
    ]);
    d.assert_accounted();
    sw.assert_frames_home();
}

#[test]
fn fragments_without_a_free_frame_counted_as_no_frame() {
    // Two frames in all: learning X takes both for a moment, then the two
    // big packets take both, and no fragment past the first finds one.
    let mut sw = Switch::from_config(CONFIG, UPLINK_MAC, true, 2);
    learn_x(&mut sw);
    sw.send(P100A, &udp_no_df(MAC_A, MAC_X, 100)); // learn A
    let big = udp_no_df(MAC_A, MAC_X, 1500);
    let before = sw.snapshot();
    sw.inject(P100A, &big);
    sw.inject(P100A, &big);
    sw.run();
    let out = sw.take_all();
    let d = sw.snapshot().since(&before);
    let ul = only_on(&out, UL);
    assert_eq!(ul.len(), 2, "the first fragment of each");
    for o in ul {
        assert_eq!(o.len(), ENCAP + 14 + 20 + 1424);
        assert_eq!(
            &o[ENCAP + 20..ENCAP + 22],
            &0x2000u16.to_be_bytes(),
            "MF, offset 0"
        );
    }
    d.assert_drops(&[(Drop::NoFrame, 2)]);
    d.assert_events(&[
        (Event::Fragmented, 2),
        (Event::Fragments, 2),
        (Event::Encap, 2),
    ]);
    d.assert_accounted();
    sw.assert_frames_home();

    // With one frame spare, the next packet goes whole.
    let (out, d) = sw.send(P100A, &big);
    let ul = only_on(&out, UL);
    check_fragments(&[&ul[0], &ul[1]], &big, VTEP2, VTEP2_MAC, 100);
    d.assert_drops(&[]);
    sw.assert_frames_home();
}

/// Checks that `r` is an ICMP fragmentation needed from the switch on
/// behalf of `orig`'s destination, with next-hop MTU `mtu`, quoting `orig`.
fn check_frag_needed(r: &[u8], orig: &[u8], mtu: u16) {
    use etherparse::icmpv4::DestUnreachableHeader;
    let s = SlicedPacket::from_ethernet(r).expect("etherparse parses the reply");
    let Some(LinkSlice::Ethernet2(eth)) = &s.link else {
        panic!("not Ethernet")
    };
    assert_eq!(eth.destination(), orig[6..12], "to the sender's MAC");
    assert_eq!(eth.source(), orig[0..6], "from the MAC it sent to");
    let Some(NetSlice::Ipv4(ip)) = &s.net else {
        panic!("not IPv4")
    };
    let h = ip.header().to_header();
    assert_eq!(h.source, orig[30..34], "from the original destination");
    assert_eq!(h.destination, orig[26..30], "to the original source");
    assert_eq!(h.header_checksum, h.calc_header_checksum());
    assert_eq!(usize::from(h.total_len), r.len() - 14);
    let Some(TransportSlice::Icmpv4(icmp)) = &s.transport else {
        panic!("not ICMP")
    };
    assert_eq!(
        icmp.icmp_type(),
        Icmpv4Type::DestinationUnreachable(DestUnreachableHeader::FragmentationNeeded {
            next_hop_mtu: mtu
        })
    );
    assert_eq!(
        icmp.checksum(),
        icmp.icmp_type().calc_checksum(icmp.payload()),
        "ICMP checksum"
    );
    let quoted = icmp.payload();
    assert_eq!(quoted, &orig[14..14 + quoted.len()], "quotes the original");
    assert!(quoted.len() >= 28, "IP header + 8 bytes at least (RFC 792)");
}

#[test]
fn df_packet_too_big_for_a_remote_host_gets_frag_needed_back() {
    let mut sw = Switch::new();
    learn_x(&mut sw);
    // 1500 bytes of IPv4 with DF (etherparse sets it), to X behind .2.
    let big = udp_frame_of_len(MAC_A, MAC_X, 1514);
    assert_eq!(big[20] & 0x40, 0x40, "DF");
    let (out, d) = sw.send(P100A, &big);
    let back = only_on(&out, P100A);
    assert_eq!(back.len(), 1, "the reply, out of the port it came in on");
    check_frag_needed(&back[0], &big, 1450);
    assert_eq!(back[0].len(), 14 + 576);
    d.assert_drops(&[]);
    d.assert_events(&[(Event::IcmpTooBig, 1), (Event::LearnNew, 1)]);
    assert_eq!(d.ports[P100A], [1, 1514, 1, 590]);
    assert_eq!(d.ports[UL], [0; 4], "nothing to the underlay");
    assert_eq!(d.vteps[sw.vtep(VTEP2)], [0, 0, 0]);
    d.assert_accounted();

    // ping -s 1422: 1422 + 8 + 20 = 1450 bytes of IPv4, the overlay MTU: goes.
    let ping = {
        let b = PacketBuilder::ethernet2(MAC_A, MAC_X)
            .ipv4([198, 19, 100, 10], [198, 19, 100, 1], 64)
            .icmpv4_echo_request(7, 1);
        let mut v = Vec::new();
        b.write(&mut v, &[0x61; 1422]).expect("writing to a Vec");
        v
    };
    assert_eq!(ping.len(), 14 + 1450);
    let (out, d) = sw.send(P100A, &ping);
    let ul = only_on(&out, UL);
    assert_eq!(ul.len(), 1);
    check_outer(&ul[0], VTEP2, VTEP2_MAC, 100, &ping);
    d.assert_drops(&[]);
    d.assert_events(&[(Event::Encap, 1)]);

    // One byte more: the reply.
    let ping = {
        let b = PacketBuilder::ethernet2(MAC_A, MAC_X)
            .ipv4([198, 19, 100, 10], [198, 19, 100, 1], 64)
            .icmpv4_echo_request(7, 2);
        let mut v = Vec::new();
        b.write(&mut v, &[0x61; 1423]).expect("writing to a Vec");
        v
    };
    let (out, d) = sw.send(P100A, &ping);
    check_frag_needed(&only_on(&out, P100A)[0], &ping, 1450);
    d.assert_events(&[(Event::IcmpTooBig, 1)]);
    sw.assert_frames_home();
}

#[test]
fn ipv6_packet_too_big_for_a_remote_host_gets_ptb_back() {
    let mut sw = Switch::new();
    learn_x(&mut sw);
    let (a6, x6) = ([0xfd; 16], [0xfe; 16]);
    let big = {
        let b = PacketBuilder::ethernet2(MAC_A, MAC_X)
            .ipv6(a6, x6, 64)
            .udp(5000, 6000);
        let mut v = Vec::new();
        b.write(&mut v, &[0x36; 1452]).expect("writing to a Vec");
        v
    };
    assert_eq!(big.len(), 14 + 1500);
    let (out, d) = sw.send(P100A, &big);
    let back = only_on(&out, P100A);
    assert_eq!(back.len(), 1);
    let r = &back[0];
    assert_eq!(r.len(), 14 + 1280, "as much as fits in 1280 bytes");
    let s = SlicedPacket::from_ethernet(r).expect("etherparse parses the reply");
    let Some(NetSlice::Ipv6(ip)) = &s.net else {
        panic!("not IPv6")
    };
    let h = ip.header().to_header();
    assert_eq!((h.source, h.destination), (x6, a6));
    let Some(TransportSlice::Icmpv6(icmp)) = &s.transport else {
        panic!("not ICMPv6")
    };
    assert_eq!(icmp.icmp_type(), Icmpv6Type::PacketTooBig { mtu: 1450 });
    assert!(icmp.is_checksum_valid(h.source, h.destination));
    assert_eq!(icmp.payload(), &big[14..14 + 1232]);
    d.assert_drops(&[]);
    d.assert_events(&[(Event::IcmpTooBig, 1), (Event::LearnNew, 1)]);
    sw.assert_frames_home();
}

#[test]
fn flooded_df_packet_too_big_reaches_local_ports_and_the_sender_hears() {
    let mut sw = Switch::new();
    // Unknown unicast: flooded to p100b and both VTEPs; the VTEP copies are
    // replaced by one reply.
    let big = udp_frame_of_len(MAC_A, MAC_UNKNOWN, 1514);
    let (out, d) = sw.send(P100A, &big);
    assert_eq!(out[P100B], vec![big.clone()], "the local port gets it");
    assert_eq!(out[P100A].len(), 1);
    check_frag_needed(&out[P100A][0], &big, 1450);
    assert!(out[UL].is_empty() && out[P200].is_empty());
    d.assert_drops(&[]);
    d.assert_events(&[
        (Event::Flooded, 1),
        (Event::FloodCopies, 1),
        (Event::IcmpTooBig, 1),
        (Event::LearnNew, 1),
    ]);
    d.assert_accounted();

    // Broadcast: the reply would come from a group MAC, so no reply; the
    // VTEP copies are dropped as before.
    let big = udp_frame_of_len(MAC_A, BROADCAST, 1514);
    let (out, d) = sw.send(P100A, &big);
    assert_eq!(only_on(&out, P100B), &[big]);
    d.assert_drops(&[(Drop::TooBig, 2)]);
    d.assert_events(&[(Event::Flooded, 1), (Event::FloodCopies, 2)]);
    d.assert_accounted();

    // A VNI with no other local port: the reply is all there is.
    let c = udp_frame_of_len(MAC_C, [2, 0, 0, 0, 0x30, 0x02], 1514);
    let (out, d) = sw.send(P200, &c);
    assert_eq!(only_on(&out, P200).len(), 1);
    check_frag_needed(&out[P200][0], &c, 1450);
    d.assert_drops(&[]);
    d.assert_accounted();
    sw.assert_frames_home();
}

#[test]
fn icmp_replies_rate_limited_per_worker() {
    let mut sw = Switch::from_config(CONFIG, UPLINK_MAC, true, 512);
    learn_x(&mut sw);
    let big = udp_frame_of_len(MAC_A, MAC_X, 1514);
    let before = sw.snapshot();
    for _ in 0..150 {
        sw.inject(P100A, &big);
    }
    sw.run();
    let out = sw.take_all();
    let d = sw.snapshot().since(&before);
    assert_eq!(only_on(&out, P100A).len(), 100, "100 a second");
    d.assert_drops(&[(Drop::TooBig, 50)]);
    d.assert_events(&[(Event::IcmpTooBig, 100), (Event::LearnNew, 1)]);
    d.assert_accounted();
    // The next second, replies again.
    sw.now_secs += 1;
    let (out, d) = sw.send(P100A, &big);
    assert_eq!(only_on(&out, P100A).len(), 1);
    assert_eq!(d.event(Event::IcmpTooBig), 1);
    sw.assert_frames_home();
}

/// A TCP SYN (or SYN-ACK with `ack`) with MSS option `mss` after a NOP NOP
/// and timestamps, as Linux orders them on a SYN-ACK.
fn syn_frame(src: [u8; 6], dst: [u8; 6], ack: bool, mss: u16) -> Vec<u8> {
    let mut opts = vec![1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 2, 4];
    opts.extend_from_slice(&mss.to_be_bytes());
    let mut b = PacketBuilder::ethernet2(src, dst)
        .ipv4([198, 19, 100, src[5]], [198, 19, 100, dst[5]], 64)
        .tcp(40000, 80, 1000, 64240)
        .syn();
    if ack {
        b = b.ack(77);
    }
    let b = b.options_raw(&opts).expect("options fit");
    let mut v = Vec::new();
    b.write(&mut v, &[]).expect("writing to a Vec");
    v
}

/// The MSS option of the TCP segment in `f`, after checking its checksum.
fn checked_mss(f: &[u8]) -> Option<u16> {
    let s = SlicedPacket::from_ethernet(f).expect("etherparse parses it");
    let Some(TransportSlice::Tcp(t)) = &s.transport else {
        panic!("not TCP")
    };
    let csum = match &s.net {
        Some(NetSlice::Ipv4(ip)) => {
            let h = ip.header();
            t.calc_checksum_ipv4(h.source(), h.destination())
        }
        Some(NetSlice::Ipv6(ip)) => {
            let h = ip.header();
            t.calc_checksum_ipv6(h.source(), h.destination())
        }
        _ => panic!("not IP"),
    };
    assert_eq!(
        csum.expect("checksum computed"),
        t.checksum(),
        "TCP checksum"
    );
    t.options_iterator().find_map(|o| match o {
        Ok(TcpOptionElement::MaximumSegmentSize(m)) => Some(m),
        _ => None,
    })
}

#[test]
fn syn_mss_clamped_through_encap_and_decap() {
    let mut sw = Switch::new();
    learn_x(&mut sw);

    // A opens to X: the encapsulated SYN carries MSS 1410 (1450 - 40).
    let syn = syn_frame(MAC_A, MAC_X, false, 1460);
    let (out, d) = sw.send(P100A, &syn);
    let ul = only_on(&out, UL);
    assert_eq!(ul.len(), 1);
    let inner = &ul[0][ENCAP..];
    assert_eq!(checked_mss(inner), Some(1410));
    assert_eq!(inner.len(), syn.len());
    d.assert_drops(&[]);
    d.assert_events(&[
        (Event::MssClamped, 1),
        (Event::Encap, 1),
        (Event::LearnNew, 1),
    ]);

    // X's SYN-ACK, decapsulated toward A: clamped too.
    let syn_ack = syn_frame(MAC_X, MAC_A, true, 8960);
    let (out, d) = sw.send(UL, &vxlan(VTEP2, 100, &syn_ack));
    let a = only_on(&out, P100A);
    assert_eq!(checked_mss(&a[0]), Some(1410));
    d.assert_events(&[(Event::MssClamped, 1), (Event::Decap, 1)]);

    // Already small enough, or not a SYN: untouched.
    let small = syn_frame(MAC_A, MAC_X, false, 1400);
    let (out, d) = sw.send(P100A, &small);
    assert_eq!(&out[UL][0][ENCAP..], &small[..]);
    assert_eq!(d.event(Event::MssClamped), 0);
    let data = tcp_frame(MAC_A, MAC_X, 40000, b"not a SYN");
    let (out, _) = sw.send(P100A, &data);
    assert_eq!(&out[UL][0][ENCAP..], &data[..]);

    // Flooded (X unknown in VNI 200's view of C): every copy is clamped.
    let syn = syn_frame(MAC_C, MAC_UNKNOWN, false, 1460);
    let (out, d) = sw.send(P200, &syn);
    let ul = only_on(&out, UL);
    assert_eq!(checked_mss(&ul[0][ENCAP..]), Some(1410));
    assert_eq!(d.event(Event::MssClamped), 1);

    // Between two local ports the frame never crosses the underlay: left
    // as it is.
    sw.send(P100B, &udp_frame(MAC_B, MAC_A, 1, b"learn B"));
    let syn = syn_frame(MAC_A, MAC_B, false, 1460);
    let (out, d) = sw.send(P100A, &syn);
    assert_eq!(only_on(&out, P100B), &[syn]);
    assert_eq!(d.event(Event::MssClamped), 0);
    sw.assert_frames_home();
}

#[test]
fn ipv6_syn_clamped_to_overlay_mtu_minus_60() {
    let mut sw = Switch::new();
    learn_x(&mut sw);
    let b = PacketBuilder::ethernet2(MAC_A, MAC_X)
        .ipv6([0xfd; 16], [0xfe; 16], 64)
        .tcp(40000, 443, 1, 64800)
        .syn()
        .options_raw(&[2, 4, 0x05, 0xa0, 1, 3, 3, 7])
        .expect("options fit");
    let mut syn = Vec::new();
    b.write(&mut syn, &[]).expect("writing to a Vec");
    let (out, d) = sw.send(P100A, &syn);
    assert_eq!(checked_mss(&out[UL][0][ENCAP..]), Some(1390));
    assert_eq!(d.event(Event::MssClamped), 1);
    sw.assert_frames_home();
}

/// Writes what a sender with TX checksum offload leaves in an IPv4/TCP
/// frame's checksum field: the pseudo-header sum only.
fn leave_checksum_to_offload(frame: &mut [u8]) {
    let l4 = (frame.len() - 34) as u32;
    let mut pseudo = 6 + l4;
    for w in frame[26..34].chunks(2) {
        pseudo += u32::from(u16::from_be_bytes([w[0], w[1]]));
    }
    while pseudo > 0xffff {
        pseudo = (pseudo & 0xffff) + (pseudo >> 16);
    }
    frame[50..52].copy_from_slice(&(pseudo as u16).to_be_bytes());
}

#[test]
fn partial_checksum_syn_clamped_and_completed() {
    let mut sw = Switch::new();
    learn_x(&mut sw);
    // The sender's TX checksum offload left the pseudo-header sum only.
    let mut syn = syn_frame(MAC_A, MAC_X, false, 1460);
    leave_checksum_to_offload(&mut syn);
    let (out, d) = sw.send(P100A, &syn);
    assert_eq!(checked_mss(&out[UL][0][ENCAP..]), Some(1410));
    d.assert_events(&[
        (Event::MssClamped, 1),
        (Event::CsumCompleted, 1),
        (Event::Encap, 1),
        (Event::LearnNew, 1),
    ]);
    sw.assert_frames_home();
}

#[test]
fn partial_checksum_completed_between_local_ports() {
    // Two containers on one host: no underlay, no clamp, but the receiver
    // still needs the checksum its sender left to offload.
    let mut sw = Switch::new();
    sw.send(P100B, &udp_frame(MAC_B, MAC_A, 1, b"learn B"));
    let mut syn = syn_frame(MAC_A, MAC_B, false, 1460);
    let full = syn.clone();
    leave_checksum_to_offload(&mut syn);
    let (out, d) = sw.send(P100A, &syn);
    assert_eq!(only_on(&out, P100B), &[full], "completed, MSS untouched");
    assert_eq!(d.event(Event::CsumCompleted), 1);
    assert_eq!(d.event(Event::MssClamped), 0);
    sw.assert_frames_home();
}

#[test]
fn mss_clamp_off_or_a_number_per_vni() {
    let off = CONFIG.replacen("id = 100\n", "id = 100\nmss_clamp = \"off\"\n", 1);
    let mut sw = Switch::from_config(&off, UPLINK_MAC, true, 64);
    learn_x(&mut sw);
    let syn = syn_frame(MAC_A, MAC_X, false, 1460);
    let (out, d) = sw.send(P100A, &syn);
    assert_eq!(&out[UL][0][ENCAP..], &syn[..], "off: untouched");
    let syn_ack = syn_frame(MAC_X, MAC_A, true, 1460);
    let (out, d2) = sw.send(UL, &vxlan(VTEP2, 100, &syn_ack));
    assert_eq!(out[P100A], vec![syn_ack]);
    assert_eq!(d.event(Event::MssClamped) + d2.event(Event::MssClamped), 0);

    let n = CONFIG.replacen("id = 100\n", "id = 100\nmss_clamp = 1200\n", 1);
    let mut sw = Switch::from_config(&n, UPLINK_MAC, true, 64);
    learn_x(&mut sw);
    let (out, d) = sw.send(P100A, &syn);
    assert_eq!(checked_mss(&out[UL][0][ENCAP..]), Some(1200));
    assert_eq!(d.event(Event::MssClamped), 1);
    sw.assert_frames_home();
}

// ---------------------------------------------------------------------------
// 8. Frames conserved.

/// Frame `i` of a mixed batch: every kind above, on its port.
fn mixed(i: usize) -> (usize, Vec<u8>) {
    let n = i as u16;
    match i % 12 {
        0 => (
            P100A,
            udp_frame(MAC_A, [2, 0, 0, 0, 0x31, i as u8], n, b"flood"),
        ),
        1 => (P100A, tcp_frame(MAC_A, MAC_X, 40000 + n, b"to X")),
        2 => (P100B, icmp_frame(MAC_B, MAC_A, n)),
        3 => (UL, vxlan(VTEP2, 100, &udp_frame(MAC_X, MAC_A, n, b"decap"))),
        4 => (
            UL,
            vxlan_raw(VTEP2, VTEP1, VXLAN_PORT, [0, 0, 0, 0, 0, 0, 100, 0], b"bad"),
        ),
        5 => (UL, arp(1, [2, 0, 0, 0, 1, 0xfe], VTEP2, VTEP1)),
        6 => (UL, arp(1, [2, 0, 0, 0, 1, 0xfe], VTEP2, VTEP3)),
        7 => {
            let f = vxlan(VTEP3, 100, &udp_frame(MAC_Z, MAC_B, n, b"cut"));
            (UL, f[..i % f.len()].to_vec())
        }
        // Too big for the underlay: with DF an ICMP reply, without DF
        // fragments, not IP a drop.
        8 if i % 36 == 8 => (P100A, udp_frame_of_len(MAC_A, MAC_X, 1465)),
        8 if i % 36 == 20 => (P100A, without_df(udp_frame_of_len(MAC_A, MAC_X, 1465))),
        8 => {
            let mut f = udp_frame_of_len(MAC_A, MAC_X, 1465);
            f[12..14].copy_from_slice(&[0x88, 0xb5]);
            (P100A, f)
        }
        9 => (P200, (0..i % 80).map(|b| (b * 31 + i) as u8).collect()),
        10 => (UL, vxlan(VTEP3, 100, &udp_frame(MAC_Z, MAC_X, n, b"sh"))),
        _ => (
            UL,
            vxlan(VTEP2, 300, &udp_frame(MAC_X, BROADCAST, n, b"bum")),
        ),
    }
}

#[test]
fn mixed_batch_conserves_frames() {
    let mut sw = Switch::from_config(CONFIG, UPLINK_MAC, true, 1024);
    learn_x(&mut sw);
    let before = sw.snapshot();
    for i in 0..200 {
        let (port, f) = mixed(i);
        sw.inject(port, &f);
    }
    sw.run();
    let out = sw.take_all();
    let d = sw.snapshot().since(&before);
    assert_eq!(d.rx(), 200);
    let sent: usize = out.iter().map(Vec::len).sum();
    assert_eq!(sent as u64, d.tx());
    assert_eq!(d.drop(Drop::NoFrame), 0);
    d.assert_accounted();
    for kind in [
        Drop::BadFlags,
        Drop::NotVxlan,
        Drop::TooBig,
        Drop::SplitHorizon,
        Drop::Truncated,
    ] {
        assert!(d.drop(kind) > 0, "the mix has no {}", kind.name());
    }
    assert!(d.event(Event::ArpVtepReply) > 0 && d.event(Event::Decap) > 0);
    assert!(d.event(Event::Encap) > 0 && d.event(Event::FloodCopies) > 0);
    assert!(d.event(Event::IcmpTooBig) > 0);
    assert!(d.event(Event::Fragmented) > 0);
    sw.assert_frames_home();
}

#[test]
fn frames_conserved_when_flood_copies_run_out() {
    // 200 frames in hand, 8 spare: most flood copies find no frame.
    let mut sw = Switch::from_config(CONFIG, UPLINK_MAC, true, 208);
    let before = sw.snapshot();
    for i in 0..200u16 {
        sw.inject(P100A, &udp_frame(MAC_A, BROADCAST, i, b"storm"));
    }
    sw.run();
    let out = sw.take_all();
    let d = sw.snapshot().since(&before);
    // The original goes to the last target, the last VTEP in the flood list.
    let to_vtep3 = out[UL]
        .iter()
        .filter(|f| f[30..34] == VTEP3.octets())
        .count();
    assert_eq!(to_vtep3, 200, "the original always reaches one target");
    assert!(d.drop(Drop::NoFrame) > 0);
    d.assert_accounted();
    sw.assert_frames_home();
}

// ---------------------------------------------------------------------------
// 9. decap(encap(f)) == f, across two switches.

fn one_port_config(vtep: Ipv4Addr, peer: Ipv4Addr, peer_mac: &str, vni: u32) -> String {
    format!(
        r#"
[underlay]
vtep = "{vtep}"
mtu = 1500

[[underlay.neighbor]]
ip = "{peer}"
mac = "{peer_mac}"

[[vni]]
id = {vni}
flood = ["{peer}"]

[[port]]
name = "p"
vni = {vni}
"#
    )
}

fn inner_frame() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<[u8; 6]>(),
        any::<[u8; 6]>(),
        prop_oneof![Just(0x0800u16), Just(0x0806), Just(0x86dd), any::<u16>()],
        proptest::collection::vec(any::<u8>(), 0..1400),
    )
        .prop_filter("a station never sends to itself", |(dst, src, _, _)| {
            dst[..] != [src[0] & !1, src[1], src[2], src[3], src[4], src[5]]
        })
        .prop_map(|(dst, mut src, et, payload)| {
            src[0] &= !1;
            let mut f = Vec::with_capacity(14 + payload.len());
            f.extend_from_slice(&dst);
            f.extend_from_slice(&src);
            f.extend_from_slice(&et.to_be_bytes());
            f.extend_from_slice(&payload);
            f
        })
}

proptest! {
    #[test]
    fn decap_of_encap_is_identity(
        f in inner_frame(),
        vni in 1u32..=0xff_ffff,
        (moves_a, moves_b) in any::<(bool, bool)>(),
    ) {
        let mut a = Switch::build(
            &one_port_config(VTEP1, VTEP2, "02:00:00:00:01:02", vni), UPLINK_MAC, true, 16, moves_a);
        let mut b = Switch::build(
            &one_port_config(VTEP2, VTEP1, "02:00:00:00:01:01", vni), VTEP2_MAC, true, 16, moves_b);

        let (out, da) = a.send(1, &f);
        prop_assert_eq!(out[1].len(), 0);
        prop_assert_eq!(out[0].len(), 1);
        let outer = &out[0][0];
        check_outer_from(outer, VTEP1, UPLINK_MAC, VTEP2, VTEP2_MAC, vni, &f);
        prop_assert_eq!(da.all_drops(), 0);

        let (out, db) = b.send(0, outer);
        prop_assert_eq!(out[0].len(), 0);
        prop_assert_eq!(&out[1], &vec![f]);
        prop_assert_eq!(db.all_drops(), 0);
        prop_assert_eq!(db.event(Event::Decap), 1);
        prop_assert_eq!(db.vteps[b.vtep(VTEP1)], [0, 0, 1]);
        a.assert_frames_home();
        b.assert_frames_home();
    }
}

// ---------------------------------------------------------------------------
// 10. Hostile input.

/// A valid frame of some kind, then damaged: bytes overwritten and the end cut.
fn damaged() -> impl Strategy<Value = (usize, Vec<u8>)> {
    (
        0usize..12,
        0usize..200,
        proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
        any::<usize>(),
        0usize..4,
    )
        .prop_map(|(kind, i, hits, cut, port)| {
            let (p, mut f) = mixed(kind + 12 * i);
            for (at, v) in hits {
                if !f.is_empty() {
                    let at = at % f.len();
                    f[at] = v;
                }
            }
            if cut % 3 == 0 && !f.is_empty() {
                f.truncate(cut % f.len());
            }
            // Now and then send it to the wrong side.
            (if cut % 5 == 0 { port } else { p }, f)
        })
}

proptest! {
    #[test]
    fn random_bytes_on_uplink_end_in_one_place(
        frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..100)
    ) {
        let mut sw = Switch::from_config(CONFIG, UPLINK_MAC, true, 128);
        let before = sw.snapshot();
        for f in &frames {
            sw.inject(UL, f);
        }
        sw.run();
        let out = sw.take_all();
        let d = sw.snapshot().since(&before);
        let sent: usize = out.iter().map(Vec::len).sum();
        prop_assert_eq!(sent as u64, d.tx());
        prop_assert_eq!(d.rx(), frames.len() as u64);
        prop_assert_eq!(d.tx() + d.all_drops(), frames.len() as u64);
        sw.assert_frames_home();
    }

    #[test]
    fn random_bytes_on_any_port_end_in_one_place(
        frames in proptest::collection::vec((0usize..4, proptest::collection::vec(any::<u8>(), 0..300)), 1..100)
    ) {
        let mut sw = Switch::from_config(CONFIG, UPLINK_MAC, true, 512);
        let before = sw.snapshot();
        for (p, f) in &frames {
            sw.inject(*p, f);
        }
        sw.run();
        sw.take_all();
        let d = sw.snapshot().since(&before);
        prop_assert_eq!(d.rx(), frames.len() as u64);
        d.assert_accounted();
        sw.assert_frames_home();
    }

    #[test]
    fn damaged_frames_end_in_one_place(frames in proptest::collection::vec(damaged(), 1..100)) {
        let mut sw = Switch::from_config(CONFIG, UPLINK_MAC, true, 512);
        learn_x(&mut sw);
        let before = sw.snapshot();
        for (p, f) in &frames {
            sw.inject(*p, f);
        }
        sw.run();
        let out = sw.take_all();
        let d = sw.snapshot().since(&before);
        let sent: usize = out.iter().map(Vec::len).sum();
        prop_assert_eq!(sent as u64, d.tx());
        prop_assert_eq!(d.rx(), frames.len() as u64);
        d.assert_accounted();
        sw.assert_frames_home();
    }
}

// ---------------------------------------------------------------------------
// 10b. Moving a frame's start or its bytes: the same frames out.

/// Runs `frames` through two switches, one whose port moves frames' starts
/// for encap and decap and one whose pipeline moves the bytes, and checks
/// that every port sent the same frames, in the same order, and that every
/// counter agrees.
fn same_whether_starts_or_bytes_move(frames: &[(usize, Vec<u8>)]) {
    let mut out = Vec::new();
    for moves in [true, false] {
        let mut sw = Switch::build(CONFIG, UPLINK_MAC, true, 1024, moves);
        learn_x(&mut sw);
        let before = sw.snapshot();
        for (p, f) in frames {
            sw.inject(*p, f);
        }
        sw.run();
        out.push((sw.take_all(), sw.snapshot().since(&before)));
        sw.assert_frames_home();
    }
    let (fixed, moved) = (out.pop().expect("two runs"), out.pop().expect("two runs"));
    for (port, (m, f)) in moved.0.iter().zip(&fixed.0).enumerate() {
        assert_eq!(m.len(), f.len(), "port {port} sent as many frames");
        for (i, (a, b)) in m.iter().zip(f).enumerate() {
            assert_eq!(a, b, "port {port}, frame {i}");
        }
    }
    assert_eq!(moved.1, fixed.1, "counters");
}

#[test]
fn mixed_batch_same_whether_starts_or_bytes_move() {
    let frames: Vec<_> = (0..300).map(mixed).collect();
    same_whether_starts_or_bytes_move(&frames);
}

proptest! {
    #[test]
    fn damaged_frames_same_whether_starts_or_bytes_move(
        frames in proptest::collection::vec(damaged(), 1..100)
    ) {
        same_whether_starts_or_bytes_move(&frames);
    }
}

// ---------------------------------------------------------------------------
// 11. ARP suppression on access ports.

/// Overlay addresses of A, B and C (as `udp_frame` gives them).
const IP_A: Ipv4Addr = Ipv4Addr::new(198, 19, 100, 0x0a);
const IP_B: Ipv4Addr = Ipv4Addr::new(198, 19, 100, 0x0b);
const IP_X: Ipv4Addr = Ipv4Addr::new(198, 19, 100, 0x01);
const IP_Z: Ipv4Addr = Ipv4Addr::new(198, 19, 100, 0x02);
const IP_NOBODY: Ipv4Addr = Ipv4Addr::new(198, 19, 100, 0x99);

/// The switch with VNI 100's ARP table holding B, X (remote) and Z (remote),
/// and VNI 200's holding nothing.
fn arp_switch() -> Switch {
    let mut sw = Switch::from_config(CONFIG, UPLINK_MAC, true, 512);
    let bd = usize::from(sw.state.bd_of_vni(100).expect("VNI 100 is configured"));
    let mut table = vec![
        (u32::from(IP_Z), MAC_Z),
        (u32::from(IP_B), MAC_B),
        (u32::from(IP_X), MAC_X),
    ];
    table.sort_unstable();
    sw.state.bds[bd].arp = table;
    sw
}

/// Checks every field of `r`, the ARP reply that `owner` (`owner_ip`) owns
/// sends to `requester` at `requester_ip`, as `etherparse` slices it.
fn check_arp_reply(
    r: &[u8],
    requester: [u8; 6],
    requester_ip: Ipv4Addr,
    owner: [u8; 6],
    owner_ip: Ipv4Addr,
) {
    assert_eq!(r.len(), 42, "the request's length");
    let p = etherparse::SlicedPacket::from_ethernet(r).expect("an Ethernet frame");
    let Some(etherparse::LinkSlice::Ethernet2(eth)) = p.link else {
        panic!("no Ethernet II header: {:?}", p.link);
    };
    assert_eq!(eth.destination(), requester, "Ethernet dst: the requester");
    assert_eq!(eth.source(), owner, "Ethernet src: the owner");
    assert_eq!(eth.ether_type(), EtherType::ARP);
    let Some(etherparse::NetSlice::Arp(arp)) = p.net else {
        panic!("no ARP packet: {:?}", p.net);
    };
    let arp = arp.to_packet();
    assert_eq!(arp.hw_addr_type, etherparse::ArpHardwareId::ETHERNET);
    assert_eq!(arp.proto_addr_type, EtherType::IPV4);
    assert_eq!((arp.hw_addr_size(), arp.protocol_addr_size()), (6, 4));
    assert_eq!(
        arp.try_eth_ipv4().expect("Ethernet/IPv4 ARP"),
        etherparse::ArpEthIpv4Packet {
            operation: etherparse::ArpOperation::REPLY,
            sender_mac: owner,
            sender_ipv4: owner_ip.octets(),
            target_mac: requester,
            target_ipv4: requester_ip.octets(),
        }
    );
}

#[test]
fn arp_request_for_a_known_address_answered_on_its_port() {
    let mut sw = arp_switch();
    let bd = sw.state.bd_of_vni(100).expect("VNI 100 is configured");

    let (out, d) = sw.send(P100A, &arp(1, MAC_A, IP_A, IP_B));
    let back = only_on(&out, P100A);
    assert_eq!(back.len(), 1, "one reply, back where the request came from");
    check_arp_reply(&back[0], MAC_A, IP_A, MAC_B, IP_B);
    d.assert_drops(&[]);
    // The requester is learned first, as the source of any frame is.
    d.assert_events(&[(Event::LearnNew, 1), (Event::ArpSuppressed, 1)]);
    assert_eq!(sw.fdb.lookup(bd, &MAC_A), Some(Dest::Port(P100A as u16)));
    assert_eq!(d.ports[P100A], [1, 42, 1, 42]);
    assert_eq!(d.ports[UL], [0; 4], "nothing to the underlay");
    assert_eq!(d.vteps.iter().map(|v| v[0]).sum::<u64>(), 0);
    d.assert_accounted();

    // Remote owners too, from the other port: the binary search finds each.
    for (owner, owner_ip) in [(MAC_X, IP_X), (MAC_Z, IP_Z)] {
        let (out, d) = sw.send(P100B, &arp(1, MAC_B, IP_B, owner_ip));
        let back = only_on(&out, P100B);
        assert_eq!(back.len(), 1);
        check_arp_reply(&back[0], MAC_B, IP_B, owner, owner_ip);
        d.assert_drops(&[]);
        assert_eq!(d.event(Event::ArpSuppressed), 1);
        assert_eq!(d.event(Event::Flooded), 0);
        d.assert_accounted();
    }

    // An RFC 5227 probe (sender 0.0.0.0) from another station asks too,
    // and hears the owner.
    let (out, d) = sw.send(P100A, &arp(1, MAC_A, Ipv4Addr::UNSPECIFIED, IP_B));
    let back = only_on(&out, P100A);
    assert_eq!(back.len(), 1);
    check_arp_reply(&back[0], MAC_A, Ipv4Addr::UNSPECIFIED, MAC_B, IP_B);
    d.assert_drops(&[]);
    d.assert_events(&[(Event::ArpSuppressed, 1)]);
    sw.assert_frames_home();
}

#[test]
fn arp_the_table_cannot_answer_is_flooded() {
    let mut sw = arp_switch();
    let cases = [
        (
            "an address not in the table",
            arp(1, MAC_A, IP_A, IP_NOBODY),
        ),
        ("a reply, not a request", arp(2, MAC_A, IP_A, IP_B)),
        // A gratuitous ARP announces: everyone should hear it.
        ("a gratuitous request", arp(1, MAC_B, IP_B, IP_B)),
        ("a gratuitous reply", arp(2, MAC_B, IP_B, IP_B)),
        // The owner probing its own address must not hear itself (it
        // would take the reply for a conflict); nobody else answers.
        (
            "the owner's own probe",
            arp(1, MAC_B, Ipv4Addr::UNSPECIFIED, IP_B),
        ),
    ];
    for (name, f) in &cases {
        let from = if f[6..12] == MAC_B { P100B } else { P100A };
        let other = if from == P100A { P100B } else { P100A };
        let (out, d) = sw.send(from, f);
        assert!(out[from].is_empty(), "{name}: nothing back");
        assert_eq!(out[other], vec![f.clone()], "{name}: local copy");
        assert!(out[P200].is_empty(), "{name}: nothing into VNI 200");
        assert_eq!(out[UL].len(), 2, "{name}: one copy per VTEP");
        for o in &out[UL] {
            let dst = Ipv4Addr::from(<[u8; 4]>::try_from(&o[30..34]).expect("4 bytes"));
            let mac = if dst == VTEP2 { VTEP2_MAC } else { VTEP3_MAC };
            check_outer(o, dst, mac, 100, f);
        }
        d.assert_drops(&[]);
        assert_eq!(d.event(Event::ArpSuppressed), 0, "{name}");
        assert_eq!(d.event(Event::Flooded), 1, "{name}");
        assert_eq!(d.event(Event::Encap), 2, "{name}");
        d.assert_accounted();
    }

    // The table is per VNI: C in VNI 200 asking for B's address is flooded
    // in VNI 200.
    let f = arp(1, MAC_C, Ipv4Addr::new(198, 19, 200, 0x0c), IP_B);
    let (out, d) = sw.send(P200, &f);
    let ul = only_on(&out, UL);
    assert_eq!(ul.len(), 1);
    check_outer(&ul[0], VTEP2, VTEP2_MAC, 200, &f);
    d.assert_drops(&[]);
    d.assert_events(&[(Event::Flooded, 1), (Event::Encap, 1), (Event::LearnNew, 1)]);
    sw.assert_frames_home();
}

#[test]
fn truncated_arp_from_an_access_port_is_flooded() {
    // A switch forwards what it cannot read as ARP like any other frame:
    // only the suppression is skipped. Shorter than an Ethernet header is
    // dropped as `rx.truncated`, as for any frame.
    let mut sw = arp_switch();
    let full = arp(1, MAC_A, IP_A, IP_B);
    for len in 0..full.len() {
        let cut = &full[..len];
        let (out, d) = sw.send(P100A, cut);
        if len < 14 {
            assert_silent(&out);
            d.assert_drops(&[(Drop::Truncated, 1)]);
            d.assert_events(&[]);
            continue;
        }
        assert!(out[P100A].is_empty(), "len {len}: nothing back");
        assert_eq!(out[P100B], vec![cut.to_vec()], "len {len}: flooded");
        assert_eq!(out[UL].len(), 2, "len {len}: one copy per VTEP");
        d.assert_drops(&[]);
        assert_eq!(d.event(Event::ArpSuppressed), 0, "len {len}");
        assert_eq!(d.event(Event::Flooded), 1, "len {len}");
        d.assert_accounted();
    }
    // The whole request is answered.
    let (out, d) = sw.send(P100A, &full);
    check_arp_reply(&only_on(&out, P100A)[0], MAC_A, IP_A, MAC_B, IP_B);
    assert_eq!(d.event(Event::ArpSuppressed), 1);
    sw.assert_frames_home();
}

proptest! {
    #[test]
    fn damaged_arp_on_access_ports_ends_in_one_place(
        frames in proptest::collection::vec(
            (
                1usize..4,
                0usize..4,
                proptest::collection::vec((0usize..42, any::<u8>()), 0..4),
                0usize..=42,
            ),
            1..100,
        )
    ) {
        let mut sw = arp_switch();
        let before = sw.snapshot();
        for (port, kind, hits, len) in &frames {
            let mut f = match kind {
                0 => arp(1, MAC_A, IP_A, IP_B),
                1 => arp(1, MAC_B, Ipv4Addr::UNSPECIFIED, IP_X),
                2 => arp(1, MAC_C, IP_A, IP_Z),
                _ => arp(2, MAC_B, IP_B, IP_A),
            };
            for &(at, v) in hits {
                f[at] = v;
            }
            f.truncate(*len);
            sw.inject(*port, &f);
        }
        sw.run();
        let out = sw.take_all();
        let d = sw.snapshot().since(&before);
        let sent: usize = out.iter().map(Vec::len).sum();
        prop_assert_eq!(sent as u64, d.tx());
        prop_assert_eq!(d.rx(), frames.len() as u64);
        prop_assert!(d.event(Event::ArpSuppressed) <= frames.len() as u64);
        d.assert_accounted();
        sw.assert_frames_home();
    }
}

// ---------------------------------------------------------------------------
// 12. Learning off.

#[test]
fn learning_off_floods_unknown_counts_unlearned_and_uses_static_entries() {
    let config = CONFIG.replacen("id = 100\n", "id = 100\nlearning = false\n", 1);
    let mut sw = Switch::from_config(&config, UPLINK_MAC, true, 256);
    let bd = sw.state.bd_of_vni(100).expect("VNI 100 is configured");
    assert!(!sw.state.bds[usize::from(bd)].learning);
    let v2 = sw.vtep(VTEP2);
    let start = sw.snapshot();
    let n = 3;

    // Access side: A to B, again and again: never learned, always flooded.
    for i in 0..n {
        let f = udp_frame(MAC_A, MAC_B, i, b"who is B?");
        let (out, d) = sw.send(P100A, &f);
        assert_eq!(out[P100B], vec![f.clone()], "flooded to the other port");
        assert_eq!(out[UL].len(), 2, "and to both VTEPs");
        assert!(out[P100A].is_empty() && out[P200].is_empty());
        d.assert_drops(&[]);
        d.assert_events(&[
            (Event::Flooded, 1),
            (Event::FloodCopies, 2),
            (Event::Encap, 2),
            (Event::LearnDisabled, 1),
        ]);
    }
    // B answers A: A was never learned, so the answer is flooded too.
    let (out, d) = sw.send(P100B, &udp_frame(MAC_B, MAC_A, 1, b"here"));
    assert_eq!(out[P100A].len(), 1);
    assert_eq!(out[UL].len(), 2);
    assert_eq!(d.event(Event::LearnDisabled), 1);

    // Decap side: X behind .2 to A: not learned behind .2, flooded locally.
    let inner = udp_frame(MAC_X, MAC_A, 7, b"from afar");
    let (out, d) = sw.send(UL, &vxlan(VTEP2, 100, &inner));
    assert_eq!(out[P100A], vec![inner.clone()]);
    assert_eq!(out[P100B], vec![inner.clone()]);
    assert!(out[UL].is_empty() && out[P200].is_empty());
    d.assert_drops(&[]);
    d.assert_events(&[
        (Event::Decap, 1),
        (Event::Flooded, 1),
        (Event::FloodCopies, 1),
        (Event::LearnDisabled, 1),
    ]);
    assert_eq!(d.vteps[v2], [0, 0, 1]);

    let d = sw.snapshot().since(&start);
    assert_eq!(d.event(Event::LearnNew), 0);
    assert_eq!(d.event(Event::LearnDisabled), n as u64 + 2);
    assert!(sw.fdb.is_empty(), "nothing learned with learning off");

    // Static entries are used: B on p100b, A on p100a, X behind .2.
    sw.fdb
        .insert_static(bd, &MAC_B, Dest::Port(P100B as u16))
        .expect("room in the FDB");
    sw.fdb
        .insert_static(bd, &MAC_A, Dest::Port(P100A as u16))
        .expect("room in the FDB");
    sw.fdb
        .insert_static(bd, &MAC_X, Dest::Vtep(v2 as u16))
        .expect("room in the FDB");
    let f = udp_frame(MAC_A, MAC_B, 9, b"to B");
    let (out, d) = sw.send(P100A, &f);
    assert_eq!(only_on(&out, P100B), &[f]);
    d.assert_drops(&[]);
    d.assert_events(&[(Event::LearnDisabled, 1)]);

    let f = tcp_frame(MAC_A, MAC_X, 40000, b"to X");
    let (out, d) = sw.send(P100A, &f);
    let ul = only_on(&out, UL);
    assert_eq!(ul.len(), 1, "to .2 only");
    check_outer(&ul[0], VTEP2, VTEP2_MAC, 100, &f);
    d.assert_drops(&[]);
    d.assert_events(&[(Event::Encap, 1), (Event::LearnDisabled, 1)]);

    let (out, d) = sw.send(UL, &vxlan(VTEP2, 100, &inner));
    assert_eq!(only_on(&out, P100A), &[inner]);
    d.assert_drops(&[]);
    d.assert_events(&[(Event::Decap, 1), (Event::LearnDisabled, 1)]);
    assert_eq!(sw.fdb.len(), 3, "only the static entries");

    // VNI 200 still learns.
    let (_, d) = sw.send(P200, &icmp_frame(MAC_C, BROADCAST, 1));
    assert_eq!(d.event(Event::LearnNew), 1);
    assert_eq!(d.event(Event::LearnDisabled), 0);
    sw.assert_frames_home();
}
