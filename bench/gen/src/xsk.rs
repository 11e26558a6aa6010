//! AF_XDP set-up shared by `vxgen` and `xdpfwd`: a UMEM, sockets bound to
//! it with XDP_SHARED_UMEM, and vxswitch's own redirect-all XDP program
//! (`xdp_access`, via [`XdpProgram`]) on each interface.
//!
//! Why vxswitch's program rather than libxdp's default: libxdp's dispatcher
//! needs bpffs to attach a second time, and this host has none; ours is
//! attached by netlink, replaces a stale one, and detaches on drop. Sockets
//! are therefore created with `XSK_LIBXDP_FLAGS_INHIBIT_PROG_LOAD` and
//! inserted into the program's XSKMAP by hand.
//!
//! The first socket on a UMEM uses the UMEM's own fill and completion rings;
//! each further (interface, queue) pair gets its own pair from xsk-rs. A
//! [`Port`] holds all four rings of one socket. Ownership: one thread owns
//! every `Port` and the `Umem`; `Port`s are dropped before the `Umem` (the
//! rings keep the UMEM alive anyway through xsk-rs's reference count).

use std::num::NonZeroU32;
use std::os::unix::io::AsRawFd;

use anyhow::{anyhow, bail, Context, Result};
use xsk_rs::config::{FrameSize, LibxdpFlags, QueueSize, SocketConfig, UmemConfig};
use xsk_rs::{CompQueue, FillQueue, FrameDesc, RxQueue, TxQueue, Umem};

pub use vxswitch::port::xdp::XdpMode;
use vxswitch::port::xdp::{bind_socket, error_chain};
use vxswitch::port::xdp_prog::{Role, XdpProgram};

/// One AF_XDP socket on (interface, queue) and its four rings.
pub struct Port {
    pub ifname: String,
    pub tx: TxQueue,
    pub rx: RxQueue,
    pub fill: FillQueue,
    pub comp: CompQueue,
}

/// Kernel counters of one socket (XDP_STATISTICS), for the final report.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct SocketStats {
    /// Frames the kernel dropped for this socket (e.g. too big for a frame).
    pub rx_dropped: u64,
    /// Frames dropped because the RX ring was full: the reader was too slow.
    pub rx_ring_full: u64,
    /// Times the fill ring was empty when a frame arrived.
    pub rx_fill_ring_empty: u64,
    /// TX descriptors the kernel rejected (bad address or length).
    pub tx_invalid: u64,
    /// Times the kernel looked for TX work and found the ring empty.
    pub tx_ring_empty: u64,
}

impl Port {
    /// The kernel's counters for this socket; zeros if it cannot tell.
    pub fn stats(&self) -> SocketStats {
        match self.rx.fd().xdp_statistics() {
            Ok(s) => SocketStats {
                rx_dropped: s.rx_dropped(),
                rx_ring_full: s.rx_ring_full(),
                rx_fill_ring_empty: s.rx_fill_ring_empty_descs(),
                tx_invalid: s.tx_invalid_descs(),
                tx_ring_empty: s.tx_ring_empty_descs(),
            },
            Err(_) => SocketStats::default(),
        }
    }

    /// Kicks the TX ring while descriptors are waiting for the kernel and
    /// the ring asks for a wakeup, at most `max` times. In copy mode the
    /// kernel sends at most 32 frames per sendto (TX_BATCH_SIZE in
    /// net/xdp/xsk.c), so a ring with a backlog must be kicked on every loop
    /// until it drains, and a loop that queued 64 needs two kicks. Stops
    /// early when a kick made no progress (the device pushed back). Returns
    /// the number of sendto calls made.
    #[inline]
    pub fn kick(&mut self, ring_size: u32, max: u32) -> Result<u32> {
        let mut kicks = 0;
        // Exact: reads the kernel's consumer index (one shared cache line).
        let mut backlog = ring_size - self.tx.nb_free_exact();
        while backlog > 0 && kicks < max && self.tx.needs_wakeup() {
            self.tx
                .wakeup()
                .with_context(|| format!("kicking the TX ring of {}", self.ifname))?;
            kicks += 1;
            let left = ring_size - self.tx.nb_free_exact();
            if left >= backlog {
                break;
            }
            backlog = left;
        }
        Ok(kicks)
    }

