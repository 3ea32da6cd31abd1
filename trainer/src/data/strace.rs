//! strace output (`strace -f -ttt -o FILE COMMAND`) as threat-detector windows.
//!
//! Each line is one event of one process: `PID SECONDS.MICROS NAME(ARGS) = RESULT`, a call
//! split in two (`NAME(ARGS <unfinished ...>` … `<... NAME resumed>ARGS) = RESULT`), or a note
//! (`+++ exited with 0 +++`, `--- SIGCHLD {...} ---`). The pid is missing when strace ran
//! without `-f`, the time without `-ttt`; `[pid N]` prefixes (strace writing to stderr) are
//! read too. Every pid is one process and one group.
//!
//! Calls are mapped from their name to the i386 number the model was trained with (ADFA-LD),
//! through the table in `strace/i386.rs` (x86-64 names map to the i386 call an ADFA-era C
//! library made: `mmap` → `mmap2`, `socket`/`connect`/… → `socketcall`, `newfstatat` →
//! `fstatat64`, …). Names not in the table become [`UNKNOWN_CALL`] and are counted in the
//! import's warnings. A call counts at its start, in the order strace printed it; it failed when
//! its result is `-1 E…` (`= -1 ENOENT (No such file or directory)`).
//!
//! Windows are [`WINDOW`] calls of one process, counted as in ADFA-LD ([`adfa::window`]), so the
//! counts mean what they meant in training; a window ends at the `-ttt` time of its last call
//! (else one second per window, as ADFA-LD).
//!
//! Labels come from the path (see [`label`]): a file or folder named `attack_<type>…` holds
//! attack traces of that type, everything else is normal.

mod i386;

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::path::{Path, PathBuf};

use inference_core::features::threat::{ProcessWindow, ThreatType};
use inference_core::ModelKind;

use super::adfa::{self, WINDOW};
use super::dataset::Dataset;
use super::{parse_finite, BadValue, DataError, Loaded, ReadOptions, Skips};

/// The number a call gets when its name is not in the i386 table (no i386 call has it; it
/// counts as "other").
pub const UNKNOWN_CALL: u32 = 511;

/// The i386 number of the call strace names `name`, `None` when the table lacks it.
pub fn i386_number(name: &str) -> Option<u32> {
    i386::I386
        .binary_search_by(|(n, _)| n.cmp(&name))
        .ok()
        .map(|i| i386::I386[i].1)
}

/// One system call of a traced process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Call {
    /// i386 number ([`UNKNOWN_CALL`] for names not in the table).
    pub nr: u32,
    /// It returned `-1 E…`.
    pub failed: bool,
    /// When it started (`-ttt`), Unix milliseconds.
    pub t_ms: Option<u64>,
}

/// The calls of one process, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Process {
    /// Its pid (`None`: strace ran without `-f`, the file is one process).
    pub pid: Option<u32>,
    /// Its calls.
    pub calls: Vec<Call>,
}

/// A parsed strace file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    /// Processes in order of their first line.
    pub processes: Vec<Process>,
    /// Calls whose names are not in the i386 table, by name.
    pub unknown: BTreeMap<String, usize>,
}

/// What one line says.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Event<'a> {
    /// A call starts: `name(args) = ret`, or `name(args <unfinished ...>` (`ret` `None`).
    Call { name: &'a str, ret: Option<&'a str> },
    /// `<... name resumed>args) = ret`.
    Resumed { name: &'a str, ret: &'a str },
    /// An exit, a signal, strace's own notes: no call.
    Note,
}

/// A parsed line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Line<'a> {
    pid: Option<u32>,
    t_ms: Option<u64>,
    event: Event<'a>,
}

/// A bad field of a line: its name and what is wrong.
type Bad = (&'static str, String);

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The result after a call's arguments: `args) = RESULT`, where the arguments still miss their
/// closing parenthesis. `None` for `<unfinished ...>`.
fn result(args: &str) -> Result<Option<&str>, Bad> {
    if args.trim_end().ends_with("<unfinished ...>") {
        return Ok(None);
    }
    let (mut depth, mut quoted, mut escaped) = (1u32, false, false);
    for (i, c) in args.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            _ if quoted => {}
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    let rest = args[i + 1..].trim_start();
                    return match rest.strip_prefix('=') {
                        Some(ret) => Ok(Some(ret.trim())),
                        None => Err(("result", "no '= RESULT' after the arguments".into())),
                    };
                }
            }
            _ => {}
        }
    }
    Err((
        "result",
        "the arguments never close (a truncated line?)".into(),
    ))
}

