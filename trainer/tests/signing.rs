//! The signing commands end to end: keygen, train --sign-key, verify, sign, and refusals.

mod common;
use common::{ok, refused};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn temp_dir(name: &str) -> PathBuf {
    common::temp_dir("signcli", name)
}

fn trainer(args: &[&str], extra: &[&Path]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_trainer"));
    c.args(args).env_remove("AIOS_SIGNING_KEY");
    for p in extra {
        c.arg(p);
    }
    c.output().unwrap()
}

/// `trainer sign FILE --key KEY [--out OUT]`.
fn sign(file: &Path, key: &Path, out: Option<&Path>) -> Output {
    let mut extra = vec![file, Path::new("--key"), key];
    if let Some(o) = out {
        extra.extend([Path::new("--out"), o]);
    }
    trainer(&["sign"], &extra)
}

/// `trainer verify FILE --pub PUBLIC`.
fn verify(file: &Path, public: &Path) -> Output {
    trainer(&["verify"], &[file, Path::new("--pub"), public])
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
    let v = ok(&verify(&blob, &public));
    assert!(v.contains("signature OK"), "{v}");
    // inspect (no key) still reads a signed blob
    ok(&trainer(&["inspect"], &[&blob]));

    // tampered: one signature byte flipped
    let mut bytes = std::fs::read(&blob).unwrap();
    let n = bytes.len();
    bytes[n - 1] ^= 1;
    let bad = d.join("bad.blob");
    std::fs::write(&bad, &bytes).unwrap();
    let e = refused(&verify(&bad, &public));
    assert!(e.contains("signature does not verify"), "{e}");

    // unsigned default: refused by verify, then signed into a new file and accepted
    let plain = d.join("plain.blob");
    std::fs::write(
        &plain,
        inference_core::defaults::blob(inference_core::ModelKind::Failure),
    )
    .unwrap();
    let e = refused(&verify(&plain, &public));
    assert!(e.contains("not signed"), "{e}");
    let signed = d.join("signed.blob");
    ok(&sign(&plain, &key, Some(&signed)));
    ok(&verify(&signed, &public));

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

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn last_entry(manifest: &Path) -> serde_json::Value {
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(manifest).unwrap()).unwrap();
    m["versions"].as_array().unwrap().last().unwrap().clone()
}

/// `train --sign-key` records the bytes it published (the signed file), that they are signed
/// and by which key; the final line gives the file's size. `sign` refuses to rewrite a
/// published version in place and points at `--out`, which works.
#[test]
fn signed_train_manifest_describes_the_file_and_sign_keeps_versions() {
    let d = temp_dir("manifest");
    let keys = d.join("keys");
    ok(&trainer(&["keygen", "--out"], &[&keys]));
    let key = keys.join("aios-signing.key");
    let public = keys.join("aios-signing.pub");
    let pub_hex = std::fs::read_to_string(&public)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_string();
    let reg = d.join("models");
    let train = &[
        "train",
        "--model",
        "memory",
        "--epochs",
        "1",
        "--samples",
        "2000",
        // one epoch does not beat PC-stride; this test is about signing, not quality
        "--allow-worse",
    ];
    let out = ok(&trainer(
        train,
        &[Path::new("--sign-key"), &key, Path::new("--out"), &reg],
    ));
    let v1 = reg.join("memory/v1.blob");
    let bytes = std::fs::read(&v1).unwrap();
    let e = last_entry(&reg.join("memory/manifest.json"));
    assert_eq!(e["blob_sha256"], sha256_hex(&bytes), "{e}");
    assert_eq!(e["blob_bytes"], bytes.len(), "{e}");
    assert_eq!(e["signed"], true, "{e}");
    assert_eq!(e["signing_public_key"], pub_hex.as_str(), "{e}");
    assert!(
        out.contains(&format!("blob {} bytes, signed ->", bytes.len())),
        "{out}"
    );

    // unsigned: the same fields, signed false, no key
    let out = ok(&trainer(train, &[Path::new("--out"), &reg]));
    let v2 = reg.join("memory/v2.blob");
    let bytes2 = std::fs::read(&v2).unwrap();
    let e = last_entry(&reg.join("memory/manifest.json"));
    assert_eq!(e["blob_sha256"], sha256_hex(&bytes2), "{e}");
    assert_eq!(e["blob_bytes"], bytes2.len(), "{e}");
    assert_eq!(e["signed"], false, "{e}");
    assert!(e.get("signing_public_key").is_none(), "{e}");
    assert!(
        out.contains(&format!("blob {} bytes ->", bytes2.len())),
        "{out}"
    );

    // signing a published version in place is refused and changes nothing
    let err = refused(&sign(&v2, &key, None));
    assert!(err.contains("published version v2"), "{err}");
    assert!(err.contains("--out"), "{err}");
    assert!(err.contains("--sign-key"), "{err}");
    assert_eq!(std::fs::read(&v2).unwrap(), bytes2);
    // nor may --out overwrite a published version
    let err = refused(&sign(&v2, &key, Some(&v1)));
    assert!(err.contains("published version v1"), "{err}");
    assert_eq!(std::fs::read(&v1).unwrap(), bytes);
    // a signed copy outside the registry works
    let copy = d.join("signed-memory.blob");
    ok(&sign(&v2, &key, Some(&copy)));
    ok(&verify(&copy, &public));
    std::fs::remove_dir_all(&d).unwrap();
}

