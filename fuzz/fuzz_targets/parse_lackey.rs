//! The valgrind lackey reader: every line through `parse_line`, then the whole input through
//! the streaming reader (strict and skipping), at most 10 000 accesses.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use trainer::data::lackey;

fuzz_target!(|data: &[u8]| {
    for line in String::from_utf8_lossy(data).lines() {
        let _ = lackey::parse_line(line);
    }
    let path = common::scratch("lackey", data);
    for skip in [false, true] {
        let Ok(mut s) = lackey::AccessStream::open(&path, &common::opts(skip)) else {
            continue;
        };
        for _ in 0..10_000 {
            match s.next_access() {
                Ok(Some(_)) => {}
                _ => break,
            }
        }
    }
});
