//! AF_XDP ports through xsk-rs: one UMEM per worker, shared by the worker's
//! sockets on every port (XDP_SHARED_UMEM), so a frame received on one port is
//! transmitted on another with no copy.
//!
//! Each (port, queue) socket has its own fill and completion rings. Frames
//! move: free list -> fill ring -> RX ring -> worker -> TX ring (any port) ->
//! that port's completion ring -> free list. The counts kept here make
//! [`FrameAccounting`] exact.
//!
//! Safety: every `FrameDesc` handled here came from this backend's UMEM, and a
//! frame is in exactly one place at a time (free list, a ring, or the
//! worker's hands), which is what xsk-rs's unsafe ring calls require.

use std::collections::VecDeque;
use std::ffi::CString;
use std::num::NonZeroU32;
use std::os::unix::io::AsRawFd;
use std::time::{Duration, Instant};

use xsk_rs::config::{
    BindFlags, FrameSize, Interface, LibxdpFlags, QueueSize, SocketConfig, UmemConfig, XdpFlags,
};
use xsk_rs::{CompQueue, FillQueue, FrameDesc, RxQueue, Socket, TxQueue, Umem};

use super::xdp_prog::{Attached, XdpProgram};
use super::{Backend, FrameAccounting, PortSpec};
use crate::host;
use crate::pipeline::gso;
use crate::state::{ENCAP_LEN, UPLINK};
use crate::stats::{Counters, Drop, Event};
use crate::wire::ethernet;

/// Descriptors per ring (fill, completion, RX, TX), per socket.
pub const RING_SIZE: u32 = 2048;
/// UMEM chunk size: one page.
pub const FRAME_SIZE: u32 = 4096;
/// Where a received frame starts in its UMEM chunk: after the XDP
/// program's headroom (XDP_PACKET_HEADROOM; the UMEM reserves no frame
/// headroom of its own). Encap moves a frame's start back into that
/// headroom and writes the outer headers there; decap moves it forward
/// past them (`Backend::adjust_head`).
const DATA_START: usize = 256;
/// UMEM frames per port: room for a full fill ring and a full RX ring, and
/// half a ring more in flight to TX.
const FRAMES_PER_PORT: usize = 2 * RING_SIZE as usize + RING_SIZE as usize / 2;
/// The UMEM is sized for at least this many ports, so ports attached live
/// find frames; with more ports open, each fill ring gets a fair share.
const MIN_UMEM_PORTS: usize = 4;
/// How long closing a port waits for its frames in flight to TX to complete.
const CLOSE_DRAIN: Duration = Duration::from_millis(500);
/// Free frames never handed to fill rings: flood copies draw on them.
const RESERVE: usize = 256;
/// Most TX wakeups per port and loop (copy mode sends 32 frames per wakeup).
const KICKS: usize = 4;
/// Most TX wakeups per port and loop while frames wait for room in its ring.
const KICKS_BACKLOG: usize = 16;
/// Frames that may wait for room in one port's TX ring; beyond this they
/// are dropped as `tx.ring_full`.
const PENDING_CAP: usize = RING_SIZE as usize;
/// Room beyond the cap for what one loop can add before it is enforced.
const BATCH_SLACK: usize = 1024;
/// While a port has this many frames waiting, the worker takes no new
/// frames from any RX ring: the backlog drains first, and excess input
/// waits in the kernel's rings (or is dropped there, counted as xsk.*),
/// never inside the switch.
const BACKPRESSURE: usize = RING_SIZE as usize / 2;
/// A stuck port (interface down or gone) is kicked once per this many loops.
const STUCK_RETRY_LOOPS: u32 = 4096;
/// Frames waiting for a TX ring before the port is flushed early.
const PENDING_MAX: usize = 256;
/// Most UMEM frames in one received frame's chain (sockets bound with
/// XDP_USE_SG): a 64 KiB GSO super-frame takes 18. Longer chains are
/// dropped as `rx.oversize`.
const MAX_CHAIN: usize = 32;
/// Descriptors taken from a multi-buffer RX ring per call at most.
const SG_BATCH: usize = 256;
/// The most bytes of IP and TCP header a segment repeats (IPv4 with
/// options and TCP with options, 60 each): its payload is at least the
/// overlay's IP packet less this.
const MAX_TCPIP_HEADERS: usize = 120;

/// How to attach to the NIC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum XdpMode {
    /// Per port: with one worker, generic mode on ports that are veths (the
    /// containers keep TSO/GSO: their super-frames reach the switch, which
    /// segments them); the kernel's choice (native where the driver has
    /// it) on every other port. Copy mode with multi-buffer sockets, as a
    /// UMEM shared with a veth cannot be zero-copy.
    Auto,
    /// Generic (SKB) XDP, copy mode: works on any interface.
    Generic,
    /// Native (driver) XDP; zero-copy where the driver allows, else copy.
    Native,
    /// Native XDP and zero-copy, or fail.
    Zerocopy,
}

