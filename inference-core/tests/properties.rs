//! Property tests: any valid model and any raw input, never a panic; any bytes, never a panic.

use inference_core::blob::{self, BlobHeader, BlobParts, InputQuantWire, LayerWire, MetadataWire};
use inference_core::features::failure::{FailureHistory, HealthSample};
use inference_core::features::health::{HealthBaseline, HealthConfig};
use inference_core::features::memory::{AccessKind, MemoryAccess, MemoryHistory};
use inference_core::features::threat::{ProcessWindow, ThreatHistory};
use inference_core::features::workload::{WorkloadHistory, WorkloadSample};
use inference_core::{
    FailurePredictor, MemoryPredictor, Model, ModelKind, Predictor, ThreatDetector,
    WorkloadPredictor,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Spec {
    widths: Vec<usize>,
    bytes: Vec<u8>,
    relu: Vec<bool>,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        prop::collection::vec(1usize..=64, 2..=5),
        prop::collection::vec(any::<u8>(), 64 * 64 * 4 * 2),
        prop::collection::vec(any::<bool>(), 4),
    )
        .prop_map(|(widths, bytes, relu)| Spec {
            widths,
            bytes,
            relu,
        })
}

/// Encodes a random but valid model; every parameter comes from `s.bytes`.
fn build(s: &Spec) -> Vec<u8> {
    let mut src = s.bytes.iter().copied().cycle();
    let mut take = |n: usize| -> Vec<u8> { (&mut src).take(n).collect() };
    let nf = s.widths[0];
    let mut input = Vec::new();
    for _ in 0..nf {
        input.extend(take(4)); // any offset
        let m = i32::from_le_bytes(take(4).try_into().unwrap()) & i32::MAX;
        input.extend(m.to_le_bytes());
        let sh = (take(1)[0] as i32 % 62 - 31) as i8;
        input.push(sh as u8);
    }
    let mut owned = Vec::new();
    for (li, w) in s.widths.windows(2).enumerate() {
        let (n_in, n_out) = (w[0], w[1]);
        let weights = take(n_in * n_out);
        let bias = take(4 * n_out);
        let mut mult = Vec::new();
        let mut shift = Vec::new();
        for _ in 0..n_out {
            let m = i32::from_le_bytes(take(4).try_into().unwrap()) & i32::MAX;
            mult.extend(m.to_le_bytes());
            shift.push((take(1)[0] as i32 % 62 - 31) as i8 as u8);
        }
        owned.push((
            n_in,
            n_out,
            s.relu[li],
            take(1)[0] as i8,
            weights,
            bias,
            mult,
            shift,
        ));
    }
    let layers: Vec<LayerWire> = owned
        .iter()
        .map(|(n_in, n_out, relu, zp, w, b, m, sh)| LayerWire {
            n_in: *n_in as u16,
            n_out: *n_out as u16,
            activation: *relu as u8,
            output_zero_point: *zp,
            weights: w,
            bias: b,
            multiplier: m,
            shift: sh,
        })
        .collect();
    let n_out = *s.widths.last().unwrap();
    let offsets = take(4 * n_out);
    let parts = BlobParts {
        header: BlobHeader {
            kind: 1,
            model_version: 7,
            schema_id: 1,
            n_features: nf as u16,
            n_outputs: n_out as u16,
            threshold_permille: 500,
        },
        input: InputQuantWire { records: &input },
        layers: &layers,
        output: blob::OutputWire { offsets: &offsets },
        metadata: MetadataWire {
            created_unix_s: 1,
            train_samples: 2,
            val_samples: 3,
            metric: "m",
            metric_f32_milli: 0,
            metric_int8_milli: 0,
            baseline_milli: 0,
            source: "proptest",
        },
        monitor: None,
    };
    let mut buf = vec![0u8; 64 * 1024];
    let n = blob::encode(&parts, &mut buf).unwrap();
    buf.truncate(n);
    buf
}

