//! `trainer evaluate` for the workload model: every file (one VM or series) is judged on its
//! own and in aggregate, per channel (CPU, memory), beside persistence, a moving average and,
//! when `--baseline-data` names training data, a least-squares linear AR, a random forest and
//! gradient-boosted trees with absolute-error loss fitted on it (never on the evaluated files).
//! In the JSON the baselines are `persistence`, `moving_average_4`, `linear_ar`,
//! `random_forest` and `gradient_boosting`.
//!
//! Per file and pooled: `mae_pp`, `persistence_mae_pp`, `skill` for CPU and the same prefixed
//! `mem_` for memory. Aggregate over files: the mean skill over the files whose persistence
//! MAE is at least [`ACTIVE_PP`] (on idle files any skill is noise), and the worst excess of
//! MAE over persistence (`worst_excess_pp`, > 0 means worse than persistence) with its file.

use inference_core::blob::ABSENT;
use inference_core::features::workload::{field, DoNoHarm, OUT_CPU, OUT_MEM};
use inference_core::Model;
use ndarray::Array2;
use serde_json::{json, Map, Value};
use smartcore::ensemble::random_forest_regressor::{
    RandomForestRegressor, RandomForestRegressorParameters,
};
use smartcore::linalg::basic::matrix::DenseMatrix;

use super::baselines::{moving_average_delta, Standardiser};
use super::boosting::{BoostParams, LadBoost};
use super::int8::int8_outputs;
use super::metrics::{channel_mae, skill, ChannelMae};
use crate::data::dataset::Dataset;

/// Files whose persistence MAE (pp) is below this count as idle in the mean skill.
pub const ACTIVE_PP: f64 = 0.5;

/// Evaluated channels: (output index, key prefix).
const CHANNELS: [(usize, &str); 2] = [(OUT_CPU, ""), (OUT_MEM, "mem_")];

/// Ridge term of the linear AR (relative to the sample count), only to keep the normal
/// equations solvable when a feature is constant (an absent GPU).
const RIDGE: f64 = 1e-6;

/// A predictor of the change of each channel.
pub enum Predictor<'m> {
    /// The int8 model through inference-core, with the do-no-harm gate replayed over each
    /// file in order exactly as `WorkloadPredictor::predict` applies it on a device.
    Model(&'m Model<'m>),
    /// The int8 model's raw changes, without the gate.
    Ungated(&'m Model<'m>),
    /// No change.
    Persistence,
    /// Mean of the current and the previous three samples.
    MovingAverage,
    /// Least squares on the standardised features, one weight vector (intercept last) per
    /// channel.
    Linear(Standardiser, Vec<Vec<f64>>),
    /// smartcore random forest per channel.
    Forest(Standardiser, Vec<Forest>),
    /// Gradient-boosted trees with absolute-error loss per channel ([`fit_boosting`]); `None`
    /// for a channel the training data does not observe (it predicts no change).
    Boosting(Standardiser, Vec<Option<LadBoost>>),
}

/// smartcore's random forest regressor on dense f64 matrices.
pub type Forest = RandomForestRegressor<f64, f64, DenseMatrix<f64>, Vec<f64>>;

