//! End to end with a real strace: a shell running `ls` and `cat` is traced, imported with the
//! strace source and collected with `collect --model threat -- COMMAND`'s library function.
//! Skipped (with a message) where strace is missing or ptrace is refused.

use std::path::{Path, PathBuf};
use std::process::Command;

use inference_core::features::threat::field::TRIGRAMS;
use inference_core::ModelKind;
use trainer::data::collect::{self, Anonymiser};
use trainer::data::{self, ReadOptions};
use trainer::Error;

const SCRIPT: &str = "ls / >/dev/null; cat /etc/hostname >/dev/null";

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("aios-strace-test-{}-{name}", std::process::id()))
}

/// Traces the script into `out`; `Err` says why strace cannot run here.
fn record(out: &Path) -> Result<(), String> {
    let run = Command::new("strace")
        .args(["-f", "-ttt", "-o"])
        .arg(out)
        .args(["/bin/sh", "-c", SCRIPT])
        .output()
        .map_err(|e| format!("strace cannot be run ({e})"))?;
    let said = String::from_utf8_lossy(&run.stderr);
    let traced = std::fs::metadata(out).map(|m| m.len() > 0).unwrap_or(false);
    if !run.status.success() || !traced {
        return Err(format!(
            "strace does not work here ({}): {said}",
            run.status
        ));
    }
    Ok(())
}

/// Rows and whether some row has non-zero call-order features.
fn rows_with_order(d: &trainer::data::dataset::Dataset) -> (usize, bool) {
    let ordered = (0..d.len()).any(|i| d.row(i)[TRIGRAMS].iter().any(|&x| x != 0));
    (d.len(), ordered)
}

#[test]
fn a_traced_shell_becomes_threat_rows() {
    let trace = temp("sh.strace");
    if let Err(why) = record(&trace) {
        eprintln!("skipped: {why}");
        return;
    }
    let spec = format!("strace:{}", trace.display());
    let l = data::load(ModelKind::Threat, &spec, &ReadOptions::default()).unwrap();
    let (rows, ordered) = rows_with_order(&l.data);
    assert!(rows >= 3, "sh, ls and cat each give a window: {rows}");
    assert!(ordered, "call-order features stay zero");
    let groups: std::collections::BTreeSet<u32> = l.data.group.iter().copied().collect();
    assert!(groups.len() >= 3, "one group per process: {groups:?}");
    std::fs::remove_file(&trace).unwrap();

    let out = temp("collected.jsonl");
    let _ = std::fs::remove_file(&out);
    let anon = Anonymiser::with_key(b"0123456789abcdef");
    let command: Vec<String> = ["/bin/sh", "-c", SCRIPT].map(String::from).to_vec();
    let t = match collect::trace_command(&command, &out, &anon) {
        Err(Error::Tool { message, .. }) => {
            eprintln!("skipped: collect: {message}");
            return;
        }
        r => r.unwrap(),
    };
    assert_eq!(t.exit_code, Some(0));
    assert!(t.processes >= 3 && t.records >= t.processes, "{t:?}");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.lines().all(|l| l.contains("\"calls\":[")));
    assert!(
        !text.contains("hostname"),
        "no arguments or paths are written"
    );
    let spec = format!("jsonl:{}", out.display());
    let back = data::load(ModelKind::Threat, &spec, &ReadOptions::default()).unwrap();
    let (rows, ordered) = rows_with_order(&back.data);
    assert_eq!(rows, t.records);
    assert!(
        ordered,
        "calls read back from JSONL feed the call-order features"
    );
    std::fs::remove_file(&out).unwrap();
}

#[test]
fn a_missing_command_is_a_typed_error() {
    let out = temp("missing.jsonl");
    let anon = Anonymiser::with_key(b"0123456789abcdef");
    let r = collect::trace_command(&[], &out, &anon);
    assert!(matches!(r, Err(Error::Usage(_))), "{r:?}");
    let nowhere = ["/nonexistent/aios-no-such-program".to_string()];
    match collect::trace_command(&nowhere, &out, &anon) {
        Err(Error::Tool { program, message }) => {
            assert_eq!(program, "strace");
            eprintln!("strace refused as expected: {message}");
        }
        r => panic!("{r:?}"),
    }
    assert!(!out.exists(), "nothing is written when nothing was traced");
}
