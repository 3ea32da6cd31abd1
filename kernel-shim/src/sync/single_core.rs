//! Reader counts and the writer flag with plain loads and stores; see the module docs of
//! [`crate::sync`] for why that is enough on one core.

use core::sync::atomic::{compiler_fence, Ordering::SeqCst};

use super::{AtomicU32, AtomicU8};

/// Adds one and returns the new value.
#[allow(dead_code)] // the slots use it; the nested test, which includes this file, does not
pub fn inc_get(c: &AtomicU32) -> u32 {
    let v = c.load(SeqCst).wrapping_add(1);
    c.store(v, SeqCst);
    compiler_fence(SeqCst);
    v
}

/// Counts one more reader.
pub fn inc(c: &AtomicU32) {
    c.store(c.load(SeqCst).wrapping_add(1), SeqCst);
    compiler_fence(SeqCst);
}

/// Counts one reader less.
pub fn dec(c: &AtomicU32) {
    compiler_fence(SeqCst);
    c.store(c.load(SeqCst).wrapping_sub(1), SeqCst);
}

/// Adds `n` to a statistic.
pub fn add(c: &AtomicU32, n: u32) {
    c.store(c.load(SeqCst).wrapping_add(n), SeqCst);
}

/// Raises a statistic to at least `n`.
pub fn max(c: &AtomicU32, n: u32) {
    if c.load(SeqCst) < n {
        c.store(n, SeqCst);
    }
}

/// Takes the flag if nobody holds it; never waits.
pub fn try_lock(f: &AtomicU8) -> bool {
    if f.load(SeqCst) != 0 {
        return false;
    }
    f.store(1, SeqCst);
    compiler_fence(SeqCst);
    true
}

/// On one core only the compiler can reorder: a compiler fence is enough.
pub fn full_fence() {
    compiler_fence(SeqCst);
}
