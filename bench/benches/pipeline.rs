//! The pipeline's stages and whole paths, over batches of 64 frames, calling
//! the very functions the switch runs (`pipeline::*`, `worker::forward`).
//!
//! Port type: in-memory (`port::mem::MemBackend`) or plain frame-sized
//! buffers; no sockets, no kernel, no copies to or from a NIC. These are
//! compute-only figures for one core of this host: an upper bound for what
//! a worker can do, not veth or NIC throughput. The switch is
//! `bench::CONFIG` (uplink MTU 1600), its FDB sized like the default
//! (65,536 entries) and holding the 64 local and 64 remote hosts that the
//! batches use (one flow per frame), all learned in the same second as the
//! benches run, so source learning finds its entry and writes nothing.
//!
//! Every bench reports `Throughput::Elements(64)`: criterion's time per
//! iteration / 64 is the cost per packet (per input frame for `flood`), its
//! elem/s the packets per second of one core.
//!
//! Stages, on frame buffers of `port::mem::FRAME_SIZE` bytes (a UMEM chunk's
//! data area):
//! - `classify/access_64B`: `access_rx` of a 64 B frame whose destination is
//!   learned behind a remote VTEP (learn the source, look up the destination).
//! - `arp/suppress_42B`: `access_rx` of a 42 B ARP request from a learned
//!   local host for an address in VNI 100's ARP table (1,024 entries; the
//!   batch's 64 requests spread over it): learn the source (no write), the
//!   EtherType check, the ARP parse, the table's binary search and the
//!   in-place rewrite into the reply. The rewrite makes the frame a reply,
//!   so the frames are restored before every batch as for `decap`.
//! - `decap/ipv4_{64B,1500B}`: `uplink_rx` of a VXLAN frame carrying a 64 B
//!   or 1,500 B inner frame: outer checks, learning, lookup and the in-place
//!   50-byte shift (what a port that cannot move a frame's start needs).
//!   It overwrites the frame, so before every batch the 64 frames are
//!   restored from their templates by a memcpy outside the timed region
//!   (`iter_custom`, one clock read pair per batch; see
//!   `overhead/timer_per_batch`). `decap/in_place_ipv4_{64B,1500B}`:
//!   `uplink_rx_in_place`, the same without the shift, as the AF_XDP
//!   worker decapsulates (it then moves the frame's start past the outer
//!   headers: `Backend::adjust_head`).
//! - `encap/{64B,1500B}`: `pipeline::encap::encap` (the 50-byte shift and
//!   the template write and patching) toward an on-link VTEP. Its cost does
//!   not depend on the bytes it moves, so it runs on the same buffers again
//!   and again with no restore. `encap/in_room_{64B,1500B}`: as the AF_XDP
//!   worker encapsulates, `outer_len` (the checks) and `write_outer` into
//!   the 50 bytes before the frame (its start moved back), no shift.
//!   `encap/outer_header_only`: `write_outer` alone, into a 50-byte header.
//! - `mtu/mss_clamp_syn`: `pipeline::mtu::clamp_mss` on TCP SYNs (NOP, NOP,
//!   timestamps, then MSS 8960) to the BD's auto clamp (1510 here): find
//!   the SYN, walk the options, rewrite the MSS, update the checksum
//!   incrementally. Frames restored before each batch, as for `decap`.
//!   `mtu/mss_clamp_not_syn_64B`: the same call on 64 B UDP frames, which
//!   it leaves alone: what every frame crossing the underlay pays.
//! - `mtu/icmp_too_big_{v4,v6}_1614B`: `reply_for` then `write_reply` on
//!   frames whose IP packet (1,600 B, IPv4 with DF or IPv6) exceeds the
//!   overlay MTU (1,550 B): the checks, the in-place rewrite into ICMP
//!   frag-needed / ICMPv6 packet-too-big quoting 548 / 1,232 bytes, and the
//!   checksum. The worker's rate limit (one token take) is left out, or
//!   it would stop the bench after 100 replies. Frames restored per batch.
//! - `gso/cut_64KB`: `pipeline::gso` on a TCP super-frame of 64,000 bytes
//!   of payload held in 3,840-byte parts, as AF_XDP hands a chain over in
//!   generic mode: `plan`, `Plan::write` of each of its 46 segments into
//!   a frame buffer, and `csum::complete_partial` on each (the pipeline
//!   finishes their checksums). Reported per segment.
//! - `mtu/fragment_1500B_in_2`: `pipeline::frag` on 1,514-byte frames
//!   (1,500 B of IPv4 + UDP without DF) for an overlay MTU of 1,450 (a
//!   1,500-byte underlay; the rig's own is larger, so the MTU is passed):
//!   `plan` (the checks and the option walk), `Plan::write` of the second
//!   fragment (headers and 56 bytes of payload) into a spare frame buffer,
//!   and `Plan::first` in place (length, flags, header checksum), as
//!   `worker::to_vtep` does before encapsulating each. Per input packet;
//!   the frame allocation and the two encaps are not included. Frames
//!   restored per batch.
//! - `ecmp/flow_hash_pick`: `flow_hash` of the inner frame, then
//!   `write_outer` toward a VTEP off the uplink subnet, which picks one of 4
//!   next hops by that hash. The pick has no function of its own, so this
//!   includes the header write: subtract `encap/outer_header_only` for the
//!   hash and pick alone.
//!
//! Through the in-memory port (`MemBackend`), each iteration timed whole:
//! inject 64 frames (a copy into the backend's frames, as a copying backend
//! does on receive), `rx` them, `worker::forward` each with real `Counters`,
//! then `flush`. The mem backend allocates in `flush` (a `Vec` per frame
//! sent, to hand frames back to tests, and its per-port TX lists lose their
//! capacity each flush), so these include allocator time that a real backend
//! does not have. Collecting the output (`take`) is outside the timed region.
//! - `flood/8_vteps_64B`: a broadcast from port p200, whose VNI floods to 8
//!   remote VTEPs and has no other local port: 8 encapsulated copies (7
//!   clones) per input frame. Per input frame; divide by 8 for per copy.
//! - `path/access_to_uplink_{64B,1500B}`: access frames to a host learned
//!   behind a remote VTEP: classify, learn, lookup, flow hash, encap, TX.
//! - `path/uplink_to_access_{64B,1500B}`: VXLAN frames from that VTEP to a
//!   local host: validate, learn, lookup, decap, TX. The size is the inner
//!   frame's.
//!
//! Without a port (`path_core/*`): the worker's own code and nothing else,
//! through `bench::Staged`, a backend over 64 pre-made frame buffers with no
//! rings and no allocation, each with a UMEM chunk's room before the frame,
//! whose start moves as an AF_XDP frame's does (encap writes the outer
//! headers into that room, decap moves the start past them: no shift):
//! `rx`, `worker::forward_batch` (every stage the
//! switch runs on the path, MSS clamp check and checksum completion check
//! included), the flush's per-port TX count and the tally's publish, with
//! the same `Counters` a worker has. Frames are restored from templates
//! outside the timed region, as for `decap`. The difference between
//! `path/*` and `path_core/*` is the mem backend's own cost.
//! - `path_core/access_to_uplink_{64B,1500B}`: classify, learn, lookup,
//!   flow hash, encap toward a VTEP, queue on the uplink.
//! - `path_core/uplink_to_access_{64B,1500B}`: validate, learn, lookup,
//!   decap, queue on the access port.
//!
//! Counters (DESIGN.md: under 3 % of pipeline time). The worker counts in
//! locals for a batch (`stats::Tally`) and per batch or send (port rx, tx)
//! and publishes once per batch.
//! - `stats/paired_{access_to_uplink,uplink_to_access}_64B`: the worker's
//!   real code (`path_core`'s [`bench::Staged`] iteration: busy clock, rx,
//!   `forward_batch`, flush, publish) with its counting and without it
//!   (`Staged::uncounted`: the same functions compiled with a
//!   `Tally<false>`, whose per-frame counts are empty, no bytes summed or
//!   counted at the flush and no busy clock; the bench checks that it
//!   writes no counter), timed batch by batch in turn in one loop (which
//!   goes first alternates) with an empty timed region beside them for the
//!   clock reads; criterion reports the counting variant's time, and the
//!   bench prints the counting's cost as a share of the uncounted
//!   variant's time, from the medians of the three (an interrupt in one
//!   batch moves no median), clock reads taken out of both. Separate runs
//!   of two variants move with this shared machine by more than the 3 % in
//!   question; here drift hits both alike.
//! - `stats/counting_only`: that counting alone for 64 frames (the tally's
//!   per-frame encap and VTEP run, port rx and tx per batch, the publish),
//!   with nothing for it to overlap with: an upper bound of its cost.
//!
//! - `overhead/timer_per_batch`: the `iter_custom` harness with nothing in it:
//!   the clock reads that the restoring benches include, per packet.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bench::{
    access_batch, arp_batch, local_host, remote_host, uplink_batch, Frames, Rig, Staged, BATCH,
    P100A, P200, UL, VTEP_REMOTE, VTEP_ROUTED,
};
use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, Bencher, BenchmarkGroup, Criterion, Throughput};
use vxswitch::pipeline::access::access_rx;
use vxswitch::pipeline::csum::complete_partial;
use vxswitch::pipeline::encap::{encap, outer_len, write_outer};
use vxswitch::pipeline::hash::flow_hash;
use vxswitch::pipeline::mtu::{clamp_mss, reply_for, write_reply};
use vxswitch::pipeline::uplink::{uplink_rx, uplink_rx_in_place};
use vxswitch::pipeline::Verdict;
use vxswitch::pipeline::{frag, gso};
use vxswitch::port::arena::ArenaDesc;
use vxswitch::port::mem::{MemBackend, FRAME_SIZE};
use vxswitch::port::Backend;
use vxswitch::state::{ENCAP_LEN, UPLINK};
use vxswitch::stats::{Event, Tally};
use vxswitch::wire::checksum;
use vxswitch::worker;

