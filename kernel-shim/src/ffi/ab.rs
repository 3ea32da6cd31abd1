//! A/B entry points: a candidate beside each live model, shadow and split modes, promotion
//! and rollback ([`crate::ab`]).

use super::{
    put, status, AIML_KIND_FAILURE, AIML_KIND_MEMORY, AIML_KIND_THREAT, AIML_KIND_WORKLOAD,
    FAILURE, FAILURE_AB, MEMORY, MEMORY_AB, THREAT, THREAT_AB, WORKLOAD, WORKLOAD_AB,
};
use crate::ab::AimlAb;
use crate::health::AimlHealth;
use crate::status::AimlStatus;

/// Runs `$body` with `$live` and `$ab` bound to the live slot and A/B state of `$kind`, or
/// answers `UnknownKind`.
macro_rules! by_kind {
    ($kind:expr, |$live:ident, $ab:ident| $body:expr) => {
        match $kind {
            AIML_KIND_WORKLOAD => {
                let ($live, $ab) = (&WORKLOAD, &WORKLOAD_AB);
                $body
            }
            AIML_KIND_THREAT => {
                let ($live, $ab) = (&THREAT, &THREAT_AB);
                $body
            }
            AIML_KIND_FAILURE => {
                let ($live, $ab) = (&FAILURE, &FAILURE_AB);
                $body
            }
            AIML_KIND_MEMORY => {
                let ($live, $ab) = (&MEMORY, &MEMORY_AB);
                $body
            }
            _ => Err(AimlStatus::UnknownKind),
        }
    };
}

/// Copies `len` bytes at `blob` into the candidate slot of `kind`, validates them under the
/// key policy (as `aiml_load`; the anti-rollback floor is checked at promotion, not here)
/// and, if accepted, makes them the candidate; the A/B counters restart. The candidate
/// serves nothing until a mode is set (`aiml_ab_set`). `TOO_LARGE` above
/// `AIML_SHIM_CANDIDATE_BYTES` (default: the live slots' size; 0 builds without candidates).
///
/// # Safety
/// `blob`, if non-null, must be valid for reads of `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aiml_candidate_load(kind: u32, blob: *const u8, len: usize) -> AimlStatus {
    if blob.is_null() {
        return AimlStatus::NullPointer;
    }
    // SAFETY: non-null; readable for `len` bytes by the caller's contract.
    status(by_kind!(kind, |_live, ab| unsafe { ab.load(blob, len) }))
}

/// Withdraws the candidate of `kind` (the mode becomes `AIML_AB_OFF`).
#[unsafe(no_mangle)]
pub extern "C" fn aiml_candidate_clear(kind: u32) -> AimlStatus {
    status(by_kind!(kind, |_live, ab| ab.clear()))
}

/// Sets the A/B mode of `kind`: `AIML_AB_OFF`, `AIML_AB_SHADOW_MODE` (every prediction also
/// runs the candidate; the caller gets the live answer with the candidate's attached, and the
/// outcome it reports scores both) or `AIML_AB_SPLIT` (histories whose entity id,
/// `aiml_history_set_entity`, hashes below `share_permille` of 1000 are answered by the
/// candidate). The comparison counters restart. Without a candidate loaded, predictions go
/// on as with `AIML_AB_OFF`. `INVALID_ARGUMENT` for an unknown mode or a share above 1000.
#[unsafe(no_mangle)]
pub extern "C" fn aiml_ab_set(kind: u32, mode: u32, share_permille: u32) -> AimlStatus {
    let Ok(mode) = u8::try_from(mode) else {
        return AimlStatus::InvalidArgument;
    };
    status(by_kind!(kind, |_live, ab| ab.set_mode(mode, share_permille)))
}

/// Promotes the candidate of `kind`: its blob is loaded into the live slot exactly as
/// `aiml_load` would (key policy, anti-rollback floor, persisted floor; one atomic switch,
/// concurrent predictions see the old model or the new one), then the candidate is withdrawn
/// and the mode set to `AIML_AB_OFF`. The live model it replaces stays in the spare buffer
/// for `aiml_rollback`. On any error (`BLOB_ROLLBACK`, `BUSY`, …) nothing changes.
/// `NOT_INITIALIZED` without a candidate.
#[unsafe(no_mangle)]
pub extern "C" fn aiml_promote(kind: u32) -> AimlStatus {
    status(by_kind!(kind, |live, ab| ab.promote(live)))
}

/// Rolls the live model of `kind` back to the one it held before its last load or promotion
/// (kept in its spare buffer), with one atomic switch under concurrent predictions; the
/// alerts clear. `NOT_INITIALIZED` when there is none (nothing was loaded since, or a
/// fallback or rollback already used it, or a revocation retired its key); `BUSY` if a
/// writer holds the slot or a prediction started before the last switch still reads it
/// (call again).
#[unsafe(no_mangle)]
pub extern "C" fn aiml_rollback(kind: u32) -> AimlStatus {
    status(by_kind!(kind, |live, ab| ab.roll_back(live)))
}

/// Fills `out` with the A/B state of `kind`: mode, share, the candidate's version, and the
/// comparison counters (shadowed, agreed, routed, paired outcomes and their error sums, which
/// model was closer, promotions, rollbacks). Safe at any time, as `aiml_health`.
///
/// # Safety
/// `out`, if non-null and aligned, must be valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aiml_ab(kind: u32, out: *mut AimlAb) -> AimlStatus {
    let snapshot = by_kind!(kind, |_live, ab| Ok(ab.snapshot(kind)));
    // SAFETY: forwarded contract.
    status(snapshot.and_then(|s| unsafe { put(out, s) }))
}

/// Fills `out` with the health counters of the candidate of `kind` (as `aiml_health`): its
/// predictions (shadow and routed; only routed ones are timed) and the outcomes that scored
/// them.
///
/// # Safety
/// `out`, if non-null and aligned, must be valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aiml_ab_health(kind: u32, out: *mut AimlHealth) -> AimlStatus {
    let snapshot = by_kind!(kind, |_live, ab| Ok(ab.candidate.health.snapshot(kind)));
    // SAFETY: forwarded contract.
    status(snapshot.and_then(|s| unsafe { put(out, s) }))
}

/// Sets the entity id of an initialised history of any kind (`h` points to an
/// `AimlWorkloadHistory`, `AimlThreatHistory`, `AimlFailureHistory` or `AimlMemoryHistory`):
/// the process, CPU or component whose stream it holds. Split mode routes by a stable hash of
/// it (the same id goes to the same model on every boot and build). 0 after
/// `aiml_*_history_init`. `NOT_INITIALIZED` for anything but an initialised history.
///
/// # Safety
/// `h`, if non-null and aligned, must point to one of the four history structs, not used
/// concurrently.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aiml_history_set_entity(
    h: *mut core::ffi::c_void,
    entity: u64,
) -> AimlStatus {
    // SAFETY: forwarded contract.
    status(unsafe { crate::history::set_entity(h as *mut u64, entity) })
}
