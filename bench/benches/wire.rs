//! Header parsing: the switch's hand-written zero-copy views (`wire::*`)
//! against etherparse 0.21, and the inner flow hash.
//!
//! Port type: none. Frames are prebuilt byte buffers in memory (no sockets,
//! no kernel), so these are compute-only figures for this host's CPU; they
//! say nothing about veth or NIC throughput.
//!
//! Every bench walks a batch of 64 frames (one per flow) and reports
//! `Throughput::Elements(64)`: criterion's time per iteration / 64 is the
//! cost per packet, its elem/s the packets per second of one core.
//!
//! - `parse/views_{64B,1500B}`: what decap reads from a VXLAN-in-IPv4 uplink
//!   frame (outer Ethernet type; IPv4 checks, destination, checksum,
//!   fragment bits, protocol, source; UDP length and port; VXLAN flags and
//!   VNI; inner source and destination MAC), with `EthernetFrame`,
//!   `Ipv4Packet`, `UdpPacket` and `VxlanPacket`. The size is the inner
//!   frame's; the outer frame is 50 bytes longer.
//! - `parse/etherparse_sliced_*`: the same fields through
//!   `etherparse::SlicedPacket::from_ethernet` (the inner Ethernet header with
//!   `Ethernet2HeaderSlice`); `parse/etherparse_lax_*` through
//!   `LaxSlicedPacket::from_ethernet`; `parse/etherparse_headers_*` decoding
//!   owned headers with `Ethernet2Header`/`Ipv4Header`/`UdpHeader::from_slice`.
//!   etherparse has no VXLAN type: its 8 bytes are read by hand in all three.
//!   etherparse does not verify the IPv4 header checksum; all variants verify
//!   it with the switch's own `wire::checksum::checksum`, so the comparison
//!   is of parsing alone.
//! - `flow_hash/64B`: `pipeline::hash::flow_hash` over 64-byte inner frames
//!   (MACs, IPv4 addresses and protocol, UDP ports).
//! - `checksum/sum_1430B`: `wire::checksum::sum` over a 1,430-byte TCP
//!   segment (a full frame on a 1,500-byte overlay), the work of completing
//!   one partial checksum.
//! - `eth/views_64B` vs `eth/etherparse_64B`: an Ethernet-only classify
//!   (destination, source, multicast bit, EtherType), as access_rx does, with
//!   `EthernetFrame` vs `Ethernet2HeaderSlice`.

use std::hint::black_box;
use std::time::Duration;

use bench::{access_batch, uplink_batch, BATCH};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use etherparse::{
    Ethernet2Header, Ethernet2HeaderSlice, Ipv4Header, LaxNetSlice, LaxSlicedPacket, LinkSlice,
    NetSlice, SlicedPacket, TransportSlice, UdpHeader,
};
use vxswitch::wire::ethernet::{self, EthernetFrame};
use vxswitch::wire::ipv4::{self, Ipv4Packet};
use vxswitch::wire::udp::UdpPacket;
use vxswitch::wire::vxlan::VxlanPacket;
use vxswitch::wire::{checksum, is_multicast, Mac};

/// What decap needs to know from a VXLAN frame; parsers fold it into a u64
/// so that nothing they read can be optimised away.
#[inline(always)]
fn fold(dst_ip: [u8; 4], src_ip: [u8; 4], port: u16, vni: u32, src: Mac, dst: Mac) -> u64 {
    u64::from(u32::from_be_bytes(dst_ip))
        ^ u64::from(u32::from_be_bytes(src_ip)).rotate_left(13)
        ^ u64::from(port) << 40
        ^ u64::from(vni) << 7
        ^ u64::from(src[5]) << 56
        ^ u64::from(dst[5]) << 48
}

