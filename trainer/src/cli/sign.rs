//! `trainer keygen`, `sign` and `verify`; the work is in `trainer::registry::signing`.

use std::path::PathBuf;

use trainer::registry::signing;
use trainer::registry::write_atomic;
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
    /// Write the signed blob here instead of replacing FILE.
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
    let k = signing::load_key(&a.key)?;
    let file = &a.file;
    let bytes = std::fs::read(file).map_err(|e| Error::io(file, e))?;
    let signed = signing::sign_blob(&bytes, &k).map_err(|e| e.with_path(file))?;
    let dest = a.out.as_ref().unwrap_or(file);
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
