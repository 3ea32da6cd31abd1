//! Train one model end to end: split, fit, quantize, run the int8 model through
//! inference-core, compare with baselines, and produce the blob plus its manifest entry.

use std::time::Instant;

use inference_core::features::threat::{self, ProcessWindow, ThreatHistory};
use inference_core::quant::softmax_permille;
use inference_core::{Model, ModelKind};
use ndarray::Array2;
use serde::Serialize;
use serde_json::{json, Value};

use crate::baselines::{self, Baseline};
use crate::dataset::{hex, Dataset};
use crate::metrics::{self, Metrics};
use crate::quantize::{quantize, BlobMeta, QuantizedModel};
use crate::task::{fit, EpochLog, Fit, Params};

/// Everything one training run produced.
#[derive(Debug, Clone)]
pub struct Trained {
    /// The fit (f32 network, task, log).
    pub fit: Fit,
    /// Quantized network.
    pub quantized: QuantizedModel,
    /// Blob bytes.
    pub blob: Vec<u8>,
    /// int8 metrics on the validation data (inference-core's outputs).
    pub int8: Metrics,
    /// Baselines on the validation data.
    pub baselines: Vec<Baseline>,
    /// Training and validation sizes.
    pub sizes: (usize, usize),
    /// Wall time of the run, seconds.
    pub seconds: f64,
}

/// Runs a validated model over a data set and returns its outputs in fixed units.
pub fn int8_outputs(model: &Model<'_>, d: &Dataset) -> Array2<f64> {
    let n_out = model.n_outputs();
    let mut out = Array2::zeros((d.len(), n_out));
    let mut buf = vec![0i32; n_out];
    for i in 0..d.len() {
        model.infer(d.row(i), &mut buf);
        for (c, &v) in buf.iter().enumerate() {
            out[[i, c]] = v as f64;
        }
    }
    out
}

/// Threat score (per-mille) of one raw feature row under the deployed int8 model.
pub fn int8_threat_score(model: &Model<'_>, row: &[i32]) -> u16 {
    let mut logits = [0i32; threat::N_OUTPUTS];
    model.infer(row, &mut logits);
    let mut p = [0u16; threat::N_OUTPUTS];
    softmax_permille(&logits, &mut p);
    1000 - p[0].min(1000)
}

/// Metrics of a deployed (int8) model on `d`, computed from inference-core's outputs; threat
/// scores use the engine's integer softmax, exactly as served. `threshold` (per-mille) fixes
/// the threat operating point; `None` chooses it for FPR ≤ 5 %.
pub fn int8_metrics(model: &Model<'_>, d: &Dataset, threshold: Option<u16>) -> Metrics {
    let out = int8_outputs(model, d);
    if d.kind != ModelKind::Threat {
        return metrics::evaluate(d, &out);
    }
    let mut scores = Vec::with_capacity(d.len());
    let mut types = Vec::with_capacity(d.len());
    for i in 0..d.len() {
        let logits: Vec<i32> = (0..threat::N_OUTPUTS).map(|c| out[[i, c]] as i32).collect();
        let mut p = [0u16; threat::N_OUTPUTS];
        softmax_permille(&logits, &mut p);
        scores.push((1000 - p[0].min(1000)) as f64 / 1000.0);
        let best = (1..threat::N_OUTPUTS).max_by_key(|&k| (p[k], usize::MAX - k));
        types.push(best.unwrap_or(1));
    }
    metrics::threat_metrics_at(
        d,
        &scores,
        Some(&types),
        threshold.map(|t| t as f64 / 1000.0),
    )
}

