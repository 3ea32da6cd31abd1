//! Shared fixtures of the benchmarks (`benches/`) and the profiling examples (`examples/`), so
//! the profiler and criterion measure the same input.

use inference_core::features::workload::{WorkloadHistory, WorkloadSample};

/// A full workload history: 11 five-minute samples of a slowly rising CPU load, with memory
/// and GPU observed.
pub fn workload_history() -> WorkloadHistory {
    let mut h = WorkloadHistory::new();
    for k in 0..11u64 {
        h.push(WorkloadSample {
            cpu: (3000 + 100 * k) as u16,
            mem: Some(4000),
            gpu: Some(1500),
            unix_s: 1_700_000_000 + 300 * k,
        });
    }
    h
}

/// `n` five-minute utilisation samples after [`workload_history`]'s: a daily swing, noise and a
/// burst now and then in CPU, memory and GPU that move on their own (deterministic): what the
/// benchmarks cycle through, so that branch prediction and caches do not see one input.
pub fn varied_load(n: usize) -> Vec<WorkloadSample> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..n as u64)
        .map(|k| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let base = 3000 + (2000.0 * ((k as f64) / 40.0).sin()) as i64;
            let burst = if x.is_multiple_of(23) { 4000 } else { 0 };
            WorkloadSample {
                cpu: (base + (x % 800) as i64 + burst).clamp(0, 10_000) as u16,
                mem: Some((4000 + (x >> 20) % 1500) as u16),
                gpu: Some(((x >> 40) % 10_000) as u16),
                unix_s: 1_700_003_300 + 300 * k,
            }
        })
        .collect()
}
