//! The project's own record format: one JSON object per line, documented in `docs/DATA.md`.
//! `trainer collect` writes it; `--data jsonl:PATH` reads it.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;

use inference_core::features::failure::{FailureHistory, FailureType, HealthSample};
use inference_core::features::threat::{ProcessWindow, ThreatType};
use inference_core::features::workload::WorkloadSample;
use inference_core::ModelKind;
use serde_json::{json, Value};

use super::adfa;
use super::dataset::Dataset;
use super::{files, not_utf8, parse_finite, percent_x100, DataError, Loaded, ReadOptions, Skips};

/// Horizon of failure labels, seconds.
const HORIZON_S: i64 = 1800;

/// One parsed record (the fields of all models; unused ones stay default).
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A utilisation sample of series `series`.
    Workload {
        /// Series (host) id.
        series: String,
        /// The sample.
        sample: WorkloadSample,
    },
    /// One window of one process.
    Threat {
        /// Anonymised process id.
        process: String,
        /// The window.
        window: ProcessWindow,
        /// Label, when known.
        label: ThreatType,
        /// The window's system calls in order (i386 numbers), when recorded (`calls`); empty
        /// otherwise.
        calls: Vec<u32>,
    },
    /// A health reading of a component.
    Failure {
        /// Component id.
        component: String,
        /// Reading.
        sample: HealthSample,
        /// A failure happened at this reading.
        failed: bool,
        /// Failure type, when known.
        failure_type: Option<FailureType>,
    },
}

fn field<'a>(o: &'a Value, name: &'static str) -> Result<&'a Value, (&'static str, String)> {
    o.get(name).ok_or((name, "missing".to_string()))
}

fn num(o: &Value, name: &'static str) -> Result<f64, (&'static str, String)> {
    match field(o, name)? {
        Value::Number(n) => n
            .as_f64()
            .filter(|v| v.is_finite())
            .ok_or((name, "not a finite number".into())),
        Value::String(s) => parse_finite(s).map_err(|e| (name, e.to_string())),
        _ => Err((name, "expected a number".into())),
    }
}

fn opt_num(o: &Value, name: &'static str) -> Result<Option<f64>, (&'static str, String)> {
    match o.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => num(o, name).map(Some),
    }
}

fn count(o: &Value, name: &'static str) -> Result<u32, (&'static str, String)> {
    let v = num(o, name)?;
    if (0.0..=u32::MAX as f64).contains(&v) {
        Ok(v as u32)
    } else {
        Err((name, format!("{v} is not a count")))
    }
}

fn text(o: &Value, name: &'static str) -> Result<String, (&'static str, String)> {
    match field(o, name)? {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err((name, "expected a string".into())),
    }
}

/// The optional `calls` array: i386 system call numbers (0–511).
fn calls(o: &Value) -> Result<Vec<u32>, (&'static str, String)> {
    match o.get("calls") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, v)| match v.as_u64() {
                Some(nr) if nr < 512 => Ok(nr as u32),
                _ => Err((
                    "calls",
                    format!("element {}: '{v}' is not an i386 system call number", i + 1),
                )),
            })
            .collect(),
        Some(_) => Err(("calls", "expected an array of system call numbers".into())),
    }
}

fn pct(o: &Value, name: &'static str) -> Result<Option<u16>, (&'static str, String)> {
    match opt_num(o, name)? {
        None => Ok(None),
        Some(v) => percent_x100(v).map(Some).map_err(|e| (name, e.to_string())),
    }
}

