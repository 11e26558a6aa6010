//! ECMP over underlay next hops: a resilient bucket table.
//!
//! The inner flow hash (the one that also sets the outer UDP source port)
//! picks one of [`BUCKETS`] buckets, and each bucket names a next hop. The
//! table changes as little as it can:
//!
//! - Every configured hop has *home* buckets, a share by weight. Adding or
//!   removing a hop moves only the buckets it gains or loses.
//! - A hop that goes down lends its buckets to the live hops (by weight,
//!   to those furthest below their share); no other bucket moves. When it
//!   comes back, its home buckets return to it, and only those move.
//!
//! So one inner flow stays on one path while that path lives, and a change
//! moves only the flows it must. Built by the control thread; a worker only
//! indexes it ([`Resilient::pick`]).

/// Buckets in the table: 256 spreads up to dozens of hops within a few
/// percent of their weights.
pub const BUCKETS: usize = 256;

/// No hop: the table is empty.
const NONE: u16 = u16::MAX;

/// A configured next hop, as the table sees it: its slot index is its
/// position in the slice given to [`Resilient::update`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hop {
    /// Relative share of flows; 0 means not configured (a vacant slot).
    pub weight: u32,
    /// Whether it is reachable now.
    pub up: bool,
}

/// The bucket table. Copy-on-write: the control thread updates a clone and
/// publishes it in a new running state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resilient {
    /// The hop each bucket belongs to when every hop is up.
    home: [u16; BUCKETS],
    /// The hop each bucket sends to now.
    live: [u16; BUCKETS],
}

impl Default for Resilient {
    fn default() -> Self {
        Resilient {
            home: [NONE; BUCKETS],
            live: [NONE; BUCKETS],
        }
    }
}

/// Buckets per hop for `weights` (largest-remainder rounding, ties to the
/// lower index), summing to [`BUCKETS`] unless every weight is zero.
fn shares(weights: &[u32]) -> Vec<usize> {
    let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
    if total == 0 {
        return vec![0; weights.len()];
    }
    let exact: Vec<u64> = weights
        .iter()
        .map(|&w| u64::from(w) * BUCKETS as u64)
        .collect();
    let mut out: Vec<usize> = exact.iter().map(|e| (e / total) as usize).collect();
    let mut left = BUCKETS - out.iter().sum::<usize>();
    let mut order: Vec<usize> = (0..weights.len()).filter(|&i| weights[i] > 0).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(exact[i] % total));
    for i in order {
        if left == 0 {
            break;
        }
        out[i] += 1;
        left -= 1;
    }
    out
}

/// Gives every bucket marked [`NONE`] in `table` to the hop furthest below
/// its share `want` (ties to the lower index), and takes buckets from hops
/// above their share only when `trim` (the home table; the live table never
/// takes a bucket from a live hop).
fn fill(table: &mut [u16; BUCKETS], want: &[usize], trim: bool) {
    let mut have = vec![0usize; want.len()];
    for b in table.iter_mut() {
        if *b == NONE {
            continue;
        }
        let h = usize::from(*b);
        if h >= want.len() || (trim && have[h] >= want[h]) {
            *b = NONE;
        } else {
            have[h] += 1;
        }
    }
    for b in table.iter_mut().filter(|b| **b == NONE) {
        let best = (0..want.len())
            .filter(|&h| want[h] > 0)
            .max_by_key(|&h| (want[h] as i64 - have[h] as i64, std::cmp::Reverse(h)));
        if let Some(h) = best {
            *b = h as u16;
            have[h] += 1;
        }
    }
}

impl Resilient {
    /// Rebuilds for `hops` (indexed by hop slot), moving as few buckets as
    /// the change requires.
    pub fn update(&mut self, hops: &[Hop]) {
        let weights: Vec<u32> = hops.iter().map(|h| h.weight).collect();
        fill(&mut self.home, &shares(&weights), true);
        let up = |h: u16| {
            hops.get(usize::from(h))
                .is_some_and(|x| x.up && x.weight > 0)
        };
        for (live, home) in self.live.iter_mut().zip(self.home) {
            // A bucket goes home when its home hop is up; it leaves a hop
            // that is down. Buckets on live hops stay where they are.
            if up(home) {
                *live = home;
            } else if *live == NONE || !up(*live) {
                *live = NONE;
            }
        }
        let live_weights: Vec<u32> = hops
            .iter()
            .map(|h| if h.up { h.weight } else { 0 })
            .collect();
        fill(&mut self.live, &shares(&live_weights), false);
    }

    /// The hop for a flow hash, if any hop is up.
    #[inline]
    pub fn pick(&self, hash: u32) -> Option<u16> {
        let h = self.live[hash as usize % BUCKETS];
        (h != NONE).then_some(h)
    }

