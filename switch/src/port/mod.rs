//! Port backends behind one trait: AF_XDP ([`xdp`], xsk-rs), AF_PACKET
//! ([`packet`], pnet) and in-memory ([`mem`], for tests and benches).
//!
//! A backend owns one worker's frames and that worker's sockets on every port.
//! Port 0 is the uplink; access ports follow in the running state's order.
//! Frames are referred to by a small copyable descriptor; the worker never
//! sees a socket.

pub mod arena;
pub mod mem;
pub mod packet;
pub mod xdp;
pub mod xdp_prog;

use std::sync::Arc;

use crate::stats::Counters;

/// What a worker needs to open a port live.
#[derive(Clone)]
pub struct PortSpec {
    /// The interface.
    pub name: String,
    /// Its XDP program, attached already (AF_XDP backend; `None` otherwise).
    pub prog: Option<Arc<xdp_prog::XdpProgram>>,
}

/// poll(2) for input on `fds`, at most `timeout_ms`: the idle wait of the
/// socket backends.
pub(crate) fn poll_in(fds: &mut [libc::pollfd], timeout_ms: i32) {
    for p in fds.iter_mut() {
        p.events = libc::POLLIN;
        p.revents = 0;
    }
    // SAFETY: `fds` is a valid, exclusively borrowed array of pollfd.
    unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
}

/// Where a worker's frames are. Exact at all times:
/// `free + in_fill + in_tx + in_hand == total`, where `in_hand` is what the
/// worker holds mid-batch (zero between batches).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct FrameAccounting {
    pub total: usize,
    pub free: usize,
    /// Given to the kernel to receive into (fill rings) and not yet received.
    pub in_fill: usize,
    /// Given to the kernel to send (TX rings) and not yet completed.
    pub in_tx: usize,
}

/// One worker's view of its ports. Implementations must not allocate, lock
/// or make a system call per frame ([`Backend::flush`] may make one per
/// batch and port, when a ring asks for a wakeup).
pub trait Backend {
    /// A frame handle.
    type Desc: Copy + Default;

