//! xdpfwd: a raw AF_XDP forwarder between two interfaces, the ceiling for
//! any AF_XDP switch on the same path (same sockets, same rings, same
//! kicks, no pipeline).
//!
//! ```text
//!   --a IF ─RX─▶ [UMEM frame] ─TX─▶ --b IF
//!   --a IF ◀─TX─ [UMEM frame] ◀─RX─ --b IF
//! ```
//!
//! One UMEM, shared (XDP_SHARED_UMEM) by a socket on queue 0 of each
//! interface, each behind vxswitch's redirect-all XDP program. A frame
//! received on one socket is put as it is (same descriptor, no copy) on the
//! other socket's TX ring; its completion returns it to a free list that
//! refills both fill rings. The loop takes from a RX ring only as many
//! frames as the other TX ring has room for, so it never drops: when the
//! far side is slow, the backlog stays in the RX ring and the kernel counts
//! what overflows (printed at exit as `rx_ring_full`).
//!
//! Sizes are vxswitch's (rings of 2048, 4096-byte chunks) so the numbers
//! compare. Per loop: one RX batch (<= 64) each way, kicks while a TX ring
//! has a backlog (copy mode sends 32 frames per sendto), completions reaped,
//! fill rings topped up. No allocation and no system call per packet.
//!
//! With `--yield-idle` an iteration that moved, kicked and reaped nothing
//! ends with `sched_yield`, so a process sharing the core (iperf3 in the TCP
//! harness) runs at once, as beside vxswitch's adaptive worker.
//!
//! With `--busy-poll` the sockets ask for preferred busy polling and the
//! loop makes one non-blocking recvfrom per socket whose RX ring came up
//! short, which is what runs the NAPI poll (experimental on veth).
//!
//! On SIGUSR1 it prints one JSON line with its running totals, busy cycles
//! (as below) and frames moved, and goes on: the harness reads it before
//! and after each measurement.
//!
//! On SIGINT or SIGTERM (or after `--duration`) it prints frames forwarded
//! each way and, from the TSC, the cycles spent in non-empty loop
//! iterations (frames moved, kicked or reaped), per frame.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Parser;
use serde::Serialize;
use xsk_rs::FrameDesc;

use vxgen::clock::{now_ns, rdtsc, tsc_hz};
use vxgen::xsk::{self, Port, SocketStats, XdpMode};

/// vxswitch's ring size, so the forwarder has the switch's buffering.
const RING_SIZE: u32 = vxswitch::port::xdp::RING_SIZE;
/// vxswitch's UMEM chunk size.
const FRAME_SIZE: u32 = vxswitch::port::xdp::FRAME_SIZE;
/// Descriptors per RX batch.
const BATCH: usize = 64;
/// sendto calls per TX ring and loop at most: 64 frames queued need two.
const KICKS_PER_LOOP: u32 = 4;
/// A fill ring is topped up once it misses this many frames.
const REFILL_MIN: usize = 16;
/// Loops between looks at the clock (for --duration).
const CLOCK_EVERY: u32 = 1024;

/// Raw AF_XDP forwarder: every frame from --a goes out --b unchanged, and
/// the other way round, through one shared UMEM.
#[derive(Debug, Parser)]
#[command(name = "xdpfwd", version)]
struct Args {
    /// First interface (queue 0).
    #[arg(long)]
    a: String,
    /// Second interface (queue 0).
    #[arg(long)]
    b: String,
    /// Pin to this core.
    #[arg(long)]
    core: Option<usize>,
    /// Ask for preferred busy polling (SO_PREFER_BUSY_POLL) and drive RX with recvfrom.
    #[arg(long)]
    busy_poll: bool,
    /// SO_BUSY_POLL microseconds with --busy-poll.
    #[arg(long, default_value_t = 20)]
    busy_poll_us: i32,
    /// Yield the core after every iteration that found nothing to do (for
    /// cores shared with the traffic's endpoints).
    #[arg(long)]
    yield_idle: bool,
    /// Stop after this many seconds (0: run until SIGINT or SIGTERM).
    #[arg(long, default_value_t = 0.0)]
    duration: f64,
    /// XDP attach mode for both interfaces.
    #[arg(long, value_enum, default_value = "auto")]
    xdp_mode: XdpMode,
    /// Print the result as one JSON object.
    #[arg(long)]
    json: bool,
}

