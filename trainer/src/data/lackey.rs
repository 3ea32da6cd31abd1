//! valgrind lackey memory traces (`valgrind --tool=lackey --trace-mem=yes`), streamed.
//!
//! Lines look like `I  04001c30,3` (instruction fetch), ` L 1ffefff8a8,8` (load),
//! ` S …` (store), ` M …` (modify: load then store). Each data access takes the program counter
//! of the instruction line before it; time is counted in instructions. Instruction fetches are
//! not data accesses and only advance the PC and the clock. Lines starting with `==` are
//! valgrind's own messages. Plain or gzip files (by the `.gz` suffix); a directory means all its
//! files in name order. Nothing is held in memory but the current line.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use inference_core::features::memory::{self, AccessKind, MemoryAccess};

use super::access_samples::{AccessSampler, LINE_CAPACITY, PAGE_CAPACITY};
use inference_core::ModelKind;

use super::dataset::Dataset;
use super::{files, DataError, Loaded, ReadOptions, Skips};

/// A streaming reader of the data accesses of one or more lackey traces.
pub struct AccessStream {
    files: Vec<PathBuf>,
    next_file: usize,
    reader: Option<Box<dyn BufRead>>,
    path: PathBuf,
    line_no: usize,
    line: String,
    pc: u64,
    instructions: u64,
    opts: ReadOptions,
    /// Malformed lines skipped so far (with `skip_bad_rows`).
    pub skips: Skips,
    /// Set after the stream ends on an error.
    failed: bool,
}

impl AccessStream {
    /// Opens every trace under `path`.
    pub fn open(path: &Path, opts: &ReadOptions) -> Result<AccessStream, DataError> {
        Ok(AccessStream {
            files: files(path, |n| !n.starts_with('.'))?,
            next_file: 0,
            reader: None,
            path: path.to_path_buf(),
            line_no: 0,
            line: String::new(),
            pc: 0,
            instructions: 0,
            opts: opts.clone(),
            skips: Skips::default(),
            failed: false,
        })
    }

    fn open_next(&mut self) -> Result<bool, DataError> {
        let Some(p) = self.files.get(self.next_file).cloned() else {
            return Ok(false);
        };
        self.next_file += 1;
        let f = File::open(&p).map_err(|e| DataError::file(&p, e))?;
        let raw: Box<dyn Read> = if p.extension().is_some_and(|e| e == "gz") {
            Box::new(flate2::read::MultiGzDecoder::new(f))
        } else {
            Box::new(f)
        };
        self.reader = Some(Box::new(BufReader::with_capacity(1 << 16, raw)));
        self.path = p;
        self.line_no = 0;
        Ok(true)
    }

    /// The next data access, `None` at the end of the last file.
    pub fn next_access(&mut self) -> Result<Option<MemoryAccess>, DataError> {
        if self.failed {
            return Ok(None);
        }
        loop {
            if self.reader.is_none() && !self.open_next()? {
                return Ok(None);
            }
            self.line.clear();
            let n = match self.reader.as_mut() {
                Some(r) => r.read_line(&mut self.line),
                None => Ok(0),
            };
            let n = match n {
                Ok(n) => n,
                Err(e) => {
                    self.failed = true;
                    return Err(DataError::at(&self.path, self.line_no + 1, None, e));
                }
            };
            if n == 0 {
                self.reader = None;
                continue;
            }
            self.line_no += 1;
            match parse_line(&self.line) {
                Ok(Line::Instruction(pc)) => {
                    self.pc = pc;
                    self.instructions += 1;
                }
                Ok(Line::Data(addr, kind)) => {
                    return Ok(Some(MemoryAccess {
                        addr,
                        pc: self.pc,
                        kind,
                        time_ns: self.instructions,
                    }))
                }
                Ok(Line::Other) => {}
                Err((field, msg)) => {
                    let e = DataError::at(&self.path, self.line_no, Some(field), msg);
                    if let Err(e) = self.skips.handle(&self.opts, e) {
                        self.failed = true;
                        return Err(e);
                    }
                }
            }
        }
    }
}

/// One parsed lackey line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    /// Instruction fetch at this address.
    Instruction(u64),
    /// Data access.
    Data(u64, AccessKind),
    /// A line that is not an access (valgrind messages, blank lines).
    Other,
}

/// Parses one line of lackey output.
pub fn parse_line(line: &str) -> Result<Line, (&'static str, String)> {
    let l = line.trim_end();
    if l.is_empty() || l.starts_with("==") || l.starts_with("--") {
        return Ok(Line::Other);
    }
    let t = l.trim_start();
    // The tag is one character, which need not be one byte (found by fuzzing: `split_at(1)`
    // panicked on a line starting with a multi-byte character).
    let (tag, rest) = t.split_at(t.chars().next().map_or(0, char::len_utf8));
    let kind = match tag {
        "I" => None,
        "L" => Some(AccessKind::Read),
        "S" | "M" => Some(AccessKind::Write),
        _ => {
            return Err((
                "kind",
                format!("unknown record '{tag}' (expected I, L, S or M)"),
            ))
        }
    };
    let (addr, size) = rest
        .trim()
        .split_once(',')
        .ok_or(("address", "expected ADDRESS,SIZE".to_string()))?;
    let addr = u64::from_str_radix(addr.trim(), 16)
        .map_err(|_| ("address", format!("'{}' is not a hex address", addr.trim())))?;
    size.trim()
        .parse::<u32>()
        .map_err(|_| ("size", format!("'{}' is not a size", size.trim())))?;
    Ok(match kind {
        None => Line::Instruction(addr),
        Some(k) => Line::Data(addr, k),
    })
}