impl XdpMode {
    /// The mode for one port of a switch with `workers` workers: `Auto`
    /// becomes `Generic` on a port whose driver is veth (a container's
    /// interface, or an uplink to another namespace) when there is one
    /// worker. In native mode a veth turns GSO off on its peer, so a
    /// container's TCP hands over MTU-sized frames, each costing it a trip
    /// through its stack; in generic mode the peer keeps GSO and the
    /// super-frames arrive here as chains (`XdpBackend::rx_chains`), cut by
    /// the switch (on the uplink, a kernel vxlan peer's VXLAN super-frames:
    /// `gso::plan_vxlan`). But on that path the veth records no RX queue, so
    /// generic XDP sees every frame on queue 0: with more workers, all of
    /// the port's input would reach the first one, and `Auto` stays native
    /// to spread it. Other drivers keep `Auto` (the kernel's choice).
    pub fn for_port(self, ifname: &str, workers: usize) -> XdpMode {
        if self == XdpMode::Auto && workers == 1 && host::driver(ifname).as_deref() == Some("veth")
        {
            XdpMode::Generic
        } else {
            self
        }
    }

    /// Flags for attaching our XDP program (XDP_FLAGS_SKB_MODE, _DRV_MODE).
    pub fn attach_flags(self) -> u32 {
        match self {
            XdpMode::Auto => 0,
            XdpMode::Generic => XdpFlags::XDP_FLAGS_SKB_MODE.bits(),
            XdpMode::Native | XdpMode::Zerocopy => XdpFlags::XDP_FLAGS_DRV_MODE.bits(),
        }
    }

    /// Socket flags for this mode: always XDP_USE_NEED_WAKEUP, plus XDP_COPY
    /// or XDP_ZEROCOPY where the mode insists. Only a UMEM's first socket
    /// (the uplink's) binds with them; the others inherit its copy or
    /// zero-copy and its multi-buffer support (the kernel refuses flags on
    /// a shared socket), so `Auto`, which may attach any port in generic
    /// mode (`for_port`), binds copy mode with multi-buffer.
    pub fn socket_flags(self) -> (XdpFlags, BindFlags) {
        let wake = BindFlags::XDP_USE_NEED_WAKEUP;
        // Multi-buffer: GSO super-frames arrive as chains (pipeline::gso).
        let chains = wake | BindFlags::XDP_COPY | BindFlags::XDP_USE_SG;
        match self {
            XdpMode::Auto => (XdpFlags::empty(), chains),
            XdpMode::Generic => (XdpFlags::XDP_FLAGS_SKB_MODE, chains),
            XdpMode::Native => (XdpFlags::XDP_FLAGS_DRV_MODE, wake),
            XdpMode::Zerocopy => (XdpFlags::XDP_FLAGS_DRV_MODE, wake | BindFlags::XDP_ZEROCOPY),
        }
    }
}

/// Opening a port failed.
#[derive(Debug, thiserror::Error)]
pub enum XdpError {
    /// The UMEM could not be created (usually memory lock limits).
    #[error("creating a UMEM of {frames} frames: {err}")]
    Umem { frames: u32, err: String },
    /// Our XDP program could not be loaded or attached.
    #[error("XDP program on {port}: {err}")]
    Program { port: String, err: String },
    /// The socket could not be bound.
    #[error("binding an AF_XDP socket to {port} queue {queue}: {err}")]
    Bind {
        port: String,
        queue: u32,
        err: String,
    },
}

struct XdpPort {
    tx: TxQueue,
    rx: RxQueue,
    fill: FillQueue,
    comp: CompQueue,
    /// Frames queued for this port's TX ring, oldest first (a ring
    /// buffer: taking from the front moves nothing).
    pending: VecDeque<FrameDesc>,
    in_fill: usize,
    in_tx: usize,
    /// The kernel refuses to send: the interface is down (ENETDOWN) or gone
    /// (ENXIO, the socket unbound). Frames for it are dropped at once
    /// (`tx.port_down`) instead of piling up, it does not hold the worker
    /// awake or throttle input, and it is kicked again only now and then.
    /// Cleared by the first send or completion that works.
    stuck: bool,
    /// Loops since a stuck port was last kicked.
    stuck_loops: u32,
    /// Multi-buffer sockets only (see `XdpBackend::rx_chains`): the frames
    /// of a chain still arriving, and input waiting behind a cut (segments
    /// and the frames after them, in order). Both count as `in_fill`:
    /// received by the kernel, not yet by the worker.
    chain: Vec<FrameDesc>,
    /// A chain longer than [`MAX_CHAIN`] is being dropped, frame by frame.
    chain_too_long: bool,
    /// Frames may arrive as chains (a multi-buffer UMEM, and the port's
    /// program in generic mode): input goes through `rx_chains`.
    chains: bool,
    backlog: VecDeque<FrameDesc>,
}

