//! Reader counts and the writer flag with atomic read-modify-write (every multi-core target).

use core::sync::atomic::Ordering::SeqCst;

use super::{fence, AtomicU32, AtomicU8};

/// Adds one and returns the new value.
#[allow(dead_code)] // the slots use it; the loom test, which includes this file, does not
pub fn inc_get(c: &AtomicU32) -> u32 {
    c.fetch_add(1, SeqCst).wrapping_add(1)
}

/// Counts one more reader.
pub fn inc(c: &AtomicU32) {
    c.fetch_add(1, SeqCst);
}

/// Counts one reader less.
pub fn dec(c: &AtomicU32) {
    c.fetch_sub(1, SeqCst);
}

/// Adds `n` to a statistic.
pub fn add(c: &AtomicU32, n: u32) {
    c.fetch_add(n, SeqCst);
}

/// Raises a statistic to at least `n`.
pub fn max(c: &AtomicU32, n: u32) {
    c.fetch_max(n, SeqCst);
}

/// Takes the flag if nobody holds it; never waits.
pub fn try_lock(f: &AtomicU8) -> bool {
    f.compare_exchange(0, 1, SeqCst, SeqCst).is_ok()
}

/// Orders the memory operations before it against those after it, for every core: what the
/// reader's "count myself, then re-read the switch" and the writer's "switch, then read the
/// counts" need (the argument in `crate::slot`), stated as fences so that loom, which checks
/// fences but not the order of `SeqCst` loads and stores, checks it too.
pub fn full_fence() {
    fence(SeqCst);
}
