//! A tight loop of workload predictions from features, cycling 256 varied feature vectors,
//! for profilers (`perf record`, `valgrind --tool=callgrind`); prints the mean ns per call.
//!
//! `cargo run --release -p aios-benches --example hot [CALLS] [prepared]`: with `prepared`, the
//! weights in the fastest prepared layout of this CPU (`Model::prepare`).
use inference_core::{Predictor, WorkloadPredictor};
use std::hint::black_box;
use std::time::Instant;

fn main() {
    let calls: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let mut p = WorkloadPredictor::new(None);
    if std::env::args().nth(2).as_deref() == Some("prepared") {
        let words = p.model().map_or(0, |m| m.prepared_words());
        assert!(p.prepare(Box::leak(vec![0i64; words].into_boxed_slice())));
    }
    let feats = aios_benches::workload_features(256);
    let mut s = 0u64;
    let t = Instant::now();
    for k in 0..calls {
        s += black_box(p.predict_features(black_box(&feats[k % feats.len()]))).cpu as u64;
    }
    let ns = t.elapsed().as_nanos() as f64 / calls.max(1) as f64;
    println!("{ns:.1} ns per prediction from features ({calls} calls; checksum {s})");
}
