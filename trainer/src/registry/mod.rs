//! The model registry: `ROOT/<model>/v<N>.blob`, `ROOT/<model>/manifest.json` and
//! `ROOT/<model>/current`.
//!
//! Versions only grow and a version file is never overwritten. Every file is written to a
//! temporary name, fsynced, and renamed into place (then the directory is fsynced), in the order
//! blob → manifest → `current`, so a crash at any point leaves `current` naming a complete,
//! valid blob. A lock file (`ROOT/.lock`, holding the writer's pid, host and start time) keeps two
//! trainers from publishing at once; a lock left by a dead process is taken over, and the
//! temporary files of killed writers are removed by the next writer.

pub mod ops;
pub mod signing;

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use inference_core::ModelKind;
use serde_json::{json, Value};

pub use crate::error::RegistryError;

fn err(path: &Path, message: impl std::fmt::Display) -> RegistryError {
    RegistryError {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// The directory a file lives in: its parent, or `.` for a bare file name (whose parent is
/// the empty path, which cannot be opened).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Writes `bytes` to `path` atomically: temp file in the same directory, fsync, rename, fsync
/// of the directory. With `exclusive`, refuses to replace an existing file.
pub fn write_atomic(path: &Path, bytes: &[u8], exclusive: bool) -> Result<(), RegistryError> {
    let dir = parent_dir(path);
    if exclusive && path.exists() {
        return Err(err(path, "already exists; versions are never overwritten"));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| -> io::Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        if exclusive {
            // hard_link fails if the target exists: no window in which a version is replaced
            fs::hard_link(&tmp, path)?;
            fs::remove_file(&tmp)?;
        } else {
            fs::rename(&tmp, path)?;
        }
        File::open(dir)?.sync_all()
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        err(path, e)
    })
}

/// Who holds a registry lock: what `ROOT/.lock` records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHolder {
    /// Process id.
    pub pid: u32,
    /// Host name of the machine it runs on (empty when unknown: locks of older trainers).
    pub host: String,
    /// When it took the lock, Unix seconds (0 when unknown).
    pub since_unix_s: u64,
    /// Its start time in clock ticks since boot (`/proc/PID/stat` field 22), to tell it from
    /// an unrelated process that got the same pid later (`None`: unknown).
    pub proc_start: Option<u64>,
}

/// This machine's host name.
pub fn host_name() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// Start time of process `pid` in clock ticks since boot, if it is running.
fn proc_start(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

impl LockHolder {
    /// This process, now.
    pub fn me() -> LockHolder {
        let pid = std::process::id();
        LockHolder {
            pid,
            host: host_name(),
            since_unix_s: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            proc_start: proc_start(pid),
        }
    }

    /// Parses a lock file: `pid=…`, `host=…`, `since=…`, `proc_start=…` lines, or a bare pid
    /// (older trainers).
    pub fn parse(text: &str) -> Option<LockHolder> {
        if let Ok(pid) = text.trim().parse() {
            let (host, since_unix_s, proc_start) = (String::new(), 0, None);
            return Some(LockHolder {
                pid,
                host,
                since_unix_s,
                proc_start,
            });
        }
        let get = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(k)?.strip_prefix('='))
                .map(str::trim)
        };
        Some(LockHolder {
            pid: get("pid")?.parse().ok()?,
            host: get("host").unwrap_or_default().to_string(),
            since_unix_s: get("since").and_then(|v| v.parse().ok()).unwrap_or(0),
            proc_start: get("proc_start").and_then(|v| v.parse().ok()),
        })
    }

    /// The lock file's text.
    pub fn to_text(&self) -> String {
        let mut t = format!(
            "pid={}\nhost={}\nsince={}\n",
            self.pid, self.host, self.since_unix_s
        );
        if let Some(s) = self.proc_start {
            t.push_str(&format!("proc_start={s}\n"));
        }
        t
    }

    /// Whether the holder may still be running: always for another host (it cannot be
    /// checked from here), else its pid runs and, when recorded, started at the same time.
    pub fn may_be_alive(&self) -> bool {
        if !self.host.is_empty() && self.host != host_name() {
            return true;
        }
        match (proc_start(self.pid), self.proc_start) {
            (None, _) => false,
            (Some(now), Some(then)) => now == then,
            (Some(_), None) => true,
        }
    }

    /// `pid N on host H since T` (what is known of it).
    pub fn describe(&self) -> String {
        let mut d = format!("pid {}", self.pid);
        if let Ok(comm) = fs::read_to_string(format!("/proc/{}/comm", self.pid)) {
            if self.host.is_empty() || self.host == host_name() {
                d.push_str(&format!(" ({})", comm.trim()));
            }
        }
        if !self.host.is_empty() {
            d.push_str(&format!(" on host {}", self.host));
        }
        if self.since_unix_s > 0 {
            d.push_str(&format!(
                " since {}",
                crate::data::time::format_utc(self.since_unix_s)
            ));
        }
        d
    }
}