fn extreme() -> impl Strategy<Value = i32> {
    prop_oneof![
        Just(i32::MIN),
        Just(i32::MAX),
        Just(0),
        Just(-1),
        Just(i32::MIN + 1),
        any::<i32>()
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_valid_models_never_panic(s in spec(), raw in prop::collection::vec(extreme(), 0..80)) {
        let b = build(&s);
        let m = Model::from_blob(&b).expect("a well-formed random model loads");
        prop_assert_eq!(m.layers().len(), s.widths.len() - 1);
        let mut out = vec![0i32; 70];
        let n = m.infer(&raw, &mut out);
        prop_assert_eq!(n, *s.widths.last().unwrap());
        // short output buffers are fine too
        let mut one = [0i32; 1];
        prop_assert_eq!(m.infer(&raw, &mut one), 1);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = Model::from_blob(&bytes);
        let mut with_magic = b"AIML\x01\x00".to_vec();
        with_magic.extend(&bytes);
        let _ = Model::from_blob(&with_magic);
    }

    #[test]
    fn predictors_take_extreme_observations(
        cpu in any::<u16>(), mem in any::<Option<u16>>(), gpu in any::<Option<u16>>(),
        t in any::<u64>(), counts in prop::collection::vec(any::<u32>(), 8),
        health in any::<u16>(), addr in any::<u64>(), pc in any::<u64>(), kind in 0usize..3,
    ) {
        let w = WorkloadPredictor::new(None);
        let mut wh = WorkloadHistory::new();
        for k in 0..12u64 {
            wh.push(WorkloadSample { cpu, mem, gpu, unix_s: t.wrapping_add(k) });
            let p = w.predict(&mut wh);
            prop_assert!(p.cpu <= 10_000);
            prop_assert!(p.confidence <= 1000);
        }
        let d = ThreatDetector::new(None);
        let mut th = ThreatHistory::new();
        for k in 0..12u64 {
            let win = ProcessWindow {
                syscalls: counts[0], network_connections: counts[1], file_accesses: counts[2],
                privilege_attempts: counts[3], failed_syscalls: counts[4], memory_allocs: counts[5],
                alloc_kib: counts[6], spawns: counts[7], end_ms: t.wrapping_mul(k),
            };
            let a = d.assess(&mut th, &win);
            prop_assert!(a.score <= 1000 && a.confidence <= 1000);
        }
        let f = FailurePredictor::new(None);
        let mut fh = FailureHistory::new();
        for k in 0..25u64 {
            fh.push(HealthSample { health, unix_s: t.wrapping_add(k * 60) });
            if k % 7 == 0 { fh.record_failure(t.wrapping_sub(k)); }
            let p = f.predict(&fh);
            prop_assert!(p.probability <= 1000 && p.confidence <= 1000);
        }
        let m = MemoryPredictor::new(None);
        let mut mh = MemoryHistory::new();
        for k in 0..25u64 {
            mh.push(MemoryAccess { addr: addr.wrapping_mul(k + 1), pc, kind: AccessKind::from_code(kind), time_ns: t.wrapping_add(k) });
            let p = m.predict(&mh);
            prop_assert!(p.probability <= 1000 && p.confidence <= 1000);
        }
    }

    #[test]
    fn health_meters_take_any_values_and_configuration(
        metrics in 0usize..6,
        learn in prop::collection::vec(prop::array::uniform4(extreme()), 0..40),
        observe in prop::collection::vec(prop::array::uniform4(extreme()), 1..40),
        min_std in any::<i32>(), z_cap in any::<u16>(), smoothing_shift in any::<u8>(),
    ) {
        let mut b = HealthBaseline::<4>::new(metrics);
        for r in &learn {
            b.learn(r);
        }
        let cfg = HealthConfig { min_std, z_cap, smoothing_shift };
        let mut m = b.freeze(cfg);
        for r in &observe {
            let z = m.deviation_q16(r);
            prop_assert!(z <= (z_cap as u64) << 16);
            prop_assert!(m.observe(r) <= 1000);
            prop_assert!(m.smoothed_q16() <= (z_cap as u64) << 16);
        }
        // farther from every mean never reads as healthier
        let base = observe[0];
        let far = base.map(|v| if v >= 0 { v.saturating_add(1000) } else { v.saturating_sub(1000) });
        let (zb, zf) = (m.deviation_q16(&base), m.deviation_q16(&far));
        let away = (0..b.metrics()).all(|j| {
            let mean = m.mean_q8(j);
            let (db, df) = (((base[j] as i64) << 8) - mean, ((far[j] as i64) << 8) - mean);
            df.unsigned_abs() >= db.unsigned_abs()
        });
        if away {
            prop_assert!(zf >= zb, "{} < {}", zf, zb);
        }
    }
}

#[test]
fn predictors_report_their_source() {
    use inference_core::ModelSource;
    let w = WorkloadPredictor::new(None);
    assert!(matches!(
        w.source(),
        ModelSource::Default { refused: None, .. }
    ));
    let threat = inference_core::defaults::blob(ModelKind::Threat);
    let w = WorkloadPredictor::new(Some(threat));
    assert!(matches!(
        w.source(),
        ModelSource::Default {
            refused: Some(inference_core::LoadError::WrongKind { .. }),
            ..
        }
    ));
    let w = WorkloadPredictor::new(Some(&[1, 2, 3]));
    assert!(matches!(
        w.source(),
        ModelSource::Default {
            refused: Some(_),
            ..
        }
    ));
    let own = inference_core::defaults::blob(ModelKind::Workload);
    let w = WorkloadPredictor::new(Some(own));
    assert_eq!(w.source(), &ModelSource::Loaded { version: 1 });
}

#[test]
fn workload_default_model_tracks_a_steady_load() {
    let w = WorkloadPredictor::new(None);
    let mut h = WorkloadHistory::new();
    for k in 0..11u64 {
        h.push(WorkloadSample {
            cpu: 4000,
            mem: Some(3000),
            gpu: None,
            unix_s: 1_700_000_000 + 300 * k,
        });
    }
    let p = w.predict(&mut h);
    assert!(p.cpu.abs_diff(4000) < 500, "{p:?}");
    assert!(p.mem.unwrap().abs_diff(3000) < 500, "{p:?}");
    assert_eq!(p.gpu, None);
}

/// Every built-in model predicts the same with its weights prepared, in every layout this
/// CPU runs (three rows per 64-bit multiply; AVX2 blocks), as with the blob's, on random and
/// extreme features.
#[test]
fn prepared_weights_give_identical_predictions() {
    use inference_core::blob::Layout;
    use inference_core::{FailurePredictor, MemoryPredictor, Predictor, ThreatDetector};
    fn check<P: Predictor<'static>>(n: usize) {
        let plain = P::load(None, &inference_core::signature::Policy::OPEN);
        let mut prepared = P::load(None, &inference_core::signature::Policy::OPEN);
        let m = plain.model().unwrap();
        let words = m.prepared_words();
        let short: &'static mut [i64] = Box::leak(vec![0i64; words - 1].into_boxed_slice());
        assert!(!prepared.prepare(short));
        assert!(prepared.prepare(Box::leak(vec![0i64; words].into_boxed_slice())));
        let mut layouts = vec![Layout::Swar];
        if Layout::best() == Layout::Avx2 {
            layouts.push(Layout::Avx2);
        } else {
            eprintln!("no AVX2 on this CPU: its layout is not tested");
        }
        for layout in layouts {
            let mut buf = vec![0i64; m.prepared_words_as(layout)];
            let p = m.prepare_as(layout, &mut buf).unwrap();
            assert_eq!(p.layout(), layout);
            let mut x = 0x1234_5678_9abc_def0u64;
            for case in 0..2000 {
                // every length up to n + 2: missing trailing features are ABSENT
                let len = if case % 7 == 0 { case % (n + 3) } else { n };
                let f: Vec<i32> = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        match case % 4 {
                            0 => [i32::MIN, i32::MAX, 0, -1, inference_core::blob::ABSENT]
                                [(x % 5) as usize],
                            _ => (x as i32) >> (x % 31),
                        }
                    })
                    .collect();
                let (mut a, mut b) = ([0i32; 16], [0i32; 16]);
                let wa = m.infer(&f, &mut a);
                let wb = m.infer_prepared(&p, &f, &mut b);
                assert_eq!((wa, a), (wb, b), "{:?} {layout:?} case {case}", P::KIND);
            }
        }
    }
    check::<WorkloadPredictor>(inference_core::features::workload::N_FEATURES);
    check::<ThreatDetector>(inference_core::features::threat::N_FEATURES);
    check::<FailurePredictor>(inference_core::features::failure::N_FEATURES);
    check::<MemoryPredictor>(inference_core::features::memory::N_FEATURES);
}

