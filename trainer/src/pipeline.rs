//! Train one model end to end: split, fit, quantize, run the int8 model through
//! inference-core, compare with baselines, and produce the blob plus its manifest entry.

use std::path::Path;
use std::time::Instant;

use inference_core::features::threat::DEFAULT_THRESHOLD;
use inference_core::{Model, ModelKind};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::{json, Value};

use crate::data::dataset::{hex, Dataset};
use crate::data::encoding::InputQuant;
use crate::data::{parquet, synth, ReadOptions};
use crate::error::{Error, Result};
use crate::eval::baselines::{self, Baseline};
use crate::eval::diagnostics::{self, Diagnostics};
use crate::eval::events::{self, VALIDATION_FALSE_ALARMS_PER_DAY};
use crate::eval::int8::{int8_failure_probabilities, int8_metrics, int8_threat_score};
use crate::eval::metrics::{self, Metrics};
use crate::eval::replay::{replay_threat, zero_history};
use crate::quantize::{quantize, BlobMeta, QuantizedModel};
use crate::rng::Rng;
use crate::train::augment::augment_levels;
use crate::train::encoded::Encoded;
use crate::train::fit::{fit_encoded, fit_soft, Start};
use crate::train::params::AUTO_ENSEMBLE;
use crate::train::task::Task;
use crate::train::{fit, EpochLog, Fit, Params};

/// Highest share of benign validation processes the threat detector may flag: its operating
/// threshold is the lowest that keeps to it.
pub const MAX_PROCESS_FPR: f64 = 0.05;

/// Metrics of a published blob on validation data, at the blob's own operating point, computed
/// as `train` computes its int8 figures: the threat detector fed its own scores with one
/// decision per process, the failure model on real incidents by event. `retrain` judges the
/// champion and the challenger with it on the same slice.
pub fn judge(model: &Model<'_>, val: &Dataset) -> Metrics {
    let t = model.header().threshold_permille;
    if val.is_empty() {
        return Metrics::default();
    }
    match val.kind {
        ModelKind::Threat => {
            let v0 = zero_history(val);
            let (v, _) = replay_threat(&v0, DEFAULT_THRESHOLD, |r| int8_threat_score(model, r));
            let mut m = int8_metrics(model, &v, Some(t));
            m.threshold_permille = Some(t);
            m
        }
        ModelKind::Failure if !val.synthetic => {
            let p = int8_failure_probabilities(model, val);
            let mut m = metrics::failure_metrics(val, &p, t as f64 / 1000.0);
            m.threshold_permille = Some(t);
            m
        }
        _ => int8_metrics(model, val, None),
    }
}

/// Share of the data held out for validation unless told otherwise.
pub const DEFAULT_VAL_SPLIT: f64 = 0.2;

/// Fewest samples a model is trained on. Below it the validation share is a handful of samples
/// and no figure of the model means anything (a live minute of `collect` gives about 50).
pub const MIN_SAMPLES: usize = 30;

/// Fewest validation samples after the split.
pub const MIN_VAL_SAMPLES: usize = 5;

/// Fewest validation groups (series, processes, components) after the split.
pub const MIN_VAL_GROUPS: usize = 1;

/// Refuses a validation share outside (0, 0.9): `--val-split 0` leaves no validation data, and
/// without it no figure of the model is defined.
pub fn check_val_split(val_split: f64) -> Result<()> {
    if val_split > 0.0 && val_split < 0.9 {
        Ok(())
    } else {
        Err(Error::param(
            "--val-split",
            format!(
                "must be in (0, 0.9), got {val_split} (without validation data no figure of the model is defined)"
            ),
        ))
    }
}