/// The FDB clock during every bench: the second the hosts were learned in.
const NOW: u32 = 1;
/// FDB capacity: the switch's default.
const FDB_CAPACITY: usize = 65_536;
/// Frames in the mem backend: a batch, flood copies included, with room.
const MEM_FRAMES: usize = 1024;
/// Entries in VNI 100's ARP table for `arp/suppress_42B`, and the stride
/// between the entries the batch's requests ask for.
const ARP_ENTRIES: usize = 1024;
const ARP_STRIDE: usize = 16;

fn rig() -> Rig {
    let rig = Rig::new(FDB_CAPACITY);
    rig.learn_hosts(100, P100A, NOW);
    rig
}

fn group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(BATCH as u64))
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(1500));
    g
}

/// Times `body` over a batch, restoring the frames before each batch
/// outside the timed region.
fn restored(b: &mut Bencher, frames: &mut Frames, mut body: impl FnMut(&mut Frames)) {
    b.iter_custom(|iters| {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            frames.restore();
            let t = Instant::now();
            body(frames);
            total += t.elapsed();
        }
        total
    })
}

// ---------------------------------------------------------------------------
// Stages.

fn bench_classify(c: &mut Criterion) {
    let rig = rig();
    let v = rig.vtep(VTEP_REMOTE);
    let mut frames = Frames::new(access_batch(64));
    for (buf, &len) in frames.bufs.iter_mut().zip(&frames.lens) {
        let r = access_rx(&rig.state, &rig.fdb, P100A, &mut buf[..len], NOW, &rig.ctr);
        assert_eq!(r, Ok(Verdict::Vtep(v)));
    }
    let mut g = group(c, "classify");
    // access_rx writes only ARP requests it answers: these frames stay as
    // they are, so there is nothing to restore.
    g.bench_function("access_64B", |b| {
        b.iter(|| {
            let mut n = 0;
            for (buf, &len) in frames.bufs.iter_mut().zip(&frames.lens) {
                let r = access_rx(&rig.state, &rig.fdb, P100A, &mut buf[..len], NOW, &rig.ctr);
                n += usize::from(matches!(black_box(r), Ok(Verdict::Vtep(_))));
            }
            n
        })
    });
    g.finish();
}

