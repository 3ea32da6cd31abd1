//! Writes the test vectors of the C test and the kernel module: input sequences for the four
//! models, the blobs to load, and the expected output lines, all computed on the host by
//! `inference-core` itself (whose results the workspace tests prove bit-exact against the
//! trainer's integer reference).
//!
//! `cargo run -p kernel-shim --example vectors -- OUT_DIR [KIND=BLOB ...]`
//!
//! Writes `OUT_DIR/aiml_vectors.h` (inputs and blobs, for C) and `OUT_DIR/expected.txt` (the
//! lines `c/aiml_vectors_run.h` must print, in the host C test `c/test_shim.c` and in the
//! kernel module `kmod/aiml_main.c`). Phase `D` runs the built-in models; phase `L` runs the
//! blobs given as `KIND=PATH` (trained by the trainer), or, for kinds without one, the
//! built-in blob with its version patched to 7 and the CRC fixed.

use std::fmt::Write as _;
use std::path::PathBuf;

use inference_core::crc::crc32;
use inference_core::defaults;
use inference_core::features::failure::{FailureHistory, HealthSample};
use inference_core::features::memory::{AccessKind, MemoryAccess, MemoryHistory};
use inference_core::features::threat::{ProcessWindow, ThreatHistory};
use inference_core::features::workload::{WorkloadHistory, WorkloadSample};
use inference_core::{
    FailurePredictor, MemoryPredictor, Model, ModelKind, ModelSource, Policy, Predictor,
    ThreatDetector, WorkloadPredictor,
};

/// Ops: bit 0 = re-initialise the history first, bit 1 = predict after the step,
/// bit 2 (failure only) = record a failure at `unix_s` instead of pushing a reading.
const OP_INIT: u32 = 1;
const OP_PREDICT: u32 = 2;
const OP_FAILURE: u32 = 4;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn patched_default(kind: ModelKind) -> Vec<u8> {
    with_version(kind, 7)
}

/// The built-in blob of `kind` with its model version set to `version` (< 128) and the CRC
/// fixed.
fn with_version(kind: ModelKind, version: u8) -> Vec<u8> {
    let mut b = defaults::blob(kind).to_vec();
    // Header: magic(4) version(2) kind(1) model_version(varint). A one-byte varint stays one.
    assert!(
        b[7] < 0x80 && version < 0x80,
        "model_version is a one-byte varint"
    );
    b[7] = version;
    let n = b.len() - 4;
    let crc = crc32(&b[..n]);
    b[n..].copy_from_slice(&crc.to_le_bytes());
    let version = Model::load(&b, Some(kind), &Policy::OPEN)
        .expect("patched blob is valid")
        .version();
    assert_eq!(version, u32::from(version_byte(&b)));
    b
}

fn version_byte(b: &[u8]) -> u8 {
    b[7]
}

/// Test key of the C test and the kernel module (a fixed seed: it signs test blobs only).
fn test_key() -> ed25519_compact::KeyPair {
    ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([0x5A; 32]))
}

fn signed(b: &[u8]) -> Vec<u8> {
    let sig = test_key().sk.sign(b, None);
    let mut out = b.to_vec();
    out.extend_from_slice(&inference_core::signature::SIG_MAGIC);
    out.extend_from_slice(&sig[..]);
    out
}

/// A second model key (the C test retires it with a revocation list) and the revocation key.
fn key2() -> ed25519_compact::KeyPair {
    ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([0x6B; 32]))
}
fn revoker() -> ed25519_compact::KeyPair {
    ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([0x7C; 32]))
}

/// `b` with a `SIG2` trailer (key id, signature) by `kp`.
fn signed2(b: &[u8], kp: &ed25519_compact::KeyPair) -> Vec<u8> {
    use inference_core::signature::{key_id, SIG2_MAGIC};
    let sig = kp.sk.sign(b, None);
    let mut out = b.to_vec();
    out.extend_from_slice(&SIG2_MAGIC);
    out.extend_from_slice(&key_id(&kp.pk).to_le_bytes());
    out.extend_from_slice(&sig[..]);
    out
}

/// A revocation list of `ids` with `sequence`, signed by `kp`.
fn revocation(sequence: u32, ids: &[u64], kp: &ed25519_compact::KeyPair) -> Vec<u8> {
    let mut buf = [0u8; 256];
    let n = inference_core::signature::encode_revocation(sequence, ids, &mut buf).unwrap();
    signed2(&buf[..n], kp)
}

