//! The training loop: Adam on mini-batches, validation after every epoch, best-epoch selection.

use inference_core::features::threat;
use inference_core::quant::softmax_permille;
use ndarray::{Array1, Array2};
use rayon::prelude::*;

use super::encoded::Encoded;
use super::mlp::{Adam, Mlp};
use super::params::Params;
use super::task::{hidden, Task};
use crate::data::dataset::Dataset;
use crate::data::encoding::{InputQuant, CODES_PER_STD};
use crate::error::Error;
use crate::eval::metrics::{self, Metrics};
use crate::rng::Rng;

/// One epoch's figures.
#[derive(Debug, Clone)]
pub struct EpochLog {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss.
    pub loss: f64,
    /// Validation loss.
    pub val_loss: f64,
    /// Validation headline metric.
    pub metric: f64,
}

/// A trained f32 model and how it got there.
#[derive(Debug, Clone)]
pub struct Fit {
    /// The task (scales, heads).
    pub task: Task,
    /// Input quantization (fitted on training data).
    pub input: InputQuant,
    /// Best network.
    pub mlp: Mlp,
    /// Per-epoch log.
    pub log: Vec<EpochLog>,
    /// Best epoch (1-based).
    pub best_epoch: usize,
    /// Validation metrics of the best f32 network.
    pub val_metrics: Metrics,
}

/// Target matrix of a data set.
pub fn target_matrix(d: &Dataset) -> Array2<f32> {
    Array2::from_shape_vec((d.len(), d.n_targets()), d.targets.clone())
        .unwrap_or_else(|_| Array2::zeros((0, d.n_targets())))
}

/// Trains a network for `train`, choosing the best epoch on `val`; `on_epoch` sees each epoch.
pub fn fit(
    train: &Dataset,
    val: &Dataset,
    params: &Params,
    on_epoch: impl FnMut(&EpochLog),
) -> Result<Fit, Error> {
    params.validate()?;
    if train.is_empty() {
        return Err(Error::NotEnoughData {
            kind: train.kind,
            message: "no training samples".into(),
        });
    }
    let task = Task::new(train.kind, train);
    let targets = task.targets(train);
    fit_targets(train, val, params, task, &targets, on_epoch)
}

/// [`fit`] with the first softmax head (the threat classes) learning the distributions in
/// `soft` (one row per training sample, one column per class, e.g. the mean probabilities of
/// an ensemble) instead of each sample's class. Validation still judges the classes.
pub fn fit_soft(
    train: &Dataset,
    val: &Dataset,
    params: &Params,
    soft: ndarray::ArrayView2<f32>,
    on_epoch: impl FnMut(&EpochLog),
) -> Result<Fit, Error> {
    params.validate()?;
    if train.is_empty() || soft.nrows() != train.len() {
        return Err(Error::NotEnoughData {
            kind: train.kind,
            message: format!(
                "{} training samples, {} soft targets",
                train.len(),
                soft.nrows()
            ),
        });
    }
    let task = Task::new(train.kind, train);
    let hard = task.targets(train);
    let task = task.with_soft_classes(hard.ncols());
    let targets = ndarray::concatenate(ndarray::Axis(1), &[hard.view(), soft])
        .map_err(|e| Error::param("soft targets", e.to_string()))?;
    fit_targets(train, val, params, task, &targets, on_epoch)
}

/// [`fit`] and [`fit_soft`] once the task and its training targets are set: the input
/// quantization (or the warm start's network), the encoding, the epochs.
fn fit_targets(
    train: &Dataset,
    val: &Dataset,
    params: &Params,
    task: Task,
    targets: &Array2<f32>,
    on_epoch: impl FnMut(&EpochLog),
) -> Result<Fit, Error> {
    let (input, init) = match &params.init {
        Some(init) => {
            let (input, mlp) = super::warm::network(init, train.kind, &task)?;
            (input, Some(mlp))
        }
        None => (InputQuant::fit(train), None),
    };
    let mut encoded = Encoded::empty(train.n_features(), targets.ncols());
    encoded.push(&input, train, targets);
    fit_encoded(Start { task, input, init }, &encoded, val, params, on_epoch)
}

/// What training starts from: the task (output scales, heads), the input quantization, and
/// for a warm start the network (`None`: fresh weights from the seed).
#[derive(Debug, Clone)]
pub struct Start {
    /// Task of the model kind, fitted on training data.
    pub task: Task,
    /// Input quantization, fitted on training data (or the warm start's).
    pub input: InputQuant,
    /// Warm-start network.
    pub init: Option<Mlp>,
}

