//! `trainer collect`: live telemetry from this host's `/proc`, written as the project's JSONL
//! records (`docs/DATA.md`).
//!
//! - workload: `/proc/stat` (CPU busy share between two reads), `/proc/meminfo`
//!   (`1 - MemAvailable / MemTotal`), GPU through `nvidia-smi` when it exists; a host without a
//!   GPU records `"gpu": null` (absent), never 0 %.
//! - threat: per process, `/proc/[pid]/io` (read/write system calls), `/proc/[pid]/status`
//!   (threads, resident memory), `/proc/[pid]/fd` (open files and sockets) and
//!   `/proc/net/{tcp,tcp6,udp}` (connections owned by the process's sockets). Privilege attempts
//!   and failed calls are not visible in `/proc` without auditing and are recorded as 0.
//! - failure: health from pressure stall information (`/proc/pressure/{cpu,memory,io}`):
//!   1000 minus 10 × the worst `some avg10` percentage.
//!
//! `trainer collect --model threat -- COMMAND` instead runs COMMAND under `strace -f -ttt` and
//! writes one threat record per window of each of its processes, with the window's calls
//! (i386 numbers, see [`super::strace`]); the trace itself, with its arguments and paths, is
//! deleted.
//!
//! Identifiers are anonymised with HMAC-SHA256 under a key from `AIOS_ANON_KEY` (hex) or a key
//! file (created with 32 random bytes and mode 0600 on first use). Command lines are never read.
//! Each record is written and flushed as soon as it is taken, so stopping with Ctrl-C loses
//! nothing already collected.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::rotate::LineSink;
use crate::error::{DataError, Error, Result};
use inference_core::ModelKind;
use serde_json::json;
use sha2::{Digest, Sha256};

/// Parses `500ms`, `30s`, `5m`, `2h` (a bare number is seconds).
pub fn parse_duration(s: &str) -> Result<Duration> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let v: f64 = num
        .parse()
        .map_err(|_| Error::Usage(format!("'{s}' is not a duration (e.g. 500ms, 30s, 5m, 1h)")))?;
    let secs = match unit {
        "ms" => v / 1000.0,
        "s" => v,
        "m" => v * 60.0,
        "h" => v * 3600.0,
        _ => {
            return Err(Error::Usage(format!(
                "'{s}': unknown unit '{unit}' (ms, s, m, h)"
            )))
        }
    };
    if !(secs.is_finite() && secs > 0.0 && secs < 1e7) {
        return Err(Error::Usage(format!("'{s}' must be a positive duration")));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// HMAC-SHA256 anonymiser.
pub struct Anonymiser {
    key: Vec<u8>,
}

impl Anonymiser {
    /// Key from `AIOS_ANON_KEY` (hex), else from `key_file`, created if missing.
    pub fn load(key_file: &Path) -> Result<Anonymiser> {
        if let Ok(hex) = std::env::var("AIOS_ANON_KEY") {
            let key = (0..hex.len() / 2)
                .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|_| Error::param("AIOS_ANON_KEY", "must be hex"))?;
            if key.len() < 16 {
                return Err(Error::param("AIOS_ANON_KEY", "must hold at least 16 bytes"));
            }
            return Ok(Anonymiser { key });
        }
        match fs::read(key_file) {
            Ok(key) if key.len() >= 16 => Ok(Anonymiser { key }),
            Ok(_) => Err(Error::key(key_file, "key file shorter than 16 bytes")),
            Err(_) => {
                let mut key = vec![0u8; 32];
                fs::File::open("/dev/urandom")
                    .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut key))
                    .map_err(|e| Error::io("/dev/urandom", e))?;
                if let Some(dir) = key_file.parent() {
                    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
                }
                write_private(key_file, &key)?;
                Ok(Anonymiser { key })
            }
        }
    }

    /// A key given directly (tests).
    pub fn with_key(key: &[u8]) -> Anonymiser {
        Anonymiser { key: key.to_vec() }
    }

    /// 16 hex digits of HMAC-SHA256(key, id).
    pub fn id(&self, id: &str) -> String {
        let mut k = [0u8; 64];
        if self.key.len() > 64 {
            k[..32].copy_from_slice(&Sha256::digest(&self.key));
        } else {
            k[..self.key.len()].copy_from_slice(&self.key);
        }
        let mut inner = Sha256::new();
        inner.update(k.map(|b| b ^ 0x36));
        inner.update(id.as_bytes());
        let mut outer = Sha256::new();
        outer.update(k.map(|b| b ^ 0x5c));
        outer.update(inner.finalize());
        super::dataset::hex(&outer.finalize()[..8])
    }
}