/// `access_rx` over a batch of ARP requests that the ARP table answers.
fn arp_suppress_batch(rig: &Rig, f: &mut Frames) -> usize {
    let mut n = 0;
    for (buf, &len) in f.bufs.iter_mut().zip(&f.lens) {
        let r = access_rx(&rig.state, &rig.fdb, P100A, &mut buf[..len], NOW, &rig.ctr);
        n += usize::from(matches!(black_box(r), Ok(Verdict::Port(P100A))));
    }
    n
}

fn bench_arp(c: &mut Criterion) {
    let mut rig = rig();
    rig.fill_arp(100, ARP_ENTRIES);
    let mut frames = Frames::new(arp_batch(ARP_STRIDE, ARP_ENTRIES));
    let before = rig.ctr.events(Event::ArpSuppressed);
    assert_eq!(arp_suppress_batch(&rig, &mut frames), BATCH);
    assert_eq!(rig.ctr.events(Event::ArpSuppressed) - before, BATCH as u64);
    let mut g = group(c, "arp");
    g.bench_function("suppress_42B", |b| {
        restored(b, &mut frames, |f| {
            black_box(arp_suppress_batch(&rig, f));
        })
    });
    g.finish();
}

fn decap_batch(rig: &Rig, f: &mut Frames) -> usize {
    let mut n = 0;
    let mut t = Tally::new(&rig.ctr);
    for (buf, len) in f.bufs.iter_mut().zip(&mut f.lens) {
        let r = uplink_rx(&rig.state, &rig.fdb, buf, len, NOW, &mut t);
        n += usize::from(matches!(black_box(r), Ok(Verdict::Port(_))));
    }
    t.publish();
    n
}

