//! Train one model end to end: split, fit, quantize, run the int8 model through
//! inference-core, compare with baselines, and produce the blob plus its manifest entry.

use std::time::Instant;

use inference_core::features::threat;
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
    let fit = fit(&train, &val, params, on_epoch)?;
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
        } else {
            int8_metrics(&model, &val, None)
        }
    };
    if let Some(t) = int8.threshold_permille {
        quantized.threshold_permille = t;
    }
    let baselines = baselines::evaluate(&train, &val, params.seed);
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