/// The pid and `-ttt` time in front of an event, and the rest of the line.
fn prefix(line: &str) -> Result<(Option<u32>, Option<u64>, &str), Bad> {
    let mut rest = line;
    let mut pid = None;
    let bad_pid = |p: &str| ("pid", format!("'{p}' is not a process id"));
    if let Some(r) = rest.strip_prefix("[pid") {
        let (p, r) = r.split_once(']').ok_or_else(|| bad_pid(r))?;
        pid = Some(p.trim().parse().map_err(|_| bad_pid(p.trim()))?);
        rest = r.trim_start();
    }
    let token = |s: &str| s.split_whitespace().next().unwrap_or("").len();
    let first = &rest[..token(rest)];
    if pid.is_none() && !first.is_empty() && first.bytes().all(|b| b.is_ascii_digit()) {
        pid = Some(first.parse().map_err(|_| bad_pid(first))?);
        rest = rest[first.len()..].trim_start();
    }
    let first = &rest[..token(rest)];
    if !first.starts_with(|c: char| c.is_ascii_digit()) {
        return Ok((pid, None, rest));
    }
    let secs = parse_finite(first)
        .ok()
        .filter(|s| *s >= 0.0 && first.contains('.'))
        .ok_or_else(|| {
            let what = "a -ttt timestamp (seconds.microseconds)";
            ("time", format!("'{first}' is not {what}"))
        })?;
    Ok((
        pid,
        Some((secs * 1000.0) as u64),
        rest[first.len()..].trim_start(),
    ))
}

/// Parses one line; `None` for a blank one.
fn parse_line(line: &str) -> Result<Option<Line<'_>>, Bad> {
    let line = line.trim();
    if line.is_empty() {
        return Ok(None);
    }
    let (pid, t_ms, rest) = prefix(line)?;
    let event = if ["+++", "---", "strace:"]
        .iter()
        .any(|p| rest.starts_with(p))
    {
        Event::Note
    } else if let Some(r) = rest.strip_prefix("<... ") {
        let (name, args) = r
            .split_once(" resumed>")
            .filter(|(n, _)| is_name(n))
            .ok_or(("call", format!("'{r}' is not '<... NAME resumed>'")))?;
        match result(args)? {
            Some(ret) => Event::Resumed { name, ret },
            None => Event::Note,
        }
    } else {
        let (name, args) = rest.split_once('(').filter(|(n, _)| is_name(n)).ok_or((
            "call",
            format!("'{rest}' is not a system call 'NAME(ARGS) = RESULT'"),
        ))?;
        Event::Call {
            name,
            ret: result(args)?,
        }
    };
    Ok(Some(Line { pid, t_ms, event }))
}

/// Whether a result says the call failed: `-1 ERRNO (text)`.
fn failed(ret: &str) -> bool {
    ret.strip_prefix("-1 E").is_some()
}

impl Trace {
    /// The process of `pid`, added at the end when new.
    fn process(&mut self, index: &mut HashMap<Option<u32>, usize>, pid: Option<u32>) -> usize {
        *index.entry(pid).or_insert_with(|| {
            self.processes.push(Process {
                pid,
                calls: Vec::new(),
            });
            self.processes.len() - 1
        })
    }

    /// The i386 number of `name`, counting unknown names.
    fn number(&mut self, name: &str) -> u32 {
        i386_number(name).unwrap_or_else(|| {
            *self.unknown.entry(name.to_string()).or_default() += 1;
            UNKNOWN_CALL
        })
    }