/// Samples per chunk: the unit of thinning and of validation groups.
const CHUNK: usize = 2000;

/// Memory-model samples from a whole trace, at both granularities (cache lines and pages, one
/// [`AccessSampler`] each, so one model serves the cache-line and the paging setting; the page
/// sampler's history sees page faults only, as a fault handler would): at
/// most `max_samples`, in chunks of consecutive samples spread evenly over the trace (a
/// program's start-up is not its steady state). Each chunk is a validation group.
pub fn load(path: &Path, opts: &ReadOptions, max_samples: usize) -> Result<Loaded, DataError> {
    let mut s = AccessStream::open(path, opts)?;
    let mut d = Dataset::new(ModelKind::Memory, format!("lackey:{}", path.display()));
    let mut samplers = [
        AccessSampler::new(memory::LINE_BYTES, LINE_CAPACITY),
        AccessSampler::faults(memory::PAGE_BYTES, PAGE_CAPACITY),
    ];
    let max_samples = max_samples.max(1);
    // keep chunk c when c % stride == 0; double the stride whenever twice the budget is held
    let mut stride = 1u32;
    let mut emitted = 0usize;
    let mut n = 0i64;
    while let Some(a) = s.next_access()? {
        for sampler in &mut samplers {
            sampler.push(a, |f, t| {
                let chunk = (emitted / CHUNK) as u32;
                emitted += 1;
                if chunk.is_multiple_of(stride) {
                    d.push(f, t, chunk, n);
                }
            });
        }
        n += 1;
        if d.len() > 2 * max_samples && (stride as usize) < emitted / CHUNK {
            stride *= 2;
            d = thin(&d, stride);
        }
    }
    while d.len() > max_samples && (stride as usize) < emitted / CHUNK {
        stride *= 2;
        d = thin(&d, stride);
    }
    if d.len() > max_samples {
        // a single chunk: its first samples
        d = d.subset(&(0..max_samples).collect::<Vec<_>>());
    }
    Ok(Loaded::new(d, s.skips))
}

/// The samples of `d` whose chunk is a multiple of `stride`.
fn thin(d: &Dataset, stride: u32) -> Dataset {
    let keep: Vec<usize> = (0..d.len())
        .filter(|&i| d.group[i].is_multiple_of(stride))
        .collect();
    d.subset(&keep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_and_streams_with_pcs() {
        assert_eq!(
            parse_line("I  04001c30,3"),
            Ok(Line::Instruction(0x04001c30))
        );
        assert_eq!(
            parse_line(" L 1ffefff8a8,8"),
            Ok(Line::Data(0x1ffefff8a8, AccessKind::Read))
        );
        assert_eq!(
            parse_line(" M 0421a5c8,4"),
            Ok(Line::Data(0x0421a5c8, AccessKind::Write))
        );
        assert_eq!(parse_line("==123== Lackey"), Ok(Line::Other));
        assert_eq!(parse_line(" X 12,4").unwrap_err().0, "kind");
        assert_eq!(parse_line(" L zz,4").unwrap_err().0, "address");
        assert_eq!(parse_line(" \u{e9}S 7ff000108,8").unwrap_err().0, "kind");
        assert_eq!(parse_line(" L 12,").unwrap_err().0, "size");

        let dir = std::env::temp_dir().join(format!("aios-lackey-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut text = String::from("==1== Lackey\n");
        for i in 0..1000u64 {
            text.push_str(&format!(
                "I  {:08x},3\n L {:x},8\n",
                0x400000 + 4 * (i % 3),
                0x10000 + 64 * i
            ));
        }
        let plain = dir.join("t.txt");
        std::fs::write(&plain, &text).unwrap();
        let gz = dir.join("t.txt.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut enc, text.as_bytes()).unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        for p in [&plain, &gz] {
            let mut s = AccessStream::open(p, &ReadOptions::default()).unwrap();
            let first = s.next_access().unwrap().unwrap();
            assert_eq!(
                (first.addr, first.pc, first.time_ns),
                (0x10000, 0x400000, 1)
            );
            let mut n = 1;
            while s.next_access().unwrap().is_some() {
                n += 1;
            }
            assert_eq!(n, 1000);
        }
        assert_eq!(
            load(&plain, &ReadOptions::default(), 50)
                .unwrap()
                .data
                .len(),
            50
        );
        let l = load(&plain, &ReadOptions::default(), 10_000).unwrap();
        // 1000 line changes (and 16 page changes), each labelled once the 512 further misses
        // that would evict its prefetches have passed
        assert_eq!(l.data.len(), 1000 - LINE_CAPACITY);
        // a next-line stream: after warm-up the last change's proposal (+1) is useful
        assert_eq!(l.data.target(40)[1], 1.0);

        std::fs::write(dir.join("bad.txt"), "I  0400,3\n L nothex,8\n").unwrap();
        let e = load(&dir.join("bad.txt"), &ReadOptions::default(), 10).unwrap_err();
        assert_eq!((e.line, e.field.as_deref()), (Some(2), Some("address")));
    }
}
