//! ADFA-LD system-call traces (i386 numbering), as threat-detector windows.
//!
//! Layout: `Training_Data_Master/` and `Validation_Data_Master/` hold normal traces,
//! `Attack_Data_Master/<Type>_<n>/` attack traces; any may be missing. A trace is cut into
//! windows of [`WINDOW`] calls; each window becomes a [`ProcessWindow`] (counts of network,
//! file, privilege, memory and process calls) and is scored with the process's score history,
//! like a live process observed every [`WINDOW`] calls. Labels come from the folder; attack
//! types map to the detector's types (Adduser → privilege escalation, Hydra → brute force,
//! (Java) Meterpreter and web shells → backdoor). Each trace is one group, so every decision can
//! be made per trace.
//!
//! ADFA-LD has no return values or sizes: failed calls and allocated KiB stay 0.

use std::path::Path;

use inference_core::features::threat::{ProcessWindow, ThreatHistory, ThreatType};
use inference_core::ModelKind;

use super::dataset::Dataset;
use super::{files, lines, DataError, Loaded, ReadOptions, Skips};

/// System calls per window.
pub const WINDOW: usize = 200;

/// Category of an i386 system call number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// socketcall and the socket family.
    Network,
    /// open, read, write, stat…
    File,
    /// setuid, execve, chmod, ptrace, mount…
    Privilege,
    /// mmap, brk, mprotect…
    Memory,
    /// fork, clone, vfork.
    Spawn,
    /// Anything else.
    Other,
}

/// Category of an i386 system call.
pub fn category(nr: u32) -> Category {
    match nr {
        102 | 359..=373 => Category::Network,
        3
        | 4
        | 5
        | 6
        | 8
        | 9
        | 10
        | 12
        | 14
        | 19
        | 33
        | 38
        | 39
        | 40
        | 85
        | 92
        | 93
        | 94
        | 106
        | 107
        | 108
        | 118
        | 133
        | 140
        | 141
        | 145
        | 146
        | 148
        | 180
        | 181
        | 183
        | 187
        | 195
        | 196
        | 197
        | 220
        | 221
        | 295..=306 => Category::File,
        11 | 15 | 16 | 21 | 22 | 23 | 26 | 46 | 52 | 70 | 71 | 81 | 95 | 164 | 170 | 182 | 184
        | 185 | 198 | 203 | 204 | 205 | 206 | 207 | 208 | 209 | 210 | 211 | 212 | 213 | 214
        | 215 | 216 => Category::Privilege,
        45 | 90 | 91 | 125 | 150 | 151 | 152 | 153 | 163 | 192 => Category::Memory,
        2 | 120 | 190 => Category::Spawn,
        _ => Category::Other,
    }
}

/// The detector type of an attack folder name (`Hydra_FTP_3` → brute force).
pub fn attack_type(folder: &str) -> ThreatType {
    let f = folder.to_ascii_lowercase();
    if f.starts_with("adduser") {
        ThreatType::PrivilegeEscalation
    } else if f.starts_with("hydra") {
        ThreatType::BruteForce
    } else {
        ThreatType::Backdoor
    }
}

/// The `k`-th window of a trace, made of `calls`: counts per category, one second per window.
pub fn window(k: usize, calls: &[u32]) -> ProcessWindow {
    let mut w = ProcessWindow {
        syscalls: calls.len() as u32,
        end_ms: 1000 * (k as u64 + 1),
        ..Default::default()
    };
    for &nr in calls {
        match category(nr) {
            Category::Network => w.network_connections += 1,
            Category::File => w.file_accesses += 1,
            Category::Privilege => w.privilege_attempts += 1,
            Category::Memory => w.memory_allocs += 1,
            Category::Spawn => w.spawns += 1,
            Category::Other => {}
        }
    }
    w
}

/// Windows of one trace.
pub fn windows(calls: &[u32]) -> Vec<ProcessWindow> {
    calls
        .chunks(WINDOW)
        .enumerate()
        .map(|(k, c)| window(k, c))
        .collect()
}

