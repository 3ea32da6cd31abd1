//! A tight loop of workload predictions, for profilers (`valgrind --tool=callgrind`).
use inference_core::WorkloadPredictor;
use std::hint::black_box;

fn main() {
    let p = WorkloadPredictor::new(None);
    let h = aios_benches::workload_history();
    let f = h.features();
    let mut s = 0u64;
    for _ in 0..20_000 {
        s += black_box(p.predict_features(black_box(&f))).cpu as u64;
    }
    println!("{s}");
}