/// Checks that `data` is enough to train and judge a model with `val_split` held out, and
/// returns the (train, validation) split: a [`Error::Param`] for a share outside (0, 0.9), an
/// [`Error::NotEnoughData`] below [`MIN_SAMPLES`], [`MIN_VAL_SAMPLES`] or [`MIN_VAL_GROUPS`].
/// `--val-split 0` is refused: without validation data no figure of the model is defined.
pub fn check_data(data: &Dataset, val_split: f64, seed: u64) -> Result<(Dataset, Dataset)> {
    check_val_split(val_split)?;
    let kind = data.kind;
    if data.len() < MIN_SAMPLES {
        return Err(Error::NotEnoughData {
            kind,
            message: format!(
                "needs at least {MIN_SAMPLES} samples, got {} (give more data or a larger --samples)",
                data.len()
            ),
        });
    }
    let (train, val) = data.split(val_split, seed);
    let mut groups = val.group.clone();
    groups.sort_unstable();
    groups.dedup();
    if train.is_empty() || val.len() < MIN_VAL_SAMPLES || groups.len() < MIN_VAL_GROUPS {
        return Err(Error::NotEnoughData {
            kind,
            message: format!(
                "needs at least {MIN_VAL_SAMPLES} validation samples in at least {MIN_VAL_GROUPS} group(s) and some training samples, got {} validation sample(s) in {} group(s) and {} training sample(s) (--val-split {val_split} of {} samples; give more data or a larger --val-split)",
                val.len(),
                groups.len(),
                train.len(),
                data.len()
            ),
        });
    }
    Ok((train, val))
}

/// Everything one training run produced.
#[derive(Debug, Clone)]
pub struct Trained {
    /// The fit (f32 network, task, log).
    pub fit: Fit,
    /// Quantized network.
    pub quantized: QuantizedModel,
    /// Blob bytes.
    pub blob: Vec<u8>,
    /// int8 metrics on the validation data (inference-core's outputs).
    pub int8: Metrics,
    /// ROC, confusion counts or predicted against actual of the int8 model on the validation
    /// data (what `trainer report` draws).
    pub diagnostics: Diagnostics,
    /// Baselines on the validation data.
    pub baselines: Vec<Baseline>,
    /// Training and validation sizes.
    pub sizes: (usize, usize),
    /// Wall time of the run, seconds.
    pub seconds: f64,
    /// The data it was trained on.
    pub about: About,
}

/// Replaces the CPU and memory targets of `train` (observed changes) by what gradient-boosted
/// trees with absolute-error loss, fitted on `train` itself, predict for each sample: the
/// network then learns the trees' conditional medians instead of the raw, heavy-tailed
/// changes. Chosen by leave-VMs-out CV on Bitbrains (docs/WORKLOAD.md): mean skill over all
/// VMs 0.020 -> 0.102 (CPU), 0.122 -> 0.169 (memory active VMs), seed 42. Unobserved targets
/// stay unobserved; the trees are those of the `gradient_boosting` baseline of `evaluate`
/// (deterministic), but stopped on held-out series of `train`: without that, 300 trees of 31
/// leaves learn five NAB series by heart and the network with them (NAB leave-one-series-out
/// CV of the training series, seed 42: skill 0.006 without, 0.099 with). A channel the trees
/// cannot fit (not observed in `train`) keeps its targets.
pub fn distil_workload(train: &mut Dataset) {
    let Some(teacher) = crate::eval::workload::fit_boosting(
        train,
        &crate::eval::boosting::BoostParams::default(),
        true,
    ) else {
        return;
    };
    let y = teacher.predict(train);
    let nt = train.n_targets();
    for i in 0..train.len() {
        for k in (0..y.ncols()).filter(|&k| teacher.fitted(k)) {
            let t = &mut train.targets[i * nt + k];
            if t.is_finite() {
                *t = y[[i, k]] as f32;
            }
        }
    }
}