/// A shadow prediction has a do-no-harm record of its own: it answers exactly what the same
/// model would answer in the live place on the same series, and never touches the live
/// model's record (whose answers therefore do not depend on whether a shadow runs).
#[test]
fn workload_shadow_keeps_its_own_record() {
    let w = WorkloadPredictor::new(None);
    let (mut with_shadow, mut alone) = (WorkloadHistory::new(), WorkloadHistory::new());
    let mut differ = 0;
    for k in 0..400u64 {
        // a load that swings with a period the default model follows better than persistence
        let cpu = (5000 + 3000 * ((k % 12) as i64 - 6).signum() * ((k % 5) as i64)) as u16;
        let s = WorkloadSample {
            cpu: cpu.min(10_000),
            mem: Some(3000 + (k % 7) as u16 * 100),
            gpu: None,
            unix_s: 1_700_000_000 + 300 * k,
        };
        with_shadow.push(s);
        alone.push(s);
        let live = w.predict(&mut with_shadow);
        let shadow = w.predict_shadow(&mut with_shadow);
        assert_eq!(live, w.predict(&mut alone), "sample {k}");
        // the same model in both places sees the same series: the same answers
        assert_eq!(live, shadow, "sample {k}");
        differ += (w.predict_features(&alone.features()) != live) as u32;
    }
    assert_eq!(with_shadow.guard, alone.guard);
    assert_eq!(with_shadow.shadow_guard, alone.guard);
    // the gate did something on this series (otherwise the records prove nothing)
    assert!(differ > 0);
}

