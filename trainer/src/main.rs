//! The `trainer` command line: parses the arguments and hands each command to its module in
//! `cli/`. The work itself is in the `trainer` library.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;

#[derive(Parser)]
#[command(
    name = "trainer",
    version,
    about = "Train, export and inspect aios-ml models"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train models and publish them to the registry (all four on synthetic data by default).
    Train(cli::train::TrainArgs),
    /// Run a model blob (int8, through inference-core) on data and print its metrics beside
    /// the baselines.
    Evaluate(cli::evaluate::EvaluateArgs),
    /// Collect live telemetry from this host's /proc into JSONL records (Ctrl-C keeps what
    /// was written).
    Collect(cli::collect::CollectArgs),
    /// Run a blob, or a registry's current model, on JSONL records (a file or - for stdin)
    /// and print one prediction per record.
    Predict(cli::predict::PredictArgs),
    /// Print a blob's header, shapes, quantization and metadata, and verify its CRC.
    Inspect(cli::inspect::InspectArgs),
    /// Rebuild the built-in default models (fixed seed, creation time 0) into a folder.
    /// They are never signed: they are part of the trusted image, and must stay reproducible.
    ExportDefaults(cli::export::ExportArgs),
    /// Generate an Ed25519 signing key pair: DIR/aios-signing.key (mode 0600) and
    /// DIR/aios-signing.pub.
    Keygen(cli::sign::KeygenArgs),
    /// Sign a blob (replacing any previous signature) in place, or into --out (a registry's
    /// published version only into --out: versions are never rewritten).
    Sign(cli::sign::SignArgs),
    /// Verify a blob as the kernel does with a key and signatures required.
    Verify(cli::sign::VerifyArgs),
    /// Write a signed revocation list: key ids devices must no longer trust (aiml_revoke).
    Revoke(cli::sign::RevokeArgs),
    /// The registry's versions: list, show, diff, promote, rollback (a rollback republishes
    /// the older weights under a new version number).
    Models(cli::models::ModelsArgs),
    /// One continuous-training cycle (or one every --interval with --watch): train a
    /// challenger on fresh data, fine-tuned from the current model, judge both on the same
    /// held-out slice, and publish it only if it is better by --margin and no worse on the
    /// guards; each decision goes into the manifest.
    Retrain(cli::retrain::RetrainArgs),
    /// Run the registry's workload and failure models on this host's live telemetry through
    /// the kernel shim and write their health counters as Prometheus metrics for
    /// node_exporter's textfile collector (`aiosml.prom`).
    Monitor(cli::monitor::MonitorArgs),
    /// Write one self-contained HTML file (inline SVG charts, no script) of a registry's
    /// training runs: loss curves, the headline against the baselines per version, ROC and
    /// confusion counts (threat, failure), predicted against actual (workload).
    Report(cli::report::ReportArgs),
    /// Search the training parameters (widths, epochs, batch size, learning rate, weight
    /// decay) within the deployment budget, scored by cross-validation that keeps series,
    /// processes, components or programs apart; writes every trial and the best parameters
    /// (`train --params FILE`).
    Tune(cli::tune::TuneArgs),
    /// Write the workload telemetry of a synthetic fleet as a Parquet file (series, time, cpu,
    /// memory, gpu), the layout `--data parquet:FILE` reads.
    Synth(cli::synth::SynthArgs),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Train(a) => cli::train::run(a),
        Command::Evaluate(a) => cli::evaluate::run(a),
        Command::Collect(a) => cli::collect::run(a),
        Command::Predict(a) => cli::predict::run(a),
        Command::Inspect(a) => cli::inspect::run(a),
        Command::ExportDefaults(a) => cli::export::run(a),
        Command::Keygen(a) => cli::sign::keygen(a),
        Command::Sign(a) => cli::sign::sign(a),
        Command::Verify(a) => cli::sign::verify(a),
        Command::Revoke(a) => cli::sign::revoke(a),
        Command::Models(a) => cli::models::run(a),
        Command::Retrain(a) => cli::retrain::run(a),
        Command::Monitor(a) => cli::monitor::run(a),
        Command::Report(a) => cli::report::run(a),
        Command::Tune(a) => cli::tune::run(a),
        Command::Synth(a) => cli::synth::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
