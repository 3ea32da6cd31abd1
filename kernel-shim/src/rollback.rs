//! Anti-rollback that survives a reboot: the caller's monotonic counters.
//!
//! Each slot keeps the version of the last blob loaded in RAM (`slot`), which a reboot or a
//! module reload forgets. With a store set (`aiml_set_rollback_store`), a load also reads the
//! slot's persisted floor before validating and refuses lower versions, and raises it to the
//! loaded version after the blob validated and **before** the model is published: a model
//! never runs without its floor persisted, and a store that fails refuses the load (the old
//! model stays). The store is what TPM NV counters, eMMC RPMB or eFuses provide; the caller
//! implements two functions (docs/SECURITY.md maps them to each).
//!
//! Forced loads (`aiml_load_force`) skip the check and raise nothing: a persisted floor
//! never goes down, so a downgrade forced on one boot is refused again after the next.
//!
//! The store is set once at init, before any load; after `aiml_lock_policy` it cannot change.

use core::ffi::c_void;
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering::SeqCst};

use crate::status::AimlStatus;

/// Reads the persisted floor of model kind `kind` into `*floor` (0 if never raised); returns
/// 0 on success, anything else on failure. NULL: no store.
pub type AimlFloorRead =
    Option<unsafe extern "C" fn(ctx: *mut c_void, kind: u32, floor: *mut u32) -> i32>;
/// Raises the persisted floor of `kind` to `version` (never lowers it); returns 0 once it is
/// durable, anything else on failure. NULL: no store.
pub type AimlFloorRaise =
    Option<unsafe extern "C" fn(ctx: *mut c_void, kind: u32, version: u32) -> i32>;

type ReadFn = unsafe extern "C" fn(*mut c_void, u32, *mut u32) -> i32;
type RaiseFn = unsafe extern "C" fn(*mut c_void, u32, u32) -> i32;

static READ: AtomicUsize = AtomicUsize::new(0);
static RAISE: AtomicUsize = AtomicUsize::new(0);
static CTX: AtomicPtr<c_void> = AtomicPtr::new(core::ptr::null_mut());

/// Sets (both `Some`) or clears (both `None`) the store. `InvalidArgument` for one without
/// the other; `PolicyLocked` after `aiml_lock_policy`.
pub fn set(read: AimlFloorRead, raise: AimlFloorRaise, ctx: *mut c_void) -> Result<(), AimlStatus> {
    if crate::policy::is_locked() {
        return Err(AimlStatus::PolicyLocked);
    }
    if read.is_some() != raise.is_some() {
        return Err(AimlStatus::InvalidArgument);
    }
    CTX.store(ctx, SeqCst);
    RAISE.store(raise.map_or(0, |f| f as usize), SeqCst);
    READ.store(read.map_or(0, |f| f as usize), SeqCst);
    Ok(())
}

fn functions() -> Option<(ReadFn, RaiseFn, *mut c_void)> {
    let (r, w) = (READ.load(SeqCst), RAISE.load(SeqCst));
    if r == 0 || w == 0 {
        return None;
    }
    // SAFETY: non-zero values were stored by `set` from function pointers of exactly these
    // types.
    let read = unsafe { core::mem::transmute::<usize, ReadFn>(r) };
    // SAFETY: as above.
    let raise = unsafe { core::mem::transmute::<usize, RaiseFn>(w) };
    Some((read, raise, CTX.load(SeqCst)))
}

/// The persisted floor of `kind` (0 without a store); `RollbackStore` if the store fails.
pub fn floor(kind: u32) -> Result<u32, AimlStatus> {
    let Some((read, _, ctx)) = functions() else {
        return Ok(0);
    };
    let mut v = 0u32;
    // SAFETY: the caller registered `read` with this contract (aiml_set_rollback_store); the
    // out pointer is a valid local.
    match unsafe { read(ctx, kind, &mut v) } {
        0 => Ok(v),
        _ => Err(AimlStatus::RollbackStore),
    }
}

/// Persists `version` as the floor of `kind` if it is above `held` (no store: nothing to
/// do); `RollbackStore` if the store fails.
pub fn raise(kind: u32, held: u32, version: u32) -> Result<(), AimlStatus> {
    let Some((_, raise, ctx)) = functions() else {
        return Ok(());
    };
    if version <= held {
        return Ok(());
    }
    // SAFETY: the caller registered `raise` with this contract (aiml_set_rollback_store).
    match unsafe { raise(ctx, kind, version) } {
        0 => Ok(()),
        _ => Err(AimlStatus::RollbackStore),
    }
}
