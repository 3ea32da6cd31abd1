//! JSONL outputs for `collect`: one file appended to, or a folder of rotated files for a
//! collector that runs as a service (`collect --rotate-age 1h --keep 48 --out DIR`).
//!
//! Rotation keeps the newest data readable and the disk bounded: records go to
//! `DIR/<model>.jsonl.part` (a name the `jsonl:DIR` reader skips, so a retrain never reads a
//! file being written); when it is older than `max_age` or larger than `max_bytes` it is
//! synced and renamed to `DIR/<model>-<opened, Unix s>-<n>.jsonl` (names sort by age), and
//! the oldest rotated files beyond `keep` are deleted. A collector that was killed leaves its
//! `.part` file; the next one closes it the same way before writing, so no record is lost.

use std::fs::{self, File};
use std::io::{LineWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, UNIX_EPOCH};

use inference_core::ModelKind;

use super::time::unix_now;
use crate::error::{Error, Result};

/// Where collected lines go.
pub trait LineSink {
    /// Appends one record (without its newline).
    fn write_line(&mut self, line: &str) -> Result<()>;
    /// Makes what was written durable (and, for a rotating sink, rotates when due).
    fn flush(&mut self) -> Result<()>;
    /// Ends the output: synced, and a rotating sink's open file closed into a rotated one.
    fn finish(&mut self) -> Result<()>;
}

/// One file, appended to.
pub struct AppendFile {
    w: LineWriter<File>,
    path: PathBuf,
}

impl AppendFile {
    /// Opens `path` for appending (created if missing).
    pub fn open(path: &Path) -> Result<AppendFile> {
        let file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        Ok(AppendFile {
            w: LineWriter::new(file),
            path: path.to_path_buf(),
        })
    }
}

impl LineSink for AppendFile {
    fn write_line(&mut self, line: &str) -> Result<()> {
        writeln!(self.w, "{line}").map_err(|e| Error::io(&self.path, e))
    }
    fn flush(&mut self) -> Result<()> {
        self.w.flush().map_err(|e| Error::io(&self.path, e))
    }
    fn finish(&mut self) -> Result<()> {
        self.flush()?;
        self.w
            .get_ref()
            .sync_all()
            .map_err(|e| Error::io(&self.path, e))
    }
}

/// When a rotating output starts a new file, and how many it keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// Largest file, bytes.
    pub max_bytes: u64,
    /// Oldest open file.
    pub max_age: Duration,
    /// Rotated files kept (the oldest beyond are deleted).
    pub keep: usize,
}

/// A folder of rotated JSONL files (see the module docs).
pub struct Rotating {
    dir: PathBuf,
    kind: ModelKind,
    rotation: Rotation,
    w: Option<LineWriter<File>>,
    opened: Instant,
    opened_unix: u64,
    bytes: u64,
}

impl Rotating {
    /// Opens the output folder `dir` (created if missing) for `kind` records; a `.part` file
    /// left by a killed collector is closed into a rotated file first.
    pub fn open(dir: &Path, kind: ModelKind, rotation: Rotation) -> Result<Rotating> {
        if rotation.keep == 0 {
            return Err(Error::param("--keep", "rotation keeps at least one file"));
        }
        if rotation.max_bytes == 0 {
            return Err(Error::param("--rotate-size", "must be at least 1 (MiB)"));
        }
        if dir.is_file() {
            return Err(Error::Usage(format!(
                "--out {}: is a file; with rotation --out names a folder",
                dir.display()
            )));
        }
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let mut r = Rotating {
            dir: dir.to_path_buf(),
            kind,
            rotation,
            w: None,
            opened: Instant::now(),
            opened_unix: unix_now(),
            bytes: 0,
        };
        let part = r.part();
        if part.exists() {
            let modified = fs::metadata(&part)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(r.opened_unix, |d| d.as_secs());
            r.close_part(modified)?;
        }
        Ok(r)
    }

    fn part(&self) -> PathBuf {
        self.dir.join(format!("{}.jsonl.part", self.kind.name()))
    }