/// Writes a file readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| Error::io(path, e))
}

/// Default key file: `$XDG_CONFIG_HOME/aios-ml/anon.key` or `~/.config/aios-ml/anon.key`.
pub fn default_key_file() -> PathBuf {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("aios-ml").join("anon.key")
}

fn now_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// `(busy, total)` jiffies of the aggregate `cpu` line of `/proc/stat`.
pub fn cpu_times(stat: &str) -> Option<(u64, u64)> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    if v.len() < 4 {
        return None;
    }
    let idle = v[3] + v.get(4).copied().unwrap_or(0); // idle + iowait
    let total: u64 = v.iter().take(8).sum(); // guest time is already in user/nice
    Some((total - idle, total))
}

/// Memory in use, percent, from `/proc/meminfo`.
pub fn mem_percent(meminfo: &str) -> Option<f64> {
    let get = |k: &str| {
        meminfo
            .lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
    };
    let (total, avail) = (get("MemTotal:")?, get("MemAvailable:")?);
    (total > 0.0).then(|| (100.0 * (1.0 - avail / total)).clamp(0.0, 100.0))
}

/// GPU utilisation from `nvidia-smi`, `None` when there is no NVIDIA GPU (absent, not idle).
pub fn gpu_percent() -> Option<f64> {
    let out = std::process::Command::new("nvidia-smi")
        .args([
            "--query-gpu=utilization.gpu",
            "--format=csv,noheader,nounits",
        ])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Vec<f64> = text.lines().filter_map(|l| l.trim().parse().ok()).collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// Health per-mille from the `some avg10` figures of the pressure files.
pub fn health_from_pressure(files: &[String]) -> Option<u16> {
    let mut worst: Option<f64> = None;
    for text in files {
        for line in text.lines().filter(|l| l.starts_with("some")) {
            if let Some(v) = line
                .split_whitespace()
                .find_map(|kv| kv.strip_prefix("avg10="))
                .and_then(|v| v.parse::<f64>().ok())
            {
                worst = Some(worst.map_or(v, |w: f64| w.max(v)));
            }
        }
    }
    worst.map(|w| (1000.0 - 10.0 * w).clamp(0.0, 1000.0) as u16)
}

/// One process's counters at one moment.
#[derive(Debug, Clone, Default)]
struct ProcSnap {
    io_calls: u64,
    threads: u64,
    rss_kib: u64,
    files: u32,
    sockets: HashSet<u64>,
}

fn snap(pid: u32) -> Option<ProcSnap> {
    let base = PathBuf::from(format!("/proc/{pid}"));
    let io = fs::read_to_string(base.join("io")).ok()?;
    let field = |text: &str, k: &str| {
        text.lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let status = fs::read_to_string(base.join("status")).ok()?;
    let mut s = ProcSnap {
        io_calls: field(&io, "syscr:") + field(&io, "syscw:"),
        threads: field(&status, "Threads:"),
        rss_kib: field(&status, "VmRSS:"),
        ..Default::default()
    };
    if let Ok(dir) = fs::read_dir(base.join("fd")) {
        for e in dir.flatten() {
            if let Ok(target) = fs::read_link(e.path()) {
                let t = target.to_string_lossy();
                if let Some(inode) = t.strip_prefix("socket:[").and_then(|r| r.strip_suffix(']')) {
                    if let Ok(i) = inode.parse() {
                        s.sockets.insert(i);
                    }
                } else if t.starts_with('/') {
                    s.files += 1;
                }
            }
        }
    }
    Some(s)
}

/// Socket inodes that are TCP/UDP endpoints (from `/proc/net/{tcp,tcp6,udp}`).
fn net_inodes() -> HashSet<u64> {
    let mut set = HashSet::new();
    for f in ["/proc/net/tcp", "/proc/net/tcp6", "/proc/net/udp"] {
        if let Ok(text) = fs::read_to_string(f) {
            for line in text.lines().skip(1) {
                if let Some(i) = line.split_whitespace().nth(9).and_then(|v| v.parse().ok()) {
                    set.insert(i);
                }
            }
        }
    }
    set
}

fn pids() -> Vec<u32> {
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse().ok())
        .collect()
}

/// Start time of a process (clock ticks since boot), to tell reused pids apart.
fn start_time(pid: u32) -> Option<String> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // the command name may contain spaces or parentheses: fields start after the last ')'
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19).map(str::to_string)
}

