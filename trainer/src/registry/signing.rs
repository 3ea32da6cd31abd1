//! Ed25519 signing of model blobs: key generation, key files, signing and verification.
//!
//! Key files are a marker line naming their kind ([`PRIVATE_MARKER`] / [`PUBLIC_MARKER`])
//! followed by one line of lower-case hex: the private key file holds the 32-byte seed
//! (mode 0600, refused when group or others may read it), the public key file the 32-byte
//! public key (what a kernel compiles in or passes to `aiml_set_key`). Files of older
//! trainers, the hex line alone, still load; a file of the other kind is refused by name. The signature trailer
//! is specified in `inference-core/BLOB_FORMAT.md`; verification is the very code the kernel
//! runs ([`inference_core::Model::load`]).

use crate::error::{Error, Result};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use ed25519_compact::{KeyPair, Seed};
use inference_core::signature::{self, Policy, PUBLIC_KEY_LEN, SIG2_MAGIC};
use inference_core::Model;

/// Name of the private key file `keygen` writes.
pub const KEY_FILE: &str = "aios-signing.key";
/// Name of the public key file `keygen` writes.
pub const PUB_FILE: &str = "aios-signing.pub";
/// First line of a private key file.
pub const PRIVATE_MARKER: &str = "aios-ml ed25519 private key";
/// First line of a public key file.
pub const PUBLIC_MARKER: &str = "aios-ml ed25519 public key";

/// Which half of a key pair a key file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Private,
    Public,
}

/// Environment variable naming the private key `train` signs with when `--sign-key` is absent.
pub const KEY_ENV: &str = "AIOS_SIGNING_KEY";

/// A private signing key, loaded from its file.
pub struct SigningKey {
    pair: KeyPair,
}

impl SigningKey {
    /// The public half, as the kernel needs it.
    pub fn public(&self) -> [u8; PUBLIC_KEY_LEN] {
        *self.pair.pk
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex32(text: &str, path: &Path) -> Result<[u8; 32]> {
    let t = text.trim();
    let bad = || Error::key(path, "expected 64 hex digits on one line");
    if t.len() != 64 || !t.is_ascii() {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&t[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(out)
}

/// The 32 key bytes of a key file's `text`, which must hold a `want` key: marker line and hex
/// line, or (older files) the hex line alone. A file of the other kind is refused with a
/// message naming the file the option needs.
fn parse_key_file(text: &str, path: &Path, want: KeyKind) -> Result<[u8; 32]> {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let hex_line = match lines.as_slice() {
        [hex] => hex,
        [marker, hex] => {
            let kind = match *marker {
                PRIVATE_MARKER => KeyKind::Private,
                PUBLIC_MARKER => KeyKind::Public,
                other => {
                    return Err(Error::key(
                        path,
                        format!(
                            "unknown key file header {other:?}; expected \"{PRIVATE_MARKER}\" or \"{PUBLIC_MARKER}\""
                        ),
                    ))
                }
            };
            if kind != want {
                return Err(Error::key(
                    path,
                    match want {
                        KeyKind::Private => format!(
                            "is a public key; --key (and --sign-key, {KEY_ENV}) needs the private key file {KEY_FILE}"
                        ),
                        KeyKind::Public => format!(
                            "is a private key; --pub needs the public key file {PUB_FILE} (keep the private key off machines that only verify)"
                        ),
                    },
                ));
            }
            hex
        }
        _ => {
            return Err(Error::key(
                path,
                "expected 64 hex digits on one line (after the key kind line)",
            ))
        }
    };
    unhex32(hex_line, path)
}

/// 32 bytes from the operating system's random source.
fn os_random_32() -> Result<[u8; 32]> {
    let mut seed = [0u8; 32];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut seed))
        .map_err(|e| Error::io("/dev/urandom", e))?;
    Ok(seed)
}

/// Writes `text` to `path`, which must not exist, with `mode`: temporary file (created with
/// that mode, so the secret is never readable by others), fsync, hard link into place.
fn write_new(path: &Path, text: &str, mode: u32) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = super::parent_dir(path);
    let tmp = dir.join(format!(".keygen.{}.tmp", std::process::id()));
    let r = (|| -> std::io::Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        drop(f);
        fs::hard_link(&tmp, path)?;
        fs::remove_file(&tmp)?;
        File::open(dir)?.sync_all()
    })();
    r.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

/// Generates a key pair into `dir` ([`KEY_FILE`] mode 0600, [`PUB_FILE`] mode 0644). Refuses
/// to replace an existing key: losing a signing key is not undoable.
pub fn keygen(dir: &Path) -> Result<(PathBuf, PathBuf)> {
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let (key, public) = (dir.join(KEY_FILE), dir.join(PUB_FILE));
    for p in [&key, &public] {
        if p.exists() {
            return Err(Error::key(p, "already exists; refusing to overwrite a key"));
        }
    }
    let pair = KeyPair::from_seed(Seed::new(os_random_32()?));
    let seed = hex(&pair.sk.seed()[..]);
    write_new(&key, &format!("{PRIVATE_MARKER}\n{seed}\n"), 0o600)?;
    let pk = hex(&pair.pk[..]);
    write_new(&public, &format!("{PUBLIC_MARKER}\n{pk}\n"), 0o644)?;
    Ok((key, public))
}

/// Reads a private key file; refuses a public key file, and one that group or others may read.
pub fn load_key(path: &Path) -> Result<SigningKey> {
    use std::os::unix::fs::PermissionsExt;
    let text = fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    // the kind first: a public key file (mode 0644) is the wrong file, not a loose one
    let seed = parse_key_file(&text, path, KeyKind::Private)?;
    let meta = fs::metadata(path).map_err(|e| Error::io(path, e))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(Error::key(
            path,
            format!("private key is accessible by others (mode {mode:03o}); run chmod 600"),
        ));
    }
    let pair = KeyPair::try_from_seed(Seed::new(seed))
        .map_err(|e| Error::key(path, format!("invalid key: {e}")))?;
    Ok(SigningKey { pair })
}

