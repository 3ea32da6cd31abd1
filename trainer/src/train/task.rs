//! What each model learns: target layout, output heads and their losses, network shape.
//!
//! Target layouts (columns of [`Dataset::targets`]; NaN = not labelled):
//! - workload: change of CPU, memory, GPU % × 100 until the next sample;
//! - threat: class (`ThreatType` code);
//! - failure: fails within the horizon (0/1), seconds to failure, failure-type code;
//! - memory: whether each candidate's proposal is a useful prefetch (0/1 each), next access kind.

use inference_core::features::{failure, memory, threat, workload};
use inference_core::ModelKind;
use ndarray::{Array2, ArrayView2};

use crate::data::access_samples;
use crate::data::dataset::Dataset;
use crate::train::fit::target_matrix;
use inference_core::blob::ABSENT;

/// Hidden-layer widths of each kind's network. The workload network learns a tree ensemble's
/// predictions (see `pipeline::distil_workload`); on the Bitbrains CV of the training VMs
/// (seeds 42 / 1) 48-24 followed them better than 32-16 (CPU mean skill on active VMs
/// 0.054 / 0.046 against 0.046 at seed 42; memory 0.175 / 0.166 against 0.166), 64-32 by 0.003
/// more on CPU for half again the multiply-accumulates (4992 against 3360; both measure about
/// 0.9–1.1 µs per prediction with extraction, at the goal of 1 µs), and 64-64 no better. 64 is
/// the blob's widest layer ([`inference_core::blob::MAX_WIDTH`]).
pub fn hidden(kind: ModelKind) -> Vec<usize> {
    match kind {
        ModelKind::Workload => vec![48, 24],
        ModelKind::Threat => vec![32, 16],
        ModelKind::Failure => vec![32, 16],
        ModelKind::Memory => vec![32, 16],
    }
}

/// One group of network outputs and how it is trained.
#[derive(Debug, Clone)]
pub enum Head {
    /// Huber loss (close to absolute error) on `(target - offset) / scale` of output `out`.
    Regression {
        /// Output index.
        out: usize,
        /// Target column.
        target: usize,
        /// Column of [`Task::targets`] holding each sample's loss weight; `None`: 1.
        weight: Option<usize>,
    },
    /// Learns the mean absolute error of the regression outputs `of` (output, target pairs),
    /// in the output's fixed unit.
    AbsError {
        /// Output index.
        out: usize,
        /// Regression heads whose error it predicts.
        of: Vec<(usize, usize)>,
    },
    /// Softmax cross-entropy over `outs` with per-class weights.
    Softmax {
        /// First output.
        first: usize,
        /// Number of classes.
        classes: usize,
        /// Target column (class index).
        target: usize,
        /// Loss weight of each class.
        weights: Vec<f32>,
        /// First of `classes` target columns holding a distribution to learn instead of the
        /// class (a teacher's probabilities, [`Task::with_soft_classes`]); rows whose first
        /// such column is NaN, and target matrices without these columns (validation), use
        /// the class.
        soft: Option<usize>,
    },
    /// Logistic loss with a weight on positives.
    Sigmoid {
        /// Output index.
        out: usize,
        /// Target column (0/1).
        target: usize,
        /// Weight of positive samples.
        pos_weight: f32,
    },
}

/// A kind's task: heads plus the affine map of each output to its fixed unit.
#[derive(Debug, Clone)]
pub struct Task {
    /// Model kind.
    pub kind: ModelKind,
    /// Heads.
    pub heads: Vec<Head>,
    /// `fixed = net · scale + offset`, per output.
    pub out_scale: Vec<f32>,
    /// See `out_scale`.
    pub out_offset: Vec<f32>,
}

/// Workload target columns (the change of CPU, memory, GPU).
const N_TARGETS: usize = 3;

/// Lowest volatility (percent × 100 per sample) of a workload loss weight (see
/// [`Task::targets`]).
const VOLATILITY_FLOOR: f32 = 60.0;

/// Fixed-unit scale of a Q8 logit.
const LOGIT: f32 = 256.0;