fn c_bytes(name: &str, b: &[u8], h: &mut String) {
    writeln!(h, "static const unsigned char {name}[{}] = {{", b.len()).unwrap();
    for chunk in b.chunks(24) {
        h.push_str("  ");
        for x in chunk {
            write!(h, "{x},").unwrap();
        }
        h.push('\n');
    }
    h.push_str("};\n");
}

fn info_line(out: &mut String, phase: char, kind: ModelKind, src: &ModelSource, m: &Model) {
    let source = match src {
        ModelSource::Default { .. } => 0,
        ModelSource::Loaded { .. } => 1,
        ModelSource::None { .. } => 2,
    };
    writeln!(
        out,
        "{phase} I kind={} version={} source={source} len={} features={} outputs={} macs={} thr={}",
        kind as u32,
        m.version(),
        m.blob_len(),
        m.n_features(),
        m.n_outputs(),
        m.macs(),
        m.header().threshold_permille
    )
    .unwrap();
}

type Ops<T> = Vec<(u32, T)>;

/// Calls reported (`aiml_threat_observe_call`) before each threat window is assessed.
const THREAT_CALLS: usize = 16;

/// One threat step: the calls the process made, then its window.
struct ThreatStep {
    calls: [u32; THREAT_CALLS],
    n_calls: usize,
    w: ProcessWindow,
}

/// The input sequences of the four models, in the order they are generated (one RNG stream).
struct Inputs {
    workload: Ops<WorkloadSample>,
    threat: Ops<ThreatStep>,
    failure: Ops<HealthSample>,
    memory: Ops<MemoryAccess>,
}

/// The blobs of phase `L`: `KIND=PATH` arguments, or patched built-in blobs.
fn parse_args() -> (PathBuf, Vec<Vec<u8>>) {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().expect("usage: vectors OUT_DIR [KIND=BLOB ...]"));
    let mut loaded: [Option<Vec<u8>>; 4] = Default::default();
    for a in args {
        let (k, p) = a.split_once('=').expect("KIND=PATH");
        let kind = ModelKind::from_name(k).expect("known kind");
        loaded[kind as usize - 1] = Some(std::fs::read(p).expect("read blob"));
    }
    let loaded = ModelKind::ALL
        .iter()
        .map(|&k| {
            loaded[k as usize - 1]
                .take()
                .unwrap_or_else(|| patched_default(k))
        })
        .collect();
    (dir, loaded)
}

fn workload_inputs(rng: &mut Rng) -> Ops<WorkloadSample> {
    let mut w_ops = Vec::new();
    for case in 0..24u64 {
        let len = [1, 2, 5, 11, 15, 30][case as usize % 6];
        let base = rng.below(10_000) as u16;
        let (has_mem, has_gpu) = (case % 3 != 2, case % 4 == 1);
        let t0 = 1_700_000_000 + rng.below(40_000_000);
        for k in 0..len {
            let jitter = |r: &mut Rng| (r.below(3001) as i32 - 1500) as i64;
            let cpu = if case == 5 && k == len - 1 {
                u16::MAX
            } else {
                (base as i64 + jitter(rng)).clamp(0, 10_000) as u16
            };
            let s = WorkloadSample {
                cpu,
                mem: has_mem.then(|| rng.below(10_001) as u16),
                gpu: has_gpu.then(|| rng.below(10_001) as u16),
                unix_s: if case == 11 {
                    u64::MAX - 60 * (len - k)
                } else {
                    t0 + 60 * k
                },
            };
            let op =
                if k == 0 { OP_INIT } else { 0 } | if k + 1 >= len.min(3) { OP_PREDICT } else { 0 };
            w_ops.push((op, s));
        }
    }
    w_ops
}

fn write_workload_inputs(h: &mut String, w_ops: &Ops<WorkloadSample>) {
    h.push_str("typedef struct { uint32_t op; AimlWorkloadSample s; } aiml_vec_workload;\n");
    writeln!(
        h,
        "static const aiml_vec_workload AIML_VEC_WORKLOAD[{}] = {{",
        w_ops.len()
    )
    .unwrap();
    for (op, s) in w_ops {
        let flags = s.mem.is_some() as u16 | (s.gpu.is_some() as u16) << 1;
        writeln!(
            h,
            "  {{{op}, {{{}ULL, {}, {}, {}, {flags}}}}},",
            s.unix_s,
            s.cpu,
            s.mem.unwrap_or(0),
            s.gpu.unwrap_or(0)
        )
        .unwrap();
    }
    h.push_str("};\n\n");
}

