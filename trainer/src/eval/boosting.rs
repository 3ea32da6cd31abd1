//! Gradient-boosted regression trees with absolute-error (LAD) loss, a fitted workload baseline
//! of `trainer evaluate` (see [`workload`](super::workload)) and the teacher the workload
//! network is distilled from: Friedman's LAD_TreeBoost, where each tree is fitted by least
//! squares to the sign of the current residuals and each of its leaves is then set to the
//! median residual of its samples.
//!
//! The trees are histogram trees grown leaf-wise, the design of LightGBM and of scikit-learn's
//! `HistGradientBoostingRegressor(loss="absolute_error")`: every feature is cut once into at
//! most 256 bins at quantiles of its values, a node's split is found from per-bin sums of the
//! signs, a child's histogram is the parent's minus its sibling's, and the leaf with the
//! largest gain is split next until a tree has [`BoostParams::max_leaves`] leaves. That lets a
//! fit see every training sample (about 200 000 for 24 Bitbrains VMs) where the exact trees of
//! the `gbdt` crate used before had to be fed a tenth of them; on the workload CV this lifted
//! the trees' CPU skill (see docs/WORKLOAD.md). No crate of the field offers it with this loss
//! and explicit settings: `forust-ml` has only squared and log loss, `perpetual` replaces the
//! number of trees, leaves and learning rate by a single "budget", and `gbdt` is exact and
//! depth-wise.
//!
//! A zero residual has sign 0 (the subgradient), not +1: when at least half the labels share
//! the smallest value (changes are often exactly 0) every residual of the initial median is
//! ≥ 0, and a +1 convention would leave the first tree nothing to split for ever (the unit test
//! below). Every tree sees all rows and features, so a fit is deterministic without a seed;
//! the caller subsamples.

/// Bins of a feature at most (codes fit a `u8`).
const MAX_BINS: usize = 256;

/// Trees grown past the held-out minimum before a fit with a holdout stops.
pub const PATIENCE: usize = 30;

/// Settings of the ensemble, validated before fitting ([`BoostParams::is_valid`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoostParams {
    /// Trees.
    pub trees: usize,
    /// Leaves of a tree at most (grown best-first).
    pub max_leaves: usize,
    /// Shrinkage of each tree's contribution.
    pub learning_rate: f32,
    /// Fewest samples in a leaf.
    pub min_leaf: usize,
    /// Most training samples (the workload baseline takes them evenly spaced).
    pub max_samples: usize,
}

impl Default for BoostParams {
    /// 300 trees of ≤ 31 leaves of ≥ 20 samples at a learning rate of 0.05, ≤ 250 000
    /// samples (scikit-learn's defaults for the tree shape; trees and rate chosen on the
    /// workload CV of the training VMs).
    fn default() -> BoostParams {
        BoostParams {
            trees: 300,
            max_leaves: 31,
            learning_rate: 0.05,
            min_leaf: 20,
            max_samples: 250_000,
        }
    }
}

impl BoostParams {
    /// Whether an ensemble can be fitted with these settings.
    pub fn is_valid(&self) -> bool {
        self.trees > 0
            && self.max_leaves >= 2
            && self.learning_rate.is_finite()
            && self.learning_rate > 0.0
            && self.min_leaf > 0
            && self.max_samples >= 2
    }
}

/// A node of a tree: a split (go left when `x[feature] <= threshold`) or a leaf.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Node {
    Split {
        feature: usize,
        threshold: f32,
        left: usize,
        right: usize,
    },
    Leaf(f32),
}

/// A fitted ensemble: the median label plus the shrunk sum of the trees.
#[derive(Debug, Clone, PartialEq)]
pub struct LadBoost {
    n_features: usize,
    median: f32,
    learning_rate: f32,
    /// Each tree's nodes, the root first.
    trees: Vec<Vec<Node>>,
}

/// Every feature cut into bins: `codes[f * n + i]` is sample `i`'s bin of feature `f`, and a
/// value `v` is in bin `b` when `cuts[f][b - 1] < v <= cuts[f][b]`.
struct Binned {
    n: usize,
    codes: Vec<u8>,
    cuts: Vec<Vec<f32>>,
}

