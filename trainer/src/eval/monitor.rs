//! The thresholds a deployed model is watched with (the blob's optional monitor section): the
//! shim keeps a rolling error of every outcome reported (`aiml_*_outcome`) and raises its
//! degradation alert above `error_alert`, clearing it below `error_clear`; and it keeps
//! running means of the input codes and raises it when their drift score (`inference_core::
//! monitor`) passes `drift_alert`. The training data gives the input statistics; the levels
//! are chosen from the validation data, replayed through the same arithmetic, so that a model
//! that behaves, and is fed, as on validation data does not raise it.

use inference_core::blob::ABSENT;
use inference_core::blob::{MonitorWire, MAX_WIDTH};
use inference_core::features::workload;
use inference_core::monitor as drift;
use inference_core::{Model, ModelKind};

use crate::data::dataset::Dataset;
use crate::eval::int8::{int8_failure_probabilities, int8_outputs, int8_threat_score};

/// Outcomes the shim's rolling error averages over (`kernel-shim/src/health.rs`).
pub const ROLLING_SPAN: u64 = 32;

/// Fewest rolling values (after the warm-up) the thresholds are chosen from; fewer: none.
const MIN_VALUES: usize = 64;

/// Per-outcome errors of `model` on `d` in the shim's units, in time order within each group
/// (workload: |predicted − actual| CPU in percent × 100; threat and failure: 1000 for a wrong
/// decision at `threshold_permille`, else 0). `None` for memory, whose outcome (the next block
/// accessed) the validation rows do not carry.
pub fn errors(model: &Model<'_>, d: &Dataset, threshold_permille: u16) -> Option<Vec<u32>> {
    let mut order: Vec<usize> = (0..d.len()).collect();
    order.sort_by_key(|&i| (d.group[i], d.time[i]));
    let wrong = |alarm: bool, event: bool| if alarm == event { 0 } else { 1000 };
    match d.kind {
        ModelKind::Workload => {
            let out = int8_outputs(model, d);
            let cpu = workload::field::CURRENT.start;
            Some(
                order
                    .iter()
                    .filter_map(|&i| {
                        let (t, cur) = (d.target(i)[0], d.row(i)[cpu]);
                        if !t.is_finite() || cur == ABSENT {
                            return None;
                        }
                        let truth = cur as f64 + t as f64;
                        let pred = (cur as f64 + out[[i, 0]]).clamp(0.0, workload::FULL as f64);
                        Some((pred - truth).abs().round() as u32)
                    })
                    .collect(),
            )
        }
        ModelKind::Threat => Some(
            order
                .iter()
                .map(|&i| {
                    let alarm = int8_threat_score(model, d.row(i)) >= threshold_permille;
                    wrong(alarm, d.target(i)[0] > 0.0)
                })
                .collect(),
        ),
        ModelKind::Failure => {
            let p = int8_failure_probabilities(model, d);
            Some(
                order
                    .iter()
                    .filter(|&&i| d.target(i)[0].is_finite())
                    .map(|&i| {
                        let alarm = p[i] * 1000.0 >= threshold_permille as f64;
                        wrong(alarm, d.target(i)[0] > 0.5)
                    })
                    .collect(),
            )
        }
        ModelKind::Memory => None,
    }
}

/// The shim's rolling error after each outcome (`r ← r − r/32 + e`, reported as `r/32`),
/// from the warm-up on.
pub fn rolling(errors: &[u32]) -> Vec<u32> {
    let mut r: u64 = 0;
    let mut out = Vec::with_capacity(errors.len());
    for (n, &e) in errors.iter().enumerate() {
        r = r - r / ROLLING_SPAN + u64::from(e);
        if n + 1 >= ROLLING_SPAN as usize {
            out.push((r / ROLLING_SPAN).min(u64::from(u32::MAX)) as u32);
        }
    }
    out
}

/// The monitor section, owned (the blob borrows it: [`Monitor::wire`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Monitor {
    /// See [`MonitorWire`].
    pub error_alert: u32,
    /// See [`MonitorWire`].
    pub error_clear: u32,
    /// See [`MonitorWire`].
    pub min_outcomes: u16,
    /// See [`MonitorWire`].
    pub drift_alert: u32,
    /// See [`MonitorWire`].
    pub drift_clear: u32,
    /// See [`MonitorWire`].
    pub input_stats: Vec<u8>,
}

impl Monitor {
    /// The wire form.
    pub fn wire(&self) -> MonitorWire<'_> {
        MonitorWire {
            error_alert: self.error_alert,
            error_clear: self.error_clear,
            min_outcomes: self.min_outcomes,
            drift_alert: self.drift_alert,
            drift_clear: self.drift_clear,
            input_stats: &self.input_stats,
        }
    }
}

/// The int8 input codes of every row of `d`, in time order within each group.
fn codes(model: &Model<'_>, d: &Dataset) -> Vec<Vec<i8>> {
    let mut order: Vec<usize> = (0..d.len()).collect();
    order.sort_by_key(|&i| (d.group[i], d.time[i]));
    let n = model.n_features();
    order
        .iter()
        .map(|&i| {
            let mut c = [0i8; MAX_WIDTH];
            model.quantize_input(d.row(i), &mut c);
            c[..n].to_vec()
        })
        .collect()
}

