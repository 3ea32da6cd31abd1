//! `trainer evaluate`: a deployed (int8) blob run through inference-core on real or synthetic
//! data, beside the baselines, as one JSON object.

use inference_core::features::threat::ThreatType;
use inference_core::{LoadError, MemoryPredictor, Model, ModelKind};
use serde_json::{json, Value};

use super::baselines::logistic_regression;
use super::cachesim::{CacheConfig, Simulation};
use super::events::{self, MAX_FALSE_ALARMS_PER_DAY};
use super::int8::{int8_failure_probabilities, serving_given};
use super::int8::{int8_metrics, int8_threat_score};
use super::metrics;
use super::replay::{replay_threat, zero_history};
use super::traces;
use super::workload::{self, Predictor};
use crate::data::adfa::{self, Trace};
use crate::data::dataset::Dataset;
use crate::data::{lackey::AccessStream, load_all, ReadOptions};
use crate::error::{Error, Result};
use inference_core::features::failure;

/// Options of an evaluation.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// Cache geometry of the memory simulation.
    pub cache: CacheConfig,
    /// Lowest probability (per-mille) at which the memory model prefetches; `None`: the
    /// blob's threshold.
    pub min_probability: Option<u16>,
    /// Stop after this many memory accesses.
    pub max_accesses: u64,
    /// Samples of synthetic data.
    pub samples: Option<usize>,
    /// Seed of synthetic data.
    pub seed: u64,
    /// Data the fitted baselines learn from (threat: STIDE, logistic regression from
    /// `adfa:PATH`; workload: linear AR, random forest): the model's own training data, never
    /// the evaluated data.
    pub baseline_data: Vec<String>,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            cache: CacheConfig::default(),
            min_probability: None,
            max_accesses: u64::MAX,
            samples: None,
            seed: 4242,
            baseline_data: Vec::new(),
        }
    }
}

/// Evaluates `blob` on `specs`; `progress` is called with the number of items done.
pub fn evaluate(
    blob: &[u8],
    specs: &[String],
    ro: &ReadOptions,
    eo: &EvalOptions,
    mut progress: impl FnMut(u64),
) -> Result<Value> {
    let model = Model::from_blob(blob)?;
    let kind = model.kind();
    if model.header().schema_id != kind.schema_id() {
        return Err(Error::from(LoadError::SchemaMismatch {
            expected: kind.schema_id(),
            found: model.header().schema_id,
        }));
    }
    if kind == ModelKind::Memory {
        return evaluate_memory(blob, specs, ro, eo, progress);
    }
    if kind == ModelKind::Workload {
        return evaluate_workload(&model, specs, ro, eo, progress);
    }
    if kind == ModelKind::Threat && specs.iter().all(|s| s.starts_with("adfa:")) {
        return evaluate_adfa(blob, model.version(), specs, ro, eo);
    }
    let (d, skipped) = load_all(kind, specs, ro, eo.samples, eo.seed)?;
    progress(d.len() as u64);
    let mut out = match kind {
        ModelKind::Failure => {
            let m = int8_metrics(&model, &d, None);
            let mut v = json!({
                "samples": d.len(),
                "events": m.events,
                "accuracy": m.accuracy,
                "detection_rate": m.detection_rate,
                "false_alarm_rate": m.false_alarm_rate,
                "median_lead_time_s": m.median_lead_time_s,
                "share_warned_10min": m.share_warned_10min,
            });
            v["incidents"] = failure_events(&model, &d, ro, eo)?;
            v
        }
        ModelKind::Threat => evaluate_threat(&model, &d),
        ModelKind::Workload | ModelKind::Memory => Value::Null,
    };
    out["model"] = json!(kind.name());
    out["model_version"] = json!(model.version());
    out["data"] = json!(d.source);
    out["skipped_rows"] = json!(skipped);
    Ok(out)
}

/// The specs of `specs` split into files: a CSV directory (`nab:`, `bitbrains:`) gives one
/// unit per file, named by the file; any other spec is one unit named by itself.
fn file_specs(specs: &[String]) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for spec in specs {
        match spec.split_once(':') {
            Some((scheme @ ("nab" | "bitbrains"), path)) => {
                for f in crate::data::files(std::path::Path::new(path), |n| n.ends_with(".csv"))? {
                    let name = f.file_name().map(|n| n.to_string_lossy().into_owned());
                    out.push((
                        name.unwrap_or_default(),
                        format!("{scheme}:{}", f.display()),
                    ));
                }
            }
            _ => out.push((spec.clone(), spec.clone())),
        }
    }
    Ok(out)
}