    /// Adds the call of one parsed line. `pending` holds the calls still `<unfinished ...>`:
    /// per pid, the process, the call's index and its name.
    fn add(&mut self, l: Line<'_>, index: &mut HashMap<Option<u32>, usize>, pending: &mut Pending) {
        let (name, ret) = match l.event {
            Event::Note => return,
            Event::Call { name, ret } => (name, ret),
            Event::Resumed { name, ret } => match pending.remove(&l.pid) {
                Some((p, k, started)) if started == name => {
                    self.processes[p].calls[k].failed = failed(ret);
                    return;
                }
                // resumed without its start (strace attached mid-call): counts here
                _ => (name, Some(ret)),
            },
        };
        let nr = self.number(name);
        let p = self.process(index, l.pid);
        let calls = &mut self.processes[p].calls;
        calls.push(Call {
            nr,
            failed: ret.is_some_and(failed),
            t_ms: l.t_ms,
        });
        if ret.is_none() {
            pending.insert(l.pid, (p, calls.len() - 1, name.to_string()));
        }
    }
}

/// Calls still `<unfinished ...>`, per pid: process index, call index, name.
type Pending = HashMap<Option<u32>, (usize, usize, String)>;

/// Parses strace output read from `r` (named `path` in errors). Malformed lines are errors, or
/// counted skips with `skip_bad_rows`; a file without any call is one too.
pub fn parse(
    path: &Path,
    r: impl BufRead,
    opts: &ReadOptions,
    skips: &mut Skips,
) -> Result<Trace, DataError> {
    let mut t = Trace::default();
    let mut index = HashMap::new();
    let mut pending = Pending::new();
    for (i, bytes) in r.split(b'\n').enumerate() {
        let bytes = bytes.map_err(|e| DataError::at(path, i + 1, None, e))?;
        let line = String::from_utf8_lossy(&bytes);
        match parse_line(&line) {
            Ok(Some(l)) => t.add(l, &mut index, &mut pending),
            Ok(None) => {}
            Err((field, msg)) => {
                skips.handle(opts, DataError::at(path, i + 1, Some(field), msg))?
            }
        }
    }
    if t.processes.iter().all(|p| p.calls.is_empty()) {
        let e = DataError::file(path, "no system calls: not `strace -f -ttt -o FILE` output");
        skips.handle(opts, e)?;
    }
    Ok(t)
}

/// The windows of one process: [`WINDOW`] calls each, as `(i386 numbers, counts)`; failed calls
/// counted, the end time the `-ttt` time of the window's last call when known.
pub fn windows(p: &Process) -> Vec<(Vec<u32>, ProcessWindow)> {
    p.calls
        .chunks(WINDOW)
        .enumerate()
        .map(|(k, chunk)| {
            let nrs: Vec<u32> = chunk.iter().map(|c| c.nr).collect();
            let mut w = adfa::window(k, &nrs);
            w.failed_syscalls = chunk.iter().filter(|c| c.failed).count() as u32;
            if let Some(t) = chunk.iter().rev().find_map(|c| c.t_ms) {
                w.end_ms = t;
            }
            (nrs, w)
        })
        .collect()
}

/// The threat type a path component names: `attack_<type>` followed by nothing or by `_`, `-`
/// or `.` and anything (`attack_brute_force`, `attack_backdoor_2.strace`).
fn named_type(component: &str) -> Option<Result<ThreatType, BadValue>> {
    let rest = component
        .to_ascii_lowercase()
        .strip_prefix("attack_")?
        .to_string();
    let found = ThreatType::ALL[1..].iter().find(|t| {
        rest.strip_prefix(t.name())
            .is_some_and(|tail| tail.is_empty() || tail.starts_with(['_', '-', '.']))
    });
    Some(found.copied().ok_or_else(|| {
        BadValue::new(
            component,
            "attack_ and a threat type (cryptominer, exfiltration, privilege_escalation, ransomware, resource_exhaustion, brute_force, backdoor)",
        )
    }))
}

