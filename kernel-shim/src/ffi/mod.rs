//! The C entry points and their `#[repr(C)]` types. Units are integers throughout:
//! percent × 100, per-mille, seconds, milliseconds, nanoseconds, bytes.
//!
//! This file holds what concerns every model (init, load, key policy, reset, info) and the
//! helpers of all entry points; each model's histories and predictions are in its own file.
//!
//! Every entry point has the same shape: a Rust function returning `Result<(), AimlStatus>`
//! does the work, and the `extern "C"` function turns its result into a status with
//! [`status`]. Pointers are checked (null, alignment) before they are dereferenced, and each
//! dereference sits in its own `unsafe` block.

use inference_core::{
    FailurePredictor, MemoryPredictor, ModelSource, Predictor, ThreatDetector, WorkloadPredictor,
};

use crate::ab::{Ab, Agree, Answer, Role};
use crate::health;
use crate::history::{self, check_ptr, Opaque};
use crate::slot::{Slot, SLOT_BYTES};
use crate::status::AimlStatus;

// cbindgen writes the header in this order (this file first, then these modules as declared):
// keep it, or the checked-in header changes.
mod workload;
pub use workload::*;
mod threat;
pub use threat::*;
mod failure;
pub use failure::*;
mod memory;
pub use memory::*;
mod ab;
pub use ab::*;

/// `aiml_add_key` role: the key signs models.
pub const AIML_KEY_ROLE_MODELS: u32 = 1;
/// `aiml_add_key` role: the key signs revocation lists.
pub const AIML_KEY_ROLE_REVOCATION: u32 = 2;
/// The rollback store's counter (`kind` argument) that holds the sequence of the newest
/// revocation list applied (`aiml_revoke`), beside the four model kinds.
pub const AIML_REVOCATION_COUNTER: u32 = 0x100;
const _: () = assert!(AIML_REVOCATION_COUNTER == crate::policy::REVOCATION_COUNTER);
const _: () = assert!(AIML_KEY_ROLE_MODELS == crate::policy::ROLE_MODELS);
const _: () = assert!(AIML_KEY_ROLE_REVOCATION == crate::policy::ROLE_REVOCATION);

/// Kind code of the workload predictor.
pub const AIML_KIND_WORKLOAD: u32 = 1;
/// Kind code of the threat detector.
pub const AIML_KIND_THREAT: u32 = 2;
/// Kind code of the failure predictor.
pub const AIML_KIND_FAILURE: u32 = 3;
/// Kind code of the memory-access predictor.
pub const AIML_KIND_MEMORY: u32 = 4;

/// `AimlModelInfo::source`: the built-in model.
pub const AIML_SOURCE_DEFAULT: u32 = 0;
/// `AimlModelInfo::source`: a model loaded with `aiml_load`.
pub const AIML_SOURCE_LOADED: u32 = 1;
/// `AimlModelInfo::source`: no model (the built-in one was refused; outputs are neutral).
pub const AIML_SOURCE_NONE: u32 = 2;

static WORKLOAD: Slot<WorkloadPredictor<'static>> = Slot::new();
static THREAT: Slot<ThreatDetector<'static>> = Slot::new();
static FAILURE: Slot<FailurePredictor<'static>> = Slot::new();
static MEMORY: Slot<MemoryPredictor<'static>> = Slot::new();

static WORKLOAD_AB: Ab<WorkloadPredictor<'static>> = Ab::new();
static THREAT_AB: Ab<ThreatDetector<'static>> = Ab::new();
static FAILURE_AB: Ab<FailurePredictor<'static>> = Ab::new();
static MEMORY_AB: Ab<MemoryPredictor<'static>> = Ab::new();

/// `ab` flag of a prediction: the candidate's answer to the same input is attached (shadow
/// mode); report the outcome with the prediction as usual and both are scored.
pub const AIML_AB_SHADOW: u8 = 1;
/// `ab` flag of a prediction: this answer is the candidate's (split mode).
pub const AIML_AB_CANDIDATE: u8 = 2;

