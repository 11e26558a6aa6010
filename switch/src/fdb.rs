//! The forwarding database: (BD, MAC) -> where the MAC lives, shared by every
//! worker without locks.
//!
//! Open addressing over a power-of-two array of slots, at least
//! [`SLOTS_PER_ENTRY`] per entry of capacity (a full table is a quarter
//! used), linear probing within a bounded window of [`PROBE_WINDOW`] slots
//! (eight 16-byte slots share a 128-byte pair of cache lines). Each slot is
//! two atomics:
//!
//! - `key`: `(bd + 1) << 48 | mac`, so a live key is never 0 (empty) nor
//!   [`TOMBSTONE`] (a deleted slot, skipped by lookups, reusable by learning).
//! - `val`: destination in the low 32 bits, the static flag in bit 32, and the
//!   last-seen time in seconds (mod 2^24) in bits 40..64. 0 means "being
//!   written": readers treat it as a miss.
//!
//! Thread safety: workers call [`Fdb::lookup`] and [`Fdb::learn`] concurrently;
//! the control thread calls [`Fdb::age`], [`Fdb::insert_static`],
//! [`Fdb::remove`] and [`Fdb::entries`]. No locks anywhere. Learning writes a
//! slot only when what it holds changes, and refreshes the time only when the
//! second changes, so a hot MAC does not bounce its cache line between cores.
//! Two workers learning the same new MAC in the same instant may each claim a
//! slot; lookups find the first, which is the one refreshed, and the other
//! ages out. Readers re-check the key after reading the value, so a slot
//! recycled under them reads as a miss, never as another MAC's destination.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::wire::Mac;

/// Slots a key may sit away from its home slot.
pub const PROBE_WINDOW: usize = 16;
/// Slots per entry of capacity: 16 bytes of table each. At this load (a
/// quarter, full) most keys sit in their home slot, so the branch on the
/// first slot's key is nearly always predicted right and lookups of a
/// table past the caches overlap their memory misses; at half load (2 per
/// entry) a lookup that missed its home slot mispredicted, and waited for
/// memory before the next could start. Measured (`cargo bench -p bench
/// --bench fdb -- lookup`, 64 random keys, 2 -> 4): 1 M entries hit 12.1 ->
/// 8.4 ns, miss 23.0 -> 10.2 ns; 1 K entries hit 5.7 -> 3.2 ns. The price
/// is memory: 64 bytes per entry of capacity (4 MiB for the default
/// 65,536; 64 MiB for 1 M).
pub const SLOTS_PER_ENTRY: usize = 4;
const TOMBSTONE: u64 = u64::MAX;
const STATIC_BIT: u64 = 1 << 32;
const TIME_SHIFT: u32 = 40;
const TIME_MASK: u64 = (1 << 24) - 1;

/// Where a MAC lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dest {
    /// A local access port, by port index.
    Port(u16),
    /// A remote VTEP, by VTEP index in the running state.
    Vtep(u16),
}

impl Dest {
    fn encode(self) -> u64 {
        // +1 so that no encoded value is 0 ("being written").
        match self {
            Dest::Port(p) => u64::from(p) + 1,
            Dest::Vtep(v) => (1 << 31) | (u64::from(v) + 1),
        }
    }
    fn decode(v: u64) -> Dest {
        let d = (v & 0xffff_ffff) as u32;
        if d & (1 << 31) != 0 {
            Dest::Vtep(((d & 0x7fff_ffff) - 1) as u16)
        } else {
            Dest::Port((d - 1) as u16)
        }
    }
}

/// What [`Fdb::learn`] did; the worker counts each kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Learned {
    /// The entry already said this; at most its time was refreshed.
    Unchanged,
    /// A new entry.
    New,
    /// The MAC moved to a new destination.
    Moved,
    /// A static entry holds this MAC; learning never overrides it.
    Static,
    /// No room: the capacity limit or a full probe window. Forward anyway.
    Full,
}

/// One entry, as the control plane lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub bd: u16,
    pub mac: Mac,
    pub dest: Dest,
    pub is_static: bool,
    /// Seconds since the entry was last seen (0 for static entries).
    pub age_secs: u32,
}

#[repr(C, align(16))]
struct Slot {
    key: AtomicU64,
    val: AtomicU64,
}

