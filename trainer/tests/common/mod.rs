//! What the command-line tests share: a fresh folder, and the output of a run that must
//! succeed or fail.
#![allow(dead_code)] // each test crate uses its own share of these

use std::path::PathBuf;
use std::process::Output;

/// An empty folder under the system's temporary folder, unique to this test process.
pub fn temp_dir(prefix: &str, name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("aiml-{prefix}-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The standard output of a run that must succeed (its standard error otherwise).
pub fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The standard error of a run that must fail (its standard output otherwise).
pub fn refused(o: &Output) -> String {
    assert!(
        !o.status.success(),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8_lossy(&o.stderr).into_owned()
}
