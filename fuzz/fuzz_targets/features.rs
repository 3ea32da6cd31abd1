//! Feature extraction and prediction of each model on raw observations decoded from bytes:
//! extreme and nonsensical values (u64::MAX timestamps, time going backwards, 0xFFFF
//! percentages) must never panic. The first byte picks the model.
#![no_main]

use inference_core::features::failure::{FailureHistory, HealthSample};
use inference_core::features::memory::{AccessKind, MemoryAccess, MemoryHistory};
use inference_core::features::threat::{ProcessWindow, ThreatHistory};
use inference_core::features::workload::{WorkloadHistory, WorkloadSample};
use inference_core::{FailurePredictor, MemoryPredictor, ThreatDetector, WorkloadPredictor};
use libfuzzer_sys::fuzz_target;

struct Bytes<'a>(&'a [u8]);
impl Bytes<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }
    fn u16(&mut self) -> Option<u16> {
        self.take::<2>().map(u16::from_le_bytes)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take::<4>().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take::<8>().map(u64::from_le_bytes)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|b| b[0])
    }
}

fn workload(b: &mut Bytes<'_>) -> Option<()> {
    let p = WorkloadPredictor::new(None);
    let mut h = WorkloadHistory::default();
    loop {
        let flags = b.u8()?;
        let s = WorkloadSample {
            cpu: b.u16()?,
            mem: (flags & 1 != 0).then_some(b.u16()?),
            gpu: (flags & 2 != 0).then_some(b.u16()?),
            unix_s: b.u64()?,
        };
        h.push(s);
        let _ = p.predict(&mut h);
    }
}

fn threat(b: &mut Bytes<'_>) -> Option<()> {
    let p = ThreatDetector::new(None);
    let mut h = ThreatHistory::default();
    loop {
        // the calls of the window first (any number, any value), then the window
        for _ in 0..b.u8()? {
            h.observe_call(b.u32()?);
        }
        let w = ProcessWindow {
            syscalls: b.u32()?,
            network_connections: b.u32()?,
            file_accesses: b.u32()?,
            privilege_attempts: b.u32()?,
            failed_syscalls: b.u32()?,
            memory_allocs: b.u32()?,
            alloc_kib: b.u32()?,
            spawns: b.u32()?,
            end_ms: b.u64()?,
        };
        let _ = p.assess(&mut h, &w);
    }
}

fn failure(b: &mut Bytes<'_>) -> Option<()> {
    let p = FailurePredictor::new(None);
    let mut h = FailureHistory::default();
    loop {
        let op = b.u8()?;
        let t = b.u64()?;
        if op & 1 == 0 {
            h.push(HealthSample {
                health: b.u16()?,
                unix_s: t,
            });
        } else {
            h.record_failure(t);
        }
        let _ = p.predict(&h);
    }
}

fn memory(b: &mut Bytes<'_>) -> Option<()> {
    let p = MemoryPredictor::new(None);
    let mut h = MemoryHistory::default();
    loop {
        let a = MemoryAccess {
            addr: b.u64()?,
            pc: b.u64()?,
            kind: AccessKind::from_code(b.u8()? as usize % 3),
            time_ns: b.u64()?,
        };
        h.push(a);
        let _ = p.predict(&h);
        let _ = h.candidates();
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let mut b = Bytes(rest);
    let _ = match which % 4 {
        0 => workload(&mut b),
        1 => threat(&mut b),
        2 => failure(&mut b),
        _ => memory(&mut b),
    };
});