/// As `decap_batch`, leaving each inner frame where it is (the AF_XDP
/// worker moves the frame's start past the outer headers instead); returns
/// the frames decapsulated and the sum of their inner offsets.
fn decap_in_place_batch(rig: &Rig, f: &mut Frames) -> (usize, usize) {
    let (mut n, mut offs) = (0, 0);
    let mut t = Tally::new(&rig.ctr);
    for (buf, len) in f.bufs.iter_mut().zip(&mut f.lens) {
        let r = uplink_rx_in_place(&rig.state, &rig.fdb, buf, len, NOW, &mut t);
        if let Ok((Verdict::Port(_), off)) = black_box(r) {
            n += 1;
            offs += off;
        }
    }
    t.publish();
    (n, offs)
}

fn bench_decap(c: &mut Criterion) {
    let rig = rig();
    let mut g = group(c, "decap");
    for (size, inner_len) in [("64B", 64), ("1500B", 1500)] {
        let mut frames = Frames::new(uplink_batch(100, inner_len));
        assert_eq!(decap_batch(&rig, &mut frames), BATCH);
        assert!(frames.lens.iter().all(|&l| l == inner_len));
        g.bench_function(format!("ipv4_{size}"), |b| {
            restored(b, &mut frames, |f| {
                black_box(decap_batch(&rig, f));
            })
        });
        frames.restore();
        assert_eq!(
            decap_in_place_batch(&rig, &mut frames),
            (BATCH, BATCH * ENCAP_LEN)
        );
        assert!(frames.lens.iter().all(|&l| l == ENCAP_LEN + inner_len));
        g.bench_function(format!("in_place_ipv4_{size}"), |b| {
            restored(b, &mut frames, |f| {
                black_box(decap_in_place_batch(&rig, f));
            })
        });
    }
    g.finish();
}

