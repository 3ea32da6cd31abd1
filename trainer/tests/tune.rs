//! `trainer tune` writes every trial and the best parameters; `train --params` uses them.

mod common;

use std::path::Path;
use std::process::Command;

use inference_core::features::workload;

use common::{ok, refused, temp_dir};

/// Runs `trainer ARGS --params FILE --out DIR` (training with a parameter file).
fn train_with(args: &[&str], params: &Path, out: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_trainer"))
        .args(args)
        .arg("--params")
        .arg(params)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

/// Runs `trainer tune --model workload` on 4000 synthetic samples, two folds, seed 9, with
/// `extra` arguments, writing to `out`.
fn tune_workload(extra: &[&str], out: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_trainer"))
        .args([
            "tune",
            "--model",
            "workload",
            "--samples",
            "4000",
            "--folds",
            "2",
            "--seed",
            "9",
        ])
        .args(extra)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn tune_writes_its_trials_and_train_uses_the_best() {
    let dir = temp_dir("tune", "cli");
    let out = dir.join("tune");
    let o = tune_workload(&["--trials", "3", "--time-budget", "5m"], &out);
    let text = ok(&o);
    assert!(text.contains("trial   0"), "{text}");
    let table = std::fs::read_to_string(out.join("tune-workload.csv")).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 1 + 3, "{table}");
    assert!(lines[0].starts_with("trial,hidden,") && lines[0].ends_with("fold0,fold1"));
    // trial 0 is the defaults
    assert!(lines[1].starts_with("0,48-24,50,64,"), "{}", lines[1]);
    let best: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("params-workload.json")).unwrap())
            .unwrap();
    assert_eq!(best["model"], "workload");
    assert!(best["cv_score"].as_f64().unwrap() >= best["defaults_cv_score"].as_f64().unwrap());

    // two partitions into two folds: four fold columns, the first two as above
    let out2 = dir.join("tune2");
    let o = tune_workload(&["--trials", "1", "--repeats", "2"], &out2);
    let text = ok(&o);
    assert!(text.contains("2 partition(s)"), "{text}");
    let table2 = std::fs::read_to_string(out2.join("tune-workload.csv")).unwrap();
    let rows2: Vec<&str> = table2.lines().collect();
    assert!(rows2[0].ends_with("fold0,fold1,fold2,fold3"), "{table2}");
    let folds = |row: &str| -> Vec<String> {
        row.split(',')
            .skip(9)
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let (once, twice) = (folds(lines[1]), folds(rows2[1]));
    assert_eq!((once.len(), twice.len()), (2, 4));
    assert_eq!(
        twice[..2],
        once[..],
        "the first partition is the one-partition run's"
    );
    let p2: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out2.join("params-workload.json")).unwrap())
            .unwrap();
    assert_eq!(p2["repeats"], 2);

    // a file with other widths: train builds exactly them
    let params = dir.join("p.json");
    let mut p = best.clone();
    p["hidden"] = serde_json::json!([24, 8]);
    p["epochs"] = serde_json::json!(3);
    std::fs::write(&params, p.to_string()).unwrap();
    let reg = dir.join("models");
    let o = Command::new(env!("CARGO_BIN_EXE_trainer"))
        .args([
            "train",
            "--model",
            "workload",
            "--samples",
            "4000",
            "--allow-worse",
        ])
        .arg("--params")
        .arg(&params)
        .arg("--out")
        .arg(&reg)
        .output()
        .unwrap();
    ok(&o);
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(reg.join("workload/manifest.json")).unwrap())
            .unwrap();
    let h = &m["versions"][0]["hyperparameters"];
    assert_eq!(
        h["widths"],
        serde_json::json!([workload::N_FEATURES, 24, 8, workload::N_OUTPUTS])
    );
    assert_eq!(h["epochs"], 3);

    // widths the blob format cannot hold are refused, naming the file
    p["hidden"] = serde_json::json!([100]);
    std::fs::write(&params, p.to_string()).unwrap();
    let o = train_with(
        &["train", "--model", "workload", "--samples", "4000"],
        &params,
        &reg,
    );
    let err = refused(&o);
    assert!(err.contains("p.json") && err.contains("hidden"), "{err}");
}