fn class_weights(train: &Dataset, col: usize, classes: usize) -> Vec<f32> {
    let mut counts = vec![0f64; classes];
    for i in 0..train.len() {
        let t = train.target(i)[col];
        if t.is_finite() && (t as usize) < classes {
            counts[t as usize] += 1.0;
        }
    }
    let total: f64 = counts.iter().sum();
    let present = counts.iter().filter(|&&c| c > 0.0).count().max(1) as f64;
    counts
        .iter()
        .map(|&c| {
            if c == 0.0 {
                1.0
            } else {
                // balanced weighting, capped so rare classes do not dominate
                ((total / (present * c)) as f32).clamp(0.2, 10.0)
            }
        })
        .collect()
}

fn mean_std(train: &Dataset, col: usize) -> (f32, f32) {
    let v: Vec<f64> = (0..train.len())
        .map(|i| train.target(i)[col] as f64)
        .filter(|t| t.is_finite())
        .collect();
    if v.is_empty() {
        return (0.0, 1.0);
    }
    let m = v.iter().sum::<f64>() / v.len() as f64;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64;
    (m as f32, (var.sqrt() as f32).max(1.0))
}

impl Task {
    /// The task of `kind`, with scales and class weights fitted on `train`.
    pub fn new(kind: ModelKind, train: &Dataset) -> Task {
        match kind {
            ModelKind::Workload => {
                let mut out_scale = vec![0.0; workload::N_OUTPUTS];
                let mut out_offset = vec![0.0; workload::N_OUTPUTS];
                for c in 0..3 {
                    let (_, s) = mean_std(train, c);
                    out_scale[c] = s;
                    // a change is centred on 0 by construction: no offset keeps "no change"
                    // exactly representable
                    out_offset[c] = 0.0;
                }
                out_scale[workload::OUT_ERR] = 100.0;
                Task {
                    kind,
                    heads: vec![
                        Head::Regression {
                            out: 0,
                            target: 0,
                            weight: Some(N_TARGETS),
                        },
                        Head::Regression {
                            out: 1,
                            target: 1,
                            weight: Some(N_TARGETS + 1),
                        },
                        Head::Regression {
                            out: 2,
                            target: 2,
                            weight: Some(N_TARGETS + 2),
                        },
                        Head::AbsError {
                            out: workload::OUT_ERR,
                            of: vec![(0, 0), (1, 1), (2, 2)],
                        },
                    ],
                    out_scale,
                    out_offset,
                }
            }
            ModelKind::Threat => Task {
                kind,
                heads: vec![Head::Softmax {
                    first: 0,
                    classes: threat::N_OUTPUTS,
                    target: 0,
                    weights: class_weights(train, 0, threat::N_OUTPUTS),
                    soft: None,
                }],
                out_scale: vec![LOGIT; threat::N_OUTPUTS],
                out_offset: vec![0.0; threat::N_OUTPUTS],
            },
            ModelKind::Failure => {
                let pos = (0..train.len())
                    .filter(|&i| train.target(i)[0] == 1.0)
                    .count()
                    .max(1);
                let neg = train.len().saturating_sub(pos).max(1);
                let mut out_scale = vec![LOGIT; failure::N_OUTPUTS];
                let mut out_offset = vec![0.0; failure::N_OUTPUTS];
                let (m, s) = mean_std(train, 1);
                out_scale[failure::OUT_TTF] = s;
                out_offset[failure::OUT_TTF] = m;
                Task {
                    kind,
                    heads: vec![
                        Head::Sigmoid {
                            out: failure::OUT_FAIL,
                            target: 0,
                            pos_weight: ((neg as f32 / pos as f32).sqrt()).clamp(1.0, 2.0),
                        },
                        Head::Regression {
                            out: failure::OUT_TTF,
                            target: 1,
                            weight: None,
                        },
                        Head::Softmax {
                            first: failure::OUT_TYPE,
                            classes: failure::FailureType::COUNT,
                            target: 2,
                            weights: class_weights(train, 2, failure::FailureType::COUNT),
                            soft: None,
                        },
                    ],
                    out_scale,
                    out_offset,
                }
            }
            ModelKind::Memory => Task {
                kind,
                heads: (0..memory::N_CANDIDATES)
                    .map(|k| Head::Sigmoid {
                        out: k,
                        target: k,
                        pos_weight: 1.0,
                    })
                    .chain([Head::Softmax {
                        first: memory::OUT_KIND,
                        classes: 3,
                        target: access_samples::TARGET_KIND,
                        weights: vec![1.0; 3],
                        soft: None,
                    }])
                    .collect(),
                out_scale: vec![LOGIT; memory::N_OUTPUTS],
                out_offset: vec![0.0; memory::N_OUTPUTS],
            },
        }
    }