/// Workload, file by file (VM by VM) and in aggregate, beside the baselines (see
/// [`workload`](super::workload)); the fitted baselines learn from `eo.baseline_data`.
fn evaluate_workload(
    model: &Model<'_>,
    specs: &[String],
    ro: &ReadOptions,
    eo: &EvalOptions,
    mut progress: impl FnMut(u64),
) -> Result<Value> {
    let mut units = Vec::new();
    let mut skipped = 0;
    for (name, spec) in file_specs(specs)? {
        let (d, s) = load_all(ModelKind::Workload, &[spec], ro, eo.samples, eo.seed)?;
        skipped += s;
        units.push((name, d));
    }
    let mut preds = vec![
        ("model", Predictor::Model(model)),
        ("persistence", Predictor::Persistence),
        ("moving_average_4", Predictor::MovingAverage),
    ];
    if !eo.baseline_data.is_empty() {
        let (t, _) = load_all(
            ModelKind::Workload,
            &eo.baseline_data,
            ro,
            eo.samples,
            eo.seed,
        )?;
        preds.push(("linear_ar", workload::fit_linear(&t)));
        if let Some(f) = workload::fit_forest(&t, eo.seed) {
            preds.push(("random_forest", f));
        }
    }
    let mut out = workload::report(&units, &preds);
    let mut all = Dataset::new(ModelKind::Workload, specs.join("+"));
    for (_, d) in &units {
        all.extend(d);
    }
    progress(all.len() as u64);
    out["within_5pp"] = json!(int8_metrics(model, &all, None).within_5pp);
    out["samples"] = json!(all.len());
    out["model"] = json!(ModelKind::Workload.name());
    out["model_version"] = json!(model.version());
    out["data"] = json!(all.source);
    out["baseline_data"] = json!(eo.baseline_data.join("+"));
    out["skipped_rows"] = json!(skipped);
    Ok(out)
}

/// Threat, one decision per ADFA-LD trace, beside STIDE and logistic regression fitted on
/// `eo.baseline_data` (see [`traces`](super::traces)).
fn evaluate_adfa(
    blob: &[u8],
    version: u32,
    specs: &[String],
    ro: &ReadOptions,
    eo: &EvalOptions,
) -> Result<Value> {
    let read = |specs: &[String]| -> Result<(Vec<Trace>, usize)> {
        let mut all = Vec::new();
        let mut skipped = 0;
        for spec in specs {
            let path = spec.strip_prefix("adfa:").ok_or_else(|| {
                Error::Usage(format!("--baseline-data '{spec}': expected adfa:PATH"))
            })?;
            let (t, skips) = adfa::load_traces(std::path::Path::new(path), ro)?;
            all.extend(t);
            skipped += skips.count;
        }
        Ok((all, skipped))
    };
    let (eval, skipped) = read(specs)?;
    let baseline = if eo.baseline_data.is_empty() {
        None
    } else {
        Some(read(&eo.baseline_data)?.0)
    };
    let mut out = traces::evaluate(blob, &eval, baseline.as_deref())?;
    out["model"] = json!(ModelKind::Threat.name());
    out["model_version"] = json!(version);
    out["data"] = json!(specs.join("+"));
    out["baseline_data"] = json!(eo.baseline_data.join("+"));
    out["skipped_rows"] = json!(skipped);
    Ok(out)
}

/// Failure warnings per incident (see [`events`]): the model at its blob threshold, beside a
/// threshold on the raw health score and logistic regression on the same features, both
/// fitted on `eo.baseline_data` for at most one false alarm per machine-day there.
fn failure_events(
    model: &Model<'_>,
    d: &Dataset,
    ro: &ReadOptions,
    eo: &EvalOptions,
) -> Result<Value> {
    let threshold = model.header().threshold_permille as f64 / 1000.0;
    let p = int8_failure_probabilities(model, d);
    let per_machine = |p: &[f64], t: f64| -> Value {
        let mut out = serde_json::Map::new();
        let groups: std::collections::BTreeSet<u32> = d.group.iter().copied().collect();
        for g in groups {
            let idx: Vec<usize> = (0..d.len()).filter(|&i| d.group[i] == g).collect();
            let sub = d.subset(&idx);
            let ps: Vec<f64> = idx.iter().map(|&i| p[i]).collect();
            out.insert(
                format!("group_{g}"),
                json!(events::event_stats(&sub, &ps, t)),
            );
        }
        Value::Object(out)
    };
    let mut out = json!({
        "model": events::event_stats(d, &p, threshold),
        "model_per_machine": per_machine(&p, threshold),
        "model_threshold": threshold,
    });
    if eo.baseline_data.is_empty() {
        return Ok(out);
    }
    let (train, _) = load_all(
        ModelKind::Failure,
        &eo.baseline_data,
        ro,
        eo.samples,
        eo.seed,
    )?;
    let unhealthy = |d: &Dataset| -> Vec<f64> {
        (0..d.len())
            .map(|i| 1.0 - d.row(i)[failure::field::HEALTH] as f64 / 1000.0)
            .collect()
    };
    let (ht, he) = (unhealthy(&train), unhealthy(d));
    let t = events::threshold_for_false_alarms(&train, &ht, MAX_FALSE_ALARMS_PER_DAY);
    out["health_threshold"] = json!(events::event_stats(d, &he, t));
    if let (Some(lt), Some(le)) = (
        logistic_regression(&train, &train),
        logistic_regression(&train, d),
    ) {
        let t = events::threshold_for_false_alarms(&train, &lt, MAX_FALSE_ALARMS_PER_DAY);
        out["logistic_regression"] = json!(events::event_stats(d, &le, t));
    }
    Ok(out)
}

