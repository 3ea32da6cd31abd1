//! `trainer evaluate`: a blob's int8 metrics on data, beside the baselines.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use trainer::data::ReadOptions;
use trainer::eval::cachesim::CacheConfig;
use trainer::eval::evaluate::{evaluate, EvalOptions};
use trainer::Error;

use super::common;

/// Arguments of `trainer evaluate`.
#[derive(clap::Args)]
pub struct EvaluateArgs {
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
    #[arg(long, default_value_t = CacheConfig::default().size)]
    cache_size: usize,
    /// Cache associativity.
    #[arg(long, default_value_t = CacheConfig::default().ways)]
    cache_ways: usize,
    /// Cache line in bytes.
    #[arg(long, default_value_t = CacheConfig::default().line)]
    cache_line: usize,
    /// Stop after this many memory accesses.
    #[arg(long)]
    max_accesses: Option<u64>,
    /// Lowest probability (per-mille) at which the memory model prefetches a proposal
    /// (default: the blob's operating threshold).
    #[arg(long)]
    min_probability: Option<u16>,
    /// Samples of synthetic data.
    #[arg(long)]
    samples: Option<usize>,
    /// Seed of synthetic data (differs from training's default on purpose).
    #[arg(long, default_value_t = EvalOptions::default().seed)]
    seed: u64,
    /// Data the fitted baselines learn from, repeatable: the model's own training data, never
    /// the evaluated data (threat: STIDE and logistic regression from adfa:PATH; workload:
    /// linear AR and random forest, e.g. from bitbrains:PATH).
    #[arg(long)]
    baseline_data: Vec<String>,
    /// Print one JSON object on stdout.
    #[arg(long)]
    json: bool,
}

/// Runs `trainer evaluate`.
pub fn run(a: EvaluateArgs) -> Result<(), Error> {
    let ro = ReadOptions {
        skip_bad_rows: a.skip_bad_rows,
        windows: a.windows,
        max_samples: a.samples,
    };
    let eo = EvalOptions {
        cache: CacheConfig {
            size: a.cache_size,
            ways: a.cache_ways,
            line: a.cache_line,
        },
        max_accesses: a.max_accesses.unwrap_or(u64::MAX),
        min_probability: a.min_probability,
        samples: a.samples,
        seed: a.seed,
        baseline_data: a.baseline_data,
    };
    let file = &a.model_file;
    let blob = std::fs::read(file).map_err(|e| Error::io(file, e))?;
    let bar = common::progress(std::io::stderr().is_terminal(), None, "  {spinner} {msg}");
    let start = Instant::now();
    let v = evaluate(&blob, &a.data, &ro, &eo, |n| {
        if let Some(b) = &bar {
            b.set_message(format!("{n} evaluated"));
            b.tick();
        }
    })
    .map_err(|e| e.with_path(file))?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if a.json {
        println!("{v}");
        return Ok(());
    }
    let secs = start.elapsed().as_secs_f64();
    println!("{} (evaluated in {secs:.2} s)", file.display());
    if let Some(o) = v.as_object() {
        for (k, val) in o {
            println!("  {k:<40} {val}");
        }
    }
    Ok(())
}
