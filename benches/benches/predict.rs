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

fn threat(c: &mut Criterion) {
    let d = ThreatDetector::new(None);
    let mut h = ThreatHistory::new();
    let w = ProcessWindow {
        syscalls: 1200,
        network_connections: 3,
        file_accesses: 80,
        privilege_attempts: 0,
        failed_syscalls: 12,
        memory_allocs: 9,
        alloc_kib: 512,
        spawns: 1,
        end_ms: 1000,
    };
    let f = h.features(&w);
    let mut g = c.benchmark_group("threat");
    g.throughput(Throughput::Elements(
        d.model().map_or(0, |m| m.macs()) as u64
    ));
    g.bench_function("from_features", |b| {
        b.iter(|| d.assess_features(black_box(&f)))
    });
    let mut t = 1000u64;
    g.bench_function("from_raw", |b| {
        b.iter(|| {
            t += 1000;
            let w = ProcessWindow { end_ms: t, ..w };
            d.assess(&mut h, black_box(&w))
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