/// One worker's AF_XDP sockets and UMEM.
pub struct XdpBackend {
    /// By slot (0 is the uplink); `None` for a closed slot.
    ports: Vec<Option<XdpPort>>,
    /// The RX sockets, for the idle wait.
    pollfds: Vec<libc::pollfd>,
    free: Vec<FrameDesc>,
    scratch: Vec<FrameDesc>,
    total: usize,
    /// Every frame's descriptor, by chunk (`addr / FRAME_SIZE`).
    chunks: Vec<FrameDesc>,
    /// Per chunk, 1 + the slot whose fill or TX ring it was last given to
    /// (written once per frame handed to the kernel, in the batched ring
    /// calls). When a port closes, the frames its rings still held are
    /// exactly those marked with its slot that are not free: they are
    /// taken back, so closing a port loses no frame.
    owner: Vec<u16>,
    /// Fill-ring entries a port may hold: its share of the UMEM.
    fill_cap: usize,
    /// The UMEM's sockets are bound with XDP_USE_SG (modes `auto` and
    /// `generic`): on a port attached in generic mode, frames larger than a
    /// UMEM frame arrive as chains, cut by `rx_chains`.
    sg: bool,
    /// The largest IP packet a segment may carry (the overlay MTU, as the
    /// worker last set it, within a frame's room for encap).
    seg_max_ip: usize,
    /// The VXLAN UDP port, as the worker last set it: chains on the uplink
    /// are VXLAN super-frames to it.
    vxlan_port: u16,
    /// Counted here, published at the next flush: super-frames cut and
    /// their segments; chains refused (`rx.oversize`); segments with no
    /// free frame (`tx.no_frame`).
    gso: [u64; 4],
    rx_scratch: Vec<FrameDesc>,
    socket_config: SocketConfig,
    queue: u32,
    // Declared last: dropped after the sockets, whose rings point into it.
    umem: Umem,
}

/// An error and its sources, joined: xsk-rs keeps the errno in the source.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(cause) = src {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        src = cause.source();
    }
    s
}

/// Binds an AF_XDP socket on `ifname` queue `queue` to `umem` (program
/// loading inhibited: `prog`, ours, is attached already) and points `prog`'s
/// queue `queue` at it. Retries EBUSY for up to two seconds: a queue released
/// by a process that just exited can stay busy that long.
///
/// Each (interface, queue) pair must be bound once per UMEM, so it gets its
/// own fill and completion rings.
pub fn bind_socket(
    config: SocketConfig,
    umem: &Umem,
    ifname: &str,
    queue: u32,
    prog: &XdpProgram,
) -> Result<(TxQueue, RxQueue, FillQueue, CompQueue), XdpError> {
    let bind_err = |err: String| XdpError::Bind {
        port: ifname.to_string(),
        queue,
        err,
    };
    let iface = Interface::new(CString::new(ifname).map_err(|e| bind_err(e.to_string()))?);
    let deadline = Instant::now() + Duration::from_secs(2);
    let (tx, rx, rings) = loop {
        // SAFETY: the caller binds each (interface, queue) pair once per UMEM
        // and program loading is inhibited, so the pair gets fresh rings.
        match unsafe { Socket::new(config, umem, &iface, queue) } {
            Ok(s) => break s,
            Err(e) => {
                let msg = error_chain(&e);
                if msg.contains("busy") && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                }
                return Err(bind_err(msg));
            }
        }
    };
    let (fill, comp) = rings.ok_or_else(|| bind_err("the pair is bound already".into()))?;
    prog.insert(queue, rx.fd().as_raw_fd())?;
    Ok((tx, rx, fill, comp))
}

/// Where [`XdpBackend::gso`] counts: super-frames cut, segments made,
/// chains refused, segments that found no free frame.
const GSO_CUT: usize = 0;
const GSO_SEGMENTS: usize = 1;
const GSO_REFUSED: usize = 2;
const GSO_NO_FRAME: usize = 3;
/// Bytes a UMEM frame's data can hold (the chunk less the kernel's
/// XDP_PACKET_HEADROOM, 256).
const FRAME_ROOM: usize = FRAME_SIZE as usize - DATA_START;

/// A free frame's descriptor with its start put back at [`DATA_START`]:
/// a frame sent after encap or decap comes back from its completion ring
/// with the start it was sent with, and every frame the backend hands out
/// starts where received ones do (the same capacity for all).
#[inline]
fn fresh(mut d: FrameDesc) -> FrameDesc {
    let delta = DATA_START as isize - (d.addr() % FRAME_SIZE as usize) as isize;
    // SAFETY: DATA_START lies within every frame, and the UMEM reserves no
    // frame headroom before it.
    unsafe { d.adjust_head(delta) };
    d
}

/// A frame with its options cleared: a chain's frames carry XDP_PKT_CONTD,
/// which would make the frame the start of a chain when it is sent later.
fn unsent(mut d: FrameDesc) -> FrameDesc {
    d.set_options(0);
    d
}

/// The worker's input from one `rx_chains` call: `out[..n]`, then the
/// port's backlog.
struct Input<'a> {
    out: &'a mut [FrameDesc],
    n: usize,
}

impl Input<'_> {
    /// A frame the kernel received (counted in `in_fill` until the worker
    /// has it).
    fn received(&mut self, p: &mut XdpPort, d: FrameDesc) {
        if p.backlog.is_empty() && self.n < self.out.len() {
            self.out[self.n] = d;
            self.n += 1;
            p.in_fill -= 1;
        } else {
            p.backlog.push_back(d);
        }
    }
}

