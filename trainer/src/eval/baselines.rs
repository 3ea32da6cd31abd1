//! Naive and classical baselines, evaluated on the same validation data as the models:
//! persistence and moving average (workload), logistic regression and random forest from
//! smartcore (threat, failure), next-line and PC-stride (memory).

use inference_core::features::memory;
use inference_core::features::workload::{expand, field};
use inference_core::ModelKind;
use serde::Serialize;
use smartcore::ensemble::random_forest_classifier::{
    RandomForestClassifier, RandomForestClassifierParameters,
};
use smartcore::linalg::basic::arrays::Array;
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::linear::logistic_regression::{LogisticRegression, LogisticRegressionParameters};

use super::metrics::{self, Metrics};
use crate::data::dataset::Dataset;

/// One baseline's result.
#[derive(Debug, Clone, Serialize)]
pub struct Baseline {
    /// Name.
    pub name: &'static str,
    /// A heuristic needing no training (persistence, next-line): a model that does worse
    /// than one is not published without `--allow-worse`.
    pub naive: bool,
    /// Its metrics on the validation data.
    pub metrics: Metrics,
}

/// Per-feature standardisation fitted on a data set; absent values become 0.
#[derive(Debug, Clone)]
pub struct Standardiser {
    mean: Vec<f64>,
    sd: Vec<f64>,
}

impl Standardiser {
    /// Means and standard deviations of the observed values of `train`.
    pub fn fit(train: &Dataset) -> Standardiser {
        let nf = train.n_features();
        let absent = inference_core::blob::ABSENT;
        let mut mean = vec![0f64; nf];
        let mut sd = vec![0f64; nf];
        for j in 0..nf {
            let v: Vec<f64> = (0..train.len())
                .map(|i| train.row(i)[j])
                .filter(|&x| x != absent)
                .map(|x| x as f64)
                .collect();
            let n = v.len().max(1) as f64;
            mean[j] = v.iter().sum::<f64>() / n;
            sd[j] = (v.iter().map(|x| (x - mean[j]).powi(2)).sum::<f64>() / n)
                .sqrt()
                .max(1e-9);
        }
        Standardiser { mean, sd }
    }

    /// One standardised row.
    pub fn row(&self, r: &[i32]) -> Vec<f64> {
        r.iter()
            .enumerate()
            .map(|(j, &x)| {
                if x == inference_core::blob::ABSENT {
                    0.0
                } else {
                    (x as f64 - self.mean[j]) / self.sd[j]
                }
            })
            .collect()
    }

    /// Every row of `d`, standardised.
    pub fn rows(&self, d: &Dataset) -> Vec<Vec<f64>> {
        (0..d.len()).map(|i| self.row(d.row(i))).collect()
    }
}

/// Standardised f64 features (fitted on `train`), absent values as 0.
fn standardise(train: &Dataset, sets: &[&Dataset]) -> Vec<Vec<Vec<f64>>> {
    let st = Standardiser::fit(train);
    sets.iter().map(|d| st.rows(d)).collect()
}

fn binary_labels(d: &Dataset) -> Vec<u32> {
    (0..d.len())
        .map(|i| (d.target(i)[0] > 0.5) as u32)
        .collect()
}

/// Standardised training matrix (subsampled), its 0/1 labels, and the standardised `val`
/// matrix; `None` when the training data has a single class.
type Prepared = (DenseMatrix<f64>, Vec<u32>, Vec<Vec<f64>>);

fn prepare(train: &Dataset, val: &Dataset) -> Option<Prepared> {
    let sets = standardise(train, &[train, val]);
    // Subsample the training set: the baselines are references, not the product, and must
    // not dominate the training time.
    let step = (train.len() / 4000).max(1);
    let xt: Vec<Vec<f64>> = sets[0].iter().step_by(step).cloned().collect();
    let yt: Vec<u32> = binary_labels(train).into_iter().step_by(step).collect();
    if yt.iter().all(|&y| y == yt[0]) {
        return None;
    }
    let x = DenseMatrix::from_2d_vec(&xt).ok()?;
    let mut sets = sets;
    Some((x, yt, sets.swap_remove(1)))
}

/// Logistic-regression probabilities of the positive (threat, failure) class on `val`, fitted on
/// `train`; `None` when there is nothing to fit (one class only) or smartcore refuses the data.
pub fn logistic_regression(train: &Dataset, val: &Dataset) -> Option<Vec<f64>> {
    let (x, yt, xv) = prepare(train, val)?;
    lr_scores(&x, &yt, &xv)
}

