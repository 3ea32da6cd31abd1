//! `trainer evaluate`: a deployed (int8) blob run through inference-core on real or synthetic
//! data, beside the baselines, as one JSON object.

use inference_core::features::threat::ThreatType;
use inference_core::{LoadError, MemoryPredictor, Model, ModelKind, Predictor as _};
use serde_json::{json, Value};

use super::baselines::logistic_regression;
use super::boosting::BoostParams;
use super::events::{self, MAX_FALSE_ALARMS_PER_DAY};
use super::int8::{int8_failure_probabilities, serving_given};
use super::int8::{int8_metrics, int8_threat_score};
use super::metrics;
use super::prefetch::{
    self, Cache, CacheConfig, Counts, Figures, ModelPrefetcher, Prefetcher, ResidentSet,
    Simulation, MAX_DEGREE, PAGE_SHIFT,
};
use super::replay::{replay_threat, zero_history};
use super::traces;
use super::workload::{self, Predictor};
use crate::data::adfa::{self, Trace};
use crate::data::dataset::Dataset;
use crate::data::{lackey::AccessStream, load_all, ReadOptions};
use crate::error::{Error, Result};
use inference_core::features::failure;
use std::path::Path;

/// Options of an evaluation.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// Cache geometry of the memory simulation (line level).
    pub cache: CacheConfig,
    /// Resident frames of the memory simulation's page level (4 KiB pages).
    pub resident_pages: usize,
    /// Lowest probability (per-mille) at which the memory model prefetches; `None`: the
    /// blob's threshold.
    pub min_probability: Option<u16>,
    /// Stop each trace file after this many memory accesses.
    pub max_accesses: u64,
    /// Samples of synthetic data.
    pub samples: Option<usize>,
    /// Seed of synthetic data.
    pub seed: u64,
    /// Data the fitted baselines learn from (threat: STIDE, logistic regression from
    /// `adfa:PATH`; workload: linear AR, random forest, gradient boosting): the model's own
    /// training data, never the evaluated data.
    pub baseline_data: Vec<String>,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            cache: CacheConfig::default(),
            resident_pages: 32,
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
    // failure data keeps the rows inside incidents, for detection after the onset only
    let with_incidents = ReadOptions {
        incident_rows: kind == ModelKind::Failure,
        ..ro.clone()
    };
    let (all_rows, skipped) = load_all(kind, specs, &with_incidents, eo.samples, eo.seed)?;
    let d = all_rows.samples();
    progress(d.len() as u64);
    let mut out = match kind {
        ModelKind::Failure => {
            // at the deployed operating point, the blob's threshold: never re-picked on the
            // evaluated data
            let t = model.header().threshold_permille;
            let p = int8_failure_probabilities(&model, &d);
            let m = metrics::failure_metrics(&d, &p, t as f64 / 1000.0);
            let mut v = json!({
                "samples": d.len(),
                "threshold_permille": t,
                "events": m.events,
                "accuracy": m.accuracy,
                "detection_rate": m.detection_rate,
                "false_alarm_rate": m.false_alarm_rate,
                "median_lead_time_s": m.median_lead_time_s,
                "share_warned_10min": m.share_warned_10min,
            });
            v["incidents"] = failure_events(&model, &all_rows, ro, eo)?;
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
        ("model_ungated", Predictor::Ungated(model)),
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
        if let Some(g) = workload::fit_boosting(&t, &BoostParams::default(), false) {
            preds.push(("gradient_boosting", g));
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
/// fitted on `eo.baseline_data` (its samples) for at most one false alarm per machine-day
/// there. `d` may hold rows inside incidents: they are scored, for detection after the onset.
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
        "model": events::event_stats_with_chance(d, &p, threshold),
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
    out["health_threshold"] = json!(events::event_stats_with_chance(d, &he, t));
    if let (Some(lt), Some(le)) = (
        logistic_regression(&train, &train),
        logistic_regression(&train, d),
    ) {
        let t = events::threshold_for_false_alarms(&train, &lt, MAX_FALSE_ALARMS_PER_DAY);
        out["logistic_regression"] = json!(events::event_stats_with_chance(d, &le, t));
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

/// Memory: each trace file replayed from a cold memory at line and page level, the model
/// beside the baselines (see [`prefetch`]). Top-level figures are over all files (sums of
/// counters, so a file weighs by its misses); `programs` has them file by file.
fn evaluate_memory(
    blob: &[u8],
    specs: &[String],
    ro: &ReadOptions,
    eo: &EvalOptions,
    mut progress: impl FnMut(u64),
) -> Result<Value> {
    eo.cache.validate()?;
    if eo.resident_pages == 0 {
        return Err(Error::param("--resident-pages", "must be at least 1"));
    }
    // the weights in the fastest prepared layout of this CPU (identical decisions, about a
    // third less time per prediction with AVX2; the blob's weights serve if it cannot be)
    let words = Model::from_blob(blob).map_or(0, |m| m.prepared_words());
    let mut prepared = vec![0i64; words];
    let mut predictor = serving_given(MemoryPredictor::new(Some(blob)))?;
    predictor.prepare(&mut prepared);
    let mut files = Vec::new();
    for spec in specs {
        let path = spec.strip_prefix("lackey:").ok_or_else(|| {
            Error::Usage(format!(
                "--data '{spec}': memory evaluation reads lackey:PATH traces"
            ))
        })?;
        files.extend(crate::data::files(Path::new(path), |n| {
            !n.starts_with('.')
        })?);
    }
    let mut programs = Vec::new();
    let mut all = ProgramRun::default();
    for f in &files {
        let done = all.accesses;
        let run = simulate_program(&predictor, f, ro, eo, &mut |n| progress(done + n))?;
        programs.push(json!({
            "data": f.display().to_string(),
            "accesses": run.accesses,
            "footprint_pages": run.footprint_pages,
            "prefetching_share": run.prefetching as f64 / run.decisions.max(1) as f64,
            "line": level_json(&run.line),
            "page": level_json(&run.page),
        }));
        all.add(&run);
    }
    progress(all.accesses);
    let line = |policy: &str| {
        let i = all.line.iter().position(|(p, _)| *p == policy);
        Figures::new(&all.line[i.unwrap_or(0)].1, &all.line[0].1)
    };
    let mut out = json!({
        "model": "memory",
        "data": specs.join("+"),
        "accesses": all.accesses,
        "prefetching_share": all.prefetching as f64 / all.decisions.max(1) as f64,
        "miss_reduction": line("model").miss_reduction,
        "line": level_json(&all.line),
        "page": level_json(&all.page),
        "programs": programs,
        "cache": {"size": eo.cache.size, "ways": eo.cache.ways, "line": eo.cache.line},
        "resident_pages": eo.resident_pages,
        "page_bytes": 1u64 << PAGE_SHIFT,
        "max_degree": MAX_DEGREE,
        "skipped_rows": all.skipped,
    });
    // line-level figures of each policy over all files, also flat, as earlier reports had them
    for (suffix, policy) in [
        ("none", "none"),
        ("next_line", "next_line"),
        ("stride", "pc_stride"),
        ("next_line_stride", "next_line_stride"),
        ("best_offset", "best_offset"),
        ("model", "model"),
    ] {
        let f = line(policy);
        out[format!("hit_rate_{suffix}")] = json!(f.hit_rate);
        if !matches!(policy, "none" | "model") {
            out[format!("miss_reduction_{suffix}")] = json!(f.miss_reduction);
        }
        if policy != "none" {
            out[format!("prefetch_accuracy_{suffix}")] = json!(f.prefetch_accuracy);
        }
    }
    Ok(out)
}

/// Counters of one or more programs, at both levels, policies in simulation order.
#[derive(Default)]
struct ProgramRun {
    accesses: u64,
    /// Distinct pages touched (of one program; summed over programs).
    footprint_pages: u64,
    skipped: usize,
    line: Vec<(&'static str, Counts)>,
    page: Vec<(&'static str, Counts)>,
    /// The line-level model's block changes, and those at which it prefetched.
    decisions: u64,
    prefetching: u64,
}

impl ProgramRun {
    fn add(&mut self, o: &ProgramRun) {
        let sum = |a: &mut Vec<(&'static str, Counts)>, b: &[(&'static str, Counts)]| {
            if a.is_empty() {
                a.extend_from_slice(b);
            } else {
                for ((_, x), (_, y)) in a.iter_mut().zip(b) {
                    x.add(y);
                }
            }
        };
        sum(&mut self.line, &o.line);
        sum(&mut self.page, &o.page);
        self.accesses += o.accesses;
        self.footprint_pages += o.footprint_pages;
        self.skipped += o.skipped;
        self.decisions += o.decisions;
        self.prefetching += o.prefetching;
    }
}

/// One trace from cold memories: every policy at both levels, in one pass over the file.
fn simulate_program(
    model: &MemoryPredictor<'_>,
    path: &Path,
    ro: &ReadOptions,
    eo: &EvalOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<ProgramRun> {
    let mut line_model = ModelPrefetcher::new(model, eo.min_probability, eo.cache.line_shift());
    let mut page_model = ModelPrefetcher::faults(model, eo.min_probability, PAGE_SHIFT);
    let mut line_baselines = prefetch::line_baselines();
    let mut page_baselines = prefetch::page_baselines();
    let mut line_lanes = lanes(&mut line_baselines);
    line_lanes.push(&mut line_model);
    let mut page_lanes = lanes(&mut page_baselines);
    page_lanes.push(&mut page_model);
    let mut line = Simulation::new(eo.cache.line_shift(), || Cache::new(eo.cache), line_lanes);
    let mut page = Simulation::new(
        PAGE_SHIFT,
        || ResidentSet::new(eo.resident_pages),
        page_lanes,
    );
    let mut stream = AccessStream::open(path, ro)?;
    let mut n = 0u64;
    let mut pages = std::collections::HashSet::new();
    while let Some(a) = stream.next_access()? {
        if n >= eo.max_accesses {
            break;
        }
        pages.insert(a.addr >> PAGE_SHIFT);
        line.step(&a);
        page.step(&a);
        n += 1;
        if n.is_multiple_of(100_000) {
            progress(n);
        }
    }
    let (line, page) = (line.counts(), page.counts());
    Ok(ProgramRun {
        accesses: n,
        footprint_pages: pages.len() as u64,
        skipped: stream.skips.count,
        line,
        page,
        decisions: line_model.decisions,
        prefetching: line_model.prefetching,
    })
}

fn lanes(b: &mut [Box<dyn Prefetcher>]) -> Vec<&mut dyn Prefetcher> {
    b.iter_mut()
        .map(|p| p.as_mut() as &mut dyn Prefetcher)
        .collect()
}

/// `{policy: figures}` of one level, against its `none`.
fn level_json(counts: &[(&'static str, Counts)]) -> Value {
    let none = counts.first().map(|c| c.1).unwrap_or_default();
    let mut out = serde_json::Map::new();
    for (name, c) in counts {
        out.insert(name.to_string(), json!(Figures::new(c, &none)));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_incidents_are_scored_after_the_onset_too() {
        let dir = std::env::temp_dir().join(format!("aios-evalsmd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // two machines, each with a 10-minute incident whose metric leaves its normal range
        for (name, onset) in [("machine-1-1.csv", 150), ("machine-1-2.csv", 170)] {
            let mut text = String::from("idx,split,m0,m1,label\n");
            for k in 0..100 {
                text += &format!("{k},train,0.{},0.5,\n", 40 + k % 3);
            }
            for k in 100..240 {
                let inside = (onset..onset + 10).contains(&k);
                let v = if k >= onset - 5 && k < onset + 10 {
                    "0.95"
                } else {
                    "0.41"
                };
                text += &format!("{k},test,{v},0.5,{}\n", inside as u8);
            }
            std::fs::write(dir.join(name), text).unwrap();
        }
        let spec = format!("smd:{}", dir.display());
        let eo = EvalOptions {
            baseline_data: vec![spec.clone()],
            ..EvalOptions::default()
        };
        let ro = ReadOptions::default();
        let v = evaluate(inference_core::defaults::FAILURE, &[spec], &ro, &eo, |_| {}).unwrap();
        std::fs::remove_dir_all(&dir).ok();
        // the incidents' rows are scored, never counted as samples
        assert_eq!(v["samples"], 2 * (240 - 20 - 10));
        let inc = &v["incidents"];
        for key in ["model", "health_threshold", "logistic_regression"] {
            assert_eq!(inc[key]["incidents_with_rows"], 2, "{key}: {inc}");
            let share = inc[key]["detected_within_5min_after_onset"]
                .as_f64()
                .unwrap();
            assert!((0.0..=1.0).contains(&share), "{key}: {share}");
        }
        // the health threshold is chosen on these very machines: every unhealthy stretch is an
        // incident, so it is on within minutes of both onsets
        assert_eq!(
            inc["health_threshold"]["detected_within_5min_after_onset"],
            1.0
        );
    }

    #[test]
    fn memory_is_reported_per_file_at_both_levels() {
        let dir = std::env::temp_dir().join(format!("aios-evalmem-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // a forward scan over 64 pages, and a scan running down 2 pages at a time
        let scan = |first: u64, step: i64, n: u64| {
            let mut t = String::new();
            for i in 0..n {
                let addr = (first as i64 + step * i as i64) as u64;
                t.push_str(&format!("I  00400100,3\n L {addr:x},8\n"));
            }
            t
        };
        std::fs::write(dir.join("a.txt"), scan(0x100_0000, 64, 4096)).unwrap();
        std::fs::write(dir.join("b.txt"), scan(0x200_0000, -8192, 300)).unwrap();
        let spec = format!("lackey:{}", dir.display());
        let eo = EvalOptions::default();
        let v = evaluate(
            inference_core::defaults::MEMORY,
            &[spec],
            &ReadOptions::default(),
            &eo,
            |_| {},
        )
        .unwrap();
        std::fs::remove_dir_all(&dir).ok();
        let programs = v["programs"].as_array().unwrap();
        assert_eq!(programs.len(), 2);
        assert_eq!(programs[0]["accesses"], 4096);
        assert_eq!(programs[0]["footprint_pages"], 64);
        assert_eq!(programs[1]["accesses"], 300);
        assert_eq!(v["accesses"], 4396);
        for level in ["line", "page"] {
            for p in programs.iter().chain([&v]) {
                assert_eq!(p[level]["none"]["miss_reduction"], 0.0);
                assert!(p[level]["model"]["prefetches"].is_u64());
            }
        }
        // the forward scan: next-line removes all line misses but the first
        let a = &programs[0]["line"];
        assert_eq!(a["none"]["misses"], 4096);
        assert_eq!(a["next_line"]["misses"], 1);
        // aggregate keys are line-level sums over both files
        let next_line_misses = a["next_line"]["misses"].as_u64().unwrap()
            + programs[1]["line"]["next_line"]["misses"].as_u64().unwrap();
        assert_eq!(v["line"]["next_line"]["misses"], next_line_misses);
        assert_eq!(
            v["miss_reduction_next_line"],
            v["line"]["next_line"]["miss_reduction"]
        );
        // the downward page scan: Leap follows it, readahead (forward only) does not
        let b = &programs[1]["page"];
        assert_eq!(b["none"]["misses"], 300);
        assert!(b["leap"]["miss_reduction"].as_f64().unwrap() > 0.8, "{b}");
        assert_eq!(b["readahead"]["prefetches"], 0);
        assert_eq!(v["resident_pages"], eo.resident_pages);
    }
}
