//! The `trainer` command line.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use inference_core::{Model, ModelKind};
use serde_json::json;

use trainer::cachesim::CacheConfig;
use trainer::data::ReadOptions;
use trainer::evaluate::EvalOptions;
use trainer::pipeline::{self, Trained};
use trainer::registry::{write_atomic, Registry};
use trainer::task::Params;

mod signing_cmd;

#[derive(Parser)]
#[command(
    name = "trainer",
    version,
    about = "Train, export and inspect aios-ml models"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train models and publish them to the registry (all four on synthetic data by default).
    Train {
        /// Model to train: workload, threat, failure, memory or all.
        #[arg(long, default_value = "all")]
        model: String,
        /// Training epochs.
        #[arg(long, default_value_t = 50)]
        epochs: usize,
        /// Share of the data held out for validation (split by series/process/component).
        #[arg(long, default_value_t = 0.2)]
        val_split: f64,
        /// Samples per model (default: per-model, at least 12000).
        #[arg(long)]
        samples: Option<usize>,
        /// Seed of data generation, initialisation and shuffling.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Registry folder.
        #[arg(long, default_value = "models")]
        out: PathBuf,
        /// Data source, repeatable: synthetic, jsonl:PATH, nab:PATH, adfa:PATH, lackey:PATH.
        #[arg(long, default_value = "synthetic")]
        data: Vec<String>,
        /// NAB anomaly windows (anomaly_windows.json), for failure data from NAB series.
        #[arg(long)]
        windows: Option<PathBuf>,
        /// Skip malformed rows (and report how many) instead of stopping at the first.
        #[arg(long)]
        skip_bad_rows: bool,
        /// Print a machine-readable JSON summary on stdout (human output goes to stderr).
        #[arg(long)]
        json: bool,
        /// Sign the published blobs with this private key (default: $AIOS_SIGNING_KEY, if set).
        #[arg(long)]
        sign_key: Option<PathBuf>,
    },
    /// Run a model blob (int8, through inference-core) on data and print its metrics beside
    /// the baselines.
    Evaluate {
        /// The blob to evaluate.
        #[arg(long)]
        model_file: PathBuf,
        /// Data source, repeatable (as for train).
        #[arg(long, required = true)]
        data: Vec<String>,
        /// NAB anomaly windows, for failure data from NAB series.
        #[arg(long)]
        windows: Option<PathBuf>,
        /// Skip malformed rows instead of stopping at the first.
        #[arg(long)]
        skip_bad_rows: bool,
        /// Cache size in bytes (memory model).
        #[arg(long, default_value_t = 32 * 1024)]
        cache_size: usize,
        /// Cache associativity.
        #[arg(long, default_value_t = 8)]
        cache_ways: usize,
        /// Cache line in bytes.
        #[arg(long, default_value_t = 64)]
        cache_line: usize,
        /// Stop after this many memory accesses.
        #[arg(long)]
        max_accesses: Option<u64>,
        /// Lowest probability (per-mille) at which the memory model prefetches (20 was best on
        /// the training programs of docs/EVALUATION.md).
        #[arg(long, default_value_t = 20)]
        min_probability: u16,
        /// Samples of synthetic data.
        #[arg(long)]
        samples: Option<usize>,
        /// Seed of synthetic data (differs from training's default on purpose).
        #[arg(long, default_value_t = 4242)]
        seed: u64,
        /// Print one JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Collect live telemetry from this host's /proc into JSONL records (Ctrl-C keeps what
    /// was written).
    Collect {
        /// Model whose records to collect: workload, threat or failure.
        #[arg(long)]
        model: String,
        /// How long, e.g. 60s, 5m.
        #[arg(long, default_value = "60s")]
        duration: String,
        /// Sampling interval, e.g. 1s, 500ms.
        #[arg(long, default_value = "1s")]
        interval: String,
        /// Output file (appended).
        #[arg(long)]
        out: PathBuf,
        /// Anonymisation key file (default ~/.config/aios-ml/anon.key; env AIOS_ANON_KEY wins).
        #[arg(long)]
        key_file: Option<PathBuf>,
    },
    /// Print a blob's header, shapes, quantization and metadata, and verify its CRC.
    Inspect {
        /// Blob file.
        file: PathBuf,
    },
    /// Rebuild the built-in default models (fixed seed, creation time 0) into a folder.
    /// They are never signed: they are part of the trusted image, and must stay reproducible.
    ExportDefaults {
        /// Output folder.
        #[arg(long, default_value = "inference-core/models")]
        out: PathBuf,
    },
    /// Generate an Ed25519 signing key pair: DIR/aios-signing.key (mode 0600) and
    /// DIR/aios-signing.pub.
    Keygen {
        /// Folder for the key files.
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign a blob (replacing any previous signature) in place, or into --out.
    Sign {
        /// Blob file.
        file: PathBuf,
        /// Private key file (from keygen).
        #[arg(long)]
        key: PathBuf,
        /// Write the signed blob here instead of replacing FILE.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Verify a blob as the kernel does with a key and signatures required.
    Verify {
        /// Blob file.
        file: PathBuf,
        /// Public key file (from keygen).
        #[arg(long = "pub")]
        public: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train {
            model,
            epochs,
            val_split,
            samples,
            seed,
            out,
            data,
            windows,
            skip_bad_rows,
            json,
            sign_key,
        } => {
            let ro = ReadOptions {
                skip_bad_rows,
                windows,
                max_samples: samples,
            };
            trainer::signing::configured_key(sign_key.as_deref()).and_then(|key| {
                train(
                    &model,
                    epochs,
                    val_split,
                    samples,
                    seed,
                    &out,
                    &data,
                    &ro,
                    json,
                    key.as_ref(),
                )
            })
        }
        Command::Evaluate {
            model_file,
            data,
            windows,
            skip_bad_rows,
            cache_size,
            cache_ways,
            cache_line,
            max_accesses,
            min_probability,
            samples,
            seed,
            json,
        } => {
            let ro = ReadOptions {
                skip_bad_rows,
                windows,
                max_samples: samples,
            };
            let eo = EvalOptions {
                cache: CacheConfig {
                    size: cache_size,
                    ways: cache_ways,
                    line: cache_line,
                },
                max_accesses: max_accesses.unwrap_or(u64::MAX),
                min_probability,
                samples,
                seed,
            };
            evaluate_cmd(&model_file, &data, &ro, &eo, json)
        }
        Command::Inspect { file } => inspect(&file),
        Command::Collect {
            model,
            duration,
            interval,
            out,
            key_file,
        } => collect_cmd(&model, &duration, &interval, &out, key_file),
        Command::ExportDefaults { out } => export_defaults(&out),
        Command::Keygen { out } => signing_cmd::keygen(&out),
        Command::Sign { file, key, out } => signing_cmd::sign(&file, &key, out.as_deref()),
        Command::Verify { file, public } => signing_cmd::verify(&file, &public),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn kinds(model: &str) -> Result<Vec<ModelKind>, String> {
    if model == "all" {
        return Ok(ModelKind::ALL.to_vec());
    }
    model
        .split(',')
        .map(|m| {
            ModelKind::from_name(m.trim()).ok_or_else(|| {
                format!("unknown model '{m}': expected workload, threat, failure, memory or all")
            })
        })
        .collect()
}

fn struct_name(kind: ModelKind) -> &'static str {
    match kind {
        ModelKind::Workload => "WorkloadPredictor",
        ModelKind::Threat => "ThreatDetector",
        ModelKind::Failure => "FailurePredictor",
        ModelKind::Memory => "MemoryPredictor",
    }
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.3}")).unwrap_or_else(|| "-".into())
}

#[allow(clippy::too_many_arguments)]
fn train(
    model: &str,
    epochs: usize,
    val_split: f64,
    samples: Option<usize>,
    seed: u64,
    out: &Path,
    data: &[String],
    ro: &ReadOptions,
    json_out: bool,
    sign_key: Option<&trainer::signing::SigningKey>,
) -> Result<(), String> {
    let start = Instant::now();
    let kinds = kinds(model)?;
    let params = Params::default().with_epochs(epochs).with_seed(seed);
    params.validate()?;
    if samples == Some(0) {
        return Err("--samples must be at least 1".into());
    }
    let mut human: Box<dyn Write> = if json_out {
        Box::new(std::io::stderr())
    } else {
        Box::new(std::io::stdout())
    };
    let tty = if json_out {
        std::io::stderr().is_terminal()
    } else {
        std::io::stdout().is_terminal()
    };
    let registry = Registry::open(out).map_err(|e| e.to_string())?;
    let w = |h: &mut Box<dyn Write>, s: String| {
        let _ = writeln!(h, "{s}");
    };
    w(&mut human, "aios-ml trainer".into());
    w(
        &mut human,
        format!(
            "  models: {}  epochs: {epochs}  validation: {:.0}%  seed: {seed}  registry: {}",
            kinds
                .iter()
                .map(|k| k.name())
                .collect::<Vec<_>>()
                .join(", "),
            val_split * 100.0,
            out.display()
        ),
    );
    w(&mut human, String::new());
    w(&mut human, "Step 1: Collecting training data".into());
    let mut sets = Vec::new();
    for &k in &kinds {
        let (d, skipped) = trainer::evaluate::load_all(k, data, ro, samples, seed)?;
        if skipped > 0 {
            w(
                &mut human,
                format!("  {:<9} skipped {skipped} malformed row(s)", k.name()),
            );
        }
        w(
            &mut human,
            format!("  {:<9} {:>7} samples ({})", k.name(), d.len(), d.source),
        );
        sets.push(d);
    }
    w(&mut human, String::new());
    w(&mut human, "Step 2: Training".into());
    let mut summary = Vec::new();
    for d in &sets {
        let kind = d.kind;
        let version = registry.next_version(kind);
        let created = now_s();
        w(
            &mut human,
            format!("Training {}... on {} samples", struct_name(kind), d.len()),
        );
        let metric_name = trainer::metrics::headline_name(kind);
        let bar = tty.then(|| {
            let b = ProgressBar::new(epochs as u64);
            b.set_style(
                ProgressStyle::with_template("  [{bar:30}] {pos}/{len} epochs {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b
        });
        let mut lines = Vec::new();
        let trained = pipeline::train(d, &params, val_split, version, created, |e| {
            let line = format!(
                "  Epoch {}/{} - loss {:.4} val_loss {:.4} {metric_name} {:.3}",
                e.epoch, epochs, e.loss, e.val_loss, e.metric
            );
            match &bar {
                Some(b) => {
                    b.set_message(format!("{metric_name} {:.3}", e.metric));
                    b.inc(1);
                }
                None => lines.push(line),
            }
        })
        .map_err(|e| format!("{kind}: {e}"))?;
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        for l in lines {
            w(&mut human, l);
        }
        let entry = trained.manifest_entry(d, &params, val_split, created);
        let blob = trainer::signing::maybe_sign(&trained.blob, sign_key)?;
        let path = registry
            .publish(kind, version, &blob, entry.clone(), &mut |_| {})
            .map_err(|e| e.to_string())?;
        w(&mut human, final_line(&trained, metric_name, &path));
        summary.push(json!({
            "model": kind.name(),
            "version": version,
            "path": path.display().to_string(),
            "entry": entry,
        }));
    }
    let secs = start.elapsed().as_secs_f64();
    w(&mut human, String::new());
    w(
        &mut human,
        format!(
            "Done: {} model(s) trained and published to {} in {secs:.2} s",
            kinds.len(),
            registry.root().display()
        ),
    );
    if json_out {
        println!(
            "{}",
            json!({"models": summary, "total_seconds": secs, "registry": out.display().to_string()})
        );
    }
    Ok(())
}

fn final_line(t: &Trained, metric: &str, path: &Path) -> String {
    let last = t.fit.log.get(t.fit.best_epoch.saturating_sub(1));
    let baselines = t
        .baselines
        .iter()
        .map(|b| format!("{} {:.3}", b.name, b.metrics.headline()))
        .collect::<Vec<_>>()
        .join(", ");
    let extra = match t.fit.task.kind {
        ModelKind::Workload => format!(
            " (MAE {} pp, persistence {} pp, skill {})",
            fmt_opt(t.int8.mae_pp),
            fmt_opt(t.int8.persistence_mae_pp),
            fmt_opt(t.int8.skill)
        ),
        ModelKind::Threat => format!(
            " (FPR {}, AUC {}, threshold {})",
            fmt_opt(t.int8.false_positive_rate),
            fmt_opt(t.int8.roc_auc),
            t.int8.threshold_permille.unwrap_or(0)
        ),
        ModelKind::Failure => format!(
            " (detection {}, false alarms {}, median lead {} s)",
            fmt_opt(t.int8.detection_rate),
            fmt_opt(t.int8.false_alarm_rate),
            fmt_opt(t.int8.median_lead_time_s)
        ),
        ModelKind::Memory => String::new(),
    };
    format!(
        "  Final: best epoch {}, loss {:.4}, {metric} {:.3} (f32) / {:.3} (int8){extra}; baselines: {baselines}; blob {} bytes -> {}",
        t.fit.best_epoch,
        last.map(|e| e.loss).unwrap_or(f64::NAN),
        t.fit.val_metrics.headline(),
        t.int8.headline(),
        t.blob.len(),
        path.display()
    )
}

fn inspect(file: &Path) -> Result<(), String> {
    let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let model = Model::from_blob(&bytes).map_err(|e| format!("{}: {e}", file.display()))?;
    let h = model.header();
    let m = model.metadata();
    println!("{}: {} bytes, CRC-32 verified", file.display(), bytes.len());
    if inference_core::signature::split(&bytes).signature.is_some() {
        println!("  signed (Ed25519 trailer, not checked here: trainer verify FILE --pub KEY)");
    }
    println!(
        "  format v{}  kind {}  model version {}  schema {:#010x}",
        inference_core::blob::FORMAT_VERSION,
        model.kind(),
        h.model_version,
        h.schema_id
    );
    println!(
        "  features {}  outputs {}  threshold {} per-mille  MACs {}",
        h.n_features,
        h.n_outputs,
        h.threshold_permille,
        model.macs()
    );
    for (i, l) in model.layers().iter().enumerate() {
        println!(
            "  layer {i}: {} -> {}  {:?}  output zero point {}  weights {} B",
            l.inputs(),
            l.outputs(),
            l.activation(),
            l.output_zero_point(),
            l.macs()
        );
    }
    let q: Vec<String> = (0..model.n_features().min(4))
        .filter_map(|i| model.input_quant(i))
        .map(|(o, r)| {
            format!(
                "(offset {o}, x{:.4})",
                r.multiplier as f64 * 2f64.powi(r.shift as i32 - 31)
            )
        })
        .collect();
    println!("  input quantization (first {}): {}", q.len(), q.join(" "));
    println!(
        "  created {}  train {} / val {} samples  source {}",
        m.created_unix_s, m.train_samples, m.val_samples, m.source
    );
    println!(
        "  {}: f32 {:.3}  int8 {:.3}  baseline {:.3}",
        m.metric,
        m.metric_f32_milli as f64 / 1000.0,
        m.metric_int8_milli as f64 / 1000.0,
        m.baseline_milli as f64 / 1000.0
    );
    Ok(())
}

/// Seed of the built-in models.
const DEFAULT_SEED: u64 = 42;

fn export_defaults(out: &Path) -> Result<(), String> {
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    for kind in ModelKind::ALL {
        let blob = trainer::pipeline::default_blob(kind, DEFAULT_SEED)?;
        let path = out.join(format!("{}.blob", kind.name()));
        write_atomic(&path, &blob, false).map_err(|e| e.to_string())?;
        println!("{}: {} bytes", path.display(), blob.len());
    }
    Ok(())
}

fn evaluate_cmd(
    file: &Path,
    data: &[String],
    ro: &ReadOptions,
    eo: &EvalOptions,
    json_out: bool,
) -> Result<(), String> {
    let blob = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let bar = std::io::stderr().is_terminal().then(|| {
        let b = ProgressBar::new_spinner();
        b.set_style(
            ProgressStyle::with_template("  {spinner} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        b
    });
    let start = Instant::now();
    let v = trainer::evaluate::evaluate(&blob, data, ro, eo, |n| {
        if let Some(b) = &bar {
            b.set_message(format!("{n} evaluated"));
            b.tick();
        }
    })?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if json_out {
        println!("{v}");
    } else {
        println!(
            "{} (evaluated in {:.2} s)",
            file.display(),
            start.elapsed().as_secs_f64()
        );
        if let Some(o) = v.as_object() {
            for (k, val) in o {
                println!("  {k:<40} {val}");
            }
        }
    }
    Ok(())
}

fn collect_cmd(
    model: &str,
    duration: &str,
    interval: &str,
    out: &Path,
    key_file: Option<PathBuf>,
) -> Result<(), String> {
    use trainer::collect;
    let kind = ModelKind::from_name(model)
        .ok_or_else(|| format!("unknown model '{model}': expected workload, threat or failure"))?;
    let duration = collect::parse_duration(duration)?;
    let interval = collect::parse_duration(interval)?;
    let anon = collect::Anonymiser::load(&key_file.unwrap_or_else(collect::default_key_file))?;
    let bar = std::io::stderr().is_terminal().then(|| {
        let b = ProgressBar::new(duration.as_secs().max(1));
        b.set_style(
            ProgressStyle::with_template("  [{bar:30}] {pos}/{len} s {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    });
    eprintln!(
        "collecting {kind} records every {:?} for {:?} into {} (Ctrl-C keeps what was written)",
        interval,
        duration,
        out.display()
    );
    let mut last_report = 0;
    let n = collect::collect(kind, duration, interval, out, &anon, |n, t| match &bar {
        Some(b) => {
            b.set_position(t.as_secs());
            b.set_message(format!("{n} records"));
        }
        None => {
            if t.as_secs() >= last_report + 10 {
                last_report = t.as_secs();
                eprintln!("  {:>4} s: {n} records", t.as_secs());
            }
        }
    })?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    eprintln!("wrote {n} {kind} records to {}", out.display());
    Ok(())
}