/// Refuses to append `kind` records to `out` when it already holds another model's records
/// (one file, one model: `--data jsonl:PATH` reads a file as one model's data).
pub fn check_appendable(kind: ModelKind, out: &Path) -> Result<()> {
    let file = match fs::File::open(out) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(out, e)),
    };
    for (i, line) in std::io::BufReader::new(file).split(b'\n').enumerate() {
        let line = line.map_err(|e| Error::io(out, e))?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let model = serde_json::from_slice::<serde_json::Value>(&line)
            .ok()
            .and_then(|v| v.get("model")?.as_str().map(str::to_string));
        let message = match model {
            Some(m) if m == kind.name() => return Ok(()),
            Some(m) => format!(
                "already holds {m} records; {kind} records would mix two models in one file: use another --out"
            ),
            None => format!(
                "is not a file of JSONL records (no \"model\" here); {kind} records are not appended to it: use another --out"
            ),
        };
        return Err(DataError::at(out, i + 1, Some("model"), message).into());
    }
    Ok(())
}

/// Collects `kind` records every `interval` for `duration`, appending JSONL to `out`.
/// `progress` is told the number of records written so far.
pub fn collect(
    kind: ModelKind,
    duration: Duration,
    interval: Duration,
    out: &Path,
    anon: &Anonymiser,
    progress: impl FnMut(usize, Duration),
) -> Result<usize> {
    check_kind(kind)?;
    check_appendable(kind, out)?;
    let mut sink = super::rotate::AppendFile::open(out)?;
    collect_into(kind, duration, interval, &mut sink, anon, progress)
}

fn check_kind(kind: ModelKind) -> Result<()> {
    if kind == ModelKind::Memory {
        return Err(Error::Usage(
            "memory traces come from valgrind lackey (see docs/DATA.md), not from collect".into(),
        ));
    }
    Ok(())
}

/// As [`collect`], into any [`LineSink`] (e.g. a rotating folder).
pub fn collect_into(
    kind: ModelKind,
    duration: Duration,
    interval: Duration,
    w: &mut dyn super::rotate::LineSink,
    anon: &Anonymiser,
    mut progress: impl FnMut(usize, Duration),
) -> Result<usize> {
    check_kind(kind)?;
    let host = fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let host_id = anon.id(host.trim());
    let start = Instant::now();
    let mut written = 0usize;
    let mut prev_cpu = fs::read_to_string("/proc/stat")
        .ok()
        .as_deref()
        .and_then(cpu_times);
    let mut prev_procs: HashMap<u32, (String, ProcSnap)> = HashMap::new();
    if kind == ModelKind::Threat {
        for pid in pids() {
            if let (Some(st), Some(s)) = (start_time(pid), snap(pid)) {
                prev_procs.insert(pid, (st, s));
            }
        }
    }
    let mut next = start + interval;
    while start.elapsed() < duration {
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        }
        next += interval;
        let t = now_s();
        let mut lines = Vec::new();
        match kind {
            ModelKind::Workload => {
                let cur = fs::read_to_string("/proc/stat")
                    .ok()
                    .as_deref()
                    .and_then(cpu_times);
                let cpu = match (prev_cpu, cur) {
                    (Some((b0, t0)), Some((b1, t1))) if t1 > t0 => {
                        Some(100.0 * (b1 - b0) as f64 / (t1 - t0) as f64)
                    }
                    _ => None,
                };
                prev_cpu = cur;
                let mem = fs::read_to_string("/proc/meminfo")
                    .ok()
                    .as_deref()
                    .and_then(mem_percent);
                if let Some(cpu) = cpu {
                    lines.push(json!({"model": "workload", "t": t, "series": host_id,
                        "cpu": (cpu * 100.0).round() / 100.0,
                        "mem": mem.map(|m| (m * 100.0).round() / 100.0),
                        "gpu": gpu_percent()}));
                }
            }
            ModelKind::Threat => {
                let net = net_inodes();
                let mut seen = HashMap::new();
                for pid in pids() {
                    let (Some(st), Some(s)) = (start_time(pid), snap(pid)) else {
                        continue;
                    };
                    if let Some((pst, p)) = prev_procs.get(&pid) {
                        if *pst == st {
                            let conns = s.sockets.iter().filter(|i| net.contains(i)).count();
                            lines.push(json!({"model": "threat", "t_ms": (t * 1000.0) as u64,
                                "process": anon.id(&format!("{pid}:{st}")),
                                "syscalls": s.io_calls.saturating_sub(p.io_calls),
                                "network_connections": conns,
                                "file_accesses": s.files,
                                "privilege_attempts": 0,
                                "failed_syscalls": 0,
                                "memory_allocs": 0,
                                "alloc_kib": s.rss_kib.saturating_sub(p.rss_kib),
                                "spawns": s.threads.saturating_sub(p.threads)}));
                        }
                    }
                    seen.insert(pid, (st, s));
                }
                prev_procs = seen;
            }
            ModelKind::Failure => {
                let files: Vec<String> = ["cpu", "memory", "io"]
                    .iter()
                    .filter_map(|r| fs::read_to_string(format!("/proc/pressure/{r}")).ok())
                    .collect();
                let health = health_from_pressure(&files).unwrap_or(1000);
                lines.push(json!({"model": "failure", "t": t, "component": host_id,
                    "health": health, "failed": false}));
            }
            ModelKind::Memory => {}
        }
        for l in lines {
            w.write_line(&l.to_string())?;
            written += 1;
        }
        w.flush()?;
        progress(written, start.elapsed());
    }
    w.finish()?;
    Ok(written)
}