/// Reads a public key file (refusing a private key file) and checks it is a usable Ed25519
/// key.
pub fn load_public(path: &Path) -> Result<[u8; PUBLIC_KEY_LEN]> {
    let text = fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let key = parse_key_file(&text, path, KeyKind::Public)?;
    if !signature::key_is_valid(&key) {
        return Err(Error::key(path, "not a valid Ed25519 public key"));
    }
    Ok(key)
}

/// The signing key `train` uses: `--sign-key`, else [`KEY_ENV`], else none.
pub fn configured_key(arg: Option<&Path>) -> Result<Option<SigningKey>> {
    let path = match arg {
        Some(p) => Some(p.to_path_buf()),
        None => std::env::var_os(KEY_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from),
    };
    path.map(|p| load_key(&p)).transpose()
}

/// Signs a blob: checks it is a valid v1 blob (signed or not), drops any previous signature,
/// appends the `SIG2` trailer (the key's id and the signature over the v1 blob), and checks
/// the result verifies.
pub fn sign_blob(bytes: &[u8], key: &SigningKey) -> Result<Vec<u8>> {
    Model::from_blob(bytes)?;
    let out = with_sig2(signature::split(bytes).blob, key);
    verify_blob(&out, &key.public())?;
    Ok(out)
}

/// `body` followed by a `SIG2` trailer by `key`.
fn with_sig2(body: &[u8], key: &SigningKey) -> Vec<u8> {
    let sig = key.pair.sk.sign(body, None);
    let mut out = Vec::with_capacity(body.len() + signature::TRAILER2_LEN);
    out.extend_from_slice(body);
    out.extend_from_slice(&SIG2_MAGIC);
    out.extend_from_slice(&signature::key_id(&key.public()).to_le_bytes());
    out.extend_from_slice(&sig[..]);
    out
}

/// A signed revocation list (`inference_core::signature::Revocation`): `ids` retired, with
/// `sequence` (devices accept only a higher one than the last they applied), signed by
/// `key`, which the devices must trust for revocation. Checked by parsing it back.
pub fn sign_revocation(sequence: u32, ids: &[u64], key: &SigningKey) -> Result<Vec<u8>> {
    let mut buf = [0u8; 256];
    let n = signature::encode_revocation(sequence, ids, &mut buf).map_err(|_| {
        Error::Usage(format!(
            "a revocation list names at most {} key ids, got {}",
            signature::MAX_REVOKED,
            ids.len()
        ))
    })?;
    let out = with_sig2(&buf[..n], key);
    let r = signature::Revocation::parse(&out)?;
    r.verify(&key.public())?;
    Ok(out)
}