fn threat_inputs(rng: &mut Rng) -> Ops<ThreatStep> {
    let mut t_ops = Vec::new();
    for case in 0..16u64 {
        let len = [1, 4, 12][case as usize % 3];
        let heavy = case % 2 == 1;
        let mut t = 1_000_000 + rng.below(1_000_000);
        for k in 0..len {
            t += 500 + rng.below(20_000);
            let scale = if heavy { 100_000 } else { 500 };
            let mut w = ProcessWindow {
                syscalls: rng.below(scale * 10) as u32,
                network_connections: rng.below(scale / 10 + 1) as u32,
                file_accesses: rng.below(scale * 5) as u32,
                privilege_attempts: if heavy { rng.below(20) as u32 } else { 0 },
                failed_syscalls: rng.below(scale) as u32,
                memory_allocs: rng.below(scale) as u32,
                alloc_kib: rng.below(scale * 100) as u32,
                spawns: rng.below(if heavy { 500 } else { 3 }) as u32,
                end_ms: t,
            };
            if case == 7 {
                w.syscalls = u32::MAX;
                w.failed_syscalls = u32::MAX;
                w.spawns = u32::MAX;
            }
            if case == 9 && k == 1 {
                w = ProcessWindow::default();
            }
            // i386-like call numbers, a few out of range (the kernel may report any number)
            let mut calls = [0u32; THREAT_CALLS];
            for c in calls.iter_mut() {
                *c = if rng.below(20) == 0 {
                    u32::MAX - rng.below(3) as u32
                } else {
                    rng.below(if heavy { 400 } else { 8 }) as u32
                };
            }
            let n_calls = rng.below(THREAT_CALLS as u64 + 1) as usize;
            let step = ThreatStep { calls, n_calls, w };
            t_ops.push((if k == 0 { OP_INIT } else { 0 } | OP_PREDICT, step));
        }
    }
    t_ops
}

fn write_threat_inputs(h: &mut String, t_ops: &Ops<ThreatStep>) {
    writeln!(
        h,
        "typedef struct {{ uint32_t op; AimlProcessWindow w; uint32_t n_calls; uint32_t calls[{THREAT_CALLS}]; }} aiml_vec_threat;"
    )
    .unwrap();
    writeln!(
        h,
        "static const aiml_vec_threat AIML_VEC_THREAT[{}] = {{",
        t_ops.len()
    )
    .unwrap();
    for (op, step) in t_ops {
        let w = &step.w;
        let calls: Vec<String> = step.calls.iter().map(|c| format!("{c}u")).collect();
        writeln!(
            h,
            "  {{{op}, {{{}ULL, {}u, {}u, {}u, {}u, {}u, {}u, {}u, {}u}}, {}u, {{{}}}}},",
            w.end_ms,
            w.syscalls,
            w.network_connections,
            w.file_accesses,
            w.privilege_attempts,
            w.failed_syscalls,
            w.memory_allocs,
            w.alloc_kib,
            w.spawns,
            step.n_calls,
            calls.join(", ")
        )
        .unwrap();
    }
    h.push_str("};\n\n");
}

fn failure_inputs(rng: &mut Rng) -> Ops<HealthSample> {
    let mut f_ops = Vec::new();
    for case in 0..16u64 {
        let len = [1, 6, 21, 40][case as usize % 4];
        let mut health = 1000i64 - rng.below(200) as i64;
        let slope = rng.below(30) as i64 - 20;
        let t0 = rng.below(1_000_000_000);
        for k in 0..len {
            let t = t0 + 60 * k;
            if case % 3 == 0 && k % 9 == 4 {
                f_ops.push((
                    OP_FAILURE,
                    HealthSample {
                        health: 0,
                        unix_s: t - 30,
                    },
                ));
            }
            health = (health + slope + rng.below(41) as i64 - 20).clamp(0, 1000);
            let hv = if case == 10 && k == len - 1 {
                5000
            } else {
                health as u16
            };
            let op =
                if k == 0 { OP_INIT } else { 0 } | if k + 1 >= len.min(2) { OP_PREDICT } else { 0 };
            f_ops.push((
                op,
                HealthSample {
                    health: hv,
                    unix_s: t,
                },
            ));
        }
    }
    f_ops
}