/// What `trainer collect --model threat -- COMMAND` recorded.
#[derive(Debug, Clone, Default)]
pub struct Traced {
    /// Threat records written.
    pub records: usize,
    /// Processes traced.
    pub processes: usize,
    /// Trace lines that did not parse (skipped).
    pub skipped: usize,
    /// Calls not in the i386 table, by name ([`super::strace::unknown_note`]).
    pub unknown: BTreeMap<String, usize>,
    /// The command's exit code (`None`: killed by a signal).
    pub exit_code: Option<i32>,
}

/// A temporary file, removed when dropped.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// Why strace recorded nothing, from its own messages.
fn strace_failed(notes: &[String], status: ExitStatus) -> Error {
    let said = notes.join("; ");
    let message = if said.contains("Operation not permitted") || said.contains("EPERM") {
        format!(
            "ptrace is not permitted here ({said}): in a container add the SYS_PTRACE \
             capability (docker run --cap-add=SYS_PTRACE), on a host check \
             /proc/sys/kernel/yama/ptrace_scope"
        )
    } else {
        format!("recorded no system calls ({status}): {said}")
    };
    Error::Tool {
        program: "strace",
        message,
    }
}

/// Runs `command` under `strace -f -ttt -o TMP` and returns the parsed trace (malformed lines
/// skipped and counted), its skip count and the command's exit code. The command's own stderr
/// is passed through.
fn run_strace(command: &[String]) -> Result<(super::strace::Trace, usize, Option<i32>)> {
    use super::{strace, ReadOptions, Skips};
    let (program, args) = command.split_first().ok_or_else(|| {
        Error::Usage("collect --model threat: give the command to trace after `--`".into())
    })?;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let tmp = TempFile(
        std::env::temp_dir().join(format!("aios-strace-{}-{nanos}.trace", std::process::id())),
    );
    write_private(&tmp.0, b"")?;
    let mut child = Command::new("strace")
        .args(["-f", "-ttt", "-o"])
        .arg(&tmp.0)
        .arg("--")
        .arg(program)
        .args(args)
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::Tool {
                program: "strace",
                message: "not found: install strace (e.g. apt-get install strace)".into(),
            },
            _ => Error::io("strace", e),
        })?;
    let mut notes = Vec::new();
    if let Some(err) = child.stderr.take() {
        for line in BufReader::new(err).lines().map_while(std::io::Result::ok) {
            eprintln!("{line}");
            if line.starts_with("strace: ") {
                notes.push(line);
            }
        }
    }
    let status = child.wait().map_err(|e| Error::io("strace", e))?;
    let opts = ReadOptions {
        skip_bad_rows: true,
        ..Default::default()
    };
    let mut skips = Skips::default();
    let file = fs::File::open(&tmp.0).map_err(|e| Error::io(&tmp.0, e))?;
    let trace = strace::parse(&tmp.0, BufReader::new(file), &opts, &mut skips)?;
    if trace.processes.is_empty() {
        return Err(strace_failed(&notes, status));
    }
    Ok((trace, skips.count, status.code()))
}

