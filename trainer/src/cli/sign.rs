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
    println!(
        "key id:      {} (named by the blobs it signs; give it to `trainer revoke --id`)",
        signing::key_id_hex(&pk)
    );
    Ok(())
}

/// Arguments of `trainer revoke`.
#[derive(clap::Args)]
pub struct RevokeArgs {
    /// Private key file of a key the devices trust for revocation (`aiml_add_key` with
    /// `AIML_KEY_ROLE_REVOCATION`); keep it apart from the model signing keys.
    #[arg(long)]
    key: PathBuf,
    /// Sequence number, higher than that of every list released before (devices refuse a
    /// lower one, so an old list cannot be replayed).
    #[arg(long)]
    sequence: u32,
    /// Key id to retire (16 hex digits, as `keygen` prints). Repeatable. A list replaces
    /// the previous one: name every key still retired.
    #[arg(long = "id", value_parser = parse_key_id)]
    ids: Vec<u64>,
    /// Public key file of a key to retire (its id is computed). Repeatable.
    #[arg(long = "id-of")]
    id_of: Vec<PathBuf>,
    /// Output file (written atomically).
    #[arg(long)]
    out: PathBuf,
}

fn parse_key_id(s: &str) -> Result<u64, String> {
    let t = s.trim().trim_start_matches("0x");
    if t.len() != 16 {
        return Err(format!("{s:?}: a key id is 16 hex digits"));
    }
    u64::from_str_radix(t, 16).map_err(|e| format!("{s:?}: {e}"))
}

/// Runs `trainer revoke`.
pub fn revoke(a: RevokeArgs) -> Result<(), Error> {
    let k = signing::load_key(&a.key)?;
    let mut ids = a.ids.clone();
    for p in &a.id_of {
        ids.push(inference_core::signature::key_id(&signing::load_public(p)?));
    }
    ids.sort_unstable();
    ids.dedup();
    let list = signing::sign_revocation(a.sequence, &ids, &k)?;
    write_atomic(&a.out, &list, false)?;
    println!(
        "{}: revocation list {} ({} bytes) retiring {} key(s){}, signed by key {}",
        a.out.display(),
        a.sequence,
        list.len(),
        ids.len(),
        if ids.is_empty() {
            String::new()
        } else {
            format!(
                " ({})",
                ids.iter()
                    .map(|i| format!("{i:016x}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
        signing::key_id_hex(&k.public())
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
        "{}: signed ({} bytes) with key {} (id {})",
        dest.display(),
        signed.len(),
        signing::key_hex(&k.public()),
        signing::key_id_hex(&k.public())
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
