//! The ADFA-LD trace reader (whitespace-separated i386 call numbers) and the windows built
//! from an accepted trace.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use trainer::data::{adfa, Skips};

fuzz_target!(|data: &[u8]| {
    let path = common::scratch("adfa", data);
    for skip in [false, true] {
        let mut skips = Skips::default();
        if let Ok(Some(calls)) = adfa::read_trace(&path, &common::opts(skip), &mut skips) {
            assert!(calls.iter().all(|&c| c < 512));
            let _ = adfa::windows(&calls);
        }
    }
});