/// Parses one line into a record of `kind`.
pub fn parse_record(kind: ModelKind, line: &str) -> Result<Record, (&'static str, String)> {
    let o: Value = serde_json::from_str(line).map_err(|e| ("json", e.to_string()))?;
    let model = text(&o, "model")?;
    if model != kind.name() {
        return Err(("model", format!("'{model}' record in {kind} data")));
    }
    match kind {
        ModelKind::Workload => {
            let t = num(&o, "t")?;
            Ok(Record::Workload {
                series: text(&o, "series")?,
                sample: WorkloadSample {
                    cpu: pct(&o, "cpu")?.ok_or(("cpu", "missing".to_string()))?,
                    mem: pct(&o, "mem")?,
                    gpu: pct(&o, "gpu")?,
                    unix_s: t.max(0.0) as u64,
                },
            })
        }
        ModelKind::Threat => {
            let label = match o.get("label") {
                None | Some(Value::Null) => ThreatType::None,
                Some(Value::String(s)) => *ThreatType::ALL
                    .iter()
                    .find(|t| t.name() == s)
                    .ok_or(("label", format!("unknown threat type '{s}'")))?,
                Some(_) => return Err(("label", "expected a string".into())),
            };
            Ok(Record::Threat {
                process: text(&o, "process")?,
                label,
                calls: calls(&o)?,
                window: ProcessWindow {
                    syscalls: count(&o, "syscalls")?,
                    network_connections: count(&o, "network_connections")?,
                    file_accesses: count(&o, "file_accesses")?,
                    privilege_attempts: count(&o, "privilege_attempts")?,
                    failed_syscalls: count(&o, "failed_syscalls")?,
                    memory_allocs: count(&o, "memory_allocs")?,
                    alloc_kib: count(&o, "alloc_kib")?,
                    spawns: count(&o, "spawns")?,
                    end_ms: num(&o, "t_ms")?.max(0.0) as u64,
                },
            })
        }
        ModelKind::Failure => {
            let health = num(&o, "health")?;
            if !(0.0..=1000.0).contains(&health) {
                return Err(("health", format!("{health} is not per-mille (0-1000)")));
            }
            let failure_type = match o.get("failure_type") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(
                    *FailureType::ALL
                        .iter()
                        .find(|t| t.name() == s)
                        .ok_or(("failure_type", format!("unknown failure type '{s}'")))?,
                ),
                Some(_) => return Err(("failure_type", "expected a string".into())),
            };
            Ok(Record::Failure {
                component: text(&o, "component")?,
                sample: HealthSample {
                    health: health as u16,
                    unix_s: num(&o, "t")?.max(0.0) as u64,
                },
                failed: o.get("failed").and_then(Value::as_bool).unwrap_or(false),
                failure_type,
            })
        }
        ModelKind::Memory => Err((
            "model",
            "memory data comes from valgrind traces: use --data lackey:PATH".into(),
        )),
    }
}

/// The threat record of one window of `process` (anonymised), with the window's calls (i386
/// numbers, in order) when they are known.
pub fn threat_record(process: &str, w: &ProcessWindow, calls: &[u32]) -> Value {
    let mut r = json!({"model": "threat", "t_ms": w.end_ms, "process": process,
        "syscalls": w.syscalls,
        "network_connections": w.network_connections,
        "file_accesses": w.file_accesses,
        "privilege_attempts": w.privilege_attempts,
        "failed_syscalls": w.failed_syscalls,
        "memory_allocs": w.memory_allocs,
        "alloc_kib": w.alloc_kib,
        "spawns": w.spawns});
    if !calls.is_empty() {
        r["calls"] = json!(calls);
    }
    r
}

/// Reads every record of `kind` from a file or directory of `.jsonl` files.
pub fn read(
    kind: ModelKind,
    path: &Path,
    opts: &ReadOptions,
) -> Result<(Vec<Record>, Skips), DataError> {
    let mut out = Vec::new();
    let mut skips = Skips::default();
    for f in files(path, |n| n.ends_with(".jsonl") || n.ends_with(".json"))? {
        let file = std::fs::File::open(&f).map_err(|e| DataError::file(&f, e))?;
        for (i, line) in std::io::BufReader::new(file).split(b'\n').enumerate() {
            let bytes = line.map_err(|e| DataError::at(&f, i + 1, None, e))?;
            let line = match std::str::from_utf8(&bytes) {
                Ok(l) => l,
                Err(e) => {
                    skips.handle(opts, DataError::at(&f, i + 1, None, not_utf8(&e)))?;
                    continue;
                }
            };
            if line.trim().is_empty() {
                continue;
            }
            match parse_record(kind, line) {
                Ok(r) => out.push(r),
                Err((field, msg)) => {
                    skips.handle(opts, DataError::at(&f, i + 1, Some(field), msg))?
                }
            }
        }
    }
    Ok((out, skips))
}

/// Data set of `kind` from JSONL records.
pub fn load(kind: ModelKind, path: &Path, opts: &ReadOptions) -> Result<Loaded, DataError> {
    let (records, skips) = read(kind, path, opts)?;
    let d = dataset(kind, records, format!("jsonl:{}", path.display()));
    Ok(Loaded::new(d, skips))
}