/// Removes the temporary files (`.<name>.<pid>.tmp`) that writers killed mid-write left in
/// `dir`, when their pid no longer runs.
fn remove_stale_temps(dir: &Path) {
    let me = std::process::id();
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let pid = name
            .strip_prefix('.')
            .and_then(|n| n.strip_suffix(".tmp"))
            .and_then(|n| n.rsplit_once('.'))
            .and_then(|(_, pid)| pid.parse::<u32>().ok());
        if let Some(pid) = pid {
            if pid != me && proc_start(pid).is_none() && e.path().is_file() {
                let _ = fs::remove_file(e.path());
            }
        }
    }
}

/// Exclusive access to a registry for the life of the value.
#[derive(Debug)]
pub struct Registry {
    root: PathBuf,
    lock: PathBuf,
    /// `open` created the root folder: it is removed again if nothing was published.
    created: bool,
}

impl Registry {
    /// Opens (creating) the registry at `root` and takes its lock; then removes the temporary
    /// files of writers that were killed.
    pub fn open(root: &Path) -> Result<Registry, RegistryError> {
        if root.exists() && !root.is_dir() {
            return Err(err(root, "is a file, not a registry folder"));
        }
        let created = !root.exists();
        fs::create_dir_all(root).map_err(|e| err(root, e))?;
        let lock = root.join(".lock");
        for _ in 0..2 {
            match OpenOptions::new().write(true).create_new(true).open(&lock) {
                Ok(mut f) => {
                    let _ = f.write_all(LockHolder::me().to_text().as_bytes());
                    let reg = Registry {
                        root: root.to_path_buf(),
                        lock,
                        created,
                    };
                    reg.clean();
                    return Ok(reg);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    let text = fs::read_to_string(&lock).unwrap_or_default();
                    if let Some(h) = LockHolder::parse(&text).filter(LockHolder::may_be_alive) {
                        return Err(err(
                            &lock,
                            format!(
                                "registry is locked by {}; wait for it to finish, or remove {} if no trainer is running",
                                h.describe(),
                                lock.display()
                            ),
                        ));
                    }
                    // stale lock from a dead writer: take it over
                    let _ = fs::remove_file(&lock);
                }
                Err(e) => return Err(err(&lock, e)),
            }
        }
        Err(err(&lock, "could not take the registry lock"))
    }

    /// Removes the temporary files of killed writers in the root and each model folder.
    fn clean(&self) {
        remove_stale_temps(&self.root);
        for kind in ModelKind::ALL {
            remove_stale_temps(&self.dir(kind));
        }
    }

