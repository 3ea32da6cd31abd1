//! The strace importer (`strace -f -ttt` output), strict and with --skip-bad-rows: whatever the
//! lines, parsing and cutting every process into windows does not panic, and every call number
//! it produces is one the threat features accept (an i386 number or the unknown marker).
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use trainer::data::{strace, Skips};

fuzz_target!(|data: &[u8]| {
    let path = common::scratch("strace", data);
    for skip in [false, true] {
        let mut skips = Skips::default();
        if let Ok(t) = strace::parse(&path, data, &common::opts(skip), &mut skips) {
            for p in &t.processes {
                for (calls, _) in strace::windows(p) {
                    assert!(calls.iter().all(|&nr| nr <= strace::UNKNOWN_CALL));
                }
            }
        }
    }
});