fn bench_encap(c: &mut Criterion) {
    let rig = rig();
    let st = &rig.state;
    let vtep = &st.vteps[usize::from(rig.vtep(VTEP_REMOTE))];
    let mut g = group(c, "encap");
    for (size, len) in [("64B", 64), ("1500B", 1500)] {
        let mut frames = Frames::new(access_batch(len));
        let hashes: Vec<u32> = frames
            .bufs
            .iter()
            .zip(&frames.lens)
            .map(|(b, &l)| flow_hash(&b[..l]))
            .collect();
        g.bench_function(size, |b| {
            b.iter(|| {
                let mut total = 0;
                for (buf, h) in frames.bufs.iter_mut().zip(&hashes) {
                    total += encap(buf, len, st, vtep, 100, *h).unwrap_or(0);
                }
                black_box(total)
            })
        });
    }
    // As the AF_XDP worker does it: the frame's start moved back 50 bytes
    // into its room and the outer headers written there; no byte of the
    // inner frame moves.
    for (size, len) in [("64B", 64), ("1500B", 1500)] {
        let mut frames = Frames::with_head(access_batch(len), ENCAP_LEN);
        let hashes: Vec<u32> = frames
            .bufs
            .iter()
            .map(|b| flow_hash(&b[ENCAP_LEN..ENCAP_LEN + len]))
            .collect();
        g.bench_function(format!("in_room_{size}"), |b| {
            b.iter(|| {
                let mut total = 0;
                for (buf, h) in frames.bufs.iter_mut().zip(&hashes) {
                    if let Ok(ip_len) = outer_len(st, vtep, len, *h) {
                        write_outer(&mut buf[..ENCAP_LEN], st, vtep, 100, *h, ip_len);
                        total += len + ENCAP_LEN;
                    }
                }
                black_box(total)
            })
        });
    }
    let mut hdrs = vec![[0u8; ENCAP_LEN]; BATCH];
    g.bench_function("outer_header_only", |b| {
        b.iter(|| {
            for (i, h) in hdrs.iter_mut().enumerate() {
                write_outer(h, st, vtep, 100, black_box(i as u32), 100);
            }
            black_box(&hdrs);
        })
    });
    g.finish();
}

/// A TCP SYN from local host `i` to remote host `i` with MSS 8960 (a jumbo
/// host's) after NOP, NOP, timestamps.
fn syn_batch() -> Vec<Vec<u8>> {
    (0..BATCH)
        .map(|i| {
            let b = etherparse::PacketBuilder::ethernet2(local_host(i), remote_host(i))
                .ipv4([198, 19, 0, i as u8], [198, 19, 1, i as u8], 64)
                .tcp(40000 + i as u16, 443, i as u32, 64240)
                .syn()
                .options_raw(&[1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 2, 4, 0x23, 0x00])
                .expect("options fit");
            let mut v = Vec::new();
            b.write(&mut v, &[]).expect("writing to a Vec");
            v
        })
        .collect()
}

/// 1,614-byte frames (1,600 B of IPv6 + UDP) from local host `i`.
fn big_v6_batch() -> Vec<Vec<u8>> {
    (0..BATCH)
        .map(|i| {
            let b = etherparse::PacketBuilder::ethernet2(local_host(i), remote_host(i))
                .ipv6([0xfd; 16], [0xfe; 16], 64)
                .udp(40000 + i as u16, 5000);
            let mut v = Vec::new();
            b.write(&mut v, &[0x5a; 1600 - 48])
                .expect("writing to a Vec");
            v
        })
        .collect()
}

