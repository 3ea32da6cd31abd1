//! Fleet-scale training: Parquet telemetry streamed in two passes, gradient shards on
//! several threads, reproducible for a seed and a thread count.

use std::path::{Path, PathBuf};
use std::process::Command;

use inference_core::features::workload::HISTORY;
use inference_core::ModelKind;
use trainer::data::dataset::Dataset;
use trainer::data::{parquet, synth, ReadOptions};
use trainer::pipeline::{train_streamed, Trained};
use trainer::rng::Rng;
use trainer::train::{fit, Params};
use trainer::Error;

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("aios-scale-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A synthetic fleet of `machines` machines with `steps` samples each.
fn fleet(path: &Path, machines: usize, steps: usize) {
    let mut rng = Rng::new(9);
    let series: Vec<_> = (0..machines)
        .map(|m| {
            (
                format!("m{m}"),
                synth::machine(&mut rng.fork(m as u64), steps),
            )
        })
        .collect();
    parquet::write_telemetry(path, series).unwrap();
}

fn streamed(path: &Path, threads: usize) -> Result<Trained, Error> {
    let params = Params::default()
        .with_epochs(3)
        .with_threads(threads)
        .with_distill(Some(false));
    train_streamed(path, &ReadOptions::default(), &params, 0.2, 1, 0, |_| {})
}

#[test]
fn a_streamed_file_trains_every_sample_and_reruns_bit_for_bit() {
    let dir = temp_dir("stream");
    let file = dir.join("fleet.parquet");
    let (machines, steps) = (24, 260);
    fleet(&file, machines, steps);
    let a = streamed(&file, 2).unwrap();
    let b = streamed(&file, 2).unwrap();
    assert_eq!(
        a.blob, b.blob,
        "same seed and thread count, different model"
    );
    // every sample is either trained on or held out, whole machines at a time
    let samples = machines * (steps - HISTORY - 1);
    assert_eq!(a.sizes.0 + a.sizes.1, samples);
    assert_eq!(a.sizes.1 % (steps - HISTORY - 1), 0);
    assert!(a.sizes.1 > 0 && a.sizes.0 > a.sizes.1);
    assert!(a.about.source.starts_with("parquet:"));
    assert_eq!(a.about.sha256.len(), 64);
    // it learned something: the int8 model is judged and beats nothing worse than persistence
    assert!(a.int8.mae_pp.unwrap().is_finite());
    assert!(a.fit.log.iter().all(|e| e.loss.is_finite()));
    // one thread is another (valid) run
    let one = streamed(&file, 1).unwrap();
    assert_eq!(one.sizes, a.sizes);
}

#[test]
fn too_few_series_to_hold_whole_ones_out_are_refused() {
    let dir = temp_dir("few");
    let file = dir.join("few.parquet");
    fleet(&file, 6, 200);
    let e = streamed(&file, 1).unwrap_err().to_string();
    assert!(e.contains("at least 10 series"), "{e}");
    assert!(e.contains("6 series"), "{e}");
}

#[test]
fn threads_change_the_summation_not_the_training() {
    let d = synth::generate(ModelKind::Workload, 3000, 3);
    let (train, val) = d.split(0.2, 3);
    let run = |threads: usize| {
        let p = Params::default().with_epochs(4).with_threads(threads);
        fit(&train, &val, &p, |_| {}).unwrap()
    };
    let (one, two, two_again) = (run(1), run(2), run(2));
    let w = |f: &trainer::train::Fit| f.mlp.layers[0].w.clone();
    assert_eq!(w(&two), w(&two_again));
    // shards sum to the batch gradient: the runs differ only by rounding
    let (l1, l2) = (one.log[3].val_loss, two.log[3].val_loss);
    assert!((l1 - l2).abs() < 0.02 * l1.abs(), "{l1} vs {l2}");
    let e = fit(&train, &val, &Params::default().with_threads(0), |_| {}).unwrap_err();
    assert!(e.to_string().contains("threads"), "{e}");
}

#[test]
fn synth_then_train_stream_from_the_command_line() {
    let dir = temp_dir("cli");
    let file = dir.join("fleet.parquet");
    let exe = env!("CARGO_BIN_EXE_trainer");
    let o = Command::new(exe)
        .args(["synth", "--machines", "12", "--steps", "150", "--out"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let l = parquet::load_workload(&file, &ReadOptions::default()).unwrap();
    assert_eq!(l.data.len(), 12 * (150 - HISTORY - 1));
    let out = dir.join("models");
    let o = Command::new(exe)
        .args(["train", "--model", "workload", "--stream", "--epochs", "2"])
        .args(["--threads", "2", "--allow-worse", "--data"])
        .arg(format!("parquet:{}", file.display()))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.join("workload").join("v1.blob").is_file());
    // --stream is for one parquet: source and the workload model
    let o = Command::new(exe)
        .args(["train", "--model", "threat", "--stream", "--data"])
        .arg(format!("parquet:{}", file.display()))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--stream trains --model workload"), "{err}");
    // the loaded path reads the same file: one group per machine
    let ds: Dataset = l.data;
    assert!(ds.group.contains(&11) && !ds.group.contains(&12));
}
