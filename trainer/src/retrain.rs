//! Continuous training: one retrain cycle trains a challenger on fresh data (by default
//! fine-tuned from the current model, the champion), judges both on the same held-out slice of
//! that data, and publishes the challenger only when it is better by a stated margin and no
//! worse on the guards. Every decision, promoted or refused, goes into the model's manifest
//! with both sets of figures.
//!
//! The rule, in order (the first that applies decides):
//! 1. the challenger is refused where `train` would refuse it: its validation figure is
//!    undefined, or its int8 model is worse than a naive baseline;
//! 2. with no champion, it is published (the first model);
//! 3. refused unless its decision figure ([`Metrics::selection`]: minus the MAE for the
//!    workload, ROC AUC for failures on real incidents, the headline otherwise) beats the
//!    champion's by at least `margin`;
//! 4. refused if it costs more multiply-accumulates than the champion (the latency budget
//!    devices were sized for), if its blob is over 10 % larger, or if its false-positive rate
//!    (threat: per process; failure: per sample) exceeds the champion's by more than
//!    `max_fpr_increase`;
//! 5. otherwise published and made current.
//!
//! Publishing is `Registry::publish`'s (blob, manifest, pointer: a kill at any point leaves
//! a valid current); a refusal is one atomic manifest write. Each operating point is the
//! model's own (the challenger's was chosen on its training run's validation split, which is
//! this slice).

use inference_core::{Model, ModelKind};
use serde_json::{json, Value};

use crate::data::dataset::Dataset;
use crate::error::{Error, Result};
use crate::eval::metrics::Metrics;
use crate::pipeline::{self, Trained};
use crate::registry::signing::{self, SigningKey};
use crate::registry::Registry;
use crate::train::warm::Init;
use crate::train::Params;

/// How a challenger is judged.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    /// How much better the challenger's decision figure must be.
    pub margin: f64,
    /// How much higher its false-positive rate may be.
    pub max_fpr_increase: f64,
    /// Train the challenger from random weights instead of from the champion.
    pub scratch: bool,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            margin: 0.005,
            max_fpr_increase: 0.005,
            scratch: false,
        }
    }
}

/// One model's figures on the judging slice.
#[derive(Debug, Clone)]
pub struct Figures {
    /// Version (the challenger's is the one it would get).
    pub version: u32,
    /// Metrics of its int8 model on the slice, at its own operating point.
    pub metrics: Metrics,
    /// Multiply-accumulates per prediction.
    pub macs: usize,
    /// Blob size, bytes.
    pub blob_bytes: usize,
}

impl Figures {
    fn of(version: u32, bytes: &[u8], val: &Dataset) -> Result<Figures> {
        let v1 = inference_core::signature::split(bytes).blob;
        let model = Model::from_blob(v1).map_err(|source| Error::Blob { path: None, source })?;
        Ok(Figures {
            version,
            metrics: pipeline::judge(&model, val),
            macs: model.macs(),
            blob_bytes: bytes.len(),
        })
    }

    fn fpr(&self) -> Option<f64> {
        self.metrics
            .false_positive_rate
            .or(self.metrics.false_alarm_rate)
    }

    fn to_json(&self) -> Value {
        json!({
            "version": self.version,
            "decision_figure": finite(self.metrics.selection()),
            "metrics": self.metrics,
            "macs": self.macs,
            "blob_bytes": self.blob_bytes,
        })
    }
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// What one cycle decided.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The model.
    pub kind: ModelKind,
    /// The version published, or `None` when the challenger was refused.
    pub published: Option<u32>,
    /// Why (one line).
    pub reason: String,
    /// The champion's figures (none without a current model).
    pub champion: Option<Figures>,
    /// The challenger's figures.
    pub challenger: Figures,
    /// Whether the challenger was fine-tuned from the champion.
    pub warm: bool,
}