fn bench_mtu(c: &mut Criterion) {
    let rig = rig();
    let st = &rig.state;
    let mss = st.bds[usize::from(rig.bd(100))]
        .mss
        .expect("mss_clamp defaults to auto");
    assert_eq!(mss, 1510, "uplink MTU 1600 - 50 - 40");
    let mut g = group(c, "mtu");

    let clamp_batch = |f: &mut Frames| -> usize {
        let mut n = 0;
        for (buf, &len) in f.bufs.iter_mut().zip(&f.lens) {
            n += usize::from(clamp_mss(&mut buf[..len], black_box(mss)));
        }
        n
    };
    let mut syns = Frames::new(syn_batch());
    assert_eq!(clamp_batch(&mut syns), BATCH, "every SYN clamped");
    g.bench_function("mss_clamp_syn", |b| {
        restored(b, &mut syns, |f| {
            black_box(clamp_batch(f));
        })
    });
    let mut udp = Frames::new(access_batch(64));
    assert_eq!(clamp_batch(&mut udp), 0);
    g.bench_function("mss_clamp_not_syn_64B", |b| {
        b.iter(|| black_box(clamp_batch(&mut udp)))
    });

    let reply_batch = |f: &mut Frames| -> usize {
        let mut n = 0;
        for (buf, len) in f.bufs.iter_mut().zip(&mut f.lens) {
            if let Some(r) = reply_for(st, &buf[..*len]) {
                n += usize::from(write_reply(r, buf, len, &rig.ctr));
            }
        }
        n
    };
    for (name, frames, reply_len) in [
        ("icmp_too_big_v4_1614B", access_batch(1614), 14 + 576),
        ("icmp_too_big_v6_1614B", big_v6_batch(), 14 + 1280),
    ] {
        let mut frames = Frames::new(frames);
        assert_eq!(
            reply_batch(&mut frames),
            BATCH,
            "{name}: every frame answered"
        );
        assert!(frames.lens.iter().all(|&l| l == reply_len));
        g.bench_function(name, |b| {
            restored(b, &mut frames, |f| {
                black_box(reply_batch(f));
            })
        });
    }

    // 1,500 bytes of IPv4 without DF, for an overlay MTU of 1,450.
    let no_df: Vec<Vec<u8>> = access_batch(1514)
        .into_iter()
        .map(|mut f| {
            f[20] &= !0x40;
            f[24..26].copy_from_slice(&[0, 0]);
            let c = checksum::checksum(&f[14..34]);
            f[24..26].copy_from_slice(&c.to_be_bytes());
            f
        })
        .collect();
    let mut spare = vec![vec![0u8; FRAME_SIZE].into_boxed_slice(); BATCH];
    let mut frag_batch = |f: &mut Frames| -> usize {
        let mut n = 0;
        for ((buf, len), dst) in f.bufs.iter_mut().zip(&mut f.lens).zip(&mut spare) {
            if let Some(p) = frag::plan(&buf[..*len], black_box(1450)) {
                n += p.write(1, &buf[..*len], dst);
                *len = p.first(buf);
                n += *len;
            }
        }
        n
    };
    let mut frames = Frames::new(no_df);
    assert_eq!(
        frag_batch(&mut frames),
        BATCH * (14 + 20 + 1424 + 14 + 20 + 56),
        "every packet cut in two"
    );
    g.bench_function("fragment_1500B_in_2", |b| {
        restored(b, &mut frames, |f| {
            black_box(frag_batch(f));
        })
    });
    g.finish();
}

fn bench_ecmp(c: &mut Criterion) {
    let rig = rig();
    let st = &rig.state;
    let routed = &st.vteps[usize::from(rig.vtep(VTEP_ROUTED))];
    assert!(routed.mac.is_none() && st.config.underlay.next_hops.len() == 4);
    let frames = access_batch(64);
    let mut hdrs = vec![[0u8; ENCAP_LEN]; BATCH];
    let mut g = group(c, "ecmp");
    g.bench_function("flow_hash_pick", |b| {
        b.iter(|| {
            for (h, f) in hdrs.iter_mut().zip(&frames) {
                let hash = flow_hash(black_box(f));
                write_outer(h, st, routed, 300, hash, (f.len() + 36) as u16);
            }
            black_box(&hdrs);
        })
    });
    g.finish();
}

// ---------------------------------------------------------------------------
// Through the mem backend.

/// Injects `frames` on `in_port`, receives and forwards them, flushes.
fn mem_batch(mem: &mut MemBackend, rig: &Rig, in_port: u16, frames: &[Vec<u8>]) {
    let mut rxd = [ArenaDesc::default(); BATCH];
    for f in frames {
        mem.inject(usize::from(in_port), f);
    }
    let n = mem.rx(usize::from(in_port), &mut rxd);
    let mut t = Tally::new(&rig.ctr);
    worker::forward_batch(mem, &rig.state, &rig.fdb, in_port, &rxd[..n], NOW, &mut t);
    mem.flush(&rig.ctr);
    t.publish();
}

