//! What a new user meets first: `train` refusing bad `--out` and `--data` without leaving
//! folders behind.

use std::path::PathBuf;
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