impl Predictor<'_> {
    /// Whether channel `k` (in `CHANNELS` order) has a fitted predictor: false only for a
    /// channel the boosting baseline's training data did not observe.
    pub fn fitted(&self, k: usize) -> bool {
        match self {
            Predictor::Boosting(_, g) => g.get(k).is_some_and(Option::is_some),
            _ => true,
        }
    }

    /// Predicted changes of `d` (percent × 100), one row per sample, one column per channel
    /// of `CHANNELS`.
    pub fn predict(&self, d: &Dataset) -> Array2<f64> {
        let mut out = Array2::zeros((d.len(), CHANNELS.len()));
        match self {
            Predictor::Model(m) | Predictor::Ungated(m) => {
                let y = int8_outputs(m, d);
                for (k, &(c, _)) in CHANNELS.iter().enumerate() {
                    out.column_mut(k).assign(&y.column(c));
                }
                if matches!(self, Predictor::Model(_)) {
                    gate(d, &mut out);
                }
            }
            Predictor::Persistence => {}
            Predictor::MovingAverage => {
                for ((i, k), v) in out.indexed_iter_mut() {
                    *v = moving_average_delta(d.row(i), CHANNELS[k].0);
                }
            }
            Predictor::Linear(st, w) => {
                for i in 0..d.len() {
                    let x = st.row(d.row(i));
                    for (k, wk) in w.iter().enumerate() {
                        let b = wk[x.len()];
                        out[[i, k]] = x.iter().zip(wk).map(|(a, b)| a * b).sum::<f64>() + b;
                    }
                }
            }
            Predictor::Forest(st, f) => {
                if let Ok(x) = DenseMatrix::from_2d_vec(&st.rows(d)) {
                    for (k, fk) in f.iter().enumerate() {
                        if let Ok(p) = fk.predict(&x) {
                            out.column_mut(k).assign(&ndarray::Array1::from(p));
                        }
                    }
                }
            }
            Predictor::Boosting(st, g) => {
                for i in 0..d.len() {
                    let x = boost_features(st, d.row(i));
                    for (k, gk) in g.iter().enumerate() {
                        if let Some(gk) = gk {
                            out[[i, k]] = gk.predict_row(&x) as f64;
                        }
                    }
                }
            }
        }
        out
    }
}

/// Replays [`DoNoHarm`] over the samples of one series in order: each change in `changes`
/// (columns in [`CHANNELS`] order) is kept only while the model's record is positive, and
/// every sample's outcome is scored, as the device does between `predict` and the next `push`.
fn gate(d: &Dataset, changes: &mut Array2<f64>) {
    let mut g = DoNoHarm::new();
    for i in 0..d.len() {
        for (k, &(c, _)) in CHANNELS.iter().enumerate() {
            let cur = d.row(i)[field::CURRENT.start + c];
            if cur == ABSENT {
                continue;
            }
            let delta = changes[[i, k]].round() as i32;
            changes[[i, k]] = g.gate(c, cur, delta) as f64;
            if let Some(t) = observed(d, i, c) {
                g.observe(c, cur + t.round() as i32);
            }
        }
    }
}

/// Observed target of channel `c` in sample `i` (finite, current value present).
fn observed(d: &Dataset, i: usize, c: usize) -> Option<f64> {
    let t = d.target(i)[c] as f64;
    let cur = d.row(i)[field::CURRENT.start + c];
    (t.is_finite() && cur != ABSENT).then_some(t)
}

/// Least-squares linear AR of each channel's change on the standardised features of `train`.
pub fn fit_linear(train: &Dataset) -> Predictor<'static> {
    let st = Standardiser::fit(train);
    let nf = train.n_features() + 1;
    let w = CHANNELS
        .iter()
        .map(|&(c, _)| {
            let mut a = vec![vec![0f64; nf]; nf];
            let mut b = vec![0f64; nf];
            let mut n = 0f64;
            for i in 0..train.len() {
                let Some(t) = observed(train, i, c) else {
                    continue;
                };
                let mut x = st.row(train.row(i));
                x.push(1.0);
                for (p, &xp) in x.iter().enumerate() {
                    b[p] += xp * t;
                    for (q, &xq) in x.iter().enumerate() {
                        a[p][q] += xp * xq;
                    }
                }
                n += 1.0;
            }
            for (p, row) in a.iter_mut().enumerate().take(nf - 1) {
                row[p] += RIDGE * n.max(1.0);
            }
            solve(a, b)
        })
        .collect();
    Predictor::Linear(st, w)
}

