//! # trainer
//!
//! Host-side half of aios-ml: synthetic and real data, f32 training (ndarray), int8
//! quantization into inference-core's blob format, a versioned registry, and evaluation beside
//! naive baselines. Features are computed by `inference_core::features`, the same code that
//! serves predictions.
//!
//! The folders follow the pipeline, and each only imports the ones before it:
//! [`data`] (where samples come from) → [`eval`] (how they are judged: metrics, baselines,
//! replay, the cache simulator) → [`train`] (the network and how it is fitted) → [`quantize`]
//! (float network → int8 blob) → [`registry`] (versions, manifest, signatures) → [`pipeline`]
//! (the one place that strings them together) → [`retrain`] (the continuous-training cycle:
//! challenger against champion). The command line is in `src/cli/`.

pub mod data;
pub mod error;
pub mod eval;
pub mod monitor;
pub mod pipeline;
pub mod predict;
pub mod quantize;
pub mod registry;
pub mod report;
pub mod retrain;
pub mod rng;
pub mod train;

pub use error::{Error, Result};