/// `aiml_ab_set` mode: the candidate is not consulted.
pub const AIML_AB_OFF: u32 = 0;
/// `aiml_ab_set` mode: every prediction also runs the candidate, whose answer is attached
/// to the live one (`AIML_AB_SHADOW`) and scored by the same outcome.
pub const AIML_AB_SHADOW_MODE: u32 = 1;
/// `aiml_ab_set` mode: the histories whose entity id hashes below the share are answered by
/// the candidate (`AIML_AB_CANDIDATE`).
pub const AIML_AB_SPLIT: u32 = 2;
const _: () = assert!(AIML_AB_OFF == crate::ab::MODE_OFF as u32);
const _: () = assert!(AIML_AB_SHADOW_MODE == crate::ab::MODE_SHADOW as u32);
const _: () = assert!(AIML_AB_SPLIT == crate::ab::MODE_SPLIT as u32);

fn status(r: Result<(), AimlStatus>) -> AimlStatus {
    match r {
        Ok(()) => AimlStatus::Ok,
        Err(e) => e,
    }
}

/// Writes `v` to `out` after checking the pointer.
///
/// # Safety
/// `out`, if non-null and aligned, must be valid for writes.
unsafe fn put<T>(out: *mut T, v: T) -> Result<(), AimlStatus> {
    check_ptr(out)?;
    // SAFETY: checked; validity is the caller's contract.
    unsafe { out.write(v) };
    Ok(())
}

/// Reads `*p` after checking the pointer.
///
/// # Safety
/// `p`, if non-null and aligned, must be valid for reads.
unsafe fn take<T: Copy>(p: *const T) -> Result<T, AimlStatus> {
    check_ptr(p)?;
    // SAFETY: checked; validity is the caller's contract.
    Ok(unsafe { p.read() })
}

/// Reads the record at `s`, converts it (a field out of range is refused before the history
/// is touched) and adds it to the history at `h` with `add`.
///
/// # Safety
/// As [`take`] for `s` and [`history::get_mut`] for `h`.
unsafe fn push<O: Opaque, S: Copy, T>(
    h: *mut O,
    s: *const S,
    add: impl FnOnce(&mut O::Inner, T),
) -> Result<(), AimlStatus>
where
    T: TryFrom<S>,
    AimlStatus: From<T::Error>,
{
    // SAFETY: forwarded contract; `take` checks null and alignment.
    let s = T::try_from(unsafe { take(s) }?)?;
    // SAFETY: forwarded contract; `get_mut` checks null, alignment and the magic word.
    let hist = unsafe { history::get_mut(h) }?;
    add(hist, s);
    Ok(())
}

/// Runs one prediction of the live slot `live` under its A/B state `ab` on the history at `h`
/// (`run(model, role, history)`, see [`Ab::answer`]) and writes the answer, in its C type
/// with the A/B fields, to `out`.
///
/// # Safety
/// As [`history::get`] for `h` and [`put`] for `out`.
unsafe fn predict<P: Predictor<'static>, O: Opaque, R: Agree, C: FromAnswer<R>>(
    live: &Slot<P>,
    ab: &Ab<P>,
    h: *const O,
    out: *mut C,
    run: impl Fn(&P, Role, &O::Inner) -> R,
) -> Result<(), AimlStatus>
where
    O::Inner: Features,
{
    timed(live, ab, || {
        check_ptr(out)?;
        // SAFETY: forwarded contract; `get` checks null, alignment and the magic word.
        let hist = unsafe { history::get(h) }?;
        live.sample(|| hist.features());
        // SAFETY: as `get` above.
        let entity = || unsafe { history::entity(h) }.unwrap_or(0);
        let a = ab.answer(live, entity, |p, role| run(p, role, hist))?;
        // SAFETY: forwarded contract.
        unsafe { put_answer(out, a) }
    })
}

/// As [`predict`], for a predictor that records what it predicted in the history (the
/// workload model's do-no-harm record). The drift watch samples the features before that.
///
/// # Safety
/// As [`history::get_mut`] for `h` and [`put`] for `out`.
unsafe fn predict_mut<P: Predictor<'static>, O: Opaque, R: Agree, C: FromAnswer<R>>(
    live: &Slot<P>,
    ab: &Ab<P>,
    h: *mut O,
    out: *mut C,
    mut run: impl FnMut(&P, Role, &mut O::Inner) -> R,
) -> Result<(), AimlStatus>
where
    O::Inner: Features,
{
    timed(live, ab, || {
        check_ptr(out)?;
        // SAFETY: forwarded contract; `get_mut_entity` checks null, alignment and the magic
        // word.
        let (entity, hist) = unsafe { history::get_mut_entity(h) }?;
        live.sample(|| hist.features());
        let a = ab.answer(live, || entity, |p, role| run(p, role, hist))?;
        // SAFETY: forwarded contract.
        unsafe { put_answer(out, a) }
    })
}