/// Key files name their kind; passing one for the other is refused by name; files of older
/// trainers (the hex line alone) still load.
#[test]
fn key_files_name_their_kind_and_legacy_keys_load() {
    use std::os::unix::fs::PermissionsExt;
    let d = temp_dir("kinds");
    let keys = d.join("keys");
    ok(&trainer(&["keygen", "--out"], &[&keys]));
    let key = keys.join("aios-signing.key");
    let public = keys.join("aios-signing.pub");
    let key_text = std::fs::read_to_string(&key).unwrap();
    let pub_text = std::fs::read_to_string(&public).unwrap();
    assert_eq!(key_text.lines().next(), Some("aios-ml ed25519 private key"));
    assert_eq!(pub_text.lines().next(), Some("aios-ml ed25519 public key"));
    assert_eq!(key_text.lines().count(), 2);
    assert_eq!(pub_text.lines().count(), 2);

    let plain = d.join("plain.blob");
    std::fs::write(
        &plain,
        inference_core::defaults::blob(inference_core::ModelKind::Workload),
    )
    .unwrap();
    let signed = d.join("signed.blob");
    // the public key given as --key (and as --sign-key): refused by kind, not by mode
    let e = refused(&sign(&plain, &public, Some(&signed)));
    assert!(e.contains("is a public key"), "{e}");
    assert!(e.contains("aios-signing.key"), "{e}");
    assert!(!e.contains("chmod"), "{e}");
    let e = refused(&trainer(
        &["train", "--model", "memory", "--epochs", "1", "--sign-key"],
        &[&public, Path::new("--out"), &d.join("models")],
    ));
    assert!(e.contains("is a public key"), "{e}");
    assert!(!signed.exists() && !d.join("models").exists());

    // the private key given as --pub
    ok(&sign(&plain, &key, Some(&signed)));
    let e = refused(&verify(&signed, &key));
    assert!(e.contains("is a private key"), "{e}");
    assert!(e.contains("aios-signing.pub"), "{e}");

    // an unknown header is named
    let odd = d.join("odd.pub");
    std::fs::write(
        &odd,
        format!("some other key\n{}", &pub_text.lines().nth(1).unwrap()),
    )
    .unwrap();
    let e = refused(&verify(&signed, &odd));
    assert!(e.contains("unknown key file header"), "{e}");

    // legacy files: the hex line alone
    let old_key = d.join("old.key");
    let old_pub = d.join("old.pub");
    std::fs::write(&old_key, format!("{}\n", key_text.lines().nth(1).unwrap())).unwrap();
    std::fs::set_permissions(&old_key, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(&old_pub, format!("{}\n", pub_text.lines().nth(1).unwrap())).unwrap();
    let legacy = d.join("legacy.blob");
    ok(&sign(&plain, &old_key, Some(&legacy)));
    assert_eq!(
        std::fs::read(&legacy).unwrap(),
        std::fs::read(&signed).unwrap()
    );
    ok(&verify(&legacy, &old_pub));
    ok(&verify(&signed, &public));
    std::fs::remove_dir_all(&d).unwrap();
}