/// The label of trace `file` found under `root`: the nearest of the file's name, its folders
/// below `root` and `root`'s own name that is `attack_<type>…` names the type; without one
/// the trace is normal ([`ThreatType::None`]).
pub fn label(root: &Path, file: &Path) -> Result<ThreatType, DataError> {
    let below = file.strip_prefix(root).unwrap_or(Path::new(""));
    let names = below
        .components()
        .rev()
        .map(|c| c.as_os_str())
        .chain(root.file_name());
    for name in names {
        if let Some(t) = named_type(&name.to_string_lossy()) {
            return t.map_err(|e| DataError {
                path: file.to_path_buf(),
                line: None,
                field: Some("label".into()),
                message: e.to_string(),
            });
        }
    }
    Ok(ThreatType::None)
}

/// The trace files of a path: the file itself, or every file below a directory (recursively,
/// sorted, hidden ones left out).
pub fn trace_files(root: &Path) -> Result<Vec<PathBuf>, DataError> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), DataError> {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| DataError::file(dir, e))?
            .flatten()
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .map(|e| e.path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out)?;
            } else if p.is_file() {
                out.push(p);
            }
        }
        Ok(())
    }
    let meta = std::fs::metadata(root).map_err(|e| DataError::file(root, e))?;
    if meta.is_file() {
        return Ok(vec![root.to_path_buf()]);
    }
    let mut out = Vec::new();
    walk(root, &mut out)?;
    if out.is_empty() {
        return Err(DataError::file(root, "no trace files in this directory"));
    }
    Ok(out)
}

/// One line naming the calls not in the i386 table, most frequent first.
pub fn unknown_note(unknown: &BTreeMap<String, usize>) -> String {
    let mut v: Vec<(&String, &usize)> = unknown.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let total: usize = v.iter().map(|(_, n)| **n).sum();
    let names: Vec<String> = v.iter().map(|(s, n)| format!("{s} ×{n}")).collect();
    format!(
        "{total} call(s) not in the i386 table, counted as call {UNKNOWN_CALL}: {}",
        names.join(", ")
    )
}

/// Threat data from strace output: a file, or every file below a directory.
pub fn load(root: &Path, opts: &ReadOptions) -> Result<Loaded, DataError> {
    let mut d = Dataset::new(ModelKind::Threat, format!("strace:{}", root.display()));
    let mut skips = Skips::default();
    let mut unknown = BTreeMap::new();
    let mut group = 0u32;
    for f in trace_files(root)? {
        let class = match label(root, &f) {
            Ok(c) => c,
            Err(e) => {
                skips.handle(opts, e)?;
                continue;
            }
        };
        let file = std::fs::File::open(&f).map_err(|e| DataError::file(&f, e))?;
        let trace = parse(&f, std::io::BufReader::new(file), opts, &mut skips)?;
        for (name, n) in trace.unknown {
            *unknown.entry(name).or_default() += n;
        }
        for p in &trace.processes {
            let ws = windows(p);
            let labelled = ws.iter().map(|(calls, w)| (calls.as_slice(), *w, class));
            adfa::append_windows(&mut d, labelled, group);
            group += 1;
        }
    }
    let mut l = Loaded::new(d, skips);
    if !unknown.is_empty() {
        l.warnings.push(unknown_note(&unknown));
    }
    Ok(l)
}

#[cfg(test)]
mod tests {
    #[test]
    fn unknown_attack_names_list_every_type() {
        let e = super::named_type("attack_teleport")
            .unwrap()
            .unwrap_err()
            .to_string();
        for t in &ThreatType::ALL[1..] {
            assert!(e.contains(t.name()), "{e}");
        }
    }

    use super::*;