/// Writes an answer with its A/B fields; returns whether the candidate gave it.
///
/// # Safety
/// As [`put`].
unsafe fn put_answer<R, C: FromAnswer<R>>(out: *mut C, a: Answer<R>) -> Result<bool, AimlStatus> {
    let by_candidate = a.by_candidate;
    // SAFETY: forwarded contract.
    unsafe { put(out, C::from_answer(a)) }?;
    Ok(by_candidate)
}

/// A C answer type built from an A/B answer: the answer, its `ab` flags and the shadow's
/// decision.
trait FromAnswer<R>: Sized {
    fn from_answer(a: Answer<R>) -> Self;
}

/// The `ab` flags of an answer.
fn ab_flags<R>(a: &Answer<R>) -> u8 {
    (if a.shadow.is_some() {
        AIML_AB_SHADOW
    } else {
        0
    }) | (if a.by_candidate { AIML_AB_CANDIDATE } else { 0 })
}

/// A history whose current feature vector the drift watch samples ([`Slot::sample`]).
trait Features {
    /// The feature vector.
    type Vector: AsRef<[i32]>;
    /// The features the model reads now.
    fn features(&self) -> Self::Vector;
}

impl Features for inference_core::features::workload::WorkloadHistory {
    type Vector = [i32; inference_core::features::workload::N_FEATURES];
    fn features(&self) -> Self::Vector {
        inference_core::features::workload::WorkloadHistory::features(self)
    }
}

impl Features for inference_core::features::failure::FailureHistory {
    type Vector = [i32; inference_core::features::failure::N_FEATURES];
    fn features(&self) -> Self::Vector {
        inference_core::features::failure::FailureHistory::features(self)
    }
}

impl Features for inference_core::features::memory::MemoryHistory {
    type Vector = [i32; inference_core::features::memory::N_FEATURES];
    fn features(&self) -> Self::Vector {
        inference_core::features::memory::MemoryHistory::features(self)
    }
}

/// Runs one prediction call and counts it in the health of the slot that answered (the
/// candidate's when `call` says so), timed if a clock is set; a refused call counts in the
/// live slot's.
fn timed<P: Predictor<'static>>(
    live: &Slot<P>,
    ab: &Ab<P>,
    call: impl FnOnce() -> Result<bool, AimlStatus>,
) -> Result<(), AimlStatus> {
    let start = health::now();
    let r = call();
    let h = match r {
        Ok(true) => &ab.candidate.health,
        _ => &live.health,
    };
    record(h, start, r.is_ok());
    r.map(|_| ())
}

/// Counts one prediction call in the slot's health counters. Not inlined: one copy for the
/// four models' predictions (flash).
#[inline(never)]
fn record(health: &health::Health, start: Option<health::Timestamp>, answered: bool) {
    health.record(answered, start.filter(|_| answered).map(|t| t.elapsed()));
}

/// One model's score for an outcome: its error (the unit of `AimlHealth::error_sum`), and
/// whether it raised a false alarm or missed the event.
#[derive(Clone, Copy)]
struct Scored {
    error: u32,
    false_alarm: bool,
    missed: bool,
}

impl Scored {
    /// A yes/no decision: an alarm without the event is a false alarm, the event without an
    /// alarm a missed one, either adds 1000 to the error.
    fn binary(alarm: bool, event: bool) -> Scored {
        Scored {
            error: if alarm == event { 0 } else { 1000 },
            false_alarm: alarm && !event,
            missed: event && !alarm,
        }
    }

    /// An error alone.
    fn error(error: u32) -> Scored {
        Scored {
            error,
            false_alarm: false,
            missed: false,
        }
    }
}

