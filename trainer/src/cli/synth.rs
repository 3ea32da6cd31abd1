//! `trainer synth`: the workload telemetry of a synthetic fleet as a Parquet file, laid out as
//! the `parquet:` source reads it (what a query engine would export), to try fleet-scale
//! training without a fleet.

use std::path::PathBuf;
use std::time::Instant;

use trainer::data::{parquet, synth};
use trainer::rng::Rng;
use trainer::Error;

/// Arguments of `trainer synth`.
#[derive(clap::Args)]
pub struct SynthArgs {
    /// Output file (Zstd-compressed Parquet; written atomically).
    #[arg(long)]
    out: PathBuf,
    /// Machines (series).
    #[arg(long, default_value_t = 100)]
    machines: usize,
    /// Five-minute samples per machine (2016: one week).
    #[arg(long, default_value_t = 2016)]
    steps: usize,
    /// Seed of the machines' rhythms and noise.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

/// Runs `trainer synth`.
pub fn run(a: SynthArgs) -> Result<(), Error> {
    if a.machines == 0 || a.steps < 2 {
        return Err(Error::Usage(
            "--machines must be at least 1 and --steps at least 2".into(),
        ));
    }
    let start = Instant::now();
    let mut rng = Rng::new(a.seed);
    let series = (0..a.machines).map(|m| {
        let samples = synth::machine(&mut rng.fork(m as u64), a.steps);
        (format!("machine-{m:06}"), samples)
    });
    let rows = parquet::write_telemetry(&a.out, series)?;
    let bytes = std::fs::metadata(&a.out).map_or(0, |m| m.len());
    println!(
        "{rows} rows of {} machines written to {} ({:.1} MiB) in {:.1} s",
        a.machines,
        a.out.display(),
        bytes as f64 / (1 << 20) as f64,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