/// Replaces the observed CPU, memory and GPU changes of `train` by the mean prediction of
/// `members` workload networks trained on it with seeds `seed + 1 …` (each as the
/// final model is trained: level augmentation, best epoch on `val`). The final network, of the
/// default size, then learns the ensemble's average, which varies less with the seed than any
/// one member (docs/EVALUATION.md, "Ensembles").
pub fn distil_ensemble(
    train: &mut Dataset,
    val: &Dataset,
    params: &Params,
    members: usize,
) -> Result<()> {
    params.validate()?;
    if members == 0 {
        return Err(Error::param("ensemble", "must be at least 1"));
    }
    let nt = train.n_targets();
    let mut sum = ndarray::Array2::<f64>::zeros((train.len(), 3));
    for k in 0..members {
        let p = member_params(params, k);
        let member = fit(&augment_levels(train, p.seed), val, &p, |_| {})?;
        let x = member.input.network_input(train);
        let y = member.task.to_fixed(member.mlp.forward(x.view()).view());
        sum += &y.slice(ndarray::s![.., ..3]);
    }
    let n = members as f64;
    for i in 0..train.len() {
        for c in 0..3 {
            let t = &mut train.targets[i * nt + c];
            if t.is_finite() {
                *t = (sum[[i, c]] / n) as f32;
            }
        }
    }
    Ok(())
}

/// The parameters of seed-ensemble member `k`: `params` with seed `seed + 1 + k`, itself no
/// ensemble.
fn member_params(params: &Params, k: usize) -> Params {
    Params {
        seed: params.seed.wrapping_add(1 + k as u64),
        ensemble: Some(1),
        ..params.clone()
    }
}

/// The mean class probabilities of `members` threat networks trained on `train` with seeds
/// `seed + 1 …` (each as the published one), one row per training sample: the soft targets
/// the published network then learns ([`fit_soft`]).
pub fn ensemble_classes(
    train: &Dataset,
    val: &Dataset,
    params: &Params,
    members: usize,
) -> Result<ndarray::Array2<f32>> {
    params.validate()?;
    if members == 0 {
        return Err(Error::param("ensemble", "must be at least 1"));
    }
    let mut sum: Option<ndarray::Array2<f32>> = None;
    for k in 0..members {
        let member = fit(train, val, &member_params(params, k), |_| {})?;
        let x = member.input.network_input(train);
        let probs = member
            .task
            .class_probabilities(member.mlp.forward(x.view()).view())
            .ok_or_else(|| Error::param("ensemble", "the model has no class head"))?;
        sum = Some(match sum {
            Some(s) => s + probs,
            None => probs,
        });
    }
    Ok(sum.map(|s| s / members as f32).unwrap_or_default())
}

/// Trains `kind` on `data`: split, fit with `params`, quantize, evaluate, encode as `version`.
/// Refuses data that [`check_data`] refuses. The validation figures may still be undefined
/// (e.g. no attack among the validation processes): see [`Trained::refusal`].
pub fn train(
    data: &Dataset,
    params: &Params,
    val_split: f64,
    version: u32,
    created_unix_s: u64,
    on_epoch: impl FnMut(&EpochLog),
) -> Result<Trained> {
    let start = Instant::now();
    let (mut train, val) = check_data(data, val_split, params.seed)?;
    if data.kind == ModelKind::Workload && params.distill.unwrap_or(!data.synthetic) {
        distil_workload(&mut train);
    }
    // The threat model reads its own past scores. Training on label-derived scores would teach
    // it to trust a history it never sees when serving, so: fit a behaviour-only model (no
    // history), replay every process with its scores, and fit the final model on that.
    let (train, val, val_raw, fit) = if data.kind == ModelKind::Threat {
        let (t0, v0) = (zero_history(&train), zero_history(&val));
        // the behaviour-only model only has to give plausible scores: a third of the epochs
        let quick = Params {
            epochs: (params.epochs / 3).max(1),
            ..params.clone()
        };
        let first = fit(&t0, &v0, &quick, |_| {})?;
        let (t1, _) = replay_threat(&t0, DEFAULT_THRESHOLD, |r| first.threat_score(r));
        let (v1, _) = replay_threat(&v0, DEFAULT_THRESHOLD, |r| first.threat_score(r));
        // seed ensemble: only when asked for (the default stays one network; see
        // docs/EVALUATION.md, "Ensembles")
        let members = params.ensemble.unwrap_or(1);
        let mut fit = if members > 1 {
            let soft = ensemble_classes(&t1, &v1, params, members)?;
            fit_soft(&t1, &v1, params, soft.view(), on_epoch)?
        } else {
            fit(&t1, &v1, params, on_epoch)?
        };
        if !v0.is_empty() {
            // report the f32 model as it would serve: fed its own scores, like the int8 one
            let (v, s) = replay_threat(&v0, DEFAULT_THRESHOLD, |r| fit.threat_score(r));
            let scores: Vec<f64> = s.iter().map(|&x| x as f64 / 1000.0).collect();
            fit.val_metrics = metrics::threat_metrics(&v, &scores, None);
        }
        (t1, v1, Some((t0, v0)), fit)
    } else if data.kind == ModelKind::Workload {
        let members = params
            .ensemble
            .unwrap_or(if data.synthetic { 1 } else { AUTO_ENSEMBLE });
        if members > 1 {
            distil_ensemble(&mut train, &val, params, members)?;
        }
        let fit = fit(&augment_levels(&train, params.seed), &val, params, on_epoch)?;
        (train, val, None, fit)
    } else {
        let fit = fit(&train, &val, params, on_epoch)?;
        (train, val, None, fit)
    };
    let about = About {
        source: data.source.clone(),
        sha256: data.sha256(),
        synthetic: data.synthetic,
        train_samples: train.len(),
    };
    finish(
        fit,
        &train,
        val,
        val_raw,
        about,
        params,
        version,
        created_unix_s,
        start,
    )
}

