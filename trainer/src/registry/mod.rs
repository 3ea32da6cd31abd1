//! The model registry: `ROOT/<model>/v<N>.blob`, `ROOT/<model>/manifest.json` and
//! `ROOT/<model>/current`.
//!
//! Versions only grow and a version file is never overwritten. Every file is written to a
//! temporary name, fsynced, and renamed into place (then the directory is fsynced), in the order
//! blob → manifest → `current`, so a crash at any point leaves `current` naming a complete,
//! valid blob. A lock file (`ROOT/.lock`, holding the writer's pid) keeps two trainers from
//! publishing at once; a lock left by a dead process is taken over.

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

/// Exclusive access to a registry for the life of the value.
#[derive(Debug)]
pub struct Registry {
    root: PathBuf,
    lock: PathBuf,
}

impl Registry {
    /// Opens (creating) the registry at `root` and takes its lock.
    pub fn open(root: &Path) -> Result<Registry, RegistryError> {
        fs::create_dir_all(root).map_err(|e| err(root, e))?;
        let lock = root.join(".lock");
        for _ in 0..2 {
            match OpenOptions::new().write(true).create_new(true).open(&lock) {
                Ok(mut f) => {
                    let _ = writeln!(f, "{}", std::process::id());
                    return Ok(Registry {
                        root: root.to_path_buf(),
                        lock,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    let holder = fs::read_to_string(&lock).unwrap_or_default();
                    let pid: Option<u32> = holder.trim().parse().ok();
                    let alive = pid.is_some_and(|p| Path::new(&format!("/proc/{p}")).exists());
                    if alive {
                        return Err(err(
                            &lock,
                            format!(
                                "registry is locked by running process {}; wait for it to finish",
                                pid.unwrap_or(0)
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

    /// Publishes `blob` as `version` of `kind` with its manifest `entry`, then points
    /// `current` at it. `hook` runs between the steps (tests use it to die mid-publish).
    pub fn publish(
        &self,
        kind: ModelKind,
        version: u32,
        blob: &[u8],
        mut entry: Value,
        hook: &mut dyn FnMut(&str),
    ) -> Result<PathBuf, RegistryError> {
        let dir = self.dir(kind);
        fs::create_dir_all(&dir).map_err(|e| err(&dir, e))?;
        let path = dir.join(format!("v{version}.blob"));
        hook("before-blob");
        write_atomic(&path, blob, true)?;
        hook("after-blob");
        let mut manifest = self.manifest(kind)?;
        entry["version"] = json!(version);
        entry["file"] = json!(format!("v{version}.blob"));
        if let Some(list) = manifest["versions"].as_array_mut() {
            list.push(entry);
        } else {
            manifest["versions"] = json!([entry]);
        }
        manifest["model"] = json!(kind.name());
        manifest["current"] = json!(version);
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
    }
}
