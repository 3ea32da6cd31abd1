//! A/B testing through the C ABI, from Rust (the C test and the kernel module check the same
//! against the host reference of the test vectors; this keeps `cargo test` covering it). One
//! test function: the slots are process-wide statics.

use inference_core::defaults;
use kernel_shim::*;

fn history(entity: u64, base: u16) -> AimlWorkloadHistory {
    let mut h = AimlWorkloadHistory {
        opaque: [0; AIML_WORKLOAD_HISTORY_WORDS],
    };
    // SAFETY: a live, writable history; samples and outputs live on the stack.
    unsafe {
        assert_eq!(aiml_workload_history_init(&mut h), AimlStatus::Ok);
        assert_eq!(
            aiml_history_set_entity(&mut h as *mut _ as *mut core::ffi::c_void, entity),
            AimlStatus::Ok
        );
        for k in 0..12u64 {
            let s = AimlWorkloadSample {
                unix_s: 1_700_000_000 + 300 * k,
                cpu: base + (k as u16 * 37) % 900,
                mem: 4000,
                gpu: 0,
                flags: AIML_HAS_MEM,
            };
            assert_eq!(aiml_workload_push(&mut h, &s), AimlStatus::Ok);
        }
    }
    h
}

fn ab(kind: u32) -> AimlAb {
    let mut a = AimlAb::default();
    // SAFETY: a live output.
    assert_eq!(unsafe { aiml_ab(kind, &mut a) }, AimlStatus::Ok);
    a
}

#[test]
fn shadow_split_promote_and_rollback() {
    let w = AIML_KIND_WORKLOAD;
    let blob = defaults::WORKLOAD;
    assert_eq!(aiml_init(), AimlStatus::Ok);
    // SAFETY: no key, a static blob of its length.
    unsafe {
        assert_eq!(aiml_set_key(core::ptr::null(), true), AimlStatus::Ok);
        assert_eq!(
            aiml_candidate_load(w, blob.as_ptr(), 7),
            AimlStatus::BlobTooShort
        );
        assert_eq!(
            aiml_candidate_load(w, blob.as_ptr(), blob.len()),
            AimlStatus::Ok
        );
    }
    assert_eq!(aiml_ab_set(w, 3, 0), AimlStatus::InvalidArgument);
    assert_eq!(
        aiml_ab_set(w, AIML_AB_SPLIT, 1001),
        AimlStatus::InvalidArgument
    );
    let a = ab(w);
    assert_eq!(
        (a.candidate, a.candidate_version, a.mode),
        (1, 1, AIML_AB_OFF)
    );

    // off: nothing attached, the candidate is not consulted
    let mut h = history(7, 3000);
    let mut p = AimlWorkloadPrediction::default();
    // SAFETY: live history and output.
    unsafe { assert_eq!(aiml_workload_predict(&mut h, &mut p), AimlStatus::Ok) };
    assert_eq!((p.ab, p.shadow_cpu), (0, 0));

    // shadow: the same model as candidate answers the same (its own record starts as the
    // live one's), both are scored by one outcome, and the pair is a tie
    assert_eq!(aiml_ab_set(w, AIML_AB_SHADOW_MODE, 0), AimlStatus::Ok);
    let mut h = history(7, 3000);
    for k in 0..20u16 {
        // SAFETY: live history, output and sample.
        unsafe {
            assert_eq!(aiml_workload_predict(&mut h, &mut p), AimlStatus::Ok);
            assert_eq!(p.ab, AIML_AB_SHADOW as u16);
            assert_eq!(p.shadow_cpu, p.cpu);
            assert_eq!(aiml_workload_outcome(&p, p.cpu + 100), AimlStatus::Ok);
            let s = AimlWorkloadSample {
                unix_s: 1_700_010_000 + 300 * k as u64,
                cpu: 3000 + 41 * k,
                mem: 4000,
                gpu: 0,
                flags: AIML_HAS_MEM,
            };
            assert_eq!(aiml_workload_push(&mut h, &s), AimlStatus::Ok);
        }
    }
    let a = ab(w);
    assert_eq!((a.shadowed, a.agreed, a.paired), (20, 20, 20));
    assert_eq!((a.live_error_sum, a.candidate_error_sum), (2000, 2000));
    assert_eq!((a.candidate_better, a.live_better, a.routed), (0, 0, 0));
    let mut ch = AimlHealth::default();
    // SAFETY: live output.
    assert_eq!(unsafe { aiml_ab_health(w, &mut ch) }, AimlStatus::Ok);
    assert_eq!((ch.predictions, ch.outcomes, ch.error_sum), (20, 20, 2000));

    // split: an entity goes where its bucket says, every time
    assert_eq!(aiml_ab_set(w, AIML_AB_SPLIT, 500), AimlStatus::Ok);
    let mut routed = 0;
    for e in 1..=40u64 {
        let mut h = history(e, 2000);
        // SAFETY: live history and output.
        unsafe { assert_eq!(aiml_workload_predict(&mut h, &mut p), AimlStatus::Ok) };
        let to_candidate = ab::bucket(e) < 500;
        assert_eq!(p.ab == AIML_AB_CANDIDATE as u16, to_candidate, "entity {e}");
        routed += to_candidate as u32;
    }
    assert!(routed > 5 && routed < 35, "{routed}");
    assert_eq!(ab(w).routed, routed);

    // promotion: the candidate's blob becomes the live model, the candidate is withdrawn
    assert_eq!(aiml_promote(w), AimlStatus::Ok);
    let mut info = AimlModelInfo::default();
    // SAFETY: live output.
    assert_eq!(unsafe { aiml_info(w, &mut info) }, AimlStatus::Ok);
    assert_eq!((info.source, info.version), (AIML_SOURCE_LOADED, 1));
    let a = ab(w);
    assert_eq!((a.candidate, a.mode, a.promotions), (0, AIML_AB_OFF, 1));
    assert_eq!(aiml_promote(w), AimlStatus::NotInitialized);
    // rollback: the built-in model again, once
    assert_eq!(aiml_rollback(w), AimlStatus::Ok);
    // SAFETY: live output.
    assert_eq!(unsafe { aiml_info(w, &mut info) }, AimlStatus::Ok);
    assert_eq!(info.source, AIML_SOURCE_DEFAULT);
    assert_eq!(aiml_rollback(w), AimlStatus::NotInitialized);
    assert_eq!(ab(w).rollbacks, 1);
    assert_eq!(aiml_rollback(9), AimlStatus::UnknownKind);

    // a history that is not one cannot take an entity
    let mut junk = [0u64; 4];
    let status = {
        let ptr = junk.as_mut_ptr() as *mut core::ffi::c_void;
        // SAFETY: 32 writable bytes.
        unsafe { aiml_history_set_entity(ptr, 1) }
    };
    assert_eq!(status, AimlStatus::NotInitialized);
}