/// Runs one cycle for `data`'s model on `registry` (see the module docs). `created_unix_s`
/// stamps the challenger.
pub fn cycle(
    registry: &Registry,
    data: &Dataset,
    params: &Params,
    val_split: f64,
    rules: &Rules,
    key: Option<&SigningKey>,
    created_unix_s: u64,
) -> Result<Outcome> {
    let kind = data.kind;
    let champion = match registry.current(kind) {
        Some(path) => Some((
            registry.current_version(kind).unwrap_or(0),
            std::fs::read(&path).map_err(|e| Error::io(&path, e))?,
            path,
        )),
        None => None,
    };
    let version = registry.next_version(kind);
    let mut params = params.clone();
    let mut warm = false;
    if let (false, Some((_, bytes, path))) = (rules.scratch, &champion) {
        let init = Init {
            blob: bytes.clone(),
            source: path.display().to_string(),
            freeze: 0,
        };
        // a champion of another shape or schema (an older trainer's) cannot be fine-tuned:
        // the challenger then starts from scratch, and the outcome says so
        let task = crate::train::task::Task::new(kind, data);
        if crate::train::warm::network(&init, kind, &task).is_ok() {
            params.init = Some(init);
            warm = true;
        }
    }
    let trained = pipeline::train(data, &params, val_split, version, created_unix_s, |_| {})?;
    let (_, val) = pipeline::check_data(data, val_split, params.seed)?;
    let challenger = Figures::of(version, &trained.blob, &val)?;
    let champ = match &champion {
        Some((v, bytes, _)) => Some(Figures::of(*v, bytes, &val)?),
        None => None,
    };
    let refusal = decide(&trained, &challenger, champ.as_ref(), rules);
    let decision = json!({
        "champion": champ.as_ref().map(Figures::to_json),
        "challenger": challenger.to_json(),
        "rules": {"margin": rules.margin, "max_fpr_increase": rules.max_fpr_increase},
        "warm_start": warm,
        "data_source": data.source,
        "judged_on_samples": val.len(),
    });
    let outcome = |published, reason: String| Outcome {
        kind,
        published,
        reason,
        champion: champ.clone(),
        challenger: challenger.clone(),
        warm,
    };
    match refusal {
        Some(reason) => {
            let mut event = decision;
            event["action"] = json!("retrain-refused");
            event["reason"] = json!(reason);
            registry.record(kind, event)?;
            Ok(outcome(None, reason))
        }
        None => {
            let reason = match &champ {
                Some(c) => format!(
                    "better than v{} by {:.4} (decision figure {:.4} against {:.4})",
                    c.version,
                    challenger.metrics.selection() - c.metrics.selection(),
                    challenger.metrics.selection(),
                    c.metrics.selection()
                ),
                None => "first model of the registry".to_string(),
            };
            publish(
                registry,
                version,
                data,
                &params,
                val_split,
                created_unix_s,
                &trained,
                key,
                decision,
                &reason,
            )?;
            Ok(outcome(Some(version), reason))
        }
    }
}

/// Why the challenger must not be published, if so (the rule in the module docs).
fn decide(
    trained: &Trained,
    challenger: &Figures,
    champion: Option<&Figures>,
    rules: &Rules,
) -> Option<String> {
    if let Some(r) = trained.refusal() {
        return Some(r);
    }
    let c = champion?;
    let (mine, theirs) = (challenger.metrics.selection(), c.metrics.selection());
    if mine.is_nan() || mine < theirs + rules.margin {
        return Some(format!(
            "not better than v{} by the margin {}: decision figure {mine:.4} against {theirs:.4}",
            c.version, rules.margin
        ));
    }
    if challenger.macs > c.macs {
        return Some(format!(
            "{} MACs per prediction against v{}'s {}: over the latency budget",
            challenger.macs, c.version, c.macs
        ));
    }
    if challenger.blob_bytes as f64 > c.blob_bytes as f64 * 1.1 {
        return Some(format!(
            "blob of {} bytes against v{}'s {} (more than 10 % larger)",
            challenger.blob_bytes, c.version, c.blob_bytes
        ));
    }
    if let (Some(a), Some(b)) = (challenger.fpr(), c.fpr()) {
        if a > b + rules.max_fpr_increase {
            return Some(format!(
                "false-positive rate {a:.4} against v{}'s {b:.4}",
                c.version
            ));
        }
    }
    None
}

#[allow(clippy::too_many_arguments)]
fn publish(
    registry: &Registry,
    version: u32,
    data: &Dataset,
    params: &Params,
    val_split: f64,
    created_unix_s: u64,
    trained: &Trained,
    key: Option<&SigningKey>,
    decision: Value,
    reason: &str,
) -> Result<()> {
    let kind = data.kind;
    let mut entry = trained.manifest_entry(params, val_split, created_unix_s);
    let blob = signing::sign_for_publish(&trained.blob, key, &mut entry)?;
    entry["retrain"] = json!({"reason": reason});
    let mut event = decision;
    event["action"] = json!("retrain-promoted");
    event["reason"] = json!(reason);
    registry.publish_event(kind, version, &blob, entry, event, &mut |_| {})?;
    Ok(())
}
