//! The per-frame stages, one module each. Pure functions over frame bytes, the
//! running [`State`](crate::state::State) and the [`Fdb`](crate::fdb::Fdb): no
//! sockets, so the same code runs under every port backend and in tests.
//!
//! A stage returns `Result<Verdict, Drop>`; the worker's batch loop does the
//! counting, so no stage can lose a frame without naming why.

pub mod access;
pub mod arp;
pub mod csum;
pub mod encap;
pub mod frag;
pub mod gso;
pub mod hash;
pub mod mtu;
pub mod uplink;

/// Where a frame goes next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Transmit on this local port: unchanged, or (ARP suppression, the
    /// port the frame came in on) rewritten into the ARP reply.
    Port(u16),
    /// Encapsulate toward this remote VTEP (VTEP index) and send on the uplink.
    Vtep(u16),
    /// Flood within this BD: other local ports, and the BD's remote VTEPs
    /// unless the frame came from the underlay (split horizon).
    Flood(u16),
    /// The frame was rewritten into a reply; send it back out of the uplink.
    Reply,
}