/// Counts an outcome: `answer` in the health of the slot that answered (`ab` flags say
/// which; `None`: this answer is not scored, as a memory prediction that did not prefetch),
/// `shadow` in the candidate's, and `paired` (the two errors of a shadowed answer) in the
/// A/B comparison.
fn outcome<P: Predictor<'static>>(
    live: &Slot<P>,
    ab: &Ab<P>,
    flags: u8,
    answer: Option<Scored>,
    shadow: Option<Scored>,
    paired: Option<(u32, u32)>,
) {
    match answer {
        Some(s) if flags & AIML_AB_CANDIDATE != 0 => {
            ab.candidate.outcome(s.error, s.false_alarm, s.missed)
        }
        Some(s) => live.outcome(s.error, s.false_alarm, s.missed),
        None => {}
    }
    if flags & AIML_AB_SHADOW == 0 {
        return;
    }
    if let Some(s) = shadow {
        ab.candidate.outcome(s.error, s.false_alarm, s.missed);
    }
    if let Some((l, c)) = paired {
        ab.paired(l, c);
    }
}

/// Counts the outcome of a yes/no prediction whose answer raised `alarm` and whose shadow
/// (with the `AIML_AB_SHADOW` flag) raised `shadow_alarm`.
fn binary_outcome<P: Predictor<'static>>(
    live: &Slot<P>,
    ab: &Ab<P>,
    flags: u8,
    alarm: bool,
    shadow_alarm: bool,
    event: bool,
) {
    let (a, s) = (
        Scored::binary(alarm, event),
        Scored::binary(shadow_alarm, event),
    );
    outcome(live, ab, flags, Some(a), Some(s), Some((a.error, s.error)));
}

/// Puts the built-in model in every slot that holds none. Call once before predicting (e.g.
/// in `module_init`); calling it again changes nothing. Any context; does not block.
#[unsafe(no_mangle)]
pub extern "C" fn aiml_init() -> AimlStatus {
    let rs = [
        WORKLOAD.init(),
        THREAT.init(),
        FAILURE.init(),
        MEMORY.init(),
    ];
    status(rs.into_iter().collect())
}

/// Bytes a blob may have at most in the static buffers (`AIML_SHIM_SLOT_BYTES` at build time;
/// a slot given the caller's memory with `aiml_set_slot_buffer` takes up to half of it).
#[unsafe(no_mangle)]
pub extern "C" fn aiml_slot_capacity() -> usize {
    SLOT_BYTES
}

/// # Safety
/// `blob`, if non-null, must be valid for reads of `len` bytes.
unsafe fn load(kind: u32, blob: *const u8, len: usize, force: bool) -> Result<(), AimlStatus> {
    if blob.is_null() {
        return Err(AimlStatus::NullPointer);
    }
    // SAFETY: `blob` is non-null and, by the caller's contract, readable for `len` bytes.
    unsafe {
        match kind {
            AIML_KIND_WORKLOAD => WORKLOAD.load(blob, len, force),
            AIML_KIND_THREAT => THREAT.load(blob, len, force),
            AIML_KIND_FAILURE => FAILURE.load(blob, len, force),
            AIML_KIND_MEMORY => MEMORY.load(blob, len, force),
            _ => Err(AimlStatus::UnknownKind),
        }
    }
}

/// Gives the slot of `kind` caller-owned memory for its two blob buffers: `len` bytes at
/// `buf`, split in two halves (each the largest blob it can load), used in place of the
/// static buffers of `AIML_SHIM_SLOT_BYTES`. A firmware image built with
/// `AIML_SHIM_SLOT_BYTES=0` keeps almost no static RAM and loads into memory it owns (a
/// region it can also reuse for nothing else). Call at init, before loading into that slot:
/// `BUSY` while it runs a loaded model (reset it first) or a writer holds it;
/// `INVALID_ARGUMENT` for a null buffer or halves under 64 bytes; `UNKNOWN_KIND`;
/// `POLICY_LOCKED` after `aiml_lock_policy`.
///
/// # Safety
/// `buf` must be valid for reads and writes of `len` bytes for as long as the shim runs, and
/// used by nothing else from then on.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aiml_set_slot_buffer(kind: u32, buf: *mut u8, len: usize) -> AimlStatus {
    if crate::policy::is_locked() {
        return AimlStatus::PolicyLocked;
    }
    // SAFETY: forwarded contract.
    status(unsafe {
        match kind {
            AIML_KIND_WORKLOAD => WORKLOAD.set_buffer(buf, len),
            AIML_KIND_THREAT => THREAT.set_buffer(buf, len),
            AIML_KIND_FAILURE => FAILURE.set_buffer(buf, len),
            AIML_KIND_MEMORY => MEMORY.set_buffer(buf, len),
            _ => Err(AimlStatus::UnknownKind),
        }
    })
}

