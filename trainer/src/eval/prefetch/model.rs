//! The memory model as a prefetcher: inference-core's [`MemoryPredictor`] on its own
//! [`MemoryHistory`] at the level's block size, prefetching what the predictor decides.
//!
//! At cache-line level the history sees every access, as a hardware prefetcher does. At page
//! level it sees what a kernel sees ([`ModelPrefetcher::faults`]): page faults, and the first
//! touch of a page it prefetched (in Linux a minor fault on a page found in the swap cache);
//! hits on other resident pages never reach the OS. Leap is fed the same events.

use inference_core::features::memory::{MemoryAccess, MemoryHistory};
use inference_core::MemoryPredictor;

use super::Prefetcher;

/// The model at one level (cache lines or pages): the history works on the level's blocks,
/// and after every access the predictor names 0 to `MAX_DEGREE` blocks to prefetch (the model
/// at a block change, at most the PC stride within a block).
pub struct ModelPrefetcher<'m> {
    model: &'m MemoryPredictor<'m>,
    history: MemoryHistory,
    threshold: u16,
    /// Block changes (decisions made).
    pub decisions: u64,
    /// Decisions that prefetched at least one block.
    pub prefetching: u64,
    /// Fault-driven (page level): blocks it prefetched that were not touched yet, newest
    /// last; `None` at cache-line level (every access is seen).
    pending: Option<Vec<u64>>,
}

/// Prefetched pages a fault-driven model remembers until their first touch (Leap keeps its
/// last window; this keeps the last few decisions').
const PENDING: usize = 64;

impl<'m> ModelPrefetcher<'m> {
    /// The model over blocks of `1 << shift` bytes, prefetching proposals whose probability
    /// is at least `threshold` per-mille (`None`: the blob's threshold).
    pub fn new(model: &'m MemoryPredictor<'m>, threshold: Option<u16>, shift: u32) -> Self {
        ModelPrefetcher {
            model,
            history: MemoryHistory::with_block_bytes(1u64 << shift),
            threshold: threshold.unwrap_or_else(|| model.threshold()),
            decisions: 0,
            prefetching: 0,
            pending: None,
        }
    }

    /// The page-level prefetcher: blocks of `1 << shift` bytes, and the history is fed only
    /// the faults and the first touch of each block it prefetched.
    pub fn faults(model: &'m MemoryPredictor<'m>, threshold: Option<u16>, shift: u32) -> Self {
        ModelPrefetcher {
            pending: Some(Vec::with_capacity(PENDING)),
            ..Self::new(model, threshold, shift)
        }
    }
}

impl Prefetcher for ModelPrefetcher<'_> {
    fn name(&self) -> &'static str {
        "model"
    }
    fn observe(&mut self, a: &MemoryAccess, block: u64, hit: bool, out: &mut Vec<u64>) {
        if let Some(pending) = &mut self.pending {
            // the OS sees a hit only on a page it prefetched, the first time
            let prefetched = match pending.iter().position(|&b| b == block) {
                Some(i) => {
                    pending.remove(i);
                    true
                }
                None => false,
            };
            if hit && !prefetched {
                return;
            }
        }
        self.history.push(*a);
        let p = self.model.predict_at(&self.history, self.threshold);
        if self.history.changed_block() {
            self.decisions += 1;
            self.prefetching += (p.degree > 0) as u64;
        }
        let bytes = self.history.block_bytes();
        let first = out.len();
        out.extend(
            p.prefetch[..p.degree as usize]
                .iter()
                .map(|&addr| addr / bytes),
        );
        if let Some(pending) = &mut self.pending {
            for &b in &out[first..] {
                if pending.len() == PENDING {
                    pending.remove(0);
                }
                pending.push(b);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Cache, CacheConfig, NextLine, PcStride, Simulation};
    use super::*;
    use inference_core::features::memory::AccessKind;

    #[test]
    fn prefetchers_help_a_sequential_scan() {
        let model = MemoryPredictor::new(None);
        let mut m = ModelPrefetcher::new(&model, None, 6);
        let (mut nl, mut st) = (NextLine, PcStride::default());
        let mut sim = Simulation::new(
            6,
            || Cache::new(CacheConfig::default()),
            [
                &mut nl as &mut dyn Prefetcher,
                &mut st as &mut dyn Prefetcher,
                &mut m as &mut dyn Prefetcher,
            ],
        );
        for i in 0..20_000u64 {
            sim.step(&MemoryAccess {
                addr: 0x10_0000 + 64 * i,
                pc: 0x400100,
                kind: AccessKind::Read,
                time_ns: i,
            });
        }
        let c = sim.counts();
        let f = |i: usize| super::super::Figures::new(&c[i].1, &c[0].1);
        assert_eq!(f(0).hit_rate, 0.0);
        assert!(f(1).miss_reduction > 0.99, "{:?}", f(1));
        assert!(f(2).miss_reduction > 0.99, "{:?}", f(2));
        assert!(f(3).miss_reduction > 0.9, "{:?}", f(3));
        assert!(f(3).prefetch_accuracy > 0.9, "{:?}", f(3));
        drop(sim);
        assert!(m.prefetching as f64 / m.decisions as f64 > 0.9);
    }

    #[test]
    fn at_page_level_hits_on_resident_pages_are_not_seen() {
        use super::super::ResidentSet;
        // a scan of new pages, each followed by a hot page that stays resident
        let model = MemoryPredictor::new(None);
        let mut all = ModelPrefetcher::new(&model, None, 12);
        let mut faults = ModelPrefetcher::faults(&model, None, 12);
        let mut sim = Simulation::new(
            12,
            || ResidentSet::new(32),
            [
                &mut all as &mut dyn Prefetcher,
                &mut faults as &mut dyn Prefetcher,
            ],
        );
        for k in 0..200u64 {
            for page in [0x10_0000 + k, 0x50_0000] {
                sim.step(&MemoryAccess {
                    addr: page << 12,
                    pc: 0x400100,
                    kind: AccessKind::Read,
                    time_ns: k,
                });
            }
        }
        drop(sim);
        // every access changes page for the all-access history; the fault-driven one decides
        // at the scan's faults (or first touches of what it prefetched) and the hot page's
        // first fault only
        assert!(all.decisions >= 399, "{}", all.decisions);
        assert!(faults.decisions <= 201, "{}", faults.decisions);
        assert!(faults.decisions >= 190, "{}", faults.decisions);
    }
}