impl Binned {
    fn new(x: &[f32], n: usize, n_features: usize) -> Binned {
        let mut codes = vec![0u8; n * n_features];
        let mut cuts = Vec::with_capacity(n_features);
        for f in 0..n_features {
            let c = cut_points(x.iter().skip(f).step_by(n_features).copied());
            for (i, code) in codes[f * n..(f + 1) * n].iter_mut().enumerate() {
                // at most MAX_BINS - 1 cuts, so the code fits
                *code = c.partition_point(|&t| t < x[i * n_features + f]) as u8;
            }
            cuts.push(c);
        }
        Binned { n, codes, cuts }
    }

    fn column(&self, f: usize) -> &[u8] {
        &self.codes[f * self.n..(f + 1) * self.n]
    }
}

/// At most `MAX_BINS - 1` increasing cut points of the values: midpoints between consecutive
/// distinct values when there are few of them, else values at evenly spaced quantiles.
fn cut_points(values: impl Iterator<Item = f32>) -> Vec<f32> {
    let mut v: Vec<f32> = values.collect();
    v.sort_by(f32::total_cmp);
    v.dedup();
    if v.len() <= MAX_BINS {
        return v.windows(2).map(|w| w[0] + (w[1] - w[0]) / 2.0).collect();
    }
    let mut c: Vec<f32> = (1..MAX_BINS).map(|k| v[k * v.len() / MAX_BINS]).collect();
    c.dedup();
    c
}

/// Per-bin sums of the signs and counts of samples, for every feature.
#[derive(Clone)]
struct Histogram {
    sum: Vec<f64>,
    count: Vec<u32>,
}

impl Histogram {
    fn build(b: &Binned, g: &[f32], rows: &[u32]) -> Histogram {
        let nf = b.cuts.len();
        let mut h = Histogram {
            sum: vec![0.0; nf * MAX_BINS],
            count: vec![0; nf * MAX_BINS],
        };
        for f in 0..nf {
            let col = b.column(f);
            let (s, c) = (
                &mut h.sum[f * MAX_BINS..(f + 1) * MAX_BINS],
                &mut h.count[f * MAX_BINS..(f + 1) * MAX_BINS],
            );
            for &i in rows {
                let bin = col[i as usize] as usize;
                s[bin] += g[i as usize] as f64;
                c[bin] += 1;
            }
        }
        h
    }

    /// `self - other` (a sibling's histogram from its parent's).
    fn minus(mut self, other: &Histogram) -> Histogram {
        for (a, b) in self.sum.iter_mut().zip(&other.sum) {
            *a -= b;
        }
        for (a, b) in self.count.iter_mut().zip(&other.count) {
            *a -= b;
        }
        self
    }

    /// The best split `(gain, feature, bin)` (left: bins ≤ `bin`) leaving at least
    /// `min_leaf` samples on each side, if any improves the squared error.
    fn best_split(&self, b: &Binned, min_leaf: usize) -> Option<(f64, usize, usize)> {
        let mut best: Option<(f64, usize, usize)> = None;
        for (f, cuts) in b.cuts.iter().enumerate() {
            let s = &self.sum[f * MAX_BINS..(f + 1) * MAX_BINS];
            let c = &self.count[f * MAX_BINS..(f + 1) * MAX_BINS];
            let (total_s, total_c) = (s.iter().sum::<f64>(), c.iter().sum::<u32>() as usize);
            if total_c < 2 * min_leaf {
                return None;
            }
            let parent = total_s * total_s / total_c as f64;
            let (mut ls, mut lc) = (0.0, 0usize);
            for bin in 0..cuts.len() {
                ls += s[bin];
                lc += c[bin] as usize;
                if lc < min_leaf {
                    continue;
                }
                let rc = total_c - lc;
                if rc < min_leaf {
                    break;
                }
                let rs = total_s - ls;
                let gain = ls * ls / lc as f64 + rs * rs / rc as f64 - parent;
                if gain > 1e-9 && best.is_none_or(|(g, ..)| gain > g) {
                    best = Some((gain, f, bin));
                }
            }
        }
        best
    }
}

/// A leaf being grown: its samples, their histogram, its best split and its node.
struct Open {
    rows: Vec<u32>,
    hist: Histogram,
    best: Option<(f64, usize, usize)>,
    node: usize,
}

