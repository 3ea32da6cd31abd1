//! Metrics, computed the same way for f32 outputs, int8 outputs and baselines.
//!
//! Definitions (used everywhere):
//! - workload: MAE in percentage points over every observed channel; `within_5pp` = share of
//!   predictions with |error| ≤ 5 points (the headline); `skill = 1 - MAE / MAE_persistence`.
//! - threat: the operating threshold is the lowest score with false-positive rate ≤ 5 % on the
//!   data; `detection_rate` (headline) and `false_positive_rate` at it, `roc_auc`, `accuracy`,
//!   and type accuracy among detected threats.
//! - failure: `detection_rate` (headline) of "fails within the horizon" at the operating
//!   point (false-alarm rate ≤ 1 % of healthy samples, or ≤ 1 false alarm per machine-day on
//!   real incident data), `false_alarm_rate`, `accuracy`; lead time from the first sustained alarm (3
//!   consecutive samples, within the 2 hours before the failure) to the failure: median over
//!   all failures (unwarned ones count as 0), and share of failures warned ≥ 10 min ahead.
//! - memory: over the distinct blocks proposed at each block change (recent blocks excluded),
//!   `prefetch_precision` = useful issued / issued, `prefetch_recall` = useful issued / useful
//!   proposed, `prefetch_f1` (headline) their harmonic mean; a proposal is issued at
//!   probability ≥ 0.5 and is useful when the block is demanded within the horizon.

use inference_core::blob::ABSENT;
use inference_core::features::{failure, memory, workload};
use inference_core::ModelKind;
use ndarray::Array2;
use serde::Serialize;

use crate::data::dataset::Dataset;

/// Metrics of one model on one data set; unused fields stay `None`.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Metrics {
    /// Samples evaluated.
    pub samples: usize,
    /// Name of the headline metric.
    pub headline_name: &'static str,
    /// Workload: MAE, percentage points.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mae_pp: Option<f64>,
    /// Workload: share within 5 points.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub within_5pp: Option<f64>,
    /// Workload: persistence MAE on the same data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persistence_mae_pp: Option<f64>,
    /// Workload: skill vs persistence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skill: Option<f64>,
    /// Threat/failure: detection rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detection_rate: Option<f64>,
    /// Threat: false-positive rate at the threshold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub false_positive_rate: Option<f64>,
    /// Failure: false-alarm rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub false_alarm_rate: Option<f64>,
    /// Threat: ROC AUC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roc_auc: Option<f64>,
    /// Threat/failure: accuracy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<f64>,
    /// Threat: type accuracy among detected threats.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub type_accuracy: Option<f64>,
    /// Threat: operating threshold, per-mille.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold_permille: Option<u16>,
    /// Failure: failures in the data (components).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<usize>,
    /// Failure: median lead time, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub median_lead_time_s: Option<f64>,
    /// Failure: share of failures warned ≥ 10 minutes ahead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share_warned_10min: Option<f64>,
    /// Memory: share of issued prefetches that are useful.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefetch_precision: Option<f64>,
    /// Memory: share of useful proposals that are issued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefetch_recall: Option<f64>,
    /// Memory: harmonic mean of precision and recall.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefetch_f1: Option<f64>,
}

impl Metrics {
    /// The headline value (higher is better); `-inf` when undefined.
    pub fn headline(&self) -> f64 {
        let v = match self.headline_name {
            "within_5pp" => self.within_5pp,
            "detection_rate" => self.detection_rate,
            "accuracy" => self.accuracy,
            "prefetch_f1" => self.prefetch_f1,
            _ => None,
        };
        v.filter(|x| x.is_finite()).unwrap_or(f64::NEG_INFINITY)
    }
}

impl Metrics {
    /// What picks the best epoch (higher is better): the headline, except for the workload,
    /// where the MAE is used (within-5-points moves in coarse steps and can stall on a plateau
    /// that persistence already reaches), and for failures (metrics with `events`), where the
    /// ROC AUC of the failure probability is used (its operating point moves with the model).
    pub fn selection(&self) -> f64 {
        match (self.headline_name, self.mae_pp, self.roc_auc) {
            ("within_5pp", Some(m), _) if m.is_finite() => -m,
            (_, _, Some(a)) if self.events.is_some() && a.is_finite() => a,
            _ => self.headline(),
        }
    }
}

/// Name of a kind's headline metric.
pub fn headline_name(kind: ModelKind) -> &'static str {
    match kind {
        ModelKind::Workload => "within_5pp",
        ModelKind::Threat => "detection_rate",
        ModelKind::Failure => "detection_rate",
        ModelKind::Memory => "prefetch_f1",
    }
}