/// Solves `a x = b` by Gaussian elimination with partial pivoting (a singular system leaves the
/// affected weights 0).
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Vec<f64> {
    let n = b.len();
    for col in 0..n {
        let piv = (col..n)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .unwrap_or(col);
        a.swap(col, piv);
        b.swap(col, piv);
        if a[col][col].abs() < 1e-12 {
            continue;
        }
        let (top, below) = a.split_at_mut(col + 1);
        let pivot = &top[col];
        for (r, row) in below.iter_mut().enumerate() {
            let f = row[col] / pivot[col];
            for (x, p) in row[col..].iter_mut().zip(&pivot[col..]) {
                *x -= f * p;
            }
            b[col + 1 + r] -= f * b[col];
        }
    }
    let mut x = vec![0f64; n];
    for r in (0..n).rev() {
        if a[r][r].abs() < 1e-12 {
            continue;
        }
        let s: f64 = (r + 1..n).map(|k| a[r][k] * x[k]).sum();
        x[r] = (b[r] - s) / a[r][r];
    }
    x
}

/// Random forest of each channel's change (smartcore, 30 trees of depth ≤ 10, leaves of ≥ 20
/// samples) on an evenly spaced subsample of at most 8000 samples of `train`; `None` when
/// smartcore refuses the data.
pub fn fit_forest(train: &Dataset, seed: u64) -> Option<Predictor<'static>> {
    let st = Standardiser::fit(train);
    let step = (train.len() / 8000).max(1);
    let mut forests = Vec::new();
    for &(c, _) in &CHANNELS {
        let (x, y): (Vec<Vec<f64>>, Vec<f64>) = (0..train.len())
            .step_by(step)
            .filter_map(|i| Some((st.row(train.row(i)), observed(train, i, c)?)))
            .unzip();
        let x = DenseMatrix::from_2d_vec(&x).ok()?;
        let params = RandomForestRegressorParameters::default()
            .with_n_trees(30)
            .with_max_depth(10)
            .with_min_samples_leaf(20)
            .with_seed(seed);
        forests.push(RandomForestRegressor::fit(&x, &y, params).ok()?);
    }
    Some(Predictor::Forest(st, forests))
}

/// One row of `st`-standardised features in f32. Trees would not need the scaling; it
/// is there to map absent values to 0 instead of `ABSENT`, as for the other fitted baselines.
fn boost_features(st: &Standardiser, r: &[i32]) -> Vec<f32> {
    st.row(r).into_iter().map(|x| x as f32).collect()
}

/// Gradient-boosted trees with absolute-error loss ([`LadBoost`]) of each channel's change,
/// on an evenly spaced subsample of at most `params.max_samples` samples of `train`. With
/// `early_stop` (the teacher of `pipeline::distil_workload`) they are fitted on all series but
/// those of `held_out_groups` and stopped where the error on those is least, so that few
/// series get a small ensemble; without it (the `gradient_boosting` baseline of `evaluate`)
/// every series is fitted with all `params.trees` trees. A channel
/// that cannot be fitted (fewer than two observed samples: a CPU-only data set's memory) gets
/// no ensemble; `None` when no channel can be fitted (or the settings are invalid).
pub fn fit_boosting(
    train: &Dataset,
    params: &BoostParams,
    early_stop: bool,
) -> Option<Predictor<'static>> {
    let st = Standardiser::fit(train);
    let step = train.len().div_ceil(params.max_samples.max(1)).max(1);
    let held = if early_stop {
        held_out_groups(train)
    } else {
        Default::default()
    };
    let mut ensembles = Vec::new();
    for &(c, _) in &CHANNELS {
        let (mut x, mut y, mut hx, mut hy) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for i in (0..train.len()).step_by(step) {
            if let Some(t) = observed(train, i, c) {
                let (xs, ys) = if held.contains(&train.group[i]) {
                    (&mut hx, &mut hy)
                } else {
                    (&mut x, &mut y)
                };
                xs.extend(boost_features(&st, train.row(i)));
                ys.push(t as f32);
            }
        }
        let holdout = Some((hx.as_slice(), hy.as_slice()));
        let nf = train.n_features();
        ensembles.push(LadBoost::fit_with_holdout(&x, &y, nf, params, holdout));
    }
    ensembles
        .iter()
        .any(Option::is_some)
        .then_some(Predictor::Boosting(st, ensembles))
}