fn write_failure_inputs(h: &mut String, f_ops: &Ops<HealthSample>) {
    h.push_str("typedef struct { uint32_t op; AimlHealthSample s; } aiml_vec_failure;\n");
    writeln!(
        h,
        "static const aiml_vec_failure AIML_VEC_FAILURE[{}] = {{",
        f_ops.len()
    )
    .unwrap();
    for (op, s) in f_ops {
        writeln!(
            h,
            "  {{{op}, {{{}ULL, {}, {{0, 0, 0}}}}}},",
            s.unix_s, s.health
        )
        .unwrap();
    }
    h.push_str("};\n\n");
}

fn memory_inputs(rng: &mut Rng) -> Ops<MemoryAccess> {
    let mut m_ops = Vec::new();
    for case in 0..12u64 {
        let len = [3, 25, 60][case as usize % 3];
        let mut addr = rng.next() & 0x0000_7FFF_FFFF_FFC0;
        let stride = [64u64, 128, 4096, 8, 0, 64 * 7][case as usize % 6];
        let pcs = [0x40_1000u64, 0x40_1010, 0x40_2000];
        let mut t = rng.below(1 << 40);
        for k in 0..len {
            let r = rng.below(10);
            addr = if r < 7 {
                addr.wrapping_add(stride)
            } else if r < 9 {
                addr.wrapping_sub(64)
            } else {
                rng.next()
            };
            if case == 4 && k == len - 1 {
                addr = u64::MAX;
            }
            t += 1 + rng.below(500);
            let a = MemoryAccess {
                addr,
                pc: pcs[(k as usize + case as usize) % pcs.len()],
                kind: AccessKind::from_code(rng.below(3) as usize),
                time_ns: t,
            };
            m_ops.push((if k == 0 { OP_INIT } else { 0 } | OP_PREDICT, a));
        }
    }
    m_ops
}

fn write_memory_inputs(h: &mut String, m_ops: &Ops<MemoryAccess>) {
    h.push_str("typedef struct { uint32_t op; AimlMemoryAccess a; } aiml_vec_memory;\n");
    writeln!(
        h,
        "static const aiml_vec_memory AIML_VEC_MEMORY[{}] = {{",
        m_ops.len()
    )
    .unwrap();
    for (op, a) in m_ops {
        writeln!(
            h,
            "  {{{op}, {{0x{:x}ULL, 0x{:x}ULL, {}ULL, {}, 0}}}},",
            a.addr, a.pc, a.time_ns, a.kind as u32
        )
        .unwrap();
    }
    h.push_str("};\n\n");
}

/// The blobs to load in phase L; for signing and anti-rollback (aiml_run_signing) the test
/// public key and the built-in workload blob signed with versions 9 and 8.
fn write_blobs(h: &mut String, loaded: &[Vec<u8>]) {
    for (k, b) in ModelKind::ALL.iter().zip(loaded) {
        c_bytes(&format!("AIML_BLOB_{}", k.name().to_uppercase()), b, h);
    }
    c_bytes("AIML_TEST_PUBKEY", &test_key().pk[..], h);
    let w = ModelKind::Workload;
    c_bytes("AIML_SIGNED_WORKLOAD_V9", &signed(&with_version(w, 9)), h);
    c_bytes("AIML_SIGNED_WORKLOAD_V8", &signed(&with_version(w, 8)), h);
    // key rotation and revocation (aiml_run_rotation, test_rollback)
    let k2_id = inference_core::signature::key_id(&key2().pk);
    c_bytes("AIML_KEY2_PUBKEY", &key2().pk[..], h);
    c_bytes("AIML_REVOKER_PUBKEY", &revoker().pk[..], h);
    writeln!(h, "#define AIML_KEY2_ID 0x{k2_id:016x}ULL").unwrap();
    let v10 = signed2(&with_version(w, 10), &key2());
    c_bytes("AIML_SIG2_WORKLOAD_V10_KEY2", &v10, h);
    c_bytes(
        "AIML_SIG2_WORKLOAD_V11_KEY1",
        &signed2(&with_version(w, 11), &test_key()),
        h,
    );
    c_bytes("AIML_REVOKE_SEQ1_NONE", &revocation(1, &[], &revoker()), h);
    c_bytes(
        "AIML_REVOKE_SEQ2_KEY2",
        &revocation(2, &[k2_id], &revoker()),
        h,
    );
    c_bytes(
        "AIML_REVOKE_SEQ3_BY_KEY1",
        &revocation(3, &[k2_id], &test_key()),
        h,
    );
}

