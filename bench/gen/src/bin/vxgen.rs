//! vxgen: an AF_XDP traffic generator and sink in one thread, for the
//! end-to-end harness (generator pinned to one core, the device under test
//! to another).
//!
//! ```text
//!   vxgen ──TX── --tx-if ───▶ DUT ───▶ --rx-if ──RX── vxgen (same thread)
//! ```
//!
//! One UMEM is shared (XDP_SHARED_UMEM) by a socket on `--tx-if` queue 0 and
//! one on `--rx-if` queue 0 (a single socket when they are the same
//! interface), each behind vxswitch's redirect-all XDP program, so the sink
//! sees every frame that arrives on rx-if. The UMEM is split once: the first
//! `tx_pool` frames are the generator's and hold prebuilt frames (flow =
//! frame index % flows); they cycle free FIFO -> TX ring -> completion ring
//! -> free FIFO and never reach a fill ring, so per send only the 8-byte
//! send time is patched, and the flows take turns at any rate. The other frames live in the fill/RX rings and go straight back
//! to the fill ring once the tail has been read.
//!
//! Every frame's last 16 bytes are a per-run magic and the send time
//! (CLOCK_MONOTONIC ns, stamped once per TX batch). The measurement window is
//! [start + warm-up, start + warm-up + duration): frames stamped inside it
//! are "sent", and magic frames whose stamp is inside it are "received", so
//! loss compares like with like whatever the DUT's queueing delay. Latency
//! (receive time - stamp) is recorded only for those.
//!
//! Pacing: at a fixed rate the schedule releases packets continuously
//! (rate x elapsed time) and the loop sends a batch once `pace` packets are
//! owed (pace = 20 us of packets, 1..=64), spinning on the clock, never
//! sleeping. Falling more than 1 ms behind drops the backlog (`tx_stalls`
//! times, `tx_missed` packets) rather than bursting. At rate 0 the TX ring
//! is kept full. Either way `tx_ring_full` counts the loops in which the
//! generator owed packets but the TX ring or its frame pool had no room.

use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::Parser;
use hdrhistogram::Histogram;
use serde::Serialize;
use xsk_rs::FrameDesc;

use vxgen::clock::{now_ns, CpuTime};
use vxgen::frames::{self, Inner, Outer};
use vxgen::xsk::{self, Port, SocketStats, XdpMode};

/// Entries in every ring (fill, completion, RX, TX).
const RING_SIZE: u32 = 4096;
/// UMEM chunk: 2048 B leaves 1792 B of data after XDP's headroom, enough
/// for a 1518 B frame plus 50 B of VXLAN.
const FRAME_SIZE: u32 = 2048;
/// The generator's frames: at least this many, rounded up to a multiple of
/// the flow count so that every flow gets as many frames.
const TX_POOL_MIN: usize = 4096;
/// Frames for the sink's fill ring: exactly the fill ring's size, so
/// returning what RX handed over always fits.
const RX_FRAMES: usize = RING_SIZE as usize;
/// Frames for tx-if's own fill ring (when rx-if differs): tx-if has the
/// redirect-all program too, and whatever arrives there is counted and
/// recycled.
const SPARE_RX_FRAMES: usize = 512;
/// Descriptors per RX batch.
const BATCH: usize = 64;
/// RX batches per loop at most, so that TX is not starved.
const RX_BATCHES: usize = 4;
/// sendto calls per loop at most while TX has a backlog (32 frames each in
/// copy mode).
const KICKS_PER_LOOP: u32 = 4;
/// How far (in time) a fixed-rate schedule may fall behind before its
/// backlog is dropped.
const SLIP_NS: u64 = 1_000_000;
/// After the window: stop draining once TX has completed and no magic
/// frame has arrived for this long.
const QUIET_NS: u64 = 20_000_000;
const NS: u64 = 1_000_000_000;

/// What the frames on tx-if are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
enum Mode {
    /// Inner Ethernet/IPv4/UDP frames, for a DUT that encapsulates them.
    Encap,
    /// VXLAN/UDP/IPv4 frames around the inner frames, for a DUT that decapsulates.
    Decap,
    /// The inner frames, for a DUT that forwards them unchanged.
    Raw,
}