/// Metrics of outputs `out` (fixed units, one row per sample) on `d`.
pub fn evaluate(d: &Dataset, out: &Array2<f64>) -> Metrics {
    match d.kind {
        ModelKind::Workload => workload_metrics(d, |i, c| out[[i, c]]),
        ModelKind::Threat => {
            let scores: Vec<f64> = (0..d.len())
                .map(|i| {
                    let p = softmax((0..out.ncols()).map(|c| out[[i, c]] / 256.0));
                    (1.0 - p[0], argmax(&p[1..]) + 1)
                })
                .map(|(s, _)| s)
                .collect();
            let types: Vec<usize> = (0..d.len())
                .map(|i| argmax(&(1..out.ncols()).map(|c| out[[i, c]]).collect::<Vec<_>>()) + 1)
                .collect();
            threat_metrics(d, &scores, Some(&types))
        }
        ModelKind::Failure => {
            let p: Vec<f64> = (0..d.len())
                .map(|i| 1.0 / (1.0 + (-out[[i, failure::OUT_FAIL]] / 256.0).exp()))
                .collect();
            failure_metrics_at(d, &p, None)
        }
        ModelKind::Memory => {
            memory_metrics(d, |i, k| 1.0 / (1.0 + (-out[[i, k]] / 256.0).exp()) >= 0.5)
        }
    }
}

fn softmax(z: impl Iterator<Item = f64>) -> Vec<f64> {
    let z: Vec<f64> = z.collect();
    let m = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = z.iter().map(|v| (v - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.into_iter().map(|v| v / s).collect()
}

/// Index of the largest value (first on ties).
pub fn argmax(v: &[f64]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

/// Absolute error of the predicted change `delta` (percent × 100) of channel `c` in sample `i`,
/// and persistence's; `None` when the channel is not observed there.
fn channel_error(d: &Dataset, i: usize, c: usize, delta: f64) -> Option<(f64, f64)> {
    let t = d.target(i)[c];
    let cur = d.row(i)[workload::field::CURRENT.start + c];
    if !t.is_finite() || cur == ABSENT {
        return None;
    }
    let truth = cur as f64 + t as f64;
    let pred = (cur as f64 + delta).clamp(0.0, workload::FULL as f64);
    Some(((pred - truth).abs(), (truth - cur as f64).abs()))
}

/// Workload metrics; `delta(i, c)` is the predicted change of channel `c` (percent × 100).
pub fn workload_metrics(d: &Dataset, delta: impl Fn(usize, usize) -> f64) -> Metrics {
    let (mut n, mut abs, mut within, mut pers) = (0usize, 0f64, 0usize, 0f64);
    for i in 0..d.len() {
        for c in 0..3 {
            let Some((e, p)) = channel_error(d, i, c, delta(i, c)) else {
                continue;
            };
            n += 1;
            abs += e;
            within += (e <= 500.0) as usize;
            pers += p;
        }
    }
    let nf = n.max(1) as f64;
    let mae = abs / nf / 100.0;
    let pmae = pers / nf / 100.0;
    Metrics {
        samples: d.len(),
        headline_name: "within_5pp",
        mae_pp: Some(mae),
        within_5pp: Some(within as f64 / nf),
        persistence_mae_pp: Some(pmae),
        skill: Some(skill(mae, pmae)),
        ..Default::default()
    }
}

/// `1 - mae / persistence`, 0 when persistence is perfect.
pub fn skill(mae: f64, persistence: f64) -> f64 {
    if persistence > 0.0 {
        1.0 - mae / persistence
    } else {
        0.0
    }
}

/// One workload channel: MAE and persistence MAE in percentage points, and the samples where
/// the channel is observed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ChannelMae {
    /// MAE of the predictions, percentage points.
    pub mae_pp: f64,
    /// MAE of persistence on the same samples.
    pub persistence_mae_pp: f64,
    /// Samples with the channel observed.
    pub n: usize,
}

/// [`ChannelMae`] of channel `c`; `delta(i)` is the predicted change in sample `i`.
pub fn channel_mae(d: &Dataset, c: usize, delta: impl Fn(usize) -> f64) -> ChannelMae {
    let (mut n, mut abs, mut pers) = (0usize, 0f64, 0f64);
    for i in 0..d.len() {
        if let Some((e, p)) = channel_error(d, i, c, delta(i)) {
            n += 1;
            abs += e;
            pers += p;
        }
    }
    let nf = n.max(1) as f64 * 100.0;
    ChannelMae {
        mae_pp: abs / nf,
        persistence_mae_pp: pers / nf,
        n,
    }
}

/// `a / b`, NaN when `b` is 0 (an undefined rate, not a perfect or a zero one).
fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        f64::NAN
    } else {
        a as f64 / b as f64
    }
}