/// One direction's counters.
#[derive(Debug, Default, Clone, Copy, Serialize)]
struct Dir {
    /// Frames received on the source and put on the other TX ring.
    frames: u64,
    /// Loops in which the other TX ring had no room (the RX ring kept the frames).
    tx_ring_full: u64,
    /// sendto kicks on the destination's TX ring.
    kicks: u64,
}

#[derive(Debug, Serialize)]
struct Report {
    a: String,
    b: String,
    seconds: f64,
    a_to_b: Dir,
    b_to_a: Dir,
    /// Forwarded frames per second, both ways together.
    pps: f64,
    /// TSC cycles in non-empty loop iterations (that moved, kicked or
    /// reaped frames; kicks include the kernel's copy work), per frame moved.
    busy_cycles_per_frame: f64,
    /// The same, in nanoseconds (TSC frequency measured at start).
    busy_ns_per_frame: f64,
    /// Share of the run's cycles spent in non-empty iterations, percent:
    /// near 100 means the forwarder's core is the bottleneck.
    busy_pct: f64,
    xsk_a: SocketStats,
    xsk_b: SocketStats,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(r) => {
            if args.json {
                match serde_json::to_string(&r) {
                    Ok(s) => println!("{s}"),
                    Err(e) => {
                        eprintln!("xdpfwd: writing the JSON result: {e}");
                        return ExitCode::FAILURE;
                    }
                }
            } else {
                println!(
                    "xdpfwd {a} -> {b}: {ab} frames ({abk} kicks, tx_ring_full {abf}); \
                     {b} -> {a}: {ba} frames ({bak} kicks, tx_ring_full {baf}); \
                     {s:.1} s, {mpps:.3} Mpps, {cyc:.0} busy cycles/frame ({ns:.1} ns), \
                     busy {busy:.0}%; \
                     kernel drops: rx_ring_full {a}={arf} {b}={brf}, \
                     fill_ring_empty {a}={afe} {b}={bfe}",
                    a = r.a,
                    b = r.b,
                    ab = r.a_to_b.frames,
                    abk = r.a_to_b.kicks,
                    abf = r.a_to_b.tx_ring_full,
                    ba = r.b_to_a.frames,
                    bak = r.b_to_a.kicks,
                    baf = r.b_to_a.tx_ring_full,
                    s = r.seconds,
                    mpps = r.pps / 1e6,
                    cyc = r.busy_cycles_per_frame,
                    ns = r.busy_ns_per_frame,
                    busy = r.busy_pct,
                    arf = r.xsk_a.rx_ring_full,
                    brf = r.xsk_b.rx_ring_full,
                    afe = r.xsk_a.rx_fill_ring_empty,
                    bfe = r.xsk_b.rx_fill_ring_empty,
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("xdpfwd: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Both ports mutably: `s` and `d` differ.
fn pair(ports: &mut [Port], s: usize, d: usize) -> (&mut Port, &mut Port) {
    let (lo, hi) = ports.split_at_mut(1);
    if s == 0 {
        (&mut lo[0], &mut hi[d - 1])
    } else {
        (&mut hi[s - 1], &mut lo[0])
    }
}

fn run(a: &Args) -> Result<Report> {
    anyhow::ensure!(a.a != a.b, "--a and --b must be different interfaces");
    anyhow::ensure!(
        a.duration >= 0.0 && a.duration.is_finite(),
        "--duration must be zero or more seconds"
    );
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .with_context(|| format!("installing the handler for signal {sig}"))?;
    }
    let report = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGUSR1, Arc::clone(&report))
        .context("installing the handler for SIGUSR1")?;
    if let Some(core) = a.core {
        xsk::pin(core)?;
    }
    vxswitch::port::xdp::quiet_libraries();
    let hz = tsc_hz(50);

    // Enough frames for every ring of both sockets to be full at once: fill,
    // RX, TX and completion, a ring each (64 MiB with vxswitch's sizes).
    let ring = RING_SIZE as usize;
    let total = 8 * ring;
    let (umem, descs) = xsk::umem(total as u32, FRAME_SIZE, RING_SIZE)?;
    // Programs before sockets: dropped after them, detaching on the way.
    let progs = [
        xsk::attach(&a.a, a.xdp_mode)?,
        xsk::attach(&a.b, a.xdp_mode)?,
    ];
    let mut ports = Vec::with_capacity(2);
    for (name, prog) in [&a.a, &a.b].into_iter().zip(&progs) {
        let p = xsk::open(&umem, name, 0, RING_SIZE, a.xdp_mode, prog)?;
        if a.busy_poll {
            p.set_busy_poll(a.busy_poll_us)?;
        }
        ports.push(p);
    }

    let mut free: Vec<FrameDesc> = descs;
    let mut dirs = [Dir::default(); 2];
    let mut buf = [FrameDesc::default(); BATCH];
    let mut comp_buf = vec![FrameDesc::default(); ring];
    let (mut busy_cycles, mut moved_total) = (0u64, 0u64);
    let t0 = now_ns();
    let c0 = rdtsc();
    let end = if a.duration > 0.0 {
        t0 + (a.duration * 1e9) as u64
    } else {
        u64::MAX
    };
    let mut tick = 0u32;

    loop {
        let t = rdtsc();
        // Fill rings first (also the initial fill): kept full from the free
        // list, so a socket's RX ring and fill ring can hold a ring each.
        for p in ports.iter_mut() {
            // Cached unless fewer than REFILL_MIN slots seem free.
            let room = (p.fill.nb_free(REFILL_MIN as u32) as usize).min(free.len());
            if room < REFILL_MIN {
                continue;
            }
            let from = free.len() - room;
            // SAFETY: free frames are ours and in no ring; the fill ring has
            // `room` free slots (produce is all or nothing).
            let n = unsafe { p.fill.produce(&free[from..]) };
            free.truncate(free.len() - n);
        }

        let mut moved = 0usize;
        let mut other_work = false;
        for (s, d) in [(0usize, 1usize), (1, 0)] {
            let (src, dst) = pair(&mut ports, s, d);
            let room = (dst.tx.nb_free(BATCH as u32) as usize).min(BATCH);
            if room == 0 {
                dirs[s].tx_ring_full += 1;
                continue;
            }
            // SAFETY: frames of this UMEM, ours until produced below.
            let n = unsafe { src.rx.consume(&mut buf[..room]) };
            if n == 0 {
                if a.busy_poll {
                    src.poll_rx();
                }
                continue;
            }
            // SAFETY: the frames just received, in no ring; room checked above.
            let done = unsafe { dst.tx.produce(&buf[..n]) };
            debug_assert_eq!(done, n, "the TX ring had room");
            dirs[s].frames += n as u64;
            moved += n;
            if a.busy_poll && n < room {
                src.poll_rx();
            }
        }
        for (d, p) in ports.iter_mut().enumerate() {
            // Frames sent on port d were received on the other one.
            let k = p.kick(RING_SIZE, KICKS_PER_LOOP)?;
            dirs[1 - d].kicks += u64::from(k);
            // SAFETY: completed frames are back in our hands.
            let c = unsafe { p.comp.consume(&mut comp_buf) };
            free.extend_from_slice(&comp_buf[..c]);
            other_work |= k > 0 || c > 0;
        }
        // A non-empty iteration: it moved, kicked or reaped frames.
        if moved > 0 || other_work {
            busy_cycles += rdtsc() - t;
            moved_total += moved as u64;
        } else if a.yield_idle {
            std::thread::yield_now();
        }

        tick += 1;
        if tick == CLOCK_EVERY {
            tick = 0;
            if stop.load(Ordering::Relaxed) || now_ns() >= end {
                break;
            }
            if report.swap(false, Ordering::Relaxed) {
                // The running totals, for a harness that reads them before
                // and after each measurement (one line, on request only).
                println!("{{\"busy_cycles\":{busy_cycles},\"frames\":{moved_total}}}");
            }
        }
    }
    let seconds = (now_ns() - t0) as f64 / 1e9;
    let cycles = (rdtsc() - c0).max(1);
    let per_frame = if moved_total > 0 {
        busy_cycles as f64 / moved_total as f64
    } else {
        0.0
    };
    Ok(Report {
        a: a.a.clone(),
        b: a.b.clone(),
        seconds,
        a_to_b: dirs[0],
        b_to_a: dirs[1],
        pps: moved_total as f64 / seconds,
        busy_cycles_per_frame: per_frame,
        busy_ns_per_frame: per_frame * 1e9 / hz,
        busy_pct: busy_cycles as f64 * 100.0 / cycles as f64,
        xsk_a: ports[0].stats(),
        xsk_b: ports[1].stats(),
    })
}
