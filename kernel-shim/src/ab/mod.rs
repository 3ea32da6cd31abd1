//! A/B testing in place: a candidate model beside each live one.
//!
//! Each model kind has, beside its live slot, a candidate slot (the same double-buffered
//! [`Slot`], with `AIML_SHIM_CANDIDATE_BYTES` buffers; a build where that is 0 has no
//! candidate storage at all, [`Candidate`]) and a mode:
//!
//! - **off**: the candidate, if any, is not consulted;
//! - **shadow**: every prediction runs the live model, which answers, and then the candidate
//!   on the same input without touching anything the live model reads later (the workload
//!   candidate keeps its own do-no-harm record, [`WorkloadHistory::shadow_guard`]; the threat
//!   candidate's verdict is not recorded in the process history). The candidate's answer goes
//!   back to the caller beside the live one, so that the outcome the caller reports later
//!   scores both: the two errors of each outcome are compared (which model was closer, a sign
//!   test the host turns into a confidence interval), and whether the two answers agreed is
//!   counted at prediction time;
//! - **split**: a stable hash of the history's entity id (`aiml_history_set_entity`: a
//!   process, a CPU, a component) routes a chosen share of entities, per-mille, to the
//!   candidate, which then answers them (and keeps their records) as the live model does the
//!   others.
//!
//! Promotion copies the candidate's blob into the live slot with an ordinary load (the key
//! policy and the anti-rollback floor apply; one atomic switch under concurrent readers) and
//! withdraws the candidate; rollback publishes again the live model from before that load,
//! which the live slot's spare buffer still holds. A candidate's own load neither checks nor
//! raises the anti-rollback floor (it steers nothing until it is promoted), but passes the key
//! policy like any load.
//!
//! Cost: off, one load of the mode per prediction; shadow, a second prediction; split, one
//! hash. The counters are 32-bit, wrap, and are exact under concurrency (one atomic
//! read-modify-write each, as in [`crate::health`]).
//!
//! [`WorkloadHistory::shadow_guard`]: inference_core::features::workload::WorkloadHistory::shadow_guard

use core::sync::atomic::{AtomicU32, AtomicU8, Ordering::SeqCst};

use inference_core::{ModelSource, Predictor};

use crate::slot::Slot;
use crate::status::AimlStatus;
use crate::sync::{add, inc};

#[cfg(aiml_no_candidates)]
mod none;

/// The candidate slot of a kind: a double-buffered slot like the live one, or, in a build
/// without room for candidates, a stand-in that has none (`none.rs`).
#[cfg(not(aiml_no_candidates))]
pub type Candidate<P> = Slot<P, { crate::slot::CANDIDATE_BYTES }>;
/// The candidate slot of a kind (this build has no room for candidates: `none.rs`).
#[cfg(aiml_no_candidates)]
pub type Candidate<P> = none::NoCandidate<P>;

/// Mode: the candidate is not consulted.
pub const MODE_OFF: u8 = 0;
/// Mode: the candidate predicts in the shadow of the live model.
pub const MODE_SHADOW: u8 = 1;
/// Mode: a share of the entities is answered by the candidate.
pub const MODE_SPLIT: u8 = 2;

/// The split bucket of an entity id, 0..1000: entities whose bucket is below the share
/// (per-mille) go to the candidate. splitmix64's finaliser (every bit of the id moves every
/// bit of the hash), scaled to 0..1000 by a multiply, so the same id lands in the same
/// bucket on every machine, boot and build, and the host can compute it.
pub fn bucket(entity: u64) -> u32 {
    let mut z = entity.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (((z >> 32) * 1000) >> 32) as u32
}

/// Which answer a model is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The answer the caller gets: recorded in the history as usual.
    Answer,
    /// A shadow's answer: nothing the answering model reads is changed.
    Shadow,
}