/// Cuts the port's whole chain into segments of at most `max_ip` bytes of
/// (inner) IP packet, each in a free frame, handed on in order as if received;
/// on the uplink (`vxlan`, its UDP port) chains are VXLAN super-frames;
/// the chain's frames go back to `free`. A chain that cannot be cut is
/// dropped (`rx.oversize`), but a single frame that cannot be goes on as
/// it is, for the pipeline's MTU handling (ICMP too-big, fragmenting).
fn cut(
    umem: &Umem,
    free: &mut Vec<FrameDesc>,
    p: &mut XdpPort,
    max_ip: usize,
    vxlan: Option<u16>,
    counts: &mut [u64; 4],
    to: &mut Input,
) {
    let mut parts: [&[u8]; MAX_CHAIN] = [&[]; MAX_CHAIN];
    let mut total = 0;
    for (part, d) in parts.iter_mut().zip(&p.chain) {
        // SAFETY: the chain's frames are in the worker's hands; they are
        // only read here, and the frames written below are other ones.
        *part = unsafe { umem.data(d) }.contents();
        total += part.len();
    }
    let parts = &parts[..p.chain.len()];
    let plan = match vxlan {
        Some(port) => gso::plan_vxlan(parts[0], total, max_ip, port),
        None => gso::plan(parts[0], total, max_ip),
    };
    match plan {
        None if p.chain.len() == 1 => {
            let d = p.chain.pop().expect("one frame");
            to.received(p, d);
            return;
        }
        None => counts[GSO_REFUSED] += 1,
        Some(plan) => {
            counts[GSO_CUT] += 1;
            for k in 0..plan.count() {
                let Some(mut d) = free.pop().map(fresh) else {
                    counts[GSO_NO_FRAME] += (plan.count() - k) as u64;
                    break;
                };
                // SAFETY: `d` was free, so in no ring and not in the chain.
                let mut data = unsafe { umem.data_mut(&mut d) };
                let mut cur = data.cursor();
                let cap = cur.buf_len();
                if plan.len(k) > cap {
                    // Not with FRAME_ROOM right; never a panic if it is not.
                    free.push(d);
                    counts[GSO_REFUSED] += 1;
                    break;
                }
                cur.set_pos(cap);
                let n = plan.write(parts, k, data.contents_mut());
                data.cursor().set_pos(n);
                counts[GSO_SEGMENTS] += 1;
                // A new frame among the received ones: in_fill until the
                // worker has it, as they are.
                p.in_fill += 1;
                to.received(p, unsent(d));
            }
        }
    }
    for d in p.chain.drain(..) {
        free.push(unsent(d));
        p.in_fill -= 1;
    }
}

impl XdpPort {
    /// Takes back what the completion ring returns (sent frames) into
    /// `free`; returns how many.
    fn reap(&mut self, free: &mut Vec<FrameDesc>, scratch: &mut [FrameDesc]) -> usize {
        // SAFETY: completed frames are ours again: in no ring, and the
        // kernel is done reading them.
        let n = unsafe { self.comp.consume(scratch) };
        self.in_tx -= n;
        free.extend_from_slice(&scratch[..n]);
        n
    }
}

/// Binds one port's socket (see [`bind_socket`]) with empty bookkeeping;
/// `sg_frames`, when the UMEM takes chains (XDP_USE_SG), is its frame
/// count, which bounds a chained port's backlog (so the backlog never grows
/// on the hot path). Chains come only from a program in generic mode: a
/// driver's (native) XDP hands over frames of at most a page.
fn open_port(
    config: SocketConfig,
    umem: &Umem,
    ifname: &str,
    queue: u32,
    prog: &XdpProgram,
    sg_frames: Option<usize>,
) -> Result<XdpPort, XdpError> {
    let (tx, rx, fill, comp) = bind_socket(config, umem, ifname, queue, prog)?;
    let sg_frames = sg_frames.filter(|_| prog.attached() == Attached::Generic);
    Ok(XdpPort {
        chains: sg_frames.is_some(),
        tx,
        rx,
        fill,
        comp,
        pending: VecDeque::with_capacity(PENDING_CAP + BATCH_SLACK),
        in_fill: 0,
        in_tx: 0,
        stuck: false,
        stuck_loops: 0,
        chain: Vec::with_capacity(if sg_frames.is_some() { MAX_CHAIN } else { 0 }),
        chain_too_long: false,
        backlog: VecDeque::with_capacity(sg_frames.unwrap_or(0)),
    })
}

/// Silences libbpf's and libxdp's own chatter on stderr (no bpffs, skipped
/// ELF sections): failures still reach the operator through our errors, which
/// carry the errno. Set VXSWITCH_BPF_LOG=1 to keep the libraries' messages.
pub fn quiet_libraries() {
    if std::env::var_os("VXSWITCH_BPF_LOG").is_some() {
        return;
    }
    // SAFETY: passing None (NULL) is documented to disable the libraries' printing.
    unsafe {
        libbpf_sys::libbpf_set_print(None);
        libxdp_sys::libxdp_set_print(None);
    }
}

impl XdpBackend {
    /// The file descriptors of this worker's sockets (for their statistics).
    pub fn socket_fds(&self) -> Vec<i32> {
        self.pollfds.iter().map(|p| p.fd).collect()
    }

