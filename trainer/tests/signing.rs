//! The signing commands end to end: keygen, train --sign-key, verify, sign, and refusals.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("aiml-signcli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn trainer(args: &[&str], extra: &[&Path]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_trainer"));
    c.args(args).env_remove("AIOS_SIGNING_KEY");
    for p in extra {
        c.arg(p);
    }
    c.output().unwrap()
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn refused(o: &Output) -> String {
    assert!(
        !o.status.success(),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn keygen_train_signed_verify_and_refusals() {
    use std::os::unix::fs::PermissionsExt;
    let d = temp_dir("flow");
    let keys = d.join("keys");
    let out = ok(&trainer(&["keygen", "--out"], &[&keys]));
    assert!(out.contains("public key"), "{out}");
    let key = keys.join("aios-signing.key");
    let public = keys.join("aios-signing.pub");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    // train signs through the environment variable
    let reg = d.join("models");
    let o = Command::new(env!("CARGO_BIN_EXE_trainer"))
        .args([
            "train",
            "--model",
            "threat",
            "--epochs",
            "1",
            "--samples",
            "2000",
        ])
        .arg("--out")
        .arg(&reg)
        .env("AIOS_SIGNING_KEY", &key)
        .output()
        .unwrap();
    ok(&o);
    let blob = reg.join("threat/v1.blob");
    let v = ok(&trainer(&["verify"], &[&blob, Path::new("--pub"), &public]));
    assert!(v.contains("signature OK"), "{v}");
    // inspect (no key) still reads a signed blob
    ok(&trainer(&["inspect"], &[&blob]));

    // tampered: one signature byte flipped
    let mut bytes = std::fs::read(&blob).unwrap();
    let n = bytes.len();
    bytes[n - 1] ^= 1;
    let bad = d.join("bad.blob");
    std::fs::write(&bad, &bytes).unwrap();
    let e = refused(&trainer(&["verify"], &[&bad, Path::new("--pub"), &public]));
    assert!(e.contains("signature does not verify"), "{e}");

    // unsigned default: refused by verify, then signed into a new file and accepted
    let plain = d.join("plain.blob");
    std::fs::write(
        &plain,
        inference_core::defaults::blob(inference_core::ModelKind::Failure),
    )
    .unwrap();
    let e = refused(&trainer(
        &["verify"],
        &[&plain, Path::new("--pub"), &public],
    ));
    assert!(e.contains("not signed"), "{e}");
    let signed = d.join("signed.blob");
    ok(&trainer(
        &["sign"],
        &[
            &plain,
            Path::new("--key"),
            &key,
            Path::new("--out"),
            &signed,
        ],
    ));
    ok(&trainer(
        &["verify"],
        &[&signed, Path::new("--pub"), &public],
    ));

    // a world-readable key is refused before any training starts
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = refused(&trainer(
        &["train", "--model", "threat", "--epochs", "1", "--sign-key"],
        &[&key, Path::new("--out"), &reg],
    ));
    assert!(e.contains("chmod 600"), "{e}");
    // keygen never overwrites
    let e = refused(&trainer(&["keygen", "--out"], &[&keys]));
    assert!(e.contains("refusing to overwrite"), "{e}");
    std::fs::remove_dir_all(&d).unwrap();
}

/// `sign` with a bare file name (no directory part), in place and with `--out`: the atomic
/// writer must not take the empty parent path for a directory (it did, and exited 1 after
/// signing).
#[test]
fn sign_a_bare_file_name() {
    let d = temp_dir("bare");
    ok(&trainer(&["keygen", "--out"], &[&d.join("keys")]));
    let blob = inference_core::defaults::blob(inference_core::ModelKind::Threat);
    std::fs::write(d.join("threat.blob"), blob).unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_trainer"))
            .args(args)
            .current_dir(&d)
            .env_remove("AIOS_SIGNING_KEY")
            .output()
            .unwrap()
    };
    let key = "keys/aios-signing.key";
    ok(&run(&["sign", "threat.blob", "--key", key]));
    ok(&run(&[
        "sign",
        "threat.blob",
        "--key",
        key,
        "--out",
        "copy.blob",
    ]));
    for f in ["threat.blob", "copy.blob"] {
        ok(&run(&["verify", f, "--pub", "keys/aios-signing.pub"]));
    }
}
