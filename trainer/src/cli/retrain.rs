//! `trainer retrain`: one continuous-training cycle per model (or one every `--interval` with
//! `--watch`); the work is in `trainer::retrain`.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;
use trainer::data::collect::parse_duration;
use trainer::data::{load_all, ReadOptions};
use trainer::pipeline::{self, DEFAULT_VAL_SPLIT};
use trainer::registry::signing;
use trainer::registry::Registry;
use trainer::retrain::{self, Rules};
use trainer::train::Params;
use trainer::Error;

use super::common;

/// Arguments of `trainer retrain`.
#[derive(clap::Args)]
pub struct RetrainArgs {
    /// Models: workload, threat, failure, memory, a comma-separated list, or all.
    #[arg(long, default_value = "workload")]
    model: String,
    /// Fresh data, repeatable, as for `train` (e.g. jsonl:DIR, the folder `collect --rotate`
    /// keeps appending to).
    #[arg(long, required = true)]
    data: Vec<String>,
    /// Registry folder.
    #[arg(long, default_value = "models")]
    registry: PathBuf,
    /// How much better the challenger's decision figure must be (minus the MAE in pp for
    /// the workload, ROC AUC for failures on real incidents, the headline otherwise).
    #[arg(long, default_value_t = Rules::default().margin)]
    margin: f64,
    /// How much higher the challenger's false-positive rate may be (threat, failure).
    #[arg(long, default_value_t = Rules::default().max_fpr_increase)]
    max_fpr_increase: f64,
    /// Train the challenger from random weights (default: fine-tune the current model).
    #[arg(long)]
    scratch: bool,
    /// Workload: train on a tree ensemble's predictions (as `train --distill`; `auto`: real
    /// data only).
    #[arg(long, default_value = "auto", value_parser = ["auto", "on", "off"])]
    distill: String,
    /// Training epochs of the challenger.
    #[arg(long, default_value_t = Params::default().epochs)]
    epochs: usize,
    /// Share of the fresh data held out to judge champion and challenger on.
    #[arg(long, default_value_t = DEFAULT_VAL_SPLIT)]
    val_split: f64,
    /// Samples per model (synthetic data; a cap for real data).
    #[arg(long)]
    samples: Option<usize>,
    /// Seed of the challenger's initialisation, shuffling and the held-out split.
    #[arg(long, default_value_t = Params::default().seed)]
    seed: u64,
    /// Skip malformed rows (and report how many) instead of stopping at the first.
    #[arg(long)]
    skip_bad_rows: bool,
    /// NAB anomaly windows, for failure data from NAB series.
    #[arg(long)]
    windows: Option<PathBuf>,
    /// Sign what is published with this private key (default: $AIOS_SIGNING_KEY, if set).
    #[arg(long)]
    sign_key: Option<PathBuf>,
    /// Repeat the cycle every --interval until stopped (a failed cycle is reported and the
    /// next one still runs).
    #[arg(long)]
    watch: bool,
    /// Time between cycles with --watch (e.g. 1h, 30m).
    #[arg(long, default_value = "1h")]
    interval: String,
    /// Print each decision as one JSON line.
    #[arg(long)]
    json: bool,
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Runs `trainer retrain`.
pub fn run(a: RetrainArgs) -> Result<(), Error> {
    let interval = parse_duration(&a.interval)?;
    if !a.watch {
        return cycle(&a);
    }
    loop {
        if let Err(e) = cycle(&a) {
            eprintln!("error: {e} (next cycle in {})", a.interval);
        }
        std::thread::sleep(interval.max(Duration::from_secs(1)));
    }
}

fn cycle(a: &RetrainArgs) -> Result<(), Error> {
    let kinds = common::kinds(&a.model)?;
    let distill = match a.distill.as_str() {
        "on" => Some(true),
        "off" => Some(false),
        _ => None,
    };
    let params = Params::default()
        .with_epochs(a.epochs)
        .with_seed(a.seed)
        .with_distill(distill);
    params.validate()?;
    pipeline::check_val_split(a.val_split)?;
    let rules = Rules {
        margin: a.margin,
        max_fpr_increase: a.max_fpr_increase,
        scratch: a.scratch,
    };
    if !(rules.margin.is_finite() && rules.max_fpr_increase.is_finite()) {
        return Err(Error::param("--margin", "must be a finite number"));
    }
    let key = signing::configured_key(a.sign_key.as_deref())?;
    let ro = ReadOptions {
        skip_bad_rows: a.skip_bad_rows,
        windows: a.windows.clone(),
        max_samples: a.samples,
        incident_rows: false,
    };
    let registry = Registry::open(&a.registry)?;
    for kind in kinds {
        let (data, _) = load_all(kind, &a.data, &ro, a.samples, a.seed)?;
        let o = retrain::cycle(
            &registry,
            &data,
            &params,
            a.val_split,
            &rules,
            key.as_ref(),
            now_s(),
        )
        .map_err(|e| e.in_model(kind))?;
        let champ = o.champion.as_ref();
        if a.json {
            println!(
                "{}",
                json!({
                    "model": kind.name(),
                    "published": o.published,
                    "reason": o.reason,
                    "warm_start": o.warm,
                    "champion": champ.map(|c| json!({"version": c.version, "metrics": c.metrics})),
                    "challenger": {"version": o.challenger.version, "metrics": o.challenger.metrics},
                })
            );
        } else {
            let verdict = match o.published {
                Some(v) => format!("published v{v}"),
                None => "kept the champion".to_string(),
            };
            println!(
                "{}: {verdict}: {} ({} challenger{}, judged on {} samples of {})",
                kind.name(),
                o.reason,
                if o.warm { "fine-tuned" } else { "from-scratch" },
                champ.map_or(String::new(), |c| format!(" against v{}", c.version)),
                o.challenger.metrics.samples,
                data.source
            );
        }
    }
    Ok(())
}