    /// The training targets of `d`: its target columns, then (workload) each channel's loss
    /// weight, `1 / max(volatility, VOLATILITY_FLOOR)` where the volatility is the mean absolute
    /// step of the channel over the history, normalised to a mean of 1 over `d`. Errors
    /// are thereby judged relative to how much a series moves: an idle VM's 0.1 point counts as
    /// much as a busy VM's several points, so the network learns to leave idle series alone.
    pub fn targets(&self, d: &Dataset) -> Array2<f32> {
        let mut out = self.unweighted_targets(d);
        let means = self.weight_means(out.view());
        self.normalize_weights(out.view_mut(), &means);
        out
    }

    /// [`targets`](Self::targets) before the weights are normalised: the weight columns hold
    /// the raw inverse volatility (data streamed in parts is normalised once, over all parts,
    /// with [`weight_means`](Self::weight_means) and
    /// [`normalize_weights`](Self::normalize_weights)).
    pub fn unweighted_targets(&self, d: &Dataset) -> Array2<f32> {
        let t = target_matrix(d);
        if self.kind != ModelKind::Workload {
            return t;
        }
        let mut out = Array2::zeros((d.len(), N_TARGETS + 3));
        out.slice_mut(ndarray::s![.., ..N_TARGETS]).assign(&t);
        for c in 0..3 {
            for i in 0..d.len() {
                let h = &d.row(i)[workload::field::history(c)];
                out[[i, N_TARGETS + c]] = if h[0] == ABSENT {
                    0.0
                } else {
                    let h: Vec<i32> = h.iter().map(|&v| workload::expand(v)).collect();
                    let steps = h[0].abs() + h.windows(2).map(|p| (p[1] - p[0]).abs()).sum::<i32>();
                    1.0 / (steps as f32 / workload::HISTORY as f32).max(VOLATILITY_FLOOR)
                };
            }
        }
        out
    }

    /// Per weight column of `t` (unnormalised targets), its sum and row count, to be added
    /// over the parts of a streamed data set.
    pub fn weight_means(&self, t: ndarray::ArrayView2<f32>) -> Vec<(f64, usize)> {
        if self.kind != ModelKind::Workload {
            return Vec::new();
        }
        (0..3)
            .map(|c| {
                let col = t.column(N_TARGETS + c);
                (col.iter().map(|&w| w as f64).sum(), col.len())
            })
            .collect()
    }

    /// Divides each weight column of `t` by its mean (`sums`: from
    /// [`weight_means`](Self::weight_means), over the whole training set).
    pub fn normalize_weights(&self, mut t: ndarray::ArrayViewMut2<f32>, sums: &[(f64, usize)]) {
        for (c, &(sum, n)) in sums.iter().enumerate() {
            let mean = (sum / n.max(1) as f64).max(1e-12) as f32;
            t.column_mut(N_TARGETS + c).mapv_inplace(|w| w / mean);
        }
    }

    /// Network outputs → fixed units.
    pub fn to_fixed(&self, net: ArrayView2<f32>) -> Array2<f64> {
        let mut out = Array2::zeros(net.raw_dim());
        for ((r, c), v) in net.indexed_iter() {
            out[[r, c]] = *v as f64 * self.out_scale[c] as f64 + self.out_offset[c] as f64;
        }
        out
    }