    /// Buckets a hop sends for now.
    pub fn buckets_of(&self, hop: u16) -> usize {
        self.live.iter().filter(|&&h| h == hop).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hops(weights: &[u32]) -> Vec<Hop> {
        weights
            .iter()
            .map(|&weight| Hop { weight, up: true })
            .collect()
    }

    /// 1,000 flows, hashed as the switch hashes them: a spread of 32-bit values.
    fn flows() -> Vec<u32> {
        (0..1000u32)
            .map(|i| i.wrapping_mul(0x9e37_79b9).rotate_left(7) ^ 0x5bd1_e995)
            .collect()
    }

    fn spread(t: &Resilient, n: usize) -> Vec<usize> {
        let mut c = vec![0; n];
        for f in flows() {
            c[usize::from(t.pick(f).expect("a hop is up"))] += 1;
        }
        c
    }

    #[test]
    fn spread_follows_weights() {
        for weights in [&[1, 1, 1, 1][..], &[1, 2, 3, 4], &[5, 1], &[1, 1, 1]] {
            let mut t = Resilient::default();
            t.update(&hops(weights));
            let total: u32 = weights.iter().sum();
            let c = spread(&t, weights.len());
            for (i, &w) in weights.iter().enumerate() {
                let want = 1000.0 * f64::from(w) / f64::from(total);
                let got = c[i] as f64;
                assert!(
                    (got - want).abs() <= want * 0.10,
                    "weights {weights:?}: hop {i} got {got} flows, want {want:.0} +-10%"
                );
                let buckets = t.buckets_of(i as u16);
                assert!(
                    (buckets as f64 - BUCKETS as f64 * f64::from(w) / f64::from(total)).abs()
                        <= 1.0
                );
            }
        }
    }

    #[test]
    fn removing_a_hop_moves_only_its_flows() {
        let mut t = Resilient::default();
        let mut h = hops(&[1, 1, 1, 1]);
        t.update(&h);
        let before: Vec<u16> = flows().iter().map(|&f| t.pick(f).unwrap()).collect();
        h[2].weight = 0; // removed from the config
        t.update(&h);
        let after: Vec<u16> = flows().iter().map(|&f| t.pick(f).unwrap()).collect();
        for (b, a) in before.iter().zip(&after) {
            if *b != 2 {
                assert_eq!(a, b, "a flow not on the removed hop moved");
            } else {
                assert_ne!(*a, 2);
            }
        }
        let c = spread(&t, 4);
        assert_eq!(c[2], 0);
        for i in [0, 1, 3] {
            assert!((c[i] as f64 - 333.3).abs() <= 33.4, "{c:?}");
        }
    }

    #[test]
    fn adding_a_hop_moves_only_what_it_gains() {
        let mut t = Resilient::default();
        t.update(&hops(&[1, 1, 1]));
        let before: Vec<u16> = flows().iter().map(|&f| t.pick(f).unwrap()).collect();
        t.update(&hops(&[1, 1, 1, 1]));
        let after: Vec<u16> = flows().iter().map(|&f| t.pick(f).unwrap()).collect();
        for (b, a) in before.iter().zip(&after) {
            assert!(a == b || *a == 3, "a flow moved between old hops");
        }
        assert_eq!(t.buckets_of(3), 64);
    }

    #[test]
    fn a_hop_that_goes_down_lends_its_buckets_and_gets_them_back() {
        let mut t = Resilient::default();
        let mut h = hops(&[1, 1, 1, 1]);
        t.update(&h);
        let home = t.clone();
        let before: Vec<u16> = flows().iter().map(|&f| t.pick(f).unwrap()).collect();
        h[1].up = false;
        t.update(&h);
        let down: Vec<u16> = flows().iter().map(|&f| t.pick(f).unwrap()).collect();
        for (b, d) in before.iter().zip(&down) {
            if *b != 1 {
                assert_eq!(d, b, "a flow on a live hop moved");
            } else {
                assert_ne!(*d, 1);
            }
        }
        assert_eq!(t.buckets_of(1), 0);
        // A second failure moves only the second hop's flows.
        h[3].up = false;
        t.update(&h);
        let down2: Vec<u16> = flows().iter().map(|&f| t.pick(f).unwrap()).collect();
        for (d, d2) in down.iter().zip(&down2) {
            if *d != 3 {
                assert_eq!(d2, d);
            }
        }
        // Both come back: every bucket is home again.
        h[1].up = true;
        h[3].up = true;
        t.update(&h);
        assert_eq!(t, home);
    }

    #[test]
    fn nothing_up_picks_nothing() {
        let mut t = Resilient::default();
        assert_eq!(t.pick(7), None);
        let mut h = hops(&[1, 1]);
        t.update(&h);
        h[0].up = false;
        h[1].up = false;
        t.update(&h);
        assert_eq!(t.pick(7), None);
        h[0].up = true;
        t.update(&h);
        assert_eq!(t.buckets_of(0), BUCKETS);
    }
}
