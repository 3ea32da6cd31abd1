//! `trainer models` end to end: list, show, diff, promote and rollback on a registry trained
//! by the real command, signed and unsigned.

mod common;
use common::{ok, refused};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use inference_core::{Model, ModelKind, Policy};

fn temp_dir(name: &str) -> PathBuf {
    common::temp_dir("models", name)
}

fn trainer(args: &[&str], root: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trainer"))
        .args(args)
        .arg(if args[0] == "models" {
            "--registry"
        } else {
            "--out"
        })
        .arg(root)
        .env_remove("AIOS_SIGNING_KEY")
        .output()
        .unwrap()
}

/// Trains one small workload version with `seed` into `root`.
fn train(root: &Path, seed: &str, extra: &[&str]) {
    let mut args = vec![
        "train",
        "--model",
        "workload",
        "--epochs",
        "2",
        "--samples",
        "1500",
        "--allow-worse",
        "--seed",
        seed,
    ];
    args.extend(extra);
    ok(&trainer(&args, root));
}

fn blob(root: &Path, v: u32) -> Vec<u8> {
    std::fs::read(root.join(format!("workload/v{v}.blob"))).unwrap()
}

fn current(root: &Path) -> u32 {
    let name = std::fs::read_to_string(root.join("workload/current")).unwrap();
    name.trim()
        .trim_start_matches('v')
        .trim_end_matches(".blob")
        .parse()
        .unwrap()
}

/// The weights, biases and requantization of every layer: what a republished version keeps.
fn weights(bytes: &[u8]) -> Vec<(Vec<i8>, Vec<Option<i32>>)> {
    let v1 = inference_core::signature::split(bytes).blob;
    let m = Model::load(v1, Some(ModelKind::Workload), &Policy::OPEN).unwrap();
    m.layers()
        .iter()
        .map(|l| {
            let w = (0..l.outputs())
                .flat_map(|o| (0..l.inputs()).map(move |i| (o, i)))
                .map(|(o, i)| l.weight(o, i).unwrap())
                .collect();
            let b = (0..l.outputs()).map(|o| l.bias(o)).collect();
            (w, b)
        })
        .collect()
}

fn version_of(bytes: &[u8]) -> u32 {
    Model::from_blob(inference_core::signature::split(bytes).blob)
        .unwrap()
        .version()
}

#[test]
fn list_diff_rollback_and_promote() {
    let root = temp_dir("flow");
    for seed in ["1", "2", "3"] {
        train(&root, seed, &[]);
    }
    assert_eq!(current(&root), 3);
    let list = ok(&trainer(&["models", "list", "--model", "workload"], &root));
    assert!(list.contains("workload (3 versions)"), "{list}");
    assert!(list.contains("* v3"), "{list}");
    assert!(list.contains("synthetic:seed=1"), "{list}");
    let diff = ok(&trainer(
        &["models", "diff", "--model", "workload", "1", "v3"],
        &root,
    ));
    assert!(diff.contains("hyperparameters.seed"), "{diff}");
    assert!(diff.contains("data_source"), "{diff}");
    let show = ok(&trainer(
        &["models", "show", "--model", "workload", "2", "--json"],
        &root,
    ));
    let e: serde_json::Value = serde_json::from_str(&show).unwrap();
    assert_eq!(e["version"], 2);

    // rollback: the weights of v2 (current before v3) as a new version, v4
    let out = ok(&trainer(
        &["models", "rollback", "--model", "workload"],
        &root,
    ));
    assert!(out.contains("v3 -> v4"), "{out}");
    assert_eq!(current(&root), 4);
    assert_eq!(version_of(&blob(&root, 4)), 4);
    assert_eq!(weights(&blob(&root, 4)), weights(&blob(&root, 2)));
    assert_ne!(weights(&blob(&root, 4)), weights(&blob(&root, 3)));
    // the older files are untouched
    assert_eq!(version_of(&blob(&root, 2)), 2);

    // promoting an older version is a rollback to it: v1's weights as v5
    ok(&trainer(
        &["models", "promote", "--model", "workload", "1"],
        &root,
    ));
    assert_eq!(current(&root), 5);
    assert_eq!(weights(&blob(&root, 5)), weights(&blob(&root, 1)));
    // rollback goes to what was current before: v4 (v2's weights), as v6
    ok(&trainer(
        &["models", "rollback", "--model", "workload"],
        &root,
    ));
    assert_eq!(current(&root), 6);
    assert_eq!(weights(&blob(&root, 6)), weights(&blob(&root, 2)));
    let list = ok(&trainer(&["models", "list", "--model", "workload"], &root));
    assert!(list.contains("(weights of v4)"), "{list}");

    // every change of current is an event, in order
    let m: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("workload/manifest.json")).unwrap(),
    )
    .unwrap();
    let to: Vec<u64> = m["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["to"].as_u64().unwrap())
        .collect();
    assert_eq!(to, [1, 2, 3, 4, 5, 6]);

    // refusals name what is wrong
    let err = refused(&trainer(
        &["models", "show", "--model", "workload", "9"],
        &root,
    ));
    assert!(err.contains("no version v9"), "{err}");
    let err = refused(&trainer(
        &["models", "rollback", "--model", "workload", "--to", "6"],
        &root,
    ));
    assert!(err.contains("already current"), "{err}");
    let err = refused(&trainer(&["models", "list"], &root.join("missing")));
    assert!(err.contains("no registry"), "{err}");
}

#[test]
fn a_signed_version_is_signed_again_when_republished() {
    let root = temp_dir("signed");
    let keys = root.join("keys");
    ok(&Command::new(env!("CARGO_BIN_EXE_trainer"))
        .args(["keygen", "--out"])
        .arg(&keys)
        .output()
        .unwrap());
    let key = keys.join("aios-signing.key");
    let reg = root.join("reg");
    let key_arg = key.to_str().unwrap();
    train(&reg, "1", &["--sign-key", key_arg]);
    train(&reg, "2", &["--sign-key", key_arg]);
    // without the key the republished copy could not be signed: refused, nothing published
    let err = refused(&trainer(
        &["models", "rollback", "--model", "workload"],
        &reg,
    ));
    assert!(err.contains("--sign-key"), "{err}");
    assert_eq!(current(&reg), 2);
    assert!(!reg.join("workload/v3.blob").exists());
    ok(&trainer(
        &[
            "models",
            "rollback",
            "--model",
            "workload",
            "--sign-key",
            key_arg,
        ],
        &reg,
    ));
    let v3 = blob(&reg, 3);
    let public = keys.join("aios-signing.pub");
    let verified = Command::new(env!("CARGO_BIN_EXE_trainer"))
        .arg("verify")
        .arg(reg.join("workload/v3.blob"))
        .arg("--pub")
        .arg(&public)
        .output()
        .unwrap();
    assert!(ok(&verified).contains("version 3"));
    assert_eq!(weights(&v3), weights(&blob(&reg, 1)));
}