/// `aiml_vectors.h`: the inputs and the blobs, for C.
fn c_header(inputs: &Inputs, loaded: &[Vec<u8>]) -> String {
    let mut h = String::new();
    h.push_str("/* Generated by `cargo run -p kernel-shim --example vectors`. Do not edit. */\n");
    h.push_str("#ifndef AIML_VECTORS_H\n#define AIML_VECTORS_H\n#include \"aios_ml.h\"\n\n");
    write_workload_inputs(&mut h, &inputs.workload);
    write_threat_inputs(&mut h, &inputs.threat);
    write_failure_inputs(&mut h, &inputs.failure);
    write_memory_inputs(&mut h, &inputs.memory);
    write_blobs(&mut h, loaded);
    h.push_str("\n#endif\n");
    h
}

/// The four predictors of one phase: built-in models (`None`) or the given blobs.
struct Predictors<'a> {
    workload: WorkloadPredictor<'a>,
    threat: ThreatDetector<'a>,
    failure: FailurePredictor<'a>,
    memory: MemoryPredictor<'a>,
}

impl<'a> Predictors<'a> {
    fn new(blobs: Option<&'a [Vec<u8>]>) -> Self {
        let blob = |k: ModelKind| blobs.map(|v| v[k as usize - 1].as_slice());
        let p = Predictors {
            workload: WorkloadPredictor::new(blob(ModelKind::Workload)),
            threat: ThreatDetector::new(blob(ModelKind::Threat)),
            failure: FailurePredictor::new(blob(ModelKind::Failure)),
            memory: MemoryPredictor::new(blob(ModelKind::Memory)),
        };
        if blobs.is_some() {
            for (k, src) in ModelKind::ALL.iter().zip(p.sources()) {
                assert!(
                    matches!(src, ModelSource::Loaded { .. }),
                    "{k} blob refused: {src:?}"
                );
            }
        }
        p
    }

    fn sources(&self) -> [&ModelSource; 4] {
        [
            self.workload.source(),
            self.threat.source(),
            self.failure.source(),
            self.memory.source(),
        ]
    }

    fn models(&self) -> [&Model<'a>; 4] {
        [
            self.workload.model().unwrap(),
            self.threat.model().unwrap(),
            self.failure.model().unwrap(),
            self.memory.model().unwrap(),
        ]
    }
}

fn expect_workload(
    out: &mut String,
    phase: char,
    wp: &WorkloadPredictor,
    w_ops: &Ops<WorkloadSample>,
) {
    let mut hist = WorkloadHistory::new();
    for (i, (op, s)) in w_ops.iter().enumerate() {
        if op & OP_INIT != 0 {
            hist = WorkloadHistory::new();
        }
        hist.push(*s);
        if op & OP_PREDICT != 0 {
            let p = wp.predict(&mut hist);
            let flags = p.mem.is_some() as u16 | (p.gpu.is_some() as u16) << 1;
            writeln!(
                out,
                "{phase} W {i} cpu={} mem={} gpu={} err={} conf={} flags={flags}",
                p.cpu,
                p.mem.unwrap_or(0),
                p.gpu.unwrap_or(0),
                p.expected_error,
                p.confidence
            )
            .unwrap();
        }
    }
}

fn expect_threat(out: &mut String, phase: char, tp: &ThreatDetector, t_ops: &Ops<ThreatStep>) {
    let mut hist = ThreatHistory::new();
    for (i, (op, step)) in t_ops.iter().enumerate() {
        if op & OP_INIT != 0 {
            hist = ThreatHistory::new();
        }
        for &nr in &step.calls[..step.n_calls] {
            hist.observe_call(nr);
        }
        let a = tp.assess(&mut hist, &step.w);
        writeln!(
            out,
            "{phase} T {i} score={} conf={} thr={} type={} action={}",
            a.score, a.confidence, a.threshold, a.threat_type as u8, a.action as u8
        )
        .unwrap();
    }
}