    /// Binds queue `queue` of every port in `ports` (uplink first), sharing one
    /// UMEM, and inserts each socket into its port's XDP program (`progs`, in
    /// the same order). Retries EBUSY for up to two seconds: a queue released
    /// by a previous instance that just exited can stay busy that long.
    pub fn open(
        ports: &[String],
        progs: &[std::sync::Arc<XdpProgram>],
        queue: u32,
        mode: XdpMode,
    ) -> Result<XdpBackend, XdpError> {
        let n = ports.len();
        let frames = (n.max(MIN_UMEM_PORTS) * FRAMES_PER_PORT) as u32;
        let umem_config = UmemConfig::builder()
            .frame_size(FrameSize::new(FRAME_SIZE).expect("4096 is a valid frame size"))
            .fill_queue_size(QueueSize::new(RING_SIZE).expect("a power of two"))
            .comp_queue_size(QueueSize::new(RING_SIZE).expect("a power of two"))
            .build()
            .expect("constant UMEM config is valid");
        let (umem, descs) = Umem::new(
            umem_config,
            NonZeroU32::new(frames).expect("at least one port"),
            false,
        )
        .map_err(|e| XdpError::Umem {
            frames,
            err: error_chain(&e),
        })?;
        let (xdp_flags, bind_flags) = mode.socket_flags();
        let sg = bind_flags.contains(BindFlags::XDP_USE_SG);
        // Our own programs (xdp_prog.rs) are attached already: libxdp must
        // not load its default one.
        let socket_config = SocketConfig::builder()
            .rx_queue_size(QueueSize::new(RING_SIZE).expect("a power of two"))
            .tx_queue_size(QueueSize::new(RING_SIZE).expect("a power of two"))
            .libxdp_flags(LibxdpFlags::XSK_LIBXDP_FLAGS_INHIBIT_PROG_LOAD)
            .xdp_flags(xdp_flags)
            .bind_flags(bind_flags)
            .build();
        let mut opened = Vec::with_capacity(n);
        let total = descs.len();
        for (name, prog) in ports.iter().zip(progs) {
            opened.push(Some(open_port(
                socket_config,
                &umem,
                name,
                queue,
                prog,
                sg.then_some(total),
            )?));
        }
        assert!(
            descs
                .iter()
                .all(|d| d.addr() % FRAME_SIZE as usize == DATA_START),
            "xsk-rs places received frames at DATA_START"
        );
        let mut chunks = descs.clone();
        chunks.sort_by_key(|d| d.addr());
        debug_assert!(chunks
            .iter()
            .enumerate()
            .all(|(i, d)| d.addr() / FRAME_SIZE as usize == i));
        let mut b = XdpBackend {
            pollfds: Vec::new(),
            ports: opened,
            free: descs,
            scratch: vec![FrameDesc::default(); RING_SIZE as usize],
            total,
            owner: vec![0; chunks.len()],
            chunks,
            fill_cap: 0,
            sg,
            // Until the worker sets it: a 1,500-byte uplink's overlay.
            seg_max_ip: 1500 - ENCAP_LEN,
            vxlan_port: 4789,
            gso: [0; 4],
            rx_scratch: vec![FrameDesc::default(); if sg { SG_BATCH } else { 0 }],
            socket_config,
            queue,
            umem,
        };
        b.ports_changed();
        b.refill();
        Ok(b)
    }

    /// [`Backend::rx`] for ports that take chains (a multi-buffer socket on
    /// a port in generic mode). A frame
    /// larger than a UMEM frame arrives as a chain (every frame but the last
    /// marked XDP_PKT_CONTD); a whole chain is cut into TCP segments that
    /// fit the overlay (`pipeline::gso`), which take its place in the port's
    /// input, or dropped as `rx.oversize` when it cannot be. Order is kept:
    /// once anything waits in the port's backlog (segments beyond `out`'s
    /// room), everything after it waits there too, and the next call drains
    /// the backlog before taking more from the ring. Out of line: ports in
    /// native mode never come here.
    #[inline(never)]
    fn rx_chains(&mut self, port: usize, out: &mut [FrameDesc]) -> usize {
        let XdpBackend {
            ports,
            free,
            umem,
            gso: counts,
            rx_scratch,
            seg_max_ip,
            vxlan_port,
            ..
        } = self;
        let Some(p) = ports[port].as_mut() else {
            return 0;
        };
        let mut to = Input { out, n: 0 };
        while to.n < to.out.len() {
            let Some(d) = p.backlog.pop_front() else {
                break;
            };
            to.out[to.n] = d;
            to.n += 1;
            p.in_fill -= 1;
        }
        if !p.backlog.is_empty() {
            return to.n;
        }
        let max_ip = (*seg_max_ip).min(FRAME_ROOM - ethernet::HEADER_LEN - ENCAP_LEN);
        // The uplink's frames are VXLAN: their outer headers come on top.
        let (vxlan, outer) = if port == usize::from(UPLINK) {
            (Some(*vxlan_port), ENCAP_LEN)
        } else {
            (None, 0)
        };
        // A frame taken may become several segments, each in a free frame
        // (at most FRAME_ROOM / mss + 1, and one more for the chain's
        // remainder): take no more than the free frames can hold, after
        // what the chain still arriving may need and half the reserve kept
        // for flood copies, so a cut never runs out (`tx.no_frame`). The
        // rest waits in the kernel's RX ring.
        let per_frame = FRAME_ROOM / max_ip.saturating_sub(MAX_TCPIP_HEADERS).max(68) + 2;
        let room = free
            .len()
            .saturating_sub(RESERVE / 2 + p.chain.len() * per_frame)
            / per_frame;
        let want = (to.out.len() - to.n).min(rx_scratch.len()).min(room);
        // SAFETY: received frames are handed to the worker, in no ring.
        let got = unsafe { p.rx.consume(&mut rx_scratch[..want]) };
        for &d in &rx_scratch[..got] {
            if p.chain.is_empty() && !p.chain_too_long && !d.has_more_frames() {
                // A small super-frame (two or three segments) fits one UMEM
                // frame but not the overlay: cut too, or the sender, whose
                // MTU is the overlay's already, would get too-big replies
                // it cannot act on.
                if d.lengths().data() > outer + ethernet::HEADER_LEN + max_ip {
                    p.chain.push(d);
                    cut(umem, free, p, max_ip, vxlan, counts, &mut to);
                } else {
                    to.received(p, d);
                }
                continue;
            }
            if p.chain_too_long || p.chain.len() == MAX_CHAIN {
                // Too long to cut: its frames go back as they come.
                p.chain_too_long = true;
                for &c in p.chain.iter().chain([&d]) {
                    free.push(unsent(c));
                    p.in_fill -= 1;
                }
                p.chain.clear();
                if !d.has_more_frames() {
                    p.chain_too_long = false;
                    counts[GSO_REFUSED] += 1;
                }
                continue;
            }
            p.chain.push(d);
            if d.has_more_frames() {
                continue;
            }
            cut(umem, free, p, max_ip, vxlan, counts, &mut to);
        }
        to.n
    }

