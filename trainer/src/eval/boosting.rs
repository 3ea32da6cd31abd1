//! Gradient-boosted regression trees with absolute-error (LAD) loss, a fitted workload baseline
//! of `trainer evaluate` (see [`workload`](super::workload)): Friedman's LAD_TreeBoost, where
//! each tree is fitted to the sign of the current residuals and each of its leaves is then set
//! to the median residual of its samples.
//!
//! The trees are the `gbdt` crate's (gbdt-rs), which implements exactly that tree
//! (`Loss::LAD`) with depth and split size set directly. `forust-ml` offers only squared and
//! log loss; `perpetual` has an absolute loss but replaces the number of trees, depth and
//! learning rate by a single "budget" and pulls in rayon and sysinfo.
//!
//! The boosting loop is ours, not `gbdt::gradient_boost::GBDT::fit`, for two reasons:
//! - GBDT takes the sign of a zero residual as +1. When at least half the labels share the
//!   smallest value (changes are often exactly 0, or take few values), the initial median is
//!   that value, every residual is ≥ 0, the first tree has nothing to split, its leaf is the
//!   median residual 0, and the ensemble never moves from the median (seen on a two-valued
//!   change: the unit test below). Here a zero residual has sign 0, the subgradient. On Bitbrains the convention moves the CPU MAE by a
//!   few percent, not always the same way (better on some held-out VMs, worse on others), and
//!   the memory MAE hardly at all.
//! - GBDT draws row and feature subsamples from an unseeded `thread_rng`. Here every tree sees
//!   all rows and features, so a fit is deterministic without a seed; the caller subsamples.

use gbdt::config::Loss;
use gbdt::decision_tree::{Data, DataVec, DecisionTree, TrainingCache};

/// gbdt's most memory-hungry, fastest training cache (every feature presorted once).
const CACHE_LEVEL: u8 = 2;

/// Settings of the ensemble, validated before fitting ([`BoostParams::is_valid`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoostParams {
    /// Trees.
    pub trees: usize,
    /// Greatest depth of a tree.
    pub max_depth: u32,
    /// Shrinkage of each tree's contribution.
    pub learning_rate: f32,
    /// Nodes of at most this many samples are not split (gbdt's `min_leaf_size`; a split may
    /// still leave a smaller child).
    pub min_split: usize,
    /// Most training samples (the workload baseline takes them evenly spaced).
    pub max_samples: usize,
}

impl Default for BoostParams {
    /// 150 trees of depth ≤ 6 at a learning rate of 0.1, nodes of ≤ 20 samples not split,
    /// ≤ 20000 samples: both channels of 24 Bitbrains VMs fit in 16–18 s (release build, one
    /// core; gbdt does not use threads).
    fn default() -> BoostParams {
        BoostParams {
            trees: 150,
            max_depth: 6,
            learning_rate: 0.1,
            min_split: 20,
            max_samples: 20_000,
        }
    }
}

impl BoostParams {
    /// Whether an ensemble can be fitted with these settings (gbdt would panic or learn
    /// nothing otherwise).
    pub fn is_valid(&self) -> bool {
        self.trees > 0
            && self.max_depth > 0
            && self.learning_rate.is_finite()
            && self.learning_rate > 0.0
            && self.min_split > 0
            && self.max_samples >= 2
    }
}

/// A fitted ensemble: the median label plus the shrunk sum of the trees.
#[derive(Debug)]
pub struct LadBoost {
    median: f32,
    learning_rate: f32,
    trees: Vec<DecisionTree>,
}

impl LadBoost {
    /// Fits `x` (one row of `n_features` finite values per sample) to the finite labels `y`;
    /// `None` when the settings are invalid, the lengths disagree or there are fewer than
    /// two samples.
    pub fn fit(x: Vec<Vec<f32>>, y: &[f32], n_features: usize, p: &BoostParams) -> Option<Self> {
        let usable = p.is_valid()
            && x.len() == y.len()
            && y.len() >= 2
            && y.iter().all(|v| v.is_finite())
            && x.iter()
                .all(|r| r.len() == n_features && r.iter().all(|v| v.is_finite()));
        if !usable {
            return None;
        }
        let median = median(y);
        let mut data: DataVec = x
            .into_iter()
            .zip(y)
            .map(|(r, &t)| Data::new_training_data(r, 1.0, t, None))
            .collect();
        let mut fitted = vec![median; data.len()];
        let mut cache = TrainingCache::get_cache(n_features, &data, CACHE_LEVEL);
        let mut trees = Vec::with_capacity(p.trees);
        for _ in 0..p.trees {
            for (d, &f) in data.iter_mut().zip(&fitted) {
                d.residual = d.label - f;
                d.target = sign(d.residual);
            }
            let mut tree = DecisionTree::new();
            tree.set_feature_size(n_features);
            tree.set_max_depth(p.max_depth);
            tree.set_min_leaf_size(p.min_split);
            tree.set_loss(Loss::LAD);
            tree.fit(&data, &mut cache);
            for (f, step) in fitted.iter_mut().zip(cache.get_preds()) {
                *f += p.learning_rate * step;
            }
            trees.push(tree);
        }
        Some(LadBoost {
            median,
            learning_rate: p.learning_rate,
            trees,
        })
    }

