//! The NAB CSV reader (`timestamp,value`), strict and with --skip-bad-rows; an accepted series
//! holds only finite values, and the health transform of it does not panic.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use trainer::data::{nab, Skips};

fuzz_target!(|data: &[u8]| {
    let path = common::scratch("nab", data);
    for skip in [false, true] {
        let mut skips = Skips::default();
        if let Ok(s) = nab::read_series(&path, &common::opts(skip), &mut skips) {
            assert!(
                s.points.iter().all(|p| p.1.is_finite()),
                "non-finite value accepted"
            );
            let _ = nab::health(&s.points);
        }
    }
});
