//! The two memories: a set-associative LRU cache of lines and a fully associative LRU
//! resident set of pages, behind one accounting ([`Memory`]).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use serde::Serialize;

use crate::error::Error;

/// log2 of the page size (4 KiB).
pub const PAGE_SHIFT: u32 = 12;

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

    /// log2 of the line size: a line number is `address >> line_shift()`.
    pub fn line_shift(&self) -> u32 {
        self.line.trailing_zeros()
    }
}

/// What a lookup found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Touch {
    /// The block was resident.
    pub present: bool,
    /// It was resident because of a prefetch and no demand access had used it yet.
    pub unused_prefetch: bool,
}

/// Block storage with LRU replacement: the part that differs between the two memories.
pub trait Store {
    /// Looks `block` up and makes it resident. A demand access (`prefetch == false`) makes it
    /// most recently used and clears its prefetched mark; a prefetch of a resident block
    /// changes nothing; a prefetch of an absent one inserts it, marked, as most recently used.
    fn touch(&mut self, block: u64, prefetch: bool) -> Touch;
}

/// Counters of one memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Demand accesses.
    pub accesses: u64,
    /// Demand hits.
    pub hits: u64,
    /// Prefetches issued (blocks that were not resident).
    pub issued: u64,
    /// Prefetched blocks that later served a demand hit.
    pub useful: u64,
}

impl Counts {
    /// Demand misses.
    pub fn misses(&self) -> u64 {
        self.accesses - self.hits
    }

    /// Adds `o` (aggregating programs).
    pub fn add(&mut self, o: &Counts) {
        self.accesses += o.accesses;
        self.hits += o.hits;
        self.issued += o.issued;
        self.useful += o.useful;
    }
}

/// A store with the accounting shared by both levels.
#[derive(Debug, Clone)]
pub struct Memory<S> {
    store: S,
    /// Counters so far.
    pub counts: Counts,
}

impl<S: Store> Memory<S> {
    /// A memory over an empty `store`.
    pub fn new(store: S) -> Self {
        Memory {
            store,
            counts: Counts::default(),
        }
    }

    /// A demand access; returns whether it hit.
    pub fn access(&mut self, block: u64) -> bool {
        let t = self.store.touch(block, false);
        self.counts.accesses += 1;
        self.counts.hits += t.present as u64;
        self.counts.useful += (t.present && t.unused_prefetch) as u64;
        t.present
    }

    /// A prefetch; returns whether it was issued (the block was absent).
    pub fn prefetch(&mut self, block: u64) -> bool {
        let issued = !self.store.touch(block, true).present;
        self.counts.issued += issued as u64;
        issued
    }
}

#[derive(Debug, Clone, Copy)]
struct Way {
    tag: u64,
    valid: bool,
    prefetched: bool,
    last_use: u64,
}

/// A set-associative LRU cache of lines (set = line mod sets).
#[derive(Debug, Clone)]
pub struct Cache {
    sets: usize,
    n_ways: usize,
    ways: Vec<Way>,
    clock: u64,
}

impl Cache {
    /// An empty cache of geometry `cfg` (validated by the caller).
    pub fn new(cfg: CacheConfig) -> Cache {
        Cache {
            sets: cfg.sets(),
            n_ways: cfg.ways,
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
        }
    }
}

impl Store for Cache {
    fn touch(&mut self, line: u64, prefetch: bool) -> Touch {
        self.clock += 1;
        let clock = self.clock;
        let s = (line % self.sets as u64) as usize;
        let set = &mut self.ways[s * self.n_ways..(s + 1) * self.n_ways];
        if let Some(w) = set.iter_mut().find(|w| w.valid && w.tag == line) {
            let unused_prefetch = w.prefetched;
            if !prefetch {
                w.last_use = clock;
                w.prefetched = false;
            }
            return Touch {
                present: true,
                unused_prefetch,
            };
        }
        if let Some(victim) = set
            .iter_mut()
            .min_by_key(|w| if w.valid { w.last_use } else { 0 })
        {
            *victim = Way {
                tag: line,
                valid: true,
                prefetched: prefetch,
                last_use: clock,
            };
        }
        Touch {
            present: false,
            unused_prefetch: false,
        }
    }
}

/// Multiplicative hashing of page numbers: the map is on the hot path and its keys are not
/// adversarial, so SipHash would be wasted work.
#[derive(Default)]
struct PageHasher(u64);