/// The memory decision rule: prefetched blocks are distinct, never recent, in the history's
/// block size; at page level nothing is prefetched before a proposer has proven itself in
/// this stream; a line-level scan prefetches its next line.
#[test]
fn memory_base_is_next_line_and_a_confident_stride_on_every_access() {
    use inference_core::features::memory::{class, PAGE_BYTES};
    let m = MemoryPredictor::new(None);
    let at = |addr: u64, pc: u64, k: u64| MemoryAccess {
        addr,
        pc,
        kind: AccessKind::Read,
        time_ns: 10 * k,
    };
    // PC A walks an array of 320-byte records (5 lines); PC B reads a second field of the
    // same record, in the same line: only A's accesses change block
    let (pc_a, pc_b) = (0x40_1000, 0x40_1010);
    let mut h = MemoryHistory::new();
    let (mut changes, mut within) = (0, 0);
    for k in 0..400u64 {
        let rec = 0x6000_0000 + 320 * k;
        let cur = rec / 64 * 64;
        assert!(h.push(at(rec, pc_a, 2 * k)));
        let p = m.predict(&h);
        let picked = &p.prefetch[..p.degree as usize];
        if k >= 2 {
            changes += 1;
            assert!(picked.contains(&(cur + 64)), "no next line at {k}: {p:?}");
            assert!(picked.contains(&(cur + 320)), "no stride at {k}: {p:?}");
        }
        assert!(!h.push(at(rec + 8, pc_b, 2 * k + 1)));
        let p = m.predict(&h);
        if k >= 2 {
            within += 1;
            assert_eq!(p.degree, 1, "within the block at {k}: {p:?}");
            assert_eq!(p.prefetch[0], cur + 320);
            assert_eq!(p.class as usize, class::PC_STRIDE);
        }
    }
    assert_eq!((changes, within), (398, 398));
    // a PC without a stride issues nothing within its block, and pages never do
    let mut h = MemoryHistory::new();
    let mut pages = MemoryHistory::with_block_bytes(PAGE_BYTES);
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    for k in 0..300u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let addr = 0x7000_0000 + (x % (1 << 24)) / 64 * 64;
        for hist in [&mut h, &mut pages] {
            hist.push(at(addr, 0x40_2000, 2 * k));
            if !hist.push(at(addr + 8, 0x40_2004 + 0x10 * (k % 7), 2 * k + 1)) {
                let p = m.predict(hist);
                assert_eq!(p.degree, 0, "within-block prefetch without a stride at {k}");
            }
        }
    }
}

/// A read at `addr`, the `k`-th access of one program counter (10 ns apart).
fn read_at(addr: u64, k: u64) -> MemoryAccess {
    MemoryAccess {
        addr,
        pc: 0x40_1000,
        kind: AccessKind::Read,
        time_ns: 10 * k,
    }
}

