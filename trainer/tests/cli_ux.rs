//! What a new user meets first: `train` refusing bad `--out` and `--data` without leaving
//! folders behind.

use std::path::{Path, PathBuf};
use std::process::Command;

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("aios-ux-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn a_failed_train_leaves_no_new_registry_folder() {
    let dir = temp_dir("noreg");
    let out = dir.join("models");
    let o = Command::new(env!("CARGO_BIN_EXE_trainer"))
        .args([
            "train",
            "--model",
            "workload",
            "--data",
            "nab:/nonexistent",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("/nonexistent"), "{err}");
    assert!(!out.exists(), "train left {} behind", out.display());
}

#[test]
fn out_pointing_at_a_file_says_so() {
    let dir = temp_dir("outfile");
    let out = dir.join("models.txt");
    std::fs::write(&out, "not a registry").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_trainer"))
        .args(["train", "--model", "workload", "--epochs", "1", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    let expected = format!("--out {} is a file, not a registry folder", out.display());
    assert!(err.contains(&expected), "{err}");
    assert!(!err.contains("os error"), "{err}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "not a registry");
}

fn train(args: &[&str], out: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_trainer"))
        .arg("train")
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn too_few_samples_are_refused_before_training() {
    let dir = temp_dir("samples1");
    let out = dir.join("models");
    let o = train(&["--model", "workload", "--samples", "1"], &out);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("workload: needs at least 30 samples, got 1"),
        "{err}"
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(!stdout.contains("Training"), "{stdout}");
    assert!(!out.exists(), "train left {} behind", out.display());
}

#[test]
fn val_split_0_is_refused() {
    let dir = temp_dir("valsplit0");
    let out = dir.join("models");
    let o = train(&["--model", "failure", "--val-split", "0"], &out);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--val-split: must be in (0, 0.9), got 0"),
        "{err}"
    );
    assert!(!out.exists(), "train left {} behind", out.display());
}

/// Benign processes only: the threat detector's validation detection rate is undefined.
fn benign_threat_jsonl(dir: &std::path::Path) -> PathBuf {
    let mut text = String::new();
    for p in 0..12 {
        for w in 0..8 {
            text.push_str(&format!(
                "{{\"model\":\"threat\",\"t_ms\":{},\"process\":\"p{p}\",\"syscalls\":{},\"network_connections\":0,\"file_accesses\":{},\"privilege_attempts\":0,\"failed_syscalls\":1,\"memory_allocs\":2,\"alloc_kib\":8,\"spawns\":0}}\n",
                1000 * (w + 1),
                100 + 7 * p + w,
                3 + w % 4
            ));
        }
    }
    let f = dir.join("benign.jsonl");
    std::fs::write(&f, text).unwrap();
    f
}

/// A refused train run: exit 1, the final line says "(not published)", no registry is left
/// behind. Returns stderr.
/// A two-epoch training run of `model` on `data`.
fn quick_args<'a>(model: &'a str, data: &'a str) -> [&'a str; 6] {
    ["--model", model, "--epochs", "2", "--data", data]
}

fn assert_not_published(o: &std::process::Output, out: &Path) -> String {
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(!o.status.success(), "{stdout}");
    assert!(stdout.contains("-> (not published)"), "{stdout}");
    assert!(!out.exists(), "train left {} behind", out.display());
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_model_with_undefined_validation_figures_is_not_published() {
    let dir = temp_dir("undefined");
    let data = format!("jsonl:{}", benign_threat_jsonl(&dir).display());
    let out = dir.join("models");
    let args = quick_args("threat", &data);
    let err = assert_not_published(&train(&args, &out), &out);
    assert!(
        err.contains("validation detection_rate is undefined"),
        "{err}"
    );
    assert!(err.contains("--allow-worse"), "{err}");
    // with --allow-worse it is published, with a warning
    let mut args = args.to_vec();
    args.push("--allow-worse");
    let o = train(&args, &out);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        stdout.contains("published anyway (--allow-worse)"),
        "{stdout}"
    );
    assert!(out.join("threat/v1.blob").is_file());
}

/// Random walks: nothing predicts the next step better than the current value, so a model
/// that does worse than persistence must not be published without `--allow-worse`.
#[test]
fn a_model_worse_than_a_naive_baseline_is_not_published() {
    let dir = temp_dir("worse");
    let mut text = String::new();
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    for s in 0..8 {
        let (mut cpu, mut mem) = (50.0f64, 40.0f64);
        for k in 0..150 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            cpu = (cpu + (x % 401) as f64 / 100.0 - 2.0).clamp(0.0, 100.0);
            mem = (mem + ((x >> 20) % 401) as f64 / 100.0 - 2.0).clamp(0.0, 100.0);
            text.push_str(&format!(
                "{{\"model\":\"workload\",\"t\":{},\"series\":\"s{s}\",\"cpu\":{cpu:.2},\"mem\":{mem:.2},\"gpu\":null}}\n",
                1_700_000_000 + 300 * k
            ));
        }
    }
    let f = dir.join("walks.jsonl");
    std::fs::write(&f, text).unwrap();
    let data = format!("jsonl:{}", f.display());
    let out = dir.join("models");
    // Not distilled, from trees or a seed ensemble: the trees' medians of a random walk are
    // close to "no change", and so is the mean of several networks; a network taught either is
    // persistence give or take. Two epochs on the raw steps are not.
    let mut args = quick_args("workload", &data).to_vec();
    args.extend(["--distill", "off", "--ensemble", "1"]);
    let err = assert_not_published(&train(&args, &out), &out);
    assert!(
        err.contains("worse than the naive baseline persistence"),
        "{err}"
    );
}
