//! Shared fixtures of the benchmarks (`benches/`) and the profiling examples (`examples/`), so
//! the profiler and criterion measure the same input.

use inference_core::features::failure::{self, FailureHistory, HealthSample};
use inference_core::features::memory::{self, AccessKind, MemoryAccess, MemoryHistory};
use inference_core::features::threat::{self, ProcessWindow, ThreatHistory};
use inference_core::features::workload::{self, WorkloadHistory, WorkloadSample};

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

/// `n` workload feature vectors of [`varied_load`], one per five-minute step after a full
/// history.
pub fn workload_features(n: usize) -> Vec<[i32; workload::N_FEATURES]> {
    let mut h = workload_history();
    varied_load(n)
        .into_iter()
        .map(|s| {
            h.push(s);
            h.features()
        })
        .collect()
}

/// A process's calls: loops over a small i386 vocabulary with a rarer call now and then, the
/// shape of real traces (the benchmark must not run one constant input through branchy code).
pub fn call_stream(n: usize) -> Vec<u32> {
    const VOCAB: [u32; 16] = [
        3, 4, 5, 6, 102, 192, 91, 125, 197, 54, 142, 168, 120, 11, 45, 252,
    ];
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let r = (x >> 32) as u32;
            if r.is_multiple_of(17) {
                r % 340
            } else {
                VOCAB[(r % 16) as usize]
            }
        })
        .collect()
}

/// Varied windows (counts of a quiet shell to a busy server).
pub fn windows(n: usize) -> Vec<ProcessWindow> {
    (0..n as u32)
        .map(|k| ProcessWindow {
            syscalls: 50 + (k * 7919) % 20_000,
            network_connections: (k * 31) % 40,
            file_accesses: (k * 131) % 3000,
            privilege_attempts: (k % 23 == 0) as u32,
            failed_syscalls: (k * 17) % 200,
            memory_allocs: (k * 13) % 100,
            alloc_kib: (k * 977) % 50_000,
            spawns: k % 5,
            end_ms: 1000 * (k as u64 + 1),
        })
        .collect()
}

/// 256 threat feature vectors of varied processes: each of [`windows`] after a different
/// stretch of 200 calls of [`call_stream`].
pub fn threat_features() -> Vec<[i32; threat::N_FEATURES]> {
    let calls = call_stream(1 << 16);
    let mut h = ThreatHistory::new();
    windows(256)
        .iter()
        .enumerate()
        .map(|(i, w)| {
            for &nr in &calls[i * 200..(i + 1) * 200] {
                h.observe_call(nr);
            }
            h.features(w)
        })
        .collect()
}

/// A failure history: 25 minutes of slowly falling health and one failure.
pub fn failure_history() -> FailureHistory {
    let mut h = FailureHistory::new();
    for k in 0..25u64 {
        h.push(HealthSample {
            health: (950 - 3 * k) as u16,
            unix_s: 60 * k,
        });
    }
    h.record_failure(100);
    h
}

/// 256 failure feature vectors of a component whose health wanders, dips and fails now and
/// then, after [`failure_history`].
pub fn failure_features() -> Vec<[i32; failure::N_FEATURES]> {
    let mut h = failure_history();
    (0..256u64)
        .map(|k| {
            let dip = if k % 37 < 5 { 400 } else { 0 };
            h.push(HealthSample {
                health: (1000 - (k * 7919 % 300) - dip) as u16,
                unix_s: 60 * (25 + k),
            });
            if k % 61 == 60 {
                h.record_failure(60 * (25 + k) + 30);
            }
            h.features()
        })
        .collect()
}

/// A varied access stream: strided walks of several strides, a byte-wise scan, hash-table
/// probes and stack accesses, interleaved (deterministic).
pub fn memory_stream(n: usize) -> Vec<MemoryAccess> {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut cursors = [0x7000_0000u64, 0x9000_0000, 0xA000_0000];
    let strides = [64u64, 1, 448];
    (0..n as u64)
        .map(|k| {
            let r = rnd();
            let (addr, pc) = match r % 10 {
                0..=5 => {
                    let s = (r >> 8) as usize % 3;
                    cursors[s] = cursors[s].wrapping_add(strides[s]);
                    (cursors[s], 0x40_1000 + 16 * s as u64)
                }
                6 | 7 => (0xB000_0000 + ((r >> 16) & 0xF_FFF8), 0x40_2000),
                _ => (0x7ffd_0000_0000 + ((r >> 20) & 0x1F8), 0x40_3000),
            };
            MemoryAccess {
                addr,
                pc,
                kind: AccessKind::from_code((r >> 40) as usize % 2),
                time_ns: 7 * k,
            }
        })
        .collect()
}

/// Up to 256 memory histories taken at block changes of `stream`, each with its features.
pub fn memory_states(stream: &[MemoryAccess]) -> Vec<(MemoryHistory, [i32; memory::N_FEATURES])> {
    let mut h = MemoryHistory::new();
    let mut states = Vec::new();
    for a in stream {
        if h.push(*a) && states.len() < 256 {
            states.push((h.clone(), h.features()));
        }
    }
    states
}
