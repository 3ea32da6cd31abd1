//! # trainer
//!
//! Host-side half of aios-ml: synthetic and real data, f32 training (ndarray), int8
//! quantization into inference-core's blob format, a versioned registry, and evaluation beside
//! naive baselines. Features are computed by `inference_core::features`, the same code that
//! serves predictions.

pub mod baselines;
pub mod cachesim;
pub mod collect;
pub mod data;
pub mod dataset;
pub mod evaluate;
pub mod metrics;
pub mod mlp;
pub mod pipeline;
pub mod quantize;
pub mod registry;
pub mod rng;
pub mod signing;
pub mod synth;
pub mod task;