/// Training samples kept, evenly spaced, when [`train_streamed`] streams a file: they fit
/// the input and output scales and calibrate the quantization and the monitor thresholds.
pub const STREAM_SAMPLE: usize = 100_000;

/// Trains the workload model on a Parquet telemetry file ([`crate::data::parquet`]) without
/// holding it: fleet-sized data in bounded memory.
///
/// Two streamed passes, one series at a time. The first keeps every validation series (a
/// share `val_split` of the series, picked by `seed`) and [`STREAM_SAMPLE`] evenly spaced
/// training samples, which fit the scales; the second encodes every training sample to its
/// int8 codes and targets ([`Encoded`], 59 bytes each). The fit then runs over all of them
/// ([`fit_encoded`], `params.threads` threads). The file needs at least 10 series (whole series
/// are held out). Unlike [`train`], no tree distillation and no level augmentation: both would
/// need the training set in memory.
#[allow(clippy::too_many_arguments)]
pub fn train_streamed(
    path: &Path,
    opts: &ReadOptions,
    params: &Params,
    val_split: f64,
    version: u32,
    created_unix_s: u64,
    on_epoch: impl FnMut(&EpochLog),
) -> Result<Trained> {
    let start = Instant::now();
    check_val_split(val_split)?;
    params.validate()?;
    if params.distill == Some(true) {
        return Err(Error::param(
            "distill",
            "tree distillation needs the training set in memory: not with a streamed file",
        ));
    }
    if params.ensemble.is_some_and(|k| k > 1) {
        return Err(Error::param(
            "ensemble",
            "a seed ensemble is distilled on the training set in memory: not with a streamed file",
        ));
    }
    let kind = ModelKind::Workload;
    let source = format!("parquet:{}", path.display());
    let rows = parquet::rows(path)?;
    let stride = (rows as usize / STREAM_SAMPLE).max(1);
    let held_out = |g: u32| {
        let mut r = Rng::new(params.seed ^ 0x5_1117 ^ (g as u64) << 24);
        r.f64() < val_split
    };
    // pass 1: validation series, an even sample of the training samples, counts
    let mut sample = Dataset::new(kind, source.clone());
    let mut val = Dataset::new(kind, source.clone());
    let (mut n_train, mut series, mut val_series) = (0usize, 0usize, 0usize);
    let samples_of = |s: &parquet::Series| {
        let mut d = Dataset::new(kind, "");
        d.push_workload_series(&s.samples, s.group);
        d
    };
    series_in_parallel(path, opts, params.threads, samples_of, |s, d| {
        series += 1;
        let all: Vec<usize> = (0..d.len()).collect();
        if held_out(s.group) {
            val_series += 1;
            val.extend_rows(&d, &all);
        } else {
            let keep: Vec<usize> = all
                .into_iter()
                .filter(|i| (n_train + i) % stride == 0)
                .collect();
            n_train += d.len();
            sample.extend_rows(&d, &keep);
        }
    })?;
    if series < 10 || n_train < MIN_SAMPLES || val.len() < MIN_VAL_SAMPLES || val_series == 0 {
        return Err(Error::NotEnoughData {
            kind,
            message: format!(
                "a streamed file needs at least 10 series, {MIN_SAMPLES} training and {MIN_VAL_SAMPLES} validation samples; {} has {series} series, {n_train} training and {} validation samples in {val_series} series (--val-split {val_split}; read a smaller file without --stream)",
                path.display(),
                val.len()
            ),
        });
    }
    let task = Task::new(kind, &sample);
    let (input, init) = match &params.init {
        Some(init) => {
            let (input, mlp) = crate::train::warm::network(init, kind, &task)?;
            (input, Some(mlp))
        }
        None => (InputQuant::fit(&sample), None),
    };
    // pass 2: every training sample, encoded
    // the column count only: the targets of no sample
    let n_targets = task.unweighted_targets(&Dataset::new(kind, "")).ncols();
    let mut encoded = Encoded::with_capacity(kind.n_features(), n_targets, n_train);
    let encode = |s: &parquet::Series| {
        (!held_out(s.group)).then(|| {
            let d = samples_of(s);
            let t = task.unweighted_targets(&d);
            let mut e = Encoded::with_capacity(d.n_features(), n_targets, d.len());
            e.push(&input, &d, &t);
            e
        })
    };
    series_in_parallel(path, opts, params.threads, encode, |_, e| {
        if let Some(e) = e {
            encoded.append(&e);
        }
    })?;
    encoded.normalize_weights(&task);
    let fit = fit_encoded(
        Start { task, input, init },
        &encoded,
        &val,
        params,
        on_epoch,
    )?;
    drop(encoded);
    let about = About {
        source,
        sha256: file_sha256(path)?,
        synthetic: false,
        train_samples: n_train,
    };
    finish(
        fit,
        &sample,
        val,
        None,
        about,
        params,
        version,
        created_unix_s,
        start,
    )
}