impl Hasher for PageHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (n ^ (n >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

const NIL: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
struct Frame {
    page: u64,
    prefetched: bool,
    /// Towards the most recently used end.
    newer: u32,
    /// Towards the least recently used end.
    older: u32,
}

/// Resident pages: `frames` frames, fully associative, LRU. A map from page to frame plus a
/// doubly linked recency list threaded through the frame vector: O(1) per access.
#[derive(Debug, Clone)]
pub struct ResidentSet {
    capacity: usize,
    frames: Vec<Frame>,
    index: HashMap<u64, u32, BuildHasherDefault<PageHasher>>,
    /// Most recently used frame.
    mru: u32,
    /// Least recently used frame (the next victim).
    lru: u32,
}

impl ResidentSet {
    /// An empty resident set of `frames` frames (at least one).
    pub fn new(frames: usize) -> ResidentSet {
        let capacity = frames.clamp(1, NIL as usize - 1);
        ResidentSet {
            capacity,
            frames: Vec::with_capacity(capacity),
            index: HashMap::with_capacity_and_hasher(capacity, Default::default()),
            mru: NIL,
            lru: NIL,
        }
    }

    /// Pages resident now.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// Whether no page is resident.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    fn unlink(&mut self, i: u32) {
        let Frame { newer, older, .. } = self.frames[i as usize];
        match newer {
            NIL => self.mru = older,
            n => self.frames[n as usize].older = older,
        }
        match older {
            NIL => self.lru = newer,
            o => self.frames[o as usize].newer = newer,
        }
    }

    fn push_mru(&mut self, i: u32) {
        let old_mru = self.mru;
        let f = &mut self.frames[i as usize];
        f.newer = NIL;
        f.older = old_mru;
        match old_mru {
            NIL => self.lru = i,
            m => self.frames[m as usize].newer = i,
        }
        self.mru = i;
    }
}

impl Store for ResidentSet {
    fn touch(&mut self, page: u64, prefetch: bool) -> Touch {
        if let Some(&i) = self.index.get(&page) {
            let unused_prefetch = self.frames[i as usize].prefetched;
            if !prefetch {
                self.frames[i as usize].prefetched = false;
                self.unlink(i);
                self.push_mru(i);
            }
            return Touch {
                present: true,
                unused_prefetch,
            };
        }
        let frame = Frame {
            page,
            prefetched: prefetch,
            newer: NIL,
            older: NIL,
        };
        let i = if self.frames.len() < self.capacity {
            self.frames.push(frame);
            (self.frames.len() - 1) as u32
        } else {
            let victim = self.lru;
            self.unlink(victim);
            self.index.remove(&self.frames[victim as usize].page);
            self.frames[victim as usize] = frame;
            victim
        };
        self.index.insert(page, i);
        self.push_mru(i);
        Touch {
            present: false,
            unused_prefetch: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_lru_and_prefetch_accounting() {
        let cfg = CacheConfig {
            size: 2 * 64 * 2,
            ways: 2,
            line: 64,
        }; // 2 sets x 2 ways
        assert!(cfg.validate().is_ok());
        let mut c = Memory::new(Cache::new(cfg));
        assert!(!c.access(0));
        assert!(c.access(0));
        assert!(!c.access(2)); // same set as 0
        assert!(c.access(0)); // 0 is now the most recent
        assert!(!c.access(4)); // evicts 2 (LRU), not 0
        assert!(c.access(0));
        assert!(!c.access(2));
        assert!(c.prefetch(7));
        assert!(!c.prefetch(7)); // already present: not issued twice
        assert_eq!(c.counts.issued, 1);
        assert!(c.access(7));
        assert_eq!(c.counts.useful, 1);
        assert!(c.access(7));
        assert_eq!(c.counts.useful, 1); // a prefetch is useful once
        assert!(!c.prefetch(0)); // resident: a prefetch does not refresh it...
        assert!(!c.access(6)); // ...so 0, older than 2, is the victim
        assert!(c.access(2));
        assert!(!c.access(0));
        assert_eq!(
            c.counts,
            Counts {
                accesses: 12,
                hits: 6,
                issued: 1,
                useful: 1
            }
        );
        assert!(CacheConfig {
            size: 100,
            ways: 3,
            line: 64
        }
        .validate()
        .is_err());
    }

    #[test]
    fn resident_set_is_lru_and_counts_prefetches() {
        let mut m = Memory::new(ResidentSet::new(3));
        for p in [10, 11, 12] {
            assert!(!m.access(p));
        }
        assert!(m.access(10)); // order now 11, 12, 10 (LRU first)
        assert!(!m.access(13)); // evicts 11
        assert!(!m.access(11)); // evicts 12
        assert!(m.access(10));
        assert!(m.prefetch(20)); // evicts 13
        assert!(!m.prefetch(20));
        assert!(!m.prefetch(10));
        assert!(!m.access(13)); // evicts 11 (10 was used, 20 inserted after it)
        assert!(m.access(20));
        assert!(m.access(20));
        assert!(m.prefetch(30)); // evicts 10
        assert!(!m.access(10)); // evicts 13; 30 is never used
        assert_eq!(m.counts.issued, 2);
        assert_eq!(m.counts.useful, 1);
        assert_eq!((m.counts.accesses, m.counts.hits), (11, 4));
        // a long run keeps the map and the list in step
        let mut big = ResidentSet::new(64);
        for i in 0..10_000u64 {
            big.touch((i * 7919) % 100, i % 3 == 0);
        }
        assert_eq!(big.len(), 64);
        assert_eq!(big.index.len(), 64);
        let mut n = 0;
        let mut i = big.mru;
        while i != NIL {
            n += 1;
            i = big.frames[i as usize].older;
        }
        assert_eq!(n, 64);
    }
}