/// Whether two answers of a kind agree (the same decision; for the workload model, CPU
/// within one percentage point).
pub trait Agree {
    /// Whether `self` and `other` agree.
    fn agrees(&self, other: &Self) -> bool;
}

/// What one prediction under A/B produced.
pub struct Answer<R> {
    /// The answer the caller gets.
    pub answer: R,
    /// The candidate's answer in shadow mode.
    pub shadow: Option<R>,
    /// Whether `answer` is the candidate's (split mode).
    pub by_candidate: bool,
}

/// The comparison counters (not generic: one copy of their code for the four kinds).
struct Counters {
    shadowed: AtomicU32,
    agreed: AtomicU32,
    routed: AtomicU32,
    paired: AtomicU32,
    live_error: AtomicU32,
    candidate_error: AtomicU32,
    candidate_better: AtomicU32,
    live_better: AtomicU32,
    promotions: AtomicU32,
    rollbacks: AtomicU32,
}

impl Counters {
    const fn new() -> Self {
        Counters {
            shadowed: AtomicU32::new(0),
            agreed: AtomicU32::new(0),
            routed: AtomicU32::new(0),
            paired: AtomicU32::new(0),
            live_error: AtomicU32::new(0),
            candidate_error: AtomicU32::new(0),
            candidate_better: AtomicU32::new(0),
            live_better: AtomicU32::new(0),
            promotions: AtomicU32::new(0),
            rollbacks: AtomicU32::new(0),
        }
    }

    /// A new comparison starts (promotions and rollbacks are kept).
    fn restart(&self) {
        for c in [
            &self.shadowed,
            &self.agreed,
            &self.routed,
            &self.paired,
            &self.live_error,
            &self.candidate_error,
            &self.candidate_better,
            &self.live_better,
        ] {
            c.store(0, SeqCst);
        }
    }

    #[inline(never)]
    fn shadowed(&self, agree: bool) {
        inc(&self.shadowed);
        if agree {
            inc(&self.agreed);
        }
    }

    #[inline(never)]
    fn paired(&self, live: u32, candidate: u32) {
        inc(&self.paired);
        add(&self.live_error, live);
        add(&self.candidate_error, candidate);
        if candidate < live {
            inc(&self.candidate_better);
        } else if live < candidate {
            inc(&self.live_better);
        }
    }
}

/// A snapshot of one kind's A/B state (`aiml_ab`). Counts wrap at 2^32 and restart when the
/// mode is set or a candidate loaded.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AimlAb {
    /// `AIML_KIND_*`.
    pub kind: u32,
    /// `AIML_AB_OFF`, `AIML_AB_SHADOW` or `AIML_AB_SPLIT`.
    pub mode: u32,
    /// Split mode: the share of entities routed to the candidate, per-mille.
    pub share_permille: u32,
    /// 1 while a candidate is loaded.
    pub candidate: u32,
    /// The candidate's model version (0 without one).
    pub candidate_version: u32,
    /// Shadow mode: predictions the candidate also answered.
    pub shadowed: u32,
    /// Of those, the ones where both answers agreed (the same decision; workload: CPU within
    /// one percentage point).
    pub agreed: u32,
    /// Split mode: predictions answered by the candidate.
    pub routed: u32,
    /// Shadow mode: outcomes that scored both answers.
    pub paired: u32,
    /// Sum of the live model's errors over those outcomes (the unit of
    /// `AimlHealth::error_sum`; memory: 1000 when its first prefetch was not the next block).
    pub live_error_sum: u32,
    /// The same for the candidate.
    pub candidate_error_sum: u32,
    /// Paired outcomes where the candidate's error was smaller.
    pub candidate_better: u32,
    /// Paired outcomes where the live model's error was smaller.
    pub live_better: u32,
    /// Promotions since start (`aiml_promote`).
    pub promotions: u32,
    /// Rollbacks since start (`aiml_rollback`).
    pub rollbacks: u32,
}