/// Streams the series of a Parquet file: `work` runs on `threads` threads over blocks of 64
/// series, `take` sees each series and its result in file order.
fn series_in_parallel<T: Send>(
    path: &Path,
    opts: &ReadOptions,
    threads: usize,
    work: impl Fn(&parquet::Series) -> T + Sync,
    mut take: impl FnMut(parquet::Series, T),
) -> Result<()> {
    const BLOCK: usize = 64;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::param("threads", e))?;
    let mut flush = |block: &mut Vec<parquet::Series>| {
        let out: Vec<T> = pool.install(|| block.par_iter().map(&work).collect());
        for (s, t) in block.drain(..).zip(out) {
            take(s, t);
        }
    };
    let mut block = Vec::with_capacity(BLOCK);
    parquet::for_each_series(path, opts, |s| {
        block.push(s);
        if block.len() == BLOCK {
            flush(&mut block);
        }
        Ok(())
    })?;
    flush(&mut block);
    Ok(())
}

/// SHA-256 of a file's bytes, read in 1 MiB blocks.
fn file_sha256(path: &Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

/// What a run's data was, for the blob and the manifest.
#[derive(Debug, Clone)]
pub struct About {
    /// The `--data` sources.
    pub source: String,
    /// SHA-256 of the samples (or of the file they were streamed from).
    pub sha256: String,
    /// Made by the synthetic generators.
    pub synthetic: bool,
    /// Training samples (all of them, also when only a sample of them is held).
    pub train_samples: usize,
}

/// Quantizes a fit and judges it: int8 figures on `val` (for the threat detector, `val_raw`:
/// the rows before replay), baselines, monitor thresholds, diagnostics. `train` calibrates
/// the quantization and the monitor (all training samples or an even sample of them).
#[allow(clippy::too_many_arguments)]
fn finish(
    fit: Fit,
    train: &Dataset,
    val: Dataset,
    val_raw: Option<(Dataset, Dataset)>,
    about: About,
    params: &Params,
    version: u32,
    created_unix_s: u64,
    start: Instant,
) -> Result<Trained> {
    let kind = fit.task.kind;
    let mut quantized = quantize(&fit.mlp, &fit.task, &fit.input, train);
    let mut meta = BlobMeta {
        version,
        created_unix_s,
        train_samples: about.train_samples as u32,
        val_samples: val.len() as u32,
        metric: metrics::headline_name(kind).to_string(),
        metric_f32: fit.val_metrics.headline(),
        metric_int8: f64::NAN,
        baseline: f64::NAN,
        source: about.source.clone(),
        monitor: None,
    };
    let draft = quantized.to_blob(&meta)?;
    // the threat model is judged on validation rows whose history holds its own scores
    let mut judged: Option<Dataset> = None;
    let int8 = {
        let model = Model::from_blob(&draft)?;
        if val.is_empty() {
            Metrics::default()
        } else if let Some((_, v0)) = &val_raw {
            // as deployed: the int8 model's own scores feed its history; the operating point
            // is chosen per process (an alarm on any window flags it), not per window
            let (v, s) = replay_threat(v0, DEFAULT_THRESHOLD, |r| int8_threat_score(&model, r));
            let t = metrics::process_threshold_permille(&v, &s, MAX_PROCESS_FPR);
            let mut m = int8_metrics(&model, &v, Some(t));
            m.threshold_permille = Some(t);
            judged = Some(v);
            m
        } else if kind == ModelKind::Failure && !about.synthetic {
            // real incidents: the operating point is at most one false alarm per machine-day
            // on machines the model never saw, not a probability of one half: chosen on the
            // validation machines with the budget that gives that on held-out machines
            let p = int8_failure_probabilities(&model, &val);
            let t = events::threshold_for_false_alarms(&val, &p, VALIDATION_FALSE_ALARMS_PER_DAY);
            let t = (t * 1000.0).ceil().clamp(1.0, 1000.0) as u16;
            let mut m = metrics::failure_metrics(&val, &p, t as f64 / 1000.0);
            m.threshold_permille = Some(t);
            m
        } else {
            int8_metrics(&model, &val, None)
        }
    };
    if let Some(t) = int8.threshold_permille {
        quantized.threshold_permille = t;
    }
    // baselines see behaviour only: no learned model's scores in their features
    let baselines = match &val_raw {
        Some((t0, v0)) => baselines::evaluate(t0, v0, params.seed),
        None => baselines::evaluate(train, &val, params.seed),
    };
    meta.metric_int8 = int8.headline();
    meta.baseline = baselines
        .iter()
        .map(|b| b.metrics.headline())
        .fold(f64::NEG_INFINITY, f64::max);
    // the thresholds the shim watches this model with, from the same validation data, at
    // the operating point just chosen
    meta.monitor = crate::eval::monitor::monitor(
        &Model::from_blob(&quantized.to_blob(&meta)?)?,
        train,
        &val,
        quantized.threshold_permille,
    );
    let blob = quantized.to_blob(&meta)?;
    let diagnostics = diagnostics::of(
        &Model::from_blob(&blob)?,
        judged.as_ref().unwrap_or(&val),
        quantized.threshold_permille,
    );
    Ok(Trained {
        fit,
        quantized,
        blob,
        int8,
        diagnostics,
        baselines,
        sizes: (about.train_samples, val.len()),
        seconds: start.elapsed().as_secs_f64(),
        about,
    })
}

#[derive(Serialize)]
struct Hyper<'a> {
    epochs: usize,
    batch_size: usize,
    learning_rate: f32,
    weight_decay: f32,
    seed: u64,
    val_split: f64,
    widths: &'a [usize],
    best_epoch: usize,
    /// Warm start: the blob training started from (its SHA-256) and the frozen layers.
    #[serde(skip_serializing_if = "Option::is_none")]
    init_from: Option<serde_json::Value>,
}

