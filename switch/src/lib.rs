//! vxswitch: a userspace VXLAN overlay switch (RFC 7348) on AF_XDP.
//!
//! Layout, following the frame: [`wire`] (zero-copy header views) ->
//! [`pipeline`] (one module per stage) over [`state`] (the immutable running
//! state) and [`fdb`] (the lock-free MAC table) -> [`port`] (backends) driven
//! by [`worker`] (the poll loop); [`stats`] counts, [`control`] serves vxctl,
//! [`config`] reads the start-up TOML.

pub mod config;
pub mod control;
pub mod ecmp;
pub mod fdb;
pub mod host;
pub mod idmap;
pub mod pipeline;
pub mod port;
pub mod probe;
pub mod state;
pub mod stats;
pub mod underlay;
pub mod wire;
pub mod worker;

use arc_swap::ArcSwap;

/// What the control thread and the workers share.
///
/// Thread safety: `state` is replaced whole by the control thread and loaded
/// once per batch by workers; `fdb` is lock-free (see its docs); `clock` is
/// read by everyone. No locks, so no lock order.
pub struct Shared {
    pub state: ArcSwap<state::State>,
    pub fdb: fdb::Fdb,
    pub clock: worker::Clock,
}

impl Shared {
    pub fn new(state: state::State, fdb: fdb::Fdb) -> Shared {
        Shared {
            state: ArcSwap::from_pointee(state),
            fdb,
            clock: worker::Clock::default(),
        }
    }

    /// Seconds since start, as the FDB's clock.
    #[inline]
    pub fn now_secs(&self) -> u32 {
        self.clock.now_secs()
    }
}