fn lr_scores(x: &DenseMatrix<f64>, yt: &[u32], xv: &[Vec<f64>]) -> Option<Vec<f64>> {
    let yt = yt.to_vec();
    let lr = LogisticRegression::fit(
        x,
        &yt,
        LogisticRegressionParameters::default().with_alpha(1.0),
    )
    .ok()?;
    let w: Vec<f64> = lr.coefficients().iterator(0).copied().collect();
    let b = *lr.intercept().get((0, 0));
    // smartcore orders classes ascending, so the coefficients score class 1
    Some(
        xv.iter()
            .map(|r| {
                let z: f64 = r.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>() + b;
                1.0 / (1.0 + (-z).exp())
            })
            .collect(),
    )
}

/// Logistic-regression and random-forest scores for the binary task of `train`/`val`.
/// Returns (LR probabilities on val, RF 0/1 predictions on val), or `None` when there is
/// nothing to fit (one class only) or smartcore refuses the data: the baselines are then left out
/// of the report, never faked.
fn classical(train: &Dataset, val: &Dataset, seed: u64) -> Option<(Vec<f64>, Vec<f64>)> {
    let (x, yt, sets1) = prepare(train, val)?;
    let lr_scores = lr_scores(&x, &yt, &sets1)?;
    let xv = DenseMatrix::from_2d_vec(&sets1).ok()?;
    let rf = RandomForestClassifier::fit(
        &x,
        &yt,
        RandomForestClassifierParameters::default()
            .with_n_trees(20)
            .with_max_depth(10)
            .with_seed(seed),
    )
    .ok()?;
    let rf_pred: Vec<u32> = rf.predict(&xv).ok()?;
    Some((lr_scores, rf_pred.into_iter().map(|v| v as f64).collect()))
}

/// The change of channel `c` that the mean of the current and the previous three samples
/// predicts (percent × 100); 0 when the channel is not observed.
pub fn moving_average_delta(row: &[i32], c: usize) -> f64 {
    // history features are relative to the current value, companded
    let prev = &row[field::history(c)][..3];
    if prev.contains(&inference_core::blob::ABSENT) {
        return 0.0;
    }
    prev.iter().map(|&v| expand(v) as f64).sum::<f64>() / 4.0
}

/// The baselines of `train.kind`, on `val`.
pub fn evaluate(train: &Dataset, val: &Dataset, seed: u64) -> Vec<Baseline> {
    if val.is_empty() {
        return Vec::new();
    }
    match train.kind {
        ModelKind::Workload => {
            // persistence predicts no change; the moving average the mean of the current and
            // the previous three samples
            let pers = metrics::workload_metrics(val, |_, _| 0.0);
            let ma = metrics::workload_metrics(val, |i, c| moving_average_delta(val.row(i), c));
            vec![
                Baseline {
                    name: "persistence",
                    naive: true,
                    metrics: pers,
                },
                Baseline {
                    name: "moving_average_4",
                    naive: true,
                    metrics: ma,
                },
            ]
        }
        ModelKind::Threat | ModelKind::Failure => match classical(train, val, seed) {
            Some((lr, rf)) => {
                // LR gives probabilities: threat at FPR <= 5 %, failure at a false-alarm rate
                // <= 1 %, like the model; the forest gives labels only, so it is judged at its
                // own operating point.
                let m = |s: &[f64], fixed: Option<f64>| {
                    if train.kind == ModelKind::Threat {
                        metrics::threat_metrics_at(val, s, None, fixed)
                    } else {
                        metrics::failure_metrics_at(val, s, fixed)
                    }
                };
                vec![
                    Baseline {
                        name: "logistic_regression",
                        naive: false,
                        metrics: m(&lr, None),
                    },
                    Baseline {
                        name: "random_forest",
                        naive: false,
                        metrics: m(&rf, Some(0.5)),
                    },
                ]
            }
            None => Vec::new(),
        },
        ModelKind::Memory => {
            use memory::{class, field};
            vec![
                Baseline {
                    name: "next_line",
                    naive: true,
                    metrics: metrics::memory_metrics(val, |_, k| k == class::NEXT),
                },
                Baseline {
                    name: "pc_stride",
                    naive: true,
                    metrics: metrics::memory_metrics(val, |i, k| {
                        k == class::PC_STRIDE && val.row(i)[field::PC_CONFIDENCE] >= 1
                    }),
                },
            ]
        }
    }
}
