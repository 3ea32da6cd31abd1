//! Prediction latency of the four built-in models, one criterion group per model.
//!
//! - `from_features`: a prediction from a ready feature vector (quantize, layers, head).
//! - `from_raw`: push one raw observation into the history, extract features, predict
//!   (`from_raw_prepared`, memory: with the weights prepared at load time).
//! - `<model>_layouts`: the network alone (`Model::infer`) on the same feature vectors, on the
//!   blob's weights (`blob`: the best kernels of this build and CPU) and on each prepared
//!   layout this CPU runs (`swar`: the kernel-safe one; `avx2`: packed blocks).
//!
//! Every input cycles through a fixed set of varied observations (256 feature vectors, or a
//! varied stream): a constant input would let branch prediction and caches flatter the code.
//!
//! `Throughput::Elements` is the model's multiply-accumulates per prediction, so criterion's
//! element rate reads as MAC/s.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use inference_core::blob::Layout;
use inference_core::features::failure::{FailureHistory, HealthSample};
use inference_core::features::memory::{AccessKind, MemoryAccess, MemoryHistory};
use inference_core::features::threat::{ProcessWindow, ThreatHistory};
use inference_core::features::workload::WorkloadSample;
use inference_core::{
    FailurePredictor, MemoryPredictor, Model, Predictor, ThreatDetector, WorkloadPredictor,
};
use std::hint::black_box;

/// 256 workload feature vectors of the shared varied series (`aios_benches::varied_load`),
/// one per five-minute step after a full history.
fn workload_features() -> Vec<[i32; inference_core::features::workload::N_FEATURES]> {
    let mut h = aios_benches::workload_history();
    aios_benches::varied_load(256)
        .into_iter()
        .map(|s| {
            h.push(s);
            h.features()
        })
        .collect()
}

fn workload(c: &mut Criterion) {
    let p = WorkloadPredictor::new(None);
    let mut h = aios_benches::workload_history();
    let feats = workload_features();
    let mut g = c.benchmark_group("workload");
    g.throughput(Throughput::Elements(
        p.model().map_or(0, |m| m.macs()) as u64
    ));
    let mut i = 0usize;
    g.bench_function("from_features", |b| {
        b.iter(|| {
            i = (i + 1) % feats.len();
            p.predict_features(black_box(&feats[i]))
        })
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
            p.predict(black_box(&mut h))
        })
    });
    g.finish();
    let f: Vec<&[i32]> = feats.iter().map(|f| &f[..]).collect();
    layouts(c, "workload", p.model().unwrap(), &f);
}

/// `Model::infer` on the blob's weights and on every prepared layout this CPU runs, cycling
/// `feats`.
fn layouts(c: &mut Criterion, name: &str, m: &Model<'_>, feats: &[&[i32]]) {
    let mut g = c.benchmark_group(format!("{name}_layouts"));
    g.throughput(Throughput::Elements(m.macs() as u64));
    let mut out = [0i32; 16];
    let mut i = 0usize;
    g.bench_function("blob", |b| {
        b.iter(|| {
            i = (i + 1) % feats.len();
            m.infer(black_box(feats[i]), &mut out)
        })
    });
    for layout in [Layout::Swar, Layout::Avx2] {
        let mut buf = vec![0i64; m.prepared_words_as(layout)];
        let Some(p) = m.prepare_as(layout, &mut buf) else {
            continue;
        };
        g.bench_function(format!("{layout:?}").to_lowercase(), |b| {
            b.iter(|| {
                i = (i + 1) % feats.len();
                m.infer_prepared(&p, black_box(feats[i]), &mut out)
            })
        });
    }
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
    let f: Vec<&[i32]> = feats.iter().map(|f| &f[..]).collect();
    layouts(c, "threat", d.model().unwrap(), &f);
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
    // 256 feature vectors of a component whose health wanders, dips and fails now and then
    let mut fh = h.clone();
    let feats: Vec<_> = (0..256u64)
        .map(|k| {
            let dip = if k % 37 < 5 { 400 } else { 0 };
            fh.push(HealthSample {
                health: (1000 - (k * 7919 % 300) - dip) as u16,
                unix_s: 60 * (25 + k),
            });
            if k % 61 == 60 {
                fh.record_failure(60 * (25 + k) + 30);
            }
            fh.features()
        })
        .collect();
    let mut g = c.benchmark_group("failure");
    g.throughput(Throughput::Elements(
        p.model().map_or(0, |m| m.macs()) as u64
    ));
    let mut i = 0usize;
    g.bench_function("from_features", |b| {
        b.iter(|| {
            i = (i + 1) % feats.len();
            p.predict_features(black_box(&feats[i]))
        })
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
    let f: Vec<&[i32]> = feats.iter().map(|f| &f[..]).collect();
    layouts(c, "failure", p.model().unwrap(), &f);
}

/// A varied access stream: strided walks of several strides, a byte-wise scan, hash-table
/// probes and stack accesses, interleaved (deterministic).
fn memory_stream(n: usize) -> Vec<MemoryAccess> {
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

fn memory(c: &mut Criterion) {
    let p = MemoryPredictor::new(None);
    let stream = memory_stream(8192);
    // 256 states taken at block changes, each with its own features
    let mut h = MemoryHistory::new();
    let mut states = Vec::new();
    for a in &stream {
        if h.push(*a) && states.len() < 256 {
            states.push((h.clone(), h.features()));
        }
    }
    let mut g = c.benchmark_group("memory");
    g.throughput(Throughput::Elements(
        p.model().map_or(0, |m| m.macs()) as u64
    ));
    let mut i = 0;
    g.bench_function("from_features", |b| {
        b.iter(|| {
            i = (i + 1) % states.len();
            let (h, f) = &states[i];
            p.predict_features(h, black_box(f))
        })
    });
    // the history's share: scoring the pending proposals, the candidates, the best-offset
    // learner (push), then the feature vector
    let mut h = MemoryHistory::new();
    let mut k = 0;
    g.bench_function("push_and_features", |b| {
        b.iter(|| {
            k = (k + 1) % stream.len();
            h.push(stream[k]);
            black_box(h.features())
        })
    });
    // accesses in up to the next block change, one model decision out: the pushes (and the
    // inference-free decisions) of the accesses within the block, then feature extraction,
    // scoring of the pending proposals and the network. Timing every access instead would
    // average the decisions with the cheap within-block ones. `from_raw_prepared`: the same
    // with the weights prepared at load time in the fastest layout of this CPU
    // (`Predictor::prepare`: packed AVX2 where it runs, else the SWAR one).
    let mut buf = vec![0i64; p.model().map_or(0, |m| m.prepared_words())];
    let mut pp = MemoryPredictor::new(None);
    assert!(pp.prepare(&mut buf), "the built-in memory model prepares");
    for (name, q) in [("from_raw", &p), ("from_raw_prepared", &pp)] {
        let mut h = MemoryHistory::new();
        let mut k = 0;
        g.bench_function(name, |b| {
            b.iter(|| loop {
                k = (k + 1) % stream.len();
                if h.push(stream[k]) {
                    break q.predict(black_box(&h));
                }
                black_box(q.predict(&h));
            })
        });
    }
    g.finish();
    let f: Vec<&[i32]> = states.iter().map(|(_, f)| &f[..]).collect();
    layouts(c, "memory", p.model().unwrap(), &f);
}

criterion_group!(benches, workload, threat, failure, memory);
criterion_main!(benches);