impl Trained {
    /// Why this model must not be published without the user's say-so (`--allow-worse`), if
    /// so: its validation headline is undefined (NaN or infinite, f32 or int8), or the int8
    /// model does worse than a naive baseline (persistence, next-line…) on the figure that
    /// picks the best epoch (the MAE for the workload, the headline otherwise).
    pub fn refusal(&self) -> Option<String> {
        let (f, i) = (self.fit.val_metrics.headline(), self.int8.headline());
        let name = metrics::headline_name(self.fit.task.kind);
        if !f.is_finite() || !i.is_finite() {
            let show = |v: f64| {
                if v.is_finite() {
                    format!("{v:.3}")
                } else {
                    "undefined".to_string()
                }
            };
            return Some(format!(
                "validation {name} is {} (f32) / {} (int8) on {} validation sample(s)",
                show(f),
                show(i),
                self.sizes.1
            ));
        }
        let own = self.int8.selection();
        self.baselines
            .iter()
            .filter(|b| b.naive && b.metrics.selection().is_finite())
            .find(|b| own < b.metrics.selection())
            .map(|b| {
                let (what, mine, theirs) = match (self.int8.mae_pp, b.metrics.mae_pp) {
                    (Some(m), Some(t)) => ("MAE (pp)", m, t),
                    _ => (name, i, b.metrics.headline()),
                };
                format!(
                    "validation {what} {mine:.3} (int8) is worse than the naive baseline {}'s {theirs:.3}",
                    b.name
                )
            })
    }