impl LadBoost {
    /// Fits `x` (row-major, `n_features` finite values per sample) to the finite labels `y`;
    /// `None` when the settings are invalid, the lengths disagree or there are fewer than
    /// two samples.
    pub fn fit(x: &[f32], y: &[f32], n_features: usize, p: &BoostParams) -> Option<Self> {
        Self::fit_with_holdout(x, y, n_features, p, None)
    }

    /// As [`LadBoost::fit`], and when `holdout` (rows and labels laid out like `x` and `y`)
    /// is given and not empty, the ensemble keeps only as many trees as minimise its mean
    /// absolute error there, and stops growing [`PATIENCE`] trees after that minimum: the
    /// size of the ensemble then follows the data (many trees for many series, few for few).
    pub fn fit_with_holdout(
        x: &[f32],
        y: &[f32],
        n_features: usize,
        p: &BoostParams,
        holdout: Option<(&[f32], &[f32])>,
    ) -> Option<Self> {
        let holdout = holdout.filter(|(hx, hy)| {
            !hy.is_empty()
                && hx.len() == hy.len() * n_features
                && hy.iter().chain(hx.iter()).all(|v| v.is_finite())
        });
        let n = y.len();
        let usable = p.is_valid()
            && n_features > 0
            && x.len() == n * n_features
            && n >= 2
            && n <= u32::MAX as usize
            && y.iter().all(|v| v.is_finite())
            && x.iter().all(|v| v.is_finite());
        if !usable {
            return None;
        }
        let binned = Binned::new(x, n, n_features);
        let base = median(&mut y.to_vec());
        let mut fitted = vec![base; n];
        let mut grad = vec![0f32; n];
        let mut residuals = Vec::with_capacity(n);
        let mut trees = Vec::with_capacity(p.trees);
        let mut held = holdout.map(|(hx, hy)| (hx, hy, vec![base; hy.len()]));
        let mut best = (f64::INFINITY, 0usize);
        for k in 0..p.trees {
            for ((g, &t), &f) in grad.iter_mut().zip(y).zip(&fitted) {
                *g = sign(t - f);
            }
            let (mut nodes, leaves) = grow(&binned, &grad, p);
            for leaf in leaves {
                residuals.clear();
                residuals.extend(
                    leaf.rows
                        .iter()
                        .map(|&i| y[i as usize] - fitted[i as usize]),
                );
                let v = median(&mut residuals);
                nodes[leaf.node] = Node::Leaf(v);
                for &i in &leaf.rows {
                    fitted[i as usize] += p.learning_rate * v;
                }
            }
            let mut stop = false;
            if let Some((hx, hy, pred)) = held.as_mut() {
                let mut err = 0.0f64;
                for ((r, &t), o) in hx.chunks(n_features).zip(hy.iter()).zip(pred.iter_mut()) {
                    *o += p.learning_rate * tree_value(&nodes, r);
                    err += (t - *o).abs() as f64;
                }
                if err < best.0 {
                    best = (err, k + 1);
                }
                stop = k + 1 - best.1 >= PATIENCE;
            }
            trees.push(nodes);
            if stop {
                break;
            }
        }
        if held.is_some() {
            trees.truncate(best.1.max(1));
        }
        Some(LadBoost {
            n_features,
            median: base,
            learning_rate: p.learning_rate,
            trees,
        })
    }

    /// The prediction for one row of `n_features` values (absent trailing values read as 0).
    pub fn predict_row(&self, x: &[f32]) -> f32 {
        let mut out = self.median;
        for tree in &self.trees {
            out += self.learning_rate * tree_value(tree, x);
        }
        out
    }

    /// Trees in the ensemble.
    pub fn trees(&self) -> usize {
        self.trees.len()
    }

    /// Features a row must have.
    pub fn n_features(&self) -> usize {
        self.n_features
    }
}

/// The leaf value `x` falls in (0 for a malformed tree).
fn tree_value(tree: &[Node], x: &[f32]) -> f32 {
    let mut at = 0;
    // a tree of n nodes is at most n deep
    for _ in 0..tree.len() {
        match tree.get(at) {
            Some(&Node::Split {
                feature,
                threshold,
                left,
                right,
            }) => {
                let v = x.get(feature).copied().unwrap_or(0.0);
                at = if v <= threshold { left } else { right };
            }
            Some(&Node::Leaf(v)) => return v,
            None => return 0.0,
        }
    }
    0.0
}