    /// Predictions for `x` (rows as in [`LadBoost::fit`], made with `Data::new_test_data`).
    pub fn predict(&self, x: &DataVec) -> Vec<f32> {
        let mut out = vec![self.median; x.len()];
        for tree in &self.trees {
            for (o, step) in out.iter_mut().zip(tree.predict(x)) {
                *o += self.learning_rate * step;
            }
        }
        out
    }
}

/// −1, 0 or 1 (`f32::signum` gives ±1 for ±0).
fn sign(r: f32) -> f32 {
    if r > 0.0 {
        1.0
    } else if r < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// Median of a non-empty slice of finite values (the mean of the middle two for an even
/// length).
fn median(y: &[f32]) -> f32 {
    let mut s = y.to_vec();
    s.sort_by(f32::total_cmp);
    let m = s.len() / 2;
    if s.len() % 2 == 1 {
        s[m]
    } else {
        (s[m - 1] + s[m]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(x: &[Vec<f32>]) -> DataVec {
        x.iter()
            .map(|r| Data::new_test_data(r.clone(), None))
            .collect()
    }

    /// A change that takes two values, the median being one of them: gbdt's own loop stays at
    /// the median for ever (every residual ≥ 0), ours must learn the step.
    #[test]
    fn learns_a_two_valued_step_whose_median_is_a_label() {
        let x: Vec<Vec<f32>> = (0..400).map(|i| vec![i as f32, (i % 7) as f32]).collect();
        let y: Vec<f32> = (0..400)
            .map(|i| if i < 220 { -600.0 } else { 800.0 })
            .collect();
        assert_eq!(median(&y), -600.0);
        let Some(g) = LadBoost::fit(x.clone(), &y, 2, &BoostParams::default()) else {
            panic!("no ensemble fitted");
        };
        let mae = g
            .predict(&rows(&x))
            .iter()
            .zip(&y)
            .map(|(p, t)| (p - t).abs())
            .sum::<f32>()
            / y.len() as f32;
        assert!(mae < 1.0, "MAE {mae}");
    }

    /// Absolute loss: one wild label moves a leaf no further than a typical one would.
    #[test]
    fn an_outlier_does_not_pull_the_fit() {
        let x: Vec<Vec<f32>> = (0..200).map(|i| vec![(i % 10) as f32]).collect();
        let mut y = vec![100.0f32; 200];
        y[17] = 1.0e6;
        let p = BoostParams {
            max_depth: 2,
            ..BoostParams::default()
        };
        let Some(g) = LadBoost::fit(x.clone(), &y, 1, &p) else {
            panic!("no ensemble fitted");
        };
        for v in g.predict(&rows(&x)) {
            assert!((v - 100.0).abs() < 1.0, "{v}");
        }
    }

    #[test]
    fn refuses_what_it_cannot_fit() {
        let ok = BoostParams::default();
        let x = vec![vec![0.0], vec![1.0], vec![2.0]];
        let y = [0.0, 1.0, 2.0];
        assert!(LadBoost::fit(x.clone(), &y, 1, &ok).is_some());
        for bad in [
            BoostParams { trees: 0, ..ok },
            BoostParams { max_depth: 0, ..ok },
            BoostParams {
                learning_rate: f32::NAN,
                ..ok
            },
            BoostParams { min_split: 0, ..ok },
        ] {
            assert!(!bad.is_valid());
            assert!(LadBoost::fit(x.clone(), &y, 1, &bad).is_none(), "{bad:?}");
        }
        assert!(LadBoost::fit(x.clone(), &y[..2], 1, &ok).is_none());
        assert!(LadBoost::fit(x.clone(), &[0.0, f32::NAN, 1.0], 1, &ok).is_none());
        assert!(LadBoost::fit(x.clone(), &y, 2, &ok).is_none());
        assert!(LadBoost::fit(vec![vec![0.0]], &[1.0], 1, &ok).is_none());
    }
}
