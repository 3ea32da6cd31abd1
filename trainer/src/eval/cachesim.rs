//! A set-associative LRU cache replaying an access stream under four prefetch policies: none,
//! next-line, PC-stride, and the memory model (running inference-core).
//!
//! Each policy has its own cache. On every access the line is looked up (hit or miss) and
//! inserted; then the policy may prefetch one line, which is inserted marked "prefetched"
//! unless already present. A demand hit on a prefetched line counts the prefetch as useful.
//! Figures: hit rate, prefetch accuracy (useful / issued), coverage (misses removed relative
//! to no prefetching), and miss reduction.

use crate::error::Error;

use inference_core::features::memory::{MemoryAccess, MemoryHistory, LINE_BYTES};
use inference_core::MemoryPredictor;
use serde::Serialize;

/// Cache geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheConfig {
    /// Total bytes.
    pub size: usize,
    /// Ways per set.
    pub ways: usize,
    /// Line size, bytes.
    pub line: usize,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            size: 32 * 1024,
            ways: 8,
            line: 64,
        }
    }
}

impl CacheConfig {
    /// Checks the geometry.
    pub fn validate(&self) -> Result<(), Error> {
        if self.line == 0 || !self.line.is_power_of_two() {
            return Err(Error::param(
                "--cache-line",
                format!("must be a power of two, got {}", self.line),
            ));
        }
        if self.ways == 0 || self.size == 0 || !self.size.is_multiple_of(self.ways * self.line) {
            return Err(Error::param(
                "--cache-size",
                format!(
                    "{} must be a multiple of ways ({}) x line ({})",
                    self.size, self.ways, self.line
                ),
            ));
        }
        Ok(())
    }
    fn sets(&self) -> usize {
        self.size / (self.ways * self.line)
    }
}

#[derive(Debug, Clone, Copy)]
struct Way {
    tag: u64,
    valid: bool,
    prefetched: bool,
    last_use: u64,
}

/// One LRU cache with prefetch bookkeeping.
#[derive(Debug, Clone)]
pub struct Cache {
    cfg: CacheConfig,
    ways: Vec<Way>,
    clock: u64,
    /// Demand accesses.
    pub accesses: u64,
    /// Demand hits.
    pub hits: u64,
    /// Prefetches issued (lines not already present).
    pub issued: u64,
    /// Prefetched lines that later served a demand hit.
    pub useful: u64,
}

impl Cache {
    /// An empty cache.
    pub fn new(cfg: CacheConfig) -> Cache {
        Cache {
            cfg,
            ways: vec![
                Way {
                    tag: 0,
                    valid: false,
                    prefetched: false,
                    last_use: 0,
                };
                cfg.sets() * cfg.ways
            ],
            clock: 0,
            accesses: 0,
            hits: 0,
            issued: 0,
            useful: 0,
        }
    }

    fn set(&mut self, line: u64) -> &mut [Way] {
        let s = (line % self.cfg.sets() as u64) as usize;
        &mut self.ways[s * self.cfg.ways..(s + 1) * self.cfg.ways]
    }

    /// Inserts `line`; returns whether it was present, and whether it had been prefetched and
    /// not yet used.
    fn touch(&mut self, line: u64, prefetch: bool) -> (bool, bool) {
        self.clock += 1;
        let clock = self.clock;
        let set = self.set(line);
        if let Some(w) = set.iter_mut().find(|w| w.valid && w.tag == line) {
            let was_prefetched = w.prefetched;
            if !prefetch {
                w.last_use = clock;
                w.prefetched = false;
            }
            return (true, was_prefetched);
        }
        let victim = set
            .iter_mut()
            .min_by_key(|w| if w.valid { w.last_use } else { 0 })
            .expect("a set has at least one way");
        *victim = Way {
            tag: line,
            valid: true,
            prefetched: prefetch,
            last_use: clock,
        };
        (false, false)
    }

    /// A demand access to `line`.
    pub fn access(&mut self, line: u64) -> bool {
        self.accesses += 1;
        let (hit, was_prefetched) = self.touch(line, false);
        if hit {
            self.hits += 1;
            if was_prefetched {
                self.useful += 1;
            }
        }
        hit
    }

    /// A prefetch of `line` (counted only when the line was not already cached).
    pub fn prefetch(&mut self, line: u64) {
        let (present, _) = self.touch(line, true);
        if !present {
            self.issued += 1;
        }
    }

    /// Demand misses.
    pub fn misses(&self) -> u64 {
        self.accesses - self.hits
    }
}

/// The figures of one policy.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PolicyStats {
    /// Policy name.
    pub policy: &'static str,
    /// Hit rate.
    pub hit_rate: f64,
    /// Useful prefetches / issued prefetches.
    pub prefetch_accuracy: f64,
    /// Prefetches issued.
    pub prefetches: u64,
    /// 1 - misses / misses without prefetching.
    pub miss_reduction: f64,
}

/// One PC's entry of the stride table.
#[derive(Debug, Clone, Copy)]
struct StrideEntry {
    pc: u64,
    last_line: u64,
    stride: i64,
    /// Times in a row the stride repeated (0..=3).
    confidence: u8,
}

impl StrideEntry {
    const EMPTY: StrideEntry = StrideEntry {
        pc: u64::MAX,
        last_line: 0,
        stride: 0,
        confidence: 0,
    };
}

/// A PC-stride prefetcher (a direct-mapped table of last line and stride per PC).
#[derive(Debug, Clone)]
pub struct StridePrefetcher {
    table: Vec<StrideEntry>,
}

