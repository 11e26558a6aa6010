//! In-memory ports: frames are pushed in and collected out by the caller.
//! Drives the real pipeline and worker loop with no sockets, for tests and
//! benches. The pipeline itself never allocates here; `flush` copies each
//! sent frame into `output` (one allocation per sent frame), which is the
//! collecting, not the switching: benches that must exclude it drive the
//! stages directly.

use std::collections::VecDeque;

use super::arena::{Arena, ArenaDesc};
use super::{Backend, FrameAccounting, PortSpec};
use crate::stats::{Counters, Drop};

/// Frame size, as an AF_XDP chunk's data area (4096 - 256 headroom; the
/// arena keeps that headroom before each frame too).
pub const FRAME_SIZE: usize = 3840;

pub struct MemBackend {
    arena: Arena,
    input: Vec<VecDeque<ArenaDesc>>,
    /// Frames sent, per port, in order.
    pub output: Vec<Vec<Vec<u8>>>,
    pending: Vec<Vec<ArenaDesc>>,
    /// Which slots are open.
    open: Vec<bool>,
    /// Names given to `open_port`, by slot (for tests).
    pub names: Vec<String>,
    /// Whether frames' starts move (`Backend::adjust_head`), as AF_XDP
    /// frames' do; see [`MemBackend::fixed_start`].
    moves: bool,
}

impl MemBackend {
    /// `ports` ports (the uplink included) sharing `frames` frames, with
    /// room before each frame as an AF_XDP frame has: encap and decap move
    /// a frame's start (`Backend::adjust_head`).
    pub fn new(ports: usize, frames: usize) -> MemBackend {
        MemBackend::make(ports, frames, true)
    }
    /// As [`MemBackend::new`], but a frame's start never moves, as with a
    /// backend that cannot move it: encap and decap move the frame's bytes
    /// instead.
    pub fn fixed_start(ports: usize, frames: usize) -> MemBackend {
        MemBackend::make(ports, frames, false)
    }
    fn make(ports: usize, frames: usize, moves: bool) -> MemBackend {
        MemBackend {
            moves,
            arena: Arena::new(frames, FRAME_SIZE),
            input: (0..ports).map(|_| VecDeque::new()).collect(),
            output: vec![Vec::new(); ports],
            pending: (0..ports).map(|_| Vec::with_capacity(256)).collect(),
            open: vec![true; ports],
            names: vec![String::new(); ports],
        }
    }
    /// Queues `bytes` as received on `port`. False when no frame is free.
    pub fn inject(&mut self, port: usize, bytes: &[u8]) -> bool {
        match self.arena.load(bytes) {
            Some(d) => {
                self.input[port].push_back(d);
                true
            }
            None => false,
        }
    }
    /// Takes what was sent on `port`.
    pub fn take(&mut self, port: usize) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.output[port])
    }
}

impl Backend for MemBackend {
    type Desc = ArenaDesc;

    fn n_ports(&self) -> usize {
        self.input.len()
    }
    fn open_port(&mut self, slot: usize, spec: &PortSpec) -> Result<(), String> {
        if slot >= self.input.len() {
            self.input.resize_with(slot + 1, VecDeque::new);
            self.output.resize_with(slot + 1, Vec::new);
            self.pending
                .resize_with(slot + 1, || Vec::with_capacity(256));
            self.open.resize(slot + 1, false);
            self.names.resize(slot + 1, String::new());
        }
        if self.open[slot] && !self.names[slot].is_empty() {
            return Err(format!("slot {slot} is open already"));
        }
        self.open[slot] = true;
        self.names[slot] = spec.name.clone();
        Ok(())
    }
    fn close_port(&mut self, slot: usize) {
        if let Some(open) = self.open.get_mut(slot) {
            *open = false;
            self.names[slot].clear();
            while let Some(d) = self.input[slot].pop_front() {
                self.arena.free(d);
            }
        }
    }
    fn rx(&mut self, port: usize, out: &mut [ArenaDesc]) -> usize {
        let mut n = 0;
        while n < out.len() {
            match self.input[port].pop_front() {
                Some(d) => {
                    out[n] = d;
                    n += 1;
                }
                None => break,
            }
        }
        n
    }
    fn len(&self, d: &ArenaDesc) -> usize {
        d.len as usize
    }
    #[inline(always)]
    fn with_frame<R>(
        &mut self,
        d: &mut ArenaDesc,
        f: impl FnOnce(&mut [u8], &mut usize) -> R,
    ) -> R {
        self.arena.with_frame(d, f)
    }
    #[inline(always)]
    fn adjust_head(&mut self, d: &mut ArenaDesc, delta: isize) -> bool {
        self.moves && self.arena.adjust_head(d, delta)
    }
    fn clone_frame(&mut self, src: &ArenaDesc) -> Option<ArenaDesc> {
        self.arena.clone_frame(src)
    }
    fn alloc_from(
        &mut self,
        src: &ArenaDesc,
        fill: impl FnOnce(&[u8], &mut [u8]) -> usize,
    ) -> Option<ArenaDesc> {
        self.arena.alloc_from(src, fill)
    }
    fn tx(&mut self, port: usize, d: ArenaDesc, ctr: &Counters) {
        if !self.open.get(port).copied().unwrap_or(false) {
            ctr.drop(Drop::NoPort, 1);
            self.arena.free(d);
            return;
        }
        self.pending[port].push(d);
    }
    fn free(&mut self, d: ArenaDesc) {
        self.arena.free(d);
    }
    fn flush(&mut self, ctr: &Counters) {
        for port in 0..self.pending.len() {
            // Index loop, not take(): the pending list keeps its capacity.
            let mut bytes = 0;
            for i in 0..self.pending[port].len() {
                let d = self.pending[port][i];
                bytes += d.len as usize;
                self.output[port].push(self.arena.data(&d).to_vec());
                self.arena.free(d);
            }
            if !self.pending[port].is_empty() {
                ctr.port_tx(port, self.pending[port].len(), bytes);
            }
            self.pending[port].clear();
        }
    }

    fn wait(&mut self, _timeout_ms: i32) {
        // Frames appear only when the caller injects them: nothing to wait for.
    }

    fn frames(&self) -> FrameAccounting {
        let queued: usize = self.input.iter().map(|q| q.len()).sum();
        FrameAccounting {
            total: self.arena.total(),
            free: self.arena.n_free(),
            in_fill: queued,
            in_tx: 0,
        }
    }
}
