//! What several commands share: model names and progress display.

use indicatif::{ProgressBar, ProgressStyle};
use inference_core::ModelKind;
use std::path::PathBuf;

use trainer::data::ReadOptions;
use trainer::pipeline::DEFAULT_VAL_SPLIT;
use trainer::train::Params;
use trainer::Error;

/// What `train` and `retrain` share: how the network is fitted, and how data is read.
#[derive(clap::Args)]
pub struct FitArgs {
    /// Training epochs [default: 50, or the --params file's].
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Parameters found by `trainer tune` (`params-MODEL.json`): widths, epochs, batch size,
    /// learning rate and weight decay of that model (other models keep the defaults; an
    /// explicit --epochs wins; a warm start keeps its model's widths).
    #[arg(long, value_name = "FILE")]
    pub params: Option<PathBuf>,
    /// Share of the data held out for validation (split by series/process/component), in
    /// (0, 0.9): 0 is refused, since a model without validation figures cannot be judged.
    /// `retrain` judges champion and challenger on it.
    #[arg(long, default_value_t = DEFAULT_VAL_SPLIT)]
    pub val_split: f64,
    /// Samples per model (synthetic data: default per model, 12000 to 50000); for real data a
    /// cap per source, the samples kept evenly spaced over it.
    #[arg(long)]
    pub samples: Option<usize>,
    /// Seed of data generation, initialisation, shuffling and the validation split.
    #[arg(long, default_value_t = Params::default().seed)]
    pub seed: u64,
    /// Workload: train the network on the conditional medians of a tree ensemble with
    /// absolute-error loss fitted to the same training data (`auto`: on real data, not on
    /// synthetic data).
    #[arg(long, default_value = "auto", value_parser = ["auto", "on", "off"])]
    pub distill: String,
    /// NAB anomaly windows (anomaly_windows.json), for failure data from NAB series.
    #[arg(long)]
    pub windows: Option<PathBuf>,
    /// Skip malformed rows (and report how many) instead of stopping at the first.
    #[arg(long)]
    pub skip_bad_rows: bool,
    /// Threads per fit (0: every core): each mini-batch is cut into this many gradient shards,
    /// computed in parallel and summed in a fixed order. A run is reproducible for a given
    /// seed and thread count; 1 gives the results of single-threaded versions.
    #[arg(long, default_value_t = Params::default().threads)]
    pub threads: usize,
    /// Workload and threat: distil a seed ensemble of this many networks into the published
    /// one (same size and cost; training takes this many times longer). 1: no ensemble.
    /// Default: workload 3 on real data, 1 on synthetic data; threat 1.
    #[arg(long)]
    pub ensemble: Option<usize>,
    /// Samples per Adam step [default: 64, or the --params file's].
    #[arg(long)]
    pub batch_size: Option<usize>,
}

impl FitArgs {
    /// The training parameters, validated (and `--val-split`, `--samples` checked).
    pub fn params(&self) -> Result<Params, Error> {
        let distill = match self.distill.as_str() {
            "on" => Some(true),
            "off" => Some(false),
            _ => None,
        };
        let threads = match self.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let mut params = Params::default()
            .with_epochs(self.epochs.unwrap_or(Params::default().epochs))
            .with_seed(self.seed)
            .with_distill(distill)
            .with_threads(threads);
        params.ensemble = self.ensemble;
        if let Some(b) = self.batch_size {
            params.batch_size = b;
        }
        params.validate()?;
        trainer::pipeline::check_val_split(self.val_split)?;
        if self.samples == Some(0) {
            return Err(Error::param("--samples", "must be at least 1"));
        }
        Ok(params)
    }

    /// `params` for `kind`, with the `--params` file's values if the file is for `kind`.
    pub fn params_for(&self, params: Params, kind: ModelKind) -> Result<Params, Error> {
        let Some(path) = &self.params else {
            return Ok(params);
        };
        let tuned = super::tune::read_params(path)?;
        if tuned.model != kind.name() {
            return Ok(params);
        }
        let mut p = tuned.apply(params);
        if let Some(e) = self.epochs {
            p.epochs = e;
        }
        if let Some(b) = self.batch_size {
            p.batch_size = b;
        }
        p.validate()
            .map_err(|e| Error::Usage(format!("{}: {e}", path.display())))?;
        Ok(p)
    }

    /// How `--data` is read.
    pub fn read_options(&self) -> ReadOptions {
        ReadOptions {
            skip_bad_rows: self.skip_bad_rows,
            windows: self.windows.clone(),
            max_samples: self.samples,
            incident_rows: false,
        }
    }
}

/// The models named by `--model` (`all` or a comma-separated list).
pub fn kinds(model: &str) -> Result<Vec<ModelKind>, Error> {
    if model == "all" {
        return Ok(ModelKind::ALL.to_vec());
    }
    model.split(',').map(|m| kind(m.trim())).collect()
}

/// One model by name.
pub fn kind(name: &str) -> Result<ModelKind, Error> {
    ModelKind::from_name(name).ok_or_else(|| {
        Error::Usage(format!(
            "unknown model '{name}': expected workload, threat, failure, memory or all"
        ))
    })
}

/// A progress bar (`len` steps) or spinner (`len` `None`) drawn with `template`, only when
/// `on_terminal` (piped output gets plain lines instead).
pub fn progress(on_terminal: bool, len: Option<u64>, template: &str) -> Option<ProgressBar> {
    on_terminal.then(|| {
        let (bar, fallback) = match len {
            Some(n) => (ProgressBar::new(n), ProgressStyle::default_bar()),
            None => (ProgressBar::new_spinner(), ProgressStyle::default_spinner()),
        };
        bar.set_style(ProgressStyle::with_template(template).unwrap_or(fallback));
        bar
    })
}