/// The slot array, zeroed (every slot empty), in its own anonymous mapping
/// aligned to 2 MiB and offered to the kernel for transparent huge pages
/// (`MADV_HUGEPAGE`, which `madvise` mode honours): a lookup's slot is then
/// found with one TLB entry per 2 MiB instead of per 4 KiB. The default
/// table (262,144 slots, 4 MiB) is two TLB entries; 1 M entries (64 MiB)
/// are 32. Without huge pages (THP off, none free) it is ordinary memory.
///
/// Measured (`cargo bench -p bench --bench fdb -- lookup_hit`): see the
/// README's performance section.
struct SlotArray {
    ptr: std::ptr::NonNull<Slot>,
    len: usize,
    /// The whole mapping (for munmap).
    map: *mut libc::c_void,
    map_len: usize,
}

// SAFETY: the array is plain memory owned by the table; all access goes
// through `&[Slot]` (atomics), so sharing it across threads is as safe as
// sharing a `Box<[Slot]>`.
unsafe impl Send for SlotArray {}
// SAFETY: as above: shared access is only ever through atomics.
unsafe impl Sync for SlotArray {}

const HUGE_PAGE: usize = 2 << 20;

impl SlotArray {
    fn new(len: usize) -> SlotArray {
        let bytes = len * std::mem::size_of::<Slot>();
        // Room to align the start to a huge page, and whole huge pages.
        let map_len = bytes.next_multiple_of(HUGE_PAGE) + HUGE_PAGE;
        // SAFETY: a fresh private anonymous mapping; no existing memory is touched.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert!(
            map != libc::MAP_FAILED,
            "mapping {map_len} bytes for the FDB: {}",
            std::io::Error::last_os_error()
        );
        let start = (map as usize).next_multiple_of(HUGE_PAGE);
        // SAFETY: [start, start + bytes) lies inside the mapping. A hint
        // only: on failure (THP unsupported) the pages stay small.
        unsafe {
            libc::madvise(
                start as *mut libc::c_void,
                bytes.next_multiple_of(HUGE_PAGE),
                libc::MADV_HUGEPAGE,
            );
        }
        SlotArray {
            // Anonymous memory is zeroed: every slot reads key 0, val 0, the
            // empty slot, and an all-zero `Slot` (two AtomicU64) is valid.
            ptr: std::ptr::NonNull::new(start as *mut Slot).expect("mmap never returns address 0"),
            len,
            map,
            map_len,
        }
    }
}

impl std::ops::Deref for SlotArray {
    type Target = [Slot];
    fn deref(&self) -> &[Slot] {
        // SAFETY: `ptr` is aligned (2 MiB), `len` zero-initialized slots
        // live there for as long as `self`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for SlotArray {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`, unmapped once; no slice of it
        // outlives `self`.
        unsafe { libc::munmap(self.map, self.map_len) };
    }
}

/// The lock-free MAC table. See the module docs for the layout.
pub struct Fdb {
    slots: SlotArray,
    mask: usize,
    capacity: usize,
    len: AtomicUsize,
}

/// The table key of (BD, MAC).
#[inline]
pub fn key(bd: u16, mac: &Mac) -> u64 {
    // Two loads (4 + 2 bytes) rather than eight byte moves.
    let hi = u32::from_be_bytes([mac[0], mac[1], mac[2], mac[3]]);
    let lo = u16::from_be_bytes([mac[4], mac[5]]);
    ((u64::from(bd) + 1) << 48) | (u64::from(hi) << 16) | u64::from(lo)
}

#[inline]
fn home(key: u64, mask: usize) -> usize {
    // Fibonacci hashing, middle bits of the product. Taking the top bits
    // instead (the textbook form) measured slower here: fdb/lookup_hit_1M
    // 979 vs 829 ns per 64 lookups (cargo bench -p bench --bench fdb).
    (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) as usize & mask
}

fn pack(dest: Dest, is_static: bool, now_secs: u32) -> u64 {
    dest.encode()
        | if is_static { STATIC_BIT } else { 0 }
        | ((u64::from(now_secs) & TIME_MASK) << TIME_SHIFT)
}

fn age_of(val: u64, now_secs: u32) -> u32 {
    let seen = ((val >> TIME_SHIFT) & TIME_MASK) as u32;
    (now_secs.wrapping_sub(seen)) & TIME_MASK as u32
}

impl Fdb {
    /// A table that holds up to `capacity` entries (slots: [`SLOTS_PER_ENTRY`]
    /// times that, rounded up to a power of two).
    pub fn new(capacity: usize) -> Fdb {
        let n = (capacity.max(1) * SLOTS_PER_ENTRY)
            .next_power_of_two()
            .max(PROBE_WINDOW);
        let slots = SlotArray::new(n);
        Fdb {
            slots,
            mask: n - 1,
            capacity,
            len: AtomicUsize::new(0),
        }
    }

