//! Memory-model samples from an access stream, labelled by what a prefetch would have done.
//!
//! At every access that moves to a new block, [`MemoryHistory`] proposes its candidates and
//! the sampler keeps that change's feature vector and proposals. A proposal is labelled by
//! replaying the stream through an LRU memory of `capacity` blocks without prefetching (the
//! cache, or the resident set of pages, that the prefetcher serves):
//! - **unlabelled** (NaN, left out of the loss) when its block is resident at that moment:
//!   prefetching it costs nothing and gains nothing;
//! - **useful** (1) when the block is demanded while a prefetched copy would still be
//!   resident: before every block of the memory has been used since the prefetch (the copy,
//!   never used, is then the least recently used and goes at the next miss; `capacity`
//!   further misses imply it);
//! - **useless** (0) otherwise: a prefetch that would pollute the memory.
//!
//! The kind of the access right after the change is the last target. A sampler over pages
//! gives the OS-level (paging) setting's samples, and there the history sees what a kernel
//! sees ([`AccessSampler::faults`]): only the accesses that fault in that memory, not every
//! access (a page-fault handler never learns of the hits).

use std::collections::{BTreeMap, HashMap, VecDeque};

use inference_core::features::memory::{self, MemoryAccess, MemoryHistory};

/// Target columns of a memory sample: "proposal k is a useful prefetch" (0, 1 or NaN) for
/// each candidate, then the next access's kind.
pub const N_TARGETS: usize = memory::N_CANDIDATES + 1;
/// Target column of the next access's kind.
pub const TARGET_KIND: usize = memory::N_CANDIDATES;
/// Cache lines of the cache the line-level labels assume (32 KiB, the simulator's default).
pub const LINE_CAPACITY: usize = 512;
/// Pages of the resident set the page-level labels assume (`evaluate --resident-pages`).
pub const PAGE_CAPACITY: usize = 32;

/// A fully associative LRU set of blocks.
#[derive(Debug, Clone, Default)]
struct Lru {
    capacity: usize,
    last_use: HashMap<u64, u64>,
    by_age: BTreeMap<u64, u64>,
    clock: u64,
}

impl Lru {
    fn new(capacity: usize) -> Lru {
        Lru {
            capacity: capacity.max(1),
            ..Default::default()
        }
    }

    fn contains(&self, block: u64) -> bool {
        self.last_use.contains_key(&block)
    }

    /// Whether a block inserted (and not used) at `clock` would have been evicted by now:
    /// the memory is full and every resident block was used after it.
    fn evicted_since(&self, clock: u64) -> bool {
        self.last_use.len() >= self.capacity
            && self
                .by_age
                .first_key_value()
                .is_some_and(|(&t, _)| t > clock)
    }

    /// A demand access; returns whether it missed.
    fn touch(&mut self, block: u64) -> bool {
        self.clock += 1;
        let miss = match self.last_use.insert(block, self.clock) {
            Some(old) => {
                self.by_age.remove(&old);
                false
            }
            None => {
                if self.last_use.len() > self.capacity {
                    if let Some((_, victim)) = self.by_age.pop_first() {
                        self.last_use.remove(&victim);
                    }
                }
                true
            }
        };
        self.by_age.insert(self.clock, block);
        miss
    }
}

#[derive(Debug, Clone)]
struct Pending {
    features: Vec<i32>,
    targets: [f32; N_TARGETS],
    /// The memory's clock when the proposals were made: a prefetched copy made at that moment is evicted once every
    /// resident block has been used since (it is then the least recently used).
    clock_at: u64,
}

/// Turns one access stream into samples.
#[derive(Debug, Clone)]
pub struct AccessSampler {
    history: MemoryHistory,
    memory: Lru,
    /// Block changes not yet labelled, oldest first; `first` is the sequence number of the
    /// front.
    pending: VecDeque<Pending>,
    first: u64,
    /// Proposed block -> (sequence number, candidate) of the open proposals naming it.
    open: HashMap<u64, Vec<(u64, u8)>>,
    /// Only misses of `memory` enter the history (the page-fault view).
    faults_only: bool,
}

impl AccessSampler {
    /// A sampler over blocks of `block_bytes` whose labels assume an LRU memory of
    /// `capacity` blocks ([`LINE_CAPACITY`] lines, or [`PAGE_CAPACITY`] pages).
    pub fn new(block_bytes: u64, capacity: usize) -> AccessSampler {
        AccessSampler {
            history: MemoryHistory::with_block_bytes(block_bytes),
            memory: Lru::new(capacity),
            pending: VecDeque::new(),
            first: 0,
            open: HashMap::new(),
            faults_only: false,
        }
    }

