//! One file per command: its `clap::Args` struct and a `run` that calls the library. Defaults
//! of the library's parameters are read from their `Default`, never written here again.

pub mod collect;
pub mod common;
pub mod evaluate;
pub mod export;
pub mod inspect;
pub mod models;
pub mod monitor;
pub mod predict;
pub mod report;
pub mod retrain;
pub mod sign;
pub mod synth;
pub mod train;
pub mod tune;