/// The VXLAN header's flags-valid test and VNI, read by hand (etherparse has
/// no VXLAN type).
#[inline(always)]
fn vxlan_by_hand(b: &[u8]) -> Option<(u32, &[u8])> {
    if b.len() < 8 {
        return None;
    }
    if b[0] != 0x08 || b[1] != 0 || b[2] != 0 || b[3] != 0 || b[7] != 0 {
        return None;
    }
    Some((u32::from_be_bytes([0, b[4], b[5], b[6]]), &b[8..]))
}

fn parse_views(frame: &[u8]) -> Option<u64> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    if eth.ethertype() != ethernet::ETHERTYPE_IPV4 {
        return None;
    }
    let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
    let dst_ip = ip.dst();
    if !ip.verify_checksum() || ip.is_fragment() || ip.protocol() != ipv4::PROTO_UDP {
        return None;
    }
    let udp = UdpPacket::new_checked(ip.payload()).ok()?;
    let port = udp.dst_port();
    let vx = VxlanPacket::new_checked(udp.payload()).ok()?;
    if !vx.flags_valid() {
        return None;
    }
    let inner = EthernetFrame::new_checked(vx.payload()).ok()?;
    Some(fold(
        dst_ip.octets(),
        ip.src().octets(),
        port,
        vx.vni(),
        inner.src(),
        inner.dst(),
    ))
}

/// What both etherparse slicers share once they have the IPv4 header and the
/// transport: the checks decap makes, then the VXLAN header and inner MACs.
/// Inlined, so each slicer is measured as if written out in full.
#[inline(always)]
fn outer_tail(
    h: etherparse::Ipv4HeaderSlice<'_>,
    transport: Option<TransportSlice<'_>>,
) -> Option<u64> {
    if checksum::checksum(h.slice()) != 0 || h.is_fragmenting_payload() {
        return None;
    }
    let udp = match transport {
        Some(TransportSlice::Udp(u)) => u,
        _ => return None,
    };
    let (vni, inner) = vxlan_by_hand(udp.payload())?;
    let inner = Ethernet2HeaderSlice::from_slice(inner).ok()?;
    Some(fold(
        h.destination(),
        h.source(),
        udp.destination_port(),
        vni,
        inner.source(),
        inner.destination(),
    ))
}

fn parse_sliced(frame: &[u8]) -> Option<u64> {
    let p = SlicedPacket::from_ethernet(frame).ok()?;
    match p.link {
        Some(LinkSlice::Ethernet2(_)) => {}
        _ => return None,
    }
    let ip = match p.net {
        Some(NetSlice::Ipv4(ip)) => ip,
        _ => return None,
    };
    outer_tail(ip.header(), p.transport)
}

fn parse_lax(frame: &[u8]) -> Option<u64> {
    let p = LaxSlicedPacket::from_ethernet(frame).ok()?;
    if p.stop_err.is_some() {
        return None;
    }
    let ip = match p.net {
        Some(LaxNetSlice::Ipv4(ip)) => ip,
        _ => return None,
    };
    outer_tail(ip.header(), p.transport)
}

fn parse_headers(frame: &[u8]) -> Option<u64> {
    let (eth, rest) = Ethernet2Header::from_slice(frame).ok()?;
    if eth.ether_type != etherparse::EtherType::IPV4 {
        return None;
    }
    if checksum::checksum(rest.get(..ipv4::HEADER_LEN)?) != 0 {
        return None;
    }
    let (ip, rest) = Ipv4Header::from_slice(rest).ok()?;
    if ip.is_fragmenting_payload() || ip.protocol != etherparse::IpNumber::UDP {
        return None;
    }
    let ip_payload = rest.get(..usize::from(ip.payload_len().ok()?))?;
    let (udp, rest) = UdpHeader::from_slice(ip_payload).ok()?;
    let (vni, inner) = vxlan_by_hand(rest.get(..usize::from(udp.length).checked_sub(8)?)?)?;
    let (inner, _) = Ethernet2Header::from_slice(inner).ok()?;
    Some(fold(
        ip.destination,
        ip.source,
        udp.destination_port,
        vni,
        inner.source,
        inner.destination,
    ))
}