    /// Root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn dir(&self, kind: ModelKind) -> PathBuf {
        self.root.join(kind.name())
    }

    /// Versions present for `kind` (from the blob files, whatever the manifest says).
    pub fn versions(&self, kind: ModelKind) -> Vec<u32> {
        let mut v: Vec<u32> = fs::read_dir(self.dir(kind))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_prefix('v')?.strip_suffix(".blob")?.parse().ok()
            })
            .collect();
        v.sort_unstable();
        v
    }

    /// The version the next publish of `kind` will get.
    pub fn next_version(&self, kind: ModelKind) -> u32 {
        let from_manifest = self
            .manifest(kind)
            .ok()
            .and_then(|m| m["versions"].as_array().cloned())
            .into_iter()
            .flatten()
            .filter_map(|e| e["version"].as_u64())
            .max()
            .unwrap_or(0) as u32;
        self.versions(kind)
            .last()
            .copied()
            .unwrap_or(0)
            .max(from_manifest)
            + 1
    }

    /// The manifest of `kind` (an empty one if none exists yet).
    pub fn manifest(&self, kind: ModelKind) -> Result<Value, RegistryError> {
        let path = self.dir(kind).join("manifest.json");
        match fs::read_to_string(&path) {
            Ok(s) => serde_json::from_str(&s).map_err(|e| err(&path, format!("invalid JSON: {e}"))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Ok(json!({"model": kind.name(), "current": null, "versions": []}))
            }
            Err(e) => Err(err(&path, e)),
        }
    }

    /// Path of the current blob of `kind`, if any.
    pub fn current(&self, kind: ModelKind) -> Option<PathBuf> {
        current_path(&self.root, kind)
    }

    /// Where `version` of `kind` is (or will be) published.
    pub fn blob_path(&self, kind: ModelKind, version: u32) -> PathBuf {
        self.dir(kind).join(format!("v{version}.blob"))
    }

    /// Publishes `blob` as `version` of `kind` with its manifest `entry`, then points
    /// `current` at it. `hook` runs between the steps (tests use it to die mid-publish).
    ///
    /// The entry describes the exact bytes published, whatever the caller put there:
    /// `blob_sha256` and `blob_bytes` of `blob`, and `signed` (whether it carries a signature
    /// trailer). `signing_public_key` is kept only for a signed blob.
    pub fn publish(
        &self,
        kind: ModelKind,
        version: u32,
        blob: &[u8],
        entry: Value,
        hook: &mut dyn FnMut(&str),
    ) -> Result<PathBuf, RegistryError> {
        self.publish_event(
            kind,
            version,
            blob,
            entry,
            json!({"action": "publish"}),
            hook,
        )
    }

    /// [`publish`](Self::publish), recording `event` (with `from`, `to` and `unix_s` filled
    /// in) in the manifest's `events`.
    pub fn publish_event(
        &self,
        kind: ModelKind,
        version: u32,
        blob: &[u8],
        mut entry: Value,
        mut event: Value,
        hook: &mut dyn FnMut(&str),
    ) -> Result<PathBuf, RegistryError> {
        if event.get("from").is_none() {
            event["from"] = json!(self.current_version(kind));
        }
        event["to"] = json!(version);
        event["unix_s"] = json!(ops::now());
        let dir = self.dir(kind);
        fs::create_dir_all(&dir).map_err(|e| err(&dir, e))?;
        let path = self.blob_path(kind, version);
        hook("before-blob");
        write_atomic(&path, blob, true)?;
        hook("after-blob");
        let mut manifest = self.manifest(kind)?;
        describe_published(&mut entry, blob);
        entry["version"] = json!(version);
        entry["file"] = json!(format!("v{version}.blob"));
        if let Some(list) = manifest["versions"].as_array_mut() {
            list.push(entry);
        } else {
            manifest["versions"] = json!([entry]);
        }
        manifest["model"] = json!(kind.name());
        manifest["current"] = json!(version);
        ops::push_event(&mut manifest, event);
        let text = serde_json::to_string_pretty(&manifest).map_err(|e| err(&dir, e))?;
        write_atomic(&dir.join("manifest.json"), text.as_bytes(), false)?;
        hook("after-manifest");
        write_atomic(
            &dir.join("current"),
            format!("v{version}.blob\n").as_bytes(),
            false,
        )?;
        hook("after-current");
        Ok(path)
    }
}

/// Sets the fields of a manifest `entry` that describe the published bytes: `blob_sha256`,
/// `blob_bytes` and `signed`; drops `signing_public_key` when `blob` is not signed.
pub fn describe_published(entry: &mut Value, blob: &[u8]) {
    use sha2::{Digest, Sha256};
    let signed = inference_core::signature::split(blob).signature.is_some();
    entry["blob_sha256"] = json!(crate::data::dataset::hex(&Sha256::digest(blob)));
    entry["blob_bytes"] = json!(blob.len());
    entry["signed"] = json!(signed);
    if !signed {
        if let Some(o) = entry.as_object_mut() {
            o.remove("signing_public_key");
        }
    }
}

/// If `path` is a version file of a registry (`ROOT/<model>/v<N>.blob` whose folder holds the
/// model's `manifest.json` or `current` pointer), its version number.
pub fn published_version(path: &Path) -> Option<u32> {
    let name = path.file_name()?.to_str()?;
    let n: u32 = name
        .strip_prefix('v')?
        .strip_suffix(".blob")?
        .parse()
        .ok()?;
    let dir = parent_dir(path);
    (dir.join("manifest.json").is_file() || dir.join("current").is_file()).then_some(n)
}

/// Path of the current blob of `kind` under `root`, read from the `current` pointer.
pub fn current_path(root: &Path, kind: ModelKind) -> Option<PathBuf> {
    let dir = root.join(kind.name());
    let name = fs::read_to_string(dir.join("current")).ok()?;
    let name = name.trim();
    if name.is_empty() || name.contains('/') {
        return None;
    }
    Some(dir.join(name))
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.lock);
        if self.created {
            // only removes an empty folder: a failed first run leaves nothing behind
            let _ = fs::remove_dir(&self.root);
        }
    }
}
