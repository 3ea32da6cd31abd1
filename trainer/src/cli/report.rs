//! `trainer report`: one self-contained HTML file of a registry's training runs.

use std::path::PathBuf;

use trainer::Error;

/// Arguments of `trainer report`.
#[derive(clap::Args)]
pub struct ReportArgs {
    /// Registry folder (as `train --out`).
    #[arg(long, default_value = "models")]
    registry: PathBuf,
    /// Output file [default: REGISTRY/report.html].
    #[arg(long)]
    out: Option<PathBuf>,
    /// `trainer evaluate --json` output of a memory model: drawn as miss reduction per policy.
    #[arg(long, value_name = "FILE")]
    memory_evaluation: Option<PathBuf>,
}

/// Runs `trainer report`.
pub fn run(a: ReportArgs) -> Result<(), Error> {
    let eval = match &a.memory_evaluation {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?;
            Some(
                serde_json::from_str(&text)
                    .map_err(|e| Error::Usage(format!("{}: invalid JSON: {e}", p.display())))?,
            )
        }
        None => None,
    };
    let html = trainer::report::render(&a.registry, eval.as_ref())?;
    let out = a.out.unwrap_or_else(|| a.registry.join("report.html"));
    trainer::registry::write_atomic(&out, html.as_bytes(), false)?;
    println!("{} ({} bytes)", out.display(), html.len());
    Ok(())
}
