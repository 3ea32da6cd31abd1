//! One model slot: two buffers, an atomic switch, reader counts.
//!
//! Each slot has two buffers, each holding a blob copy and the validated predictor that
//! borrows from it. `active` names the buffer predictions use. A writer (load or reset) only
//! ever writes the *other* buffer, and publishes it with one store of `active`, after the
//! buffer is complete; so a prediction sees the old model or the new one, never a mix.
//!
//! The only remaining hazard is a writer reusing a buffer that a prediction which started
//! before the previous switch still reads. Each buffer counts its readers: a reader
//! increments the count of the buffer it is about to use and then re-reads `active`; if the
//! buffer is no longer active it backs off and retries. A writer refuses (`Busy`) when the
//! spare buffer's count is not zero. A full fence separates the reader's increment from its
//! re-read, and the writer's switch from its read of the counts (also when the next writer is
//! on another core): this is Dekker's argument, either the writer sees the reader's increment,
//! or the reader sees the writer's switch. Readers never wait for writers; writers never wait
//! at all. `tests/loom_switch.rs` checks it over every interleaving of two readers and a
//! writer.
//!
//! Writers of one slot are serialised by a flag taken with compare-and-swap; a second
//! concurrent writer gets `Busy`.
//!
//! The counts and the writer flag are those of `crate::sync`: atomic read-modify-write, or plain
//! loads and stores on a single core (`single-core` feature, automatic on RISC-V without the A
//! extension). The protocol itself is `switch.rs`, checked on its own by the loom and the
//! nested-interrupt tests.

use core::cell::UnsafeCell;
use core::mem::MaybeUninit;
use core::sync::atomic::{
    AtomicI32, AtomicPtr, AtomicU32, AtomicU8, AtomicUsize, Ordering::SeqCst,
};

use inference_core::blob::MAX_WIDTH;
use inference_core::monitor as drift;

use crate::status::AimlStatus;
use inference_core::{ModelSource, Policy, Predictor};

pub(crate) mod switch;
use switch::{Switch, WriteLock};

use crate::health::Health;

/// One prediction in this many feeds the drift watch (its features extracted again and
/// quantized): the watch costs a sixteenth of an extraction per prediction.
pub const DRIFT_EVERY: u32 = 16;

/// Fallback policy: a degradation alert is only raised (the default).
pub const FALLBACK_NONE: u8 = 0;
/// Fallback policy: on an alert, the slot switches to its built-in model.
pub const FALLBACK_DEFAULT: u8 = 1;
/// Fallback policy: on an alert, the slot switches back to the model it held before the last
/// load (still in its spare buffer), else to the built-in one.
pub const FALLBACK_PREVIOUS: u8 = 2;

/// Bytes of each of the two blob buffers of a slot. Set at build time with the environment
/// variable `AIML_SHIM_SLOT_BYTES` (decimal); default 5120 (every built-in model fits with a
/// signature: the largest, the workload model's, is 4.5 KiB since its 48-24 network). 0
/// builds a defaults-only shim whose slots need no RAM for blobs (`aiml_load` then always
/// answers `TooLarge`).
pub(crate) const SLOT_BYTES: usize = parse_usize(option_env!("AIML_SHIM_SLOT_BYTES"), 5120);

/// 64-bit words of each of the two prepared-weight buffers of a slot: the model's weights in
/// the layout of `inference_core::Model::prepare` (three rows per 64-bit multiply), made at
/// each install, used by every prediction. Set with `AIML_SHIM_PREPARED_WORDS`; default 1152
/// (9 KiB: the largest built-in model, the workload model, needs 1136) on 64-bit targets whose
/// dot product is scalar (a kernel: x86-64 without SSE, or AArch64), 0 elsewhere (x86-64 user
/// space has SSE2, 32-bit firmware keeps its RAM). A model that does not fit runs on the blob's
/// weights, with the same results.
pub(crate) const PREPARED_WORDS: usize = parse_usize(
    option_env!("AIML_SHIM_PREPARED_WORDS"),
    DEFAULT_PREPARED_WORDS,
);

/// Whether installs prepare weights (a build with room for them).
const PREPARE: bool = PREPARED_WORDS != 0;