fn parse_mac(s: &str) -> Result<[u8; 6], String> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        return Err(format!("{s:?} is not a MAC address (aa:bb:cc:dd:ee:ff)"));
    }
    let mut mac = [0u8; 6];
    for (m, p) in mac.iter_mut().zip(parts) {
        *m = u8::from_str_radix(p, 16).map_err(|_| format!("{s:?} is not a MAC address"))?;
    }
    Ok(mac)
}

/// AF_XDP traffic generator and sink (one thread): sends on --tx-if, counts
/// and times what comes back on --rx-if.
#[derive(Debug, Parser)]
#[command(name = "vxgen", version)]
struct Args {
    /// Interface to send on (queue 0).
    #[arg(long)]
    tx_if: String,
    /// Interface to receive on (queue 0); may equal --tx-if.
    #[arg(long)]
    rx_if: String,
    /// encap: inner frames; decap: VXLAN frames; raw: inner frames for a plain forwarder.
    #[arg(long, value_enum, default_value = "raw")]
    mode: Mode,
    /// Inner frame size on the wire, FCS included (64 = a 60-byte frame).
    /// In decap mode the frame sent is 50 bytes larger (the VXLAN headers),
    /// so what leaves the DUT is this size.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u16).range(64..=1518))]
    size: u16,
    /// Flows (distinct inner UDP source ports; in decap mode also outer ones).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=16384))]
    flows: u16,
    /// Packets per second to offer; 0 = as fast as possible.
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Measurement window, seconds.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Traffic before the window (not counted), seconds.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Longest wait for frames still in flight after the window, milliseconds.
    #[arg(long, default_value_t = 1000)]
    drain_ms: u64,
    /// Pin to this core.
    #[arg(long)]
    core: Option<usize>,
    /// Print the result as one JSON object.
    #[arg(long)]
    json: bool,
    /// XDP attach mode for both interfaces.
    #[arg(long, value_enum, default_value = "auto")]
    xdp_mode: XdpMode,
    /// Inner source MAC.
    #[arg(long, value_parser = parse_mac, default_value = "02:00:00:00:00:01")]
    src_mac: [u8; 6],
    /// Inner destination MAC.
    #[arg(long, value_parser = parse_mac, default_value = "02:00:00:00:00:02")]
    dst_mac: [u8; 6],
    /// Inner source IPv4 address.
    #[arg(long, default_value = "198.19.0.1")]
    inner_src_ip: Ipv4Addr,
    /// Inner destination IPv4 address.
    #[arg(long, default_value = "198.19.0.2")]
    inner_dst_ip: Ipv4Addr,
    /// Inner UDP source port of flow 0 (flow f uses this + f).
    #[arg(long, default_value_t = 10000)]
    inner_src_port: u16,
    /// Inner UDP destination port.
    #[arg(long, default_value_t = 9)]
    inner_dst_port: u16,
    /// VXLAN network id (decap mode).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(0..=0xff_ffff))]
    vni: u32,
    /// Outer source MAC (decap mode).
    #[arg(long, value_parser = parse_mac, default_value = "02:00:00:00:01:01")]
    outer_src_mac: [u8; 6],
    /// Outer destination MAC (decap mode): the DUT uplink's.
    #[arg(long, value_parser = parse_mac, default_value = "02:00:00:00:01:02")]
    outer_dst_mac: [u8; 6],
    /// Outer source IPv4 address (decap mode): the remote VTEP.
    #[arg(long, default_value = "198.18.0.1")]
    outer_src_ip: Ipv4Addr,
    /// Outer destination IPv4 address (decap mode): the DUT's VTEP.
    #[arg(long, default_value = "198.18.0.2")]
    outer_dst_ip: Ipv4Addr,
    /// VXLAN UDP destination port (decap mode).
    #[arg(long, default_value_t = frames::VXLAN_PORT)]
    vxlan_port: u16,
}

/// Latency percentiles, microseconds.
#[derive(Debug, Default, Serialize)]
struct Latency {
    samples: u64,
    min: f64,
    mean: f64,
    p50: f64,
    p99: f64,
    p999: f64,
    max: f64,
}