/// Copies `len` bytes at `blob` into the spare buffer of the slot of `kind`, validates them
/// and, if accepted, makes them the slot's model. On any error the previous model stays and
/// the status says why (`BLOB_*`: the check that refused it). The caller's buffer is not
/// referenced after the call returns.
///
/// The blob must pass the key policy (`aiml_set_key`: signature, unsigned blobs) and carry a
/// model version no lower than the last blob loaded into this slot (`BLOB_ROLLBACK`
/// otherwise; `aiml_reset` does not lower that floor).
///
/// # Safety
/// `blob`, if non-null, must be valid for reads of `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aiml_load(kind: u32, blob: *const u8, len: usize) -> AimlStatus {
    // SAFETY: forwarded contract.
    status(unsafe { load(kind, blob, len, false) })
}

/// `aiml_load` without the anti-rollback check: a deliberate downgrade by the operator. The
/// key policy still applies. The slot's rollback floor becomes the forced blob's version.
/// `POLICY_LOCKED` after `aiml_lock_policy`.
///
/// # Safety
/// `blob`, if non-null, must be valid for reads of `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aiml_load_force(kind: u32, blob: *const u8, len: usize) -> AimlStatus {
    if crate::policy::is_locked() {
        return AimlStatus::PolicyLocked;
    }
    // SAFETY: forwarded contract.
    status(unsafe { load(kind, blob, len, true) })
}

/// # Safety
/// `key`, if non-null, must be valid for reads of 32 bytes.
unsafe fn set_key(key: *const u8, accept_unsigned: bool) -> Result<(), AimlStatus> {
    let key = if key.is_null() {
        None
    } else {
        // SAFETY: non-null, readable for 32 bytes by contract; `[u8; 32]` has alignment 1.
        Some(unsafe { &*(key as *const [u8; 32]) })
    };
    crate::policy::set(key, accept_unsigned)
}

/// Sets the key policy of every later load: `key` (32 bytes, an Ed25519 public key; NULL for
/// none) and whether blobs without a signature are accepted. With a key and
/// `accept_unsigned = false`, only blobs signed by that key load (`BLOB_UNSIGNED`,
/// `BLOB_BAD_SIGNATURE`); with no key and `accept_unsigned = false`, every load is refused
/// (`BLOB_NO_KEY`). The key is copied.
/// `INVALID_ARGUMENT`: not a valid Ed25519 public key (nothing changed); `BUSY`: another
/// `aiml_set_key` runs; `POLICY_LOCKED`: after `aiml_lock_policy` (nothing changed). Models
/// already loaded stay. **Until the first call the policy is closed**: no key and unsigned
/// blobs refused, so every `aiml_load` answers `BLOB_NO_KEY` and the built-in models run;
/// development opens it with `aiml_set_key(NULL, true)`.
///
/// # Safety
/// `key`, if non-null, must be valid for reads of 32 bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aiml_set_key(key: *const u8, accept_unsigned: bool) -> AimlStatus {
    // SAFETY: forwarded contract.
    status(unsafe { set_key(key, accept_unsigned) })
}

/// Adds a trusted Ed25519 public key (32 bytes, copied) with `roles`: `AIML_KEY_ROLE_MODELS`
/// (1: it signs models), `AIML_KEY_ROLE_REVOCATION` (2: it signs revocation lists), or both
/// (not recommended: see docs/SECURITY.md). Writes its id (`trainer keygen` prints the same)
/// to `*id` if `id` is not NULL. Up to 4 keys; blobs with a `SIG2` trailer are verified with
/// the key their id names. Unsigned blobs stay refused unless `aiml_set_key(…, true)`
/// opened them. `INVALID_ARGUMENT` (bad key or roles), `KEY_REVOKED`, `KEYS_FULL`, `BUSY`,
/// `POLICY_LOCKED`; nothing changed on any of them.
///
/// # Safety
/// `key` must be valid for reads of 32 bytes; `id`, if non-null and aligned, for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aiml_add_key(key: *const u8, roles: u32, id: *mut u64) -> AimlStatus {
    if key.is_null() {
        return AimlStatus::NullPointer;
    }
    // SAFETY: non-null, readable for 32 bytes by contract; `[u8; 32]` has alignment 1.
    let key = unsafe { &*(key as *const [u8; 32]) };
    status(crate::policy::add(key, roles).and_then(|v| {
        if id.is_null() {
            Ok(())
        } else {
            // SAFETY: forwarded contract; `put` checks alignment.
            unsafe { put(id, v) }
        }
    }))
}