const DEFAULT_PREPARED_WORDS: usize = if cfg!(all(
    target_pointer_width = "64",
    not(all(target_arch = "x86_64", target_feature = "sse2"))
)) {
    1152
} else {
    0
};

/// Bytes of each of the two blob buffers of a candidate slot (A/B testing, [`crate::ab`]).
/// Set at build time with `AIML_SHIM_CANDIDATE_BYTES`; default [`SLOT_BYTES`]. 0 builds a
/// shim without room for candidates (`aiml_candidate_load` answers `TooLarge`).
#[cfg_attr(aiml_no_candidates, allow(dead_code))]
pub(crate) const CANDIDATE_BYTES: usize =
    parse_usize(option_env!("AIML_SHIM_CANDIDATE_BYTES"), SLOT_BYTES);

const fn parse_usize(s: Option<&str>, default: usize) -> usize {
    let Some(s) = s else { return default };
    let b = s.as_bytes();
    if b.is_empty() {
        return default;
    }
    let mut v = 0usize;
    let mut i = 0;
    while i < b.len() {
        assert!(
            b[i].is_ascii_digit(),
            "AIML_SHIM_SLOT_BYTES, AIML_SHIM_CANDIDATE_BYTES and AIML_SHIM_PREPARED_WORDS must be decimal"
        );
        v = v * 10 + (b[i] - b'0') as usize;
        i += 1;
    }
    v
}

/// The part of a slot that does not depend on its predictor type: one copy of the code that
/// handles it serves the four slots (and their candidates), which matters in firmware flash.
pub struct State {
    /// Active buffer, writer flag, reader counts.
    switch: Switch,
    /// Anti-rollback floor: the version of the last blob loaded (only written under the
    /// writer flag).
    floor: AtomicU32,
    /// The trusted-key entry that verified the model in use, plus one (0: none), so that a
    /// revocation can take the model away ([`Slot::sweep_revoked`]).
    key: AtomicU8,
    /// The same for the previous model, which the spare buffer still holds while `previous`
    /// is 1 (a fallback can publish it again).
    previous_key: AtomicU8,
    previous: AtomicU8,
    /// What an alert does: [`FALLBACK_NONE`], [`FALLBACK_DEFAULT`], [`FALLBACK_PREVIOUS`].
    fallback: AtomicU8,
    /// Predictions, counted to sample one in [`DRIFT_EVERY`] for the drift watch.
    tick: AtomicU32,
    /// Running means of the input codes (1/16 code, `inference_core::monitor`).
    drift_means: [AtomicI32; MAX_WIDTH],
    /// Predictions, refusals and their durations ([`crate::health`]).
    pub health: Health,
    /// Blob buffers the caller provided ([`Slot::set_buffer`]): two halves of one region,
    /// used instead of the static ones when set (null: none).
    external: AtomicPtr<u8>,
    /// Bytes of each half of `external`.
    external_half: AtomicUsize,
}

/// A double-buffered model slot (see the module docs) whose blob buffers hold `N` bytes each
/// (a live slot `AIML_SHIM_SLOT_BYTES`, a candidate `AIML_SHIM_CANDIDATE_BYTES`).
pub struct Slot<P, const N: usize = SLOT_BYTES> {
    /// Switch, floor, keys, fallback, drift and health ([`State`]).
    state: State,
    predictors: [UnsafeCell<MaybeUninit<P>>; 2],
    blobs: [UnsafeCell<[u8; N]>; 2],
    /// Each predictor's weights in the prepared layout ([`PREPARED_WORDS`]).
    prepared: [UnsafeCell<[i64; PREPARED_WORDS]>; 2],
}

impl<P, const N: usize> core::ops::Deref for Slot<P, N> {
    type Target = State;
    fn deref(&self) -> &State {
        &self.state
    }
}

// SAFETY: the buffers are only written by the single writer holding `writer`, and only while
// no reader uses them (reader counts, module docs); readers only read published buffers.
unsafe impl<P, const N: usize> Sync for Slot<P, N> {}