/// The one result line.
#[derive(Debug, Serialize)]
struct Report {
    mode: Mode,
    /// --size: the inner frame on the wire, FCS included.
    size: u16,
    /// Bytes of each frame given to tx-if (no FCS).
    tx_frame_bytes: usize,
    flows: u16,
    /// Configured rate, packets per second; 0 = max.
    rate_pps: u64,
    warmup_s: f64,
    /// The window actually measured (shorter than --duration after a signal).
    duration_s: f64,
    /// Frames stamped inside the window.
    sent: u64,
    sent_pps: f64,
    /// Magic frames stamped inside the window and received.
    received: u64,
    received_pps: f64,
    loss_pct: f64,
    /// Meaningful at a fixed rate; at max rate it is the TX queue's depth.
    latency_us: Latency,
    /// All frames sent, warm-up included.
    sent_total: u64,
    /// All magic frames received, warm-up included.
    received_total: u64,
    /// Frames on rx-if without our magic (ARP, IPv6 ND, ...).
    rx_other: u64,
    /// Frames that arrived on tx-if (only when it differs from rx-if).
    rx_on_tx_if: u64,
    /// Loops in which packets were owed but the TX ring or pool was full.
    tx_ring_full: u64,
    /// Times a fixed-rate schedule fell over 1 ms behind and dropped its backlog.
    tx_stalls: u64,
    /// Packets so dropped from the schedule: offered = sent + missed.
    tx_missed: u64,
    /// sendto kicks made.
    tx_kicks: u64,
    /// CPU time of the process over the run (warm-up and drain included).
    cpu_user_s: f64,
    cpu_sys_s: f64,
    /// (user + sys) / wall time, percent: a spinning loop is always ~100.
    cpu_pct: f64,
    /// Share of the wall time spent in loops that did something, percent:
    /// near 100 means the generator's core is the bottleneck.
    busy_pct: f64,
    xsk_tx: SocketStats,
    xsk_rx: SocketStats,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(r) => {
            if args.json {
                match serde_json::to_string(&r) {
                    Ok(s) => println!("{s}"),
                    Err(e) => {
                        eprintln!("vxgen: writing the JSON result: {e}");
                        return ExitCode::FAILURE;
                    }
                }
            } else {
                print_human(&r);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("vxgen: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn print_human(r: &Report) {
    let rate = if r.rate_pps == 0 {
        "max".to_string()
    } else {
        format!("{} pps", r.rate_pps)
    };
    let l = &r.latency_us;
    println!(
        "vxgen {mode:?} {size}B flows={flows} rate={rate}: sent {sent} ({spps:.3} Mpps) \
         received {recv} ({rpps:.3} Mpps) loss {loss:.4}% | latency us p50 {p50:.1} \
         p99 {p99:.1} p99.9 {p999:.1} max {max:.1} | cpu {cpu:.0}% busy {busy:.0}% | \
         tx_ring_full {full} tx_stalls {stalls} tx_missed {missed} rx_other {other}",
        mode = r.mode,
        size = r.size,
        flows = r.flows,
        sent = r.sent,
        spps = r.sent_pps / 1e6,
        recv = r.received,
        rpps = r.received_pps / 1e6,
        loss = r.loss_pct,
        p50 = l.p50,
        p99 = l.p99,
        p999 = l.p999,
        max = l.max,
        cpu = r.cpu_pct,
        busy = r.busy_pct,
        full = r.tx_ring_full,
        stalls = r.tx_stalls,
        missed = r.tx_missed,
        other = r.rx_other,
    );
}

/// The frames of every flow, as given to tx-if.
fn build_frames(a: &Args) -> Vec<Vec<u8>> {
    let inner = Inner {
        src_mac: a.src_mac,
        dst_mac: a.dst_mac,
        src_ip: a.inner_src_ip,
        dst_ip: a.inner_dst_ip,
        src_port: a.inner_src_port,
        dst_port: a.inner_dst_port,
    };
    let outer = Outer {
        src_mac: a.outer_src_mac,
        dst_mac: a.outer_dst_mac,
        src_ip: a.outer_src_ip,
        dst_ip: a.outer_dst_ip,
        vni: a.vni,
        dst_port: a.vxlan_port,
    };
    let len = usize::from(a.size) - frames::FCS_LEN;
    (0..a.flows)
        .map(|f| {
            let i = frames::inner_frame(&inner, f, len);
            match a.mode {
                Mode::Encap | Mode::Raw => i,
                Mode::Decap => frames::vxlan_frame(&outer, f, &i),
            }
        })
        .collect()
}

/// Receives up to `RX_BATCHES` batches on `port` into `buf`, hands each
/// frame to `seen`, and gives the frames straight back to the fill ring
/// (they came from it, so it has room). Returns the frames received.
fn drain_rx(
    port: &mut Port,
    umem: &xsk_rs::Umem,
    buf: &mut [FrameDesc],
    mut seen: impl FnMut(&[u8]),
) -> usize {
    let mut total = 0;
    for _ in 0..RX_BATCHES {
        // SAFETY: the descriptors come from this UMEM's RX ring and are ours
        // until produced to the fill ring below.
        let n = unsafe { port.rx.consume(buf) };
        if n == 0 {
            break;
        }
        for d in &buf[..n] {
            // SAFETY: the frame was just received: the kernel is done with it.
            let data = unsafe { umem.data(d) };
            seen(data.contents());
        }
        // SAFETY: these frames are ours (received above) and in no ring. The
        // fill ring has room: its frames, the RX ring's and these add up to
        // at most its size.
        let back = unsafe { port.fill.produce(&buf[..n]) };
        debug_assert_eq!(back, n, "the fill ring has room for what RX returned");
        total += n;
        if n < buf.len() {
            break;
        }
    }
    total
}

fn run(a: &Args) -> Result<Report> {
    if !(a.duration > 0.0 && a.duration.is_finite()) {
        bail!("--duration must be a positive number of seconds");
    }
    if !(a.warmup >= 0.0 && a.warmup.is_finite()) {
        bail!("--warmup must be zero or more seconds");
    }
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .with_context(|| format!("installing the handler for signal {sig}"))?;
    }
    if let Some(core) = a.core {
        xsk::pin(core)?;
    }
    vxswitch::port::xdp::quiet_libraries();

    let templates = build_frames(a);
    let frame_len = templates[0].len();
    let flows = templates.len();
    let tx_pool = flows * TX_POOL_MIN.div_ceil(flows);
    let same_if = a.tx_if == a.rx_if;
    let spare = if same_if { 0 } else { SPARE_RX_FRAMES };
    let total = tx_pool + RX_FRAMES + spare;
    let (umem, mut descs) = xsk::umem(total as u32, FRAME_SIZE, RING_SIZE)?;

    // Programs first (dropped last, detaching them), then the sockets.
    let tx_prog = xsk::attach(&a.tx_if, a.xdp_mode)?;
    let rx_prog = if same_if {
        None
    } else {
        Some(xsk::attach(&a.rx_if, a.xdp_mode)?)
    };
    let mut ports = vec![xsk::open(
        &umem, &a.tx_if, 0, RING_SIZE, a.xdp_mode, &tx_prog,
    )?];
    if let Some(p) = &rx_prog {
        ports.push(xsk::open(&umem, &a.rx_if, 0, RING_SIZE, a.xdp_mode, p)?);
    }
    let (txi, rxi) = (0, ports.len() - 1);

    // Split the UMEM: generator frames, the sink's fill ring, tx-if's fill ring.
    let magic = frames::magic(std::process::id() ^ (now_ns() as u32));
    let rx_descs = descs.split_off(tx_pool);
    let mut tx_descs = descs;
    for (i, d) in tx_descs.iter_mut().enumerate() {
        // SAFETY: a fresh frame of this UMEM, in no ring yet.
        let mut data = unsafe { umem.data_mut(d) };
        let mut cur = data.cursor();
        cur.set_pos(0);
        std::io::Write::write_all(&mut cur, &templates[i % flows])
            .context("a frame is larger than a UMEM chunk")?;
        frames::stamp(data.contents_mut(), magic, 0);
    }
    // FIFO, not a stack: completions come back in send order, so taking
    // from the front cycles through every frame (and so every flow) at any
    // rate; a stack would resend the same few frames at a low rate.
    let mut tx_free: VecDeque<FrameDesc> = VecDeque::with_capacity(tx_pool);
    tx_free.extend(tx_descs);
    let mut tx_batch: Vec<FrameDesc> = Vec::with_capacity(RING_SIZE as usize);
    for (port, range) in [(rxi, 0..RX_FRAMES), (txi, RX_FRAMES..RX_FRAMES + spare)] {
        if range.is_empty() {
            continue;
        }
        // SAFETY: fresh frames of this UMEM, given to the kernel once.
        let n = unsafe { ports[port].fill.produce(&rx_descs[range.clone()]) };
        if n != range.len() {
            bail!(
                "filling the fill ring of {} with {} frames",
                ports[port].ifname,
                range.len()
            );
        }
    }

    let mut hist = Histogram::<u64>::new_with_bounds(1, 60 * NS, 3)
        .context("creating the latency histogram")?;
    let mut comp_buf = vec![FrameDesc::default(); RING_SIZE as usize];
    let mut rx_buf = vec![FrameDesc::default(); BATCH];

    let rate = a.rate;
    let pace = if rate == 0 {
        BATCH as u64
    } else {
        (rate * 20_000 / NS).clamp(1, BATCH as u64)
    };
    let slip_pkts = ((rate as u128 * SLIP_NS as u128 / NS as u128) as u64).max(pace * 2);
    let cpu0 = CpuTime::now();
    let t0 = now_ns();
    let win_start = t0 + (a.warmup * 1e9) as u64;
    let mut win_end = win_start + (a.duration * 1e9) as u64;
    let drain_ns = a.drain_ms * 1_000_000;

    let (mut sent_total, mut sent_win, mut offered) = (0u64, 0u64, 0u64);
    let (mut recv_total, mut recv_win, mut rx_other, mut rx_on_tx) = (0u64, 0u64, 0u64, 0u64);
    let (mut ring_full, mut stalls, mut missed, mut kicks) = (0u64, 0u64, 0u64, 0u64);
    let mut sending = true;
    let mut stopped_at = win_end;
    let mut last_magic = t0;
    let mut idle_ns = 0u64;
    let (mut prev_now, mut prev_worked) = (t0, true);

    loop {
        let now = now_ns();
        if !prev_worked {
            idle_ns += now - prev_now;
        }
        prev_now = now;
        let mut worked = false;

        if sending && (now >= win_end || stop.load(Ordering::Relaxed)) {
            sending = false;
            stopped_at = now.min(win_end);
            win_end = stopped_at;
        }

        // Completions: generator frames back to the pool, content intact.
        // SAFETY: completed frames are the generator's, back in its hands.
        let c = unsafe { ports[txi].comp.consume(&mut comp_buf) };
        if c > 0 {
            tx_free.extend(&comp_buf[..c]);
            worked = true;
        }

        if sending {
            let owed = if rate == 0 {
                u64::MAX
            } else {
                let due = ((now - t0) as u128 * rate as u128 / NS as u128) as u64;
                let mut owed = due - offered;
                if owed > slip_pkts {
                    // Too far behind: drop the backlog instead of bursting it.
                    let skip = owed - pace;
                    stalls += 1;
                    missed += skip;
                    offered += skip;
                    owed = pace;
                }
                owed
            };
            if owed >= pace {
                let want = owed.min(tx_free.len() as u64) as u32;
                let room = ports[txi].tx.nb_free(want);
                let n = want.min(room) as usize;
                // At max rate "owed" is unbounded: short means nothing went.
                let short = if rate == 0 { n == 0 } else { (n as u64) < owed };
                if short {
                    ring_full += 1;
                }
                if n > 0 {
                    tx_batch.clear();
                    tx_batch.extend(tx_free.drain(..n));
                    for d in &mut tx_batch {
                        // SAFETY: a generator frame in its hands (free list).
                        let mut data = unsafe { umem.data_mut(d) };
                        data.cursor().set_pos(frame_len);
                        frames::stamp_time(data.contents_mut(), now);
                    }
                    // SAFETY: these frames are ours, in no ring; room was checked.
                    let done = unsafe { ports[txi].tx.produce(&tx_batch) };
                    for d in tx_batch[done..].iter().rev() {
                        tx_free.push_front(*d);
                    }
                    sent_total += done as u64;
                    offered += done as u64;
                    if now >= win_start {
                        sent_win += done as u64;
                    }
                    worked = true;
                }
            }
        }

        let k = ports[txi].kick(RING_SIZE, KICKS_PER_LOOP)?;
        if k > 0 {
            kicks += u64::from(k);
            worked = true;
        }

        // The sink.
        let mut rx_now = 0u64;
        let mut got_magic = false;
        let n = drain_rx(&mut ports[rxi], &umem, &mut rx_buf, |f| {
            if rx_now == 0 {
                rx_now = now_ns();
            }
            match frames::read_tail(f, magic) {
                Some(ts) if ts <= rx_now => {
                    recv_total += 1;
                    got_magic = true;
                    if ts >= win_start && ts < win_end {
                        recv_win += 1;
                        hist.saturating_record((rx_now - ts).max(1));
                    }
                }
                _ => rx_other += 1,
            }
        });
        if got_magic {
            last_magic = rx_now;
        }
        if n > 0 {
            worked = true;
        }
        if rxi != txi {
            let m = drain_rx(&mut ports[txi], &umem, &mut rx_buf, |_| {});
            rx_on_tx += m as u64;
            worked |= m > 0;
        }

        if !sending {
            let in_flight = tx_pool - tx_free.len();
            let quiet = now.saturating_sub(last_magic.max(stopped_at)) >= QUIET_NS;
            if (in_flight == 0 && quiet) || now >= stopped_at + drain_ns {
                break;
            }
        }
        prev_worked = worked;
    }
    let wall_ns = now_ns() - t0;
    let cpu = CpuTime::now().since(cpu0);

    let window_s = stopped_at.saturating_sub(win_start) as f64 / 1e9;
    let per_s = |n: u64| {
        if window_s > 0.0 {
            n as f64 / window_s
        } else {
            0.0
        }
    };
    let us = |ns: u64| ns as f64 / 1e3;
    let latency = if hist.is_empty() {
        Latency::default()
    } else {
        Latency {
            samples: hist.len(),
            min: us(hist.min()),
            mean: hist.mean() / 1e3,
            p50: us(hist.value_at_quantile(0.5)),
            p99: us(hist.value_at_quantile(0.99)),
            p999: us(hist.value_at_quantile(0.999)),
            max: us(hist.max()),
        }
    };
    Ok(Report {
        mode: a.mode,
        size: a.size,
        tx_frame_bytes: frame_len,
        flows: a.flows,
        rate_pps: rate,
        warmup_s: a.warmup,
        duration_s: window_s,
        sent: sent_win,
        sent_pps: per_s(sent_win),
        received: recv_win,
        received_pps: per_s(recv_win),
        loss_pct: if sent_win > 0 {
            (sent_win as f64 - recv_win as f64) * 100.0 / sent_win as f64
        } else {
            0.0
        },
        latency_us: latency,
        sent_total,
        received_total: recv_total,
        rx_other,
        rx_on_tx_if: rx_on_tx,
        tx_ring_full: ring_full,
        tx_stalls: stalls,
        tx_missed: missed,
        tx_kicks: kicks,
        cpu_user_s: cpu.user_s,
        cpu_sys_s: cpu.sys_s,
        cpu_pct: (cpu.user_s + cpu.sys_s) * 1e11 / wall_ns as f64,
        busy_pct: 100.0 - idle_ns as f64 * 100.0 / wall_ns as f64,
        xsk_tx: ports[txi].stats(),
        xsk_rx: ports[rxi].stats(),
    })
    // Drop order: ports (sockets), then the programs (detached), then the UMEM.
}
