//! `trainer retrain`: one continuous-training cycle per model (or one every `--interval` with
//! `--watch`); the work is in `trainer::retrain`.

use std::path::PathBuf;
use std::time::Duration;

use trainer::data::time::unix_now;

use serde_json::json;
use trainer::data::collect::parse_duration;
use trainer::data::load_all;
use trainer::registry::signing;
use trainer::registry::Registry;
use trainer::retrain::{self, Rules};
use trainer::Error;

use super::common;

/// Arguments of `trainer retrain`.
#[derive(clap::Args)]
pub struct RetrainArgs {
    /// Models: workload, threat, failure, memory, a comma-separated list, or all.
    #[arg(long, default_value = "workload")]
    model: String,
    #[command(flatten)]
    fit: common::FitArgs,
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
    let params = a.fit.params()?;
    let rules = Rules {
        margin: a.margin,
        max_fpr_increase: a.max_fpr_increase,
        scratch: a.scratch,
    };
    if !(rules.margin.is_finite() && rules.max_fpr_increase.is_finite()) {
        return Err(Error::param("--margin", "must be a finite number"));
    }
    let key = signing::configured_key(a.sign_key.as_deref())?;
    let ro = a.fit.read_options();
    let registry = Registry::open(&a.registry)?;
    for kind in kinds {
        // `--params FILE` (from `trainer tune`) for the kind it was found for
        let params = a.fit.params_for(params.clone(), kind)?;
        let (data, _) = load_all(kind, &a.data, &ro, a.fit.samples, a.fit.seed)?;
        let o = retrain::cycle(
            &registry,
            &data,
            &params,
            a.fit.val_split,
            &rules,
            key.as_ref(),
            unix_now(),
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
