//! What a training report draws besides the headline: the deployed int8 model's ROC curve
//! and confusion counts (threat, failure), and predicted against actual CPU (workload), on
//! the validation data of the run. Stored in the registry's manifest with each version, so
//! `trainer report` needs nothing but the registry.

use inference_core::blob::ABSENT;
use inference_core::features::workload;
use inference_core::{Model, ModelKind};
use serde::{Deserialize, Serialize};

use super::int8::{int8_failure_probabilities, int8_outputs, int8_threat_score};
use crate::data::dataset::Dataset;

/// Points of predicted against actual CPU kept for the scatter plot.
pub const MAX_POINTS: usize = 400;
/// Thresholds of the ROC curve: every this many per-mille.
pub const ROC_STEP_PERMILLE: u16 = 10;

/// Counts at the operating threshold: alarms on positives and negatives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confusion {
    /// Operating threshold, per-mille.
    pub threshold_permille: u16,
    /// Positives alarmed.
    pub true_positives: u64,
    /// Negatives alarmed.
    pub false_positives: u64,
    /// Negatives not alarmed.
    pub true_negatives: u64,
    /// Positives missed.
    pub false_negatives: u64,
}

/// One run's diagnostics (empty parts do not apply to the model kind).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Diagnostics {
    /// ROC curve: (false-positive rate, true-positive rate), from the highest threshold down.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roc: Vec<(f64, f64)>,
    /// Counts at the operating threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confusion: Option<Confusion>,
    /// Workload: (actual, predicted) next CPU %, evenly spaced over the validation samples.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cpu_actual_predicted: Vec<(f64, f64)>,
}

/// The diagnostics of `model` on `d` (validation data; for the threat model the rows it
/// was judged on, its own scores in their history), alarming at `threshold_permille`.
pub fn of(model: &Model<'_>, d: &Dataset, threshold_permille: u16) -> Diagnostics {
    if d.is_empty() {
        return Diagnostics::default();
    }
    match d.kind {
        ModelKind::Threat | ModelKind::Failure => {
            let (scores, labels): (Vec<u16>, Vec<bool>) = if d.kind == ModelKind::Threat {
                (0..d.len())
                    .map(|i| (int8_threat_score(model, d.row(i)), d.target(i)[0] > 0.0))
                    .unzip()
            } else {
                let p = int8_failure_probabilities(model, d);
                (0..d.len())
                    .map(|i| ((p[i] * 1000.0).round() as u16, d.target(i)[0] > 0.5))
                    .unzip()
            };
            Diagnostics {
                roc: roc(&scores, &labels),
                confusion: Some(confusion(&scores, &labels, threshold_permille)),
                ..Default::default()
            }
        }
        ModelKind::Workload => {
            let out = int8_outputs(model, d);
            let rows: Vec<usize> = (0..d.len())
                .filter(|&i| {
                    d.target(i)[workload::OUT_CPU].is_finite()
                        && d.row(i)[workload::field::CURRENT_CPU] != ABSENT
                })
                .collect();
            let step = rows.len().div_ceil(MAX_POINTS).max(1);
            let points = rows
                .iter()
                .step_by(step)
                .map(|&i| {
                    let cur = d.row(i)[workload::field::CURRENT_CPU] as f64;
                    let actual = cur + d.target(i)[workload::OUT_CPU] as f64;
                    let predicted =
                        (cur + out[[i, workload::OUT_CPU]]).clamp(0.0, workload::FULL as f64);
                    (actual / 100.0, predicted / 100.0)
                })
                .collect();
            Diagnostics {
                cpu_actual_predicted: points,
                ..Default::default()
            }
        }
        ModelKind::Memory => Diagnostics::default(),
    }
}

/// Counts of alarms (score ≥ threshold) on positives and negatives.
pub fn confusion(scores: &[u16], labels: &[bool], threshold_permille: u16) -> Confusion {
    let mut c = Confusion {
        threshold_permille,
        ..Default::default()
    };
    for (&s, &l) in scores.iter().zip(labels) {
        match (s >= threshold_permille, l) {
            (true, true) => c.true_positives += 1,
            (true, false) => c.false_positives += 1,
            (false, false) => c.true_negatives += 1,
            (false, true) => c.false_negatives += 1,
        }
    }
    c
}

/// ROC points at every [`ROC_STEP_PERMILLE`] of threshold, from 1001 (nothing alarmed: (0, 0))
/// down to 0 (everything: (1, 1)). Rates are 0 when a class is absent.
pub fn roc(scores: &[u16], labels: &[bool]) -> Vec<(f64, f64)> {
    let pos = labels.iter().filter(|&&l| l).count().max(1) as f64;
    let neg = labels.iter().filter(|&&l| !l).count().max(1) as f64;
    let mut thresholds: Vec<u16> = (0..=1000).step_by(ROC_STEP_PERMILLE as usize).collect();
    thresholds.push(1001);
    thresholds
        .iter()
        .rev()
        .map(|&t| {
            let c = confusion(scores, labels, t);
            (
                c.false_positives as f64 / neg,
                c.true_positives as f64 / pos,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roc_runs_from_nothing_to_everything_and_confusion_counts() {
        let scores = [900, 800, 300, 100, 600];
        let labels = [true, true, false, false, true];
        let r = roc(&scores, &labels);
        assert_eq!(r.first(), Some(&(0.0, 0.0)));
        assert_eq!(r.last(), Some(&(1.0, 1.0)));
        // monotone: lowering the threshold never un-alarms anything
        assert!(r.windows(2).all(|w| w[1].0 >= w[0].0 && w[1].1 >= w[0].1));
        // a perfect separation passes through (0, 1)
        assert!(r.contains(&(0.0, 1.0)));
        let c = confusion(&scores, &labels, 500);
        assert_eq!(
            (
                c.true_positives,
                c.false_positives,
                c.true_negatives,
                c.false_negatives
            ),
            (3, 0, 2, 0)
        );
        let c = confusion(&scores, &labels, 850);
        assert_eq!((c.true_positives, c.false_negatives), (1, 2));
    }
}