/// Grows one tree on the signs `g`, best leaf first; returns its nodes (leaves still 0) and
/// its leaves with their samples.
fn grow(b: &Binned, g: &[f32], p: &BoostParams) -> (Vec<Node>, Vec<Open>) {
    let rows: Vec<u32> = (0..b.n as u32).collect();
    let hist = Histogram::build(b, g, &rows);
    let best = hist.best_split(b, p.min_leaf);
    let mut nodes = vec![Node::Leaf(0.0)];
    let mut open = vec![Open {
        rows,
        hist,
        best,
        node: 0,
    }];
    while open.len() < p.max_leaves {
        let Some(k) = (0..open.len())
            .filter(|&k| open[k].best.is_some())
            .max_by(|&a, &c| {
                let gain = |k: usize| open[k].best.map_or(0.0, |s| s.0);
                gain(a).total_cmp(&gain(c))
            })
        else {
            break;
        };
        let leaf = open.swap_remove(k);
        let Some((_, f, bin)) = leaf.best else {
            break;
        };
        let col = b.column(f);
        let (l, r): (Vec<u32>, Vec<u32>) = leaf
            .rows
            .iter()
            .partition(|&&i| col[i as usize] as usize <= bin);
        let left_small = l.len() <= r.len();
        let hs = Histogram::build(b, g, if left_small { &l } else { &r });
        let hl = leaf.hist.minus(&hs);
        let (hist_l, hist_r) = if left_small { (hs, hl) } else { (hl, hs) };
        let (nl, nr) = (nodes.len(), nodes.len() + 1);
        nodes[leaf.node] = Node::Split {
            feature: f,
            threshold: b.cuts[f][bin],
            left: nl,
            right: nr,
        };
        nodes.push(Node::Leaf(0.0));
        nodes.push(Node::Leaf(0.0));
        for (rows, hist, node) in [(l, hist_l, nl), (r, hist_r, nr)] {
            let best = hist.best_split(b, p.min_leaf);
            open.push(Open {
                rows,
                hist,
                best,
                node,
            });
        }
    }
    (nodes, open)
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
/// length; 0 for an empty one). Reorders `y`.
fn median(y: &mut [f32]) -> f32 {
    let n = y.len();
    if n == 0 {
        return 0.0;
    }
    let m = n / 2;
    let (below, hi, _) = y.select_nth_unstable_by(m, f32::total_cmp);
    let hi = *hi;
    if n % 2 == 1 {
        hi
    } else {
        let lo = below.iter().copied().max_by(f32::total_cmp).unwrap_or(hi);
        (lo + hi) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mae(g: &LadBoost, x: &[f32], y: &[f32]) -> f32 {
        let nf = g.n_features();
        x.chunks(nf)
            .zip(y)
            .map(|(r, t)| (g.predict_row(r) - t).abs())
            .sum::<f32>()
            / y.len() as f32
    }

    /// A change that takes two values, the median being one of them: with a +1 sign for zero
    /// residuals boosting would stay at the median for ever, ours must learn the step.
    #[test]
    fn learns_a_two_valued_step_whose_median_is_a_label() {
        let x: Vec<f32> = (0..250).flat_map(|i| [i as f32, (i % 7) as f32]).collect();
        let y: Vec<f32> = (0..250)
            .map(|i| if i < 140 { -600.0 } else { 800.0 })
            .collect();
        assert_eq!(median(&mut y.clone()), -600.0);
        let Some(g) = LadBoost::fit(&x, &y, 2, &BoostParams::default()) else {
            panic!("no ensemble fitted");
        };
        assert!(mae(&g, &x, &y) < 1.0, "MAE {}", mae(&g, &x, &y));
    }

    /// An interaction of two features over many distinct values (more than the bins): the
    /// trees must get most of the way from the median's error.
    #[test]
    fn fits_an_interaction_beyond_the_bin_count() {
        let x: Vec<f32> = (0..4000)
            .flat_map(|i| [(i % 1000) as f32 / 10.0, ((i * 7919) % 997) as f32])
            .collect();
        let y: Vec<f32> = x
            .chunks(2)
            .map(|r| if r[1] > 500.0 { r[0] } else { -r[0] })
            .collect();
        let Some(g) = LadBoost::fit(&x, &y, 2, &BoostParams::default()) else {
            panic!("no ensemble fitted");
        };
        let base = y.iter().map(|t| t.abs()).sum::<f32>() / y.len() as f32;
        assert!(
            mae(&g, &x, &y) < 0.1 * base,
            "MAE {} vs {base}",
            mae(&g, &x, &y)
        );
    }

    /// Absolute loss: one wild label moves a leaf no further than a typical one would.
    #[test]
    fn an_outlier_does_not_pull_the_fit() {
        let x: Vec<f32> = (0..200).map(|i| (i % 10) as f32).collect();
        let mut y = vec![100.0f32; 200];
        y[17] = 1.0e6;
        let Some(g) = LadBoost::fit(&x, &y, 1, &BoostParams::default()) else {
            panic!("no ensemble fitted");
        };
        for r in x.chunks(1) {
            let v = g.predict_row(r);
            assert!((v - 100.0).abs() < 1.0, "{v}");
        }
    }

    /// Labels that are pure noise around a step: with a holdout of other samples the fit stops
    /// once the step is learnt instead of growing all its trees into the noise, and does at
    /// least as well on fresh samples.
    #[test]
    fn a_holdout_stops_the_fit_where_it_stops_generalising() {
        let mut rng = 0x9E37_79B9_7F4A_7C15u64;
        let mut sample = |n: usize| {
            let mut x = Vec::new();
            let mut y = Vec::new();
            for _ in 0..n {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                let a = (rng % 1000) as f32;
                let noise = ((rng >> 20) % 2001) as f32 - 1000.0;
                x.extend([a, ((rng >> 40) % 97) as f32]);
                y.push(if a < 500.0 { -300.0 } else { 300.0 } + noise);
            }
            (x, y)
        };
        let (x, y) = sample(2_000);
        let (hx, hy) = sample(1_000);
        let (tx, ty) = sample(2_000);
        let p = BoostParams::default();
        let Some(all) = LadBoost::fit(&x, &y, 2, &p) else {
            panic!("no ensemble fitted");
        };
        let Some(stopped) = LadBoost::fit_with_holdout(&x, &y, 2, &p, Some((&hx, &hy))) else {
            panic!("no ensemble fitted");
        };
        assert_eq!(all.trees(), p.trees);
        assert!(stopped.trees() < p.trees, "{} trees", stopped.trees());
        assert!(mae(&stopped, &tx, &ty) <= mae(&all, &tx, &ty) + 1.0);
        // an empty or malformed holdout is ignored
        let same = LadBoost::fit_with_holdout(&x, &y, 2, &p, Some((&hx[..3], &hy)));
        assert_eq!(same.map(|g| g.trees()), Some(p.trees));
    }

    #[test]
    fn cuts_separate_every_distinct_value_when_there_are_few() {
        let c = cut_points([3.0, 1.0, 2.0, 2.0, 1.0].into_iter());
        assert_eq!(c, vec![1.5, 2.5]);
        let many = cut_points((0..10_000).map(|i| i as f32));
        assert!(many.len() < MAX_BINS && many.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn refuses_what_it_cannot_fit() {
        let ok = BoostParams::default();
        let x = [0.0, 1.0, 2.0];
        let y = [0.0, 1.0, 2.0];
        assert!(LadBoost::fit(&x, &y, 1, &ok).is_some());
        for bad in [
            BoostParams { trees: 0, ..ok },
            BoostParams {
                max_leaves: 1,
                ..ok
            },
            BoostParams {
                learning_rate: f32::NAN,
                ..ok
            },
            BoostParams { min_leaf: 0, ..ok },
        ] {
            assert!(!bad.is_valid());
            assert!(LadBoost::fit(&x, &y, 1, &bad).is_none(), "{bad:?}");
        }
        assert!(LadBoost::fit(&x, &y[..2], 1, &ok).is_none());
        assert!(LadBoost::fit(&x, &[0.0, f32::NAN, 1.0], 1, &ok).is_none());
        assert!(LadBoost::fit(&[0.0, f32::INFINITY, 1.0], &y, 1, &ok).is_none());
        assert!(LadBoost::fit(&x, &y, 2, &ok).is_none());
        assert!(LadBoost::fit(&[0.0], &[1.0], 1, &ok).is_none());
    }
}