    /// A sampler whose history is fed only the accesses that miss in its LRU memory of
    /// `capacity` blocks: the OS view of paging, where the predictor runs in the page-fault
    /// handler (`MemoryHistory` at page level, docs/EVALUATION.md). Labels as in [`new`](Self::new).
    pub fn faults(block_bytes: u64, capacity: usize) -> AccessSampler {
        AccessSampler {
            faults_only: true,
            ..Self::new(block_bytes, capacity)
        }
    }

    /// Feeds one access; calls `emit(features, targets)` for each sample it completes.
    pub fn push(&mut self, a: MemoryAccess, mut emit: impl FnMut(&[i32], &[f32])) {
        if let Some(p) = self.pending.back_mut() {
            if p.targets[TARGET_KIND].is_nan() {
                p.targets[TARGET_KIND] = a.kind as u8 as f32;
            }
        }
        let block = self.history.block_of(a.addr);
        let changed = if self.faults_only && self.memory.contains(block) {
            false
        } else {
            self.history.push(a)
        };
        if let Some(ids) = self.open.remove(&block) {
            for (seq, k) in ids {
                if let Some(p) = seq
                    .checked_sub(self.first)
                    .and_then(|i| self.pending.get_mut(i as usize))
                {
                    p.targets[k as usize] = 1.0;
                }
            }
        }
        self.memory.touch(block);
        // retire the proposals whose prefetched copy would have been evicted by now
        while let Some(p) = self.pending.front() {
            if !self.memory.evicted_since(p.clock_at) {
                break;
            }
            let p = self.pending.pop_front().expect("front exists");
            self.first += 1;
            emit(&p.features, &p.targets);
        }
        if !changed {
            return;
        }
        let seq = self.first + self.pending.len() as u64;
        let mut targets = [f32::NAN; N_TARGETS];
        for (k, t) in targets.iter_mut().take(memory::N_CANDIDATES).enumerate() {
            if let Some(b) = self.history.proposal(k) {
                if !self.memory.contains(b) {
                    *t = 0.0;
                    self.open.entry(b).or_default().push((seq, k as u8));
                }
            }
        }
        self.pending.push_back(Pending {
            features: self.history.features().to_vec(),
            targets,
            clock_at: self.memory.clock,
        });
        // forget index entries of retired samples now and then
        if seq.is_multiple_of(4096) {
            let first = self.first;
            self.open.retain(|_, ids| {
                ids.retain(|&(s, _)| s >= first);
                !ids.is_empty()
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use inference_core::features::memory::{class, field, AccessKind, LINE_BYTES};

    fn read(addr: u64, pc: u64, t: u64, kind: AccessKind) -> MemoryAccess {
        MemoryAccess {
            addr,
            pc,
            kind,
            time_ns: t,
        }
    }

    #[test]
    fn labels_are_what_a_prefetch_would_have_done() {
        let mut s = AccessSampler::new(LINE_BYTES, 64);
        let mut out: Vec<(Vec<i32>, Vec<f32>)> = Vec::new();
        // a +3-line stride, two accesses per line (a read, then a write)
        for i in 0..400u64 {
            s.push(
                read(
                    0x9000_0000 + i * 3 * LINE_BYTES,
                    0x401000,
                    2 * i,
                    AccessKind::Read,
                ),
                |f, t| out.push((f.to_vec(), t.to_vec())),
            );
            s.push(
                read(
                    0x9000_0000 + i * 3 * LINE_BYTES + 8,
                    0x401004,
                    2 * i + 1,
                    AccessKind::Write,
                ),
                |f, t| out.push((f.to_vec(), t.to_vec())),
            );
        }
        // every change makes a sample once the 64 lines of the memory have all been used
        // since (63 further changes: the copy is then the least recently used)
        assert_eq!(out.len(), 400 - 63);
        let (f, t) = &out[100];
        assert_eq!(
            f[field::DELTAS.start],
            inference_core::features::symlog_q4(3)
        );
        // the stride proposals come true; +1, +2 and -1 never do (never demanded)
        for k in [
            class::PC_STRIDE,
            class::LAST,
            class::BEFORE_LAST,
            class::MAJORITY,
        ] {
            assert_eq!(t[k], 1.0, "candidate {k}");
        }
        for k in [class::NEXT, class::NEXT_2, class::PREVIOUS] {
            assert_eq!(t[k], 0.0, "candidate {k}");
        }
        assert_eq!(t[TARGET_KIND], AccessKind::Write as u8 as f32);
    }

    #[test]
    fn resident_blocks_are_unlabelled() {
        // a loop over 8 lines, far fewer than the capacity: after the first pass every
        // proposal names a resident (or recent) line
        let mut s = AccessSampler::new(LINE_BYTES, 64);
        let mut out: Vec<Vec<f32>> = Vec::new();
        for i in 0..20_000u64 {
            s.push(
                read(0x1000 + (i % 8) * LINE_BYTES, 0x400000, i, AccessKind::Read),
                |_, t| out.push(t.to_vec()),
            );
        }
        // no misses after the first pass, so nothing retires: the samples stay pending
        assert!(out.is_empty());
        // a second stream of fresh lines evicts and retires them
        for i in 0..200u64 {
            s.push(
                read(0x100_0000 + i * 4096, 0x400100, i, AccessKind::Read),
                |_, t| out.push(t.to_vec()),
            );
        }
        // proposals inside the loop name resident lines (unlabelled); the few outside it
        // (one line past either end) are never demanded
        let labels: Vec<f32> = out[20..1000]
            .iter()
            .flat_map(|t| t[..memory::N_CANDIDATES].to_vec())
            .collect();
        assert!(labels.iter().all(|v| v.is_nan() || *v == 0.0));
        let unlabelled = labels.iter().filter(|v| v.is_nan()).count();
        assert!(
            unlabelled > labels.len() / 2,
            "{unlabelled} of {}",
            labels.len()
        );
    }

    #[test]
    fn a_copy_is_useless_once_every_resident_block_was_used_after_it() {
        // every round: a strided page (its own PC, so the PC stride names the next one),
        // a hot set of 6 pages, `fresh` pages never seen again, the hot set again. With 8
        // pages of memory and two fresh pages, a copy of the next strided page made at this
        // one is the least recently used page before it is demanded and has gone, although
        // only 2 misses passed; with one fresh page it survives.
        let stride_label = |fresh: u64| {
            let mut s = AccessSampler::new(memory::PAGE_BYTES, 8);
            let mut out: Vec<Vec<f32>> = Vec::new();
            let mut t = 0u64;
            let mut next = 0u64;
            let mut touch = |s: &mut AccessSampler, page: u64, pc: u64| {
                t += 1;
                s.push(read(page * 4096, pc, t, AccessKind::Read), |_, l| {
                    out.push(l.to_vec())
                });
            };
            for r in 0..60u64 {
                touch(&mut s, 1_000 + 2 * r, 0x500000);
                for h in 0..6 {
                    touch(&mut s, 10 + h, 0x400000);
                }
                for _ in 0..fresh {
                    touch(&mut s, 100_000 + next, 0x600000);
                    next += 1;
                }
                for h in 0..6 {
                    touch(&mut s, 10 + h, 0x400000);
                }
            }
            let per_round = 1 + 12 + fresh as usize;
            out.iter()
                .step_by(per_round)
                .skip(10)
                .take(40)
                .map(|l| l[class::PC_STRIDE])
                .collect::<Vec<f32>>()
        };
        let survives = stride_label(1);
        assert!(survives.iter().all(|&v| v == 1.0), "{survives:?}");
        let evicted = stride_label(2);
        assert!(evicted.iter().all(|&v| v == 0.0), "{evicted:?}");
    }

    #[test]
    fn a_fault_sampler_sees_only_the_faults() {
        // a cycle over 6 pages thrashes 4 frames (every access faults); between its accesses a
        // hot page is touched, which stays resident: half the accesses hit
        let run = |mut s: AccessSampler| {
            let mut n = 0usize;
            for i in 0..1000u64 {
                for page in [i % 6, 100] {
                    s.push(read(page * 4096, 0x400000, i, AccessKind::Read), |_, _| {
                        n += 1
                    });
                }
            }
            n
        };
        let every_change = run(AccessSampler::new(memory::PAGE_BYTES, 4));
        let faults = run(AccessSampler::faults(memory::PAGE_BYTES, 4));
        // every access changes page: about 2000 samples (less the last pending ones); the
        // fault view keeps one per fault of the cycle
        assert!(every_change > 1900, "{every_change}");
        assert!((900..=1001).contains(&faults), "{faults}");
    }
}