/// ROC AUC of `scores` for binary `labels` (ties count half).
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> f64 {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let (mut rank_sum, mut i) = (0f64, 0);
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            if labels[k] {
                rank_sum += avg;
            }
        }
        i = j + 1;
    }
    let pos = labels.iter().filter(|&&l| l).count() as f64;
    let neg = labels.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return f64::NAN;
    }
    (rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg)
}

/// Lowest threshold whose false-positive rate is at most `max_fpr`.
pub fn threshold_for_fpr(scores: &[f64], labels: &[bool], max_fpr: f64) -> f64 {
    let mut neg: Vec<f64> = scores
        .iter()
        .zip(labels)
        .filter(|(_, &l)| !l)
        .map(|(&s, _)| s)
        .collect();
    if neg.is_empty() {
        return 0.5;
    }
    neg.sort_by(|a, b| b.total_cmp(a));
    let allowed = (max_fpr * neg.len() as f64).floor() as usize;
    // alarms are score >= threshold: put it just above the (allowed+1)-th highest negative
    let t = neg[allowed.min(neg.len() - 1)];
    if allowed >= neg.len() {
        0.0
    } else {
        next_up(t)
    }
}

fn next_up(x: f64) -> f64 {
    x + 1e-9_f64.max(x.abs() * 1e-12)
}

/// The lowest threat threshold (per-mille) at which at most `max_fpr` of the benign processes
/// (groups of `d`) have any window at or above it; a process is an attack when any of its
/// windows is labelled one. `scores` are per-mille, one per window of `d`.
pub fn process_threshold_permille(d: &Dataset, scores: &[u16], max_fpr: f64) -> u16 {
    let mut by_group: std::collections::BTreeMap<u32, (u16, bool)> = Default::default();
    for (i, &s) in scores.iter().enumerate() {
        let e = by_group.entry(d.group[i]).or_insert((0, false));
        e.0 = e.0.max(s);
        e.1 |= d.target(i)[0] > 0.5;
    }
    let (best, labels): (Vec<f64>, Vec<bool>) = by_group
        .values()
        .map(|&(s, attack)| (s as f64, attack))
        .unzip();
    // scores are whole per-mille: the next integer above the allowed benign maximum
    threshold_for_fpr(&best, &labels, max_fpr)
        .ceil()
        .clamp(0.0, 1000.0) as u16
}

/// Threat metrics from benign-vs-threat scores in `[0, 1]`; `types` are predicted attack types.
pub fn threat_metrics(d: &Dataset, scores: &[f64], types: Option<&[usize]>) -> Metrics {
    threat_metrics_at(d, scores, types, None)
}

/// Threat metrics at a fixed threshold (`None`: the lowest with FPR ≤ 5 % on `d`).
pub fn threat_metrics_at(
    d: &Dataset,
    scores: &[f64],
    types: Option<&[usize]>,
    threshold: Option<f64>,
) -> Metrics {
    let labels: Vec<bool> = (0..d.len()).map(|i| d.target(i)[0] > 0.0).collect();
    let thr = threshold.unwrap_or_else(|| {
        // the lowest threshold within the FPR budget detects the most; raising it up to the
        // lowest threat score above it detects exactly as many with fewer false alarms
        let t = threshold_for_fpr(scores, &labels, 0.05);
        scores
            .iter()
            .zip(&labels)
            .filter(|(&s, &l)| l && s >= t)
            .map(|(&s, _)| s)
            .fold(f64::INFINITY, f64::min)
            .min(1.0)
            .max(t)
    });
    let (mut tp, mut fp, mut tn, mut fn_, mut typed_ok) = (0, 0, 0, 0, 0);
    for i in 0..d.len() {
        let alarm = scores[i] >= thr;
        match (alarm, labels[i]) {
            (true, true) => {
                tp += 1;
                if let Some(t) = types {
                    typed_ok += (t[i] as f32 == d.target(i)[0]) as usize;
                }
            }
            (true, false) => fp += 1,
            (false, false) => tn += 1,
            (false, true) => fn_ += 1,
        }
    }
    Metrics {
        samples: d.len(),
        headline_name: "detection_rate",
        detection_rate: Some(ratio(tp, tp + fn_)),
        false_positive_rate: Some(ratio(fp, fp + tn)),
        roc_auc: Some(roc_auc(scores, &labels)),
        accuracy: Some(ratio(tp + tn, d.len())),
        type_accuracy: types.map(|_| ratio(typed_ok, tp)),
        threshold_permille: Some((thr * 1000.0).ceil().clamp(0.0, 1000.0) as u16),
        ..Default::default()
    }
}