    /// Number of port slots, the uplink included; closed slots among them
    /// receive nothing.
    fn n_ports(&self) -> usize;
    /// Opens port `slot` (between batches, on the worker's own thread).
    fn open_port(&mut self, slot: usize, spec: &PortSpec) -> Result<(), String>;
    /// Closes port `slot` (between batches); every frame it held comes back
    /// to the free pool, so frame accounting stays exact.
    fn close_port(&mut self, slot: usize);
    /// Receives up to `out.len()` frames from `port`; returns how many.
    fn rx(&mut self, port: usize, out: &mut [Self::Desc]) -> usize;
    /// Length of a frame.
    fn len(&self, d: &Self::Desc) -> usize;
    /// Asks the CPU to start loading the frame's headers (a hint: no
    /// effect on what any call returns). The worker calls it for every
    /// frame of a batch before the first is parsed: an AF_XDP frame was
    /// written by the kernel on the core that received it, so each frame's
    /// first touch is a miss to another core's cache, and issued together
    /// the misses overlap instead of stalling one frame at a time.
    #[inline(always)]
    fn prefetch(&self, _d: &Self::Desc) {}
    /// Runs `f` over the frame's whole buffer (its capacity) and its length,
    /// which `f` may change (encap grows it, decap shrinks it). Every
    /// backend marks it `#[inline(always)]`: the worker calls it two or
    /// three times per frame with the pipeline's stages as `f`, and left to
    /// itself LLVM made encap's an out-of-line call (callgrind).
    fn with_frame<R>(
        &mut self,
        d: &mut Self::Desc,
        f: impl FnOnce(&mut [u8], &mut usize) -> R,
    ) -> R;
    /// Moves the frame's start by `delta` bytes within its buffer and keeps
    /// its end, as `bpf_xdp_adjust_head` does: a negative `delta` grows the
    /// frame at the front (encap writes the outer headers there), a positive
    /// one strips its first `delta` bytes (decap), and no byte of the frame
    /// moves. False, and nothing changed, when the backend cannot (no room
    /// before the frame, `delta` more than its length, or a backend whose
    /// frames always start at their buffer's start): the caller then moves
    /// the bytes instead. A frame whose start moved keeps that start until
    /// it is sent or freed; frames a backend hands out start where its
    /// received frames do.
    #[inline(always)]
    fn adjust_head(&mut self, _d: &mut Self::Desc, _delta: isize) -> bool {
        false
    }
    /// A free frame, holding a copy of `src`'s bytes.
    fn clone_frame(&mut self, src: &Self::Desc) -> Option<Self::Desc>;
    /// A free frame, written by `fill` from `src`'s bytes: `fill` gets
    /// `src`'s data (up to its length) and the new frame's whole buffer (its
    /// capacity, the same for every frame) and returns the new frame's
    /// length. `None`, and `fill` not called, when no frame is free. Makes
    /// a fragment (`pipeline::frag`) straight from the original, with no
    /// copy through a scratch buffer.
    fn alloc_from(
        &mut self,
        src: &Self::Desc,
        fill: impl FnOnce(&[u8], &mut [u8]) -> usize,
    ) -> Option<Self::Desc>;
    /// Queues a frame for transmission on `port`; it is sent by the next
    /// [`Backend::flush`] (or earlier, when the port's queue is full). A
    /// frame for a closed slot is freed and counted as `tx.no_port`.
    fn tx(&mut self, port: usize, d: Self::Desc, ctr: &Counters);
    /// Returns a frame to the free pool.
    fn free(&mut self, d: Self::Desc);
    /// Sends queued frames, kicks rings that ask for it, reaps completions
    /// and refills the fill rings. Once per batch.
    fn flush(&mut self, ctr: &Counters);
    /// Where the frames are.
    fn frames(&self) -> FrameAccounting;
    /// The largest inner IP packet the overlay carries, which frames the
    /// backend segments itself must fit (AF_XDP multi-buffer, generic mode:
    /// `pipeline::gso`), and the VXLAN UDP port (super-frames on the uplink
    /// are VXLAN to it). The worker sets them at start and with every batch.
    fn set_overlay(&mut self, _mtu: usize, _vxlan_port: u16) {}
    /// How many frames the worker may take from RX rings now: 0 while
    /// frames pile up waiting for a full TX ring (backpressure), so excess
    /// input stays in the kernel's rings instead of being dropped inside the
    /// switch.
    fn rx_budget(&self) -> usize {
        usize::MAX
    }
    /// Blocks until a frame may be waiting on some port, or `timeout_ms`
    /// passes. Called only by an idle worker (one system call per idle wait,
    /// none per frame); returns at once if frames are still in flight.
    fn wait(&mut self, timeout_ms: i32) {
        std::thread::sleep(std::time::Duration::from_millis(timeout_ms as u64));
    }
}

/// [`Backend::adjust_head`] for a frame described by where it starts in
/// its buffer and its length: the start moves by `delta` and the end stays;
/// false, and nothing changed, when the start would leave the buffer's
/// front or pass the frame's end.
#[inline(always)]
pub fn adjust_start(start: &mut u32, len: &mut u32, delta: isize) -> bool {
    let new = *start as isize + delta;
    if new < 0 || delta > *len as isize {
        return false;
    }
    *start = new as u32;
    *len = (*len as isize - delta) as u32;
    true
}

/// Starts loading the two cache lines at `p` (a frame's first 128 bytes:
/// the outer headers of a VXLAN frame and the inner Ethernet and IP
/// headers after them) into the L1 cache. A hint: it never faults, so any
/// address will do.
#[inline(always)]
pub fn prefetch_headers(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch neither reads nor writes memory visibly and does
    // not fault on any address.
    unsafe {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch(p.cast(), _MM_HINT_T0);
        _mm_prefetch(p.wrapping_add(64).cast(), _MM_HINT_T0);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