/// Data set of `kind` from parsed records (a file's, or those a remote source made), one
/// group per series, process or component, in the records' order within each.
pub fn dataset(kind: ModelKind, records: Vec<Record>, source: String) -> Dataset {
    let mut d = Dataset::new(kind, source);
    let mut groups: BTreeMap<String, Vec<Record>> = BTreeMap::new();
    for r in records {
        let key = match &r {
            Record::Workload { series, .. } => series.clone(),
            Record::Threat { process, .. } => process.clone(),
            Record::Failure { component, .. } => component.clone(),
        };
        groups.entry(key).or_default().push(r);
    }
    for (g, (_, recs)) in groups.into_iter().enumerate() {
        let g = g as u32;
        match kind {
            ModelKind::Workload => {
                let s: Vec<WorkloadSample> = recs
                    .iter()
                    .filter_map(|r| match r {
                        Record::Workload { sample, .. } => Some(*sample),
                        _ => None,
                    })
                    .collect();
                d.push_workload_series(&s, g);
            }
            ModelKind::Threat => {
                let windows = recs.iter().filter_map(|r| match r {
                    Record::Threat {
                        window,
                        label,
                        calls,
                        ..
                    } => Some((calls.as_slice(), *window, *label)),
                    _ => None,
                });
                adfa::append_windows(&mut d, windows, g);
            }
            ModelKind::Failure => {
                let fails: Vec<(i64, Option<FailureType>)> = recs
                    .iter()
                    .filter_map(|r| match r {
                        Record::Failure {
                            sample,
                            failed: true,
                            failure_type,
                            ..
                        } => Some((sample.unix_s as i64, *failure_type)),
                        _ => None,
                    })
                    .collect();
                let mut h = FailureHistory::new();
                for (k, r) in recs.iter().enumerate() {
                    let Record::Failure { sample, failed, .. } = r else {
                        continue;
                    };
                    h.push(*sample);
                    if *failed {
                        h.record_failure(sample.unix_s);
                        continue;
                    }
                    if k < 20 {
                        continue;
                    }
                    let t = sample.unix_s as i64;
                    let next = fails.iter().find(|f| f.0 > t);
                    let to_fail = next.map(|f| f.0 - t).unwrap_or(i64::MAX);
                    let label = (to_fail <= HORIZON_S) as u8 as f32;
                    let ttf = if to_fail <= 4 * HORIZON_S {
                        to_fail as f32
                    } else {
                        f32::NAN
                    };
                    let ty = match next {
                        Some((_, Some(ft))) if label > 0.0 => *ft as u8 as f32,
                        _ => f32::NAN,
                    };
                    d.push(&h.features(), &[label, ttf, ty], g, t);
                    if let (Some(e), Some(f)) = (d.event_time.last_mut(), next) {
                        *e = f.0;
                    }
                }
            }
            ModelKind::Memory => {}
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use inference_core::features::workload::HISTORY;

    #[test]
    fn records_and_their_errors() {
        let w =
            r#"{"model":"workload","t":1700000000,"series":"h1","cpu":12.5,"mem":40,"gpu":null}"#;
        match parse_record(ModelKind::Workload, w).unwrap() {
            Record::Workload { sample, .. } => {
                assert_eq!(
                    (sample.cpu, sample.mem, sample.gpu),
                    (1250, Some(4000), None)
                )
            }
            r => panic!("{r:?}"),
        }
        let cases = [
            (
                r#"{"model":"workload","t":1,"series":"h","cpu":"NaN"}"#,
                "cpu",
            ),
            (
                r#"{"model":"workload","t":1,"series":"h","cpu":150}"#,
                "cpu",
            ),
            (r#"{"model":"workload","t":1,"series":"h"}"#, "cpu"),
            (r#"{"model":"threat","t_ms":1}"#, "model"),
            (r#"not json"#, "json"),
        ];
        for (line, want) in cases {
            assert_eq!(
                parse_record(ModelKind::Workload, line).unwrap_err().0,
                want,
                "{line}"
            );
        }
        let t = r#"{"model":"threat","t_ms":1000,"process":"ab12","syscalls":10,"network_connections":0,"file_accesses":3,"privilege_attempts":0,"failed_syscalls":1,"memory_allocs":0,"alloc_kib":0,"spawns":0,"label":"ransomware"}"#;
        assert!(matches!(
            parse_record(ModelKind::Threat, t),
            Ok(Record::Threat {
                label: ThreatType::Ransomware,
                ..
            })
        ));
        let f = r#"{"model":"failure","t":5,"component":"disk0","health":1e9}"#;
        assert_eq!(parse_record(ModelKind::Failure, f).unwrap_err().0, "health");
    }

    #[test]
    fn a_workload_file_becomes_samples() {
        let dir = std::env::temp_dir().join(format!("aios-jsonl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut s = String::new();
        for i in 0..30 {
            s.push_str(&format!(
                "{{\"model\":\"workload\",\"t\":{},\"series\":\"h1\",\"cpu\":{},\"mem\":50,\"gpu\":null}}\n",
                1_700_000_000 + i,
                i % 10
            ));
        }
        s.push_str("{\"model\":\"workload\",\"t\":1,\"series\":\"h1\",\"cpu\":\"inf\"}\n");
        let p = dir.join("w.jsonl");
        std::fs::write(&p, &s).unwrap();
        let e = load(ModelKind::Workload, &p, &ReadOptions::default()).unwrap_err();
        assert_eq!((e.line, e.field.as_deref()), (Some(31), Some("cpu")));
        let l = load(
            ModelKind::Workload,
            &p,
            &ReadOptions {
                skip_bad_rows: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(l.skipped, 1);
        assert_eq!(l.data.len(), 30 - 1 - HISTORY);
    }

    #[test]
    fn threat_records_with_and_without_calls() {
        let w = ProcessWindow {
            syscalls: 3,
            file_accesses: 2,
            end_ms: 5000,
            ..Default::default()
        };
        let with = threat_record("p1", &w, &[5, 3, 6]).to_string();
        let old = threat_record("p0", &w, &[]).to_string();
        assert!(!old.contains("\"calls\""));
        match parse_record(ModelKind::Threat, &with).unwrap() {
            Record::Threat { calls, window, .. } => assert_eq!((calls, window), (vec![5, 3, 6], w)),
            r => panic!("{r:?}"),
        }
        for bad in [
            r#""calls":[3,-1]"#,
            r#""calls":[3,512]"#,
            r#""calls":"3 4""#,
        ] {
            let line = old.replacen('{', &format!("{{{bad},"), 1);
            assert_eq!(
                parse_record(ModelKind::Threat, &line).unwrap_err().0,
                "calls",
                "{line}"
            );
        }
        let dir = std::env::temp_dir().join(format!("aios-jsonl-calls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("t.jsonl");
        std::fs::write(&p, format!("{old}\n{with}\n")).unwrap();
        let l = load(ModelKind::Threat, &p, &ReadOptions::default()).unwrap();
        assert_eq!(l.data.len(), 2);
        let order = inference_core::features::threat::field::TRIGRAMS;
        // groups sort by process: p0 (no calls) first
        assert!(l.data.row(0)[order.clone()].iter().all(|&x| x == 0));
        assert!(l.data.row(1)[order].iter().any(|&x| x != 0));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_non_utf8_line_is_located_or_skipped() {
        let dir = std::env::temp_dir().join(format!("aios-jsonl-utf8-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("w.jsonl");
        let mut bytes = Vec::new();
        for i in 0..3 {
            let r = format!(r#"{{"model":"workload","t":{i},"series":"h","cpu":5}}"#);
            bytes.extend_from_slice(r.as_bytes());
            bytes.push(b'\n');
        }
        bytes.extend_from_slice(b"{\"model\":\"workload\",\"series\":\"h\xe9\"}\n");
        std::fs::write(&p, &bytes).unwrap();
        let e = read(ModelKind::Workload, &p, &ReadOptions::default()).unwrap_err();
        assert_eq!(e.line, Some(4));
        assert!(e.message.contains("not UTF-8"), "{e}");
        let skip = ReadOptions {
            skip_bad_rows: true,
            ..Default::default()
        };
        let (records, skips) = read(ModelKind::Workload, &p, &skip).unwrap();
        assert_eq!((records.len(), skips.count), (3, 1));
    }
}