    /// The manifest entry of this run. `blob_sha256` and `blob_bytes` describe the unsigned
    /// blob; `Registry::publish` replaces them (and sets `signed`) from the bytes it writes.
    pub fn manifest_entry(&self, params: &Params, val_split: f64, created_unix_s: u64) -> Value {
        use sha2::{Digest, Sha256};
        let widths = self.fit.mlp.widths();
        json!({
            "created_unix_s": created_unix_s,
            "data_source": self.about.source,
            "data_sha256": self.about.sha256,
            "train_samples": self.sizes.0,
            "val_samples": self.sizes.1,
            "hyperparameters": Hyper {
                epochs: params.epochs,
                batch_size: params.batch_size,
                learning_rate: params.learning_rate,
                weight_decay: params.weight_decay,
                seed: params.seed,
                val_split,
                widths: &widths,
                best_epoch: self.fit.best_epoch,
                init_from: params.init.as_ref().map(|i| json!({
                    "source": i.source,
                    "blob_sha256": hex(&Sha256::digest(&i.blob)),
                    "freeze": i.freeze,
                })),
            },
            "metrics_f32": self.fit.val_metrics,
            "metrics_int8": self.int8,
            "diagnostics": self.diagnostics,
            "baselines": self.baselines,
            "blob_sha256": hex(&Sha256::digest(&self.blob)),
            "blob_bytes": self.blob.len(),
            "macs": widths.windows(2).map(|w| w[0] * w[1]).sum::<usize>(),
            "training_seconds": self.seconds,
            "epochs": self.fit.log.iter().map(|e| json!({
                "epoch": e.epoch,
                "loss": finite(e.loss),
                "val_loss": finite(e.val_loss),
                "metric": finite(e.metric),
            })).collect::<Vec<_>>(),
        })
    }
}

/// The built-in model of `kind`: default synthetic data and default parameters (seed
/// included), version 1, creation time 0, so the bytes are reproducible.
pub fn default_blob(kind: ModelKind) -> Result<Vec<u8>> {
    let params = Params::default();
    let data = synth::generate(kind, synth::default_samples(kind), params.seed);
    Ok(train(&data, &params, DEFAULT_VAL_SPLIT, 1, 0, |_| {})?.blob)
}