    /// Asks the kernel to busy-poll this socket's NAPI context
    /// (SO_PREFER_BUSY_POLL, SO_BUSY_POLL `usecs`, SO_BUSY_POLL_BUDGET 64).
    /// After this the application drives RX with recvfrom (see [`Port::poll_rx`]).
    pub fn set_busy_poll(&self, usecs: i32) -> Result<()> {
        // Linux values from asm-generic/socket.h (not all in the libc crate).
        const SO_BUSY_POLL: libc::c_int = 46;
        const SO_PREFER_BUSY_POLL: libc::c_int = 69;
        const SO_BUSY_POLL_BUDGET: libc::c_int = 70;
        let fd = self.rx.fd().as_raw_fd();
        for (opt, val, name) in [
            (SO_PREFER_BUSY_POLL, 1, "SO_PREFER_BUSY_POLL"),
            (SO_BUSY_POLL, usecs, "SO_BUSY_POLL"),
            (SO_BUSY_POLL_BUDGET, 64, "SO_BUSY_POLL_BUDGET"),
        ] {
            // SAFETY: `val` is a live c_int and its size is passed.
            let r = unsafe {
                libc::setsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    opt,
                    &val as *const libc::c_int as *const libc::c_void,
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                )
            };
            if r != 0 {
                return Err(std::io::Error::last_os_error())
                    .with_context(|| format!("setting {name} on the socket of {}", self.ifname));
            }
        }
        Ok(())
    }

    /// One non-blocking recvfrom on the socket: with busy polling on, this
    /// is what runs the device's NAPI poll (and so fills the RX ring).
    #[inline]
    pub fn poll_rx(&self) {
        // SAFETY: a zero-length receive with a null buffer is how AF_XDP is
        // woken; the kernel writes nothing.
        unsafe {
            libc::recvfrom(
                self.rx.fd().as_raw_fd(),
                std::ptr::null_mut(),
                0,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
    }
}

/// A UMEM of `frames` chunks of `frame_size` bytes whose first socket's
/// fill and completion rings have `ring_size` entries; and its frames.
pub fn umem(frames: u32, frame_size: u32, ring_size: u32) -> Result<(Umem, Vec<FrameDesc>)> {
    let config = UmemConfig::builder()
        .frame_size(
            FrameSize::new(frame_size)
                .map_err(|e| anyhow!("UMEM frame size {frame_size}: {}", error_chain(&e)))?,
        )
        .fill_queue_size(
            QueueSize::new(ring_size)
                .map_err(|e| anyhow!("fill ring size {ring_size}: {}", error_chain(&e)))?,
        )
        .comp_queue_size(
            QueueSize::new(ring_size)
                .map_err(|e| anyhow!("completion ring size {ring_size}: {}", error_chain(&e)))?,
        )
        .build()
        .map_err(|e| anyhow!("UMEM configuration: {}", error_chain(&e)))?;
    let n = NonZeroU32::new(frames).context("a UMEM needs at least one frame")?;
    Umem::new(config, n, false).map_err(|e| {
        anyhow!(
            "creating a UMEM of {frames} x {frame_size} B frames \
             (root, or a higher RLIMIT_MEMLOCK, is needed): {}",
            error_chain(&e)
        )
    })
}

/// Loads vxswitch's redirect-all program (`xdp_access`) on `ifname`.
pub fn attach(ifname: &str, mode: XdpMode) -> Result<XdpProgram> {
    XdpProgram::attach(ifname, Role::Access, 1, mode)
        .with_context(|| format!("attaching the redirect-all XDP program to {ifname}"))
}

/// Binds a socket on `ifname` queue `queue` to `umem` (shared after the
/// first), with RX and TX rings of `ring_size`, and points `prog`'s queue
/// `queue` at it. Retries "busy" for two seconds: a queue released by a
/// process that just exited can stay busy that long.
pub fn open(
    umem: &Umem,
    ifname: &str,
    queue: u32,
    ring_size: u32,
    mode: XdpMode,
    prog: &XdpProgram,
) -> Result<Port> {
    let (xdp_flags, bind) = mode.socket_flags();
    let size = QueueSize::new(ring_size)
        .map_err(|e| anyhow!("ring size {ring_size}: {}", error_chain(&e)))?;
    let config = SocketConfig::builder()
        .rx_queue_size(size)
        .tx_queue_size(size)
        .libxdp_flags(LibxdpFlags::XSK_LIBXDP_FLAGS_INHIBIT_PROG_LOAD)
        .xdp_flags(xdp_flags)
        .bind_flags(bind)
        .build();
    let (tx, rx, fill, comp) = bind_socket(config, umem, ifname, queue, prog)
        .with_context(|| format!("opening {ifname} queue {queue}"))?;
    Ok(Port {
        ifname: ifname.to_string(),
        tx,
        rx,
        fill,
        comp,
    })
}

/// Pins the calling thread to `core`.
pub fn pin(core: usize) -> Result<()> {
    let ids = core_affinity::get_core_ids().context("listing the CPU cores")?;
    let id = ids
        .into_iter()
        .find(|c| c.id == core)
        .with_context(|| format!("core {core} does not exist or is not allowed"))?;
    if !core_affinity::set_for_current(id) {
        bail!("pinning to core {core} failed");
    }
    Ok(())
}