/// Threat, one decision per window: the int8 detector replays every process with its own
/// scores.
fn evaluate_threat(model: &Model<'_>, d: &Dataset) -> Value {
    let threshold = model.header().threshold_permille;
    let (eval_set, scores) =
        replay_threat(&zero_history(d), threshold, |r| int8_threat_score(model, r));
    let s: Vec<f64> = scores.iter().map(|&v| v as f64 / 1000.0).collect();
    let roc = metrics::threat_metrics(&eval_set, &s, None);
    let deployed = metrics::threat_metrics_at(&eval_set, &s, None, Some(threshold as f64 / 1000.0));
    let attacks = (0..eval_set.len())
        .filter(|&i| eval_set.target(i)[0] != ThreatType::None as u8 as f32)
        .count();
    let quantiles = |attack: bool| {
        let mut v: Vec<f64> = (0..eval_set.len())
            .filter(|&i| (eval_set.target(i)[0] != ThreatType::None as u8 as f32) == attack)
            .map(|i| s[i])
            .collect();
        v.sort_by(f64::total_cmp);
        let q = |p: f64| {
            v.get(((v.len() as f64 - 1.0) * p).round() as usize)
                .copied()
        };
        [q(0.05), q(0.25), q(0.5), q(0.75), q(0.95)]
    };
    json!({
        "samples": eval_set.len(),
        "unit": "window",
        "score_quantiles_benign": quantiles(false),
        "score_quantiles_attack": quantiles(true),
        "attacks": attacks,
        "detection_rate": roc.detection_rate,
        "false_positive_rate": roc.false_positive_rate,
        "roc_auc": roc.roc_auc,
        "accuracy": roc.accuracy,
        "threshold_permille_for_fpr_5pct": roc.threshold_permille,
        "model_threshold_permille": threshold,
        "detection_rate_at_model_threshold": deployed.detection_rate,
        "false_positive_rate_at_model_threshold": deployed.false_positive_rate,
    })
}

/// Memory: streams the traces through the model and the cache simulator.
fn evaluate_memory(
    blob: &[u8],
    specs: &[String],
    ro: &ReadOptions,
    eo: &EvalOptions,
    mut progress: impl FnMut(u64),
) -> Result<Value> {
    eo.cache.validate()?;
    let predictor = serving_given(MemoryPredictor::new(Some(blob)))?;
    let mut sim = Simulation::new(eo.cache, &predictor, eo.min_probability);
    let mut n = 0u64;
    let mut skipped = 0;
    for spec in specs {
        let path = spec.strip_prefix("lackey:").ok_or_else(|| {
            Error::Usage(format!(
                "--data '{spec}': memory evaluation reads lackey:PATH traces"
            ))
        })?;
        let mut stream = AccessStream::open(std::path::Path::new(path), ro)?;
        while let Some(a) = stream.next_access()? {
            if n >= eo.max_accesses {
                break;
            }
            sim.step(a);
            n += 1;
            if n.is_multiple_of(100_000) {
                progress(n);
            }
        }
        skipped += stream.skips.count;
    }
    progress(n);
    let st = sim.stats();
    Ok(json!({
        "model": "memory",
        "data": specs.join("+"),
        "accesses": n,
        "hit_rate_none": st[0].hit_rate,
        "hit_rate_next_line": st[1].hit_rate,
        "hit_rate_stride": st[2].hit_rate,
        "hit_rate_model": st[3].hit_rate,
        "miss_reduction": st[3].miss_reduction,
        "miss_reduction_next_line": st[1].miss_reduction,
        "miss_reduction_stride": st[2].miss_reduction,
        "prefetch_accuracy_model": st[3].prefetch_accuracy,
        "prefetch_accuracy_next_line": st[1].prefetch_accuracy,
        "prefetch_accuracy_stride": st[2].prefetch_accuracy,
        "cache": {"size": eo.cache.size, "ways": eo.cache.ways, "line": eo.cache.line},
        "skipped_rows": skipped,
    }))
}