/// Trains `kind` on `data`: split, fit with `params`, quantize, evaluate, encode as `version`.
pub fn train(
    data: &Dataset,
    params: &Params,
    val_split: f64,
    version: u32,
    created_unix_s: u64,
    on_epoch: impl FnMut(&EpochLog),
) -> Result<Trained, String> {
    if !(0.0..0.9).contains(&val_split) {
        return Err(format!("--val-split must be in [0, 0.9), got {val_split}"));
    }
    let start = Instant::now();
    let (train, val) = data.split(val_split, params.seed);
    if train.is_empty() {
        return Err(format!("{}: no training samples", data.kind));
    }
    // The threat model reads its own past scores. Training on label-derived scores would teach
    // it to trust a history it never sees when serving, so: fit a behaviour-only model (no
    // history), replay every process with its scores, and fit the final model on that.
    let (train, val, val_raw, fit) = if data.kind == ModelKind::Threat {
        let (t0, v0) = (zero_history(&train), zero_history(&val));
        // the behaviour-only model only has to give plausible scores: a third of the epochs
        let quick = Params {
            epochs: (params.epochs / 3).max(1),
            ..params.clone()
        };
        let first = fit(&t0, &v0, &quick, |_| {})?;
        let (t1, _) = replay_threat(&t0, 500, |r| f32_threat_score(&first, r));
        let (v1, _) = replay_threat(&v0, 500, |r| f32_threat_score(&first, r));
        let mut fit = fit(&t1, &v1, params, on_epoch)?;
        if !v0.is_empty() {
            // report the f32 model as it would serve: fed its own scores, like the int8 one
            let (v, s) = replay_threat(&v0, 500, |r| f32_threat_score(&fit, r));
            let scores: Vec<f64> = s.iter().map(|&x| x as f64 / 1000.0).collect();
            fit.val_metrics = metrics::threat_metrics(&v, &scores, None);
        }
        (t1, v1, Some((t0, v0)), fit)
    } else if data.kind == ModelKind::Workload {
        let fit = fit(&augment_levels(&train, params.seed), &val, params, on_epoch)?;
        (train, val, None, fit)
    } else {
        let fit = fit(&train, &val, params, on_epoch)?;
        (train, val, None, fit)
    };
    let mut quantized = quantize(&fit.mlp, &fit.task, &fit.input, &train);
    let mut meta = BlobMeta {
        version,
        created_unix_s,
        train_samples: train.len() as u32,
        val_samples: val.len() as u32,
        metric: metrics::headline_name(data.kind).to_string(),
        metric_f32: fit.val_metrics.headline(),
        metric_int8: f64::NAN,
        baseline: f64::NAN,
        source: data.source.clone(),
    };
    let draft = quantized.to_blob(&meta)?;
    let int8 = {
        let model = Model::from_blob(&draft).map_err(|e| e.to_string())?;
        if val.is_empty() {
            Metrics::default()
        } else if let Some((_, v0)) = &val_raw {
            // as deployed: the int8 model's own scores feed its history
            let (v, _) = replay_threat(v0, 500, |r| int8_threat_score(&model, r));
            int8_metrics(&model, &v, None)
        } else {
            int8_metrics(&model, &val, None)
        }
    };
    if let Some(t) = int8.threshold_permille {
        quantized.threshold_permille = t;
    }
    // baselines see behaviour only: no learned model's scores in their features
    let baselines = match &val_raw {
        Some((t0, v0)) => baselines::evaluate(t0, v0, params.seed),
        None => baselines::evaluate(&train, &val, params.seed),
    };
    meta.metric_int8 = int8.headline();
    meta.baseline = baselines
        .iter()
        .map(|b| b.metrics.headline())
        .fold(f64::NEG_INFINITY, f64::max);
    let blob = quantized.to_blob(&meta)?;
    Ok(Trained {
        fit,
        quantized,
        blob,
        int8,
        baselines,
        sizes: (train.len(), val.len()),
        seconds: start.elapsed().as_secs_f64(),
    })
}

#[derive(Serialize)]
struct Hyper<'a> {
    epochs: usize,
    batch_size: usize,
    learning_rate: f32,
    weight_decay: f32,
    seed: u64,
    val_split: f64,
    widths: &'a [usize],
    best_epoch: usize,
}

impl Trained {
    /// The manifest entry of this run.
    pub fn manifest_entry(
        &self,
        data: &Dataset,
        params: &Params,
        val_split: f64,
        created_unix_s: u64,
    ) -> Value {
        use sha2::{Digest, Sha256};
        let widths = self.fit.mlp.widths();
        json!({
            "created_unix_s": created_unix_s,
            "data_source": data.source,
            "data_sha256": data.sha256(),
            "train_samples": self.sizes.0,
            "val_samples": self.sizes.1,
            "hyperparameters": Hyper {
                epochs: params.epochs,
                batch_size: params.batch_size,
                learning_rate: params.learning_rate,
                weight_decay: params.weight_decay,
                seed: params.seed,
                val_split,
                widths: &widths,
                best_epoch: self.fit.best_epoch,
            },
            "metrics_f32": self.fit.val_metrics,
            "metrics_int8": self.int8,
            "baselines": self.baselines,
            "blob_sha256": hex(&Sha256::digest(&self.blob)),
            "blob_bytes": self.blob.len(),
            "macs": widths.windows(2).map(|w| w[0] * w[1]).sum::<usize>(),
            "training_seconds": self.seconds,
        })
    }
}

