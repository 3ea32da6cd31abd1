//! A tight loop of workload predictions from features, cycling 256 varied feature vectors,
//! for profilers (`perf record`, `valgrind --tool=callgrind`); prints the mean ns per call.
//!
//! `cargo run --release -p aios-benches --example hot [CALLS]`
use inference_core::WorkloadPredictor;
use std::hint::black_box;
use std::time::Instant;

fn main() {
    let calls: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let p = WorkloadPredictor::new(None);
    let mut h = aios_benches::workload_history();
    let feats: Vec<_> = aios_benches::varied_load(256)
        .into_iter()
        .map(|s| {
            h.push(s);
            h.features()
        })
        .collect();
    let mut s = 0u64;
    let t = Instant::now();
    for k in 0..calls {
        s += black_box(p.predict_features(black_box(&feats[k % feats.len()]))).cpu as u64;
    }
    let ns = t.elapsed().as_nanos() as f64 / calls.max(1) as f64;
    println!("{ns:.1} ns per prediction from features ({calls} calls; checksum {s})");
}
