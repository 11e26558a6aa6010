//! The forwarding database (`vxswitch::fdb::Fdb`): lookups, learning, and
//! learning + lookups with a second thread on the same table.
//!
//! Port type: none. The table is driven directly from the bench thread (no
//! frames, no sockets): compute and memory figures for this host only.
//!
//! Every bench does a batch of 64 operations over keys drawn at random (a
//! fixed-seed SplitMix64) from a pre-filled table and reports
//! `Throughput::Elements(64)`: time per iteration / 64 is the cost per
//! lookup (per packet), elem/s the lookups per second of one core. The
//! random keys sit in a 65,536-entry list walked in order, so successive
//! batches touch different buckets; past the last-level cache (the 1M table
//! is 4M slots x 16 B = 64 MiB) lookups pay a memory miss each.
//!
//! - `fdb/lookup_hit_{1K,100K,1M}`: `Fdb::lookup` of keys that are in a table
//!   holding that many entries (its capacity; the slot array is four times
//!   that, `fdb::SLOTS_PER_ENTRY`).
//! - `fdb/lookup_miss_{1K,100K,1M}`: keys that are not in it.
//! - `fdb/lookup_hit_prefetched_1M`: VPP's trick as DESIGN.md describes it:
//!   first `Fdb::prefetch(fdb::key(bd, &mac))` for the whole batch, then the
//!   64 lookups. (The pipeline does not do this today; see the report.)
//! - `fdb/learn_refresh`: `Fdb::learn` of entries that already say the same
//!   thing in the same second (100K table): the per-packet source learning
//!   of a steady flow, which must not write.
//! - `fdb/lookup_learn_1thread` vs `fdb/contended_2threads`: per packet one
//!   learn (source) and one lookup (destination) in a 100K table, as a worker
//!   does. In the contended case a second std thread (started before the
//!   bench, stopped after) does the same on the same table and key set
//!   without pause; the host has 2 cores (vCPUs), so both run in parallel.
//!   The FDB clock ticks once a second, as in production: learning writes a
//!   slot only on the first sighting of a MAC in a new second, so sharing is
//!   almost all reads. With no lock, the contended figure should stay near
//!   the uncontended one; the second thread's own rate is printed after.
//! - `fdb/lookup_learn_1thread_ms_clock` vs `fdb/contended_2threads_ms_clock`:
//!   the same with a clock that ticks every millisecond, so that the first
//!   learn of each key in each tick stores a new time: at these rates almost
//!   every learn writes, the pessimistic case for cache lines moving between
//!   the two cores (1,000 times more refresh stores than production).
//!   Both variants of a pair read the clock once per batch.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bench::{Rng, BATCH};
use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use vxswitch::fdb::{self, Dest, Fdb, Learned};
use vxswitch::wire::Mac;

/// Length of each list of random keys (a multiple of [`BATCH`]).
const PROBES: usize = 1 << 16;
/// Bridge domains the keys spread over.
const BDS: usize = 4;
/// Where every entry of the tables points.
const DEST: Dest = Dest::Port(1);

/// A filled table and lists of random keys that are (hits) and are not
/// (misses) in it.
struct Table {
    fdb: Fdb,
    hits: Vec<(u16, Mac)>,
    misses: Vec<(u16, Mac)>,
}

impl Table {
    fn new(entries: usize, seed: u64) -> Table {
        let fdb = Fdb::new(entries);
        let mut rng = Rng::new(seed);
        let mut keys = Vec::with_capacity(entries);
        // Learns refused with room left: the key's probe window was full.
        let mut refused = 0usize;
        while keys.len() < entries {
            let k = (rng.below(BDS) as u16, rng.mac());
            match fdb.learn(k.0, &k.1, DEST, 0) {
                Learned::New => keys.push(k),
                // A repeated random MAC.
                Learned::Unchanged => {}
                Learned::Full if fdb.len() < entries => refused += 1,
                other => panic!("filling a {entries}-entry table: {other:?}"),
            }
        }
        if refused > 0 {
            eprintln!(
                "fdb: filling {entries} random keys, {refused} learns were refused \
                 (probe window of {} full) before the table reached its capacity",
                fdb::PROBE_WINDOW
            );
        }
        let hits = (0..PROBES).map(|_| keys[rng.below(keys.len())]).collect();
        let misses = (0..PROBES)
            .map(|_| loop {
                let k = (rng.below(BDS) as u16, rng.mac());
                if fdb.lookup(k.0, &k.1).is_none() {
                    break k;
                }
            })
            .collect();
        Table { fdb, hits, misses }
    }
}

/// Walks `keys` a batch at a time.
struct Cursor(usize);

impl Cursor {
    fn next<'a>(&mut self, keys: &'a [(u16, Mac)]) -> &'a [(u16, Mac)] {
        let at = self.0;
        self.0 = (at + BATCH) % keys.len();
        &keys[at..at + BATCH]
    }
}

fn lookups(fdb: &Fdb, batch: &[(u16, Mac)]) -> usize {
    batch
        .iter()
        .filter(|(bd, mac)| fdb.lookup(*bd, mac).is_some())
        .count()
}

fn group<'a>(c: &'a mut Criterion) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group("fdb");
    g.throughput(Throughput::Elements(BATCH as u64))
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(1500));
    g
}

