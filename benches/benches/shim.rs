//! What the kernel shim's watching costs per prediction: the workload and failure models
//! through the C ABI (health counters, the drift watch sampling one prediction in 16, and
//! with `outcome` the outcome report, rolling error and alert check), next to the same
//! prediction straight from inference-core. Inputs cycle through 256 varied observations.
//! The built-in models carry monitor sections, so the watch runs in full. With `shadow` and
//! `split` the A/B state is on (a candidate predicting beside the live model, or answering
//! in its place).

use criterion::{criterion_group, criterion_main, Criterion};
use inference_core::features::failure::{FailureHistory, HealthSample};
use inference_core::features::workload::WorkloadSample;
use inference_core::{FailurePredictor, WorkloadPredictor};
use kernel_shim as shim;
use std::hint::black_box;

/// The shared varied series as C samples (memory observed, no GPU).
fn workload_samples() -> Vec<shim::AimlWorkloadSample> {
    aios_benches::varied_load(256)
        .into_iter()
        .map(|s| shim::AimlWorkloadSample {
            unix_s: s.unix_s,
            cpu: s.cpu,
            mem: s.mem.unwrap_or(0),
            gpu: 0,
            flags: shim::AIML_HAS_MEM,
        })
        .collect()
}

fn workload(c: &mut Criterion) {
    assert_eq!(shim::aiml_init(), shim::AimlStatus::Ok);
    let samples = workload_samples();
    let mut h = shim::AimlWorkloadHistory {
        opaque: [0; shim::AIML_WORKLOAD_HISTORY_WORDS],
    };
    // SAFETY: `h` is a live, writable history.
    unsafe { shim::aiml_workload_history_init(&mut h) };
    let mut g = c.benchmark_group("shim_workload");
    let mut k = 0usize;
    let mut p = shim::AimlWorkloadPrediction::default();
    g.bench_function("c_abi_predict", |b| {
        b.iter(|| {
            k = (k + 1) % samples.len();
            // SAFETY: live history, sample and output.
            unsafe {
                shim::aiml_workload_push(&mut h, &samples[k]);
                shim::aiml_workload_predict(&mut h, &mut p);
            }
            black_box(p.cpu)
        })
    });
    // with the outcome report; then A/B: the built-in blob as the candidate, in shadow mode
    // (both models predict, the outcome scores both) and in split mode (this history's entity
    // routed to the candidate)
    assert_eq!(
        // SAFETY: a static blob, its length.
        unsafe {
            shim::aiml_set_key(std::ptr::null(), true);
            let b = inference_core::defaults::WORKLOAD;
            shim::aiml_candidate_load(shim::AIML_KIND_WORKLOAD, b.as_ptr(), b.len())
        },
        shim::AimlStatus::Ok
    );
    let w = shim::AIML_KIND_WORKLOAD;
    for (name, mode, share) in [
        ("c_abi_predict_outcome", shim::AIML_AB_OFF, 0),
        ("c_abi_predict_outcome_shadow", shim::AIML_AB_SHADOW_MODE, 0),
        ("c_abi_predict_outcome_split", shim::AIML_AB_SPLIT, 1000),
    ] {
        assert_eq!(shim::aiml_ab_set(w, mode, share), shim::AimlStatus::Ok);
        g.bench_function(name, |b| {
            b.iter(|| {
                k = (k + 1) % samples.len();
                // SAFETY: as above.
                unsafe {
                    shim::aiml_workload_push(&mut h, &samples[k]);
                    shim::aiml_workload_predict(&mut h, &mut p);
                    shim::aiml_workload_outcome(&p, samples[(k + 1) % samples.len()].cpu);
                }
                black_box((p.cpu, p.shadow_cpu))
            })
        });
    }
    assert_eq!(shim::aiml_candidate_clear(w), shim::AimlStatus::Ok);
    let core = WorkloadPredictor::new(None);
    let mut ch = inference_core::features::workload::WorkloadHistory::new();
    g.bench_function("core_predict", |b| {
        b.iter(|| {
            k = (k + 1) % samples.len();
            let s = &samples[k];
            ch.push(WorkloadSample {
                cpu: s.cpu,
                mem: Some(s.mem),
                gpu: None,
                unix_s: s.unix_s,
            });
            black_box(core.predict(&mut ch).cpu)
        })
    });
    g.finish();
}

fn failure(c: &mut Criterion) {
    assert_eq!(shim::aiml_init(), shim::AimlStatus::Ok);
    let health: Vec<u16> = (0..256u32)
        .map(|k| (1000 - (k * 7919 % 300) - if k % 37 == 0 { 400 } else { 0 }) as u16)
        .collect();
    let mut h = shim::AimlFailureHistory {
        opaque: [0; shim::AIML_FAILURE_HISTORY_WORDS],
    };
    // SAFETY: live history.
    unsafe { shim::aiml_failure_history_init(&mut h) };
    let mut g = c.benchmark_group("shim_failure");
    let mut k = 0usize;
    let mut f = shim::AimlFailureForecast::default();
    g.bench_function("c_abi_predict_outcome", |b| {
        b.iter(|| {
            k = (k + 1) % health.len();
            let s = shim::AimlHealthSample {
                unix_s: 1_700_000_000 + 60 * k as u64,
                health: health[k],
                ..Default::default()
            };
            // SAFETY: live history, sample and output.
            unsafe {
                shim::aiml_failure_push(&mut h, &s);
                shim::aiml_failure_predict(&h, &mut f);
                shim::aiml_failure_outcome(&f, false);
            }
            black_box(f.probability)
        })
    });
    let core = FailurePredictor::new(None);
    let mut ch = FailureHistory::new();
    g.bench_function("core_predict", |b| {
        b.iter(|| {
            k = (k + 1) % health.len();
            ch.push(HealthSample {
                unix_s: 1_700_000_000 + 60 * k as u64,
                health: health[k],
            });
            black_box(core.predict(&ch).probability)
        })
    });
    g.finish();
}

criterion_group!(benches, workload, failure);
criterion_main!(benches);