/// Largest revocation list: 16 key ids.
const REVOCATION_MAX_BYTES: usize = 11 + 16 * 8 + 4 + inference_core::signature::TRAILER2_LEN;

/// Applies a signed revocation list (`trainer revoke` writes them; format in
/// docs/SECURITY.md): the keys it names are no longer trusted, for good, and every slot whose
/// model one of them verified switches to its built-in model. The list is copied first, then
/// checked: `BLOB_BAD_REVOCATION` (malformed), `BLOB_UNKNOWN_KEY` (not signed by a trusted
/// revocation key), `BLOB_BAD_SIGNATURE`, `BLOB_ROLLBACK` (its sequence is below the one
/// applied or persisted), `TOO_LARGE`. With a rollback store, its sequence is persisted (as
/// the counter of kind 0x100) before it is applied (`ROLLBACK_STORE` if that fails), and
/// loads are refused (`BLOB_REVOCATION_STALE`) until the newest persisted list is applied
/// again after a reboot: apply it at init, before loading. Accepted after
/// `aiml_lock_policy` (it only takes trust away). Applying the same list again is allowed
/// (it retires nothing more); `BUSY` if a slot could not be switched: call again.
///
/// # Safety
/// `list`, if non-null, must be valid for reads of `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aiml_revoke(list: *const u8, len: usize) -> AimlStatus {
    // SAFETY: forwarded contract.
    status(unsafe { revoke(list, len) })
}

/// # Safety
/// As [`aiml_revoke`].
unsafe fn revoke(list: *const u8, len: usize) -> Result<(), AimlStatus> {
    if list.is_null() {
        return Err(AimlStatus::NullPointer);
    }
    if len > REVOCATION_MAX_BYTES {
        return Err(AimlStatus::TooLarge);
    }
    let mut copy = [0u8; REVOCATION_MAX_BYTES];
    // SAFETY: `len` ≤ the buffer; the caller guarantees `list` is readable for `len` bytes.
    unsafe { core::ptr::copy_nonoverlapping(list, copy.as_mut_ptr(), len) };
    let bytes = copy.get(..len).unwrap_or(&[]);
    let counter = crate::policy::REVOCATION_COUNTER;
    let persisted = crate::rollback::floor(counter)?;
    crate::policy::revoke(bytes, persisted, |seq| {
        crate::rollback::raise(counter, persisted, seq)
    })?;
    WORKLOAD.sweep_revoked()?;
    THREAT.sweep_revoked()?;
    FAILURE.sweep_revoked()?;
    MEMORY.sweep_revoked()?;
    WORKLOAD_AB.sweep_revoked()?;
    THREAT_AB.sweep_revoked()?;
    FAILURE_AB.sweep_revoked()?;
    MEMORY_AB.sweep_revoked()
}

/// Freezes the key policy until the shim's state is lost (reboot, module reload): later
/// `aiml_set_key` and `aiml_load_force` calls answer `POLICY_LOCKED` and change nothing;
/// `aiml_load` goes on under the frozen policy (and the anti-rollback floor). Call it at the
/// end of init, after `aiml_set_key`. Idempotent; `BUSY` while `aiml_set_key` runs.
#[unsafe(no_mangle)]
pub extern "C" fn aiml_lock_policy() -> AimlStatus {
    status(crate::policy::lock())
}