impl<P: Predictor<'static>, const N: usize> Default for Slot<P, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<P: Predictor<'static>, const N: usize> Slot<P, N> {
    /// An empty slot.
    pub const fn new() -> Self {
        Slot {
            state: State {
                switch: Switch {
                    active: AtomicU8::new(0),
                    writer: AtomicU8::new(0),
                    readers: [AtomicU32::new(0), AtomicU32::new(0)],
                    retries: AtomicU32::new(0),
                    max_retries: AtomicU32::new(0),
                },
                floor: AtomicU32::new(0),
                key: AtomicU8::new(0),
                previous_key: AtomicU8::new(0),
                previous: AtomicU8::new(0),
                fallback: AtomicU8::new(FALLBACK_NONE),
                tick: AtomicU32::new(0),
                drift_means: [const { AtomicI32::new(0) }; MAX_WIDTH],
                health: Health::new(),
                external: AtomicPtr::new(core::ptr::null_mut()),
                external_half: AtomicUsize::new(0),
            },
            predictors: [
                UnsafeCell::new(MaybeUninit::uninit()),
                UnsafeCell::new(MaybeUninit::uninit()),
            ],
            blobs: [UnsafeCell::new([0; N]), UnsafeCell::new([0; N])],
            prepared: [
                UnsafeCell::new([0; PREPARED_WORDS]),
                UnsafeCell::new([0; PREPARED_WORDS]),
            ],
        }
    }

    /// Runs `f` on the active predictor; `NotInitialized` if the slot is empty. Always inlined:
    /// each caller's closure makes its own copy anyway, and 17 out-of-line copies cost 712
    /// bytes of firmware flash more than inlining them (`.ci/kernel.sh`'s budget).
    #[inline(always)]
    pub fn read<R>(&self, f: impl FnOnce(&P) -> R) -> Result<R, AimlStatus> {
        let idx = self.switch.enter().ok_or(AimlStatus::NotInitialized)?;
        // SAFETY: buffer `idx` was published (fully written before the switch) and cannot be
        // rewritten while our count is held: writers refuse a spare buffer with readers.
        let p = unsafe { (*self.predictors[idx & 1].get()).assume_init_ref() };
        let r = f(p);
        self.switch.leave(idx);
        Ok(r)
    }

    /// As [`read`](Self::read), and an empty slot first gets the built-in model (lazy
    /// initialisation: a prediction before `aiml_init` is answered). Should a writer hold
    /// the empty slot at that moment (an `aiml_init` or `aiml_load` in progress on another
    /// CPU), this prediction answers `Busy` rather than wait or build a predictor on the
    /// stack (half a KiB, and a load's stack): the next one finds the slot filled.
    pub fn read_or_default<R>(&self, f: impl FnOnce(&P) -> R) -> Result<R, AimlStatus> {
        if !self.is_initialized() {
            self.lazy_init()?;
        }
        self.read(f)
    }

