//! What an operator does with a registry besides training into it: list the versions, show or
//! compare them, promote one, roll back.
//!
//! Every change of `current` is recorded in the manifest's `events` (`publish`, `promote`,
//! `rollback`: from which version to which, when). **A rollback never points `current` back at
//! an older file.** Devices keep an anti-rollback floor (`aiml_set_rollback_store`, the policy's
//! `min_version`) and refuse a blob whose version is below the newest they accepted, so the
//! older weights are republished under the next version number ([`with_version`]: only the
//! header's version and the CRC change; a signed blob must be signed again). Promoting a
//! version newer than `current` (a challenger that was published but not made current) just
//! moves the pointer; promoting an older one is a rollback to it.

use std::fs;

use inference_core::blob::BlobHeader;
use inference_core::crc::crc32;
use inference_core::signature;
use inference_core::{Model, ModelKind};
use serde_json::{json, Value};

use super::signing::{self, SigningKey};
use super::{err, write_atomic, Registry, RegistryError};
use crate::error::{Error, Result};

/// Offset of the first section in a v1 blob (after the magic and the format version).
const SECTIONS: usize = 6;

/// `blob` with its header's `model_version` replaced and the CRC recomputed; the signature, if
/// any, is dropped (it covered the old version). The result is checked to load.
pub fn with_version(blob: &[u8], version: u32) -> Result<Vec<u8>> {
    let v1 = signature::split(blob).blob;
    Model::from_blob(v1).map_err(|source| Error::Blob { path: None, source })?;
    let body = v1.get(SECTIONS..v1.len() - 4).unwrap_or(&[]);
    let (mut header, rest): (BlobHeader, &[u8]) =
        postcard::take_from_bytes(body).map_err(|e| Error::Usage(format!("blob header: {e}")))?;
    header.model_version = version;
    let mut out = v1[..SECTIONS].to_vec();
    out.extend(
        postcard::to_allocvec(&header).map_err(|e| Error::Usage(format!("blob header: {e}")))?,
    );
    out.extend_from_slice(rest);
    let crc = crc32(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    Model::from_blob(&out).map_err(|source| Error::Blob { path: None, source })?;
    Ok(out)
}

/// One line of `trainer models list`.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionSummary {
    /// Version number.
    pub version: u32,
    /// When it was published (Unix seconds; 0 if unknown).
    pub created_unix_s: u64,
    /// Where its training data came from.
    pub data_source: String,
    /// Headline metric name and the int8 model's value on its validation data.
    pub headline: Option<(String, f64)>,
    /// The best baseline on the same metric, name and value.
    pub best_baseline: Option<(String, f64)>,
    /// Whether the blob carries a signature.
    pub signed: bool,
    /// Whether `current` names it.
    pub current: bool,
    /// The version whose weights it republishes (rollbacks).
    pub republished_from: Option<u32>,
}

/// The manifest entries of `kind`, oldest first.
fn entries(manifest: &Value) -> Vec<Value> {
    manifest["versions"].as_array().cloned().unwrap_or_default()
}

/// Whether a larger value of the headline metric is better (all but error-like names).
fn higher_is_better(metric: &str) -> bool {
    !(metric.contains("mae") || metric.contains("error") || metric.contains("loss"))
}

/// The summary of one manifest entry; `current`: the version `current` names.
pub fn summary(e: &Value, current: Option<u32>) -> VersionSummary {
    let version = e["version"].as_u64().unwrap_or(0) as u32;
    let m = &e["metrics_int8"];
    let name = m["headline_name"].as_str().map(str::to_string);
    let headline = name
        .as_ref()
        .and_then(|n| Some((n.clone(), m[n.as_str()].as_f64()?)));
    let best_baseline = name.as_ref().and_then(|n| {
        let up = higher_is_better(n);
        e["baselines"]
            .as_array()?
            .iter()
            .filter_map(|b| Some((b["name"].as_str()?.to_string(), b["metrics"][n].as_f64()?)))
            .filter(|(_, v)| v.is_finite())
            .max_by(|a, b| {
                let o = a.1.total_cmp(&b.1);
                if up {
                    o
                } else {
                    o.reverse()
                }
            })
    });
    VersionSummary {
        version,
        created_unix_s: e["created_unix_s"].as_u64().unwrap_or(0),
        data_source: e["data_source"].as_str().unwrap_or("").to_string(),
        headline,
        best_baseline,
        signed: e["signed"].as_bool().unwrap_or(false),
        current: current == Some(version),
        republished_from: e["republished_from"].as_u64().map(|v| v as u32),
    }
}