/// The groups (series) the trees stop on: every fifth in id order, the last one when there are
/// two to four, none for a single series.
fn held_out_groups(d: &Dataset) -> std::collections::BTreeSet<u32> {
    let groups: std::collections::BTreeSet<u32> = d.group.iter().copied().collect();
    let n = groups.len();
    groups
        .into_iter()
        .enumerate()
        .filter(|&(k, _)| {
            if n >= 5 {
                k % 5 == 4
            } else {
                n >= 2 && k == n - 1
            }
        })
        .map(|(_, g)| g)
        .collect()
}

/// CPU and memory figures of `pred` (changes in `CHANNELS` order) on `d`.
pub fn channel_maes(d: &Dataset, pred: &Array2<f64>) -> Vec<ChannelMae> {
    CHANNELS
        .iter()
        .enumerate()
        .map(|(k, &(c, _))| channel_mae(d, c, |i| pred[[i, k]]))
        .collect()
}

/// The six figures (`mae_pp`, `persistence_mae_pp`, `skill`, each also `mem_`) as JSON.
pub fn figures(m: &[ChannelMae]) -> Map<String, Value> {
    let mut o = Map::new();
    for (cm, &(_, p)) in m.iter().zip(&CHANNELS) {
        let ok = cm.n > 0;
        let v = |x: f64| if ok { json!(x) } else { Value::Null };
        o.insert(format!("{p}mae_pp"), v(cm.mae_pp));
        o.insert(format!("{p}persistence_mae_pp"), v(cm.persistence_mae_pp));
        o.insert(
            format!("{p}skill"),
            v(skill(cm.mae_pp, cm.persistence_mae_pp)),
        );
    }
    o
}

/// Aggregate over files (`per_file[f]` = the channel figures of file `f`, named `names[f]`).
pub fn aggregate(names: &[String], per_file: &[Vec<ChannelMae>]) -> Map<String, Value> {
    let mut o = Map::new();
    for (k, &(_, p)) in CHANNELS.iter().enumerate() {
        let files: Vec<(&String, ChannelMae)> = names
            .iter()
            .zip(per_file)
            .map(|(n, m)| (n, m[k]))
            .filter(|(_, m)| m.n > 0)
            .collect();
        let active: Vec<f64> = files
            .iter()
            .filter(|(_, m)| m.persistence_mae_pp >= ACTIVE_PP)
            .map(|(_, m)| skill(m.mae_pp, m.persistence_mae_pp))
            .collect();
        let mean = (!active.is_empty()).then(|| active.iter().sum::<f64>() / active.len() as f64);
        let worst = files
            .iter()
            .map(|(n, m)| (*n, m.mae_pp - m.persistence_mae_pp))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        o.insert(format!("{p}active_files"), json!(active.len()));
        o.insert(format!("{p}mean_skill_active"), json!(mean));
        o.insert(format!("{p}worst_excess_pp"), json!(worst.map(|w| w.1)));
        o.insert(format!("{p}worst_file"), json!(worst.map(|w| w.0)));
    }
    o
}

/// Pools the figures of several files (weighted by their samples).
fn pool(files: &[Vec<ChannelMae>]) -> Vec<ChannelMae> {
    (0..CHANNELS.len())
        .map(|k| {
            let n: usize = files.iter().map(|f| f[k].n).sum();
            let w = |g: fn(&ChannelMae) -> f64| {
                files.iter().map(|f| g(&f[k]) * f[k].n as f64).sum::<f64>() / n.max(1) as f64
            };
            ChannelMae {
                mae_pp: w(|m| m.mae_pp),
                persistence_mae_pp: w(|m| m.persistence_mae_pp),
                n,
            }
        })
        .collect()
}

/// One evaluated unit: a file's name and its samples.
pub type Unit = (String, Dataset);

