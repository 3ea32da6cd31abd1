//! The memory model as a prefetcher: inference-core's [`MemoryPredictor`] on its own
//! [`MemoryHistory`] at the level's block size, prefetching what the predictor decides.

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
}

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
        }
    }
}

impl Prefetcher for ModelPrefetcher<'_> {
    fn name(&self) -> &'static str {
        "model"
    }
    fn observe(&mut self, a: &MemoryAccess, _: u64, _: bool, out: &mut Vec<u64>) {
        self.history.push(*a);
        let p = self.model.predict_at(&self.history, self.threshold);
        if self.history.changed_block() {
            self.decisions += 1;
            self.prefetching += (p.degree > 0) as u64;
        }
        let bytes = self.history.block_bytes();
        out.extend(
            p.prefetch[..p.degree as usize]
                .iter()
                .map(|&addr| addr / bytes),
        );
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
}
