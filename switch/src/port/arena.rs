//! A private pool of fixed-size frames for the backends that copy frames in
//! and out of the kernel (AF_PACKET) or of test queues (mem): the same frame
//! model as a UMEM, on the heap, room before each frame included (a UMEM
//! chunk's XDP headroom), so a frame's start can move as an AF_XDP frame's
//! does (`Backend::adjust_head`).

/// Room before a frame's first byte in its chunk, as an AF_XDP frame has
/// (XDP_PACKET_HEADROOM): encap moves the start back into it.
pub const HEAD_ROOM: usize = 256;

/// A frame in an [`Arena`]: its index, its length, and where it starts in
/// its chunk (at [`Arena`]'s head room when handed out; moved by
/// [`Arena::adjust_head`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArenaDesc {
    pub idx: u32,
    pub len: u32,
    start: u32,
}

/// `count` chunks, each `head` bytes of room and then a frame of `size`
/// bytes, and a free list.
pub struct Arena {
    mem: Box<[u8]>,
    size: usize,
    head: usize,
    free: Vec<u32>,
    total: usize,
}

impl Arena {
    /// Frames of `size` bytes with [`HEAD_ROOM`] before each.
    pub fn new(count: usize, size: usize) -> Arena {
        Arena::with_head(count, size, HEAD_ROOM)
    }
    /// Frames of `size` bytes with `head` bytes of room before each.
    pub fn with_head(count: usize, size: usize, head: usize) -> Arena {
        Arena {
            mem: vec![0u8; count * (head + size)].into_boxed_slice(),
            size,
            head,
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
    /// Frame size in bytes: the capacity of a frame handed out.
    pub fn frame_size(&self) -> usize {
        self.size
    }
    /// Where chunk `d.idx` begins.
    fn chunk(&self, d: &ArenaDesc) -> usize {
        d.idx as usize * (self.head + self.size)
    }
    /// Where `d`'s first byte is.
    fn at(&self, d: &ArenaDesc) -> usize {
        self.chunk(d) + d.start as usize
    }
    pub fn alloc(&mut self) -> Option<ArenaDesc> {
        let head = self.head as u32;
        self.free.pop().map(|idx| ArenaDesc {
            idx,
            len: 0,
            start: head,
        })
    }
    pub fn free(&mut self, d: ArenaDesc) {
        debug_assert!(!self.free.contains(&d.idx), "frame freed twice");
        self.free.push(d.idx);
    }
    /// The frame's whole buffer: from its start to its chunk's end.
    pub fn buf_mut(&mut self, d: &ArenaDesc) -> &mut [u8] {
        let (at, end) = (self.at(d), self.chunk(d) + self.head + self.size);
        &mut self.mem[at..end]
    }
    /// The frame's bytes, up to its length.
    pub fn data(&self, d: &ArenaDesc) -> &[u8] {
        let at = self.at(d);
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
    /// Moves `d`'s start by `delta` bytes within its chunk and keeps its
    /// end (see `Backend::adjust_head`); false, and nothing changed, when
    /// that leaves the chunk or `delta` is more than its length.
    #[inline(always)]
    pub fn adjust_head(&self, d: &mut ArenaDesc, delta: isize) -> bool {
        super::adjust_start(&mut d.start, &mut d.len, delta)
    }
    pub fn clone_frame(&mut self, src: &ArenaDesc) -> Option<ArenaDesc> {
        let mut d = self.alloc()?;
        let (s, t) = (self.at(src), self.at(&d));
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
        let (s, t) = (self.at(src), self.at(&d));
        // Two different chunks: split the memory between them.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moved_start_keeps_the_bytes_after_it_and_stays_in_its_chunk() {
        let mut a = Arena::with_head(2, 64, 16);
        let mut d = a.load(&[7; 40]).expect("a free frame");
        // Grow at the front: the 40 bytes follow 10 new ones.
        assert!(a.adjust_head(&mut d, -10));
        assert_eq!(d.len, 50);
        a.with_frame(&mut d, |buf, len| {
            assert_eq!(buf.len(), 64 + 10);
            buf[..10].fill(1);
            assert_eq!(*len, 50);
        });
        assert_eq!(&a.data(&d)[10..], &[7; 40]);
        // No further back than the chunk's start; no more stripped than
        // the frame holds.
        assert!(!a.adjust_head(&mut d, -7));
        assert!(!a.adjust_head(&mut d, 51));
        assert_eq!((d.len, a.data(&d)[0]), (50, 1));
        // Strip 30: what is left is the frame's last 20 bytes.
        assert!(a.adjust_head(&mut d, 30));
        assert_eq!(a.data(&d), &[7; 20]);
        // The other chunk is untouched, and a frame handed out again
        // starts at the head room with the whole frame size.
        let mut e = a.load(&[9; 64]).expect("a second frame");
        assert_eq!(a.data(&e), &[9; 64]);
        a.free(d);
        let mut f = a.alloc().expect("freed");
        assert_eq!(a.with_frame(&mut f, |buf, _| buf.len()), 64);
        assert_eq!(a.with_frame(&mut e, |buf, _| buf.len()), 64);
    }
}
