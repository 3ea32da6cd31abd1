//! Model health as Prometheus metrics: the counters the kernel shim keeps per model slot
//! (`aiml_health`, `aiml_info`), written in the text exposition format for node_exporter's
//! textfile collector (`--collector.textfile.directory`), atomically (a temporary file, then a
//! rename: node_exporter never reads half a file).
//!
//! Names follow Prometheus' conventions: the `aiosml_` prefix, `_total` for counters, base
//! units in the name (`_seconds`, `_percent`, `_ratio`), one `model` label. Not exported yet,
//! because the shim does not compute them yet: input drift scores and degradation alerts.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use inference_core::ModelKind;
use kernel_shim::{AimlHealth, AimlModelInfo, AIML_LATENCY_BOUNDS};

use crate::error::{Error, Result};

/// File name written in the textfile directory.
pub const FILE: &str = "aiosml.prom";

/// A counter family: name, help, and its value in a slot's health.
type Counter = (&'static str, &'static str, fn(&AimlHealth) -> u32);

/// What is known of one model slot at one moment.
#[derive(Debug, Clone, Copy)]
pub struct SlotState {
    /// The model.
    pub kind: ModelKind,
    /// `aiml_health` of its slot (clock in nanoseconds).
    pub health: AimlHealth,
    /// `aiml_info` of its slot.
    pub info: AimlModelInfo,
    /// The latest prediction's headline output, in the unit of [`headline_name`].
    pub last_output: Option<f64>,
}

