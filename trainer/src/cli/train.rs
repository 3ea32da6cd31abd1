//! `trainer train`: load data, train, quantize and publish each model, printing the progress
//! and the final figures beside the baselines.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use trainer::data::time::unix_now;

use inference_core::ModelKind;
use serde_json::{json, Value};

use trainer::data::dataset::Dataset;
use trainer::data::load_all;
use trainer::eval::metrics::headline_name;
use trainer::pipeline::{self, Trained};
use trainer::registry::signing::{self, SigningKey};
use trainer::registry::{self, Registry};
use trainer::train::warm::Init;
use trainer::train::Params;
use trainer::Error;

use super::common;

/// Arguments of `trainer train`.
#[derive(clap::Args)]
pub struct TrainArgs {
    /// Model to train: workload, threat, failure, memory or all.
    #[arg(long, default_value = "all")]
    model: String,
    #[command(flatten)]
    fit: common::FitArgs,
    /// Registry folder.
    #[arg(long, default_value = "models")]
    out: PathBuf,
    /// Data source, repeatable: synthetic, jsonl:PATH, nab:PATH, bitbrains:PATH, adfa:PATH,
    /// lackey:PATH.
    #[arg(long, default_value = "synthetic")]
    data: Vec<String>,
    /// Print a machine-readable JSON summary on stdout (human output goes to stderr).
    #[arg(long)]
    json: bool,
    /// Publish a model even when its validation headline metric is undefined (e.g. no attack
    /// among the validation processes); without it such a run fails and publishes nothing.
    #[arg(long)]
    allow_worse: bool,
    /// Sign the published blobs with this private key (default: $AIOS_SIGNING_KEY, if set).
    #[arg(long)]
    sign_key: Option<PathBuf>,
    /// Warm start (fine-tuning): start from the registry's current model of each kind
    /// (`current`) or from a blob file (one model only) instead of random weights; same kind,
    /// feature schema and shape, refused otherwise. Keeps that model's input quantization.
    #[arg(long, value_name = "current|FILE")]
    init_from: Option<String>,
    /// With --init-from: leave the first N layers as they are (0: fine-tune every layer).
    #[arg(long, default_value_t = 0, requires = "init_from")]
    freeze: usize,
    /// Workload only, one `--data parquet:FILE`: train from the file in two streamed passes
    /// instead of loading it, for fleet-sized files (10⁷ samples train in about 0.6 GiB). No
    /// tree distillation or level augmentation (see docs/SCALE.md).
    #[arg(long)]
    stream: bool,
}