    /// Loss of a batch and its gradient w.r.t. the outputs (divided by the batch size).
    pub fn loss_grad(&self, y: ArrayView2<f32>, t: ArrayView2<f32>) -> (f64, Array2<f32>) {
        let n = y.nrows().max(1) as f32;
        let mut g = Array2::<f32>::zeros(y.raw_dim());
        let mut loss = 0f64;
        for r in 0..y.nrows() {
            for head in &self.heads {
                match head {
                    Head::Regression {
                        out,
                        target,
                        weight,
                    } => {
                        let tv = t[[r, *target]];
                        if tv.is_finite() {
                            let w = weight.map(|c| t[[r, c]]).unwrap_or(1.0);
                            let tn = (tv - self.out_offset[*out]) / self.out_scale[*out];
                            let d = y[[r, *out]] - tn;
                            // Huber with a small δ: close to the absolute error the metrics
                            // use (the median, not the mean, of heavy-tailed changes), smooth
                            // near zero for the optimiser
                            const DELTA: f32 = 0.02;
                            let (l, gd) = if d.abs() <= DELTA {
                                (0.5 * d * d / DELTA, d / DELTA)
                            } else {
                                (d.abs() - 0.5 * DELTA, d.signum())
                            };
                            loss += (w * l) as f64;
                            g[[r, *out]] = w * gd / n;
                        }
                    }
                    Head::AbsError { out, of } => {
                        let mut sum = 0f32;
                        let mut k = 0;
                        for &(o, tc) in of {
                            let tv = t[[r, tc]];
                            if tv.is_finite() {
                                let pred = y[[r, o]] * self.out_scale[o] + self.out_offset[o];
                                sum += (pred - tv).abs();
                                k += 1;
                            }
                        }
                        if k > 0 {
                            let tn = sum / k as f32 / self.out_scale[*out];
                            let d = y[[r, *out]] - tn;
                            loss += (0.5 * d * d) as f64;
                            g[[r, *out]] = d / n;
                        }
                    }
                    Head::Softmax {
                        first,
                        classes,
                        target,
                        weights,
                        soft,
                    } => {
                        let tv = t[[r, *target]];
                        let class =
                            (tv.is_finite() && (tv as usize) < *classes).then_some(tv as usize);
                        // the target distribution: the soft columns where given, else the
                        // class as a one-hot; cross-entropy against it, weighted by the class
                        let soft =
                            soft.filter(|&s| s + classes <= t.ncols() && t[[r, s]].is_finite());
                        let q = |k: usize| match soft {
                            Some(s) => t[[r, s + k]],
                            None => (class == Some(k)) as u8 as f32,
                        };
                        if soft.is_some() || class.is_some() {
                            let w = class.map_or(1.0, |c| weights[c]);
                            let p = softmax_row(y, r, *first, *classes);
                            for (k, pk) in p.iter().enumerate() {
                                let qk = q(k);
                                if qk != 0.0 {
                                    loss += -(w as f64) * (qk as f64) * (pk.max(1e-12) as f64).ln();
                                }
                                g[[r, first + k]] = w * (pk - qk) / n;
                            }
                        }
                    }
                    Head::Sigmoid {
                        out,
                        target,
                        pos_weight,
                    } => {
                        let tv = t[[r, *target]];
                        if tv.is_finite() {
                            let z = y[[r, *out]];
                            let p = 1.0 / (1.0 + (-z).exp());
                            let w = if tv > 0.5 { *pos_weight } else { 1.0 };
                            let pc = if tv > 0.5 { p } else { 1.0 - p };
                            loss += -(w as f64) * (pc.max(1e-12) as f64).ln();
                            g[[r, *out]] = w * (p - tv) / n;
                        }
                    }
                }
            }
        }
        (loss / n as f64, g)
    }

    /// This task with its first softmax head learning the distributions in target columns
    /// `first..first + classes` of the training targets (appended after [`Task::targets`]'s,
    /// see [`Head::Softmax`]'s `soft`).
    pub fn with_soft_classes(mut self, first: usize) -> Task {
        if let Some(Head::Softmax { soft, .. }) = self
            .heads
            .iter_mut()
            .find(|h| matches!(h, Head::Softmax { .. }))
        {
            *soft = Some(first);
        }
        self
    }

    /// The class probabilities of the first softmax head for every row of network outputs
    /// `y` (`None` without such a head).
    pub fn class_probabilities(&self, y: ArrayView2<f32>) -> Option<Array2<f32>> {
        let (first, classes) = self.heads.iter().find_map(|h| match h {
            Head::Softmax { first, classes, .. } => Some((*first, *classes)),
            _ => None,
        })?;
        let mut out = Array2::zeros((y.nrows(), classes));
        for r in 0..y.nrows() {
            for (k, p) in softmax_row(y, r, first, classes).into_iter().enumerate() {
                out[[r, k]] = p;
            }
        }
        Some(out)
    }
}

fn softmax_row(y: ArrayView2<f32>, r: usize, first: usize, classes: usize) -> Vec<f32> {
    let z: Vec<f32> = (0..classes).map(|k| y[[r, first + k]]).collect();
    let m = z.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = z.iter().map(|v| (v - m).exp()).collect();
    let s: f32 = e.iter().sum();
    e.into_iter().map(|v| v / s).collect()
}