fn expect_failure(out: &mut String, phase: char, fp: &FailurePredictor, f_ops: &Ops<HealthSample>) {
    let mut hist = FailureHistory::new();
    for (i, (op, s)) in f_ops.iter().enumerate() {
        if op & OP_INIT != 0 {
            hist = FailureHistory::new();
        }
        if op & OP_FAILURE != 0 {
            hist.record_failure(s.unix_s);
        } else {
            hist.push(*s);
        }
        if op & OP_PREDICT != 0 {
            let f = fp.predict(&hist);
            writeln!(
                out,
                "{phase} F {i} p={} alarm={} ttf={} conf={} type={}",
                f.probability,
                f.alarm as u8,
                f.time_to_failure_s,
                f.confidence,
                f.failure_type as u8
            )
            .unwrap();
        }
    }
}

fn expect_memory(out: &mut String, phase: char, mp: &MemoryPredictor, m_ops: &Ops<MemoryAccess>) {
    let mut hist = MemoryHistory::new();
    for (i, (op, a)) in m_ops.iter().enumerate() {
        if op & OP_INIT != 0 {
            hist = MemoryHistory::new();
        }
        hist.push(*a);
        let p = mp.predict(&hist);
        writeln!(
            out,
            "{phase} M {i} addr={:x} delta={} p={} conf={} kind={} class={} degree={} pf={:x},{:x},{:x},{:x}",
            p.next_addr,
            p.delta_blocks,
            p.probability,
            p.confidence,
            p.kind as u8,
            p.class,
            p.degree,
            p.prefetch[0],
            p.prefetch[1],
            p.prefetch[2],
            p.prefetch[3]
        )
        .unwrap();
    }
}

/// The host reference of the A/B counters (`aiml_run_ab`): the live model is the built-in
/// one, the candidate the phase-L blob; in shadow mode (phase `A`) both answer every
/// prediction, in split mode (phase `S`, half the entities) the series whose entity id (its
/// index, from 1) hashes below 500 are answered by the candidate. The outcome of a prediction
/// is what came next in its series: the next CPU sample, a failure record as the next
/// event, the next access (64-byte blocks); a threat window's is whether it made privilege
/// attempts. Written from the documented definitions, apart from the C ABI. Split runs first,
/// so that the shim's counters hold the shadow comparison afterwards (for the health dump).
#[derive(Default)]
struct AbRef {
    shadowed: u32,
    agreed: u32,
    routed: u32,
    paired: u32,
    live_err: u32,
    cand_err: u32,
    cand_better: u32,
    live_better: u32,
    live: [u32; 3],
    cand: [u32; 3],
}

/// Split share of the A/B reference, per-mille.
const AB_SHARE: u32 = 500;

impl AbRef {
    /// Whether the series with entity id `entity` goes to the candidate.
    fn routed(split: bool, entity: u64) -> bool {
        split && kernel_shim::ab::bucket(entity) < AB_SHARE
    }

    fn predicted(&mut self, by_candidate: bool, shadow: Option<bool>) {
        if by_candidate {
            self.routed += 1;
            self.cand[0] += 1;
        } else {
            self.live[0] += 1;
        }
        if let Some(agree) = shadow {
            self.shadowed += 1;
            self.agreed += agree as u32;
            self.cand[0] += 1;
        }
    }

    /// An outcome: the answer's error (if scored), the shadow's (if any), the pair.
    fn outcome(
        &mut self,
        by_candidate: bool,
        answer: Option<u32>,
        shadow: Option<u32>,
        paired: Option<(u32, u32)>,
    ) {
        if let Some(e) = answer {
            let h = if by_candidate {
                &mut self.cand
            } else {
                &mut self.live
            };
            h[1] += 1;
            h[2] += e;
        }
        if let Some(e) = shadow {
            self.cand[1] += 1;
            self.cand[2] += e;
        }
        if let Some((l, c)) = paired {
            self.paired += 1;
            self.live_err += l;
            self.cand_err += c;
            self.cand_better += (c < l) as u32;
            self.live_better += (l < c) as u32;
        }
    }

    fn line(&self, out: &mut String, phase: char, kind: ModelKind) {
        writeln!(
            out,
            "{phase} ab kind={} shadowed={} agreed={} routed={} paired={} live_err={} cand_err={} \
             cand_better={} live_better={} live={},{},{} cand={},{},{}",
            kind as u32,
            self.shadowed,
            self.agreed,
            self.routed,
            self.paired,
            self.live_err,
            self.cand_err,
            self.cand_better,
            self.live_better,
            self.live[0],
            self.live[1],
            self.live[2],
            self.cand[0],
            self.cand[1],
            self.cand[2]
        )
        .unwrap();
    }
}

