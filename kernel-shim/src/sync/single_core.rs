//! Reader counts and the writer flag with plain loads and stores; see the module docs of
//! [`crate::sync`] for why that is enough on one core.

use core::sync::atomic::{compiler_fence, AtomicU32, AtomicU8, Ordering::SeqCst};

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

/// Takes the flag if nobody holds it; never waits.
pub fn try_lock(f: &AtomicU8) -> bool {
    if f.load(SeqCst) != 0 {
        return false;
    }
    f.store(1, SeqCst);
    compiler_fence(SeqCst);
    true
}