/// Sets the persistent anti-rollback store: `read(ctx, kind, &floor)` and
/// `raise(ctx, kind, version)`, each returning 0 on success (both NULL: no store, the floor
/// lives in RAM only). With a store, every `aiml_load` refuses a version below the persisted
/// floor of its kind (`BLOB_ROLLBACK`) and raises the floor to the loaded version before the
/// model is published; a failing store refuses the load (`ROLLBACK_STORE`). `aiml_load_force`
/// neither checks nor raises it. Call at init, before any load and before
/// `aiml_lock_policy` (`POLICY_LOCKED` after it); `INVALID_ARGUMENT` for one function
/// without the other. The functions run in the context of the `aiml_load` call.
#[unsafe(no_mangle)]
pub extern "C" fn aiml_set_rollback_store(
    read: crate::rollback::AimlFloorRead,
    raise: crate::rollback::AimlFloorRaise,
    ctx: *mut core::ffi::c_void,
) -> AimlStatus {
    status(crate::rollback::set(read, raise, ctx))
}

/// One prediction in this many feeds the input-drift watch (`AimlHealth::drift`).
pub const AIML_DRIFT_EVERY: u32 = 16;
const _: () = assert!(AIML_DRIFT_EVERY == crate::slot::DRIFT_EVERY);

/// No fallback: a degradation alert is only raised (`aiml_health`: `alert`, `alerts`). The
/// default.
pub const AIML_FALLBACK_NONE: u32 = 0;
/// On a degradation alert the slot switches to its built-in model.
pub const AIML_FALLBACK_DEFAULT: u32 = 1;
/// On a degradation alert the slot switches back to the model it held before the last load
/// (kept in its spare buffer), else to the built-in one.
pub const AIML_FALLBACK_PREVIOUS: u32 = 2;

/// Sets what the slot of `kind` does when its model degrades: every outcome reported
/// (`aiml_*_outcome`) updates the rolling error, and above the alert level stored in the
/// model's blob (chosen by the trainer from validation data; after a warm-up of outcomes)
/// the slot raises its alert and applies `policy` (`AIML_FALLBACK_*`); the alert clears
/// when the rolling error of the model in use falls below the blob's clear level. A slot
/// that fell back stays on what it fell back to until the next load (no flapping); the
/// built-in model is never fallen back from. `INVALID_ARGUMENT` for an unknown policy,
/// `POLICY_LOCKED` after `aiml_lock_policy`.
#[unsafe(no_mangle)]
pub extern "C" fn aiml_set_fallback(kind: u32, policy: u32) -> AimlStatus {
    if crate::policy::is_locked() {
        return AimlStatus::PolicyLocked;
    }
    let Ok(policy) = u8::try_from(policy) else {
        return AimlStatus::InvalidArgument;
    };
    status(match kind {
        AIML_KIND_WORKLOAD => WORKLOAD.set_fallback(policy),
        AIML_KIND_THREAT => THREAT.set_fallback(policy),
        AIML_KIND_FAILURE => FAILURE.set_fallback(policy),
        AIML_KIND_MEMORY => MEMORY.set_fallback(policy),
        _ => Err(AimlStatus::UnknownKind),
    })
}

/// Switches the slot of `kind` back to its built-in model.
#[unsafe(no_mangle)]
pub extern "C" fn aiml_reset(kind: u32) -> AimlStatus {
    status(match kind {
        AIML_KIND_WORKLOAD => WORKLOAD.reset(),
        AIML_KIND_THREAT => THREAT.reset(),
        AIML_KIND_FAILURE => FAILURE.reset(),
        AIML_KIND_MEMORY => MEMORY.reset(),
        _ => Err(AimlStatus::UnknownKind),
    })
}

/// Sets the clock predictions are timed with (`clock(ctx)` returns a monotonic time, ns
/// recommended: the latency histogram's bounds are read in its unit), or clears it (NULL).
/// Without a clock the health counters count but do not time. `PolicyLocked` after
/// `aiml_lock_policy` (a function every prediction calls is set once, at init).
#[unsafe(no_mangle)]
pub extern "C" fn aiml_set_clock(
    clock: health::AimlClock,
    ctx: *mut core::ffi::c_void,
) -> AimlStatus {
    if crate::policy::is_locked() {
        return AimlStatus::PolicyLocked;
    }
    health::set_clock(clock, ctx);
    AimlStatus::Ok
}

