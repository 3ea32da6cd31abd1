//! One decision per process trace (ADFA-LD, strace): the deployed detector replayed call by
//! call through inference-core, beside the classic baselines, with the figures a security
//! reviewer asks for: ROC AUC, detection at a false-positive rate of at most 5 % and 1 %,
//! detection and false positives at the model's own threshold, and all of it per attack family.
//!
//! - **Model**: `ThreatDetector::assess` on every window of [`WINDOW`] calls after
//!   `observe_call` for each of its calls, exactly as a kernel drives it; a trace's score is its
//!   highest window score (an alarm on any window flags the process).
//! - **STIDE** (Forrest et al. 1996): the set of all length-[`STIDE_WINDOW`] call windows of the
//!   baseline's normal traces; a trace's score is the share of its windows not in the set.
//! - **Logistic regression** on the same features (score history wiped, as for the baselines of
//!   `train`), fitted on the baseline traces' windows; a trace's score is its highest window.

use std::collections::{BTreeMap, HashSet};

use inference_core::features::threat::ThreatType;
use inference_core::ThreatDetector;
use serde_json::{json, Value};

use super::baselines::logistic_regression;
use super::int8::serving_given;
use super::metrics::{roc_auc, threshold_for_fpr};
use super::replay::zero_history;
use crate::data::adfa::{append_trace, window, Trace, WINDOW};
use crate::data::dataset::Dataset;
use crate::error::Result;
use inference_core::ModelKind;

/// Calls per STIDE window (the classic choice, and the one published results on ADFA-LD use).
pub const STIDE_WINDOW: usize = 6;

/// Scores of the deployed model, per trace, in `[0, 1]`.
pub fn model_scores(blob: &[u8], traces: &[Trace]) -> Result<(Vec<f64>, u16)> {
    let detector = serving_given(ThreatDetector::new(Some(blob)))?;
    let scores = traces
        .iter()
        .map(|t| {
            let mut h = inference_core::features::threat::ThreatHistory::new();
            let mut best = 0u16;
            for (k, chunk) in t.calls.chunks(WINDOW).enumerate() {
                for &nr in chunk {
                    h.observe_call(nr);
                }
                best = best.max(detector.assess(&mut h, &window(k, chunk)).score);
            }
            best as f64 / 1000.0
        })
        .collect();
    Ok((scores, detector.threshold()))
}

/// STIDE's database: every window of the normal traces.
pub struct Stide {
    normal: HashSet<Vec<u32>>,
}

impl Stide {
    /// The windows of the normal traces among `traces`.
    pub fn fit(traces: &[Trace]) -> Stide {
        let normal = traces
            .iter()
            .filter(|t| t.class == ThreatType::None)
            .flat_map(|t| t.calls.windows(STIDE_WINDOW).map(<[u32]>::to_vec))
            .collect();
        Stide { normal }
    }

    /// Share of the trace's windows never seen in normal traces (0 for a trace shorter than
    /// one window).
    pub fn score(&self, calls: &[u32]) -> f64 {
        let n = calls.len().saturating_sub(STIDE_WINDOW - 1);
        if n == 0 {
            return 0.0;
        }
        let unseen = calls
            .windows(STIDE_WINDOW)
            .filter(|w| !self.normal.contains(*w))
            .count();
        unseen as f64 / n as f64
    }
}

/// The traces as a data set of windows, one group per trace, score history wiped.
fn windows_of(traces: &[Trace]) -> Dataset {
    let mut d = Dataset::new(ModelKind::Threat, "traces");
    for (g, t) in traces.iter().enumerate() {
        append_trace(&mut d, &t.calls, t.class, g as u32);
    }
    zero_history(&d)
}

/// Logistic regression's score per trace (its highest window), fitted on `train`'s windows.
pub fn logistic_scores(train: &[Trace], eval: &[Trace]) -> Option<Vec<f64>> {
    let (dt, de) = (windows_of(train), windows_of(eval));
    let p = logistic_regression(&dt, &de)?;
    let mut best = vec![0f64; eval.len()];
    for (i, &s) in p.iter().enumerate() {
        let g = de.group[i] as usize;
        best[g] = best[g].max(s);
    }
    Some(best)
}