/// How far before a failure an alarm still counts as its warning, seconds.
pub const WARNING_LOOKBACK_S: i64 = 7200;

/// Share of healthy samples a failure model may alarm on at its operating point (synthetic and
/// JSONL data; real incident data is held to false alarms per machine-day instead).
pub const MAX_FALSE_ALARM_RATE: f64 = 0.01;

/// The lowest threshold at which at most `max_rate` of the healthy samples of `d` alarm
/// (probability ≥ threshold); 0.5 when `d` has no healthy sample.
pub fn failure_threshold_at(d: &Dataset, p: &[f64], max_rate: f64) -> f64 {
    let mut healthy: Vec<f64> = (0..d.len().min(p.len()))
        .filter(|&i| d.target(i)[0] <= 0.5)
        .map(|i| p[i])
        .collect();
    if healthy.is_empty() {
        return 0.5;
    }
    healthy.sort_by(|a, b| b.total_cmp(a));
    let allowed = (max_rate * healthy.len() as f64).floor() as usize;
    match healthy.get(allowed) {
        // just above the first healthy score that must not alarm
        Some(&v) => (v + 1e-9).min(1.0 + 1e-9),
        None => 0.0,
    }
}

/// Failure metrics at the operating point: `threshold`, or the lowest one that keeps the
/// false-alarm rate at most [`MAX_FALSE_ALARM_RATE`]. Detection there is the headline:
/// failures are rare, and accuracy would prefer a model that never warns.
pub fn failure_metrics_at(d: &Dataset, p: &[f64], threshold: Option<f64>) -> Metrics {
    let t = threshold.unwrap_or_else(|| failure_threshold_at(d, p, MAX_FALSE_ALARM_RATE));
    failure_metrics(d, p, t)
}

/// Failure metrics from probabilities of failing within the horizon, alarming at
/// probability ≥ `threshold`.
pub fn failure_metrics(d: &Dataset, p: &[f64], threshold: f64) -> Metrics {
    let (mut tp, mut fp, mut tn, mut fn_) = (0, 0, 0, 0);
    for (i, &pi) in p.iter().enumerate().take(d.len()) {
        let alarm = pi >= threshold;
        match (alarm, d.target(i)[0] > 0.5) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, false) => tn += 1,
            (false, true) => fn_ += 1,
        }
    }
    // lead times per failing component
    // one entry per failure: a component (or a long real series) may fail several times
    let mut by_group: std::collections::BTreeMap<(u32, i64), Vec<usize>> = Default::default();
    for i in 0..d.len() {
        if d.event_time[i] != i64::MAX {
            by_group
                .entry((d.group[i], d.event_time[i]))
                .or_default()
                .push(i);
        }
    }
    let mut leads = Vec::new();
    for idx in by_group.values_mut() {
        idx.sort_by_key(|&i| d.time[i]);
        let fail_t = d.event_time[idx[0]];
        let mut run = 0;
        let mut lead = None;
        for &i in idx.iter() {
            if d.time[i] >= fail_t {
                break;
            }
            // an alarm more than two hours ahead is a false alarm, not a warning of this failure
            if d.time[i] < fail_t - WARNING_LOOKBACK_S {
                continue;
            }
            run = if p[i] >= threshold { run + 1 } else { 0 };
            if run == 3 {
                // sustained from the first of the three
                let first = idx[idx
                    .iter()
                    .position(|&k| k == i)
                    .unwrap_or(0)
                    .saturating_sub(2)];
                lead = Some((fail_t - d.time[first]) as f64);
                break;
            }
        }
        leads.push(lead);
    }
    let events = leads.len();
    let mut warned: Vec<f64> = leads.iter().flatten().cloned().collect();
    warned.sort_by(|a, b| a.total_cmp(b));
    let median = if warned.is_empty() {
        0.0
    } else {
        // failures never warned count as 0 lead
        let mut all: Vec<f64> = leads.iter().map(|l| l.unwrap_or(0.0)).collect();
        all.sort_by(|a, b| a.total_cmp(b));
        all[all.len() / 2]
    };
    let labels: Vec<bool> = (0..d.len()).map(|i| d.target(i)[0] > 0.5).collect();
    Metrics {
        samples: d.len(),
        headline_name: "detection_rate",
        threshold_permille: Some((threshold * 1000.0).ceil().clamp(0.0, 1000.0) as u16),
        roc_auc: Some(roc_auc(
            &p[..d.len().min(p.len())],
            &labels[..d.len().min(p.len())],
        )),
        accuracy: Some(ratio(tp + tn, d.len())),
        detection_rate: Some(ratio(tp, tp + fn_)),
        false_alarm_rate: Some(ratio(fp, fp + tn)),
        events: Some(events),
        median_lead_time_s: Some(median),
        share_warned_10min: Some(ratio(
            warned.iter().filter(|&&l| l >= 600.0).count(),
            events,
        )),
        ..Default::default()
    }
}