    /// The rotated files of this folder's model, oldest first.
    pub fn rotated(&self) -> Vec<PathBuf> {
        let prefix = format!("{}-", self.kind.name());
        let mut v: Vec<PathBuf> = fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .map(|n| n.to_string_lossy())
                    .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".jsonl"))
            })
            .collect();
        v.sort();
        v
    }

    /// Renames the `.part` file (opened at `opened_unix`) to its rotated name and prunes.
    fn close_part(&mut self, opened_unix: u64) -> Result<()> {
        let part = self.part();
        if let Some(w) = self.w.take() {
            w.get_ref().sync_all().map_err(|e| Error::io(&part, e))?;
        }
        if fs::metadata(&part).map(|m| m.len()).unwrap_or(0) == 0 {
            let _ = fs::remove_file(&part);
            return Ok(());
        }
        // after the newest rotated file of the same second (never a pruned, older name: the
        // names must sort by age)
        let stem = format!("{}-{opened_unix:010}-", self.kind.name());
        let n = self
            .rotated()
            .iter()
            .filter_map(|p| {
                let name = p.file_name()?.to_string_lossy().into_owned();
                name.strip_prefix(&stem)?
                    .strip_suffix(".jsonl")?
                    .parse::<u32>()
                    .ok()
            })
            .max()
            .map_or(0, |n| n + 1);
        let name = |n: u32| self.dir.join(format!("{stem}{n:06}.jsonl"));
        fs::rename(&part, name(n)).map_err(|e| Error::io(&part, e))?;
        if let Ok(d) = File::open(&self.dir) {
            let _ = d.sync_all();
        }
        let rotated = self.rotated();
        let excess = rotated.len().saturating_sub(self.rotation.keep);
        for old in &rotated[..excess] {
            fs::remove_file(old).map_err(|e| Error::io(old, e))?;
        }
        Ok(())
    }

    fn writer(&mut self) -> Result<&mut LineWriter<File>> {
        if self.w.is_none() {
            let part = self.part();
            let file = fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&part)
                .map_err(|e| Error::io(&part, e))?;
            self.w = Some(LineWriter::new(file));
            self.opened = Instant::now();
            self.opened_unix = unix_now();
            self.bytes = 0;
        }
        let part = self.part();
        self.w
            .as_mut()
            .ok_or_else(|| Error::io(&part, std::io::Error::other("not open")))
    }
}

impl LineSink for Rotating {
    fn write_line(&mut self, line: &str) -> Result<()> {
        let part = self.part();
        let w = self.writer()?;
        writeln!(w, "{line}").map_err(|e| Error::io(&part, e))?;
        self.bytes += line.len() as u64 + 1;
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        let part = self.part();
        if let Some(w) = self.w.as_mut() {
            w.flush().map_err(|e| Error::io(&part, e))?;
        }
        let due =
            self.bytes >= self.rotation.max_bytes || self.opened.elapsed() >= self.rotation.max_age;
        if self.w.is_some() && due {
            self.close_part(self.opened_unix)?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        let part = self.part();
        if let Some(w) = self.w.as_mut() {
            w.flush().map_err(|e| Error::io(&part, e))?;
        }
        if self.w.is_some() {
            self.close_part(self.opened_unix)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("aios-rotate-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn rotates_by_size_keeps_the_newest_and_loses_nothing() {
        let d = dir("size");
        let rot = Rotation {
            max_bytes: 100,
            max_age: Duration::from_secs(3600),
            keep: 3,
        };
        let mut r = Rotating::open(&d, ModelKind::Workload, rot).unwrap();
        for i in 0..40 {
            r.write_line(&format!("{{\"model\":\"workload\",\"i\":{i:02}}}"))
                .unwrap();
            r.flush().unwrap();
        }
        r.finish().unwrap();
        let files = r.rotated();
        assert_eq!(files.len(), 3);
        assert!(!r.part().exists());
        // the newest records are all there, in order, in the kept files
        let text: String = files
            .iter()
            .map(|f| fs::read_to_string(f).unwrap())
            .collect();
        let last: Vec<&str> = text.lines().collect();
        assert_eq!(*last.last().unwrap(), "{\"model\":\"workload\",\"i\":39}");
        assert!(last.len() >= 9, "{}", last.len());
        for f in &files {
            assert!(fs::metadata(f).unwrap().len() <= 100 + 30);
        }
    }

    #[test]
    fn a_killed_collectors_part_file_is_closed_on_restart() {
        let d = dir("part");
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join("failure.jsonl.part"), "{\"model\":\"failure\"}\n").unwrap();
        let rot = Rotation {
            max_bytes: 1 << 20,
            max_age: Duration::from_secs(3600),
            keep: 10,
        };
        let r = Rotating::open(&d, ModelKind::Failure, rot).unwrap();
        let files = r.rotated();
        assert_eq!(files.len(), 1);
        assert_eq!(
            fs::read_to_string(&files[0]).unwrap(),
            "{\"model\":\"failure\"}\n"
        );
        assert!(!d.join("failure.jsonl.part").exists());
    }

    #[test]
    fn rotates_by_age() {
        let d = dir("age");
        let rot = Rotation {
            max_bytes: 1 << 20,
            max_age: Duration::from_millis(30),
            keep: 10,
        };
        let mut r = Rotating::open(&d, ModelKind::Threat, rot).unwrap();
        r.write_line("{\"model\":\"threat\"}").unwrap();
        r.flush().unwrap();
        assert!(r.rotated().is_empty());
        std::thread::sleep(Duration::from_millis(40));
        r.write_line("{\"model\":\"threat\"}").unwrap();
        r.flush().unwrap();
        assert_eq!(r.rotated().len(), 1);
    }
}