/// [`fit`] on samples already encoded with `start.input` (e.g. streamed from a file too large
/// to hold as a [`Dataset`]). Each mini-batch is cut into `params.threads` shards whose
/// gradients are computed in parallel and summed in shard order, so a run is reproducible for
/// a given seed and thread count.
pub fn fit_encoded(
    start: Start,
    train: &Encoded,
    val: &Dataset,
    params: &Params,
    mut on_epoch: impl FnMut(&EpochLog),
) -> Result<Fit, Error> {
    params.validate()?;
    let Start { task, input, init } = start;
    let kind = task.kind;
    if train.is_empty() {
        return Err(Error::NotEnoughData {
            kind,
            message: "no training samples".into(),
        });
    }
    let xv = input.network_input(val);
    let tv = task.targets(val);
    let mut rng = Rng::new(params.seed ^ (kind as u64) << 32);
    let mut widths = vec![kind.n_features()];
    widths.extend(params.hidden.clone().unwrap_or_else(|| hidden(kind)));
    widths.push(kind.n_outputs());
    let fresh = Mlp::new(&widths, &mut rng);
    let mut mlp = init.unwrap_or(fresh);
    let frozen = params.init.as_ref().map_or(0, |i| i.freeze);
    let mut adam = Adam::new(&mlp, params.learning_rate, params.weight_decay).freeze(frozen);
    let pool = if params.threads > 1 {
        Some(
            rayon::ThreadPoolBuilder::new()
                .num_threads(params.threads)
                .build()
                .map_err(|e| Error::param("threads", e))?,
        )
    } else {
        None
    };
    let mut order: Vec<usize> = (0..train.len()).collect();
    let mut best: Option<(f64, f64, Mlp, usize, Metrics)> = None;
    let mut log = Vec::with_capacity(params.epochs);
    for epoch in 1..=params.epochs {
        rng.shuffle(&mut order);
        let mut total = 0.0;
        let mut batches = 0;
        for idx in order.chunks(params.batch_size) {
            let (l, grads) = match &pool {
                None => shard_gradient(&mlp, &task, train, idx, idx.len()),
                Some(pool) => {
                    let per = idx.len().div_ceil(params.threads);
                    let parts: Vec<_> = pool.install(|| {
                        idx.par_chunks(per)
                            .map(|s| shard_gradient(&mlp, &task, train, s, idx.len()))
                            .collect()
                    });
                    sum_shards(parts)
                }
            };
            total += l;
            batches += 1;
            adam.step(&mut mlp, &grads);
        }
        let (val_loss, metrics) = if val.is_empty() {
            (f64::NAN, Metrics::default())
        } else {
            let yv = match &pool {
                None => mlp.forward(xv.view()),
                Some(pool) => forward_parallel(pool, &mlp, xv.view(), params.threads),
            };
            let (vl, _) = task.loss_grad(yv.view(), tv.view());
            (vl, metrics::evaluate(val, &task.to_fixed(yv.view())))
        };
        let entry = EpochLog {
            epoch,
            loss: total / batches.max(1) as f64,
            val_loss,
            metric: metrics.headline(),
        };
        on_epoch(&entry);
        let sel = metrics.selection();
        let better = match &best {
            None => true,
            Some((m, vl, ..)) => sel > *m + 1e-9 || ((sel - *m).abs() <= 1e-9 && val_loss < *vl),
        };
        if better || val.is_empty() {
            best = Some((sel, val_loss, mlp.clone(), epoch, metrics));
        }
        log.push(entry);
    }
    let (_, _, mlp, best_epoch, val_metrics) =
        best.ok_or_else(|| Error::param("epochs", "no epoch ran"))?;
    Ok(Fit {
        task,
        input,
        mlp,
        log,
        best_epoch,
        val_metrics,
    })
}

type Gradients = Vec<(Array2<f32>, Array1<f32>)>;

/// `mlp`'s outputs for `x`, its rows cut into `parts` blocks run on `pool` (each row's outputs
/// are those of [`Mlp::forward`]: rows do not interact).
fn forward_parallel(
    pool: &rayon::ThreadPool,
    mlp: &Mlp,
    x: ndarray::ArrayView2<f32>,
    parts: usize,
) -> Array2<f32> {
    let per = x.nrows().div_ceil(parts).max(1);
    let blocks: Vec<Array2<f32>> = pool.install(|| {
        x.axis_chunks_iter(ndarray::Axis(0), per)
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|b| mlp.forward(b))
            .collect()
    });
    let views: Vec<_> = blocks.iter().map(|b| b.view()).collect();
    ndarray::concatenate(ndarray::Axis(0), &views).unwrap_or_else(|_| mlp.forward(x))
}

/// Loss and gradients of the samples `idx`, one shard of a mini-batch of `batch` samples: both
/// weighted by the shard's share, so that the shards add up to the whole batch's.
fn shard_gradient(
    mlp: &Mlp,
    task: &Task,
    train: &Encoded,
    idx: &[usize],
    batch: usize,
) -> (f64, Gradients) {
    let (xb, tb) = train.batch(idx);
    let acts = mlp.forward_all(xb.view());
    let out = acts.last().map(|a| a.view()).unwrap_or(xb.view());
    let (mut l, mut g) = task.loss_grad(out, tb.view());
    if idx.len() != batch {
        let share = idx.len() as f32 / batch as f32;
        g.mapv_inplace(|v| v * share);
        l *= share as f64;
    }
    (l, mlp.backward(xb.view(), &acts, g))
}

/// The sum of the shards' losses and gradients, in shard order.
fn sum_shards(parts: Vec<(f64, Gradients)>) -> (f64, Gradients) {
    let mut parts = parts.into_iter();
    let Some((mut loss, mut grads)) = parts.next() else {
        return (0.0, Vec::new());
    };
    for (l, g) in parts {
        loss += l;
        for ((aw, ab), (w, b)) in grads.iter_mut().zip(g) {
            *aw += &w;
            *ab += &b;
        }
    }
    (loss, grads)
}

impl Fit {
    /// Threat score (per-mille) of one raw feature row under this f32 fit, with the engine's
    /// integer softmax (the f32 twin of `eval::int8::int8_threat_score`).
    pub fn threat_score(&self, row: &[i32]) -> u16 {
        let codes = self.input.codes(row);
        let x = ndarray::Array2::from_shape_fn((1, codes.len()), |(_, j)| {
            codes[j] as f32 / CODES_PER_STD as f32
        });
        let y = self.task.to_fixed(self.mlp.forward(x.view()).view());
        let logits: Vec<i32> = (0..threat::N_OUTPUTS)
            .map(|c| y[[0, c]].round().clamp(i32::MIN as f64, i32::MAX as f64) as i32)
            .collect();
        let mut p = [0u16; threat::N_OUTPUTS];
        softmax_permille(&logits, &mut p);
        threat::score_permille(p[0])
    }
}