/// What a promotion or rollback did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promotion {
    /// `current` before.
    pub from: Option<u32>,
    /// `current` after.
    pub to: u32,
    /// The version whose weights `to` carries, when they were republished.
    pub republished_from: Option<u32>,
}

impl Registry {
    /// The version `current` names, if any.
    pub fn current_version(&self, kind: ModelKind) -> Option<u32> {
        super::published_version(&self.current(kind)?)
    }

    /// The manifest entry of `version` of `kind`.
    pub fn entry(&self, kind: ModelKind, version: u32) -> Result<Value> {
        entries(&self.manifest(kind)?)
            .into_iter()
            .find(|e| e["version"].as_u64() == Some(version as u64))
            .ok_or_else(|| {
                Error::Usage(format!(
                    "{} has no version v{version} (versions: {})",
                    kind.name(),
                    self.list_versions(kind)
                ))
            })
    }

    fn list_versions(&self, kind: ModelKind) -> String {
        let v = self.versions(kind);
        if v.is_empty() {
            "none".into()
        } else {
            v.iter()
                .map(|v| format!("v{v}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    }

    /// Every version of `kind`, oldest first.
    pub fn summaries(&self, kind: ModelKind) -> Result<Vec<VersionSummary>> {
        let current = self.current_version(kind);
        Ok(entries(&self.manifest(kind)?)
            .iter()
            .map(|e| summary(e, current))
            .collect())
    }

    /// Makes `version` current: newer than `current`, by moving the pointer; older, by
    /// republishing its weights as the next version ([`rollback`](Self::rollback)).
    pub fn promote(
        &self,
        kind: ModelKind,
        version: u32,
        key: Option<&SigningKey>,
    ) -> Result<Promotion> {
        let from = self.current_version(kind);
        self.entry(kind, version)?;
        if from == Some(version) {
            return Ok(Promotion {
                from,
                to: version,
                republished_from: None,
            });
        }
        if from.is_some_and(|c| version < c) {
            return self.republish(kind, version, "promote", key);
        }
        let bytes = self.read_valid(kind, version)?;
        if key.is_some() && signature::split(&bytes).signature.is_none() {
            return Err(Error::Usage(format!(
                "{} v{version} is not signed, and published versions are never rewritten; \
                 retrain with --sign-key, or promote it without a key",
                kind.name()
            )));
        }
        self.set_current(kind, version, json!({"action": "promote", "from": from}))?;
        Ok(Promotion {
            from,
            to: version,
            republished_from: None,
        })
    }

    /// Goes back to `to`, or by default to the version that was current before the current
    /// one, by republishing its weights as the next version (see the module docs).
    pub fn rollback(
        &self,
        kind: ModelKind,
        to: Option<u32>,
        key: Option<&SigningKey>,
    ) -> Result<Promotion> {
        let Some(current) = self.current_version(kind) else {
            return Err(Error::Usage(format!(
                "{}: no current version to roll back from",
                kind.name()
            )));
        };
        let target = match to {
            Some(v) => v,
            None => self.previous(kind, current)?,
        };
        if target == current {
            return Err(Error::Usage(format!(
                "{} v{target} is already current",
                kind.name()
            )));
        }
        self.republish(kind, target, "rollback", key)
    }

    /// The version that was current before `current`: the `from` of the newest event that
    /// made `current` current, else the newest version below it.
    fn previous(&self, kind: ModelKind, current: u32) -> Result<u32> {
        let manifest = self.manifest(kind)?;
        let from_events = manifest["events"].as_array().and_then(|ev| {
            ev.iter()
                .rev()
                .find(|e| e["to"].as_u64() == Some(current as u64))
                .and_then(|e| e["from"].as_u64())
        });
        // a republished version's own predecessor is what it replaced; what it carries is
        // older weights, so "previous" is what was current before it
        from_events
            .map(|v| v as u32)
            .or_else(|| {
                self.versions(kind)
                    .into_iter()
                    .filter(|&v| v < current)
                    .max()
            })
            .ok_or_else(|| {
                Error::Usage(format!(
                    "{} v{current} is the only version: nothing to roll back to",
                    kind.name()
                ))
            })
    }

    /// Reads `version` of `kind` and checks that it loads.
    fn read_valid(&self, kind: ModelKind, version: u32) -> Result<Vec<u8>> {
        let path = self.blob_path(kind, version);
        let bytes = fs::read(&path).map_err(|e| Error::io(&path, e))?;
        Model::load(
            signature::split(&bytes).blob,
            Some(kind),
            &inference_core::Policy::OPEN,
        )
        .map_err(|source| Error::Blob {
            path: Some(path.clone()),
            source,
        })?;
        Ok(bytes)
    }

    /// Publishes the weights of `source` as the next version and makes it current.
    fn republish(
        &self,
        kind: ModelKind,
        source: u32,
        action: &str,
        key: Option<&SigningKey>,
    ) -> Result<Promotion> {
        let from = self.current_version(kind);
        let bytes = self.read_valid(kind, source)?;
        let was_signed = signature::split(&bytes).signature.is_some();
        if was_signed && key.is_none() {
            return Err(Error::Usage(format!(
                "{} v{source} is signed; republishing it as a new version changes its header, so \
                 it must be signed again: pass --sign-key (or set {})",
                kind.name(),
                signing::KEY_ENV
            )));
        }
        let version = self.next_version(kind);
        let mut entry = self.entry(kind, source)?;
        if let Some(o) = entry.as_object_mut() {
            o.remove("version");
            o.remove("file");
        }
        entry["republished_from"] = json!(source);
        entry["created_unix_s"] = json!(now());
        let blob = signing::sign_for_publish(&with_version(&bytes, version)?, key, &mut entry)?;
        self.publish_with_event(
            kind,
            version,
            &blob,
            entry,
            json!({"action": action, "from": from, "republished_from": source}),
        )?;
        Ok(Promotion {
            from,
            to: version,
            republished_from: Some(source),
        })
    }

    /// Appends `event` (with `unix_s` filled in) to the manifest of `kind` without changing
    /// `current`: a decision not to publish (one atomic manifest write).
    pub fn record(&self, kind: ModelKind, mut event: Value) -> Result<()> {
        let dir = self.dir(kind);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let mut manifest = self.manifest(kind)?;
        event["unix_s"] = json!(now());
        push_event(&mut manifest, event);
        manifest["model"] = json!(kind.name());
        let text = serde_json::to_string_pretty(&manifest).map_err(|e| err(&dir, e))?;
        write_atomic(&dir.join("manifest.json"), text.as_bytes(), false)?;
        Ok(())
    }

    /// Points `current` at `version` and records `event` (manifest first, then the pointer,
    /// each atomically: a crash between leaves the previous `current` in force).
    fn set_current(&self, kind: ModelKind, version: u32, mut event: Value) -> Result<()> {
        let dir = self.dir(kind);
        let mut manifest = self.manifest(kind)?;
        event["to"] = json!(version);
        event["unix_s"] = json!(now());
        push_event(&mut manifest, event);
        manifest["current"] = json!(version);
        let text = serde_json::to_string_pretty(&manifest).map_err(|e| err(&dir, e))?;
        write_atomic(&dir.join("manifest.json"), text.as_bytes(), false)?;
        write_atomic(
            &dir.join("current"),
            format!("v{version}.blob\n").as_bytes(),
            false,
        )?;
        Ok(())
    }

    fn publish_with_event(
        &self,
        kind: ModelKind,
        version: u32,
        blob: &[u8],
        entry: Value,
        event: Value,
    ) -> std::result::Result<(), RegistryError> {
        self.publish_event(kind, version, blob, entry, event, &mut |_| {})
            .map(|_| ())
    }
}

/// Appends `event` to the manifest's `events` list.
pub(super) fn push_event(manifest: &mut Value, event: Value) {
    match manifest["events"].as_array_mut() {
        Some(list) => list.push(event),
        None => manifest["events"] = json!([event]),
    }
}

/// Seconds since the Unix epoch.
pub(super) fn now() -> u64 {
    crate::data::time::unix_now()
}

/// The fields two manifest entries differ in, flattened (`metrics_int8.skill`,
/// `hyperparameters.widths`, `data_source`, …): `(field, first, second)`; per-epoch curves and
/// baselines are left out (see `show`).
pub fn diff(a: &Value, b: &Value) -> Vec<(String, String, String)> {
    let (fa, fb) = (flatten(a), flatten(b));
    let mut keys: Vec<&String> = fa.keys().chain(fb.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|k| {
            let (x, y) = (fa.get(k), fb.get(k));
            (x != y).then(|| {
                let show = |v: Option<&String>| v.cloned().unwrap_or_else(|| "–".into());
                (k.clone(), show(x), show(y))
            })
        })
        .collect()
}

fn flatten(v: &Value) -> std::collections::BTreeMap<String, String> {
    fn walk(prefix: &str, v: &Value, out: &mut std::collections::BTreeMap<String, String>) {
        match v {
            Value::Object(o) => {
                for (k, x) in o {
                    if matches!(
                        k.as_str(),
                        "epochs" | "baselines" | "diagnostics" | "version" | "file"
                    ) {
                        continue;
                    }
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, x, out);
                }
            }
            Value::Number(n) => {
                let text = match n.as_f64() {
                    Some(f) if n.is_f64() => format!("{f:.4}"),
                    _ => n.to_string(),
                };
                out.insert(prefix.to_string(), text);
            }
            Value::String(s) => {
                out.insert(prefix.to_string(), s.clone());
            }
            other => {
                out.insert(prefix.to_string(), other.to_string());
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk("", v, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_version_changes_only_the_version() {
        let b = inference_core::defaults::blob(ModelKind::Memory);
        for v in [2u32, 127, 128, 300_000] {
            let out = with_version(b, v).unwrap();
            let (m0, m1) = (
                Model::from_blob(b).unwrap(),
                Model::from_blob(&out).unwrap(),
            );
            assert_eq!(m1.version(), v);
            assert_eq!(m0.kind(), m1.kind());
            let f = [7i32; inference_core::features::memory::N_FEATURES];
            let (mut o0, mut o1) = ([0i32; 11], [0i32; 11]);
            m0.infer(&f, &mut o0);
            m1.infer(&f, &mut o1);
            assert_eq!(o0, o1);
        }
        assert!(with_version(&b[..b.len() - 1], 2).is_err());
    }

    #[test]
    fn diff_names_the_fields_that_differ() {
        let a = json!({"version": 1, "data_source": "nab:a", "metrics_int8": {"skill": 0.1},
                       "hyperparameters": {"widths": [4, 2]}, "epochs": [1]});
        let b = json!({"version": 2, "data_source": "nab:a", "metrics_int8": {"skill": 0.2},
                       "hyperparameters": {"widths": [4, 3]}, "epochs": [2], "signed": true});
        let d = diff(&a, &b);
        let keys: Vec<&str> = d.iter().map(|r| r.0.as_str()).collect();
        assert_eq!(
            keys,
            ["hyperparameters.widths", "metrics_int8.skill", "signed"]
        );
        assert_eq!(
            d[1],
            (
                "metrics_int8.skill".into(),
                "0.1000".into(),
                "0.2000".into()
            )
        );
        assert_eq!(d[2].1, "–");
    }

    #[test]
    fn the_best_baseline_follows_the_metric_direction() {
        let e = json!({"version": 3, "metrics_int8": {"headline_name": "mae_pp", "mae_pp": 1.0},
            "baselines": [{"name": "a", "metrics": {"mae_pp": 2.0}},
                          {"name": "b", "metrics": {"mae_pp": 1.5}}]});
        let s = summary(&e, Some(3));
        assert_eq!(s.best_baseline, Some(("b".into(), 1.5)));
        assert!(s.current);
        let e = json!({"version": 3, "metrics_int8": {"headline_name": "f1", "f1": 0.5},
            "baselines": [{"name": "a", "metrics": {"f1": 0.2}},
                          {"name": "b", "metrics": {"f1": 0.4}}]});
        assert_eq!(summary(&e, None).best_baseline, Some(("b".into(), 0.4)));
    }
}