    /// `strace -f -ttt` of a shell running `cat`: a vfork split across the two processes, a
    /// failed call, a signal, exits and a call name missing from the table.
    const FORKED: &str = r#"100 1700000000.000100 execve("/bin/sh", ["sh", "-c", "cat /x"], 0x7ffc /* 3 vars */) = 0
100 1700000000.000200 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f00
100 1700000000.000300 access("/etc/ld.so.preload", R_OK) = -1 ENOENT (No such file or directory)
100 1700000000.000400 write(1, "a) = b \"(\" [", 12) = 12
100 1700000000.000500 vfork( <unfinished ...>
101 1700000000.000600 execve("/bin/cat", ["cat", "/x"], 0x5571 /* 3 vars */ <unfinished ...>
100 1700000000.000700 <... vfork resumed>) = 101
101 1700000000.000800 <... execve resumed>) = 0
101 1700000000.000900 openat(AT_FDCWD, "/x", O_RDONLY) = -1 EACCES (Permission denied)
101 1700000000.001000 socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = 3
101 1700000000.001100 frobnicate(3) = 0
101 1700000000.001200 exit_group(1)          = ?
101 1700000000.001300 +++ exited with 1 +++
100 1700000000.001400 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=101, si_uid=0, si_status=1} ---
100 1700000000.001500 wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 1}], 0, NULL) = 101
100 1700000000.001600 exit_group(1)          = ?
100 1700000000.001700 +++ exited with 1 +++
"#;

    fn parse_str(text: &str, opts: &ReadOptions) -> Result<(Trace, Skips), DataError> {
        let mut skips = Skips::default();
        let t = parse(Path::new("t.strace"), text.as_bytes(), opts, &mut skips)?;
        Ok((t, skips))
    }

    fn skipping() -> ReadOptions {
        ReadOptions {
            skip_bad_rows: true,
            ..Default::default()
        }
    }

    #[test]
    fn the_table_is_sorted_and_maps_x86_64_names_to_i386() {
        assert!(i386::I386.windows(2).all(|w| w[0].0 < w[1].0));
        let cases = [
            ("read", 3),
            ("execve", 11),
            ("openat", 295),
            ("newfstatat", 300),
            ("fstatat64", 300),
            ("socket", 102),
            ("connect", 102),
            ("accept", 102),
            ("sendto", 102),
            ("recvfrom", 102),
            ("mmap", 192),
            ("pread64", 180),
            ("clone", 120),
            ("exit_group", 252),
            ("setuid", 213),
        ];
        for (name, nr) in cases {
            assert_eq!(i386_number(name), Some(nr), "{name}");
        }
        assert_eq!(i386_number("frobnicate"), None);
        assert_eq!(adfa::category(UNKNOWN_CALL), adfa::Category::Other);
    }

    #[test]
    fn a_forked_trace_becomes_two_processes() {
        let (t, _) = parse_str(FORKED, &ReadOptions::default()).unwrap();
        assert_eq!(t.processes.len(), 2);
        let (sh, cat) = (&t.processes[0], &t.processes[1]);
        assert_eq!((sh.pid, cat.pid), (Some(100), Some(101)));
        let nrs = |p: &Process| p.calls.iter().map(|c| c.nr).collect::<Vec<_>>();
        assert_eq!(nrs(sh), [11, 192, 33, 4, 190, 114, 252]);
        assert_eq!(nrs(cat), [11, 295, 102, UNKNOWN_CALL, 252]);
        assert_eq!(
            sh.calls.iter().map(|c| c.failed).collect::<Vec<_>>(),
            [false, false, true, false, false, false, false]
        );
        assert!(cat.calls[1].failed);
        // a split call counts at its start
        assert_eq!(sh.calls[4].t_ms, Some(1_700_000_000_000));
        assert_eq!(t.unknown.get("frobnicate"), Some(&1));
        let w = windows(cat);
        assert_eq!(w.len(), 1);
        let (calls, win) = &w[0];
        assert_eq!(calls.len(), 5);
        assert_eq!(
            (win.syscalls, win.failed_syscalls, win.network_connections),
            (5, 1, 1)
        );
        assert_eq!((win.file_accesses, win.privilege_attempts), (1, 1));
        assert_eq!(win.end_ms, 1_700_000_000_001);
    }

    #[test]
    fn without_pids_or_times_and_with_pid_brackets() {
        let plain = "read(3, \"x\", 1) = 1\nclose(3) = 0\n";
        let (t, _) = parse_str(plain, &ReadOptions::default()).unwrap();
        assert_eq!(t.processes.len(), 1);
        assert_eq!(t.processes[0].pid, None);
        let w = windows(&t.processes[0]);
        assert_eq!(w[0].1.end_ms, 1000, "one second per window without -ttt");
        let timed = "1700000000.5 brk(NULL) = 0x55\n[pid  7] 1700000001.25 getpid() = 7\n";
        let (t, _) = parse_str(timed, &ReadOptions::default()).unwrap();
        assert_eq!(t.processes.len(), 2);
        assert_eq!(t.processes[1].pid, Some(7));
        assert_eq!(t.processes[1].calls[0].t_ms, Some(1_700_000_001_250));
        let long: String = (0..WINDOW + 1)
            .map(|i| format!("9 {}.0 getpid() = 9\n", 1_700_000_000 + i))
            .collect();
        let (t, _) = parse_str(&long, &ReadOptions::default()).unwrap();
        let w = windows(&t.processes[0]);
        assert_eq!(w.len(), 2);
        assert_eq!(w[1].1.end_ms, (1_700_000_000 + WINDOW as u64) * 1000);
    }

    #[test]
    fn malformed_lines_name_line_and_field() {
        let cases = [
            (
                "1 1700000000.1 read(3, \"abc\", 3) = 3\n1 1700000000.2 read(3, \"ab",
                2,
                "result",
            ),
            ("1 1700000000.1 read(3) 3\n", 1, "result"),
            ("1 17:00:01 read(3) = 3\n", 1, "time"),
            ("1 1700000000.1 not a call\n", 1, "call"),
            ("1 1700000000.1 <... read>) = 3\n", 1, "call"),
            ("[pid x] read(3) = 3\n", 1, "pid"),
        ];
        for (text, line, field) in cases {
            let e = parse_str(text, &ReadOptions::default()).unwrap_err();
            assert_eq!(
                (e.line, e.field.as_deref()),
                (Some(line), Some(field)),
                "{text}"
            );
        }
        let (t, skips) = parse_str(&format!("{FORKED}garbage\n"), &skipping()).unwrap();
        assert_eq!((skips.count, t.processes.len()), (1, 2));
        let e = parse_str("+++ exited with 0 +++\n", &ReadOptions::default()).unwrap_err();
        assert!(e.message.contains("no system calls"), "{e}");
    }

    #[test]
    fn labels_come_from_attack_folders_and_names() {
        let root = Path::new("/data/traces");
        let cases = [
            ("/data/traces/ls.strace", ThreatType::None),
            (
                "/data/traces/attack_brute_force/hydra.1",
                ThreatType::BruteForce,
            ),
            (
                "/data/traces/attack_backdoor_2.strace",
                ThreatType::Backdoor,
            ),
            (
                "/data/traces/Attack_Privilege_Escalation-x/a/b.txt",
                ThreatType::PrivilegeEscalation,
            ),
        ];
        for (file, want) in cases {
            assert_eq!(label(root, Path::new(file)).unwrap(), want, "{file}");
        }
        let under = Path::new("/d/attack_ransomware");
        assert_eq!(
            label(under, &under.join("x.strace")).unwrap(),
            ThreatType::Ransomware
        );
        let e = label(root, Path::new("/data/traces/attack_gremlins/x")).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("label"));
    }

    #[test]
    fn a_directory_of_traces_becomes_labelled_rows() {
        let root = std::env::temp_dir().join(format!("aios-strace-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("attack_exfiltration")).unwrap();
        std::fs::write(root.join("normal.strace"), FORKED).unwrap();
        std::fs::write(root.join("attack_exfiltration/a.strace"), FORKED).unwrap();
        std::fs::write(root.join("bad.strace"), "1 1700000000.1 read(\n").unwrap();
        let e = load(&root, &ReadOptions::default()).unwrap_err();
        assert_eq!(e.line, Some(1));
        let l = load(&root, &skipping()).unwrap();
        assert_eq!(l.skipped, 2, "the bad line and its callless file");
        // per file: sh and cat, one window each
        assert_eq!(l.data.len(), 4);
        assert_eq!(l.data.target(0)[0], ThreatType::Exfiltration as u8 as f32);
        assert_eq!(l.data.target(3)[0], ThreatType::None as u8 as f32);
        assert_eq!(l.data.group, [0, 1, 2, 3]);
        assert!(l.warnings[0].contains("frobnicate ×2"), "{:?}", l.warnings);
        let order = inference_core::features::threat::field::TRIGRAMS;
        assert!(l.data.row(0)[order].iter().any(|&x| x != 0));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