/// The id of a public key, as printed and as written in `SIG2` trailers: 16 hex digits.
pub fn key_id_hex(key: &[u8; PUBLIC_KEY_LEN]) -> String {
    format!("{:016x}", signature::key_id(key))
}

/// The bytes to publish: `blob` signed when a key is given (and the key's public half
/// recorded as the manifest `entry`'s `signing_public_key`), else unchanged.
pub fn sign_for_publish(
    blob: &[u8],
    key: Option<&SigningKey>,
    entry: &mut serde_json::Value,
) -> Result<Vec<u8>> {
    match key {
        Some(k) => {
            entry["signing_public_key"] = serde_json::json!(key_hex(&k.public()));
            sign_blob(blob, k)
        }
        None => Ok(blob.to_vec()),
    }
}

/// Verifies `bytes` as the kernel does with [`Policy::require`]: signed by `key`, valid blob.
pub fn verify_blob<'a>(bytes: &'a [u8], key: &[u8; PUBLIC_KEY_LEN]) -> Result<Model<'a>> {
    Ok(Model::load(bytes, None, &Policy::require(*key))?)
}

/// Hex of a public key (for messages).
pub fn key_hex(key: &[u8; PUBLIC_KEY_LEN]) -> String {
    hex(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use inference_core::{defaults, LoadError, ModelKind};
    use std::os::unix::fs::PermissionsExt;

    fn tmpdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("aiml-sign-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn keygen_sign_verify_round_trip() {
        let d = tmpdir("rt");
        let (k, p) = keygen(&d).unwrap();
        assert_eq!(
            fs::metadata(&k).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(keygen(&d)
            .unwrap_err()
            .to_string()
            .contains("refusing to overwrite"));
        let key = load_key(&k).unwrap();
        let public = load_public(&p).unwrap();
        assert_eq!(key.public(), public);
        let plain = defaults::blob(ModelKind::Memory);
        let signed = sign_blob(plain, &key).unwrap();
        assert_eq!(&signed[..plain.len()], plain);
        assert!(verify_blob(&signed, &public).unwrap().signature_verified());
        // re-signing replaces the trailer instead of stacking one
        assert_eq!(sign_blob(&signed, &key).unwrap(), signed);
        // unsigned and foreign-signed blobs are refused by verify
        assert!(matches!(
            verify_blob(plain, &public),
            Err(Error::Blob {
                source: LoadError::Unsigned,
                ..
            })
        ));
        let other = keygen(&d.join("other")).unwrap();
        let other_pub = load_public(&other.1).unwrap();
        // the trailer names the signing key: another key is told so, before verifying
        assert!(matches!(
            verify_blob(&signed, &other_pub),
            Err(Error::Blob {
                source: LoadError::WrongKey { .. },
                ..
            })
        ));
        assert_eq!(
            signature::split(&signed).key_id,
            Some(signature::key_id(&public))
        );
        // garbage is not signed
        assert!(sign_blob(b"AIML garbage", &key).is_err());
        // a revocation list: parsed back, verified with the key, ids in order
        let list = sign_revocation(3, &[1, 2], &key).unwrap();
        let r = signature::Revocation::parse(&list).unwrap();
        assert_eq!((r.sequence, r.ids().collect::<Vec<_>>()), (3, vec![1, 2]));
        assert_eq!(r.signer, signature::key_id(&public));
        assert!(r.verify(&public).is_ok() && r.verify(&other_pub).is_err());
        assert!(sign_revocation(3, &[0; 17], &key)
            .unwrap_err()
            .to_string()
            .contains("at most 16"));
        assert_eq!(key_id_hex(&public).len(), 16);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn loose_permissions_and_bad_files_are_refused() {
        let d = tmpdir("perm");
        let (k, p) = keygen(&d).unwrap();
        fs::set_permissions(&k, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(
            matches!(load_key(&k), Err(Error::Key { message, .. }) if message.contains("chmod 600"))
        );
        fs::write(&p, "zz\n").unwrap();
        assert!(load_public(&p)
            .unwrap_err()
            .to_string()
            .contains("64 hex digits"));
        fs::write(&p, format!("{}\n", "ff".repeat(32))).unwrap();
        assert!(load_public(&p)
            .unwrap_err()
            .to_string()
            .contains("not a valid"));
        fs::remove_dir_all(&d).unwrap();
    }
}
