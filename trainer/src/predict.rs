//! Serving a trained model on the project's JSONL records (`trainer predict`): each record is
//! pushed through the inference-core history type of its series, process or component and the
//! typed predictor answers, exactly as a kernel module would run it.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

use inference_core::features::failure::FailureHistory;
use inference_core::features::threat::ThreatHistory;
use inference_core::features::workload::WorkloadHistory;
use inference_core::predictors::{Action, FailurePredictor, ThreatDetector, WorkloadPredictor};
use inference_core::{Model, ModelKind, Policy};
use serde_json::{json, Value};

use crate::data::jsonl::{parse_record, Record};
use crate::error::{DataError, Error, Result};

/// One prediction: the input line it answers and its figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// 1-based line of the record in the input.
    pub line: usize,
    /// The series, process or component the record belongs to.
    pub id: String,
    /// The figures, as one JSON object (`model`, `line`, `id` and the model's outputs).
    pub json: Value,
    /// The same, for a person.
    pub text: String,
}

/// The model of `kind` in `blob`, refused with the reason (and `origin`) if it is not a valid
/// model of that kind.
pub fn check_blob(blob: &[u8], kind: Option<ModelKind>, origin: &Path) -> Result<ModelKind> {
    let model = Model::load(blob, kind, &Policy::OPEN).map_err(|e| Error::blob(origin, e))?;
    Ok(model.kind())
}

/// The per-id state of one model's predictor.
enum Runner<'a> {
    Workload(WorkloadPredictor<'a>, HashMap<String, WorkloadHistory>),
    Threat(ThreatDetector<'a>, HashMap<String, ThreatHistory>),
    Failure(FailurePredictor<'a>, HashMap<String, FailureHistory>),
}

fn pct(v: u16) -> f64 {
    v as f64 / 100.0
}

fn action_name(a: Action) -> &'static str {
    match a {
        Action::Allow => "allow",
        Action::Monitor => "monitor",
        Action::Throttle => "throttle",
        Action::Kill => "kill",
    }
}

impl<'a> Runner<'a> {
    fn new(kind: ModelKind, blob: &'a [u8]) -> Result<Runner<'a>> {
        Ok(match kind {
            ModelKind::Workload => Runner::Workload(WorkloadPredictor::new(Some(blob)), HashMap::new()),
            ModelKind::Threat => Runner::Threat(ThreatDetector::new(Some(blob)), HashMap::new()),
            ModelKind::Failure => Runner::Failure(FailurePredictor::new(Some(blob)), HashMap::new()),
            ModelKind::Memory => {
                return Err(Error::Usage(
                    "predict: the memory model is not supported (its input is a valgrind lackey trace, not JSONL records; evaluate it with `trainer evaluate --data lackey:PATH`)".into(),
                ))
            }
        })
    }

    /// Pushes `r` into its history and returns the prediction as JSON and as text.
    fn step(&mut self, r: Record) -> (String, Value, String) {
        match (self, r) {
            (Runner::Workload(p, hs), Record::Workload { series, sample }) => {
                let h = hs.entry(series.clone()).or_default();
                h.push(sample);
                let o = p.predict(h);
                let json = json!({"cpu": pct(o.cpu), "mem": o.mem.map(pct), "gpu": o.gpu.map(pct),
                    "expected_error": pct(o.expected_error), "confidence": o.confidence,
                    "history": h.len()});
                let opt = |v: Option<u16>| v.map_or("-".to_string(), |v| format!("{:.2}%", pct(v)));
                let text = format!(
                    "next cpu {:.2}%  mem {}  gpu {}  (±{:.2} pp, confidence {}‰, {} sample(s) in history)",
                    pct(o.cpu), opt(o.mem), opt(o.gpu), pct(o.expected_error), o.confidence, h.len()
                );
                (series, json, text)
            }
            (
                Runner::Threat(p, hs),
                Record::Threat {
                    process,
                    window,
                    calls,
                    ..
                },
            ) => {
                let h = hs.entry(process.clone()).or_default();
                for &nr in &calls {
                    h.observe_call(nr);
                }
                let a = p.assess(h, &window);
                let json = json!({"score": a.score, "threat_type": a.threat_type.name(),
                    "confidence": a.confidence, "action": action_name(a.action),
                    "threshold": a.threshold});
                let text = format!(
                    "score {}‰ (threshold {})  type {}  confidence {}‰  action {}",
                    a.score,
                    a.threshold,
                    a.threat_type.name(),
                    a.confidence,
                    action_name(a.action)
                );
                (process, json, text)
            }
            (
                Runner::Failure(p, hs),
                Record::Failure {
                    component,
                    sample,
                    failed,
                    ..
                },
            ) => {
                let h = hs.entry(component.clone()).or_default();
                h.push(sample);
                if failed {
                    h.record_failure(sample.unix_s);
                }
                let o = p.predict(h);
                let json = json!({"probability": o.probability, "alarm": o.alarm,
                    "time_to_failure_s": o.time_to_failure_s, "confidence": o.confidence,
                    "failure_type": o.failure_type.name()});
                let text =
                    format!(
                    "failure within 30 min {}‰{}  time to failure {} s  type {}  confidence {}‰",
                    o.probability, if o.alarm { " ALARM" } else { "" }, o.time_to_failure_s,
                    o.failure_type.name(), o.confidence
                );
                (component, json, text)
            }
            // parse_record only returns records of the model it was asked for
            (_, _) => unreachable!("record of another model"),
        }
    }
}

/// Runs the `kind` model in `blob` on the JSONL records read from `input` (named `origin` in
/// errors), calling `out` with one prediction per record in input order. Returns the number of
/// records. A malformed record (or a line that is not UTF-8) stops the run with its line and
/// field.
pub fn predict(
    kind: ModelKind,
    blob: &[u8],
    input: impl BufRead,
    origin: &Path,
    mut out: impl FnMut(&Prediction) -> Result<()>,
) -> Result<usize> {
    let mut runner = Runner::new(kind, blob)?;
    let mut n = 0;
    for (i, line) in input.split(b'\n').enumerate() {
        let line_no = i + 1;
        let bytes = line.map_err(|e| Error::io(origin, e))?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|e| DataError::at(origin, line_no, None, crate::data::not_utf8(&e)))?;
        if text.trim().is_empty() {
            continue;
        }
        let record = parse_record(kind, text)
            .map_err(|(field, msg)| DataError::at(origin, line_no, Some(field), msg))?;
        let (id, mut json, text) = runner.step(record);
        json["model"] = json!(kind.name());
        json["line"] = json!(line_no);
        json["id"] = json!(id);
        out(&Prediction {
            line: line_no,
            id,
            json,
            text,
        })?;
        n += 1;
    }
    Ok(n)
}
