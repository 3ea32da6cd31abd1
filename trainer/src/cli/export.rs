//! `trainer export-defaults`: rebuild the built-in models, reproducibly.

use std::path::PathBuf;

use inference_core::ModelKind;
use trainer::registry::write_atomic;
use trainer::Error;

/// Arguments of `trainer export-defaults`.
#[derive(clap::Args)]
pub struct ExportArgs {
    /// Output folder.
    #[arg(long, default_value = "inference-core/models")]
    out: PathBuf,
}

/// Runs `trainer export-defaults`.
pub fn run(a: ExportArgs) -> Result<(), Error> {
    std::fs::create_dir_all(&a.out).map_err(|e| Error::io(&a.out, e))?;
    for kind in ModelKind::ALL {
        let blob = trainer::pipeline::default_blob(kind)?;
        let path = a.out.join(format!("{}.blob", kind.name()));
        write_atomic(&path, &blob, false)?;
        println!("{}: {} bytes", path.display(), blob.len());
    }
    Ok(())
}