fn binary_error(alarm: bool, event: bool) -> u32 {
    if alarm == event {
        0
    } else {
        1000
    }
}

fn ab_workload(
    live: &WorkloadPredictor,
    cand: &WorkloadPredictor,
    split: bool,
    ops: &Ops<WorkloadSample>,
) -> AbRef {
    let mut r = AbRef::default();
    let (mut hist, mut entity) = (WorkloadHistory::new(), 0u64);
    let mut pending: Option<(bool, u16, Option<u16>)> = None;
    for (op, s) in ops {
        if op & OP_INIT != 0 {
            hist = WorkloadHistory::new();
            entity += 1;
            pending = None;
        } else if let Some((by, cpu, shadow)) = pending.take() {
            let e = |c: u16| c.abs_diff(s.cpu) as u32;
            r.outcome(
                by,
                Some(e(cpu)),
                shadow.map(e),
                shadow.map(|sh| (e(cpu), e(sh))),
            );
        }
        hist.push(*s);
        if op & OP_PREDICT != 0 {
            let by = AbRef::routed(split, entity);
            let p = if by {
                cand.predict(&mut hist)
            } else {
                live.predict(&mut hist)
            };
            let shadow = (!split).then(|| cand.predict_shadow(&mut hist).cpu);
            r.predicted(by, shadow.map(|c| c.abs_diff(p.cpu) <= 100));
            pending = Some((by, p.cpu, shadow));
        }
    }
    r
}

fn ab_threat(
    live: &ThreatDetector,
    cand: &ThreatDetector,
    split: bool,
    ops: &Ops<ThreatStep>,
) -> AbRef {
    let mut r = AbRef::default();
    let (mut hist, mut entity) = (ThreatHistory::new(), 0u64);
    let alarm = |a: &inference_core::predictors::ThreatAssessment| {
        a.threshold > 0 && a.score >= a.threshold
    };
    for (op, step) in ops {
        if op & OP_INIT != 0 {
            hist = ThreatHistory::new();
            entity += 1;
        }
        for &nr in &step.calls[..step.n_calls] {
            hist.observe_call(nr);
        }
        let f = hist.features(&step.w);
        let by = AbRef::routed(split, entity);
        let a = if by {
            cand.assess(&mut hist, &step.w)
        } else {
            live.assess(&mut hist, &step.w)
        };
        let shadow = (!split).then(|| alarm(&cand.assess_features(&f)));
        r.predicted(by, shadow.map(|s| s == alarm(&a)));
        let attack = step.w.privilege_attempts > 0;
        let (e, es) = (
            binary_error(alarm(&a), attack),
            shadow.map(|s| binary_error(s, attack)),
        );
        r.outcome(by, Some(e), es, es.map(|es| (e, es)));
    }
    r
}

fn ab_failure(
    live: &FailurePredictor,
    cand: &FailurePredictor,
    split: bool,
    ops: &Ops<HealthSample>,
) -> AbRef {
    let mut r = AbRef::default();
    let (mut hist, mut entity) = (FailureHistory::new(), 0u64);
    let mut pending: Option<(bool, bool, Option<bool>)> = None;
    for (op, s) in ops {
        if op & OP_INIT != 0 {
            hist = FailureHistory::new();
            entity += 1;
            pending = None;
        } else if let Some((by, alarm, shadow)) = pending.take() {
            let failed = op & OP_FAILURE != 0;
            let (e, es) = (
                binary_error(alarm, failed),
                shadow.map(|s| binary_error(s, failed)),
            );
            r.outcome(by, Some(e), es, es.map(|es| (e, es)));
        }
        if op & OP_FAILURE != 0 {
            hist.record_failure(s.unix_s);
        } else {
            hist.push(*s);
        }
        if op & OP_PREDICT != 0 {
            let by = AbRef::routed(split, entity);
            let f = if by {
                cand.predict(&hist)
            } else {
                live.predict(&hist)
            };
            let shadow = (!split).then(|| cand.predict(&hist).alarm);
            r.predicted(by, shadow.map(|s| s == f.alarm));
            pending = Some((by, f.alarm, shadow));
        }
    }
    r
}

