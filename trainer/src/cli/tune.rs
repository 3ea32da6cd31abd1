//! `trainer tune`: random search of the training parameters, scored by cross-validation that
//! keeps series, processes, components or programs apart (`trainer::train::tune`).

use std::fmt::Write as _;
use std::path::PathBuf;

use trainer::data::collect::parse_duration;
use trainer::data::{load_all, ReadOptions};
use trainer::registry::write_atomic;
use trainer::train::tune::{self, TuneOptions, Tuned};
use trainer::Error;

use super::common;

/// Arguments of `trainer tune`.
#[derive(clap::Args)]
pub struct TuneArgs {
    /// Model to tune: workload, threat, failure or memory.
    #[arg(long)]
    model: String,
    /// Data source, repeatable (as `train --data`).
    #[arg(long, default_value = "synthetic")]
    data: Vec<String>,
    /// Trials at most, the defaults (trial 0) included.
    #[arg(long, default_value_t = 20)]
    trials: usize,
    /// Start no trial after this long (e.g. 90s, 10m).
    #[arg(long, default_value = "10m")]
    time_budget: String,
    /// Cross-validation folds; groups (series, processes, components, programs) are shuffled
    /// and dealt to them, so no group is in training and validation at once.
    #[arg(long, default_value_t = 3)]
    folds: usize,
    /// Partitions into folds (the groups shuffled anew for each, with seeds `seed`, `seed +
    /// 1`, …); a trial is scored on every fold of every partition. For data of a few dozen
    /// incidents or sessions, where which groups a fold holds moves its score.
    #[arg(long, default_value_t = 1)]
    repeats: usize,
    /// Seed of the draws and of every fit.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Fits per fold (seeds `seed`, `seed + 1`, …), a fold scored by their mean: for small
    /// data, where one fit's score moves with the seed more than with the parameters.
    #[arg(long, default_value_t = 1)]
    seeds: usize,
    /// Most multiply-accumulates a candidate may have [default: the default network's, so the
    /// measured prediction latency holds].
    #[arg(long)]
    max_macs: Option<usize>,
    /// Samples (synthetic data), or a cap per real source.
    #[arg(long)]
    samples: Option<usize>,
    /// Smallest gain over the defaults, relative to their score, for a trial to replace them
    /// (it must also be no worse on any fold, or with `--repeats` on any partition's mean);
    /// otherwise the defaults are written.
    #[arg(long, default_value_t = 0.01)]
    min_gain: f64,
    /// Folder for `tune-MODEL.csv` (every trial) and `params-MODEL.json` (the chosen, for
    /// `train --params`).
    #[arg(long, default_value = "tune")]
    out: PathBuf,
}

/// Runs `trainer tune`.
pub fn run(a: TuneArgs) -> Result<(), Error> {
    let kind = common::kind(&a.model)?;
    let repeats = a.repeats.max(1);
    let time_budget = parse_duration(&a.time_budget)?;
    let ro = ReadOptions {
        max_samples: a.samples,
        ..ReadOptions::default()
    };
    let (data, _) = load_all(kind, &a.data, &ro, a.samples, a.seed)?;
    let opts = TuneOptions {
        trials: a.trials,
        time_budget,
        folds: a.folds,
        seed: a.seed,
        max_macs: a.max_macs,
        val_split: trainer::pipeline::DEFAULT_VAL_SPLIT,
        seeds: a.seeds,
        repeats,
    };
    let name = tune::score_name(kind);
    println!(
        "tuning {} on {} ({} samples): {} folds by group x {} partition(s), {} fit(s) per fold, \
         up to {} trials or {:?}; score {name} of the int8 model on the held-out fold",
        kind.name(),
        data.source,
        data.len(),
        a.folds,
        repeats,
        a.seeds.max(1),
        a.trials,
        time_budget
    );
    let trials =
        tune::tune(&data, &opts, |t| {
            println!(
            "  trial {:>3}  hidden {:<8} epochs {:>3} batch {:>3} lr {:.5} wd {:.1e}  MACs {:>5}  \
             {name} {:>8.4} (folds {})  {:.0} s{}",
            t.id,
            format!("{:?}", t.params.hidden),
            t.params.epochs,
            t.params.batch_size,
            t.params.learning_rate,
            t.params.weight_decay,
            t.macs,
            t.score,
            t.fold_scores
                .iter()
                .map(|s| format!("{s:.4}"))
                .collect::<Vec<_>>()
                .join(" "),
            t.seconds,
            t.note.as_ref().map(|n| format!("  ({n})")).unwrap_or_default()
        );
        })?;
    std::fs::create_dir_all(&a.out).map_err(|e| Error::io(&a.out, e))?;
    let mut csv = format!(
        "trial,hidden,epochs,batch_size,learning_rate,weight_decay,macs,blob_bytes,{name},{}\n",
        (0..a.folds * repeats)
            .map(|f| format!("fold{f}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    for t in &trials {
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{},{},{},{},{}",
            t.id,
            t.params
                .hidden
                .iter()
                .map(|w| w.to_string())
                .collect::<Vec<_>>()
                .join("-"),
            t.params.epochs,
            t.params.batch_size,
            t.params.learning_rate,
            t.params.weight_decay,
            t.macs,
            t.blob_bytes,
            t.score,
            t.fold_scores
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(",")
        );
    }
    let table = a.out.join(format!("tune-{}.csv", kind.name()));
    write_atomic(&table, csv.as_bytes(), false)?;
    let best = tune::chosen(&trials, a.min_gain, a.folds).ok_or_else(|| {
        Error::Usage("no trial completed on every fold (see the table)".to_string())
    })?;
    let defaults = &trials[0];
    let params = a.out.join(format!("params-{}.json", kind.name()));
    let out = serde_json::json!({
        "model": best.params.model,
        "hidden": best.params.hidden,
        "epochs": best.params.epochs,
        "batch_size": best.params.batch_size,
        "learning_rate": best.params.learning_rate,
        "weight_decay": best.params.weight_decay,
        "trial": best.id,
        "score_name": name,
        "cv_score": best.score,
        "defaults_cv_score": defaults.score,
        "folds": a.folds,
        "repeats": repeats,
        "data": data.source,
        "seed": a.seed,
        "seeds": a.seeds,
    });
    write_atomic(
        &params,
        serde_json::to_string_pretty(&out)
            .unwrap_or_default()
            .as_bytes(),
        false,
    )?;
    println!(
        "chosen: trial {} ({name} {:.4}; defaults {:.4}; a trial must gain {:.1} % on the \
         mean and lose on no {}) -> {}; all trials -> {}",
        best.id,
        best.score,
        defaults.score,
        a.min_gain * 100.0,
        if repeats > 1 { "partition" } else { "fold" },
        params.display(),
        table.display()
    );
    Ok(())
}

/// Reads a `params-MODEL.json` written by `tune`.
pub fn read_params(path: &std::path::Path) -> Result<Tuned, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| {
        Error::Usage(format!(
            "{}: not a tune parameter file: {e}",
            path.display()
        ))
    })
}
