//! The threat detector reads its own past scores. These helpers wipe that history from a data
//! set, or rebuild it by replaying every process in time order through a scoring function,
//! exactly as `ThreatDetector::assess` does when serving.

use inference_core::features::threat::field::FROM_HISTORY;
use inference_core::features::threat::{ProcessWindow, ThreatHistory};

use crate::data::dataset::Dataset;

/// The threat features with the score history wiped (no scores yet, never a threat).
pub fn zero_history(d: &Dataset) -> Dataset {
    let blank = ThreatHistory::new().features(&ProcessWindow::default());
    let mut out = d.clone();
    let nf = d.n_features();
    for row in out.features.chunks_exact_mut(nf) {
        row[FROM_HISTORY].copy_from_slice(&blank[FROM_HISTORY]);
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
            row[FROM_HISTORY].copy_from_slice(&hist[FROM_HISTORY]);
            let s = score(row);
            scores[i] = s;
            h.record(s, s >= threshold, end_ms);
        }
    }
    (out, scores)
}
