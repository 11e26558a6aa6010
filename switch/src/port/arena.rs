//! A private pool of fixed-size frames for the backends that copy frames in
//! and out of the kernel (AF_PACKET) or of test queues (mem): the same frame
//! model as a UMEM, on the heap.

/// A frame in an [`Arena`]: its index and length.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArenaDesc {
    pub idx: u32,
    pub len: u32,
}

/// `count` frames of `size` bytes, and a free list.
pub struct Arena {
    mem: Box<[u8]>,
    size: usize,
    free: Vec<u32>,
    total: usize,
}

impl Arena {
    pub fn new(count: usize, size: usize) -> Arena {
        Arena {
            mem: vec![0u8; count * size].into_boxed_slice(),
            size,
            free: (0..count as u32).rev().collect(),
            total: count,
        }
    }
    pub fn total(&self) -> usize {
        self.total
    }
    pub fn n_free(&self) -> usize {
        self.free.len()
    }
    /// Frame size in bytes.
    pub fn frame_size(&self) -> usize {
        self.size
    }
    pub fn alloc(&mut self) -> Option<ArenaDesc> {
        self.free.pop().map(|idx| ArenaDesc { idx, len: 0 })
    }
    pub fn free(&mut self, d: ArenaDesc) {
        debug_assert!(!self.free.contains(&d.idx), "frame freed twice");
        self.free.push(d.idx);
    }
    /// The frame's whole buffer.
    pub fn buf_mut(&mut self, d: &ArenaDesc) -> &mut [u8] {
        let at = d.idx as usize * self.size;
        &mut self.mem[at..at + self.size]
    }
    /// The frame's bytes, up to its length.
    pub fn data(&self, d: &ArenaDesc) -> &[u8] {
        let at = d.idx as usize * self.size;
        &self.mem[at..at + d.len as usize]
    }
    #[inline(always)]
    pub fn with_frame<R>(
        &mut self,
        d: &mut ArenaDesc,
        f: impl FnOnce(&mut [u8], &mut usize) -> R,
    ) -> R {
        let mut len = d.len as usize;
        let r = f(self.buf_mut(d), &mut len);
        d.len = len as u32;
        r
    }
    pub fn clone_frame(&mut self, src: &ArenaDesc) -> Option<ArenaDesc> {
        let mut d = self.alloc()?;
        let (s, t) = (src.idx as usize * self.size, d.idx as usize * self.size);
        self.mem.copy_within(s..s + src.len as usize, t);
        d.len = src.len;
        Some(d)
    }
    /// Allocates a frame that `fill` writes from `src`'s bytes (see
    /// `Backend::alloc_from`).
    pub fn alloc_from(
        &mut self,
        src: &ArenaDesc,
        fill: impl FnOnce(&[u8], &mut [u8]) -> usize,
    ) -> Option<ArenaDesc> {
        let mut d = self.alloc()?;
        let (s, t) = (src.idx as usize * self.size, d.idx as usize * self.size);
        // Two different frames: split the memory between them.
        let (from, to) = if s < t {
            let (lo, hi) = self.mem.split_at_mut(t);
            (&lo[s..s + src.len as usize], &mut hi[..self.size])
        } else {
            let (lo, hi) = self.mem.split_at_mut(s);
            (&hi[..src.len as usize], &mut lo[t..t + self.size])
        };
        let n = fill(from, to);
        d.len = n.min(self.size) as u32;
        Some(d)
    }
    /// Allocates a frame holding `bytes` (truncated to the frame size).
    pub fn load(&mut self, bytes: &[u8]) -> Option<ArenaDesc> {
        let mut d = self.alloc()?;
        let n = bytes.len().min(self.size);
        self.buf_mut(&d)[..n].copy_from_slice(&bytes[..n]);
        d.len = n as u32;
        Some(d)
    }
}
