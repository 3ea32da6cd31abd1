//! Memory-model samples from an access stream, labelled by inference-core's own record.
//!
//! At every access that moves to a new block, [`MemoryHistory`] proposes its candidates and
//! the sampler keeps that change's feature vector. [`memory::HORIZON`] block changes later the
//! history reports which of those proposals were demanded in the meantime
//! ([`MemoryHistory::matured`]); that bitmask, and the kind of the access right after the
//! change, are the sample's targets. Trainer and device therefore share the label's
//! definition. A sampler at page granularity gives the OS-level (paging) setting's samples.

use std::collections::VecDeque;

use inference_core::features::memory::{self, MemoryAccess, MemoryHistory};

/// Target columns of a memory sample: "proposal k was useful" (0/1) for each candidate, then
/// the next access's kind.
pub const N_TARGETS: usize = memory::N_CANDIDATES + 1;
/// Target column of the next access's kind.
pub const TARGET_KIND: usize = memory::N_CANDIDATES;

/// Turns one access stream into samples.
#[derive(Debug, Clone)]
pub struct AccessSampler {
    history: MemoryHistory,
    /// Features of the last block changes not yet labelled, oldest first, with the kind of
    /// the access after each (`None` until it comes).
    pending: VecDeque<(Vec<i32>, Option<u8>)>,
}

impl AccessSampler {
    /// A sampler over blocks of `block_bytes` ([`memory::LINE_BYTES`] or [`memory::PAGE_BYTES`]).
    pub fn new(block_bytes: u64) -> AccessSampler {
        AccessSampler {
            history: MemoryHistory::with_block_bytes(block_bytes),
            pending: VecDeque::with_capacity(memory::HORIZON + 1),
        }
    }

    /// Feeds one access; calls `emit(features, targets)` for the sample it completes, if any.
    pub fn push(&mut self, a: MemoryAccess, mut emit: impl FnMut(&[i32], &[f32])) {
        if let Some((_, kind @ None)) = self.pending.back_mut() {
            *kind = Some(a.kind as u8);
        }
        if !self.history.push(a) {
            return;
        }
        if let Some(mask) = self.history.matured() {
            if let Some((f, kind)) = self.pending.pop_front() {
                let mut t = [0f32; N_TARGETS];
                for (k, tk) in t.iter_mut().take(memory::N_CANDIDATES).enumerate() {
                    *tk = ((mask >> k) & 1) as f32;
                }
                t[TARGET_KIND] = kind.map_or(f32::NAN, f32::from);
                emit(&f, &t);
            }
        }
        self.pending
            .push_back((self.history.features().to_vec(), None));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use inference_core::features::memory::{field, AccessKind, LINE_BYTES};

    #[test]
    fn labels_are_the_proposals_that_came_true() {
        let mut s = AccessSampler::new(LINE_BYTES);
        let mut out: Vec<(Vec<i32>, Vec<f32>)> = Vec::new();
        // a +3-line stride, two accesses per line
        for i in 0..100u64 {
            for j in 0..2 {
                s.push(
                    MemoryAccess {
                        addr: 0x9000_0000 + i * 3 * LINE_BYTES + 8 * j,
                        pc: 0x401000 + j,
                        kind: if j == 0 {
                            AccessKind::Read
                        } else {
                            AccessKind::Write
                        },
                        time_ns: 2 * i + j,
                    },
                    |f, t| out.push((f.to_vec(), t.to_vec())),
                );
            }
        }
        // one sample per block change, minus the HORIZON still pending
        assert_eq!(out.len(), 100 - memory::HORIZON);
        let (f, t) = &out[50];
        assert_eq!(
            f[field::DELTAS.start],
            inference_core::features::symlog_q4(3)
        );
        // last change (1), change before (2), majority (3) are +3: useful; +1, +2, -1 never
        assert_eq!(&t[1..4], &[1.0, 1.0, 1.0]);
        assert_eq!(&t[4..7], &[0.0, 0.0, 0.0]);
        // the access after each change is the write to the same line
        assert_eq!(t[TARGET_KIND], AccessKind::Write as u8 as f32);
        // the first samples: no history yet, nothing proposed is useful except by chance
        assert!(out[0].1[..memory::N_CANDIDATES]
            .iter()
            .all(|&v| v == 0.0 || v == 1.0));
    }
}
