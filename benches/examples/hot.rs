//! A tight loop of workload predictions, for profilers (`valgrind --tool=callgrind`).
use inference_core::features::workload::{WorkloadHistory, WorkloadSample};
use inference_core::WorkloadPredictor;
use std::hint::black_box;

fn main() {
    let p = WorkloadPredictor::new(None);
    let mut h = WorkloadHistory::new();
    for k in 0..11u64 {
        h.push(WorkloadSample {
            cpu: (3000 + 100 * k) as u16,
            mem: Some(4000),
            gpu: Some(1500),
            unix_s: 1_700_000_000 + 300 * k,
        });
    }
    let f = h.features();
    let mut s = 0u64;
    for _ in 0..20_000 {
        s += black_box(p.predict_features(black_box(&f))).cpu as u64;
    }
    println!("{s}");
}
