//! `trainer evaluate`: a blob's int8 metrics on data, beside the baselines.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use serde_json::Value;
use trainer::data::ReadOptions;
use trainer::eval::evaluate::{evaluate, EvalOptions};
use trainer::eval::prefetch::CacheConfig;
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
    /// Cache size in bytes (memory model, line level).
    #[arg(long, default_value_t = CacheConfig::default().size)]
    cache_size: usize,
    /// Cache associativity.
    #[arg(long, default_value_t = CacheConfig::default().ways)]
    cache_ways: usize,
    /// Cache line in bytes.
    #[arg(long, default_value_t = CacheConfig::default().line)]
    cache_line: usize,
    /// Resident 4 KiB page frames (memory model, page level). The default, 128 KiB, is a fifth
    /// of the median footprint of the recorded programs, so every one of them re-faults pages
    /// (docs/EVALUATION.md).
    #[arg(long, default_value_t = EvalOptions::default().resident_pages)]
    resident_pages: usize,
    /// Stop each trace file after this many memory accesses.
    #[arg(long)]
    max_accesses: Option<u64>,
    /// Lowest probability (per-mille) at which the memory model prefetches a proposal
    /// (default: the blob's operating threshold).
    #[arg(long)]
    min_probability: Option<u16>,
    /// Samples of synthetic data; for real training-side data (--baseline-data) a cap per
    /// source, evenly spaced; lackey traces: samples per trace.
    #[arg(long)]
    samples: Option<usize>,
    /// Seed of synthetic data (differs from training's default on purpose).
    #[arg(long, default_value_t = EvalOptions::default().seed)]
    seed: u64,
    /// Data the fitted baselines learn from, repeatable: the model's own training data, never
    /// the evaluated data (threat: STIDE and logistic regression from adfa:PATH; workload:
    /// linear AR, random forest and gradient boosting, e.g. from bitbrains:PATH).
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
        incident_rows: false,
    };
    let eo = EvalOptions {
        cache: CacheConfig {
            size: a.cache_size,
            ways: a.cache_ways,
            line: a.cache_line,
        },
        resident_pages: a.resident_pages,
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
            if !matches!(k.as_str(), "programs" | "line" | "page") {
                println!("  {k:<40} {val}");
            }
        }
    }
    if v.get("programs").is_some() {
        print_prefetch_tables(&v);
    }
    Ok(())
}

/// Memory: one table per level, program x policy.
fn print_prefetch_tables(v: &Value) {
    let empty = Vec::new();
    let programs = v["programs"].as_array().unwrap_or(&empty);
    for (level, title) in [
        (
            "line",
            format!(
                "line level: {} B cache, {}-way, {} B lines, LRU",
                v["cache"]["size"], v["cache"]["ways"], v["cache"]["line"]
            ),
        ),
        (
            "page",
            format!(
                "page level: {} resident 4 KiB pages, LRU",
                v["resident_pages"]
            ),
        ),
    ] {
        println!("\n{title}");
        println!(
            "  {:<12} {:<16} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10}",
            "program",
            "policy",
            "miss_red",
            "accuracy",
            "coverage",
            "traffic",
            "hit_rate",
            "misses"
        );
        let rows = programs
            .iter()
            .map(|p| (short_name(p["data"].as_str().unwrap_or("")), &p[level]))
            .chain(std::iter::once(("all".to_string(), &v[level])));
        for (name, figures) in rows {
            let Some(policies) = figures.as_object() else {
                continue;
            };
            // JSON objects come back sorted by key; show the reference first and the model last
            const ORDER: [&str; 8] = [
                "none",
                "next_line",
                "pc_stride",
                "next_line_stride",
                "best_offset",
                "next_page",
                "readahead",
                "leap",
            ];
            let mut policies: Vec<_> = policies.iter().collect();
            policies.sort_by_key(|(p, _)| ORDER.iter().position(|o| o == p).unwrap_or(ORDER.len()));
            for (policy, f) in policies {
                let num = |k: &str| f[k].as_f64().unwrap_or(f64::NAN);
                println!(
                    "  {:<12} {:<16} {:>9.3} {:>9.3} {:>9.3} {:>+9.3} {:>9.4} {:>10}",
                    name,
                    policy,
                    num("miss_reduction"),
                    num("prefetch_accuracy"),
                    num("coverage"),
                    num("extra_traffic"),
                    num("hit_rate"),
                    f["misses"]
                );
            }
        }
    }
}

/// `/tmp/traces/bzip2.lackey.gz` -> `bzip2`.
fn short_name(path: &str) -> String {
    let file = std::path::Path::new(path)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    file.split('.').next().unwrap_or_default().to_string()
}