/// What one model is trained on.
#[derive(Clone, Copy)]
enum Input<'a> {
    /// Samples loaded in memory.
    Loaded(&'a Dataset),
    /// A Parquet telemetry file read in streamed passes.
    Streamed(&'a Path),
}

/// Human output: stdout, or stderr when stdout carries the JSON summary.
struct Console {
    out: Box<dyn Write>,
    tty: bool,
}

impl Console {
    fn new(json: bool) -> Console {
        if json {
            let tty = std::io::stderr().is_terminal();
            Console {
                out: Box::new(std::io::stderr()),
                tty,
            }
        } else {
            let tty = std::io::stdout().is_terminal();
            Console {
                out: Box::new(std::io::stdout()),
                tty,
            }
        }
    }

    fn line(&mut self, s: impl AsRef<str>) {
        let _ = writeln!(self.out, "{}", s.as_ref());
    }
}

/// Runs `trainer train`.
pub fn run(a: TrainArgs) -> Result<(), Error> {
    let start = Instant::now();
    let sign_key = signing::configured_key(a.sign_key.as_deref())?;
    let kinds = common::kinds(&a.model)?;
    let params = a.fit.params()?;
    let ro = a.fit.read_options();
    if a.out.is_file() {
        return Err(Error::Usage(format!(
            "--out {} is a file, not a registry folder",
            a.out.display()
        )));
    }
    let mut con = Console::new(a.json);
    let registry = Registry::open(&a.out)?;
    con.line("aios-ml trainer");
    let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
    con.line(format!(
        "  models: {}  epochs: {}  validation: {:.0}%  seed: {}  registry: {}",
        names.join(", "),
        params.epochs,
        a.fit.val_split * 100.0,
        a.fit.seed,
        a.out.display()
    ));
    if a.stream {
        return run_streamed(a, con, &registry, &params, sign_key.as_ref(), start);
    }
    con.line("");
    con.line("Step 1: Collecting training data");
    let mut sets = Vec::new();
    for &k in &kinds {
        let (d, skipped) = load_all(k, &a.data, &ro, a.fit.samples, a.fit.seed)?;
        if skipped > 0 {
            con.line(format!(
                "  {:<9} skipped {skipped} malformed row(s)",
                k.name()
            ));
        }
        con.line(format!(
            "  {:<9} {:>7} samples ({})",
            k.name(),
            d.len(),
            d.source
        ));
        sets.push(d);
    }
    // refuse too little data before any model is trained
    for d in &sets {
        pipeline::check_data(d, a.fit.val_split, params.seed)?;
    }
    con.line("");
    con.line("Step 2: Training");
    // every model is trained and judged before any is published: a refused model leaves the
    // registry as it was
    let mut ready = Vec::new();
    for d in &sets {
        let params = a.fit.params_for(params.clone(), d.kind)?.with_init(init(
            &a,
            &registry,
            d.kind,
            kinds.len(),
        )?);
        let r = train_one(
            &mut con,
            &registry,
            Input::Loaded(d),
            &params,
            &a,
            sign_key.as_ref(),
        )
        .map_err(|e| e.in_model(d.kind))?;
        ready.push(r);
    }
    publish(&a, con, &registry, ready, start)
}

/// `train --stream`: the workload model from one Parquet file, streamed.
fn run_streamed(
    a: TrainArgs,
    mut con: Console,
    registry: &Registry,
    params: &Params,
    sign_key: Option<&SigningKey>,
    start: Instant,
) -> Result<(), Error> {
    let path = match (a.model.as_str(), a.data.as_slice()) {
        ("workload", [one]) => one.strip_prefix("parquet:").map(PathBuf::from),
        _ => None,
    }
    .ok_or_else(|| {
        Error::Usage("--stream trains --model workload from one --data parquet:FILE".into())
    })?;
    let params = a
        .fit
        .params_for(params.clone(), ModelKind::Workload)?
        .with_init(init(&a, registry, ModelKind::Workload, 1)?);
    con.line("");
    con.line(format!(
        "Streaming {} ({} thread(s))",
        path.display(),
        params.threads
    ));
    let r = train_one(
        &mut con,
        registry,
        Input::Streamed(&path),
        &params,
        &a,
        sign_key,
    )
    .map_err(|e| e.in_model(ModelKind::Workload))?;
    publish(&a, con, registry, vec![r], start)
}

/// Publishes models trained and judged, and prints the summary.
fn publish(
    a: &TrainArgs,
    mut con: Console,
    registry: &Registry,
    ready: Vec<Ready>,
    start: Instant,
) -> Result<(), Error> {
    let n = ready.len();
    let mut summary = Vec::new();
    for r in ready {
        let path = registry
            .publish(r.kind, r.version, &r.blob, r.entry.clone(), &mut |_| {})
            .map_err(|e| Error::from(e).in_model(r.kind))?;
        summary.push(json!({
            "model": r.kind.name(),
            "version": r.version,
            "path": path.display().to_string(),
            "entry": r.entry,
        }));
    }
    let secs = start.elapsed().as_secs_f64();
    con.line("");
    con.line(format!(
        "Done: {n} model(s) trained and published to {} in {secs:.2} s",
        registry.root().display()
    ));
    if a.json {
        let out = a.out.display().to_string();
        println!(
            "{}",
            json!({"models": summary, "total_seconds": secs, "registry": out})
        );
    }
    Ok(())
}

/// The warm start of `kind` that `--init-from` asks for, if any.
fn init(
    a: &TrainArgs,
    registry: &Registry,
    kind: ModelKind,
    n_models: usize,
) -> Result<Option<Init>, Error> {
    let Some(from) = a.init_from.as_deref() else {
        return Ok(None);
    };
    let path = if from == "current" {
        registry.current(kind).ok_or_else(|| {
            Error::Usage(format!(
                "--init-from current: {} has no current {} model to start from",
                registry.root().display(),
                kind.name()
            ))
        })?
    } else {
        if n_models > 1 {
            return Err(Error::Usage(format!(
                "--init-from {from}: a blob file starts one model; pick it with --model"
            )));
        }
        PathBuf::from(from)
    };
    let blob = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    Ok(Some(Init {
        blob,
        source: path.display().to_string(),
        freeze: a.freeze,
    }))
}

/// A trained, judged and signed model, ready to publish.
struct Ready {
    kind: ModelKind,
    version: u32,
    blob: Vec<u8>,
    entry: Value,
}

/// Trains, judges and signs one model (publishing is left to the caller). A model whose
/// validation headline is undefined, or that does worse than a naive baseline, is refused
/// unless `--allow-worse` is given.
fn train_one(
    con: &mut Console,
    registry: &Registry,
    input: Input<'_>,
    params: &Params,
    a: &TrainArgs,
    sign_key: Option<&SigningKey>,
) -> Result<Ready, Error> {
    let kind = match input {
        Input::Loaded(d) => d.kind,
        Input::Streamed(_) => ModelKind::Workload,
    };
    let version = registry.next_version(kind);
    let created = unix_now();
    match input {
        Input::Loaded(d) => con.line(format!(
            "Training {}... on {} samples",
            struct_name(kind),
            d.len()
        )),
        Input::Streamed(p) => con.line(format!(
            "Training {}... on {}",
            struct_name(kind),
            p.display()
        )),
    }
    let metric_name = headline_name(kind);
    let template = "  [{bar:30}] {pos}/{len} epochs {msg}";
    let bar = common::progress(con.tty, Some(params.epochs as u64), template);
    // each epoch is printed as it ends (above the bar on a terminal, so the history stays)
    let on_epoch = |e: &trainer::train::EpochLog| {
        let line = format!(
            "  Epoch {}/{} - loss {} val_loss {} {metric_name} {}",
            e.epoch,
            params.epochs,
            fmt_n(Some(e.loss), 4),
            fmt_n(Some(e.val_loss), 4),
            fmt_opt(Some(e.metric))
        );
        match &bar {
            Some(b) => {
                b.println(line);
                b.set_message(format!("{metric_name} {}", fmt_opt(Some(e.metric))));
                b.inc(1);
            }
            None => con.line(line),
        }
    };
    let trained = match input {
        Input::Loaded(d) => pipeline::train(d, params, a.fit.val_split, version, created, on_epoch),
        Input::Streamed(p) => pipeline::train_streamed(
            p,
            &a.fit.read_options(),
            params,
            a.fit.val_split,
            version,
            created,
            on_epoch,
        ),
    }?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let mut entry = trained.manifest_entry(params, a.fit.val_split, created);
    let blob = signing::sign_for_publish(&trained.blob, sign_key, &mut entry)?;
    // the entry describes the bytes on disk (signed or not), as publish records them
    registry::describe_published(&mut entry, &blob);
    let undefined = trained.refusal();
    let path = match &undefined {
        Some(_) if !a.allow_worse => PathBuf::from("(not published)"),
        _ => registry.blob_path(kind, version),
    };
    con.line(final_line(&trained, metric_name, &blob, &path));
    if let Some(why) = undefined {
        if !a.allow_worse {
            return Err(Error::Refused {
                kind,
                message: format!(
                    "{why}: not published (give more or more varied data, or --allow-worse to publish it anyway)"
                ),
            });
        }
        con.line(format!(
            "  warning: {why}; published anyway (--allow-worse)"
        ));
    }
    Ok(Ready {
        kind,
        version,
        blob,
        entry,
    })
}

fn struct_name(kind: ModelKind) -> &'static str {
    match kind {
        ModelKind::Workload => "WorkloadPredictor",
        ModelKind::Threat => "ThreatDetector",
        ModelKind::Failure => "FailurePredictor",
        ModelKind::Memory => "MemoryPredictor",
    }
}

