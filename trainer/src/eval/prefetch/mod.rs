//! Prefetching, simulated: one access stream replayed through a memory per policy, at two
//! levels, so the memory model is judged beside the prefetchers it would replace.
//!
//! - **Line level** ([`Cache`]): a set-associative LRU cache (32 KiB, 8-way, 64-byte lines by
//!   default), as a CPU's L1/L2 sees a program. Baselines: [`NextLine`], [`PcStride`],
//!   both ([`NextLineStride`]), [`BestOffset`] (Michaud, HPCA 2016).
//! - **Page level** ([`ResidentSet`]): 4 KiB pages in N resident frames, fully associative LRU,
//!   a fault is a miss, as an OS sees a process whose working set does not fit. Baselines:
//!   [`NextPage`], [`Readahead`] (Linux's on-demand readahead), [`Leap`] (Maruf & Chowdhury,
//!   USENIX ATC 2020), and [`BestOffset`] on page numbers.
//!
//! Both memories share one accounting ([`Memory`]): a demand access hits or misses; a
//! prefetched block is inserted (evicting the LRU block) unless already present, and counts as
//! *issued* only then; a demand hit on a prefetched block not yet used counts it as *useful*.
//! A policy may push at most [`MAX_DEGREE`] blocks per access; more are dropped (no baseline
//! here pushes more, and the cap keeps a runaway policy from flushing the memory for free).
//!
//! There is no timing: a prefetch is resident at once, so the figures measure what a
//! prefetcher predicts and what it pollutes, not whether it would be early enough.
//! [`Simulation`] runs the policies side by side against the reference `none` and
//! [`Figures`] reports them.

mod cache;
mod line;
pub mod model;
mod page;
mod sim;

pub use cache::{Cache, CacheConfig, Counts, Memory, ResidentSet, Store, PAGE_SHIFT};
pub use line::{BestOffset, NextLine, NextLineStride, PcStride};
pub use model::ModelPrefetcher;
pub use page::{Leap, NextPage, Readahead};
pub use sim::{Figures, Simulation};

use inference_core::features::memory::MemoryAccess;

/// Most blocks a policy may prefetch per demand access; the rest of what it pushes is dropped.
pub const MAX_DEGREE: usize = 8;

/// A prefetching policy, fed every demand access of one memory.
pub trait Prefetcher {
    /// Short name used in reports and JSON keys, e.g. "next_line", "best_offset".
    fn name(&self) -> &'static str;
    /// Called on every demand access, after the lookup. `block` = address >> block shift
    /// (cache line or page number); `hit` = whether this demand access hit. Push the
    /// blocks to prefetch into `out` (it is cleared by the caller before each call).
    fn observe(&mut self, a: &MemoryAccess, block: u64, hit: bool, out: &mut Vec<u64>);
}

/// The line-level baselines, cold, in report order.
pub fn line_baselines() -> Vec<Box<dyn Prefetcher>> {
    vec![
        Box::new(NextLine),
        Box::new(PcStride::default()),
        Box::new(NextLineStride::default()),
        Box::new(BestOffset::default()),
    ]
}

/// The page-level baselines, cold, in report order. Best-offset runs here too, on page
/// numbers (it learns on faults and first touches of the pages it prefetched, as on misses
/// and prefetched hits at line level), so the model meets the same two simple prefetchers at
/// both levels.
pub fn page_baselines() -> Vec<Box<dyn Prefetcher>> {
    vec![
        Box::new(NextPage),
        Box::new(Readahead::default()),
        Box::new(Leap::default()),
        Box::new(BestOffset::default()),
    ]
}