/// Benches [`mem_batch`] after checking that the batch comes out as
/// `want` frames on `out_port` and nowhere else.
fn mem_path(
    g: &mut BenchmarkGroup<WallTime>,
    name: &str,
    rig: &Rig,
    in_port: u16,
    frames: &[Vec<u8>],
    out_port: u16,
    want: usize,
) {
    let mut mem = MemBackend::new(rig.state.ports.len(), MEM_FRAMES);
    mem_batch(&mut mem, rig, in_port, frames);
    for p in 0..rig.state.ports.len() {
        let got = mem.take(p).len();
        let expect = if p == usize::from(out_port) { want } else { 0 };
        assert_eq!(got, expect, "{name}: frames out of port {p}");
    }
    g.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t = Instant::now();
                mem_batch(&mut mem, rig, in_port, frames);
                total += t.elapsed();
                black_box(mem.take(usize::from(out_port)));
            }
            total
        })
    });
    let f = mem.frames();
    assert_eq!(f.free, f.total, "{name}: frames leaked");
}

fn bench_flood(c: &mut Criterion) {
    let rig = rig();
    let bum: Vec<Vec<u8>> = (0..BATCH)
        .map(|i| bench::inner_udp(local_host(i), [0xff; 6], 40000 + i as u16, 64))
        .collect();
    let mut g = group(c, "flood");
    mem_path(&mut g, "8_vteps_64B", &rig, P200, &bum, UPLINK, 8 * BATCH);
    g.finish();
}

fn bench_path(c: &mut Criterion) {
    let rig = rig();
    let mut g = group(c, "path");
    for (size, len) in [("64B", 64), ("1500B", 1500)] {
        mem_path(
            &mut g,
            &format!("access_to_uplink_{size}"),
            &rig,
            P100A,
            &access_batch(len),
            UPLINK,
            BATCH,
        );
        mem_path(
            &mut g,
            &format!("uplink_to_access_{size}"),
            &rig,
            UL,
            &uplink_batch(100, len),
            P100A,
            BATCH,
        );
    }
    g.finish();
}

fn bench_path_core(c: &mut Criterion) {
    let rig = rig();
    let mut g = group(c, "path_core");
    let n_ports = rig.state.ports.len();
    for (size, len) in [("64B", 64), ("1500B", 1500)] {
        for (name, in_port, frames, out_port) in [
            ("access_to_uplink", P100A, access_batch(len), UPLINK),
            ("uplink_to_access", UL, uplink_batch(100, len), P100A),
        ] {
            let mut s = Staged::new(frames, in_port, n_ports);
            s.batch(&rig, NOW);
            assert_eq!(
                s.sent(out_port),
                BATCH,
                "{name}: every frame out of port {out_port}"
            );
            let all: usize = (0..n_ports as u16).map(|p| s.sent(p)).sum();
            assert_eq!(all, BATCH, "{name}: frames out of another port");
            g.bench_function(format!("{name}_{size}"), |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        s.restore();
                        let t = Instant::now();
                        s.batch(&rig, NOW);
                        total += t.elapsed();
                    }
                    total
                })
            });
        }
    }
    g.finish();
}

/// Every counter the two main paths write in steady state, to check that
/// the uncounted variant writes none.
fn steady_counts(rig: &Rig) -> Vec<u64> {
    let v = usize::from(rig.vtep(VTEP_REMOTE));
    let mut c = Vec::new();
    for p in [P100A, UPLINK] {
        c.extend(rig.ctr.port(usize::from(p)));
    }
    c.extend(rig.ctr.vtep(v));
    for e in [
        Event::Encap,
        Event::Decap,
        Event::BusyCycles,
        Event::BusyPackets,
    ] {
        c.push(rig.ctr.events(e));
    }
    c
}

