//! The slot protocol (`src/slot/switch.rs`) with the single-core primitives
//! (`src/sync/single_core.rs`: plain loads and stores), where the only concurrency is
//! nesting: an interrupt handler runs to completion in the middle of the code it
//! interrupted. Each case runs an operation (a prediction or a load) once for every point
//! between two of its memory operations, with the "interrupt" (another prediction or load)
//! injected exactly there: every nesting a single core can produce, one at a time.
//!
//! The atomics are replaced by cells that count memory operations and run the pending
//! interrupt at the chosen one; the protocol and the primitives are included by path.

use std::cell::{Cell, RefCell};
use std::sync::atomic::Ordering;

mod hook {
    use std::cell::{Cell, RefCell};

    thread_local! {
        static COUNT: Cell<u32> = const { Cell::new(0) };
        static AT: Cell<u32> = const { Cell::new(u32::MAX) };
        static ISR: RefCell<Option<Box<dyn FnOnce()>>> = const { RefCell::new(None) };
    }

    /// Arms `isr` to run just before memory operation number `at` (0-based).
    pub fn arm(at: u32, isr: Box<dyn FnOnce()>) {
        COUNT.with(|c| c.set(0));
        AT.with(|a| a.set(at));
        ISR.with(|i| *i.borrow_mut() = Some(isr));
    }

    /// Whether the armed interrupt ran.
    pub fn fired() -> bool {
        ISR.with(|i| i.borrow().is_none())
    }

    /// Counts a memory operation; runs the interrupt if this is the chosen one.
    pub fn tick() {
        let n = COUNT.with(|c| {
            let n = c.get();
            c.set(n + 1);
            n
        });
        if n == AT.with(|a| a.get()) {
            if let Some(isr) = ISR.with(|i| i.borrow_mut().take()) {
                isr();
            }
        }
    }
}

/// An "atomic" of one core: a cell whose every access is an interruption point.
pub struct Hooked<T>(Cell<T>);

impl<T: Copy> Hooked<T> {
    /// A cell holding `v`.
    pub fn new(v: T) -> Self {
        Hooked(Cell::new(v))
    }
    /// Reads, after the interruption point.
    pub fn load(&self, _: Ordering) -> T {
        hook::tick();
        self.0.get()
    }
    /// Writes, after the interruption point.
    pub fn store(&self, v: T, _: Ordering) {
        hook::tick();
        self.0.set(v);
    }
}

/// The single-core primitives' `AtomicU8`.
pub type AtomicU8 = Hooked<u8>;
/// The single-core primitives' `AtomicU32`.
pub type AtomicU32 = Hooked<u32>;

mod sync {
    pub use super::single_core::{add, dec, full_fence, inc, max, try_lock};
    pub use super::{AtomicU32, AtomicU8};
}

/// The single-core primitives; their `super::{AtomicU32, AtomicU8}` are the hooked cells.
#[path = "../src/sync/single_core.rs"]
mod single_core;

#[allow(dead_code)]
#[path = "../src/slot/switch.rs"]
mod switch;

use switch::Switch;

/// A slot without models: each buffer holds a value written as two halves, with an
/// interruption point between them, so a reader nested in a writer's copy (or the reverse)
/// would see them differ.
struct Slot {
    switch: Switch,
    buffers: [RefCell<(u32, u32)>; 2],
}

impl Slot {
    fn new(first: u32) -> Slot {
        Slot {
            switch: Switch::published(),
            buffers: [RefCell::new((first, first)), RefCell::new((0, 0))],
        }
    }

    fn read(&self) -> u32 {
        let idx = self.switch.enter().expect("published");
        let lo = self.buffers[idx].borrow().0;
        hook::tick();
        let hi = self.buffers[idx].borrow().1;
        assert_eq!(lo, hi, "torn read of buffer {idx}");
        self.switch.leave(idx);
        lo
    }

    fn write(&self, v: u32) -> bool {
        let Some(lock) = self.switch.lock() else {
            return false;
        };
        let Some(spare) = lock.spare() else {
            return false;
        };
        self.buffers[spare].borrow_mut().0 = v;
        hook::tick();
        self.buffers[spare].borrow_mut().1 = v;
        lock.publish(spare);
        true
    }

    /// No reader counted, no writer holding the slot.
    fn is_idle(&self) -> bool {
        let s = &self.switch;
        s.readers[0].0.get() == 0 && s.readers[1].0.get() == 0 && s.writer.0.get() == 0
    }
}

/// Runs `main` on a fresh slot once per interruption point, with `isr` nested there; returns
/// how many runs there were (the points of `main`, plus one where the interrupt comes after).
fn every_nesting(
    main: impl Fn(&Slot),
    isr: impl Fn(&Slot) + 'static + Clone,
    check: impl Fn(&Slot),
) -> u32 {
    let mut at = 0;
    loop {
        let slot: &'static Slot = Box::leak(Box::new(Slot::new(1)));
        let f = isr.clone();
        hook::arm(at, Box::new(move || f(slot)));
        main(slot);
        let fired = hook::fired();
        if !fired {
            // past the end of `main`: the interrupt after it
            hook::arm(u32::MAX, Box::new(|| {}));
            isr(slot);
        }
        check(slot);
        assert!(
            slot.is_idle(),
            "counts or writer flag left set at point {at}"
        );
        if !fired {
            return at + 1;
        }
        at += 1;
    }
}

#[test]
fn a_prediction_interrupted_by_loads_sees_one_whole_model() {
    let points = every_nesting(
        |s| {
            let v = s.read();
            assert!((1..=3).contains(&v));
        },
        // two loads: the second needs the buffer the interrupted reader may be in
        |s| {
            assert!(s.write(2), "the first load has a free buffer");
            s.write(3);
        },
        |s| assert!((2..=3).contains(&s.read())),
    );
    assert!(points >= 8, "{points} interruption points");
}

#[test]
fn a_load_interrupted_by_a_prediction_is_never_seen_half_written() {
    let points = every_nesting(
        |s| {
            assert!(s.write(2));
            assert!(s.write(3), "no reader left in the spare buffer");
        },
        |s| {
            let v = s.read();
            assert!((1..=3).contains(&v));
        },
        |s| assert_eq!(s.read(), 3),
    );
    assert!(points > 8, "{points} interruption points");
}

#[test]
fn a_load_interrupted_by_a_load_is_refused_or_follows_it() {
    let points = every_nesting(
        // the nested load runs before this one takes the slot (this one follows it), while
        // it holds it (the nested one is refused), or after
        |s| {
            s.write(3);
        },
        |s| {
            s.write(2);
        },
        |s| {
            let v = s.read();
            assert!(v == 2 || v == 3, "{v}");
        },
    );
    assert!(points > 4, "{points} interruption points");
}