/// The report of `predictors` (the first is the model) on `units`: per file, pooled and
/// aggregate, as described in the module docs.
pub fn report(units: &[Unit], predictors: &[(&str, Predictor<'_>)]) -> Value {
    let names: Vec<String> = units.iter().map(|u| u.0.clone()).collect();
    // maes[p][f]: predictor p on file f
    let maes: Vec<Vec<Vec<ChannelMae>>> = predictors
        .iter()
        .map(|(_, p)| {
            units
                .iter()
                .map(|(_, d)| channel_maes(d, &p.predict(d)))
                .collect()
        })
        .collect();
    let files: Vec<Value> = units
        .iter()
        .enumerate()
        .map(|(f, (name, d))| {
            let mut o = figures(&maes[0][f]);
            o.insert("file".into(), json!(name));
            o.insert("samples".into(), json!(d.len()));
            let b: Map<String, Value> = predictors[1..]
                .iter()
                .zip(&maes[1..])
                .map(|((n, _), m)| (n.to_string(), Value::Object(figures(&m[f]))))
                .collect();
            o.insert("baselines".into(), Value::Object(b));
            Value::Object(o)
        })
        .collect();
    let summary = |m: &Vec<Vec<ChannelMae>>| {
        let mut o = figures(&pool(m));
        o.insert("aggregate".into(), Value::Object(aggregate(&names, m)));
        o
    };
    let mut out = summary(&maes[0]);
    let b: Map<String, Value> = predictors[1..]
        .iter()
        .zip(&maes[1..])
        .map(|((n, _), m)| (n.to_string(), Value::Object(summary(m))))
        .collect();
    out.insert("baselines".into(), Value::Object(b));
    out.insert("files".into(), Value::Array(files));
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use inference_core::blob::ABSENT;
    use inference_core::features::workload::field;
    use inference_core::ModelKind;

    /// Random features; the CPU change is a step in the time of day (+8 pp or −6 pp) and the
    /// memory change pulls the current value a quarter of the way back to 50 %. Persistence
    /// predicts neither; no GPU.
    fn series(n: usize, seed: u64) -> Dataset {
        let mut rng = Rng::new(seed);
        let mut d = Dataset::new(ModelKind::Workload, "step");
        for i in 0..n {
            let mut row: Vec<i32> = (0..d.n_features())
                .map(|_| rng.below(10_000) as i32)
                .collect();
            row[field::CURRENT_CPU] = 1_000 + rng.below(8_000) as i32;
            row[field::CURRENT_GPU] = ABSENT;
            let cpu = if row[field::TIME_OF_DAY] > 5_000 {
                800.0
            } else {
                -600.0
            };
            let mem = (5_000 - row[field::CURRENT_MEM]) as f32 / 4.0;
            d.push(&row, &[cpu, mem, f32::NAN], 0, i as i64);
        }
        d
    }

    #[test]
    fn boosting_learns_a_known_change_that_persistence_misses() {
        let Some(g) = fit_boosting(&series(3_000, 1), &BoostParams::default(), false) else {
            panic!("no ensemble fitted");
        };
        let test = series(1_000, 2);
        let pred = g.predict(&test);
        assert!(pred.iter().all(|p| p.is_finite()));
        for m in channel_maes(&test, &pred) {
            assert_eq!(m.n, 1_000);
            assert!(
                m.mae_pp < 0.25 * m.persistence_mae_pp,
                "MAE {} pp vs persistence {} pp",
                m.mae_pp,
                m.persistence_mae_pp
            );
        }
    }

    #[test]
    fn boosting_is_deterministic() {
        let (train, test) = (series(500, 3), series(200, 4));
        let fit = || fit_boosting(&train, &BoostParams::default(), true).map(|g| g.predict(&test));
        assert_eq!(fit(), fit());
    }

    #[test]
    fn boosting_needs_observed_samples() {
        assert!(fit_boosting(&series(0, 5), &BoostParams::default(), true).is_none());
    }
}
