//! Model check of the slot protocol (`src/slot/switch.rs`) with loom: every interleaving of
//! two readers and a writer (and of two writers), with the multi-core primitives
//! (`src/sync/cas.rs`). The two buffers are loom cells, so loom fails the run if a reader's
//! access to a buffer can overlap a writer's without a happens-before edge — a torn read —
//! and the readers check that what they read is a value that was published whole.
//!
//! The protocol and the primitives are included by path with loom's atomics as `crate::sync`;
//! loom checks `fence(SeqCst)` but treats `SeqCst` loads and stores as acquire/release, so
//! this proves the protocol with weaker orderings than the real code has.

use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::thread;

mod sync {
    pub use super::cas::{add, dec, full_fence, inc, max, try_lock};
    pub use loom::sync::atomic::{fence, AtomicU32, AtomicU8};
}

/// The multi-core primitives; their `super::{fence, AtomicU32, AtomicU8}` are loom's.
#[path = "../src/sync/cas.rs"]
mod cas;

#[allow(dead_code)]
#[path = "../src/slot/switch.rs"]
mod switch;

use switch::Switch;
use sync::{fence, AtomicU32, AtomicU8};

/// A slot without models: each buffer holds a value written as two halves, so a reader that
/// overlapped a writer would see them differ.
struct Slot {
    switch: Switch,
    buffers: [UnsafeCell<(u32, u32)>; 2],
}

impl Slot {
    /// A slot with `first` published in buffer 0.
    fn new(first: u32) -> Slot {
        Slot {
            switch: Switch::published(),
            buffers: [UnsafeCell::new((first, first)), UnsafeCell::new((0, 0))],
        }
    }

    /// A prediction: the value of the active buffer, read in two steps.
    fn read(&self) -> u32 {
        let idx = self.switch.enter().expect("published");
        let v = self.buffers[idx].with(|p| {
            // SAFETY: loom checks that no write overlaps this read.
            let lo = unsafe { (*p).0 };
            thread::yield_now();
            // SAFETY: as above.
            let hi = unsafe { (*p).1 };
            assert_eq!(lo, hi, "torn read of buffer {idx}");
            lo
        });
        self.switch.leave(idx);
        v
    }

    /// A load: writes `v` into the spare buffer and publishes it; `false` for `Busy`.
    fn write(&self, v: u32) -> bool {
        let Some(lock) = self.switch.lock() else {
            return false;
        };
        let Some(spare) = lock.spare() else {
            return false;
        };
        self.buffers[spare].with_mut(|p| {
            // SAFETY: loom checks that no read overlaps this write.
            unsafe {
                (*p).0 = v;
                thread::yield_now();
                (*p).1 = v;
            }
        });
        lock.publish(spare);
        true
    }
}

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    // every interleaving with up to this many preemptions (loom's advice for 3 threads)
    b.preemption_bound = Some(3);
    b.check(f);
}

#[test]
fn two_readers_and_a_writer_never_tear_and_see_only_published_values() {
    model(|| {
        let slot = Arc::new(Slot::new(1));
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let s = slot.clone();
                thread::spawn(move || {
                    let a = s.read();
                    let b = s.read();
                    assert!((1..=3).contains(&a) && (1..=3).contains(&b));
                    // one reader's reads never go back in time
                    assert!(b >= a, "read {a} then {b}");
                })
            })
            .collect();
        // two loads: the second reuses buffer 0, which a reader may still be in
        let w1 = slot.write(2);
        let w2 = slot.write(3);
        for r in readers {
            r.join().unwrap();
        }
        // a refused load changed nothing; the last accepted value is what a reader sees now
        let last = if w2 {
            3
        } else if w1 {
            2
        } else {
            1
        };
        assert_eq!(slot.read(), last);
        assert!(
            w1,
            "the first load cannot be refused: buffer 1 was never published"
        );
    });
}

#[test]
fn two_writers_exclude_each_other() {
    model(|| {
        let slot = Arc::new(Slot::new(1));
        let s = slot.clone();
        let other = thread::spawn(move || s.write(2));
        let mine = slot.write(3);
        let theirs = other.join().unwrap();
        let seen = slot.read();
        assert!(mine || theirs, "both writers refused");
        match (mine, theirs) {
            (true, false) => assert_eq!(seen, 3),
            (false, true) => assert_eq!(seen, 2),
            _ => assert!(seen == 2 || seen == 3),
        }
    });
}
