//! `trainer keygen`, `sign` and `verify`; the work is in `trainer::registry::signing`.

use std::path::PathBuf;

use trainer::registry::signing;
use trainer::registry::{parent_dir, published_version, write_atomic};
use trainer::Error;

/// Arguments of `trainer keygen`.
#[derive(clap::Args)]
pub struct KeygenArgs {
    /// Folder for the key files.
    #[arg(long)]
    out: PathBuf,
}

/// Arguments of `trainer sign`.
#[derive(clap::Args)]
pub struct SignArgs {
    /// Blob file.
    file: PathBuf,
    /// Private key file (from keygen).
    #[arg(long)]
    key: PathBuf,
    /// Write the signed blob here instead of replacing FILE (required for a registry's
    /// published version: those are never rewritten).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Arguments of `trainer verify`.
#[derive(clap::Args)]
pub struct VerifyArgs {
    /// Blob file.
    file: PathBuf,
    /// Public key file (from keygen).
    #[arg(long = "pub")]
    public: PathBuf,
}

/// Runs `trainer keygen`.
pub fn keygen(a: KeygenArgs) -> Result<(), Error> {
    let (key, public) = signing::keygen(&a.out)?;
    let pk = signing::load_public(&public)?;
    println!(
        "private key: {} (mode 0600, keep it off the target)",
        key.display()
    );
    println!(
        "public key:  {} = {}",
        public.display(),
        signing::key_hex(&pk)
    );
    Ok(())
}

/// Runs `trainer sign`.
pub fn sign(a: SignArgs) -> Result<(), Error> {
    let file = &a.file;
    let dest = a.out.as_ref().unwrap_or(file);
    // a published version is described by its manifest entry (SHA-256, size, signed): signing
    // it in place would silently make the registry lie about it
    if let Some(v) = published_version(dest) {
        let model = parent_dir(dest)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "model".into());
        return Err(Error::Usage(format!(
            "{}: is published version v{v} of a registry (its manifest.json records the blob's \
             SHA-256 and size), and published versions are never rewritten; write a signed \
             copy elsewhere with --out (e.g. --out signed-{model}.blob), or retrain with \
             --sign-key to publish a signed version",
            dest.display()
        )));
    }
    let k = signing::load_key(&a.key)?;
    let bytes = std::fs::read(file).map_err(|e| Error::io(file, e))?;
    let signed = signing::sign_blob(&bytes, &k).map_err(|e| e.with_path(file))?;
    write_atomic(dest, &signed, false)?;
    println!(
        "{}: signed ({} bytes) with key {}",
        dest.display(),
        signed.len(),
        signing::key_hex(&k.public())
    );
    Ok(())
}

/// Runs `trainer verify`.
pub fn verify(a: VerifyArgs) -> Result<(), Error> {
    let pk = signing::load_public(&a.public)?;
    let file = &a.file;
    let bytes = std::fs::read(file).map_err(|e| Error::io(file, e))?;
    let m = signing::verify_blob(&bytes, &pk).map_err(|e| e.with_path(file))?;
    println!(
        "{}: signature OK ({} model, version {}, {} bytes)",
        file.display(),
        m.kind(),
        m.version(),
        bytes.len()
    );
    Ok(())
}
