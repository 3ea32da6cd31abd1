//! How models are judged: metrics, the naive baselines, the threat replay (a model fed its own
//! past scores, as when serving), int8 outputs through inference-core, the prefetch simulator and
//! `trainer evaluate`. The fit loop uses the metrics to choose its best epoch.

pub mod baselines;
pub mod boosting;
pub mod diagnostics;
pub mod evaluate;
pub mod events;
pub mod int8;
pub mod metrics;
pub mod monitor;
pub mod prefetch;
pub mod replay;
pub mod traces;
pub mod workload;
