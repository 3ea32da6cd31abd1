//! Training hyperparameters, separate from the algorithm and validated before fitting (the way
//! linfa splits `hyperparams.rs` from the fit). Defaults are written once, in [`Default`].

use crate::error::Error;

/// Workload networks in the seed ensemble distilled into the published one on real data, when
/// [`Params::ensemble`] is not set: chosen by leave-series-out CV of the NAB training series
/// and leave-VMs-out CV of the Bitbrains training VMs (docs/EVALUATION.md, "Ensembles").
pub const AUTO_ENSEMBLE: usize = 3;

/// Training hyperparameters (validated before training).
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// Passes over the training data.
    pub epochs: usize,
    /// Samples per Adam step.
    pub batch_size: usize,
    /// Adam learning rate.
    pub learning_rate: f32,
    /// Decoupled weight decay.
    pub weight_decay: f32,
    /// Seed of initialisation and shuffling.
    pub seed: u64,
    /// Workload only: train the network on the changes a tree ensemble with absolute-error
    /// loss predicts on the training data (distillation) instead of the observed ones. `None`
    /// (the default) distils real data and not synthetic data.
    pub distill: Option<bool>,
    /// Warm start: the published model training starts from, and the layers it keeps.
    pub init: Option<super::warm::Init>,
    /// Hidden-layer widths (`None`: the kind's default, [`super::task::hidden`]); a warm start
    /// keeps the shape of the model it starts from.
    pub hidden: Option<Vec<usize>>,
    /// Gradient shards of each mini-batch, computed on as many threads and summed in a fixed
    /// order: a run is reproducible for a given seed and thread count (1: one core, the
    /// results of earlier versions).
    pub threads: usize,
    /// Workload and threat: train this many networks with seeds `seed + 1 …`, and the final
    /// one (seed `seed`) on their mean prediction (workload) or mean class probabilities
    /// (threat) instead of the targets (seed ensemble distilled into one network of the same
    /// size: the blob and its cost do not change). 1: none; `None` (the default): workload
    /// [`AUTO_ENSEMBLE`] on real data and none on synthetic data, threat none.
    pub ensemble: Option<usize>,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            epochs: 50,
            batch_size: 64,
            learning_rate: 3e-3,
            weight_decay: 1e-4,
            seed: 42,
            distill: None,
            init: None,
            hidden: None,
            threads: 1,
            ensemble: None,
        }
    }
}

impl Params {
    /// Sets the number of epochs.
    pub fn with_epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }
    /// Sets the seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Starts training from a published model (see [`super::warm`]).
    pub fn with_init(mut self, init: Option<super::warm::Init>) -> Self {
        self.init = init;
        self
    }
    /// Sets the distillation of the workload model (`None`: real data only).
    pub fn with_distill(mut self, distill: Option<bool>) -> Self {
        self.distill = distill;
        self
    }

    /// Sets the hidden-layer widths (`None`: the kind's default).
    pub fn with_hidden(mut self, hidden: Option<Vec<usize>>) -> Self {
        self.hidden = hidden;
        self
    }

    /// Sets the number of gradient shards (threads) per mini-batch.
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// Checks the values; the error names the bad one.
    pub fn validate(&self) -> Result<(), Error> {
        if let Some(got @ (0 | 65..)) = self.ensemble {
            return Err(Error::param(
                "ensemble",
                format!("must be 1..=64, got {got}"),
            ));
        }
        if self.threads == 0 || self.threads > 1024 {
            let got = self.threads;
            return Err(Error::param(
                "threads",
                format!("must be 1..=1024, got {got}"),
            ));
        }
        if let Some(h) = &self.hidden {
            let max_hidden = inference_core::blob::MAX_LAYERS - 1;
            if h.is_empty()
                || h.len() > max_hidden
                || h.iter()
                    .any(|&w| w == 0 || w > inference_core::blob::MAX_WIDTH)
            {
                return Err(Error::param(
                    "hidden",
                    format!(
                        "must be 1 to {max_hidden} widths of 1..={} each, got {h:?}",
                        inference_core::blob::MAX_WIDTH
                    ),
                ));
            }
        }
        if self.epochs == 0 || self.epochs > 100_000 {
            let got = self.epochs;
            return Err(Error::param(
                "epochs",
                format!("must be 1..=100000, got {got}"),
            ));
        }
        if self.batch_size == 0 || self.batch_size > 1 << 20 {
            let got = self.batch_size;
            return Err(Error::param(
                "batch_size",
                format!("must be 1..=1048576, got {got}"),
            ));
        }
        let lr = self.learning_rate;
        if !(lr.is_finite() && lr > 0.0 && lr < 1.0) {
            return Err(Error::param(
                "learning_rate",
                format!("must be in (0, 1), got {lr}"),
            ));
        }
        let wd = self.weight_decay;
        if !(wd.is_finite() && (0.0..1.0).contains(&wd)) {
            return Err(Error::param(
                "weight_decay",
                format!("must be in [0, 1), got {wd}"),
            ));
        }
        Ok(())
    }
}
