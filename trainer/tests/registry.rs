//! The registry never loses the current model: writers killed at every step, and for real with
//! SIGKILL during `trainer train`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use inference_core::{Model, ModelKind};
use serde_json::json;
use trainer::registry::{current_path, Registry};

const KIND: ModelKind = ModelKind::Workload;

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("aios-reg-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A valid blob of `KIND` carrying `version`.
fn blob(version: u32) -> Vec<u8> {
    let mut b = inference_core::defaults::blob(KIND).to_vec();
    // The built-in blob is version 1; patch the varint-encoded version (byte 7, single byte for
    // versions < 128) and fix the CRC.
    assert_eq!(b[7], 1);
    b[7] = version as u8;
    let n = b.len() - 4;
    let crc = inference_core::crc::crc32(&b[..n]);
    b[n..].copy_from_slice(&crc.to_le_bytes());
    assert_eq!(Model::from_blob(&b).unwrap().version(), version);
    b
}

fn current_version(root: &Path) -> u32 {
    let path = current_path(root, KIND).expect("a current pointer");
    let bytes = std::fs::read(&path).expect("current blob readable");
    let v = Model::load(&bytes, Some(KIND), &inference_core::Policy::OPEN)
        .expect("current blob valid")
        .version();
    v
}

/// Not a test on its own: the child process of `killed_writer_keeps_previous_model`.
#[test]
fn child_publisher() {
    let (Ok(stage), Ok(root)) = (
        std::env::var("AIOS_CHILD_STAGE"),
        std::env::var("AIOS_CHILD_ROOT"),
    ) else {
        return;
    };
    let reg = Registry::open(Path::new(&root)).unwrap();
    let v = reg.next_version(KIND);
    let _ = reg.publish(KIND, v, &blob(v), json!({}), &mut |s| {
        if s == stage {
            std::process::abort();
        }
    });
}

#[test]
fn killed_writer_keeps_previous_model() {
    let root = temp_dir("abort");
    {
        let reg = Registry::open(&root).unwrap();
        reg.publish(KIND, 1, &blob(1), json!({}), &mut |_| {})
            .unwrap();
    }
    let exe = std::env::current_exe().unwrap();
    let mut expected = 1;
    for stage in [
        "before-blob",
        "after-blob",
        "after-manifest",
        "after-current",
    ] {
        let status = Command::new(&exe)
            .args([
                "child_publisher",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("AIOS_CHILD_STAGE", stage)
            .env("AIOS_CHILD_ROOT", &root)
            .status()
            .unwrap();
        assert!(!status.success(), "{stage}: the child should have died");
        if stage == "after-current" {
            expected = current_version(&root).max(expected);
            assert!(expected > 1);
        }
        assert_eq!(current_version(&root), expected, "after dying at {stage}");
        // the manifest is always valid JSON and the lock of the dead child is taken over
        let reg = Registry::open(&root).expect("stale lock taken over");
        let m = reg.manifest(KIND).unwrap();
        assert_eq!(m["model"], "workload");
        // a version that exists on disk is never reused
        let next = reg.next_version(KIND);
        assert!(reg.versions(KIND).iter().all(|&v| v < next));
    }
    // no temporary files are left behind as blobs
    let leftovers: Vec<_> = std::fs::read_dir(root.join("workload"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".blob"))
        .filter(|e| {
            std::fs::read(e.path())
                .map(|b| Model::from_blob(&b).is_err())
                .unwrap_or(true)
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn versions_are_never_overwritten_and_writers_are_exclusive() {
    let root = temp_dir("exclusive");
    let reg = Registry::open(&root).unwrap();
    reg.publish(KIND, 1, &blob(1), json!({}), &mut |_| {})
        .unwrap();
    let e = reg
        .publish(KIND, 1, &blob(1), json!({}), &mut |_| {})
        .unwrap_err();
    assert!(e.to_string().contains("never overwritten"), "{e}");
    assert_eq!(reg.next_version(KIND), 2);
    let second = Registry::open(&root).unwrap_err();
    assert!(second.to_string().contains("locked"), "{second}");
    drop(reg);
    Registry::open(&root).expect("lock released on drop");
}

/// SIGKILL the real CLI at several moments of a training run: `current` stays valid.
#[test]
fn sigkilled_train_run_keeps_current_valid() {
    let root = temp_dir("sigkill");
    let exe = env!("CARGO_BIN_EXE_trainer");
    let train = |root: &Path| {
        Command::new(exe)
            .args([
                "train",
                "--model",
                "workload",
                "--epochs",
                "2",
                "--samples",
                "3000",
                // two epochs do not beat persistence; this test is about kills, not quality
                "--allow-worse",
            ])
            .arg("--out")
            .arg(root)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    assert!(train(&root).wait().unwrap().success());
    assert_eq!(current_version(&root), 1);
    for delay_ms in [5u64, 40, 120, 300, 700] {
        let mut child = train(&root);
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        let v = current_version(&root);
        assert!(v >= 1, "after a kill at {delay_ms} ms");
    }
}

#[test]
fn a_held_lock_says_who_since_when_and_how_to_clear_it() {
    use trainer::registry::{host_name, LockHolder};
    let root = temp_dir("held");
    let mut child = Command::new("sleep").arg("30").spawn().unwrap();
    let start = std::fs::read_to_string(format!("/proc/{}/stat", child.id())).unwrap();
    let holder = LockHolder {
        pid: child.id(),
        host: host_name(),
        since_unix_s: 1_700_000_000,
        proc_start: start
            .rsplit(')')
            .next()
            .and_then(|r| r.split_whitespace().nth(19))
            .and_then(|v| v.parse().ok()),
    };
    std::fs::write(root.join(".lock"), holder.to_text()).unwrap();
    let e = Registry::open(&root).unwrap_err().to_string();
    let _ = child.kill();
    let _ = child.wait();
    assert!(e.contains(&format!("pid {} (sleep)", holder.pid)), "{e}");
    assert!(e.contains("since 2023-11-14 22:13:20 UTC"), "{e}");
    let hint = format!(
        "remove {} if no trainer is running",
        root.join(".lock").display()
    );
    assert!(e.contains(&hint), "{e}");
    // the sleep is gone: its lock is stale and taken over, recording this process
    let reg = Registry::open(&root).unwrap();
    let text = std::fs::read_to_string(root.join(".lock")).unwrap();
    let me = LockHolder::parse(&text).unwrap();
    assert_eq!((me.pid, me.host), (std::process::id(), host_name()));
    assert!(
        me.since_unix_s > 1_700_000_000 && me.proc_start.is_some(),
        "{text}"
    );
    drop(reg);
}

#[test]
fn a_reused_pid_does_not_hold_the_lock() {
    use trainer::registry::LockHolder;
    let root = temp_dir("reused");
    // this process's pid, but a start time it never had: the writer is dead, the pid reused
    let mut holder = LockHolder::me();
    holder.proc_start = holder.proc_start.map(|s| s + 1);
    std::fs::write(root.join(".lock"), holder.to_text()).unwrap();
    assert!(Registry::open(&root).is_ok());
}

#[test]
fn temp_files_of_killed_writers_are_removed_on_open() {
    let root = temp_dir("temps");
    std::fs::create_dir_all(root.join("workload")).unwrap();
    // pids above the kernel's limit (4194304) never run
    let dead = root.join("workload/.v2.blob.999999999.tmp");
    let dead_top = root.join(".x.999999998.tmp");
    let live = root.join(format!(
        "workload/.manifest.json.{}.tmp",
        std::process::id()
    ));
    let other = root.join("workload/notes.tmp");
    for p in [&dead, &dead_top, &live, &other] {
        std::fs::write(p, b"partial").unwrap();
    }
    let _reg = Registry::open(&root).unwrap();
    assert!(!dead.exists() && !dead_top.exists());
    assert!(live.exists() && other.exists());
}