    /// The lazy initialisation of [`read_or_default`](Self::read_or_default), out of line:
    /// its stack (a load's) is spent once, not reserved by every prediction.
    #[cold]
    #[inline(never)]
    fn lazy_init(&self) -> Result<(), AimlStatus> {
        match self.init() {
            Ok(()) => {
                self.health.lazy_default();
                Ok(())
            }
            // an `init` that lost the race to another writer which has since published
            Err(_) if self.is_initialized() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Builds a predictor into the spare buffer and publishes it if `accept` says so. `blob`
    /// (if any) is copied into the spare blob buffer first. `only_if_empty`: do nothing when
    /// the slot already holds a model (for `aiml_init`).
    ///
    /// # Safety
    /// `blob`, if given, must be valid for reads of `len` bytes.
    unsafe fn write(
        &self,
        blob: Option<(*const u8, usize)>,
        only_if_empty: bool,
        force: bool,
    ) -> Result<(), AimlStatus> {
        let lock = self.switch.lock().ok_or(AimlStatus::Busy)?;
        // SAFETY: forwarded contract; we hold the writer flag (released when `lock` drops).
        unsafe { self.write_locked(&lock, blob, only_if_empty, force) }
    }

    /// [`Slot::write`] once the writer flag is held: [`State::write_locked`] with this slot's
    /// static buffers and its predictor's install.
    ///
    /// # Safety
    /// As [`Slot::write`]; the caller holds the writer flag.
    unsafe fn write_locked(
        &self,
        lock: &WriteLock<'_>,
        blob: Option<(*const u8, usize)>,
        only_if_empty: bool,
        force: bool,
    ) -> Result<(), AimlStatus> {
        let install = |spare: usize, checked: Option<Checked>, persisted: u32| {
            // SAFETY: `State::write_locked` calls this under the writer flag (`lock`) with
            // the spare buffer, which `checked` borrows from.
            unsafe { self.install(lock, spare, checked, persisted, force) }
        };
        let write = Write {
            kind: P::KIND as u32,
            statics: self.statics(),
            blob,
            only_if_empty,
            force,
        };
        // SAFETY: forwarded contract.
        unsafe { self.state.write_locked(lock, write, &install) }
    }

    /// The static blob buffers and their size.
    fn statics(&self) -> ([*mut u8; 2], usize) {
        (self.blobs.each_ref().map(|b| b.get() as *mut u8), N)
    }

    /// Counts an outcome (see [`Health::outcome`]) and watches the model with its blob's
    /// thresholds: above the alert level (after the warm-up) the alert is raised and the
    /// fallback policy applied; below the clear level a raised alert clears. A model without
    /// thresholds (no monitor section, the built-in ones unless exported with them) is not
    /// watched. A slot that fell back does not come back by itself (no flapping): a new load
    /// does that.
    pub fn outcome(&self, error: u32, false_alarm: bool, missed: bool) {
        self.health.outcome(error, false_alarm, missed);
        let Ok(Some((m, builtin))) = self.read(|p| {
            let m = p.model()?.monitor()?;
            Some((
                Levels::of(m.error_alert, m.error_clear, m.min_outcomes),
                matches!(p.source(), ModelSource::Default { .. }),
            ))
        }) else {
            return;
        };
        if error_watch(&self.health, m) {
            self.state.fall_back(builtin, false, &|| self.reset());
        }
    }

    /// Feeds the drift watch one prediction in [`DRIFT_EVERY`]: `features()` (extracted only
    /// then) are quantized with the model in use, its running means updated and the score
    /// compared with its blob's drift levels (alert, hysteresis, warm-up, fallback as for
    /// [`Slot::outcome`]). Concurrent samples may lose an update of a mean (not a count).
    #[inline(always)]
    pub fn sample<F: AsRef<[i32]>>(&self, features: impl FnOnce() -> F) {
        if crate::sync::inc_get(&self.tick).is_multiple_of(DRIFT_EVERY) {
            self.sample_now(features);
        }
    }

    /// The extraction of a sampled prediction, out of line: its feature vector is not on the
    /// stack of the other fifteen.
    #[cold]
    #[inline(never)]
    fn sample_now<F: AsRef<[i32]>>(&self, features: impl FnOnce() -> F) {
        self.observe(features().as_ref());
    }

    /// [`Slot::sample`]'s sampled path, out of line: predictions do not reserve its stack.
    #[cold]
    #[inline(never)]
    fn observe(&self, features: &[i32]) {
        let Ok(Some((step, builtin))) = self.read(|p| {
            Some((
                drift_step(&self.drift_means, &self.health, p.model()?, features)?,
                matches!(p.source(), ModelSource::Default { .. }),
            ))
        }) else {
            return;
        };
        if step {
            self.state.fall_back(builtin, true, &|| self.reset());
        }
    }

    /// Blob buffer `idx` (0 or 1): its start and size, the caller's half if one was given
    /// ([`Slot::set_buffer`]), else the static one.
    fn buffer(&self, idx: usize) -> (*mut u8, usize) {
        self.state.buffer(self.statics(), idx)
    }

    /// Gives the slot caller-owned memory for its two blob buffers (`len` bytes at `buf`,
    /// split in two halves), in place of the static ones: a build with
    /// `AIML_SHIM_SLOT_BYTES=0` (no static buffers) can then load blobs too. Only while the
    /// slot runs no loaded model (before the first load, or after a reset); the model held
    /// for a fallback or rollback is forgotten. `InvalidArgument` for a null buffer or halves
    /// under 64 bytes; `Busy` while a writer holds the slot, while it runs a loaded model, or
    /// while a prediction still reads the spare buffer's model. An empty slot takes it too.
    ///
    /// # Safety
    /// `buf` must be valid for reads and writes of `len` bytes for as long as the shim runs,
    /// and used by nothing else from now on.
    pub unsafe fn set_buffer(&self, buf: *mut u8, len: usize) -> Result<(), AimlStatus> {
        let half = len / 2;
        if buf.is_null() || half < 64 {
            return Err(AimlStatus::InvalidArgument);
        }
        let lock = self.switch.lock().ok_or(AimlStatus::Busy)?;
        // the model in use must not borrow the buffers being replaced, nor may a reader that
        // entered before the last switch still use the spare one
        let loaded = self
            .read(|p| matches!(p.source(), ModelSource::Loaded { .. }))
            .unwrap_or(false);
        if loaded {
            return Err(AimlStatus::Busy);
        }
        lock.spare().ok_or(AimlStatus::Busy)?;
        self.previous.store(0, SeqCst);
        self.external_half.store(0, SeqCst);
        self.external.store(buf, SeqCst);
        self.external_half.store(half, SeqCst);
        Ok(())
    }

    /// Runs `f` on the bytes of the loaded blob in use (held against writers meanwhile, as a
    /// prediction is); `NotInitialized` for an empty slot or one running its built-in model.
    pub fn read_blob<R>(&self, f: impl FnOnce(&[u8]) -> R) -> Result<R, AimlStatus> {
        let idx = self.switch.enter().ok_or(AimlStatus::NotInitialized)?;
        // SAFETY: as in `read`: buffer `idx` is published and held by our count; its blob
        // buffer holds the bytes its predictor was loaded from (the first `blob_len`).
        let r = unsafe {
            let p = (*self.predictors[idx & 1].get()).assume_init_ref();
            match (p.source(), p.model()) {
                (ModelSource::Loaded { .. }, Some(m)) => {
                    let (ptr, cap) = self.buffer(idx);
                    core::slice::from_raw_parts(ptr, cap)
                        .get(..m.blob_len())
                        .map(f)
                        .ok_or(AimlStatus::NotInitialized)
                }
                _ => Err(AimlStatus::NotInitialized),
            }
        };
        self.switch.leave(idx);
        r
    }

    /// Switches to the built-in model if the model in use was verified by a trusted-key
    /// entry that a revocation list has since retired. `Busy` if a writer holds the slot
    /// (call again: the same revocation list may be applied again).
    pub fn sweep_revoked(&self) -> Result<(), AimlStatus> {
        if self.verified_by_revoked_key() {
            self.reset()?;
        }
        Ok(())
    }

    /// Builds the predictor of a checked blob (or the built-in one) in the spare buffer,
    /// persists the rollback floor, and publishes it. Not inlined (see `write_locked`).
    ///
    /// # Safety
    /// The caller holds the writer flag (`lock`) and `spare` is its spare buffer, whose blob
    /// buffer `checked` borrows from.
    #[inline(never)]
    unsafe fn install(
        &self,
        lock: &WriteLock<'_>,
        spare: usize,
        checked: Option<Checked>,
        persisted: u32,
        force: bool,
    ) -> Result<(), AimlStatus> {
        let given = checked.is_some();
        // SAFETY: as above, the spare buffer is ours alone until `publish`. The predictors
        // have no destructor, so overwriting drops nothing. Built in place: a predictor is
        // half a KiB, too much to build on a kernel stack and copy.
        let p = P::load_checked_in(unsafe { &mut *self.predictors[spare & 1].get() }, checked);
        if PREPARE {
            // SAFETY: the spare buffer's prepared words are ours alone until `publish`, like its
            // predictor; the slot is a static (as for the blob buffers), so they live as long
            // as the predictor that borrows them.
            let words = unsafe {
                core::slice::from_raw_parts_mut(
                    self.prepared[spare & 1].get() as *mut i64,
                    PREPARED_WORDS,
                )
            };
            prepare(p, words);
        }
        if given {
            match p.source() {
                ModelSource::Loaded { version } => {
                    // persisted before the model can run (see `crate::rollback`)
                    if !force {
                        crate::rollback::raise(P::KIND as u32, persisted, *version)?;
                    }
                    self.floor.store(*version, SeqCst)
                }
                ModelSource::Default {
                    refused: Some(e), ..
                } => return Err(e.into()),
                // A given blob always ends up loaded or refused with a reason.
                _ => return Err(AimlStatus::BlobInvalid),
            }
        }
        lock.publish(spare);
        Ok(())
    }

    /// Puts the built-in model in an empty slot; does nothing to a slot that holds one.
    pub fn init(&self) -> Result<(), AimlStatus> {
        // SAFETY: no blob pointer.
        unsafe { self.write(None, true, false) }
    }

    /// Switches to the built-in model.
    pub fn reset(&self) -> Result<(), AimlStatus> {
        // SAFETY: no blob pointer.
        unsafe { self.write(None, false, false) }
    }

    /// Copies, validates and (if accepted) switches to `len` bytes at `ptr`. The blob must
    /// pass the key policy ([`crate::policy`]) and, unless `force`, carry a version no lower
    /// than the last blob loaded into this slot (anti-rollback; [`Slot::reset`] does not
    /// lower that floor, a forced load sets it to the forced version).
    ///
    /// # Safety
    /// `ptr` must be valid for reads of `len` bytes.
    pub unsafe fn load(&self, ptr: *const u8, len: usize, force: bool) -> Result<(), AimlStatus> {
        // SAFETY: forwarded contract.
        unsafe { self.write(Some((ptr, len)), false, force) }
    }
}

impl State {
    /// Blob buffer `idx` (0 or 1) of a slot whose static buffers are `statics`: its start and
    /// size, the caller's half if one was given ([`Slot::set_buffer`]), else the static one.
    fn buffer(&self, statics: ([*mut u8; 2], usize), idx: usize) -> (*mut u8, usize) {
        let (ext, half) = (self.external.load(SeqCst), self.external_half.load(SeqCst));
        if ext.is_null() {
            (statics.0[idx & 1], statics.1)
        } else {
            // within the region the caller gave: `half` bytes at `idx · half`
            (ext.wrapping_add((idx & 1) * half), half)
        }
    }

    /// The body of [`Slot::write_locked`], shared by the four slots: copies the blob (if
    /// any) into the spare buffer, checks it against the key policy and the version floor,
    /// has `install(spare, checked, persisted floor)` build and publish the predictor, and
    /// keeps the books.
    ///
    /// # Safety
    /// As [`Slot::write`]; the caller holds the writer flag (`lock`).
    #[inline(never)]
    unsafe fn write_locked(
        &self,
        lock: &WriteLock<'_>,
        w: Write,
        install: &dyn Fn(usize, Option<Checked>, u32) -> Result<(), AimlStatus>,
    ) -> Result<(), AimlStatus> {
        let a = lock.active();
        if w.only_if_empty && a != 0 {
            return Ok(());
        }
        if let Some((_, len)) = w.blob {
            if len > self.buffer(w.statics, 0).1 {
                return Err(AimlStatus::TooLarge);
            }
        }
        let mut persisted = 0;
        let spare = lock.spare().ok_or(AimlStatus::Busy)?;
        // the spare buffer's previous model is about to be overwritten
        self.previous.store(0, SeqCst);
        let bytes: Option<&'static [u8]> = match w.blob {
            None => None,
            Some((ptr, len)) => {
                let (dst, _) = self.buffer(w.statics, spare);
                // SAFETY: len ≤ the buffer's size (checked above); the caller guarantees `ptr`
                // is readable for `len` bytes; we own the spare buffer (writer flag, no
                // readers) and the caller's blob cannot overlap it (ours is static; a buffer
                // given to `set_buffer` belongs to the shim from then on).
                unsafe {
                    core::ptr::copy_nonoverlapping(ptr, dst, len);
                    Some(core::slice::from_raw_parts(dst, len))
                }
            }
        };
        // The built-in models are part of the image: no policy applies to them. A blob gets
        // its key's policy (by the id in its trailer) and the version floor.
        let (policy, key) = match bytes {
            None => (Policy::OPEN, None),
            Some(b) => self.policy_for(w.kind, b, w.force, &mut persisted)?,
        };
        // Envelope and signature first, in a call of their own, then the predictor in
        // another: the verification's stack and the decoded model's never add up.
        let checked = bytes.map(|b| inference_core::Model::check(b, &policy));
        let verified_by = match &checked {
            Some(Ok(c)) if c.signature_verified() => key.map_or(0, |i| i as u8 + 1),
            _ => 0,
        };
        install(spare, checked, persisted)?;
        self.installed(a != 0, verified_by);
        Ok(())
    }

    /// The key policy for loading `blob` into a slot of `kind`: its key's (by the id in its
    /// trailer), with the version floor (unless `force`; `persisted` gets the store's floor).
    #[inline(never)]
    fn policy_for(
        &self,
        kind: u32,
        blob: &[u8],
        force: bool,
        persisted: &mut u32,
    ) -> Result<(Policy, Option<usize>), AimlStatus> {
        if crate::rollback::floor(crate::policy::REVOCATION_COUNTER)?
            > crate::policy::revocation_sequence()
        {
            return Err(AimlStatus::BlobRevocationStale);
        }
        let floor = if force {
            0
        } else {
            *persisted = crate::rollback::floor(kind)?;
            self.floor.load(SeqCst).max(*persisted)
        };
        let (p, key) = crate::policy::for_blob(&inference_core::signature::split(blob))?;
        Ok((p.with_min_version(floor), key))
    }

    /// Bookkeeping after a model was installed (`had_model`: the slot held one before, now in
    /// the spare buffer), verified by key entry `verified_by` (plus one; 0: none). Under the
    /// writer flag: plain loads and stores (no read-modify-write on riscv32imc).
    fn installed(&self, had_model: bool, verified_by: u8) {
        self.previous_key.store(self.key.load(SeqCst), SeqCst);
        self.key.store(verified_by, SeqCst);
        self.previous.store(had_model as u8, SeqCst);
        self.health.installed(true);
    }

    /// Reader back-offs so far (a switch came between a reader's two looks at the active
    /// buffer): the total, and the most one reader needed before it got in.
    pub fn reader_retries(&self) -> (u32, u32) {
        self.switch.retries()
    }

    /// Whether the slot holds a model.
    pub fn is_initialized(&self) -> bool {
        self.switch.is_published()
    }

    /// Sets what a degradation alert does.
    pub fn set_fallback(&self, policy: u8) -> Result<(), AimlStatus> {
        if policy > FALLBACK_PREVIOUS {
            return Err(AimlStatus::InvalidArgument);
        }
        self.fallback.store(policy, SeqCst);
        Ok(())
    }

    /// Publishes the previous model again (still in the spare buffer), if there is one.
    fn fall_back_previous(&self) -> Result<(), AimlStatus> {
        let lock = self.switch.lock().ok_or(AimlStatus::Busy)?;
        let k = self.previous_key.load(SeqCst);
        if self.previous.load(SeqCst) == 0 || (k != 0 && crate::policy::is_dead(k as usize - 1)) {
            return Err(AimlStatus::NotInitialized);
        }
        let spare = lock.spare().ok_or(AimlStatus::Busy)?;
        lock.publish(spare);
        self.previous.store(0, SeqCst);
        self.key.store(self.previous_key.load(SeqCst), SeqCst);
        self.previous_key.store(0, SeqCst);
        self.health.installed(false);
        Ok(())
    }

    /// Rolls back: publishes again the model this slot held before its last load (a
    /// promotion is a load), kept in the spare buffer, with its rollback floor untouched.
    /// `NotInitialized` when there is none (nothing loaded since, a fallback or rollback
    /// already used it, or its key was revoked); `Busy` if a writer holds the slot or a
    /// prediction that started before the last switch still reads the spare buffer. Clears
    /// the alerts: an operator's decision, as a load is.
    pub fn roll_back(&self) -> Result<(), AimlStatus> {
        self.fall_back_previous()?;
        self.health.installed(true);
        Ok(())
    }

    /// Empties the slot (a candidate withdrawn): later reads answer `NotInitialized`, the
    /// previous model is forgotten. `Busy` if a writer holds it.
    pub fn clear(&self) -> Result<(), AimlStatus> {
        let lock = self.switch.lock().ok_or(AimlStatus::Busy)?;
        lock.unpublish();
        self.previous.store(0, SeqCst);
        self.key.store(0, SeqCst);
        self.previous_key.store(0, SeqCst);
        self.health.installed(true);
        Ok(())
    }

    /// Whether the model in use was verified by a key a revocation list has since retired.
    pub fn verified_by_revoked_key(&self) -> bool {
        let k = self.key.load(SeqCst);
        k != 0 && crate::policy::is_dead(k as usize - 1)
    }

    /// Applies the fallback policy after an alert (the drift alert if `drift`) was raised
    /// on the model in use.
    /// `reset` switches to the built-in model.
    #[inline(never)]
    fn fall_back(&self, builtin: bool, drift: bool, reset: &dyn Fn() -> Result<(), AimlStatus>) {
        if builtin {
            return; // the built-in model is the last resort: alert only
        }
        let done = match self.fallback.load(SeqCst) {
            FALLBACK_PREVIOUS => self.fall_back_previous().or_else(|_| reset()),
            FALLBACK_DEFAULT => reset(),
            _ => return,
        };
        if done.is_ok() {
            // what the spare buffer holds now is the model that failed: never back to it
            self.previous.store(0, SeqCst);
            self.health.fell_back(drift);
        } else if drift {
            // a writer held the slot: lower the alert, so the next sample raises it again and
            // retries the fallback (the alert is then counted twice)
            self.health.clear_drift_alert();
        } else {
            self.health.clear_alert();
        }
    }
}

/// A blob check's outcome, as a slot's install takes it.
type Checked = Result<inference_core::Checked<'static>, inference_core::LoadError>;

/// What [`State::write_locked`] writes: into a slot of `kind` whose static buffers are
/// `statics`, the blob at `blob` (`None`: the built-in model).
struct Write {
    kind: u32,
    statics: ([*mut u8; 2], usize),
    blob: Option<(*const u8, usize)>,
    only_if_empty: bool,
    force: bool,
}

/// Prepares a freshly built predictor's weights, out of line: its frame does not add to the
/// load's.
#[inline(never)]
fn prepare<P: Predictor<'static>>(p: &mut P, words: &'static mut [i64]) {
    p.prepare(words);
}

