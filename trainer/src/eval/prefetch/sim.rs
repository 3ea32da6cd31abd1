//! Runs one memory per policy on the same stream and turns their counters into figures.

use inference_core::features::memory::MemoryAccess;
use serde::Serialize;

use super::cache::{Counts, Memory, Store};
use super::{Prefetcher, MAX_DEGREE};

/// One policy's memory and prefetcher.
struct Lane<'p, S> {
    memory: Memory<S>,
    prefetcher: &'p mut dyn Prefetcher,
}

/// A reference memory without prefetching (`none`) and one memory per prefetcher, all of
/// one level, fed the same accesses.
pub struct Simulation<'p, S> {
    shift: u32,
    reference: Memory<S>,
    lanes: Vec<Lane<'p, S>>,
    out: Vec<u64>,
}

impl<'p, S: Store> Simulation<'p, S> {
    /// A simulation of blocks of `1 << shift` bytes; `store` makes each policy's empty memory.
    pub fn new(
        shift: u32,
        store: impl Fn() -> S,
        prefetchers: impl IntoIterator<Item = &'p mut dyn Prefetcher>,
    ) -> Self {
        Simulation {
            shift,
            reference: Memory::new(store()),
            lanes: prefetchers
                .into_iter()
                .map(|prefetcher| Lane {
                    memory: Memory::new(store()),
                    prefetcher,
                })
                .collect(),
            out: Vec::with_capacity(64),
        }
    }

    /// Replays one access under every policy.
    pub fn step(&mut self, a: &MemoryAccess) {
        let block = a.addr >> self.shift;
        self.reference.access(block);
        for lane in &mut self.lanes {
            let hit = lane.memory.access(block);
            self.out.clear();
            lane.prefetcher.observe(a, block, hit, &mut self.out);
            for &b in self.out.iter().take(MAX_DEGREE) {
                lane.memory.prefetch(b);
            }
        }
    }

    /// Each policy's counters, `none` first.
    pub fn counts(&self) -> Vec<(&'static str, Counts)> {
        std::iter::once(("none", self.reference.counts))
            .chain(
                self.lanes
                    .iter()
                    .map(|l| (l.prefetcher.name(), l.memory.counts)),
            )
            .collect()
    }
}

/// The figures of one policy, against the same stream without prefetching.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Figures {
    /// Demand accesses.
    pub accesses: u64,
    /// Demand misses.
    pub misses: u64,
    /// Hits / accesses.
    pub hit_rate: f64,
    /// 1 - misses / misses without prefetching.
    pub miss_reduction: f64,
    /// Prefetches issued (blocks fetched that were not resident).
    pub prefetches: u64,
    /// Useful / issued prefetches (0 when none was issued).
    pub prefetch_accuracy: f64,
    /// Useful prefetches / misses without prefetching: the share of the misses a prefetch
    /// served.
    pub coverage: f64,
    /// (misses + issued) / misses without prefetching - 1: blocks fetched from memory beyond
    /// what no prefetching fetches (negative when prefetching also saved refetches).
    pub extra_traffic: f64,
}

impl Figures {
    /// Figures of `c` against `none`, the same stream without prefetching. With no reference
    /// miss at all, ratios over it are taken over 1.
    pub fn new(c: &Counts, none: &Counts) -> Figures {
        let base = none.misses().max(1) as f64;
        Figures {
            accesses: c.accesses,
            misses: c.misses(),
            hit_rate: c.hits as f64 / c.accesses.max(1) as f64,
            miss_reduction: 1.0 - c.misses() as f64 / base,
            prefetches: c.issued,
            prefetch_accuracy: if c.issued == 0 {
                0.0
            } else {
                c.useful as f64 / c.issued as f64
            },
            coverage: c.useful as f64 / base,
            extra_traffic: (c.misses() + c.issued) as f64 / base - 1.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Cache, CacheConfig, NextLine, ResidentSet};
    use super::*;

    fn at(addr: u64) -> MemoryAccess {
        MemoryAccess {
            addr,
            ..MemoryAccess::default()
        }
    }

    #[test]
    fn figures_of_a_tiny_stream_by_hand() {
        // 2 sets x 2 ways of 64-byte lines; lines 0 1 2 3 0.
        // none: four cold misses, then 0 hits (set 0 holds 0 and 2).
        // next-line: 0 misses, prefetches 1; 1, 2, 3 hit their prefetches (prefetching 2, 3,
        // 4); prefetching 4 evicts 0 from set 0, so the last 0 misses (its prefetch of 1 is
        // not issued: 1 is resident).
        let cfg = CacheConfig {
            size: 256,
            ways: 2,
            line: 64,
        };
        let mut nl = NextLine;
        let mut sim = Simulation::new(6, || Cache::new(cfg), [&mut nl as &mut dyn Prefetcher]);
        for line in [0, 1, 2, 3, 0] {
            sim.step(&at(line * 64 + 8));
        }
        let c = sim.counts();
        assert_eq!(c[0].0, "none");
        assert_eq!(
            c[0].1,
            Counts {
                accesses: 5,
                hits: 1,
                issued: 0,
                useful: 0
            }
        );
        assert_eq!(c[1].0, "next_line");
        let f = Figures::new(&c[1].1, &c[0].1);
        assert_eq!(
            f,
            Figures {
                accesses: 5,
                misses: 2,
                hit_rate: 0.6,
                miss_reduction: 0.5,
                prefetches: 4,
                prefetch_accuracy: 0.75,
                coverage: 0.75,
                extra_traffic: 0.5,
            }
        );
        let none = Figures::new(&c[0].1, &c[0].1);
        assert_eq!((none.miss_reduction, none.extra_traffic), (0.0, 0.0));
    }

    /// Pushes twenty blocks per access.
    struct Flood;
    impl Prefetcher for Flood {
        fn name(&self) -> &'static str {
            "flood"
        }
        fn observe(&mut self, _: &MemoryAccess, b: u64, _: bool, out: &mut Vec<u64>) {
            out.extend(b + 1..b + 21);
        }
    }

    #[test]
    fn degree_is_capped_and_pages_are_4_kib() {
        let mut f = Flood;
        let mut sim = Simulation::new(
            12,
            || ResidentSet::new(1000),
            [&mut f as &mut dyn Prefetcher],
        );
        sim.step(&at(0x5000));
        sim.step(&at(0x5fff)); // same page
        sim.step(&at(0x6000)); // page 6, prefetched by the first access
        let c = sim.counts();
        assert_eq!((c[0].1.accesses, c[0].1.hits), (3, 1));
        // 8 pages (6..=13) on the first access, none new on the second, 14 on the third
        assert_eq!(c[1].1.issued, 9);
        assert_eq!((c[1].1.hits, c[1].1.useful), (2, 1));
    }
}
