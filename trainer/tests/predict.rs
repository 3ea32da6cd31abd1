//! `trainer predict` through the binary: the built-in blobs on small JSONL files written here.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use inference_core::ModelKind;
use serde_json::{json, Value};
use trainer::registry::Registry;

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("aios-predict-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn builtin_blob(dir: &Path, kind: ModelKind) -> PathBuf {
    let p = dir.join(format!("{}.blob", kind.name()));
    std::fs::write(&p, inference_core::defaults::blob(kind)).unwrap();
    p
}

fn trainer(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trainer"))
        .arg("predict")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    pipe.write_all(stdin.unwrap_or_default()).unwrap();
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn json_lines(o: &Output) -> Vec<Value> {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn write_lines(path: &Path, records: &[Value]) {
    let text: String = records.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(path, text).unwrap();
}

#[test]
fn workload_blob_on_a_file_one_prediction_per_record() {
    let dir = temp_dir("workload");
    let blob = builtin_blob(&dir, ModelKind::Workload);
    let input = dir.join("in.jsonl");
    let mut recs: Vec<Value> = (0..12)
        .map(|i| json!({"model": "workload", "t": 1_700_000_000 + 60 * i, "series": "h1", "cpu": 40 + i, "mem": 30}))
        .collect();
    recs.insert(
        3,
        json!({"model": "workload", "t": 1_700_000_000, "series": "h2", "cpu": 90}),
    );
    write_lines(&input, &recs);
    let args = [blob.to_str().unwrap(), "--input", input.to_str().unwrap()];
    let out = json_lines(&trainer(&[&args[..], &["--json"]].concat(), None));
    assert_eq!(out.len(), 13);
    assert_eq!(out[3]["id"], "h2");
    assert_eq!(out[3]["history"], 1);
    assert_eq!(out[3]["mem"], Value::Null);
    // the history keeps the last 10 samples and the current one
    assert_eq!(
        (out[12]["line"].as_u64(), out[12]["history"].as_u64()),
        (Some(13), Some(11))
    );
    for p in &out {
        assert_eq!(p["model"], "workload");
        let cpu = p["cpu"].as_f64().unwrap();
        assert!((0.0..=100.0).contains(&cpu), "{p}");
    }
    let human = trainer(&args, None);
    assert!(human.status.success());
    let text = String::from_utf8(human.stdout).unwrap();
    assert_eq!(text.lines().count(), 13);
    assert!(
        text.lines()
            .next()
            .unwrap()
            .contains("in.jsonl:1 h1 next cpu"),
        "{text}"
    );
}

#[test]
fn threat_from_stdin_keeps_a_history_per_process_and_uses_calls() {
    let dir = temp_dir("threat");
    let blob = builtin_blob(&dir, ModelKind::Threat);
    let rec = |p: &str, t: u64, calls: Option<Vec<u32>>| {
        let mut r = json!({"model": "threat", "t_ms": t, "process": p, "syscalls": 200,
            "network_connections": 0, "file_accesses": 10, "privilege_attempts": 0,
            "failed_syscalls": 2, "memory_allocs": 5, "alloc_kib": 64, "spawns": 0});
        if let Some(c) = calls {
            r["calls"] = json!(c);
        }
        r
    };
    let recs = [
        rec("a", 1000, None),
        rec("b", 1000, Some([3, 4, 5, 6, 102, 11, 120].repeat(20))),
        rec("a", 2000, None),
    ];
    let stdin: String = recs.iter().map(|r| format!("{r}\n")).collect();
    let o = trainer(
        &[blob.to_str().unwrap(), "--input", "-", "--json"],
        Some(stdin.as_bytes()),
    );
    let out = json_lines(&o);
    assert_eq!(out.len(), 3);
    for p in &out {
        assert!(["allow", "monitor", "throttle", "kill"].contains(&p["action"].as_str().unwrap()));
        assert!(p["score"].as_u64().unwrap() <= 1000);
    }
    let ids: Vec<&str> = out.iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["a", "b", "a"]);
}

#[test]
fn failure_from_a_registry_and_memory_is_not_supported() {
    let dir = temp_dir("failure");
    let root = dir.join("models");
    {
        let reg = Registry::open(&root).unwrap();
        let blob = inference_core::defaults::blob(ModelKind::Failure);
        reg.publish(ModelKind::Failure, 1, blob, json!({}), &mut |_| {})
            .unwrap();
    }
    let input = dir.join("f.jsonl");
    let recs: Vec<Value> = (0..5)
        .map(|i| json!({"model": "failure", "t": 1000 + 60 * i, "component": "disk0", "health": 900 - 100 * i}))
        .collect();
    write_lines(&input, &recs);
    let (root_s, input_s) = (root.to_str().unwrap(), input.to_str().unwrap());
    let args = [
        "--registry",
        root_s,
        "--model",
        "failure",
        "--input",
        input_s,
        "--json",
    ];
    let out = json_lines(&trainer(&args, None));
    assert_eq!(out.len(), 5);
    assert!(out
        .iter()
        .all(|p| p["probability"].as_u64().unwrap() <= 1000));
    let none = trainer(
        &[
            "--registry",
            root_s,
            "--model",
            "workload",
            "--input",
            input_s,
        ],
        None,
    );
    assert!(!none.status.success());
    let err = String::from_utf8_lossy(&none.stderr);
    assert!(err.contains("no current workload model"), "{err}");
    let mem = builtin_blob(&dir, ModelKind::Memory);
    let o = trainer(&[mem.to_str().unwrap(), "--input", input_s], None);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("not supported"),
        "{err}"
    );
}

#[test]
fn a_bad_record_names_its_line_and_field() {
    let dir = temp_dir("bad");
    let blob = builtin_blob(&dir, ModelKind::Workload);
    let input = dir.join("bad.jsonl");
    let good = json!({"model": "workload", "t": 1, "series": "h", "cpu": 5});
    let bad = json!({"model": "workload", "t": 2, "series": "h", "cpu": 500});
    write_lines(&input, &[good.clone(), good, bad]);
    let o = trainer(
        &[blob.to_str().unwrap(), "--input", input.to_str().unwrap()],
        None,
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.jsonl:3: field `cpu`"), "{err}");
    let o = trainer(
        &[blob.to_str().unwrap(), "--input", "-"],
        Some(b"{\"model\":\"workload\",\"t\":1,\"series\":\"h\",\"cpu\":5}\n\xff\n"),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("<stdin>:2: not UTF-8"),
        "{err}"
    );
    let threat = builtin_blob(&dir, ModelKind::Threat);
    let o = trainer(
        &[
            threat.to_str().unwrap(),
            "--model",
            "workload",
            "--input",
            "-",
        ],
        None,
    );
    assert!(!o.status.success(), "a threat blob is not a workload model");
}
