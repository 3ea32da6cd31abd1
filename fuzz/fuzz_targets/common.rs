//! Shared by the parser targets: the importers read files, so each input is written to a
//! per-process scratch file (on tmpfs when there is one) and read back by the real importer.
use std::path::PathBuf;

pub fn scratch(name: &str, data: &[u8]) -> PathBuf {
    let dir = if std::path::Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let d = dir.join(format!("aiml-fuzz-{}-{name}", std::process::id()));
    let _ = std::fs::create_dir_all(&d);
    let p = d.join("input");
    std::fs::write(&p, data).expect("write scratch input");
    p
}

pub fn opts(skip: bool) -> trainer::data::ReadOptions {
    trainer::data::ReadOptions {
        skip_bad_rows: skip,
        ..Default::default()
    }
}
