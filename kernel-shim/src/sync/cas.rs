//! Reader counts and the writer flag with atomic read-modify-write (every multi-core target).

use core::sync::atomic::{AtomicU32, AtomicU8, Ordering::SeqCst};

/// Counts one more reader.
pub fn inc(c: &AtomicU32) {
    c.fetch_add(1, SeqCst);
}

/// Counts one reader less.
pub fn dec(c: &AtomicU32) {
    c.fetch_sub(1, SeqCst);
}

/// Takes the flag if nobody holds it; never waits.
pub fn try_lock(f: &AtomicU8) -> bool {
    f.compare_exchange(0, 1, SeqCst, SeqCst).is_ok()
}