    /// Entries held now.
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The configured capacity.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    #[inline]
    fn slot(&self, i: usize) -> &Slot {
        &self.slots[i & self.mask]
    }

    /// Hints the CPU to fetch `key`'s home slot; call a batch ahead of lookups.
    #[inline]
    pub fn prefetch(&self, key: u64) {
        #[cfg(target_arch = "x86_64")]
        {
            let p = self.slot(home(key, self.mask)) as *const Slot as *const i8;
            // SAFETY: prefetch is a hint; `p` points into our own slot array.
            unsafe { core::arch::x86_64::_mm_prefetch(p, core::arch::x86_64::_MM_HINT_T0) };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = key;
    }

    /// Finds the slot holding `key`: (slot index, value). Always inlined,
    /// as are `lookup` and `learn`: a worker does two per frame, and as
    /// calls LLVM left them (`cargo bench -p bench --bench pipeline --
    /// path_core`, README).
    #[inline(always)]
    fn find(&self, key: u64) -> Option<(usize, u64)> {
        let h = home(key, self.mask);
        for i in h..h + PROBE_WINDOW {
            let s = self.slot(i);
            let k = s.key.load(Ordering::Acquire);
            if k == key {
                let v = s.val.load(Ordering::Acquire);
                if v == 0 || s.key.load(Ordering::Acquire) != key {
                    return None;
                }
                return Some((i & self.mask, v));
            }
            if k == 0 {
                return None;
            }
        }
        None
    }

    /// Where `mac` lives in `bd`, if known.
    #[inline(always)]
    pub fn lookup(&self, bd: u16, mac: &Mac) -> Option<Dest> {
        self.find(key(bd, mac)).map(|(_, v)| Dest::decode(v))
    }

    /// Records that `mac` was seen at `dest` in `bd` at `now_secs`.
    #[inline(always)]
    pub fn learn(&self, bd: u16, mac: &Mac, dest: Dest, now_secs: u32) -> Learned {
        let k = key(bd, mac);
        if let Some((i, v)) = self.find(k) {
            if v & STATIC_BIT != 0 {
                return Learned::Static;
            }
            let same_dest = Dest::decode(v) == dest;
            if same_dest && age_of(v, now_secs) == 0 {
                return Learned::Unchanged;
            }
            // One store: a racing learner may win, which is as good.
            self.slots[i]
                .val
                .store(pack(dest, false, now_secs), Ordering::Release);
            return if same_dest {
                Learned::Unchanged
            } else {
                Learned::Moved
            };
        }
        self.claim(k, pack(dest, false, now_secs))
    }

    /// A new entry: rare next to lookups, so kept out of line.
    #[inline(never)]
    fn claim(&self, k: u64, val: u64) -> Learned {
        if self.len.fetch_add(1, Ordering::Relaxed) >= self.capacity {
            self.len.fetch_sub(1, Ordering::Relaxed);
            return Learned::Full;
        }
        let h = home(k, self.mask);
        for i in h..h + PROBE_WINDOW {
            let s = self.slot(i);
            let cur = s.key.load(Ordering::Acquire);
            if cur == k {
                // Someone else just claimed it.
                self.len.fetch_sub(1, Ordering::Relaxed);
                return Learned::Unchanged;
            }
            if (cur == 0 || cur == TOMBSTONE)
                && s.key
                    .compare_exchange(cur, k, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
            {
                s.val.store(val, Ordering::Release);
                return Learned::New;
            }
        }
        self.len.fetch_sub(1, Ordering::Relaxed);
        Learned::Full
    }

    /// Adds or replaces a static entry (never aged, never overridden by
    /// learning). Control thread only.
    pub fn insert_static(&self, bd: u16, mac: &Mac, dest: Dest) -> Result<(), FdbFull> {
        let k = key(bd, mac);
        if let Some((i, _)) = self.find(k) {
            self.slots[i]
                .val
                .store(pack(dest, true, 0), Ordering::Release);
            return Ok(());
        }
        match self.claim(k, pack(dest, true, 0)) {
            Learned::Full => Err(FdbFull),
            _ => Ok(()),
        }
    }

    fn clear_slot(&self, i: usize) {
        let s = &self.slots[i];
        s.val.store(0, Ordering::Release);
        s.key.store(TOMBSTONE, Ordering::Release);
        self.len.fetch_sub(1, Ordering::Relaxed);
    }

    /// Removes one entry, static or learned. Control thread only.
    pub fn remove(&self, bd: u16, mac: &Mac) -> bool {
        match self.find(key(bd, mac)) {
            Some((i, _)) => {
                self.clear_slot(i);
                true
            }
            None => false,
        }
    }

    /// Removes learned entries not seen for `max_age_secs` or more, and every
    /// entry for which `stale(dest)` holds (a port or VTEP that went away).
    /// Returns how many went. Control thread only.
    pub fn age(
        &self,
        now_secs: u32,
        max_age_secs: u32,
        stale: impl Fn(u16, Dest) -> bool,
    ) -> usize {
        self.clear_where(|bd, v| {
            let expired = v & STATIC_BIT == 0 && age_of(v, now_secs) >= max_age_secs;
            expired || stale(bd, Dest::decode(v))
        })
    }

    /// Removes every entry for which `doomed(bd, dest, is_static)` holds:
    /// what a deleted VNI, port or tunnel leaves behind, or a flush.
    /// Returns how many went. Control thread only.
    pub fn remove_where(&self, doomed: impl Fn(u16, Dest, bool) -> bool) -> usize {
        self.clear_where(|bd, v| doomed(bd, Dest::decode(v), v & STATIC_BIT != 0))
    }

    /// Clears every live slot for which `f(bd, value)` holds.
    fn clear_where(&self, f: impl Fn(u16, u64) -> bool) -> usize {
        let mut n = 0;
        for i in 0..self.slots.len() {
            let s = &self.slots[i];
            let k = s.key.load(Ordering::Acquire);
            if k == 0 || k == TOMBSTONE {
                continue;
            }
            let v = s.val.load(Ordering::Acquire);
            if v == 0 {
                continue;
            }
            if f(((k >> 48) - 1) as u16, v) {
                self.clear_slot(i);
                n += 1;
            }
        }
        n
    }

    /// A snapshot of every entry. Control thread only (allocates).
    pub fn entries(&self, now_secs: u32) -> Vec<Entry> {
        let mut out = Vec::new();
        for s in self.slots.iter() {
            let k = s.key.load(Ordering::Acquire);
            let v = s.val.load(Ordering::Acquire);
            if k == 0 || k == TOMBSTONE || v == 0 {
                continue;
            }
            let m = k.to_be_bytes();
            let is_static = v & STATIC_BIT != 0;
            out.push(Entry {
                bd: ((k >> 48) - 1) as u16,
                mac: [m[2], m[3], m[4], m[5], m[6], m[7]],
                dest: Dest::decode(v),
                is_static,
                age_secs: if is_static { 0 } else { age_of(v, now_secs) },
            });
        }
        out
    }
}

/// The table has no room for another entry.
#[derive(Debug, thiserror::Error)]
#[error("the fdb is full")]
pub struct FdbFull;

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    const A: Mac = [2, 0, 0, 0, 0, 0xa];
    const B: Mac = [2, 0, 0, 0, 0, 0xb];

    #[test]
    fn slot_array_is_aligned_empty_and_whole() {
        for len in [PROBE_WINDOW, 1 << 17, 3 << 16] {
            let a = SlotArray::new(len);
            assert_eq!(a.len(), len);
            assert_eq!(
                a.as_ptr() as usize % HUGE_PAGE,
                0,
                "{len}: huge-page aligned"
            );
            assert!(a
                .iter()
                .all(|s| s.key.load(Ordering::Relaxed) == 0 && s.val.load(Ordering::Relaxed) == 0));
            // Every slot is ours to write, the last one included.
            a[len - 1].key.store(1, Ordering::Relaxed);
            assert_eq!(a[len - 1].key.load(Ordering::Relaxed), 1);
        }
        // A table at the 1 M scale the benches use: learns and finds at once.
        let f = Fdb::new(1 << 20);
        assert_eq!(f.learn(7, &A, Dest::Port(1), 1), Learned::New);
        assert_eq!(f.lookup(7, &A), Some(Dest::Port(1)));
    }

    #[test]
    fn learn_then_lookup() {
        let f = Fdb::new(16);
        assert_eq!(f.lookup(0, &A), None);
        assert_eq!(f.learn(0, &A, Dest::Port(3), 100), Learned::New);
        assert_eq!(f.lookup(0, &A), Some(Dest::Port(3)));
        // Same MAC in another BD is another entry.
        assert_eq!(f.lookup(1, &A), None);
        assert_eq!(f.learn(0, &A, Dest::Port(3), 100), Learned::Unchanged);
        assert_eq!(f.learn(0, &A, Dest::Vtep(7), 101), Learned::Moved);
        assert_eq!(f.lookup(0, &A), Some(Dest::Vtep(7)));
        assert_eq!(f.len(), 1);
    }

    #[test]
    fn ages_with_injected_clock() {
        let f = Fdb::new(16);
        f.learn(0, &A, Dest::Port(1), 1000);
        f.learn(0, &B, Dest::Port(2), 1000);
        // B is seen again later; A is not.
        f.learn(0, &B, Dest::Port(2), 1250);
        assert_eq!(f.age(1299, 300, |_, _| false), 0);
        assert_eq!(f.age(1300, 300, |_, _| false), 1);
        assert_eq!(f.lookup(0, &A), None);
        assert_eq!(f.lookup(0, &B), Some(Dest::Port(2)));
        assert_eq!(f.entries(1300)[0].age_secs, 50);
        // The clock wraps at 2^24 s without aging everything at once.
        let g = Fdb::new(4);
        g.learn(0, &A, Dest::Port(1), (1 << 24) - 10);
        assert_eq!(g.age(5, 300, |_, _| false), 0);
        assert_eq!(g.entries(5)[0].age_secs, 15);
    }

    #[test]
    fn capacity_enforced_and_freed_by_aging() {
        let f = Fdb::new(3);
        for i in 0..3u8 {
            assert_eq!(
                f.learn(0, &[2, 0, 0, 0, 1, i], Dest::Port(1), 0),
                Learned::New
            );
        }
        assert_eq!(f.learn(0, &A, Dest::Port(1), 0), Learned::Full);
        assert_eq!(f.lookup(0, &A), None);
        assert_eq!(f.age(300, 300, |_, _| false), 3);
        assert_eq!(f.learn(0, &A, Dest::Port(1), 300), Learned::New);
        assert_eq!(f.len(), 1);
    }

    #[test]
    fn static_entries_win_and_never_age() {
        let f = Fdb::new(8);
        f.insert_static(4, &A, Dest::Vtep(2)).unwrap();
        assert_eq!(f.learn(4, &A, Dest::Port(1), 10), Learned::Static);
        assert_eq!(f.lookup(4, &A), Some(Dest::Vtep(2)));
        assert_eq!(f.age(1_000_000, 300, |_, _| false), 0);
        assert!(f.entries(0)[0].is_static);
        // A learned entry turns static when the operator says so.
        f.learn(4, &B, Dest::Port(1), 10);
        f.insert_static(4, &B, Dest::Port(5)).unwrap();
        assert_eq!(f.lookup(4, &B), Some(Dest::Port(5)));
        assert!(f.remove(4, &A));
        assert_eq!(f.lookup(4, &A), None);
        assert_eq!(f.len(), 1);
    }

    #[test]
    fn stale_destinations_flushed() {
        let f = Fdb::new(8);
        f.learn(0, &A, Dest::Port(1), 0);
        f.learn(0, &B, Dest::Vtep(1), 0);
        assert_eq!(f.age(1, 300, |_, d| d == Dest::Vtep(1)), 1);
        assert_eq!(f.lookup(0, &B), None);
        assert_eq!(f.lookup(0, &A), Some(Dest::Port(1)));
    }

    #[test]
    fn tombstones_reused_and_probes_continue_past_them() {
        let f = Fdb::new(64);
        let macs: Vec<Mac> = (0..100u8).map(|i| [2, 0, 0, 0, 2, i]).collect();
        for m in &macs[..64] {
            assert_eq!(f.learn(9, m, Dest::Port(1), 0), Learned::New);
        }
        for m in &macs[..32] {
            assert!(f.remove(9, m));
        }
        for m in &macs[32..64] {
            assert_eq!(
                f.lookup(9, m),
                Some(Dest::Port(1)),
                "entry behind a tombstone"
            );
        }
        for m in &macs[64..96] {
            assert_eq!(f.learn(9, m, Dest::Port(2), 0), Learned::New);
        }
        assert_eq!(f.len(), 64);
    }

    #[test]
    fn concurrent_learn_and_lookup() {
        let f = Arc::new(Fdb::new(1 << 14));
        let threads: Vec<_> = (0..4u16)
            .map(|t| {
                let f = f.clone();
                std::thread::spawn(move || {
                    for round in 0..20u32 {
                        for i in 0..2000u16 {
                            let mac = [2, 0, 0, t as u8, (i >> 8) as u8, i as u8];
                            f.learn(t, &mac, Dest::Port(i), round);
                            assert_eq!(f.lookup(t, &mac), Some(Dest::Port(i)));
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(f.len(), 8000);
    }
}