/// The candidate slot, mode and counters of one model kind (see the module docs).
pub struct Ab<P> {
    /// The candidate model; its health counts its own predictions and outcomes.
    pub candidate: Candidate<P>,
    mode: AtomicU8,
    share: AtomicU32,
    counters: Counters,
}

impl<P: Predictor<'static>> Default for Ab<P> {
    fn default() -> Self {
        Self::new()
    }
}

impl<P: Predictor<'static>> Ab<P> {
    /// No candidate, mode off.
    pub const fn new() -> Self {
        Ab {
            candidate: Candidate::new(),
            mode: AtomicU8::new(MODE_OFF),
            share: AtomicU32::new(0),
            counters: Counters::new(),
        }
    }

    /// Sets the mode and, for split, the share of entities (per-mille) the candidate
    /// answers; the comparison counters restart. `InvalidArgument` for an unknown mode or a
    /// share above 1000.
    pub fn set_mode(&self, mode: u8, share_permille: u32) -> Result<(), AimlStatus> {
        if mode > MODE_SPLIT || share_permille > 1000 {
            return Err(AimlStatus::InvalidArgument);
        }
        self.mode.store(MODE_OFF, SeqCst);
        self.counters.restart();
        self.share.store(share_permille, SeqCst);
        self.mode.store(mode, SeqCst);
        Ok(())
    }

    /// Runs one prediction: `run(model, role)` on the live model (or, for an entity routed to
    /// it in split mode, on the candidate) and, in shadow mode, first on the candidate as a
    /// shadow (so a shadow sees the history as the answer does, before the answer records in
    /// it).
    /// A routed entity whose candidate has just been withdrawn is answered by the live model.
    #[inline(always)]
    pub fn answer<R: Agree>(
        &self,
        live: &Slot<P>,
        entity: impl FnOnce() -> u64,
        mut run: impl FnMut(&P, Role) -> R,
    ) -> Result<Answer<R>, AimlStatus> {
        let mode = self.mode.load(SeqCst);
        if mode == MODE_SPLIT && bucket(entity()) < self.share.load(SeqCst) {
            if let Ok(answer) = self.candidate.read(|p| run(p, Role::Answer)) {
                inc(&self.counters.routed);
                return Ok(Answer {
                    answer,
                    shadow: None,
                    by_candidate: true,
                });
            }
        }
        // the shadow first: it then reads exactly what the answer will, before the answer
        // records anything in the history
        let shadow = match mode {
            MODE_SHADOW => self.candidate.read(|p| run(p, Role::Shadow)).ok(),
            _ => None,
        };
        let answer = live.read_or_default(|p| run(p, Role::Answer))?;
        if let Some(s) = &shadow {
            self.candidate.health.record(true, None);
            self.counters.shadowed(answer.agrees(s));
        }
        Ok(Answer {
            answer,
            shadow,
            by_candidate: false,
        })
    }

    /// Counts an outcome that scored a live answer (error `live`) and its shadow (error
    /// `candidate`), in the unit of the kind's health errors.
    pub fn paired(&self, live: u32, candidate: u32) {
        self.counters.paired(live, candidate);
    }

    /// Loads a candidate (see [`Slot::load`]; no anti-rollback floor: it is checked when the
    /// candidate is promoted); the comparison counters restart.
    ///
    /// # Safety
    /// `ptr` must be valid for reads of `len` bytes.
    pub unsafe fn load(&self, ptr: *const u8, len: usize) -> Result<(), AimlStatus> {
        // SAFETY: forwarded contract.
        unsafe { self.candidate.load(ptr, len, true) }?;
        self.counters.restart();
        Ok(())
    }

    /// Withdraws the candidate; the mode is set to off.
    pub fn clear(&self) -> Result<(), AimlStatus> {
        self.mode.store(MODE_OFF, SeqCst);
        self.candidate.clear()
    }

    /// Makes the candidate the live model: its blob is loaded into the live slot (key policy
    /// and anti-rollback floor as for `aiml_load`, one atomic switch), then the candidate is
    /// withdrawn and the mode set to off. On an error the live model stays and so does the
    /// candidate. `NotInitialized` without a candidate.
    pub fn promote(&self, live: &Slot<P>) -> Result<(), AimlStatus> {
        self.candidate.read_blob(|b| {
            // SAFETY: the slice is valid for its length, and held against writers while
            // `load` copies it into the live slot's own (distinct) buffer.
            unsafe { live.load(b.as_ptr(), b.len(), false) }
        })??;
        self.mode.store(MODE_OFF, SeqCst);
        inc(&self.counters.promotions);
        // a concurrent writer of the candidate (another load) keeps its own
        let _ = self.candidate.clear();
        Ok(())
    }

    /// Rolls the live model back to the one before its last load or promotion
    /// ([`State::roll_back`](crate::slot::State::roll_back)).
    pub fn roll_back(&self, live: &Slot<P>) -> Result<(), AimlStatus> {
        live.roll_back()?;
        inc(&self.counters.rollbacks);
        Ok(())
    }

    /// Withdraws a candidate verified by a key that a revocation list has retired.
    pub fn sweep_revoked(&self) -> Result<(), AimlStatus> {
        if self.candidate.verified_by_revoked_key() {
            self.clear()?;
        }
        Ok(())
    }

    /// The state now.
    pub fn snapshot(&self, kind: u32) -> AimlAb {
        let c = &self.counters;
        let version = self
            .candidate
            .read(|p| match p.source() {
                ModelSource::Loaded { version } => *version,
                _ => 0,
            })
            .ok();
        AimlAb {
            kind,
            mode: u32::from(self.mode.load(SeqCst)),
            share_permille: self.share.load(SeqCst),
            candidate: version.is_some() as u32,
            candidate_version: version.unwrap_or(0),
            shadowed: c.shadowed.load(SeqCst),
            agreed: c.agreed.load(SeqCst),
            routed: c.routed.load(SeqCst),
            paired: c.paired.load(SeqCst),
            live_error_sum: c.live_error.load(SeqCst),
            candidate_error_sum: c.candidate_error.load(SeqCst),
            candidate_better: c.candidate_better.load(SeqCst),
            live_better: c.live_better.load(SeqCst),
            promotions: c.promotions.load(SeqCst),
            rollbacks: c.rollbacks.load(SeqCst),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_stable_and_spread() {
        // fixed values: the host's reference and every build compute the same routing
        assert_eq!(bucket(0), bucket(0));
        let mut counts = [0u32; 10];
        for e in 0..10_000u64 {
            let b = bucket(e);
            assert!(b < 1000);
            counts[(b / 100) as usize] += 1;
        }
        // each tenth of the range gets about a tenth of consecutive ids
        assert!(
            counts.iter().all(|&c| (900..1100).contains(&c)),
            "{counts:?}"
        );
        // a share routes about that share
        let routed = (0..10_000u64).filter(|&e| bucket(e) < 250).count();
        assert!((2300..2700).contains(&routed), "{routed}");
    }

    #[test]
    fn pairs_count_which_model_was_closer() {
        let c = Counters::new();
        c.paired(100, 40);
        c.paired(10, 40);
        c.paired(7, 7);
        c.shadowed(true);
        c.shadowed(false);
        assert_eq!(c.paired.load(SeqCst), 3);
        assert_eq!(
            (c.candidate_better.load(SeqCst), c.live_better.load(SeqCst)),
            (1, 1)
        );
        assert_eq!(
            (c.live_error.load(SeqCst), c.candidate_error.load(SeqCst)),
            (117, 87)
        );
        assert_eq!((c.shadowed.load(SeqCst), c.agreed.load(SeqCst)), (2, 1));
        c.restart();
        assert_eq!(c.paired.load(SeqCst) + c.shadowed.load(SeqCst), 0);
    }
}
