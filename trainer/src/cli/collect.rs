//! `trainer collect`: this host's /proc telemetry, or the system calls of one command traced
//! with strace, into JSONL records.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use inference_core::ModelKind;
use trainer::data::collect::{self, Anonymiser};
use trainer::data::prometheus;
use trainer::data::rotate::{LineSink, Rotating, Rotation};
use trainer::data::strace;
use trainer::Error;

use super::common;

/// Arguments of `trainer collect`.
#[derive(clap::Args)]
pub struct CollectArgs {
    /// Model whose records to collect: workload, threat or failure.
    #[arg(long)]
    model: String,
    /// How long, e.g. 60s, 5m, or `forever` (until stopped: a service).
    #[arg(long, default_value = "60s")]
    duration: String,
    /// Sampling interval, e.g. 1s, 500ms.
    #[arg(long, default_value = "1s")]
    interval: String,
    /// Output file (appended); with --rotate-age or --rotate-size, a folder of rotated files
    /// (`<model>-<opened>-<n>.jsonl`, the newest --keep of them) that `--data jsonl:DIR`
    /// reads, the file being written excepted.
    #[arg(long)]
    out: PathBuf,
    /// Start a new file when the current one is this old (e.g. 1h); implies a folder --out.
    #[arg(long)]
    rotate_age: Option<String>,
    /// Start a new file when the current one reaches this many MiB; implies a folder --out.
    #[arg(long)]
    rotate_size: Option<u64>,
    /// Rotated files kept; older ones are deleted.
    #[arg(long, default_value_t = 48)]
    keep: usize,
    /// Anonymisation key file (default ~/.config/aios-ml/anon.key; env AIOS_ANON_KEY wins).
    #[arg(long)]
    key_file: Option<PathBuf>,
    /// Instead of this host's /proc, every host a Prometheus server has node_exporter data of:
    /// `prometheus:http://HOST:9090?range=1h&step=60s&selector=job="node"` (workload,
    /// failure; see docs/DATA.md). The records of the whole range are appended at once.
    #[arg(long, value_name = "SOURCE")]
    from: Option<String>,
    /// Threat only: a command to run under `strace -f -ttt` instead of sampling /proc; one
    /// record per 200 calls of each of its processes, with the calls
    /// (`collect --model threat --out F -- COMMAND ARGS...`).
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<String>,
}

/// Runs `trainer collect --model threat -- COMMAND`.
fn trace(a: &CollectArgs, anon: &Anonymiser) -> Result<(), Error> {
    let out = &a.out;
    eprintln!(
        "tracing `{}` with strace into {}",
        a.command.join(" "),
        out.display()
    );
    let t = collect::trace_command(&a.command, out, anon)?;
    if t.skipped > 0 {
        eprintln!(
            "warning: {} strace line(s) did not parse and were skipped",
            t.skipped
        );
    }
    if !t.unknown.is_empty() {
        eprintln!("warning: {}", strace::unknown_note(&t.unknown));
    }
    let exit = t
        .exit_code
        .map_or("a signal".to_string(), |c| c.to_string());
    eprintln!(
        "wrote {} threat records of {} process(es) to {} (the command exited with {exit})",
        t.records,
        t.processes,
        out.display()
    );
    Ok(())
}

/// Runs `trainer collect --from prometheus:...`: the records of the range, appended to --out.
fn from_remote(a: &CollectArgs, kind: ModelKind, from: &str) -> Result<(), Error> {
    let Some(spec) = from.strip_prefix("prometheus:") else {
        return Err(Error::Usage(format!(
            "--from '{from}': expected prometheus:URL?PARAMS"
        )));
    };
    if !matches!(kind, ModelKind::Workload | ModelKind::Failure) {
        return Err(Error::Usage(format!(
            "collect --from prometheus: has no {kind} records (workload, failure)"
        )));
    }
    let anon = Anonymiser::load(&a.key_file.clone().unwrap_or_else(collect::default_key_file))?;
    let now = trainer::data::time::unix_now() as f64;
    let src = prometheus::Source::parse(spec, now)?;
    eprintln!(
        "asking {} for {kind} records from {} to {} every {} s",
        src.base,
        trainer::data::time::format_utc(src.start as u64),
        trainer::data::time::format_utc(src.end as u64),
        src.step
    );
    let records = prometheus::records(kind, &src, &anon)?;
    collect::check_appendable(kind, &a.out)?;
    let mut sink = trainer::data::rotate::AppendFile::open(&a.out)?;
    for r in &records {
        sink.write_line(&r.to_string())?;
    }
    sink.finish()?;
    eprintln!(
        "wrote {} {kind} records to {}",
        records.len(),
        a.out.display()
    );
    Ok(())
}

/// Runs `trainer collect`.
pub fn run(a: CollectArgs) -> Result<(), Error> {
    let kind = common::kind(&a.model)?;
    if !a.command.is_empty() {
        if kind != ModelKind::Threat {
            return Err(Error::Usage(format!(
                "collect --model {kind} -- COMMAND: only threat records come from a traced command"
            )));
        }
        let anon = Anonymiser::load(&a.key_file.clone().unwrap_or_else(collect::default_key_file))?;
        return trace(&a, &anon);
    }
    if let Some(from) = &a.from {
        return from_remote(&a, kind, from);
    }
    let duration = if a.duration == "forever" {
        Duration::MAX
    } else {
        collect::parse_duration(&a.duration)?
    };
    let interval = collect::parse_duration(&a.interval)?;
    let anon = Anonymiser::load(&a.key_file.clone().unwrap_or_else(collect::default_key_file))?;
    let rotation = match (&a.rotate_age, a.rotate_size) {
        (None, None) => None,
        (age, size) => Some(Rotation {
            max_age: match age {
                Some(s) => collect::parse_duration(s)?,
                None => Duration::MAX,
            },
            max_bytes: size.map_or(u64::MAX, |m| m.saturating_mul(1 << 20)),
            keep: a.keep,
        }),
    };
    let template = "  [{bar:30}] {pos}/{len} s {msg}";
    let on_terminal = std::io::stderr().is_terminal();
    let bar = common::progress(on_terminal, Some(duration.as_secs().max(1)), template);
    let out = &a.out;
    eprintln!(
        "collecting {kind} records every {interval:?} for {} into {} (Ctrl-C keeps what was written)",
        if duration == Duration::MAX {
            "ever".to_string()
        } else {
            format!("{duration:?}")
        },
        out.display()
    );
    let mut last_report = 0;
    let progress = |n: usize, t: Duration| match &bar {
        Some(b) => {
            b.set_position(t.as_secs());
            b.set_message(format!("{n} records"));
        }
        None => {
            // a service logs every 10 minutes, a bounded run every 10 s
            let every = if duration == Duration::MAX { 600 } else { 10 };
            if t.as_secs() >= last_report + every {
                last_report = t.as_secs();
                eprintln!("  {:>4} s: {n} records", t.as_secs());
            }
        }
    };
    let n = match rotation {
        Some(r) => {
            let mut sink = Rotating::open(out, kind, r)?;
            collect::collect_into(kind, duration, interval, &mut sink, &anon, progress)?
        }
        None => collect::collect(kind, duration, interval, out, &anon, progress)?,
    };
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    eprintln!("wrote {n} {kind} records to {}", out.display());
    Ok(())
}