/// Reads one trace file: whitespace-separated call numbers.
pub fn read_trace(
    path: &Path,
    opts: &ReadOptions,
    skips: &mut Skips,
) -> Result<Option<Vec<u32>>, DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::file(path, e))?;
    let mut calls = Vec::new();
    for (n, line) in lines(path, &bytes) {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                skips.handle(opts, e)?;
                return Ok(None);
            }
        };
        for (j, tok) in line.split_whitespace().enumerate() {
            match tok.parse::<u32>() {
                Ok(v) if v < 512 => calls.push(v),
                _ => {
                    let e = DataError::at(
                        path,
                        n,
                        Some(&format!("call {}", j + 1)),
                        format!("'{tok}' is not an i386 system call number"),
                    );
                    skips.handle(opts, e)?;
                    return Ok(None);
                }
            }
        }
    }
    if calls.is_empty() {
        skips.handle(opts, DataError::file(path, "empty trace"))?;
        return Ok(None);
    }
    Ok(Some(calls))
}

/// Appends the windows of one trace as group `g` with class `class`, [`WINDOW`] calls each
/// (see [`append_windows`]).
pub fn append_trace(d: &mut Dataset, calls: &[u32], class: ThreatType, g: u32) {
    let windows = calls
        .chunks(WINDOW)
        .enumerate()
        .map(|(k, chunk)| (chunk, window(k, chunk), class));
    append_windows(d, windows, g);
}

/// Appends the windows of one process as group `g`, in order: `(calls, counts, label)`, where
/// `calls` are the window's i386 call numbers in order (empty when unknown). Every call goes
/// through [`ThreatHistory::observe_call`] before its window is scored, as the kernel reports
/// them. The score history is teacher-forced with the label (see the synthetic threat data),
/// scaled to a typical score.
pub fn append_windows<'a>(
    d: &mut Dataset,
    windows: impl IntoIterator<Item = (&'a [u32], ProcessWindow, ThreatType)>,
    g: u32,
) {
    let mut h = ThreatHistory::new();
    for (calls, w, class) in windows {
        for &nr in calls {
            h.observe_call(nr);
        }
        d.push(
            &h.features(&w),
            &[class as u8 as f32],
            g,
            (w.end_ms / 1000) as i64,
        );
        let score = if class == ThreatType::None { 100 } else { 800 };
        h.record(score, score >= 500, w.end_ms);
    }
}

/// One ADFA-LD trace: a process's calls, its label and its family.
#[derive(Debug, Clone)]
pub struct Trace {
    /// i386 call numbers, in order.
    pub calls: Vec<u32>,
    /// The detector's type for it (`None` for normal traces).
    pub class: ThreatType,
    /// `normal`, or the attack folder without its session number (`Hydra_FTP`).
    pub family: String,
}

/// The attack family of a folder name: `Hydra_FTP_3` → `Hydra_FTP`.
pub fn family(folder: &str) -> String {
    match folder.rsplit_once('_') {
        Some((f, n)) if n.chars().all(|c| c.is_ascii_digit()) => f.to_string(),
        _ => folder.to_string(),
    }
}

/// Reads every trace under an ADFA-LD directory, normal traces first, then attack folders in
/// name order.
pub fn load_traces(root: &Path, opts: &ReadOptions) -> Result<(Vec<Trace>, Skips), DataError> {
    let mut traces = Vec::new();
    let mut skips = Skips::default();
    let mut found = false;
    for normal in ["Training_Data_Master", "Validation_Data_Master"] {
        let dir = root.join(normal);
        if !dir.is_dir() {
            continue;
        }
        found = true;
        for f in files(&dir, |n| n.ends_with(".txt"))? {
            if let Some(calls) = read_trace(&f, opts, &mut skips)? {
                let (class, family) = (ThreatType::None, "normal".to_string());
                traces.push(Trace {
                    calls,
                    class,
                    family,
                });
            }
        }
    }
    let attacks = root.join("Attack_Data_Master");
    if attacks.is_dir() {
        found = true;
        let mut dirs: Vec<_> = std::fs::read_dir(&attacks)
            .map_err(|e| DataError::file(&attacks, e))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        for dir in dirs {
            let name = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            for f in files(&dir, |n| n.ends_with(".txt"))? {
                if let Some(calls) = read_trace(&f, opts, &mut skips)? {
                    let (class, family) = (attack_type(&name), family(&name));
                    traces.push(Trace {
                        calls,
                        class,
                        family,
                    });
                }
            }
        }
    }
    if !found {
        return Err(DataError::file(
            root,
            "not an ADFA-LD directory (no Training_Data_Master, Validation_Data_Master or Attack_Data_Master)",
        ));
    }
    Ok((traces, skips))
}