    /// Adds the segmentation counts to the worker's counters.
    #[cold]
    fn publish_gso(&mut self, ctr: &Counters) {
        let [cut, segments, refused, no_frame] = std::mem::take(&mut self.gso);
        ctr.event(Event::GsoSegmented, cut);
        ctr.event(Event::GsoSegments, segments);
        ctr.drop(Drop::Oversize, refused);
        ctr.drop(Drop::NoFrame, no_frame);
    }

    /// After a port opened or closed: the idle wait's fds and each fill
    /// ring's share of the frames.
    fn ports_changed(&mut self) {
        self.pollfds = self
            .ports
            .iter()
            .flatten()
            .map(|p| libc::pollfd {
                fd: p.rx.fd().as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        let open = self.pollfds.len().max(1);
        // Per open port: a fill ring's share, leaving 1.5 rings' worth of
        // frames per port for RX rings and TX, as FRAMES_PER_PORT does.
        self.fill_cap = (self.total * 2 / (5 * open)).min(RING_SIZE as usize);
    }

    /// Keeps every fill ring as full as it can be. The room is read from the
    /// fill ring itself, not from `in_fill` (which also counts frames waiting
    /// in the RX ring): budgeting both together lets the fill ring run dry
    /// under load while the RX ring is still full, and the kernel then drops.
    fn refill(&mut self) {
        for (slot, p) in self.ports.iter_mut().enumerate() {
            let Some(p) = p else { continue };
            let spare = self.free.len().saturating_sub(RESERVE);
            // The port's share bounds what sits in its fill ring, not what
            // waits in its RX ring: counting both (in_fill) would let the
            // fill ring run dry under load while the RX ring is full.
            let slots = p.fill.nb_free(RING_SIZE) as usize;
            let in_ring = RING_SIZE as usize - slots;
            let room = slots.min(self.fill_cap.saturating_sub(in_ring));
            let n = room.min(spare);
            // Produce in chunks, not frame by frame, unless the ring is dry.
            if n == 0 || (n < 32 && p.in_fill > 0) {
                continue;
            }
            let from = self.free.len() - n;
            // SAFETY: these frames are free: in no ring and not in the worker's hands.
            let done = unsafe { p.fill.produce(&self.free[from..]) };
            for d in &self.free[from..from + done] {
                self.owner[d.addr() / FRAME_SIZE as usize] = slot as u16 + 1;
            }
            if done > 0 {
                self.free.truncate(self.free.len() - done);
                p.in_fill += done;
            }
            if p.fill.needs_wakeup() {
                // Zero-copy drivers may need a poke to see the new fill entries.
                let _ = p.fill.wakeup(p.rx.fd_mut(), 0);
            }
        }
    }

    /// Moves a port's waiting frames into its TX ring, as many as fit; the
    /// rest keep waiting (up to [`PENDING_CAP`], beyond which the newest
    /// are dropped as `tx.ring_full`).
    fn send(&mut self, port: usize, ctr: &Counters) {
        let Some(p) = self.ports[port].as_mut() else {
            return;
        };
        if p.pending.is_empty() {
            return;
        }
        let room = p.tx.nb_free(p.pending.len() as u32) as usize;
        let mut done = 0;
        let (a, b) = p.pending.as_slices();
        for part in [a, b] {
            let n = room.saturating_sub(done).min(part.len());
            if n == 0 {
                break;
            }
            // SAFETY: pending frames are ours and in no ring.
            let k = unsafe { p.tx.produce(&part[..n]) };
            let mut bytes = 0;
            for d in &part[..k] {
                bytes += d.lengths().data();
                self.owner[d.addr() / FRAME_SIZE as usize] = port as u16 + 1;
            }
            ctr.port_tx(port, k, bytes);
            done += k;
            if k < n {
                break;
            }
        }
        p.in_tx += done;
        p.pending.drain(..done);
        if p.pending.len() > PENDING_CAP {
            ctr.drop(
                crate::stats::Drop::RingFull,
                (p.pending.len() - PENDING_CAP) as u64,
            );
            self.free.extend(p.pending.drain(PENDING_CAP..));
        }
    }

    /// Kicks every TX ring that still holds unsent frames and asks for a
    /// wakeup. In copy mode the kernel sends at most 32 frames per kick
    /// (TX_BATCH_SIZE in net/xdp/xsk.c), so a ring with a backlog is kicked
    /// again on every loop until it drains, traffic or not: otherwise the
    /// tail of a burst waits for the next frame, and TCP for its RTO. While
    /// frames wait for room in the ring, more kicks per loop, refilling the
    /// ring between them.
    fn kick(&mut self, ctr: &Counters) {
        for port in 0..self.ports.len() {
            let budget = match &mut self.ports[port] {
                None => continue,
                Some(p) if p.stuck => {
                    p.stuck_loops += 1;
                    if p.stuck_loops < STUCK_RETRY_LOOPS {
                        continue;
                    }
                    p.stuck_loops = 0;
                    1
                }
                Some(p) if p.pending.is_empty() => KICKS,
                Some(_) => KICKS_BACKLOG,
            };
            // Sendto calls reaping in between, while the ring asks for a
            // wakeup and each kick makes progress.
            for _ in 0..budget {
                self.send(port, ctr);
                let Some(p) = self.ports[port].as_mut() else {
                    break;
                };
                if p.in_tx == 0 || !p.tx.needs_wakeup() {
                    break;
                }
                match p.tx.wakeup() {
                    Err(e) if matches!(e.raw_os_error(), Some(libc::ENXIO | libc::ENETDOWN)) => {
                        // Its interface is down or gone: stop queueing to it.
                        p.stuck = true;
                        ctr.drop(Drop::PortDown, p.pending.len() as u64);
                        self.free.extend(p.pending.drain(..));
                        break;
                    }
                    _ => p.stuck = false,
                }
                let n = p.reap(&mut self.free, &mut self.scratch);
                if n == 0 {
                    break;
                }
            }
        }
    }

    fn reap(&mut self) {
        for p in self.ports.iter_mut().flatten() {
            if p.in_tx == 0 {
                continue;
            }
            p.reap(&mut self.free, &mut self.scratch);
        }
    }
}

impl Backend for XdpBackend {
    type Desc = FrameDesc;

    fn n_ports(&self) -> usize {
        self.ports.len()
    }

    fn open_port(&mut self, slot: usize, spec: &PortSpec) -> Result<(), String> {
        let prog = spec
            .prog
            .as_ref()
            .ok_or_else(|| format!("{}: no XDP program attached", spec.name))?;
        let p = open_port(
            self.socket_config,
            &self.umem,
            &spec.name,
            self.queue,
            prog,
            self.sg.then_some(self.total),
        )
        .map_err(|e| e.to_string())?;
        if slot >= self.ports.len() {
            self.ports.resize_with(slot + 1, || None);
        }
        self.ports[slot] = Some(p);
        self.ports_changed();
        self.refill();
        Ok(())
    }

    fn close_port(&mut self, slot: usize) {
        let Some(mut p) = self.ports.get_mut(slot).and_then(|p| p.take()) else {
            return;
        };
        // Frames waiting in its RX ring and those its completion ring
        // returns come back the usual way; wait (briefly) for what is still
        // in flight to TX, so the kernel no longer reads those frames.
        // SAFETY: received and completed frames are ours again.
        let n = unsafe { p.rx.consume(&mut self.scratch) };
        let taken = self.scratch[..n].iter().chain(&p.chain).chain(&p.backlog);
        // A chain's frames carry XDP_PKT_CONTD: cleared before reuse for TX.
        self.free.extend(taken.map(|&d| unsent(d)));
        let deadline = Instant::now() + CLOSE_DRAIN;
        while p.in_tx > 0 && Instant::now() < deadline {
            if p.tx.needs_wakeup() {
                let _ = p.tx.wakeup();
            }
            p.reap(&mut self.free, &mut self.scratch);
        }
        self.free.extend(p.pending.drain(..));
        // Closing the socket ends the kernel's use of its rings; the frames
        // they still held (fill ring entries, and any TX that never
        // completed) are those marked with this slot that are not free.
        drop(p);
        // Frames free, or waiting for another port's TX ring, are not the
        // closed port's whatever their mark says.
        let mut is_free = vec![false; self.chunks.len()];
        let waiting = self
            .ports
            .iter()
            .flatten()
            .flat_map(|q| q.pending.iter().chain(&q.chain).chain(&q.backlog));
        for d in self.free.iter().chain(waiting) {
            is_free[d.addr() / FRAME_SIZE as usize] = true;
        }
        let mark = slot as u16 + 1;
        for (i, o) in self.owner.iter_mut().enumerate() {
            if *o == mark {
                *o = 0;
                if !is_free[i] {
                    self.free.push(self.chunks[i]);
                }
            }
        }
        self.ports_changed();
    }

    fn rx(&mut self, port: usize, out: &mut [FrameDesc]) -> usize {
        let Some(p) = self.ports[port].as_mut() else {
            return 0;
        };
        if p.chains {
            return self.rx_chains(port, out);
        }
        // SAFETY: received frames are handed to the worker, in no ring.
        let n = unsafe { p.rx.consume(out) };
        p.in_fill -= n;
        n
    }

    fn len(&self, d: &FrameDesc) -> usize {
        d.lengths().data()
    }

    #[inline(always)]
    fn prefetch(&self, d: &FrameDesc) {
        // SAFETY: only the address is taken; nothing is read or written.
        let p = unsafe { self.umem.data(d) }.contents().as_ptr();
        super::prefetch_headers(p);
    }

    #[inline(always)]
    fn with_frame<R>(
        &mut self,
        d: &mut FrameDesc,
        f: impl FnOnce(&mut [u8], &mut usize) -> R,
    ) -> R {
        // SAFETY: the frame is in the worker's hands, so nothing else (the
        // kernel included) touches its memory while `f` runs.
        let mut data = unsafe { self.umem.data_mut(d) };
        let mut len = data.contents().len();
        let mut cur = data.cursor();
        let cap = cur.buf_len();
        cur.set_pos(cap);
        let r = f(data.contents_mut(), &mut len);
        data.cursor().set_pos(len);
        r
    }

    #[inline(always)]
    fn adjust_head(&mut self, d: &mut FrameDesc, delta: isize) -> bool {
        // Within the frame's chunk: no further back than its start (the
        // UMEM reserves no frame headroom), no further on than its end.
        let start = (d.addr() % FRAME_SIZE as usize) as isize + delta;
        if start < 0 || delta > d.lengths().data() as isize {
            return false;
        }
        // SAFETY: the new start is within the same chunk, checked above.
        unsafe { d.adjust_head(delta) };
        true
    }

    fn clone_frame(&mut self, src: &FrameDesc) -> Option<FrameDesc> {
        let mut d = fresh(self.free.pop()?);
        // SAFETY: `src` is in the worker's hands and `d` was free; they are
        // different frames of the same UMEM.
        unsafe {
            let from = self.umem.data(src);
            let mut to = self.umem.data_mut(&mut d);
            let mut cur = to.cursor();
            cur.set_pos(0);
            std::io::Write::write_all(&mut cur, from.contents())
                .expect("frames have equal capacity");
        }
        Some(d)
    }

    fn alloc_from(
        &mut self,
        src: &FrameDesc,
        fill: impl FnOnce(&[u8], &mut [u8]) -> usize,
    ) -> Option<FrameDesc> {
        let mut d = fresh(self.free.pop()?);
        // SAFETY: `src` is in the worker's hands and `d` was free; they are
        // different frames of the same UMEM, so the two views do not
        // overlap, and nothing else (the kernel included) touches either.
        unsafe {
            let from = self.umem.data(src);
            let mut to = self.umem.data_mut(&mut d);
            let mut cur = to.cursor();
            let cap = cur.buf_len();
            cur.set_pos(cap);
            let n = fill(from.contents(), to.contents_mut());
            to.cursor().set_pos(n.min(cap));
        }
        Some(d)
    }

    fn tx(&mut self, port: usize, d: FrameDesc, ctr: &Counters) {
        let Some(p) = self.ports.get_mut(port).and_then(|p| p.as_mut()) else {
            ctr.drop(Drop::NoPort, 1);
            self.free.push(d);
            return;
        };
        if p.stuck {
            ctr.drop(Drop::PortDown, 1);
            self.free.push(d);
            return;
        }
        p.pending.push_back(d);
        // Early, once per PENDING_MAX frames: the ring may have room now.
        if p.pending.len() % PENDING_MAX == 0 {
            self.send(port, ctr);
        }
    }

    fn free(&mut self, d: FrameDesc) {
        self.free.push(d);
    }

    fn flush(&mut self, ctr: &Counters) {
        if self.gso != [0; 4] {
            self.publish_gso(ctr);
        }
        for port in 0..self.ports.len() {
            self.send(port, ctr);
        }
        self.kick(ctr);
        self.reap();
        for port in 0..self.ports.len() {
            self.send(port, ctr);
        }
        self.refill();
    }

    fn set_overlay(&mut self, mtu: usize, vxlan_port: u16) {
        self.seg_max_ip = mtu;
        self.vxlan_port = vxlan_port;
    }

    fn rx_budget(&self) -> usize {
        if self
            .ports
            .iter()
            .flatten()
            .any(|p| !p.stuck && p.pending.len() >= BACKPRESSURE)
        {
            0
        } else {
            usize::MAX
        }
    }

    fn wait(&mut self, timeout_ms: i32) {
        // Frames still to send or to be completed: keep polling instead.
        if self
            .ports
            .iter()
            .flatten()
            .any(|p| !p.stuck && (p.in_tx > 0 || !p.pending.is_empty()))
        {
            return;
        }
        super::poll_in(&mut self.pollfds, timeout_ms);
    }

    fn frames(&self) -> FrameAccounting {
        FrameAccounting {
            total: self.total,
            free: self.free.len(),
            in_fill: self.ports.iter().flatten().map(|p| p.in_fill).sum(),
            // Waiting for room in a TX ring counts as on the way out.
            in_tx: self
                .ports
                .iter()
                .flatten()
                .map(|p| p.in_tx + p.pending.len())
                .sum(),
        }
    }
}
