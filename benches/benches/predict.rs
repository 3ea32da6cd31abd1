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
use inference_core::features::failure::HealthSample;
use inference_core::features::memory::MemoryHistory;
use inference_core::features::threat::ThreatHistory;
use inference_core::features::workload::WorkloadSample;
use inference_core::{
    FailurePredictor, MemoryPredictor, Model, Predictor, ThreatDetector, WorkloadPredictor,
};
use std::hint::black_box;

fn workload(c: &mut Criterion) {
    let p = WorkloadPredictor::new(None);
    let mut h = aios_benches::workload_history();
    let feats = aios_benches::workload_features(256);
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

fn threat(c: &mut Criterion) {
    let d = ThreatDetector::new(None);
    let calls = aios_benches::call_stream(1 << 16);
    let ws = aios_benches::windows(256);
    let mut h = ThreatHistory::new();
    let feats = aios_benches::threat_features();
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
    let mut h = aios_benches::failure_history();
    let feats = aios_benches::failure_features();
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

fn memory(c: &mut Criterion) {
    let p = MemoryPredictor::new(None);
    let stream = aios_benches::memory_stream(8192);
    let states = aios_benches::memory_states(&stream);
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