/// Training mean and spread of each input code ([`drift::encode_stat`]).
pub fn input_stats(model: &Model<'_>, train: &Dataset) -> Vec<u8> {
    let rows = codes(model, train);
    let n = model.n_features();
    let k = rows.len().max(1) as f64;
    (0..n)
        .flat_map(|f| {
            let mean = rows.iter().map(|r| f64::from(r[f])).sum::<f64>() / k;
            let var = rows
                .iter()
                .map(|r| (f64::from(r[f]) - mean).powi(2))
                .sum::<f64>()
                / k;
            drift::encode_stat(
                (mean * 16.0).round().clamp(-2048.0, 2047.0) as i16,
                (var.sqrt() * 16.0).round().clamp(0.0, 4096.0) as u16,
            )
        })
        .collect()
}

/// The drift score after each sample of `d` (from the warm-up on), as the shim computes it
/// with running means that start at the training means.
pub fn drift_scores(model: &Model<'_>, d: &Dataset, stats: &[u8]) -> Vec<u32> {
    let n = model.n_features();
    let mut means: Vec<i32> = (0..n)
        .map(|f| drift::stat(stats, f).map_or(0, |(m, _)| m))
        .collect();
    let mut out = Vec::new();
    for (k, row) in codes(model, d).iter().enumerate() {
        for (m, &c) in means.iter_mut().zip(row) {
            *m = drift::update(*m, c);
        }
        if k + 1 >= ROLLING_SPAN as usize {
            out.push(drift::score(means.iter().copied(), stats));
        }
    }
    out
}

/// Alert and clear levels from the replayed values of a statistic: 1.5 × its 99th percentile
/// (at least that plus `margin`), and its 90th percentile. `None` with too few values.
fn levels(mut v: Vec<u32>, margin: u32) -> Option<(u32, u32)> {
    if v.len() < MIN_VALUES {
        return None;
    }
    v.sort_unstable();
    let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    let (p90, p99) = (q(0.90), q(0.99));
    let alert = (p99.saturating_mul(3) / 2)
        .max(p99.saturating_add(margin))
        .max(1);
    Some((alert, p90.min(alert - 1)))
}

/// Thresholds from validation errors: the alert at 1.5 × the 99th percentile of the rolling
/// error (at least that plus `margin`), the clear level at its 90th percentile (below the
/// alert). `None` when there are too few outcomes to say what normal is.
pub fn thresholds(errors: &[u32], margin: u32) -> Option<Monitor> {
    let (alert, clear) = levels(rolling(errors), margin)?;
    Some(Monitor {
        error_alert: alert,
        error_clear: clear,
        min_outcomes: ROLLING_SPAN as u16,
        ..Monitor::default()
    })
}

/// Margin of the drift alert above the replayed 99th percentile, per-mille of a spread.
const DRIFT_MARGIN: u32 = 200;

/// The monitor section of `model`: input statistics from `train`, drift and error levels
/// from the validation data `val` (see [`errors`], [`thresholds`], [`drift_scores`]; an
/// error margin of 1 percentage point for workload, 50 per-mille for the yes/no models).
/// `None` when neither can be chosen (too little validation data).
pub fn monitor(
    model: &Model<'_>,
    train: &Dataset,
    val: &Dataset,
    threshold_permille: u16,
) -> Option<Monitor> {
    let margin = match val.kind {
        ModelKind::Workload => 100,
        _ => 50,
    };
    let mut m = errors(model, val, threshold_permille)
        .and_then(|e| thresholds(&e, margin))
        .unwrap_or(Monitor {
            min_outcomes: ROLLING_SPAN as u16,
            ..Monitor::default()
        });
    if !train.is_empty() {
        let stats = input_stats(model, train);
        if let Some((alert, clear)) = levels(drift_scores(model, val, &stats), DRIFT_MARGIN) {
            (m.drift_alert, m.drift_clear, m.input_stats) = (alert, clear, stats);
        }
    }
    (m.error_alert != 0 || m.drift_alert != 0).then_some(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolling_matches_the_shim_and_thresholds_sit_above_normal() {
        // constant error: the rolling value converges to it from below
        let r = rolling(&[500; 400]);
        assert_eq!(r.len(), 400 - 31);
        assert!(r[0] < 500 && (495..=500).contains(r.last().unwrap()));
        // 5 % wrong decisions, spread out: alert above every rolling value seen, clear below it
        let errs: Vec<u32> = (0..2000)
            .map(|i| if i % 20 == 0 { 1000 } else { 0 })
            .collect();
        let m = thresholds(&errs, 50).unwrap();
        let max = *rolling(&errs).iter().max().unwrap();
        assert!(m.error_alert > max, "{m:?} max {max}");
        assert!(m.error_clear < m.error_alert && m.error_clear > 0);
        assert_eq!(m.min_outcomes, 32);
        // a model gone bad (half wrong) crosses it within a few dozen outcomes
        let mut bad = errs.clone();
        bad.extend((0..200).map(|i| if i % 2 == 0 { 1000 } else { 0 }));
        let after = rolling(&bad);
        let first = after[after.len() - 200..]
            .iter()
            .position(|&v| v > m.error_alert)
            .unwrap();
        assert!(first < 40, "{first}");
        // too few outcomes: no thresholds
        assert!(thresholds(&errs[..80], 50).is_none());
        // a perfect model still gets a positive alert level
        assert!(thresholds(&[0; 500], 50).unwrap().error_alert >= 50);
    }
}
