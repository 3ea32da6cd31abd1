//! `trainer keygen`, `sign` and `verify` (kept out of `main.rs`; the work is in
//! `trainer::signing`).

use std::path::Path;

use trainer::registry::write_atomic;
use trainer::signing;

pub fn keygen(out: &Path) -> Result<(), String> {
    let (key, public) = signing::keygen(out)?;
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

pub fn sign(file: &Path, key: &Path, out: Option<&Path>) -> Result<(), String> {
    let k = signing::load_key(key)?;
    let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let signed = signing::sign_blob(&bytes, &k).map_err(|e| format!("{}: {e}", file.display()))?;
    let dest = out.unwrap_or(file);
    write_atomic(dest, &signed, false).map_err(|e| e.to_string())?;
    println!(
        "{}: signed ({} bytes) with key {}",
        dest.display(),
        signed.len(),
        signing::key_hex(&k.public())
    );
    Ok(())
}

pub fn verify(file: &Path, public: &Path) -> Result<(), String> {
    let pk = signing::load_public(public)?;
    let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let m = signing::verify_blob(&bytes, &pk).map_err(|e| format!("{}: {e}", file.display()))?;
    println!(
        "{}: signature OK ({} model, version {}, {} bytes)",
        file.display(),
        m.kind(),
        m.version(),
        bytes.len()
    );
    Ok(())
}