/// A figure with `digits` decimals, or `n/a` when it is undefined (missing, NaN, infinite).
fn fmt_n(v: Option<f64>, digits: usize) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x:.digits$}"),
        _ => "n/a".into(),
    }
}

fn fmt_opt(v: Option<f64>) -> String {
    fmt_n(v, 3)
}

/// The kind-specific figures of the final line.
fn extra_figures(t: &Trained) -> String {
    let m = &t.int8;
    match t.fit.task.kind {
        ModelKind::Workload => format!(
            " (MAE {} pp, persistence {} pp, skill {}; f32 skill {})",
            fmt_opt(m.mae_pp),
            fmt_opt(m.persistence_mae_pp),
            fmt_opt(m.skill),
            fmt_opt(t.fit.val_metrics.skill)
        ),
        ModelKind::Threat => format!(
            " (FPR {}, AUC {}, threshold {})",
            fmt_opt(m.false_positive_rate),
            fmt_opt(m.roc_auc),
            m.threshold_permille.unwrap_or(0)
        ),
        ModelKind::Failure => format!(
            " (false alarms {}, AUC {}, threshold {}, median lead {} s)",
            fmt_opt(m.false_alarm_rate),
            fmt_opt(m.roc_auc),
            m.threshold_permille.unwrap_or(0),
            fmt_opt(m.median_lead_time_s)
        ),
        ModelKind::Memory => String::new(),
    }
}

/// `blob` is the published file's bytes (signed or not), so the size is the file's.
fn final_line(t: &Trained, metric: &str, blob: &[u8], path: &Path) -> String {
    let last = t.fit.log.get(t.fit.best_epoch.saturating_sub(1));
    let baselines = t
        .baselines
        .iter()
        .map(|b| format!("{} {}", b.name, fmt_opt(Some(b.metrics.headline()))))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "  Final: best epoch {}, loss {}, {metric} {} (f32) / {} (int8){}; baselines: {baselines}; blob {} bytes{} -> {}",
        t.fit.best_epoch,
        fmt_n(last.map(|e| e.loss), 4),
        fmt_opt(Some(t.fit.val_metrics.headline())),
        fmt_opt(Some(t.int8.headline())),
        extra_figures(t),
        blob.len(),
        if inference_core::signature::split(blob).signature.is_some() {
            ", signed"
        } else {
            ""
        },
        path.display()
    )
}
