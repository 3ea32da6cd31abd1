//! The memory model as a prefetcher: inference-core's [`MemoryPredictor`] on its own
//! [`MemoryHistory`], prefetching its most probable non-zero candidate delta.

use inference_core::features::memory::{MemoryAccess, MemoryHistory, LINE_BYTES, N_CANDIDATES};
use inference_core::MemoryPredictor;

use super::Prefetcher;

/// The model at one level: it always predicts a cache line; the block prefetched is that
/// line's address shifted to the level's block size (at page level, usually the current page,
/// which is resident and so not issued).
pub struct ModelPrefetcher<'m> {
    model: &'m MemoryPredictor<'m>,
    history: MemoryHistory,
    min_probability: u16,
    shift: u32,
    /// Accesses whose line the model's top class named (top-1, including "same line").
    pub top1: u64,
    /// Accesses whose line the PC-stride candidate named.
    pub stride_top1: u64,
    /// Accesses scored for top-1 (all but the first).
    pub scored: u64,
    prev_choice: Option<(usize, [i64; N_CANDIDATES])>,
}

impl<'m> ModelPrefetcher<'m> {
    /// Prefetches the best non-zero candidate when its probability is at least
    /// `min_probability` per-mille, as blocks of `1 << shift` bytes.
    pub fn new(model: &'m MemoryPredictor<'m>, min_probability: u16, shift: u32) -> Self {
        ModelPrefetcher {
            model,
            history: MemoryHistory::new(),
            min_probability,
            shift,
            top1: 0,
            stride_top1: 0,
            scored: 0,
            prev_choice: None,
        }
    }
}

impl Prefetcher for ModelPrefetcher<'_> {
    fn name(&self) -> &'static str {
        "model"
    }
    fn observe(&mut self, a: &MemoryAccess, _: u64, _: bool, out: &mut Vec<u64>) {
        let line = a.addr / LINE_BYTES;
        if let (Some((choice, cands)), Some(cur)) = (self.prev_choice, self.history.current_line())
        {
            let actual = line.wrapping_sub(cur) as i64;
            self.scored += 1;
            self.top1 += (cands[choice] == actual) as u64;
            self.stride_top1 += (cands[0] == actual) as u64;
        }
        self.history.push(*a);
        let p = self.model.class_probabilities(&self.history.features());
        let cands = self.history.candidates();
        let top = (0..N_CANDIDATES)
            .max_by_key(|&k| (p[k], usize::MAX - k))
            .unwrap_or(0);
        self.prev_choice = Some((top, cands));
        let best_nonzero = (0..N_CANDIDATES)
            .filter(|&k| cands[k] != 0)
            .max_by_key(|&k| (p[k], usize::MAX - k));
        if let Some(k) = best_nonzero.filter(|&k| p[k] >= self.min_probability) {
            let target = line.wrapping_add(cands[k] as u64).wrapping_mul(LINE_BYTES);
            out.push(target >> self.shift);
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
        let mut m = ModelPrefetcher::new(&model, 200, 6);
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
        drop(sim);
        assert!(m.top1 as f64 / m.scored as f64 > 0.9);
    }
}
