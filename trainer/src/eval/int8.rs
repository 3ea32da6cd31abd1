//! A deployed (int8) model judged through inference-core, the code that serves it: raw outputs,
//! threat scores with the engine's integer softmax, and metrics.

use inference_core::features::threat;
use inference_core::quant::softmax_permille;
use inference_core::{Model, ModelKind, ModelSource, Predictor};
use ndarray::Array2;

use super::metrics::{self, Metrics};
use crate::data::dataset::Dataset;
use crate::error::{Error, Result};

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
    threat::score_permille(p[0])
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
        scores.push(threat::score_permille(p[0]) as f64 / 1000.0);
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

/// Failure probabilities in `[0, 1]` of a deployed model on `d`, with the engine's integer
/// sigmoid, exactly as `FailurePredictor` serves them.
pub fn int8_failure_probabilities(model: &Model<'_>, d: &Dataset) -> Vec<f64> {
    let out = int8_outputs(model, d);
    (0..d.len())
        .map(|i| {
            let logit = out[[i, inference_core::features::failure::OUT_FAIL]] as i32;
            inference_core::quant::sigmoid_permille(logit) as f64 / 1000.0
        })
        .collect()
}

/// `p` if it serves the blob it was given; the blob's refusal otherwise (a predictor falls back
/// to its built-in model silently, which an evaluation must not).
pub fn serving_given<'a, P: Predictor<'a>>(p: P) -> Result<P> {
    match p.source() {
        ModelSource::Default {
            refused: Some(e), ..
        } => Err(Error::from(e.clone())),
        _ => Ok(p),
    }
}