/// Memory metrics when `issue(i, k)` says whether sample `i`'s proposal `k` is prefetched.
/// Proposals naming a recent or resident block (no label) are left out; proposals naming the
/// same block (the same candidate delta) count once.
pub fn memory_metrics(d: &Dataset, issue: impl Fn(usize, usize) -> bool) -> Metrics {
    let (mut issued, mut useful_issued, mut useful) = (0usize, 0usize, 0usize);
    for i in 0..d.len() {
        let f = d.row(i);
        let t = d.target(i);
        let mut seen: Vec<i32> = Vec::with_capacity(memory::N_CANDIDATES);
        let mut taken: Vec<i32> = Vec::with_capacity(memory::N_CANDIDATES);
        for k in 0..memory::N_CANDIDATES {
            // recent or resident blocks: no prefetch to judge
            if f[memory::field::CANDIDATE_STALE.start + k] != 0 || !t[k].is_finite() {
                continue;
            }
            let delta = f[memory::field::CANDIDATES.start + k];
            let hit = t[k] > 0.5;
            if hit && !seen.contains(&delta) {
                seen.push(delta);
                useful += 1;
            }
            if issue(i, k) && !taken.contains(&delta) {
                taken.push(delta);
                issued += 1;
                useful_issued += hit as usize;
            }
        }
    }
    let precision = if issued == 0 {
        f64::NAN
    } else {
        useful_issued as f64 / issued as f64
    };
    let recall = if useful == 0 {
        f64::NAN
    } else {
        useful_issued as f64 / useful as f64
    };
    let f1 = if useful_issued == 0 {
        if useful == 0 {
            f64::NAN
        } else {
            0.0
        }
    } else {
        2.0 * precision * recall / (precision + recall)
    };
    Metrics {
        samples: d.len(),
        headline_name: "prefetch_f1",
        prefetch_precision: Some(precision),
        prefetch_recall: Some(recall),
        prefetch_f1: Some(f1),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_operating_point_keeps_the_false_alarm_rate() {
        let mut d = Dataset::new(ModelKind::Failure, "t");
        let f = vec![0; failure::N_FEATURES];
        // 200 healthy samples scored 0.000..0.199, 10 failing ones scored 0.15..0.60
        let mut p = Vec::new();
        for i in 0..200 {
            d.push(&f, &[0.0, f32::NAN, f32::NAN], 0, i);
            p.push(i as f64 / 1000.0);
        }
        for i in 0..10 {
            d.push(&f, &[1.0, 60.0, 1.0], 0, 200 + i);
            p.push(0.15 + 0.05 * i as f64);
        }
        // 1 % of 200 healthy: two may alarm, so the threshold sits just above 0.197
        let t = failure_threshold_at(&d, &p, 0.01);
        assert!(t > 0.197 && t < 0.1971, "{t}");
        let m = failure_metrics_at(&d, &p, None);
        assert_eq!(m.headline_name, "detection_rate");
        assert_eq!(m.false_alarm_rate, Some(0.01));
        assert_eq!(m.detection_rate, Some(0.9)); // 0.20..0.60 alarm, 0.15 does not
        assert_eq!(m.threshold_permille, Some(198));
        // a model scoring every healthy sample 0 alarms on anything above it
        let zeros: Vec<f64> = (0..210).map(|i| if i < 200 { 0.0 } else { 0.5 }).collect();
        assert_eq!(
            failure_metrics_at(&d, &zeros, None).detection_rate,
            Some(1.0)
        );
    }

    #[test]
    fn auc_and_threshold() {
        let s = [0.1, 0.4, 0.35, 0.8];
        let l = [false, false, true, true];
        assert!((roc_auc(&s, &l) - 0.75).abs() < 1e-12);
        assert!((roc_auc(&[0.5; 4], &l) - 0.5).abs() < 1e-12);
        let neg: Vec<f64> = (0..100).map(|i| i as f64 / 100.0).collect();
        let labels = vec![false; 100];
        let t = threshold_for_fpr(&neg, &labels, 0.05);
        let fp = neg.iter().filter(|&&v| v >= t).count();
        assert_eq!(fp, 5);
    }
}
