//! Measures the stack one prediction needs, by painting: fill a large stack region with a
//! pattern, run a prediction in the same region, count the bytes that changed.
//!
//! `cargo run --release -p aios-benches --example stack`
use inference_core::features::failure::{FailureHistory, HealthSample};
use inference_core::features::memory::{AccessKind, MemoryAccess, MemoryHistory};
use inference_core::features::threat::{ProcessWindow, ThreatHistory};
use inference_core::features::workload::{WorkloadHistory, WorkloadSample};
use inference_core::{FailurePredictor, MemoryPredictor, ThreatDetector, WorkloadPredictor};
use std::hint::black_box;

const REGION: usize = 64 * 1024;
const PATTERN: u8 = 0xA5;

#[inline(never)]
fn paint() {
    let mut buf = [0u8; REGION];
    for b in buf.iter_mut() {
        *b = PATTERN;
    }
    black_box(&buf);
}

#[inline(never)]
fn used_below(marker: *const u8) -> usize {
    // Scan down from the marker (the caller's frame) over the painted region.
    let mut used = 0;
    for i in 1..REGION {
        // SAFETY: the region below the marker was painted by `paint` and belongs to this
        // thread's stack (the main thread's stack is far larger than REGION).
        let v = unsafe { core::ptr::read_volatile(marker.sub(i)) };
        if v != PATTERN {
            used = i;
        }
    }
    used
}

#[inline(never)]
fn measure(name: &str, f: &dyn Fn()) {
    let marker = 0u8;
    let m = black_box(&marker) as *const u8;
    // A first, unmeasured call: the dynamic linker resolves memcpy/memset on first use with a
    // large stack frame of its own, which is not the predictor's.
    f();
    paint();
    f();
    let bytes = used_below(m);
    println!("{name:<28} {bytes:>6} bytes of stack (painted, includes the call from this frame)");
}

fn main() {
    measure("(empty closure, first)", &|| {
        black_box(1 + 1);
    });
    let w = WorkloadPredictor::new(None);
    let mut wh = WorkloadHistory::new();
    for k in 0..11u64 {
        wh.push(WorkloadSample {
            cpu: 4000,
            mem: Some(3000),
            gpu: Some(10),
            unix_s: 300 * k,
        });
    }
    let wh = core::cell::RefCell::new(wh);
    measure("workload predict", &|| {
        black_box(w.predict(black_box(&mut wh.borrow_mut())));
    });
    let t = ThreatDetector::new(None);
    let th = ThreatHistory::new();
    let win = ProcessWindow {
        syscalls: 100,
        end_ms: 5,
        ..Default::default()
    };
    measure("threat assess_features", &|| {
        black_box(t.assess_features(black_box(&th.features(&win))));
    });
    let f = FailurePredictor::new(None);
    let mut fh = FailureHistory::new();
    for k in 0..25u64 {
        fh.push(HealthSample {
            health: 900,
            unix_s: 60 * k,
        });
    }
    measure("failure predict", &|| {
        black_box(f.predict(black_box(&fh)));
    });
    let m = MemoryPredictor::new(None);
    let mut mh = MemoryHistory::new();
    for k in 0..25u64 {
        mh.push(MemoryAccess {
            addr: 4096 * k,
            pc: 1,
            kind: AccessKind::Read,
            time_ns: k,
        });
    }
    measure("memory predict", &|| {
        black_box(m.predict(black_box(&mh)));
    });
    let baseline = || {
        black_box(1 + 1);
    };
    measure("(empty closure, overhead)", &baseline);
}
