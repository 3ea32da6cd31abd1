//! `trainer predict`: run a blob, or a registry's current model, on JSONL records and print
//! one prediction per record.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use inference_core::ModelKind;
use trainer::predict::{check_blob, predict};
use trainer::registry::current_path;
use trainer::Error;

use super::common;

/// Arguments of `trainer predict`.
#[derive(clap::Args)]
pub struct PredictArgs {
    /// Blob file to run (or use --registry and --model).
    #[arg(conflicts_with = "registry")]
    blob: Option<PathBuf>,
    /// Registry folder whose current model of --model to run.
    #[arg(long, requires = "model")]
    registry: Option<PathBuf>,
    /// Model: workload, threat or failure (with --registry; with a blob, checked against it).
    #[arg(long)]
    model: Option<String>,
    /// JSONL records (docs/DATA.md), or - for standard input.
    #[arg(long)]
    input: PathBuf,
    /// One JSON object per line instead of text.
    #[arg(long)]
    json: bool,
}

/// The blob to run, where it came from, and its model.
fn blob(a: &PredictArgs) -> Result<(Vec<u8>, PathBuf, ModelKind), Error> {
    let kind = a.model.as_deref().map(common::kind).transpose()?;
    let path = match (&a.blob, &a.registry, kind) {
        (Some(p), _, _) => p.clone(),
        (None, Some(root), Some(k)) => current_path(root, k).ok_or_else(|| {
            Error::Usage(format!(
                "--registry {}: no current {k} model (train one with `trainer train --model {k} --out {}`)",
                root.display(),
                root.display()
            ))
        })?,
        _ => {
            return Err(Error::Usage(
                "predict: give a blob file, or --registry DIR --model KIND".into(),
            ))
        }
    };
    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    let kind = check_blob(&bytes, kind, &path)?;
    Ok((bytes, path, kind))
}

/// Runs `trainer predict`.
pub fn run(a: PredictArgs) -> Result<(), Error> {
    let (bytes, path, kind) = blob(&a)?;
    let input: Box<dyn BufRead> = if a.input == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        let f = std::fs::File::open(&a.input).map_err(|e| Error::io(&a.input, e))?;
        Box::new(BufReader::new(f))
    };
    let origin = if a.input == Path::new("-") {
        PathBuf::from("<stdin>")
    } else {
        a.input.clone()
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let n = predict(kind, &bytes, input, &origin, |p| {
        let line = if a.json {
            p.json.to_string()
        } else {
            format!("{}:{} {} {}", origin.display(), p.line, p.id, p.text)
        };
        writeln!(out, "{line}").map_err(|e| Error::io("<stdout>", e))
    })?;
    eprintln!(
        "{n} {kind} prediction(s) by {} for {}",
        path.display(),
        origin.display()
    );
    Ok(())
}