/// Fills `out` with the health counters of the slot of `kind`: predictions answered and
/// refused, and, with a clock set, their total and longest duration and a latency histogram.
/// Safe to call at any time, concurrently with predictions (each counter is exact; see
/// `AimlHealth`).
///
/// # Safety
/// `out`, if non-null and aligned, must be valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aiml_health(kind: u32, out: *mut health::AimlHealth) -> AimlStatus {
    let snapshot = match kind {
        AIML_KIND_WORKLOAD => WORKLOAD.health.snapshot(kind),
        AIML_KIND_THREAT => THREAT.health.snapshot(kind),
        AIML_KIND_FAILURE => FAILURE.health.snapshot(kind),
        AIML_KIND_MEMORY => MEMORY.health.snapshot(kind),
        _ => return AimlStatus::UnknownKind,
    };
    // SAFETY: forwarded contract.
    status(unsafe { put(out, snapshot) })
}

/// What a slot holds.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AimlModelInfo {
    /// `AIML_KIND_*`.
    pub kind: u32,
    /// Model version from the blob.
    pub version: u32,
    /// `AIML_SOURCE_*`.
    pub source: u32,
    /// Size of the blob, bytes.
    pub blob_len: u32,
    /// Raw features the model reads.
    pub n_features: u32,
    /// Network outputs.
    pub n_outputs: u32,
    /// Multiply-accumulates per prediction.
    pub macs: u32,
    /// Operating threshold of the decision head, per-mille.
    pub threshold_permille: u32,
    /// Predictions that backed off because a load or reset switched models between their
    /// two looks at the slot, since start (wraps at 2^32).
    pub reader_retries: u32,
    /// Most back-offs one prediction needed before it got in (bounded in practice by the
    /// swaps during one prediction).
    pub max_reader_retries: u32,
    /// Rolling error above which the degradation alert is raised (the blob's monitor
    /// section, `aiml_set_fallback`); 0: the model is not watched.
    pub error_alert: u32,
    /// Rolling error below which a raised alert clears.
    pub error_clear: u32,
    /// Outcomes after an install before the alert may be raised.
    pub min_outcomes: u32,
}

fn info_of<P: Predictor<'static>>(p: &P) -> AimlModelInfo {
    let source = match p.source() {
        ModelSource::Loaded { .. } => AIML_SOURCE_LOADED,
        ModelSource::Default { .. } => AIML_SOURCE_DEFAULT,
        ModelSource::None { .. } => AIML_SOURCE_NONE,
    };
    let mut info = AimlModelInfo {
        kind: P::KIND as u32,
        source,
        ..AimlModelInfo::default()
    };
    if let Some(m) = p.model() {
        info.version = m.version();
        info.blob_len = m.blob_len() as u32;
        info.n_features = m.n_features() as u32;
        info.n_outputs = m.n_outputs() as u32;
        info.macs = m.macs() as u32;
        if let Some(w) = m.monitor() {
            info.error_alert = w.error_alert;
            info.error_clear = w.error_clear;
            info.min_outcomes = u32::from(w.min_outcomes);
        }
        info.threshold_permille = m.header().threshold_permille as u32;
    }
    info
}

/// # Safety
/// `out`, if non-null and aligned, must be valid for writes.
unsafe fn info(kind: u32, out: *mut AimlModelInfo) -> Result<(), AimlStatus> {
    check_ptr(out)?;
    let (mut info, (retries, max_retries)) = match kind {
        AIML_KIND_WORKLOAD => (WORKLOAD.read(info_of)?, WORKLOAD.reader_retries()),
        AIML_KIND_THREAT => (THREAT.read(info_of)?, THREAT.reader_retries()),
        AIML_KIND_FAILURE => (FAILURE.read(info_of)?, FAILURE.reader_retries()),
        AIML_KIND_MEMORY => (MEMORY.read(info_of)?, MEMORY.reader_retries()),
        _ => return Err(AimlStatus::UnknownKind),
    };
    info.reader_retries = retries;
    info.max_reader_retries = max_retries;
    // SAFETY: forwarded contract.
    unsafe { put(out, info) }
}

/// Fills `out` with what the slot of `kind` holds.
///
/// # Safety
/// `out`, if non-null and aligned, must be valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aiml_info(kind: u32, out: *mut AimlModelInfo) -> AimlStatus {
    // SAFETY: forwarded contract.
    status(unsafe { info(kind, out) })
}
