//! Prediction latency of the four built-in models, one criterion group per model.
//!
//! - `from_features`: a prediction from a ready feature vector (quantize, layers, head).
//! - `from_raw`: push one raw observation into the history, extract features, predict.
//!
//! `Throughput::Elements` is the model's multiply-accumulates per prediction, so criterion's
//! element rate reads as MAC/s.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use inference_core::features::failure::{FailureHistory, HealthSample};
use inference_core::features::memory::{AccessKind, MemoryAccess, MemoryHistory};
use inference_core::features::threat::{ProcessWindow, ThreatHistory};
use inference_core::features::workload::WorkloadSample;
use inference_core::{
    FailurePredictor, MemoryPredictor, Predictor, ThreatDetector, WorkloadPredictor,
};
use std::hint::black_box;

fn workload(c: &mut Criterion) {
    let p = WorkloadPredictor::new(None);
    let mut h = aios_benches::workload_history();
    let f = h.features();
    let mut g = c.benchmark_group("workload");
    g.throughput(Throughput::Elements(
        p.model().map_or(0, |m| m.macs()) as u64
    ));
    g.bench_function("from_features", |b| {
        b.iter(|| p.predict_features(black_box(&f)))
    });
    let mut k = 0u64;
    g.bench_function("from_raw", |b| {
        b.iter(|| {
            k += 1;
            h.push(WorkloadSample {
                cpu: (k % 10_000) as u16,
                mem: Some(4000),
                gpu: None,
                unix_s: 1_700_000_000 + 300 * k,
            });
            p.predict(black_box(&h))
        })
    });
    g.finish();
}

/// A process's calls: loops over a small i386 vocabulary with a rarer call now and then, the
/// shape of real traces (the benchmark must not run one constant input through branchy code).
fn call_stream(n: usize) -> Vec<u32> {
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
fn windows(n: usize) -> Vec<ProcessWindow> {
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

fn threat(c: &mut Criterion) {
    let d = ThreatDetector::new(None);
    let calls = call_stream(1 << 16);
    let ws = windows(256);
    // features of varied processes: each window after a different stretch of calls
    let mut h = ThreatHistory::new();
    let feats: Vec<_> = ws
        .iter()
        .enumerate()
        .map(|(i, w)| {
            for &nr in &calls[i * 200..(i + 1) * 200] {
                h.observe_call(nr);
            }
            h.features(w)
        })
        .collect();
    let mut g = c.benchmark_group("threat");
    g.throughput(Throughput::Elements(
        d.model().map_or(0, |m| m.macs()) as u64
    ));
    let mut i = 0usize;
    g.bench_function("from_features", |b| {
        b.iter(|| {
            i = (i + 1) % feats.len();
            d.assess_features(black_box(&feats[i]))
        })
    });
    let mut j = 0usize;
    g.bench_function("from_raw", |b| {
        b.iter(|| {
            j = (j + 1) % ws.len();
            d.assess(&mut h, black_box(&ws[j]))
        })
    });
    g.finish();
    // the per-call update a kernel runs on every system call of a watched process
    let mut g = c.benchmark_group("threat_call");
    g.throughput(Throughput::Elements(1));
    let mut k = 0usize;
    g.bench_function("observe_call", |b| {
        b.iter(|| {
            k = (k + 1) & (calls.len() - 1);
            h.observe_call(black_box(calls[k]))
        })
    });
    g.finish();
}

fn failure(c: &mut Criterion) {
    let p = FailurePredictor::new(None);
    let mut h = FailureHistory::new();
    for k in 0..25u64 {
        h.push(HealthSample {
            health: (950 - 3 * k) as u16,
            unix_s: 60 * k,
        });
    }
    h.record_failure(100);
    let f = h.features();
    let mut g = c.benchmark_group("failure");
    g.throughput(Throughput::Elements(
        p.model().map_or(0, |m| m.macs()) as u64
    ));
    g.bench_function("from_features", |b| {
        b.iter(|| p.predict_features(black_box(&f)))
    });
    let mut k = 25u64;
    g.bench_function("from_raw", |b| {
        b.iter(|| {
            k += 1;
            h.push(HealthSample {
                health: (900 + k % 50) as u16,
                unix_s: 60 * k,
            });
            p.predict(black_box(&h))
        })
    });
    g.finish();
}

fn memory(c: &mut Criterion) {
    let p = MemoryPredictor::new(None);
    let mut h = MemoryHistory::new();
    for k in 0..30u64 {
        h.push(MemoryAccess {
            addr: 0x7000_0000 + 256 * k,
            pc: 0x401000,
            kind: AccessKind::Read,
            time_ns: 10 * k,
        });
    }
    let f = h.features();
    let mut g = c.benchmark_group("memory");
    g.throughput(Throughput::Elements(
        p.model().map_or(0, |m| m.macs()) as u64
    ));
    g.bench_function("from_features", |b| {
        b.iter(|| p.predict_features(&h, black_box(&f)))
    });
    let mut k = 30u64;
    g.bench_function("from_raw", |b| {
        b.iter(|| {
            k += 1;
            h.push(MemoryAccess {
                addr: 0x7000_0000 + 256 * k,
                pc: 0x401000,
                kind: AccessKind::Read,
                time_ns: 10 * k,
            });
            p.predict(black_box(&h))
        })
    });
    g.finish();
}

criterion_group!(benches, workload, threat, failure, memory);
criterion_main!(benches);