fn bench_parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Elements(BATCH as u64))
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(1500));
    type Parser = fn(&[u8]) -> Option<u64>;
    let parsers: [(&str, Parser); 4] = [
        ("views", parse_views),
        ("etherparse_sliced", parse_sliced),
        ("etherparse_lax", parse_lax),
        ("etherparse_headers", parse_headers),
    ];
    for (size, inner_len) in [("64B", 64), ("1500B", 1500)] {
        let frames = uplink_batch(100, inner_len);
        let want: Vec<u64> = frames
            .iter()
            .map(|f| parse_views(f).expect("valid"))
            .collect();
        for (name, parse) in parsers {
            // Every parser reads the same fields, so all agree.
            let got: Vec<u64> = frames.iter().map(|f| parse(f).expect("valid")).collect();
            assert_eq!(got, want, "{name} disagrees with the views");
            g.bench_function(format!("{name}_{size}"), |b| {
                b.iter(|| {
                    let mut acc = 0u64;
                    for f in &frames {
                        acc ^= parse(black_box(f)).unwrap_or(0);
                    }
                    acc
                })
            });
        }
    }
    g.finish();
}

fn bench_flow_hash(c: &mut Criterion) {
    let mut g = c.benchmark_group("flow_hash");
    g.throughput(Throughput::Elements(BATCH as u64))
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(1500));
    let frames = access_batch(64);
    g.bench_function("64B", |b| {
        b.iter(|| {
            let mut acc = 0u32;
            for f in &frames {
                acc ^= vxswitch::pipeline::hash::flow_hash(black_box(f));
            }
            acc
        })
    });
    g.finish();
}

fn bench_checksum(c: &mut Criterion) {
    let mut g = c.benchmark_group("checksum");
    g.throughput(Throughput::Elements(BATCH as u64))
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(1500));
    // The TCP segment of a full-size frame on a 1,500-byte overlay: what
    // completing a partial checksum sums (pipeline::csum).
    let segs: Vec<Vec<u8>> = (0..BATCH)
        .map(|i| (0..1430).map(|k| (k * 31 + i * 7) as u8).collect())
        .collect();
    g.bench_function("sum_1430B", |b| {
        b.iter(|| {
            let mut acc = 0u32;
            for s in &segs {
                acc = acc.wrapping_add(checksum::sum(0, black_box(s)));
            }
            acc
        })
    });
    g.finish();
}

fn bench_eth(c: &mut Criterion) {
    let mut g = c.benchmark_group("eth");
    g.throughput(Throughput::Elements(BATCH as u64))
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(1500));
    let frames = access_batch(64);
    g.bench_function("views_64B", |b| {
        b.iter(|| {
            let mut acc = 0u64;
            for f in &frames {
                let Ok(e) = EthernetFrame::new_checked(black_box(&f[..])) else {
                    continue;
                };
                let (src, dst) = (e.src(), e.dst());
                acc ^= u64::from(e.ethertype())
                    ^ u64::from(is_multicast(&src)) << 20
                    ^ u64::from(is_multicast(&dst)) << 21
                    ^ u64::from(src[5]) << 24
                    ^ u64::from(dst[5]) << 32;
            }
            acc
        })
    });
    g.bench_function("etherparse_64B", |b| {
        b.iter(|| {
            let mut acc = 0u64;
            for f in &frames {
                let Ok(e) = Ethernet2HeaderSlice::from_slice(black_box(&f[..])) else {
                    continue;
                };
                let (src, dst) = (e.source(), e.destination());
                acc ^= u64::from(e.ether_type().0)
                    ^ u64::from(is_multicast(&src)) << 20
                    ^ u64::from(is_multicast(&dst)) << 21
                    ^ u64::from(src[5]) << 24
                    ^ u64::from(dst[5]) << 32;
            }
            acc
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    bench_parse,
    bench_flow_hash,
    bench_checksum,
    bench_eth
);
criterion_main!(benches);