/// ROC AUC, detection at FPR ≤ 5 % and ≤ 1 %, and (with `threshold`) detection and FPR there;
/// overall and per attack family (each family against all normal traces).
pub fn report(traces: &[Trace], scores: &[f64], threshold: Option<f64>) -> Value {
    let labels: Vec<bool> = traces.iter().map(|t| t.class != ThreatType::None).collect();
    let t5 = threshold_for_fpr(scores, &labels, 0.05);
    let t1 = threshold_for_fpr(scores, &labels, 0.01);
    let rate = |t: f64, attack: bool, family: Option<&str>| {
        let pick: Vec<usize> = (0..traces.len())
            .filter(|&i| labels[i] == attack && family.is_none_or(|f| traces[i].family == f))
            .collect();
        let hits = pick.iter().filter(|&&i| scores[i] >= t).count();
        hits as f64 / pick.len().max(1) as f64
    };
    let mut families: BTreeMap<&str, Value> = BTreeMap::new();
    for t in traces.iter().filter(|t| t.class != ThreatType::None) {
        families.entry(&t.family).or_insert(Value::Null);
    }
    for (f, v) in families.iter_mut() {
        let idx: Vec<usize> = (0..traces.len())
            .filter(|&i| !labels[i] || traces[i].family == *f)
            .collect();
        let s: Vec<f64> = idx.iter().map(|&i| scores[i]).collect();
        let l: Vec<bool> = idx.iter().map(|&i| labels[i]).collect();
        *v = json!({
            "traces": l.iter().filter(|&&x| x).count(),
            "roc_auc": roc_auc(&s, &l),
            "detection_at_fpr_5pct": rate(t5, true, Some(f)),
            "detection_at_fpr_1pct": rate(t1, true, Some(f)),
            "detection_at_model_threshold": threshold.map(|t| rate(t, true, Some(f))),
        });
    }
    json!({
        "roc_auc": roc_auc(scores, &labels),
        "detection_at_fpr_5pct": rate(t5, true, None),
        "fpr_at_fpr_5pct": rate(t5, false, None),
        "detection_at_fpr_1pct": rate(t1, true, None),
        "fpr_at_fpr_1pct": rate(t1, false, None),
        "detection_at_model_threshold": threshold.map(|t| rate(t, true, None)),
        "fpr_at_model_threshold": threshold.map(|t| rate(t, false, None)),
        "per_family": families,
    })
}

/// The whole per-trace evaluation: the model on `eval`, and, when `baseline_train` is given,
/// STIDE and logistic regression fitted on it.
pub fn evaluate(blob: &[u8], eval: &[Trace], baseline_train: Option<&[Trace]>) -> Result<Value> {
    let (scores, threshold) = model_scores(blob, eval)?;
    let attacks = eval.iter().filter(|t| t.class != ThreatType::None).count();
    let mut out = json!({
        "unit": "trace",
        "traces": eval.len(),
        "attacks": attacks,
        "model_threshold_permille": threshold,
        "detector": report(eval, &scores, Some(threshold as f64 / 1000.0)),
    });
    if let Some(train) = baseline_train {
        let stide = Stide::fit(train);
        let s: Vec<f64> = eval.iter().map(|t| stide.score(&t.calls)).collect();
        out["stide"] = report(eval, &s, None);
        if let Some(lr) = logistic_scores(train, eval) {
            out["logistic_regression"] = report(eval, &lr, None);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(calls: &[u32], class: ThreatType, family: &str) -> Trace {
        Trace {
            calls: calls.to_vec(),
            class,
            family: family.into(),
        }
    }

    #[test]
    fn stide_counts_unseen_windows() {
        let normal = trace(&[1, 2, 3, 4, 5, 6, 7, 8], ThreatType::None, "normal");
        let s = Stide::fit(&[normal]);
        assert_eq!(s.score(&[1, 2, 3, 4, 5, 6, 7]), 0.0);
        assert_eq!(s.score(&[1, 2, 3, 4, 5, 6, 9]), 0.5);
        assert_eq!(s.score(&[1, 2]), 0.0);
    }

    #[test]
    fn report_per_family() {
        let n = |i| trace(&[i], ThreatType::None, "normal");
        let a = |f: &str| trace(&[9], ThreatType::Backdoor, f);
        let traces = [n(1), n(2), n(3), n(4), a("Web_Shell"), a("Adduser")];
        let scores = [0.1, 0.2, 0.3, 0.4, 0.9, 0.35];
        let r = report(&traces, &scores, Some(0.5));
        assert_eq!(r["per_family"]["Web_Shell"]["roc_auc"], 1.0);
        assert_eq!(r["per_family"]["Adduser"]["roc_auc"], 0.75);
        assert_eq!(r["detection_at_model_threshold"], 0.5);
        assert_eq!(r["fpr_at_model_threshold"], 0.0);
        // no normal trace above the 5 % threshold, and the web shell is found
        assert_eq!(r["fpr_at_fpr_5pct"], 0.0);
        assert_eq!(r["per_family"]["Web_Shell"]["detection_at_fpr_5pct"], 1.0);
    }
}