/// Name and help of a model's headline output gauge.
pub fn headline_name(kind: ModelKind) -> (&'static str, &'static str) {
    match kind {
        ModelKind::Workload => (
            "aiosml_workload_predicted_cpu_percent",
            "CPU use the workload model predicts for the next interval.",
        ),
        ModelKind::Failure => (
            "aiosml_failure_probability_ratio",
            "Failure probability the failure model gives for the horizon.",
        ),
        ModelKind::Threat => (
            "aiosml_threat_score_ratio",
            "Latest threat score of the threat detector.",
        ),
        ModelKind::Memory => (
            "aiosml_memory_prefetch_probability_ratio",
            "Probability of the memory model's latest prefetch.",
        ),
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// The exposition text of `slots`.
pub fn render(slots: &[SlotState]) -> String {
    let mut o = String::new();
    let each = |o: &mut String, name: &str, v: &dyn Fn(&SlotState) -> Option<f64>| {
        for s in slots {
            if let Some(x) = v(s) {
                let _ = writeln!(o, "{name}{{model=\"{}\"}} {x}", s.kind.name());
            }
        }
    };
    family(
        &mut o,
        "aiosml_model_info",
        "gauge",
        "The model in each slot: its version, and whether it was loaded or is the built-in default.",
    );
    for s in slots {
        let source = if s.info.source == kernel_shim::AIML_SOURCE_DEFAULT {
            "default"
        } else {
            "loaded"
        };
        let _ = writeln!(
            o,
            "aiosml_model_info{{model=\"{}\",version=\"{}\",source=\"{source}\",macs=\"{}\"}} 1",
            s.kind.name(),
            s.info.version,
            s.info.macs
        );
    }
    let counters: [Counter; 8] = [
        ("aiosml_predictions_total", "Predictions answered.", |h| {
            h.predictions
        }),
        (
            "aiosml_prediction_refusals_total",
            "Prediction calls refused (bad input, or no model).",
            |h| h.refusals,
        ),
        (
            "aiosml_outcomes_total",
            "Outcomes reported after predictions (what actually happened).",
            |h| h.outcomes,
        ),
        (
            "aiosml_false_alarms_total",
            "Alarms raised where nothing happened (threat, failure); prefetches not used (memory).",
            |h| h.false_alarms,
        ),
        (
            "aiosml_missed_events_total",
            "Events that came without an alarm (threat, failure).",
            |h| h.missed,
        ),
        (
            "aiosml_lazy_defaults_total",
            "Times the built-in model was put in an empty slot by a prediction.",
            |h| h.lazy_defaults,
        ),
        (
            "aiosml_alerts_total",
            "Times the degradation alert was raised (rolling error above the model's alert level).",
            |h| h.alerts,
        ),
        (
            "aiosml_fallbacks_total",
            "Times the slot fell back to the previous or the built-in model on an alert.",
            |h| h.fallbacks,
        ),
    ];
    for (name, help, get) in counters {
        family(&mut o, name, "counter", help);
        each(&mut o, name, &|s| Some(get(&s.health) as f64));
    }
    let hist = "aiosml_prediction_duration_seconds";
    family(
        &mut o,
        hist,
        "histogram",
        "Time one prediction took, feature extraction included (timed predictions only).",
    );
    for s in slots {
        let m = s.kind.name();
        let mut cumulative = 0u64;
        for (k, count) in s.health.latency.iter().enumerate() {
            cumulative += *count as u64;
            let le = match AIML_LATENCY_BOUNDS.get(k) {
                Some(ns) => format!("{}", *ns as f64 / 1e9),
                None => "+Inf".to_string(),
            };
            let _ = writeln!(o, "{hist}_bucket{{model=\"{m}\",le=\"{le}\"}} {cumulative}");
        }
        let _ = writeln!(
            o,
            "{hist}_sum{{model=\"{m}\"}} {}",
            s.health.time_total as f64 / 1e9
        );
        let _ = writeln!(o, "{hist}_count{{model=\"{m}\"}} {}", s.health.timed);
    }
    family(
        &mut o,
        "aiosml_rolling_mae_percent",
        "gauge",
        "Workload: mean absolute error of the CPU prediction over about the last 32 outcomes.",
    );
    each(&mut o, "aiosml_rolling_mae_percent", &|s| {
        (s.kind == ModelKind::Workload && s.health.outcomes > 0)
            .then(|| s.health.rolling_error as f64 / 100.0)
    });
    family(
        &mut o,
        "aiosml_rolling_error_ratio",
        "gauge",
        "Threat, failure, memory: share of wrong decisions over about the last 32 outcomes.",
    );
    each(&mut o, "aiosml_rolling_error_ratio", &|s| {
        (s.kind != ModelKind::Workload && s.health.outcomes > 0)
            .then(|| s.health.rolling_error as f64 / 1000.0)
    });
    family(
        &mut o,
        "aiosml_degradation_alert",
        "gauge",
        "1 while the slot's degradation alert is raised (cleared below the model's clear level).",
    );
    each(&mut o, "aiosml_degradation_alert", &|s| {
        Some(s.health.alert as f64)
    });
    family(
        &mut o,
        "aiosml_input_drift",
        "gauge",
        "How far the inputs' running means are from the training means, in training spreads \
         (averaged over features; sampled every 16th prediction).",
    );
    each(&mut o, "aiosml_input_drift", &|s| {
        (s.health.drift_samples > 0).then(|| s.health.drift as f64 / 1000.0)
    });
    family(
        &mut o,
        "aiosml_drift_alert",
        "gauge",
        "1 while the slot's input-drift alert is raised.",
    );
    each(&mut o, "aiosml_drift_alert", &|s| {
        Some(s.health.drift_alert as f64)
    });
    for kind in [
        ModelKind::Workload,
        ModelKind::Threat,
        ModelKind::Failure,
        ModelKind::Memory,
    ] {
        let mine: Vec<&SlotState> = slots
            .iter()
            .filter(|s| s.kind == kind && s.last_output.is_some())
            .collect();
        if let Some(s) = mine.first() {
            let (name, help) = headline_name(kind);
            family(&mut o, name, "gauge", help);
            let _ = writeln!(
                o,
                "{name}{{model=\"{}\"}} {}",
                kind.name(),
                s.last_output.unwrap_or(0.0)
            );
        }
    }
    o
}

/// Writes `text` to `dir/`[`FILE`] atomically (temporary file, sync, rename).
pub fn write_textfile(dir: &Path, text: &str) -> Result<PathBuf> {
    let path = dir.join(FILE);
    // node_exporter reads only `*.prom`: the temporary name is never picked up
    let tmp = dir.join(format!(".{FILE}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, text).map_err(|e| Error::io(&tmp, e))?;
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(kind: ModelKind) -> SlotState {
        let mut health = AimlHealth {
            kind: 1,
            predictions: 7,
            refusals: 1,
            timed: 7,
            time_total: 7000,
            time_max: 2500,
            latency: [0; kernel_shim::AIML_LATENCY_BUCKETS],
            lazy_defaults: 0,
            outcomes: 6,
            error_sum: 600,
            rolling_error: 250,
            false_alarms: 2,
            missed: 0,
            alert: 1,
            alerts: 1,
            fallbacks: 0,
            since_install: 6,
            drift: 120,
            drift_samples: 3,
            drift_alert: 0,
        };
        health.latency[2] = 5;
        health.latency[4] = 2;
        SlotState {
            kind,
            health,
            info: AimlModelInfo {
                kind: 1,
                version: 3,
                source: kernel_shim::AIML_SOURCE_LOADED,
                ..Default::default()
            },
            last_output: Some(12.5),
        }
    }

    #[test]
    fn exposition_text() {
        let text = render(&[slot(ModelKind::Workload), slot(ModelKind::Failure)]);
        for line in [
            "aiosml_predictions_total{model=\"workload\"} 7",
            "aiosml_prediction_duration_seconds_bucket{model=\"workload\",le=\"0.0000005\"} 0",
            "aiosml_prediction_duration_seconds_bucket{model=\"workload\",le=\"0.000001\"} 5",
            "aiosml_prediction_duration_seconds_bucket{model=\"workload\",le=\"+Inf\"} 7",
            "aiosml_prediction_duration_seconds_count{model=\"failure\"} 7",
            "aiosml_rolling_mae_percent{model=\"workload\"} 2.5",
            "aiosml_rolling_error_ratio{model=\"failure\"} 0.25",
            "aiosml_workload_predicted_cpu_percent{model=\"workload\"} 12.5",
            "aiosml_model_info{model=\"failure\",version=\"3\",source=\"loaded\",macs=\"0\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line}:\n{text}");
        }
        assert!(!text.contains("aiosml_rolling_mae_percent{model=\"failure\""));
        // every family is declared once, before its samples
        let mut declared = std::collections::BTreeSet::new();
        for l in text.lines() {
            if let Some(rest) = l.strip_prefix("# TYPE ") {
                assert!(declared.insert(rest.split(' ').next().unwrap().to_string()));
            } else if !l.starts_with('#') {
                let name = l.split(['{', ' ']).next().unwrap();
                let base = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|s| name.strip_suffix(s))
                    .filter(|b| declared.contains(*b))
                    .unwrap_or(name);
                assert!(declared.contains(base), "{name} before its TYPE");
            }
        }
    }

    #[test]
    fn written_atomically() {
        let dir = std::env::temp_dir().join(format!("aios-monitor-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = write_textfile(&dir, "a 1\n").unwrap();
        write_textfile(&dir, "a 2\n").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "a 2\n");
        let names: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
        assert_eq!(names.len(), 1, "no temporary file left");
        let e = write_textfile(&dir.join("missing"), "x").unwrap_err();
        assert!(e.to_string().contains("missing"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Marker of a health-dump line (`kernel-shim/c/aiml_dump.h`), in a C program's output or a
/// kernel log (`aiml-vec: aiml-dump {...}`).
pub const DUMP_MARKER: &str = "aiml-dump {";

/// The counters of one slot in one health dump.
#[derive(Debug, Clone, PartialEq)]
pub struct DumpSlot {
    /// Dump number (the four lines of one dump share it).
    pub seq: u64,
    /// Model name (`workload`, …).
    pub kind: String,
    /// `health` (the slot's model and counters) or `ab` (its A/B state and candidate).
    pub part: String,
    /// `default`, `loaded` or `none` (for `ab`: whether a candidate is loaded).
    pub source: String,
    /// Every numeric field of the line, by name (`latency` as `latency0`…`latency7`).
    pub n: std::collections::BTreeMap<String, u64>,
}

impl DumpSlot {
    /// A numeric field (0 if absent: older dumps).
    pub fn get(&self, name: &str) -> u64 {
        self.n.get(name).copied().unwrap_or(0)
    }
}

/// The health-dump lines of `text` (read from `path`, for errors): every line containing
/// [`DUMP_MARKER`], parsed from it on. A malformed one is an error naming the line and field.
pub fn read_dump(path: &Path, text: &str) -> Result<Vec<DumpSlot>> {
    use crate::error::DataError;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let Some(at) = line.find(DUMP_MARKER) else {
            continue;
        };
        let json = &line[at + DUMP_MARKER.len() - 1..];
        let bad =
            |field: Option<&str>, m: String| Error::Data(DataError::at(path, i + 1, field, m));
        let v: serde_json::Value =
            serde_json::from_str(json).map_err(|e| bad(None, format!("not JSON: {e}")))?;
        let obj = v
            .as_object()
            .ok_or_else(|| bad(None, "not a JSON object".into()))?;
        let text_field = |k: &str| -> Result<String> {
            obj.get(k)
                .and_then(|x| x.as_str())
                .map(str::to_string)
                .ok_or_else(|| bad(Some(k), "missing or not a string".into()))
        };
        let mut n = std::collections::BTreeMap::new();
        for (k, x) in obj {
            match x {
                serde_json::Value::Number(num) => {
                    let u = num
                        .as_u64()
                        .ok_or_else(|| bad(Some(k), format!("{num} is not a count")))?;
                    n.insert(k.clone(), u);
                }
                serde_json::Value::Array(a) => {
                    for (j, y) in a.iter().enumerate() {
                        let u = y
                            .as_u64()
                            .ok_or_else(|| bad(Some(k), format!("item {j} is not a count")))?;
                        n.insert(format!("{k}{j}"), u);
                    }
                }
                _ => {}
            }
        }
        if n.get("v") != Some(&1) {
            return Err(bad(
                Some("v"),
                "unknown dump version (this trainer reads 1)".into(),
            ));
        }
        let seq = *n
            .get("seq")
            .ok_or_else(|| bad(Some("seq"), "missing".into()))?;
        out.push(DumpSlot {
            seq,
            kind: text_field("kind")?,
            part: match obj.get("part") {
                None => "health".to_string(),
                Some(_) => text_field("part")?,
            },
            source: text_field("source")?,
            n,
        });
    }
    if out.is_empty() {
        return Err(Error::Data(DataError::file(
            path,
            format!("no health dump in it (no line with {DUMP_MARKER:?})"),
        )));
    }
    Ok(out)
}

/// 95 % Wilson interval of a proportion `k / n`.
fn wilson(k: u64, n: u64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let (n, p, z) = (n as f64, k as f64 / n as f64, 1.96f64);
    let d = 1.0 + z * z / n;
    let c = (p + z * z / (2.0 * n)) / d;
    let h = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / d;
    ((c - h).max(0.0), (c + h).min(1.0))
}

/// A report of health dumps: per model, the last dump's state (model, counts, latency,
/// errors, alerts, drift) and, when the file holds more than one dump, what happened between
/// the first and the last (predictions, outcomes, the error over that interval with a 95 %
/// interval for the yes/no models), then a recommendation.
pub fn dump_report(slots: &[DumpSlot]) -> String {
    let mut o = String::new();
    let first = slots.iter().map(|s| s.seq).min().unwrap_or(0);
    let last = slots.iter().map(|s| s.seq).max().unwrap_or(0);
    let mut kinds: Vec<&str> = slots.iter().map(|s| s.kind.as_str()).collect();
    kinds.dedup();
    kinds.sort_unstable();
    kinds.dedup();
    for kind in kinds {
        let of = |seq: u64| {
            slots
                .iter()
                .rev()
                .find(|s| s.kind == kind && s.seq == seq && s.part == "health")
        };
        let Some(b) = of(last) else { continue };
        let workload = kind == "workload";
        let unit = |e: f64| error_unit(e, workload);
        let _ = writeln!(
            o,
            "{kind}: version {} ({}), {} MACs",
            b.get("version"),
            b.source,
            b.get("macs")
        );
        let timed = b.get("timed");
        let _ = writeln!(
            o,
            "  predictions {} (refused {}); timed {timed}{}",
            b.get("predictions"),
            b.get("refusals"),
            if timed > 0 {
                format!(
                    ", mean {:.2} us, max {:.2} us",
                    b.get("time_total") as f64 / timed as f64 / 1000.0,
                    b.get("time_max") as f64 / 1000.0
                )
            } else {
                String::new()
            }
        );
        let outcomes = b.get("outcomes");
        let _ = writeln!(
            o,
            "  outcomes {outcomes}{}; rolling error {} (alert above {}, clear below {})",
            mean_error(b.get("error_sum"), outcomes, workload),
            unit(b.get("rolling_error") as f64),
            if b.get("error_alert") > 0 {
                unit(b.get("error_alert") as f64)
            } else {
                "-".into()
            },
            unit(b.get("error_clear") as f64),
        );
        let _ =
            writeln!(
            o,
            "  alert {}, drift alert {}; raised {} times, fell back {} times; input drift {:.2} \
             spreads ({} samples)",
            if b.get("alert") > 0 { "RAISED" } else { "no" },
            if b.get("drift_alert") > 0 { "RAISED" } else { "no" },
            b.get("alerts"),
            b.get("fallbacks"),
            b.get("drift") as f64 / 1000.0,
            b.get("drift_samples")
        );
        if let (Some(a), true) = (of(first), last > first) {
            let d = |k: &str| b.get(k).wrapping_sub(a.get(k)) & 0xffff_ffff;
            let n = d("outcomes");
            let err = if n == 0 {
                "no outcomes".to_string()
            } else if workload {
                format!("MAE {}", unit(d("error_sum") as f64 / n as f64))
            } else {
                let k = d("error_sum") / 1000;
                let (lo, hi) = wilson(k, n);
                format!(
                    "wrong {k} of {n} = {:.1} % (95 % interval {:.1}-{:.1} %)",
                    100.0 * k as f64 / n as f64,
                    100.0 * lo,
                    100.0 * hi
                )
            };
            let _ = writeln!(
                o,
                "  dumps {first}..{last}: {} predictions, {n} outcomes: {err}; {} alerts, {} \
                 fallbacks",
                d("predictions"),
                d("alerts"),
                d("fallbacks")
            );
        }
        let ab = slots
            .iter()
            .rev()
            .find(|s| s.kind == kind && s.seq == last && s.part == "ab");
        let ab_rec = ab.and_then(|a| ab_report(&mut o, a, workload));
        let (alert, drift) = (b.get("alert") > 0, b.get("drift_alert") > 0);
        let promoted = ab.is_some_and(|a| a.get("promotions") > a.get("rollbacks"));
        let rec = if (alert || drift) && b.get("fallbacks") > 0 {
            "it fell back: release a fixed model (retrained on recent data), then load it".into()
        } else if alert && promoted {
            "roll back (aiml_rollback): the promoted model's error is above the level it was \
             released with"
                .into()
        } else if alert {
            "roll back: its error is above the level it was released with".into()
        } else if drift {
            "retrain: its inputs no longer look like its training data".into()
        } else {
            ab_rec.unwrap_or_else(|| "keep".into())
        };
        let _ = writeln!(o, "  recommendation: {rec}");
    }
    o
}

/// An error in the dump's unit as a reader wants it: percentage points for the workload model
/// (percent × 100 in the dump), percent for the others (per-mille in the dump).
fn error_unit(e: f64, workload: bool) -> String {
    if workload {
        format!("{:.2} pp", e / 100.0)
    } else {
        format!("{:.1} %", e / 10.0)
    }
}

/// `", mean error X"` of `n` outcomes whose errors sum to `sum`, or nothing without outcomes.
fn mean_error(sum: u64, n: u64, workload: bool) -> String {
    if n == 0 {
        return String::new();
    }
    format!(
        ", mean error {}",
        error_unit(sum as f64 / n as f64, workload)
    )
}

/// The A/B part of a report: the mode, the shadow comparison (paired outcomes: mean errors,
/// which model was closer, with a 95 % interval of the candidate's share of the decided
/// outcomes, a sign test) and the split counts; returns a recommendation when the evidence
/// is decisive or the comparison is running (`None` without any A/B activity).
fn ab_report(o: &mut String, a: &DumpSlot, workload: bool) -> Option<String> {
    let unit = |e: f64| error_unit(e, workload);
    let mode = match a.get("mode") {
        1 => "shadow",
        2 => "split",
        _ => "off",
    };
    let has = a.source == "loaded";
    let (shadowed, paired, routed) = (a.get("shadowed"), a.get("paired"), a.get("routed"));
    if !has && shadowed + paired + routed + a.get("promotions") + a.get("rollbacks") == 0 {
        return None;
    }
    let _ = writeln!(
        o,
        "  A/B: mode {mode}, candidate {}; promotions {}, rollbacks {}",
        if has {
            format!("version {}", a.get("candidate_version"))
        } else {
            "none (withdrawn or promoted)".into()
        },
        a.get("promotions"),
        a.get("rollbacks")
    );
    if routed > 0 {
        let n = a.get("candidate_outcomes");
        let _ = writeln!(
            o,
            "  A/B split: {routed} predictions answered by the candidate ({} per-mille of the \
             entities); its outcomes {n}{}",
            a.get("share_permille"),
            mean_error(a.get("candidate_errors"), n, workload)
        );
    }
    if shadowed == 0 && paired == 0 {
        return has.then(|| {
            "keep; A/B: run the candidate in shadow mode for a paired comparison".to_string()
        });
    }
    let (cb, lb) = (a.get("candidate_better"), a.get("live_better"));
    let decided = cb + lb;
    let (lo, hi) = wilson(cb, decided);
    let _ = writeln!(
        o,
        "  A/B shadow: {shadowed} predictions by both, agreed on {} ({:.1} %); {paired} paired \
         outcomes: mean error live {}, candidate {}; candidate closer in {cb}, live in {lb} \
         (candidate's share {:.1} %, 95 % interval {:.1}-{:.1} %)",
        a.get("agreed"),
        100.0 * a.get("agreed") as f64 / shadowed.max(1) as f64,
        unit(a.get("live_error_sum") as f64 / paired.max(1) as f64),
        unit(a.get("candidate_error_sum") as f64 / paired.max(1) as f64),
        100.0 * cb as f64 / decided.max(1) as f64,
        100.0 * lo,
        100.0 * hi
    );
    let lower_mean = a.get("candidate_error_sum") < a.get("live_error_sum");
    let verdict = if lo > 0.5 && lower_mean {
        Some(true)
    } else if hi < 0.5 {
        Some(false)
    } else {
        None
    };
    Some(match (has, verdict) {
        (true, Some(true)) => "promote (aiml_promote): the candidate was closer in significantly \
                               more paired outcomes and its mean error is lower"
            .into(),
        (true, Some(false)) => "keep the live model; withdraw the candidate \
                                (aiml_candidate_clear): the live model was closer in \
                                significantly more paired outcomes"
            .into(),
        (true, None) => format!(
            "keep; A/B undecided after {decided} decided outcomes (the interval holds 50 %): \
             let the comparison run"
        ),
        (false, v) => format!(
            "keep; the last A/B comparison (its candidate since promoted or withdrawn) {}",
            match v {
                Some(true) => "favoured the candidate",
                Some(false) => "favoured the live model",
                None => "was undecided",
            }
        ),
    })
}

#[cfg(test)]
mod dump_tests {
    use super::*;

    fn line(
        seq: u32,
        kind: &str,
        outcomes: u32,
        errors: u32,
        alert: u32,
        fallbacks: u32,
    ) -> String {
        format!(
            "[   12.5] aiml-vec: aiml-dump {{\"v\":1,\"seq\":{seq},\"kind\":\"{kind}\",\"version\":3,\
             \"source\":\"loaded\",\"macs\":10,\"error_alert\":300,\"error_clear\":100,\
             \"predictions\":{p},\"refusals\":0,\"timed\":2,\"time_total\":3000,\"time_max\":2000,\
             \"latency\":[0,0,0,2,0,0,0,0],\"outcomes\":{outcomes},\"error_sum\":{e},\
             \"rolling_error\":250,\"alert\":{alert},\"alerts\":{alert},\"fallbacks\":{fallbacks},\
             \"drift\":1500,\"drift_samples\":40,\"drift_alert\":0}}",
            p = 100 * seq,
            e = 1000 * errors
        )
    }

    #[test]
    fn dumps_are_read_compared_and_judged() {
        let text = [
            "unrelated line".to_string(),
            line(1, "threat", 100, 10, 0, 0),
            line(2, "threat", 300, 70, 1, 0),
            line(2, "failure", 10, 0, 0, 0),
        ]
        .join("\n");
        let p = Path::new("dmesg.txt");
        let d = read_dump(p, &text).unwrap();
        assert_eq!(d.len(), 3);
        assert_eq!(
            (d[0].seq, d[0].kind.as_str(), d[0].get("latency3")),
            (1, "threat", 2)
        );
        let r = dump_report(&d);
        // threat: 60 wrong of 200 between the dumps, with its interval; alert without fallback
        assert!(r.contains("wrong 60 of 200 = 30.0 %"), "{r}");
        assert!(r.contains("recommendation: roll back"), "{r}");
        assert!(r.contains("input drift 1.50 spreads (40 samples)"), "{r}");
        assert!(r.contains("mean 1.50 us"), "{r}");
        // failure has one dump: no interval, keep
        let f = &r[r.find("failure:").unwrap()..r.find("threat:").unwrap()];
        assert!(
            f.contains("recommendation: keep") && !f.contains("dumps"),
            "{f}"
        );
        // errors name the line and the field
        let bad = format!(
            "{}\n{}",
            line(1, "threat", 1, 0, 0, 0),
            "aiml-dump {\"v\":1,\"seq\":-1}"
        );
        let e = read_dump(p, &bad).unwrap_err().to_string();
        assert!(
            e.contains("dmesg.txt") && e.contains('2') && e.contains("seq"),
            "{e}"
        );
        assert!(read_dump(p, "nothing here").is_err());
        assert!(read_dump(p, "aiml-dump {\"v\":2,\"seq\":1}").is_err());
        // the interval: a proportion's bounds around it
        let (lo, hi) = wilson(30, 100);
        assert!(lo < 0.3 && 0.3 < hi && hi - lo < 0.2);
    }

    fn ab_line(kind: &str, source: &str, better: (u32, u32), errors: (u32, u32)) -> String {
        format!(
            "aiml-dump {{\"v\":1,\"seq\":1,\"kind\":\"{kind}\",\"part\":\"ab\",\
             \"source\":\"{source}\",\"mode\":1,\"share_permille\":0,\"candidate_version\":4,\
             \"shadowed\":200,\"agreed\":150,\"routed\":0,\"paired\":100,\
             \"live_error_sum\":{},\"candidate_error_sum\":{},\"candidate_better\":{},\
             \"live_better\":{},\"promotions\":0,\"rollbacks\":0}}",
            errors.0, errors.1, better.0, better.1
        )
    }

    /// The A/B part: a decisive shadow comparison recommends promotion (or withdrawal), an
    /// even one waiting; the health verdict (an alert) comes first.
    #[test]
    fn ab_comparisons_are_judged_with_their_interval() {
        let p = Path::new("dump.txt");
        let report = |better, errors| {
            let text = [
                line(1, "threat", 100, 10, 0, 0),
                ab_line("threat", "loaded", better, errors),
            ]
            .join("\n");
            let d = read_dump(p, &text).unwrap();
            assert_eq!((d[1].part.as_str(), d[0].part.as_str()), ("ab", "health"));
            dump_report(&d)
        };
        let r = report((40, 10), (30_000, 12_000));
        assert!(
            r.contains("candidate closer in 40, live in 10 (candidate's share 80.0 %"),
            "{r}"
        );
        assert!(r.contains("agreed on 150 (75.0 %)"), "{r}");
        assert!(
            r.contains("mean error live 30.0 %, candidate 12.0 %"),
            "{r}"
        );
        assert!(r.contains("recommendation: promote"), "{r}");
        let r = report((10, 40), (12_000, 30_000));
        assert!(
            r.contains("recommendation: keep the live model; withdraw"),
            "{r}"
        );
        let r = report((26, 24), (20_000, 19_000));
        assert!(r.contains("undecided after 50 decided outcomes"), "{r}");
        // an alert on the live model outranks the comparison
        let text = [
            line(1, "threat", 100, 10, 1, 0),
            ab_line("threat", "loaded", (40, 10), (30_000, 12_000)),
        ]
        .join("\n");
        let r = dump_report(&read_dump(p, &text).unwrap());
        assert!(r.contains("recommendation: roll back"), "{r}");
    }
}
