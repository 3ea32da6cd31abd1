//! The protocol of a slot, apart from what it protects: which of the two buffers is active,
//! how readers announce themselves, and how the one writer finds a free buffer and publishes
//! it (the argument is in the [`slot`](super) module docs).
//!
//! It is a file of its own so that the tests can check it alone: `tests/loom_switch.rs` runs
//! it under `loom` (every interleaving of two readers and a writer, with atomic
//! read-modify-write), and `tests/nested_switch.rs` with the single-core primitives and an
//! "interrupt" injected between any two of its memory operations. Both include this file by
//! path with their own `crate::sync`, so the fields are built by a struct literal (loom's
//! atomics have no `const fn new`).

use core::sync::atomic::Ordering::SeqCst;

use crate::sync::{self, AtomicU32, AtomicU8};

/// Active buffer, writer flag, reader counts.
pub(crate) struct Switch {
    /// 0: nothing published yet; 1 or 2: buffer 0 or 1 is active.
    pub(crate) active: AtomicU8,
    /// 1 while a writer holds the slot.
    pub(crate) writer: AtomicU8,
    /// Readers inside each buffer.
    pub(crate) readers: [AtomicU32; 2],
    /// Times a reader backed off because a switch came between its two reads of `active`.
    pub(crate) retries: AtomicU32,
    /// Most back-offs of one reader before it got in.
    pub(crate) max_retries: AtomicU32,
}

impl Switch {
    /// Buffer 0 published, nobody inside: where the protocol tests start (`Slot::new` builds
    /// the empty switch in a `const fn`, which loom's atomics cannot).
    #[cfg(test)]
    #[allow(dead_code)]
    pub(crate) fn published() -> Switch {
        Switch {
            active: AtomicU8::new(1),
            writer: AtomicU8::new(0),
            readers: [AtomicU32::new(0), AtomicU32::new(0)],
            retries: AtomicU32::new(0),
            max_retries: AtomicU32::new(0),
        }
    }

    /// Reader: the index of the active buffer, counted as in use until [`leave`](Self::leave);
    /// `None` when nothing was published. Never waits for a writer: if a switch happens
    /// between reading `active` and counting itself, the reader uncounts and tries again.
    pub(crate) fn enter(&self) -> Option<usize> {
        let mut retries = 0u32;
        let idx = loop {
            let a = self.active.load(SeqCst);
            if a == 0 {
                return None;
            }
            let idx = (a - 1) as usize & 1;
            sync::inc(&self.readers[idx]);
            sync::full_fence();
            if self.active.load(SeqCst) == a {
                break idx;
            }
            sync::dec(&self.readers[idx]);
            retries = retries.saturating_add(1);
        };
        if retries > 0 {
            sync::add(&self.retries, retries);
            sync::max(&self.max_retries, retries);
        }
        Some(idx)
    }

    /// Reader back-offs so far: the total, and the most of one reader.
    pub(crate) fn retries(&self) -> (u32, u32) {
        (self.retries.load(SeqCst), self.max_retries.load(SeqCst))
    }

    /// Reader: done with buffer `idx`.
    pub(crate) fn leave(&self, idx: usize) {
        sync::dec(&self.readers[idx & 1]);
    }

    /// Whether a buffer was ever published.
    pub(crate) fn is_published(&self) -> bool {
        self.active.load(SeqCst) != 0
    }

    /// Writer: takes the slot, or `None` if another writer holds it (never waits).
    pub(crate) fn lock(&self) -> Option<WriteLock<'_>> {
        sync::try_lock(&self.writer).then_some(WriteLock(self))
    }
}

/// The writer's hold on a slot; dropping it lets the next writer in.
pub(crate) struct WriteLock<'a>(&'a Switch);

impl WriteLock<'_> {
    /// `active` as the writer sees it (only the writer changes it).
    pub(crate) fn active(&self) -> u8 {
        self.0.active.load(SeqCst)
    }

    /// The buffer to write (buffer 0 in an empty slot, else the inactive one), or `None` while
    /// a reader that entered before the last switch still uses it.
    pub(crate) fn spare(&self) -> Option<usize> {
        let spare = if self.active() == 1 { 1 } else { 0 };
        sync::full_fence();
        (self.0.readers[spare].load(SeqCst) == 0).then_some(spare)
    }

    /// Makes buffer `idx` (written completely) the active one.
    pub(crate) fn publish(&self, idx: usize) {
        self.0.active.store(idx as u8 + 1, SeqCst);
        // the switch is ordered before any later writer's look at the counts, even one on
        // another core that takes the slot next
        sync::full_fence();
    }
}

impl WriteLock<'_> {
    /// Makes the slot empty again (later readers get `None`; readers inside finish on the
    /// buffer they hold, which the next writer then finds busy, as after a switch).
    pub(crate) fn unpublish(&self) {
        self.0.active.store(0, SeqCst);
        sync::full_fence();
    }
}

impl Drop for WriteLock<'_> {
    fn drop(&mut self) {
        self.0.writer.store(0, SeqCst);
    }
}