/// The built-in model of `kind`: default synthetic data and parameters from `seed`, version 1,
/// creation time 0, so the bytes are reproducible.
pub fn default_blob(kind: ModelKind, seed: u64) -> Result<Vec<u8>, String> {
    let data = crate::synth::generate(kind, crate::synth::default_samples(kind), seed);
    let params = Params::default().with_seed(seed);
    Ok(train(&data, &params, 0.2, 1, 0, |_| {})?.blob)
}

/// The threat features with the score history wiped (no scores yet, never a threat).
pub fn zero_history(d: &Dataset) -> Dataset {
    let blank = ThreatHistory::new().features(&ProcessWindow::default());
    let mut out = d.clone();
    let nf = d.n_features();
    for row in out.features.chunks_exact_mut(nf) {
        row[8..19].copy_from_slice(&blank[8..19]);
    }
    out
}

/// Replays every process (group) in time order, scoring each window with `score` (per-mille)
/// and writing the resulting score history into the next windows' features, exactly as
/// `ThreatDetector::assess` does when serving. `threshold` marks a window as a threat for the
/// time-since-last-threat feature.
pub fn replay_threat(
    d: &Dataset,
    threshold: u16,
    mut score: impl FnMut(&[i32]) -> u16,
) -> (Dataset, Vec<u16>) {
    let mut out = d.clone();
    let nf = d.n_features();
    let mut scores = vec![0u16; d.len()];
    let mut by_group: std::collections::BTreeMap<u32, Vec<usize>> = Default::default();
    for i in 0..d.len() {
        by_group.entry(d.group[i]).or_default().push(i);
    }
    for idx in by_group.values_mut() {
        idx.sort_by_key(|&i| (d.time[i], i));
        let mut h = ThreatHistory::new();
        for &i in idx.iter() {
            let end_ms = (d.time[i].max(0) as u64).saturating_mul(1000);
            let hist = h.features(&ProcessWindow {
                end_ms,
                ..Default::default()
            });
            let row = &mut out.features[i * nf..(i + 1) * nf];
            row[8..19].copy_from_slice(&hist[8..19]);
            let s = score(row);
            scores[i] = s;
            h.record(s, s >= threshold, end_ms);
        }
    }
    (out, scores)
}

/// Threat score (per-mille) of one raw feature row under an f32 fit.
pub fn f32_threat_score(fit: &Fit, row: &[i32]) -> u16 {
    let codes = fit.input.codes(row);
    let x = ndarray::Array2::from_shape_fn((1, codes.len()), |(_, j)| {
        codes[j] as f32 / crate::quantize::CODES_PER_STD as f32
    });
    let y = fit.task.to_fixed(fit.mlp.forward(x.view()).view());
    let logits: Vec<i32> = (0..threat::N_OUTPUTS)
        .map(|c| y[[0, c]].round().clamp(i32::MIN as f64, i32::MAX as f64) as i32)
        .collect();
    let mut p = [0u16; threat::N_OUTPUTS];
    softmax_permille(&logits, &mut p);
    1000 - p[0].min(1000)
}

/// Level augmentation for the workload: each sample again with its current values shifted by
/// up to ±30 points (history is relative to them and the target is a change, so neither moves).
/// A predictor of the next *change* should not depend on the absolute level a series happens to
/// run at; without this, a model trained on a handful of real series memorises their levels and
/// fails on a series at another level.
pub fn augment_levels(d: &Dataset, seed: u64) -> Dataset {
    use inference_core::blob::ABSENT;
    let mut rng = crate::rng::Rng::new(seed ^ 0xA06);
    let mut out = d.clone();
    let nf = d.n_features();
    for i in 0..d.len() {
        let mut row = d.row(i).to_vec();
        let shift = (rng.range(-3000.0, 3000.0)) as i32;
        let ok = row[30..33]
            .iter()
            .all(|&v| v == ABSENT || (0..=10_000).contains(&(v + shift)));
        if !ok {
            continue;
        }
        for v in row[30..33].iter_mut() {
            if *v != ABSENT {
                *v += shift;
            }
        }
        debug_assert_eq!(row.len(), nf);
        out.push(&row, d.target(i), d.group[i], d.time[i]);
    }
    out
}