fn bench_stats(c: &mut Criterion) {
    let rig = rig();
    let mut g = group(c, "stats");
    let n_ports = rig.state.ports.len();
    for (name, in_port, frames, out_port) in [
        ("access_to_uplink", P100A, access_batch(64), UPLINK),
        ("uplink_to_access", UL, uplink_batch(100, 64), P100A),
    ] {
        let mut on = Staged::new(frames.clone(), in_port, n_ports);
        let mut off = Staged::uncounted(frames, in_port, n_ports);
        let before = steady_counts(&rig);
        off.batch(&rig, NOW);
        assert_eq!(
            off.sent(out_port),
            BATCH,
            "{name}: the uncounted path forwards"
        );
        assert_eq!(
            steady_counts(&rig),
            before,
            "{name}: the uncounted path counted"
        );
        // Each batch's time, counting, not counting, and the clock reads
        // alone; compared by their medians, which an interrupt landing in
        // one batch does not move.
        let mut times: [Vec<u32>; 3] = Default::default();
        g.bench_function(format!("paired_{name}_64B"), |b| {
            b.iter_custom(|iters| {
                let mut counting = Duration::ZERO;
                for i in 0..iters {
                    for k in 0..3 {
                        // On, off, empty and off, on, empty in turn.
                        let which = if k == 2 { 2 } else { (i as usize + k) % 2 };
                        on.restore();
                        off.restore();
                        let t = Instant::now();
                        match which {
                            0 => on.batch(&rig, NOW),
                            1 => off.batch(&rig, NOW),
                            _ => {}
                        };
                        let e = t.elapsed();
                        times[which].push(e.as_nanos() as u32);
                        counting += if which == 0 { e } else { Duration::ZERO };
                    }
                }
                counting
            })
        });
        let [on_ns, off_ns, clock] = times.map(|mut v| {
            v.sort_unstable();
            f64::from(v.get(v.len() / 2).copied().unwrap_or(0))
        });
        if off_ns > clock {
            eprintln!(
                "stats/paired_{name}_64B: counting costs {:+.2} % (medians {:.0} vs {:.0} ns per \
                 batch of {BATCH} without the clock reads, {:.0} ns)",
                100.0 * (on_ns - off_ns) / (off_ns - clock),
                on_ns - clock,
                off_ns - clock,
                clock
            );
        }
    }
    let v = usize::from(rig.vtep(VTEP_REMOTE));
    let lens: Vec<usize> = access_batch(64).iter().map(Vec::len).collect();
    g.bench_function("counting_only", |b| {
        b.iter(|| {
            let mut t = Tally::new(&rig.ctr);
            let (mut rx, mut tx) = (0, 0);
            for &len in black_box(&lens) {
                rx += len;
                tx += len + ENCAP_LEN;
                t.encapped(v, len + ENCAP_LEN);
            }
            rig.ctr.port_rx(usize::from(P100A), lens.len(), rx);
            rig.ctr.port_tx(usize::from(UPLINK), lens.len(), tx);
            t.publish();
        })
    });
    g.finish();
}

fn bench_gso(c: &mut Criterion) {
    let mut f = Vec::new();
    etherparse::PacketBuilder::ethernet2(local_host(1), remote_host(1))
        .ipv4([198, 19, 100, 1], [198, 19, 100, 2], 64)
        .tcp(40000, 5201, 1, 64240)
        .write(&mut f, &vec![0x5a; 64_000])
        .expect("a frame");
    let parts: Vec<&[u8]> = f.chunks(3840).collect();
    let plan = gso::plan(parts[0], f.len(), 1450).expect("a TCP super-frame");
    let mut outs = vec![vec![0u8; FRAME_SIZE]; plan.count()];
    let mut g = group(c, "gso");
    g.throughput(Throughput::Elements(plan.count() as u64));
    g.bench_function("cut_64KB", |b| {
        b.iter(|| {
            let p = gso::plan(black_box(parts[0]), f.len(), 1450).expect("a TCP super-frame");
            for (k, out) in outs.iter_mut().enumerate() {
                let n = p.write(&parts, k, out);
                black_box(complete_partial(&mut out[..n]));
            }
        })
    });
    g.finish();
}

fn bench_overhead(c: &mut Criterion) {
    let mut g = group(c, "overhead");
    let mut frames = Frames::new(vec![vec![0u8; 64]; BATCH]);
    g.bench_function("timer_per_batch", |b| {
        restored(b, &mut frames, |f| {
            black_box(f);
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    bench_classify,
    bench_arp,
    bench_decap,
    bench_encap,
    bench_mtu,
    bench_ecmp,
    bench_flood,
    bench_path,
    bench_path_core,
    bench_stats,
    bench_gso,
    bench_overhead
);
criterion_main!(benches);