/// Runs `command` under strace and appends one threat record per window of each of its
/// processes to `out` (JSONL with `calls`, `docs/DATA.md`), process ids anonymised by `anon`
/// (pid and the time of its first call, so reused pids stay apart).
pub fn trace_command(command: &[String], out: &Path, anon: &Anonymiser) -> Result<Traced> {
    check_appendable(ModelKind::Threat, out)?;
    let (trace, skipped, exit_code) = run_strace(command)?;
    check_appendable(ModelKind::Threat, out)?;
    let mut w = super::rotate::AppendFile::open(out)?;
    let mut records = 0;
    for p in &trace.processes {
        let t0 = p.calls.first().and_then(|c| c.t_ms).unwrap_or(0);
        let id = anon.id(&format!("{}:{t0}", p.pid.unwrap_or(0)));
        for (calls, win) in super::strace::windows(p) {
            let r = super::jsonl::threat_record(&id, &win, &calls);
            w.write_line(&r.to_string())?;
            records += 1;
        }
    }
    w.finish()?;
    Ok(Traced {
        records,
        processes: trace.processes.len(),
        skipped,
        unknown: trace.unknown,
        exit_code,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsers_of_proc_files() {
        let stat = "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4\n";
        assert_eq!(cpu_times(stat), Some((150, 1000)));
        assert_eq!(cpu_times("intr 1 2"), None);
        let mem = "MemTotal:       1000 kB\nMemFree: 100 kB\nMemAvailable:    250 kB\n";
        assert_eq!(mem_percent(mem), Some(75.0));
        assert_eq!(mem_percent("MemTotal: 0 kB\nMemAvailable: 0 kB"), None);
        let p = "some avg10=1.50 avg60=0.10 avg300=0.00 total=1\nfull avg10=9.00 avg60=0 avg300=0 total=0\n";
        assert_eq!(health_from_pressure(&[p.to_string()]), Some(985));
        assert_eq!(health_from_pressure(&[]), None);
        for (s, ms) in [("500ms", 500), ("2s", 2000), ("1m", 60_000), ("3", 3000)] {
            assert_eq!(parse_duration(s).unwrap(), Duration::from_millis(ms));
        }
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn anonymised_ids_are_keyed_and_stable() {
        let a = Anonymiser::with_key(b"0123456789abcdef");
        let b = Anonymiser::with_key(b"fedcba9876543210");
        assert_eq!(a.id("1234:99"), a.id("1234:99"));
        assert_ne!(a.id("1234:99"), b.id("1234:99"));
        assert_eq!(a.id("x").len(), 16);
    }

    #[test]
    fn collects_live_workload_records_from_this_host() {
        let out = std::env::temp_dir().join(format!("aios-collect-{}.jsonl", std::process::id()));
        let _ = fs::remove_file(&out);
        let anon = Anonymiser::with_key(b"0123456789abcdef");
        let n = collect(
            ModelKind::Workload,
            Duration::from_millis(350),
            Duration::from_millis(100),
            &out,
            &anon,
            |_, _| {},
        )
        .unwrap();
        assert!(n >= 2, "{n}");
        let text = fs::read_to_string(&out).unwrap();
        for line in text.lines() {
            let r = crate::data::jsonl::parse_record(ModelKind::Workload, line).unwrap();
            assert!(matches!(r, crate::data::jsonl::Record::Workload { .. }));
        }
        let host = fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        if host.trim().len() >= 8 {
            assert!(
                !text.contains(host.trim()),
                "the raw host name must not be written"
            );
        }
    }

    #[test]
    fn appending_another_models_records_is_refused() {
        let out =
            std::env::temp_dir().join(format!("aios-collect-mix-{}.jsonl", std::process::id()));
        let threat = r#"{"model":"threat","t_ms":1,"process":"p","syscalls":1}"#;
        fs::write(&out, format!("\n{threat}\n")).unwrap();
        let anon = Anonymiser::with_key(b"0123456789abcdef");
        let e = collect(
            ModelKind::Workload,
            Duration::from_millis(10),
            Duration::from_millis(10),
            &out,
            &anon,
            |_, _| {},
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains(":2: field `model`: already holds threat records"),
            "{msg}"
        );
        assert_eq!(fs::read_to_string(&out).unwrap(), format!("\n{threat}\n"));
        assert!(check_appendable(ModelKind::Threat, &out).is_ok());
        fs::write(&out, "not json\n").unwrap();
        assert!(check_appendable(ModelKind::Workload, &out).is_err());
        let _ = fs::remove_file(&out);
    }
}
