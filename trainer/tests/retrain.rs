//! Continuous training end to end with the real command: several `trainer retrain` cycles over
//! data whose pattern changes part-way. A worse challenger is refused, a better one promoted,
//! every decision is in the manifest with both sets of figures, a rollback gives a higher
//! version with the old weights, and a cycle killed at any moment leaves a valid current.

mod common;
use common::ok;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use inference_core::{Model, ModelKind, Policy};

fn temp_dir(name: &str) -> PathBuf {
    common::temp_dir("retrain", name)
}

/// Workload records of six hosts, 500 one-minute samples each: pattern `a`, a slow sine, or
/// pattern `b`, CPU alternating between about 20 % and 80 % every sample (persistence is 60
/// points off, the last two samples predict the next).
fn records(path: &Path, pattern: char, seed: u64) -> String {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut noise = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % 2001) as f64 / 1000.0 - 1.0
    };
    let mut f = std::fs::File::create(path).unwrap();
    for s in 0..6u64 {
        let phase = s as f64 * 1.3 + seed as f64;
        for i in 0..500u64 {
            let (cpu, mem) = match pattern {
                'a' => (
                    50.0 + 20.0 * (phase + i as f64 / 30.0).sin() + noise(),
                    40.0 + 10.0 * (phase + i as f64 / 50.0).sin() + 0.5 * noise(),
                ),
                _ => (
                    if i % 2 == 0 { 20.0 } else { 80.0 } + noise(),
                    if i % 2 == 0 { 35.0 } else { 45.0 } + 0.5 * noise(),
                ),
            };
            writeln!(
                f,
                r#"{{"model":"workload","t":{},"series":"h{seed}-{s}","cpu":{:.2},"mem":{:.2},"gpu":null}}"#,
                1_795_800_000 + s * 100_000 + 60 * i,
                cpu.clamp(0.0, 100.0),
                mem
            )
            .unwrap();
        }
    }
    format!("jsonl:{}", path.display())
}

fn retrain(reg: &Path, data: &str, extra: &[&str]) -> Output {
    let epochs: &[&str] = if extra.contains(&"--epochs") {
        &[]
    } else {
        &["--epochs", "20"]
    };
    Command::new(env!("CARGO_BIN_EXE_trainer"))
        .args(["retrain", "--distill", "off", "--data", data])
        .args(epochs)
        .args(extra)
        .arg("--registry")
        .arg(reg)
        .env_remove("AIOS_SIGNING_KEY")
        .output()
        .unwrap()
}

fn current(reg: &Path) -> u32 {
    let bytes = std::fs::read(
        reg.join("workload").join(
            std::fs::read_to_string(reg.join("workload/current"))
                .unwrap()
                .trim(),
        ),
    )
    .unwrap();
    let v = Model::load(&bytes, Some(ModelKind::Workload), &Policy::OPEN)
        .expect("current names a valid blob")
        .version();
    v
}

fn events(reg: &Path) -> Vec<serde_json::Value> {
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(reg.join("workload/manifest.json")).unwrap())
            .expect("manifest is valid JSON");
    m["events"].as_array().cloned().unwrap_or_default()
}

fn first_layer(reg: &Path, v: u32) -> Vec<i8> {
    let bytes = std::fs::read(reg.join(format!("workload/v{v}.blob"))).unwrap();
    let m = Model::from_blob(&bytes).unwrap();
    let l = m.layers()[0];
    (0..l.outputs())
        .flat_map(|o| (0..l.inputs()).map(move |i| (o, i)))
        .map(|(o, i)| l.weight(o, i).unwrap())
        .collect()
}