fn ab_memory(
    live: &MemoryPredictor,
    cand: &MemoryPredictor,
    split: bool,
    ops: &Ops<MemoryAccess>,
) -> AbRef {
    let mut r = AbRef::default();
    let (mut hist, mut entity) = (MemoryHistory::new(), 0u64);
    let first = |p: &inference_core::predictors::AccessPrediction| {
        if p.degree > 0 {
            p.prefetch[0]
        } else {
            0
        }
    };
    let block = |a: u64| a & !63;
    // (by candidate, the prefetched blocks, the shadow's first prefetch)
    let mut pending: Option<(bool, Vec<u64>, Option<u64>)> = None;
    for (op, a) in ops {
        if op & OP_INIT != 0 {
            hist = MemoryHistory::new();
            entity += 1;
        } else if let Some((by, issued, shadow)) = pending.take() {
            let hit = |x: u64| x != 0 && block(x) == block(a.addr);
            let answer = (!issued.is_empty()).then(|| {
                if issued.iter().any(|&x| block(x) == block(a.addr)) {
                    0
                } else {
                    1000
                }
            });
            let first_err = |x: u64| if hit(x) { 0 } else { 1000 };
            let live_first = issued.first().copied().unwrap_or(0);
            let shadow_score = shadow.filter(|&x| x != 0).map(first_err);
            let paired = shadow
                .filter(|&x| live_first != 0 || x != 0)
                .map(|x| (first_err(live_first), first_err(x)));
            r.outcome(by, answer, shadow_score, paired);
        }
        hist.push(*a);
        let by = AbRef::routed(split, entity);
        let p = if by {
            cand.predict(&hist)
        } else {
            live.predict(&hist)
        };
        let shadow = (!split).then(|| first(&cand.predict(&hist)));
        r.predicted(by, shadow.map(|s| s == first(&p)));
        pending = Some((by, p.prefetch[..p.degree as usize].to_vec(), shadow));
    }
    r
}

/// The A/B lines of `expected.txt`: phase `S` (split), then phase `A` (shadow).
fn expected_ab(out: &mut String, inputs: &Inputs, loaded: &[Vec<u8>]) {
    let (live, cand) = (Predictors::new(None), Predictors::new(Some(loaded)));
    for (phase, split) in [('S', true), ('A', false)] {
        ab_workload(&live.workload, &cand.workload, split, &inputs.workload).line(
            out,
            phase,
            ModelKind::Workload,
        );
        ab_threat(&live.threat, &cand.threat, split, &inputs.threat).line(
            out,
            phase,
            ModelKind::Threat,
        );
        ab_failure(&live.failure, &cand.failure, split, &inputs.failure).line(
            out,
            phase,
            ModelKind::Failure,
        );
        ab_memory(&live.memory, &cand.memory, split, &inputs.memory).line(
            out,
            phase,
            ModelKind::Memory,
        );
    }
}

/// `expected.txt`: phase `D` (built-in models), then phase `L` (the loaded blobs).
fn expected(inputs: &Inputs, loaded: &[Vec<u8>]) -> String {
    let mut out = String::new();
    for (phase, blobs) in [('D', None), ('L', Some(loaded))] {
        let p = Predictors::new(blobs);
        for ((kind, src), m) in ModelKind::ALL.into_iter().zip(p.sources()).zip(p.models()) {
            info_line(&mut out, phase, kind, src, m);
        }
        expect_workload(&mut out, phase, &p.workload, &inputs.workload);
        expect_threat(&mut out, phase, &p.threat, &inputs.threat);
        expect_failure(&mut out, phase, &p.failure, &inputs.failure);
        expect_memory(&mut out, phase, &p.memory, &inputs.memory);
    }
    expected_ab(&mut out, inputs, loaded);
    out
}

fn main() {
    let (dir, loaded) = parse_args();
    let mut rng = Rng(0x005E_ED0F_A105_u64);
    let inputs = Inputs {
        workload: workload_inputs(&mut rng),
        threat: threat_inputs(&mut rng),
        failure: failure_inputs(&mut rng),
        memory: memory_inputs(&mut rng),
    };
    let h = c_header(&inputs, &loaded);
    let out = expected(&inputs, &loaded);
    std::fs::create_dir_all(&dir).expect("create OUT_DIR");
    std::fs::write(dir.join("aiml_vectors.h"), h).expect("write header");
    std::fs::write(dir.join("expected.txt"), &out).expect("write expected");
    eprintln!(
        "vectors: {} expected lines -> {}",
        out.lines().count(),
        dir.display()
    );
}