/// An alert's levels, copied out of the model's monitor section.
#[derive(Clone, Copy)]
struct Levels {
    alert: u32,
    clear: u32,
    warm: u32,
}

impl Levels {
    fn of(alert: u32, clear: u32, warm: u16) -> Levels {
        Levels {
            alert,
            clear,
            warm: u32::from(warm),
        }
    }
}

/// The degradation watch after an outcome: lowers a raised alert below the clear level, and
/// returns whether it raised it now (the caller applies the fallback policy). Not generic:
/// one copy for the four slots.
#[inline(never)]
fn error_watch(health: &Health, m: Levels) -> bool {
    if m.alert == 0 {
        return false;
    }
    let (rolling, since) = health.rolling_now();
    if health.alerted() {
        if since >= m.warm && rolling < m.clear {
            health.clear_alert();
        }
        return false;
    }
    since >= m.warm && rolling > m.alert && health.raise_alert()
}

/// One drift sample on `model`: the running means updated with `features`' codes, the
/// score stored, the drift alert lowered below the clear level; returns whether it raised the
/// alert now (the caller applies the fallback policy), `None` for a model without input
/// statistics. Not generic: one copy for the four slots.
#[inline(never)]
fn drift_step(
    means: &[AtomicI32; MAX_WIDTH],
    health: &Health,
    model: &inference_core::Model<'_>,
    features: &[i32],
) -> Option<bool> {
    let m = model.monitor()?;
    if m.drift_alert == 0 || m.input_stats.is_empty() {
        return None;
    }
    let mut codes = [0i8; MAX_WIDTH];
    model.quantize_input(features, &mut codes);
    let fresh = health.drift_samples() == 0;
    for (i, (mean, &c)) in means.iter().zip(&codes).enumerate() {
        let Some((train, _)) = drift::stat(m.input_stats, i) else {
            break;
        };
        let old = if fresh { train } else { mean.load(SeqCst) };
        mean.store(drift::update(old, c), SeqCst);
    }
    let score = drift::score(means.iter().map(|a| a.load(SeqCst)), m.input_stats);
    let samples = health.drift_sample(score);
    let l = Levels::of(m.drift_alert, m.drift_clear, m.min_outcomes);
    if health.drift_alerted() {
        if samples >= l.warm && score < l.clear {
            health.clear_drift_alert();
        }
        return Some(false);
    }
    Some(samples >= l.warm && score > l.alert && health.raise_drift_alert())
}
