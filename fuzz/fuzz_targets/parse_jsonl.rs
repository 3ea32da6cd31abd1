//! The JSONL record parser, every line of the input, for each model kind (first byte).
#![no_main]

use inference_core::ModelKind;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let kind = ModelKind::ALL[which as usize % 4];
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    for line in text.lines() {
        let _ = trainer::data::jsonl::parse_record(kind, line);
    }
});
