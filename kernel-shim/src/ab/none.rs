//! The candidate of a build without room for candidates (`AIML_SHIM_CANDIDATE_BYTES=0`, or
//! `AIML_SHIM_SLOT_BYTES=0` without it): the same calls as a [`Slot`](crate::slot::Slot)
//! has for a candidate, answering that there is none, and no storage beyond a pointer to
//! one shared, idle set of health counters. A firmware image that cannot load blobs pays nothing for A/B testing.

use core::marker::PhantomData;

use crate::health::Health;
use crate::status::AimlStatus;

/// The counters every kind's absent candidate reports: always zero.
static IDLE: Health = Health::new();

/// No candidate, ever.
pub struct NoCandidate<P> {
    /// Always zero: nothing is predicted or scored by a candidate (one shared set of
    /// counters, so that the four kinds spend a pointer each, not a set).
    pub health: &'static Health,
    kind: PhantomData<fn() -> P>,
}

impl<P> NoCandidate<P> {
    /// The only state.
    pub const fn new() -> Self {
        NoCandidate {
            health: &IDLE,
            kind: PhantomData,
        }
    }

    /// `NotInitialized`: there is no candidate to run.
    pub fn read<R>(&self, _f: impl FnOnce(&P) -> R) -> Result<R, AimlStatus> {
        Err(AimlStatus::NotInitialized)
    }

    /// `NotInitialized`: there is no candidate blob.
    pub fn read_blob<R>(&self, _f: impl FnOnce(&[u8]) -> R) -> Result<R, AimlStatus> {
        Err(AimlStatus::NotInitialized)
    }

    /// Nothing to withdraw.
    pub fn clear(&self) -> Result<(), AimlStatus> {
        Ok(())
    }

    /// `TooLarge`: a candidate buffer of 0 bytes holds no blob.
    ///
    /// # Safety
    /// None needed (nothing is read); `unsafe` as the slot's `load`.
    pub unsafe fn load(
        &self,
        _ptr: *const u8,
        _len: usize,
        _force: bool,
    ) -> Result<(), AimlStatus> {
        Err(AimlStatus::TooLarge)
    }

    /// Never called (no answer carries the candidate's flags); counts nothing.
    pub fn outcome(&self, _error: u32, _false_alarm: bool, _missed: bool) {}

    /// No candidate, so none verified by a revoked key.
    pub fn verified_by_revoked_key(&self) -> bool {
        false
    }
}