#[test]
fn memory_decision_rule() {
    use inference_core::features::memory::{MAX_DEGREE, PAGE_BYTES};
    let m = MemoryPredictor::new(None);
    let access = read_at;
    // pages: a random walk never builds a record, so nothing is prefetched
    let mut h = MemoryHistory::with_block_bytes(PAGE_BYTES);
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for k in 0..500 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if h.push(access(0x7f00_0000_0000 + (x % (1 << 30)), k)) {
            let p = m.predict(&h);
            assert_eq!(p.degree, 0, "page prefetch without a record at access {k}");
            assert_eq!(p.next_addr % PAGE_BYTES, 0);
        }
    }
    // pages, fed faults only: a scan that faults on every third page, each page faulting
    // twice (evicted between its passes); whatever it prefetches is page-aligned, distinct, not
    // a recent page
    let mut h = MemoryHistory::with_block_bytes(PAGE_BYTES);
    for k in 0..600u64 {
        let page = 0x10_0000 + 3 * (k % 300);
        if !h.push(access(page * PAGE_BYTES, k)) {
            continue;
        }
        let p = m.predict(&h);
        let picked = &p.prefetch[..p.degree as usize];
        for (i, a) in picked.iter().enumerate() {
            assert_eq!(a % PAGE_BYTES, 0);
            assert!(!h.is_recent(a / PAGE_BYTES), "recent page {a:x}");
            assert!(!picked[..i].contains(a));
        }
    }
    // lines: a sequential scan prefetches the next line, and every prefetch is distinct and
    // not among the lines just touched
    let mut h = MemoryHistory::new();
    let mut next_line = 0;
    let mut decisions = 0;
    for k in 0..2000u64 {
        let addr = 0x5000_0000 + 16 * k;
        if !h.push(access(addr, k)) {
            continue;
        }
        let p = m.predict(&h);
        decisions += 1;
        let cur = addr / 64 * 64;
        let picked = &p.prefetch[..p.degree as usize];
        assert!(p.degree as usize <= MAX_DEGREE);
        for (i, a) in picked.iter().enumerate() {
            assert_eq!(a % 64, 0);
            assert!(
                *a > cur || *a + 16 * 64 < cur,
                "recent line {a:x} at {cur:x}"
            );
            assert!(!picked[..i].contains(a));
        }
        next_line += picked.contains(&(cur + 64)) as u32;
    }
    assert!(
        next_line * 10 >= decisions * 9,
        "{next_line} of {decisions}"
    );
}

/// At page level a candidate whose delta just changed is not trusted on the record of its old
/// delta: after a walk of +3 pages, a jump makes "the last change" name the jump's delta, which
/// its perfect record (of +3) says nothing about. Threshold 0: only the rule decides.
#[test]
fn page_level_waits_one_change_before_trusting_a_new_delta() {
    use inference_core::features::memory::{class, PAGE_BYTES};
    let m = MemoryPredictor::new(None);
    let access = |page: u64, k: u64| read_at(page * PAGE_BYTES, k);
    let mut h = MemoryHistory::with_block_bytes(PAGE_BYTES);
    let mut page = 0x10_0000u64;
    for k in 0..40 {
        h.push(access(page, k));
        page += 3;
    }
    let cur = page - 3;
    let p = m.predict_at(&h, 0);
    assert!(
        p.prefetch[..p.degree as usize].contains(&((cur + 3) * PAGE_BYTES)),
        "the walk's next page: {p:?}"
    );
    let jump = cur + 5000;
    h.push(access(jump, 40));
    assert_eq!(h.candidates()[class::LAST], 5000);
    let p = m.predict_at(&h, 0);
    assert!(
        !p.prefetch[..p.degree as usize].contains(&((jump + 5000) * PAGE_BYTES)),
        "a new delta on an old record: {p:?}"
    );
    // once it repeats, it is the candidate's delta, and the record that follows is its own
    h.push(access(jump + 5000, 41));
    assert!(h.steady(class::LAST));
}

/// At page level a proposal goes the way the stream moves at this fault, as readahead's
/// sequential detection does: after a sequential read, a jump elsewhere issues nothing, not
/// even +1 with its perfect record (grep's exit); the next +1 fault resumes it.
#[test]
fn page_level_prefetches_only_the_way_the_stream_moves_now() {
    use inference_core::features::memory::PAGE_BYTES;
    let m = MemoryPredictor::new(None);
    let access = |page: u64, k: u64| read_at(page * PAGE_BYTES, k);
    let mut h = MemoryHistory::with_block_bytes(PAGE_BYTES);
    let issued = |h: &MemoryHistory| {
        let p = m.predict_at(h, 0);
        p.prefetch[..p.degree as usize].to_vec()
    };
    for k in 0..40 {
        h.push(access(0x10_0000 + k, k));
    }
    assert!(issued(&h).contains(&((0x10_0000 + 40) * PAGE_BYTES)));
    let far = 0x90_0000;
    h.push(access(far, 40));
    assert_eq!(issued(&h), [], "a jump: no direction yet");
    h.push(access(far + 1, 41));
    assert!(issued(&h).contains(&((far + 2) * PAGE_BYTES)), "+1 again");
}
