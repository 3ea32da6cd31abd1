//! Blob buffers in the caller's memory (`aiml_set_slot_buffer`) through the C ABI, under
//! `cargo test` (the C test `c/test_external.c` runs the same against the build without
//! static buffers). One test function: the slots are process-wide statics.

use inference_core::defaults;
use kernel_shim::*;

fn info(kind: u32) -> AimlModelInfo {
    let mut i = AimlModelInfo::default();
    // SAFETY: a live output.
    assert_eq!(unsafe { aiml_info(kind, &mut i) }, AimlStatus::Ok);
    i
}

#[test]
fn loads_go_to_the_callers_memory() {
    let w = AIML_KIND_WORKLOAD;
    let blob = defaults::WORKLOAD;
    let region: &'static mut [u8] = Box::leak(vec![0u8; 2 * 8192].into_boxed_slice());
    let (ptr, len) = (region.as_mut_ptr(), region.len());
    assert_eq!(aiml_init(), AimlStatus::Ok);
    // SAFETY: the region lives for the rest of the process and nothing else touches it; the
    // blob is static.
    unsafe {
        assert_eq!(aiml_set_key(core::ptr::null(), true), AimlStatus::Ok);
        assert_eq!(
            aiml_set_slot_buffer(w, core::ptr::null_mut(), 4096),
            AimlStatus::InvalidArgument
        );
        assert_eq!(
            aiml_set_slot_buffer(w, ptr, 100),
            AimlStatus::InvalidArgument
        );
        assert_eq!(aiml_set_slot_buffer(9, ptr, len), AimlStatus::UnknownKind);
        // halves smaller than the blob: refused at load, the built-in model stays
        assert_eq!(aiml_set_slot_buffer(w, ptr, 2048), AimlStatus::Ok);
        assert_eq!(
            aiml_load(w, blob.as_ptr(), blob.len()),
            AimlStatus::TooLarge
        );
        assert_eq!(info(w).source, AIML_SOURCE_DEFAULT);
        assert_eq!(aiml_set_slot_buffer(w, ptr, len), AimlStatus::Ok);
        assert_eq!(aiml_load(w, blob.as_ptr(), blob.len()), AimlStatus::Ok);
    }
    assert_eq!(info(w).source, AIML_SOURCE_LOADED);
    // the blob was copied into one of the two halves of the caller's region
    let halves = region.split_at(len / 2);
    assert!(
        halves.0.starts_with(blob) || halves.1.starts_with(blob),
        "the loaded blob is not in the caller's memory"
    );
    // the loaded model answers as the built-in one does (the same weights)
    let mut h = AimlWorkloadHistory {
        opaque: [0; AIML_WORKLOAD_HISTORY_WORDS],
    };
    let mut p = AimlWorkloadPrediction::default();
    // SAFETY: live history, sample and output.
    unsafe {
        assert_eq!(aiml_workload_history_init(&mut h), AimlStatus::Ok);
        let s = AimlWorkloadSample {
            unix_s: 1_700_000_000,
            cpu: 4200,
            mem: 3000,
            gpu: 0,
            flags: AIML_HAS_MEM,
        };
        assert_eq!(aiml_workload_push(&mut h, &s), AimlStatus::Ok);
        assert_eq!(aiml_workload_predict(&mut h, &mut p), AimlStatus::Ok);
    }
    assert!(p.cpu > 0);
    // in use: refused until a reset
    let other: &'static mut [u8] = Box::leak(vec![0u8; 2 * 8192].into_boxed_slice());
    // SAFETY: as above.
    unsafe {
        assert_eq!(
            aiml_set_slot_buffer(w, other.as_mut_ptr(), other.len()),
            AimlStatus::Busy
        );
        assert_eq!(aiml_reset(w), AimlStatus::Ok);
        assert_eq!(
            aiml_set_slot_buffer(w, other.as_mut_ptr(), other.len()),
            AimlStatus::Ok
        );
        // after the reset the model held for a rollback is forgotten (its buffer is gone)
        assert_eq!(aiml_rollback(w), AimlStatus::NotInitialized);
        assert_eq!(aiml_load(w, blob.as_ptr(), blob.len()), AimlStatus::Ok);
        assert_eq!(aiml_lock_policy(), AimlStatus::Ok);
        assert_eq!(aiml_set_slot_buffer(w, ptr, len), AimlStatus::PolicyLocked);
    }
    assert_eq!(info(w).source, AIML_SOURCE_LOADED);
}
