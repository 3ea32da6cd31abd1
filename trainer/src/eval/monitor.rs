//! The thresholds a deployed model is watched with (the blob's optional monitor section): the
//! shim keeps a rolling error of every outcome reported (`aiml_*_outcome`) and raises its
//! degradation alert above `error_alert`, clearing it below `error_clear`. Both are chosen
//! here from the validation data, replayed through the same rolling average, so that a model
//! that behaves as it did on validation data does not raise it.

use inference_core::blob::MonitorWire;
use inference_core::blob::ABSENT;
use inference_core::features::workload;
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

/// Thresholds from validation errors: the alert at 1.5 × the 99th percentile of the rolling
/// error (at least that plus `margin`), the clear level at its 90th percentile (below the
/// alert). `None` when there are too few outcomes to say what normal is.
pub fn thresholds(errors: &[u32], margin: u32) -> Option<MonitorWire> {
    let mut r = rolling(errors);
    if r.len() < MIN_VALUES {
        return None;
    }
    r.sort_unstable();
    let q = |p: f64| r[((r.len() - 1) as f64 * p).round() as usize];
    let (p90, p99) = (q(0.90), q(0.99));
    let alert = (p99.saturating_mul(3) / 2)
        .max(p99.saturating_add(margin))
        .max(1);
    let clear = p90.min(alert - 1);
    Some(MonitorWire {
        error_alert: alert,
        error_clear: clear,
        min_outcomes: ROLLING_SPAN as u16,
    })
}

/// The monitor section of `model` on validation data `d` (see [`errors`], [`thresholds`]):
/// a margin of 1 percentage point for workload, 50 per-mille for the yes/no models.
pub fn monitor(model: &Model<'_>, d: &Dataset, threshold_permille: u16) -> Option<MonitorWire> {
    let margin = match d.kind {
        ModelKind::Workload => 100,
        _ => 50,
    };
    thresholds(&errors(model, d, threshold_permille)?, margin)
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