impl Default for StridePrefetcher {
    fn default() -> Self {
        StridePrefetcher {
            table: vec![StrideEntry::EMPTY; 256],
        }
    }
}

impl StridePrefetcher {
    /// Observes an access; returns the line to prefetch, if the stride is confirmed.
    pub fn observe(&mut self, pc: u64, line: u64) -> Option<u64> {
        let slot = (pc.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize % self.table.len();
        let e = &mut self.table[slot];
        if e.pc == pc {
            let stride = line.wrapping_sub(e.last_line) as i64;
            e.confidence = if stride == e.stride {
                (e.confidence + 1).min(3)
            } else {
                0
            };
            e.stride = stride;
            e.last_line = line;
            (e.confidence >= 1 && stride != 0).then(|| line.wrapping_add(stride as u64))
        } else {
            *e = StrideEntry {
                pc,
                last_line: line,
                ..StrideEntry::EMPTY
            };
            None
        }
    }
}

/// One cache per prefetching policy, all fed the same accesses.
struct Policies {
    none: Cache,
    next_line: Cache,
    pc_stride: Cache,
    model: Cache,
}

impl Policies {
    fn each(&self) -> [(&'static str, &Cache); 4] {
        [
            ("none", &self.none),
            ("next_line", &self.next_line),
            ("pc_stride", &self.pc_stride),
            ("model", &self.model),
        ]
    }
}

/// The four caches plus the model and the baselines' state, fed one access at a time.
pub struct Simulation<'m> {
    caches: Policies,
    stride: StridePrefetcher,
    history: MemoryHistory,
    model: &'m MemoryPredictor<'m>,
    threshold: u16,
}

impl<'m> Simulation<'m> {
    /// A simulation of `cfg` caches; the model prefetches its best non-zero candidate when its
    /// probability is at least `min_probability` per-mille.
    pub fn new(cfg: CacheConfig, model: &'m MemoryPredictor<'m>, threshold: Option<u16>) -> Self {
        Simulation {
            caches: Policies {
                none: Cache::new(cfg),
                next_line: Cache::new(cfg),
                pc_stride: Cache::new(cfg),
                model: Cache::new(cfg),
            },
            stride: StridePrefetcher::default(),
            history: MemoryHistory::new(),
            model,
            threshold: threshold.unwrap_or_else(|| model.threshold()),
        }
    }

    /// Replays one access.
    pub fn step(&mut self, a: MemoryAccess) {
        let line = a.addr / LINE_BYTES;
        let c = &mut self.caches;
        for cache in [
            &mut c.none,
            &mut c.next_line,
            &mut c.pc_stride,
            &mut c.model,
        ] {
            cache.access(line);
        }
        c.next_line.prefetch(line.wrapping_add(1));
        if let Some(p) = self.stride.observe(a.pc, line) {
            c.pc_stride.prefetch(p);
        }
        if self.history.push(a) {
            let f = self.history.features();
            let p = self.model.predict_features_at(&self.history, &f, self.threshold);
            for &addr in &p.prefetch[..p.degree as usize] {
                self.caches.model.prefetch(addr / LINE_BYTES);
            }
        }
    }

    /// Figures of the four policies.
    pub fn stats(&self) -> Vec<PolicyStats> {
        let base = self.caches.none.misses().max(1) as f64;
        self.caches
            .each()
            .into_iter()
            .map(|(name, c)| PolicyStats {
                policy: name,
                hit_rate: c.hits as f64 / c.accesses.max(1) as f64,
                prefetch_accuracy: if c.issued == 0 {
                    0.0
                } else {
                    c.useful as f64 / c.issued as f64
                },
                prefetches: c.issued,
                miss_reduction: 1.0 - c.misses() as f64 / base,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use inference_core::features::memory::AccessKind;

    #[test]
    fn lru_and_prefetch_accounting() {
        let cfg = CacheConfig {
            size: 2 * 64 * 2,
            ways: 2,
            line: 64,
        }; // 2 sets x 2 ways
        assert!(cfg.validate().is_ok());
        let mut c = Cache::new(cfg);
        assert!(!c.access(0));
        assert!(c.access(0));
        assert!(!c.access(2)); // same set as 0
        assert!(!c.access(4)); // evicts 0 (LRU)
        assert!(!c.access(0));
        c.prefetch(7);
        c.prefetch(7); // already present: not counted twice
        assert_eq!(c.issued, 1);
        assert!(c.access(7));
        assert_eq!(c.useful, 1);
        assert!(c.access(7));
        assert_eq!(c.useful, 1);
        assert!(CacheConfig {
            size: 100,
            ways: 3,
            line: 64
        }
        .validate()
        .is_err());
    }

    #[test]
    fn prefetchers_help_a_sequential_scan() {
        let model = MemoryPredictor::new(None);
        let mut sim = Simulation::new(CacheConfig::default(), &model, None);
        for i in 0..20_000u64 {
            sim.step(MemoryAccess {
                addr: 0x10_0000 + 64 * i,
                pc: 0x400100,
                kind: AccessKind::Read,
                time_ns: i,
            });
        }
        let s = sim.stats();
        assert_eq!(s[0].hit_rate, 0.0);
        assert!(s[1].miss_reduction > 0.99, "{s:?}");
        assert!(s[2].miss_reduction > 0.99, "{s:?}");
        assert!(s[3].miss_reduction > 0.9, "{s:?}");
    }
}
