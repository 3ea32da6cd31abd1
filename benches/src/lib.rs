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