#[test]
fn cycles_refuse_the_worse_promote_the_better_and_roll_back() {
    let d = temp_dir("cycles");
    let reg = d.join("reg");
    let a1 = records(&d.join("a1.jsonl"), 'a', 1);
    let a2 = records(&d.join("a2.jsonl"), 'a', 2);
    let b = records(&d.join("b.jsonl"), 'b', 3);

    // an empty registry: the first challenger is published
    let out = ok(&retrain(&reg, &a1, &[]));
    assert!(out.contains("published v1"), "{out}");
    assert_eq!(current(&reg), 1);

    // a worse challenger (one epoch from scratch on a sixth of the data: a few Adam steps) on
    // fresh data of the same pattern: refused
    let out = ok(&retrain(
        &reg,
        &a2,
        &["--scratch", "--epochs", "1", "--val-split", "0.85"],
    ));
    assert!(out.contains("kept the champion"), "{out}");
    assert_eq!(current(&reg), 1);
    assert!(!reg.join("workload/v2.blob").exists());
    let ev = events(&reg);
    let refused = ev.last().unwrap();
    assert_eq!(refused["action"], "retrain-refused");
    let (champ, chal) = (&refused["champion"], &refused["challenger"]);
    assert_eq!(champ["version"], 1);
    assert!(
        chal["metrics"]["mae_pp"].as_f64().unwrap() > champ["metrics"]["mae_pp"].as_f64().unwrap()
    );

    // the pattern changes: the champion predicts "about the same" where the load alternates;
    // the fine-tuned challenger learns it and is promoted
    let out = ok(&retrain(&reg, &b, &[]));
    assert!(out.contains("published v2"), "{out}");
    assert!(out.contains("fine-tuned"), "{out}");
    assert_eq!(current(&reg), 2);
    let promoted = events(&reg).last().cloned().unwrap();
    assert_eq!(promoted["action"], "retrain-promoted");
    assert!(
        promoted["challenger"]["decision_figure"].as_f64().unwrap()
            > promoted["champion"]["decision_figure"].as_f64().unwrap() + 0.005
    );
    assert_eq!(promoted["warm_start"], true);

    // a rollback: a higher version carrying v1's weights
    let o = Command::new(env!("CARGO_BIN_EXE_trainer"))
        .args(["models", "rollback", "--model", "workload", "--registry"])
        .arg(&reg)
        .output()
        .unwrap();
    ok(&o);
    assert_eq!(current(&reg), 3);
    assert_eq!(first_layer(&reg, 3), first_layer(&reg, 1));
    assert_ne!(first_layer(&reg, 3), first_layer(&reg, 2));
}

#[test]
fn a_killed_cycle_leaves_a_valid_current() {
    let d = temp_dir("kill");
    let reg = d.join("reg");
    let a = records(&d.join("a.jsonl"), 'a', 4);
    let b = records(&d.join("b.jsonl"), 'b', 5);
    ok(&retrain(&reg, &a, &[]));
    // kill challengers at a spread of moments: loading, training, publishing
    for ms in [5u64, 40, 120, 300, 700, 1500] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_trainer"))
            .args([
                "retrain",
                "--distill",
                "off",
                "--epochs",
                "20",
                "--data",
                &b,
            ])
            .arg("--registry")
            .arg(&reg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(ms));
        let _ = child.kill();
        let _ = child.wait();
        let v = current(&reg);
        assert!(v >= 1, "after a kill at {ms} ms");
        events(&reg);
    }
    // the next cycle runs (the lock of the killed writer is taken over) and leaves no
    // temporary file behind
    ok(&retrain(&reg, &b, &[]));
    let temps: Vec<_> = std::fs::read_dir(reg.join("workload"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(temps.is_empty(), "{temps:?}");
    current(&reg);
}

#[test]
fn a_rotating_collector_feeds_retrain_with_closed_files_only() {
    let d = temp_dir("collect");
    let out = d.join("telemetry");
    let o = Command::new(env!("CARGO_BIN_EXE_trainer"))
        .args(["collect", "--model", "workload", "--interval", "50ms"])
        .args([
            "--duration",
            "1500ms",
            "--rotate-age",
            "400ms",
            "--keep",
            "2",
        ])
        .arg("--out")
        .arg(&out)
        .env("AIOS_ANON_KEY", "00112233445566778899aabbccddeeff")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let files: Vec<PathBuf> = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    // at most --keep rotated files, and the file being written was closed at the end
    assert!((1..=2).contains(&files.len()), "{files:?}");
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with("workload-") && name.ends_with(".jsonl"),
            "{name}"
        );
        for line in std::fs::read_to_string(f).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["model"], "workload");
        }
    }
}

#[test]
fn tuned_parameters_shape_a_challenger_from_scratch() {
    let d = temp_dir("params");
    let reg = d.join("reg");
    let a1 = records(&d.join("a1.jsonl"), 'a', 1);
    let p = d.join("params-workload.json");
    std::fs::write(
        &p,
        r#"{"model":"workload","hidden":[24],"epochs":20,"batch_size":32,"learning_rate":0.003,"weight_decay":0.0001}"#,
    )
    .unwrap();
    let out = ok(&retrain(
        &reg,
        &a1,
        &["--scratch", "--params", p.to_str().unwrap()],
    ));
    assert!(out.contains("published v1"), "{out}");
    let bytes = std::fs::read(reg.join("workload/v1.blob")).unwrap();
    let m = Model::from_blob(&bytes).unwrap();
    // one hidden layer of 24, not the default 48-24
    assert_eq!(m.layers().len(), 2);
    assert_eq!(m.layers()[0].outputs(), 24);
}
