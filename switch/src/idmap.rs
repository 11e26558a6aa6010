//! A read-only map from a `u32` key (a VNI, an IPv4 address) to a `u16`
//! index, for the two lookups every decapsulated frame makes: its VNI's BD
//! and its sender's VTEP. Built by the control path with each running
//! state, read by the workers.
//!
//! Open addressing over a power-of-two array of at least twice as many
//! slots as keys (so runs stay short), Fibonacci hashing, linear probing;
//! each slot one `u64`: `key << 32 | 1 << 31 | index`, 0 when empty. A
//! lookup is a multiply and, nearly always, one load: the binary search it
//! replaced was a chain of dependent loads and compares, 5 ns of a 49 ns
//! decap path with ten VTEPs (`perf record` on
//! `path_core/uplink_to_access_64B`).

/// See the module docs.
#[derive(Debug, Clone)]
pub struct IdMap {
    slots: Box<[u64]>,
    shift: u32,
}

const USED: u64 = 1 << 31;

impl IdMap {
    /// A map of `entries`; a key given twice keeps its first index.
    pub fn new(entries: impl IntoIterator<Item = (u32, u16)>) -> IdMap {
        let entries: Vec<(u32, u16)> = entries.into_iter().collect();
        let n = (entries.len() * 2).next_power_of_two().max(8);
        let mut m = IdMap {
            slots: vec![0; n].into_boxed_slice(),
            shift: 32 - n.trailing_zeros(),
        };
        for (key, idx) in entries {
            let mut i = m.home(key);
            loop {
                let s = m.slots[i];
                if s == 0 {
                    m.slots[i] = u64::from(key) << 32 | USED | u64::from(idx);
                    break;
                }
                if (s >> 32) as u32 == key {
                    break;
                }
                i = (i + 1) & (n - 1);
            }
        }
        m
    }

    #[inline]
    fn home(&self, key: u32) -> usize {
        (key.wrapping_mul(0x9e37_79b9) >> self.shift) as usize
    }

    /// The index stored for `key`.
    #[inline(always)]
    pub fn get(&self, key: u32) -> Option<u16> {
        let mask = self.slots.len() - 1;
        let mut i = self.home(key);
        loop {
            let s = self.slots[i & mask];
            if s == 0 {
                return None;
            }
            if (s >> 32) as u32 == key {
                return Some(s as u16);
            }
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_key_and_nothing_else() {
        for n in [0usize, 1, 3, 8, 100, 4096] {
            // Keys that collide on purpose too: multiples of a power of two.
            let keys: Vec<u32> = (0..n as u32).map(|k| k.wrapping_mul(1 << 20) ^ 7).collect();
            let m = IdMap::new(keys.iter().enumerate().map(|(i, &k)| (k, i as u16)));
            for (i, &k) in keys.iter().enumerate() {
                assert_eq!(m.get(k), Some(i as u16), "n {n}: key {k:#x}");
            }
            for k in [1u32, 2, 0xffff_ffff, 0x0080_0000] {
                if !keys.contains(&k) {
                    assert_eq!(m.get(k), None, "n {n}: absent key {k:#x}");
                }
            }
        }
    }

    #[test]
    fn key_zero_and_index_zero_are_ordinary() {
        let m = IdMap::new([(0, 0), (5, 0xffff)]);
        assert_eq!(m.get(0), Some(0));
        assert_eq!(m.get(5), Some(0xffff));
        assert_eq!(m.get(6), None);
    }

    #[test]
    fn a_repeated_key_keeps_its_first_index() {
        let m = IdMap::new([(9, 1), (9, 2)]);
        assert_eq!(m.get(9), Some(1));
    }
}