/// All traces under an ADFA-LD directory, one group per trace.
pub fn load(root: &Path, opts: &ReadOptions) -> Result<Loaded, DataError> {
    let mut d = Dataset::new(ModelKind::Threat, format!("adfa:{}", root.display()));
    let (traces, skips) = load_traces(root, opts)?;
    for (g, t) in traces.iter().enumerate() {
        append_trace(&mut d, &t.calls, t.class, g as u32);
    }
    Ok(Loaded::new(d, skips))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tiny_adfa_tree() {
        let root = std::env::temp_dir().join(format!("aios-adfa-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("Training_Data_Master")).unwrap();
        std::fs::create_dir_all(root.join("Attack_Data_Master/Hydra_SSH_1")).unwrap();
        let normal: String = (0..2 * WINDOW + 20)
            .map(|i| format!("{} ", [3, 4, 5, 6][i % 4]))
            .collect();
        std::fs::write(root.join("Training_Data_Master/UTD-0001.txt"), &normal).unwrap();
        let attack: String = (0..WINDOW + 10)
            .map(|i| format!("{} ", [102, 11, 120][i % 3]))
            .collect();
        std::fs::write(root.join("Attack_Data_Master/Hydra_SSH_1/a.txt"), &attack).unwrap();
        std::fs::write(
            root.join("Attack_Data_Master/Hydra_SSH_1/bad.txt"),
            "3 4 x 5",
        )
        .unwrap();
        let e = load(&root, &ReadOptions::default()).unwrap_err();
        assert_eq!((e.line, e.field.as_deref()), (Some(1), Some("call 3")));
        let l = load(
            &root,
            &ReadOptions {
                skip_bad_rows: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(l.skipped, 1);
        // 2W + 20 normal calls: 3 windows; W + 10 attack calls: 2 windows
        assert_eq!(l.data.len(), 5);
        assert_eq!(l.data.target(4)[0], ThreatType::BruteForce as u8 as f32);
        assert_eq!(l.data.group[4], 1);
        let w = windows(&[102, 11, 120, 5, 45]);
        assert_eq!(
            (
                w[0].network_connections,
                w[0].privilege_attempts,
                w[0].spawns,
                w[0].file_accesses,
                w[0].memory_allocs
            ),
            (1, 1, 1, 1, 1)
        );
        assert!(load(&root.join("nope"), &ReadOptions::default()).is_err());
    }

    #[test]
    fn a_non_utf8_line_is_located_or_skipped() {
        let root = std::env::temp_dir().join(format!("aios-adfa-utf8-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let normal = root.join("Training_Data_Master");
        std::fs::create_dir_all(&normal).unwrap();
        let good: String = (0..WINDOW + 5).map(|i| format!("{} ", 3 + i % 4)).collect();
        std::fs::write(normal.join("UTD-0001.txt"), &good).unwrap();
        std::fs::write(normal.join("UTD-0002.txt"), b"3 4 5\n6 \xc3\x28 7\n").unwrap();
        let e = load(&root, &ReadOptions::default()).unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(e.to_string().contains("UTD-0002.txt:2: not UTF-8"), "{e}");
        let skip = ReadOptions {
            skip_bad_rows: true,
            ..Default::default()
        };
        let l = load(&root, &skip).unwrap();
        assert_eq!((l.skipped, l.data.len()), (1, 2));
    }
}