fn bench_lookup(c: &mut Criterion) {
    let mut g = group(c);
    for (name, entries) in [("1K", 1_000), ("100K", 100_000), ("1M", 1_000_000)] {
        let t = Table::new(entries, 0x5eed ^ entries as u64);
        let mut at = Cursor(0);
        g.bench_function(format!("lookup_hit_{name}"), |b| {
            b.iter(|| lookups(&t.fdb, black_box(at.next(&t.hits))))
        });
        let mut at = Cursor(0);
        g.bench_function(format!("lookup_miss_{name}"), |b| {
            b.iter(|| lookups(&t.fdb, black_box(at.next(&t.misses))))
        });
        if entries == 1_000_000 {
            let mut at = Cursor(0);
            g.bench_function("lookup_hit_prefetched_1M", |b| {
                b.iter(|| {
                    let batch = black_box(at.next(&t.hits));
                    for (bd, mac) in batch {
                        t.fdb.prefetch(fdb::key(*bd, mac));
                    }
                    lookups(&t.fdb, batch)
                })
            });
        }
        // Sanity: every hit hits, every miss misses.
        assert_eq!(lookups(&t.fdb, &t.hits), PROBES);
        assert_eq!(lookups(&t.fdb, &t.misses), 0);
    }
    g.finish();
}

fn bench_learn(c: &mut Criterion) {
    let mut g = group(c);
    let t = Table::new(100_000, 0x1ea4);
    let mut at = Cursor(0);
    g.bench_function("learn_refresh", |b| {
        b.iter(|| {
            let mut moved = 0;
            for (bd, mac) in black_box(at.next(&t.hits)) {
                moved += usize::from(t.fdb.learn(*bd, mac, DEST, 0) != Learned::Unchanged);
            }
            moved
        })
    });
    g.finish();
}

/// One worker's FDB work per packet: learn the source, look up the
/// destination. `srcs` and `dsts` are walked in step.
#[inline]
fn learn_and_lookup(fdb: &Fdb, srcs: &[(u16, Mac)], dsts: &[(u16, Mac)], now: u32) -> usize {
    let mut hits = 0;
    for ((sbd, smac), (dbd, dmac)) in srcs.iter().zip(dsts) {
        fdb.learn(*sbd, smac, DEST, now);
        hits += usize::from(fdb.lookup(*dbd, dmac).is_some());
    }
    hits
}

/// The FDB clock: ticks of `tick_ms` milliseconds since `start`.
fn clock(start: Instant, tick_ms: u128) -> u32 {
    (start.elapsed().as_millis() / tick_ms) as u32
}

/// `lookup_learn_1thread{suffix}`, then `contended_2threads{suffix}`, with
/// an FDB clock of `tick_ms` milliseconds.
fn contended(g: &mut BenchmarkGroup<WallTime>, t: &Arc<Table>, suffix: &str, tick_ms: u128) {
    let start = Instant::now();
    let run_main = |b: &mut criterion::Bencher| {
        // Sources and destinations: the hit list, offset by half, so a
        // packet's two keys differ.
        let (mut s, mut d) = (Cursor(0), Cursor(PROBES / 2));
        b.iter(|| {
            let now = clock(start, tick_ms);
            learn_and_lookup(&t.fdb, black_box(s.next(&t.hits)), d.next(&t.hits), now)
        })
    };
    g.bench_function(format!("lookup_learn_1thread{suffix}"), run_main);

    let stop = Arc::new(AtomicBool::new(false));
    let ops = Arc::new(AtomicU64::new(0));
    let other = {
        let (t, stop, ops) = (t.clone(), stop.clone(), ops.clone());
        std::thread::spawn(move || {
            // Its own walk through the same keys.
            let (mut s, mut d) = (Cursor(PROBES / 4), Cursor(3 * PROBES / 4));
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let now = clock(start, tick_ms);
                black_box(learn_and_lookup(
                    &t.fdb,
                    s.next(&t.hits),
                    d.next(&t.hits),
                    now,
                ));
                n += BATCH as u64;
            }
            ops.store(n, Ordering::Relaxed);
        })
    };
    let began = Instant::now();
    g.bench_function(format!("contended_2threads{suffix}"), run_main);
    stop.store(true, Ordering::Relaxed);
    other.join().expect("the second FDB thread does not panic");
    let secs = began.elapsed().as_secs_f64();
    // A bench filtered out by name returns at once: nothing to report then.
    if secs > 0.5 {
        eprintln!(
            "fdb/contended_2threads{suffix}: the second thread did {:.1} M learn+lookup/s meanwhile",
            ops.load(Ordering::Relaxed) as f64 / secs / 1e6
        );
    }
}

fn bench_contended(c: &mut Criterion) {
    let mut g = group(c);
    let t = Arc::new(Table::new(100_000, 0xc0de));
    // The production clock: one tick a second.
    contended(&mut g, &t, "", 1000);
    // The pessimistic clock: one tick a millisecond, so most learns write.
    contended(&mut g, &t, "_ms_clock", 1);
    g.finish();
}

criterion_group!(benches, bench_lookup, bench_learn, bench_contended);
criterion_main!(benches);
