//! Training-only data augmentation.

use inference_core::blob::ABSENT;
use inference_core::features::workload::field::CURRENT;

use crate::data::dataset::Dataset;
use crate::rng::Rng;

/// Level augmentation for the workload: each sample again with its current values shifted by
/// up to ±30 points (history is relative to them and the target is a change, so neither moves).
/// A predictor of the next *change* should not depend on the absolute level a series happens to
/// run at; without this, a model trained on a handful of real series memorises their levels and
/// fails on a series at another level.
pub fn augment_levels(d: &Dataset, seed: u64) -> Dataset {
    let mut rng = Rng::new(seed ^ 0xA06);
    let mut out = d.clone();
    let nf = d.n_features();
    for i in 0..d.len() {
        let mut row = d.row(i).to_vec();
        let shift = (rng.range(-3000.0, 3000.0)) as i32;
        let ok = row[CURRENT]
            .iter()
            .all(|&v| v == ABSENT || (0..=10_000).contains(&(v + shift)));
        if !ok {
            continue;
        }
        for v in row[CURRENT].iter_mut() {
            if *v != ABSENT {
                *v += shift;
            }
        }
        debug_assert_eq!(row.len(), nf);
        out.push(&row, d.target(i), d.group[i], d.time[i]);
    }
    out
}