/// A figure for JSON: `null` when undefined (NaN or infinite), never a fake number.
fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::synth;
    use inference_core::features::threat;

    #[test]
    fn distillation_replaces_observed_changes_by_smoother_ones() {
        let mut d = synth::generate(ModelKind::Workload, 3000, 7);
        let before = d.clone();
        distil_workload(&mut d);
        let nt = d.n_targets();
        let spread = |d: &Dataset, k: usize| {
            let v: Vec<f64> = (0..d.len())
                .map(|i| d.targets[i * nt + k] as f64)
                .filter(|v| v.is_finite())
                .collect();
            let m = v.iter().sum::<f64>() / v.len() as f64;
            (
                v.iter().map(|x| (x - m).abs()).sum::<f64>() / v.len() as f64,
                v.len(),
            )
        };
        for k in 0..2 {
            let ((s0, n0), (s1, n1)) = (spread(&before, k), spread(&d, k));
            // the same samples are observed, and conditional medians vary less than outcomes
            assert_eq!(n0, n1, "channel {k}");
            assert!(s1 < s0, "channel {k}: spread {s1} not below {s0}");
            assert_ne!(d.targets, before.targets);
        }
        // the GPU target (and the features) are untouched
        for i in 0..d.len() {
            let (a, b) = (d.targets[i * nt + 2], before.targets[i * nt + 2]);
            assert!(a == b || (a.is_nan() && b.is_nan()));
        }
        assert_eq!(d.features, before.features);
    }

    #[test]
    fn a_seed_ensemble_replaces_observed_changes_by_its_smoother_mean() {
        let d = synth::generate(ModelKind::Workload, 2400, 8);
        let (mut train, val) = d.split(0.2, 8);
        let before = train.clone();
        let params = Params::default().with_epochs(3);
        distil_ensemble(&mut train, &val, &params, 2).unwrap();
        let nt = train.n_targets();
        for k in 0..3 {
            let col =
                |d: &Dataset| -> Vec<f32> { (0..d.len()).map(|i| d.targets[i * nt + k]).collect() };
            let (a, b) = (col(&before), col(&train));
            // the same entries are observed (synthetic machines without a GPU stay unobserved)
            assert!(a
                .iter()
                .zip(&b)
                .all(|(x, y)| x.is_finite() == y.is_finite()));
            let spread = |v: &[f32]| {
                let f: Vec<f64> = v
                    .iter()
                    .filter(|x| x.is_finite())
                    .map(|&x| x as f64)
                    .collect();
                let m = f.iter().sum::<f64>() / f.len() as f64;
                f.iter().map(|x| (x - m).abs()).sum::<f64>() / f.len() as f64
            };
            assert!(spread(&b) < spread(&a), "channel {k}");
        }
        assert_eq!(train.features, before.features);
        assert!(distil_ensemble(&mut train, &val, &params, 0).is_err());
    }

    #[test]
    fn a_threat_ensemble_gives_distributions_and_the_network_learns_them() {
        let d = synth::generate(ModelKind::Threat, 3000, 9);
        let (train, val) = d.split(0.2, 9);
        let params = Params::default().with_epochs(4);
        let soft = ensemble_classes(&train, &val, &params, 2).unwrap();
        assert_eq!(soft.dim(), (train.len(), threat::N_OUTPUTS));
        for row in soft.rows() {
            assert!((row.sum() - 1.0).abs() < 1e-4, "{row}");
            assert!(row.iter().all(|&p| (0.0..=1.0).contains(&p)));
        }
        // the members learnt the classes: most samples' largest probability is their class
        let agree = (0..train.len())
            .filter(|&i| {
                let row = soft.row(i);
                let best = (0..row.len())
                    .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                    .unwrap();
                best as f32 == train.target(i)[0]
            })
            .count();
        assert!(agree * 10 > train.len() * 9, "{agree} of {}", train.len());
        // a network fitted on the distributions predicts them better than one on the classes
        // predicts them (it saw them), and is a working classifier too
        let f = crate::train::fit::fit_soft(&train, &val, &params, soft.view(), |_| {}).unwrap();
        let x = f.input.network_input(&train);
        let p = f
            .task
            .class_probabilities(f.mlp.forward(x.view()).view())
            .unwrap();
        let err = (&p - &soft).mapv(f32::abs).mean().unwrap();
        assert!(err < 0.05, "{err}");
        assert!(crate::train::fit::fit_soft(
            &train,
            &val,
            &params,
            soft.slice(ndarray::s![1.., ..]),
            |_| {}
        )
        .is_err());
        assert!(ensemble_classes(&train, &val, &params, 0).is_err());
    }
}
