//! `trainer monitor`: runs a registry's workload and failure models on this host's live
//! telemetry through the kernel shim (the same C ABI and slots a kernel module uses), reports
//! every outcome back to the shim (the CPU that came; no failure), and writes the shim's health
//! counters as Prometheus metrics for node_exporter's textfile collector.

use std::ffi::c_void;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use inference_core::ModelKind;
use kernel_shim as shim;
use trainer::data::collect;
use trainer::monitor::{self, SlotState};
use trainer::Error;

/// Arguments of `trainer monitor`.
#[derive(clap::Args)]
pub struct MonitorArgs {
    /// Registry whose current workload and failure models to run (a model it lacks runs as
    /// the built-in default, and `aiosml_model_info` says so).
    #[arg(long, default_value = "models")]
    models: PathBuf,
    /// node_exporter's textfile directory (`--collector.textfile.directory`): `aiosml.prom`
    /// is rewritten there atomically after every interval.
    #[arg(long, required_unless_present = "dump")]
    textfile: Option<PathBuf>,
    /// Instead of running models: read health dumps (`aiml-dump {...}` lines written by
    /// `kernel-shim/c/aiml_dump.h`: a C program's output, a kernel log) and print each
    /// model's health, drift, the change between the first and the last dump, and a
    /// recommendation.
    #[arg(long, value_name = "FILE")]
    dump: Option<PathBuf>,
    /// Sampling interval, e.g. 15s.
    #[arg(long, default_value = "15s")]
    interval: String,
    /// How long, e.g. 10m, or `forever` (a service).
    #[arg(long, default_value = "forever")]
    duration: String,
    /// Ed25519 public key file (`trainer keygen`): only blobs signed by it load, as in a
    /// kernel with `aiml_set_key(key, false)`. Without it the registry's blobs load unsigned.
    #[arg(long, value_name = "FILE")]
    pub_key: Option<PathBuf>,
}

/// The shim's clock: monotonic nanoseconds since the first call.
unsafe extern "C" fn clock_ns(_ctx: *mut c_void) -> u64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

fn check(what: &str, s: shim::AimlStatus) -> Result<(), Error> {
    if s == shim::AimlStatus::Ok {
        Ok(())
    } else {
        Err(Error::Tool {
            program: "kernel-shim",
            message: format!("{what}: {s:?}"),
        })
    }
}

/// Loads the registry's current blob of `kind` into its slot, if it has one.
fn load(models: &std::path::Path, kind: ModelKind, code: u32) -> Result<Option<u32>, Error> {
    let Some(path) = trainer::registry::current_path(models, kind) else {
        return Ok(None);
    };
    let blob = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    // SAFETY: `blob` is a live buffer of `blob.len()` bytes; the shim copies it.
    let s = unsafe { shim::aiml_load(code, blob.as_ptr(), blob.len()) };
    check(&format!("loading {}", path.display()), s)?;
    Ok(Some(blob.len() as u32))
}

fn state(kind: ModelKind, code: u32, last_output: Option<f64>) -> Result<SlotState, Error> {
    let mut health = shim::AimlHealth::default();
    let mut info = shim::AimlModelInfo::default();
    // SAFETY: both pointers are to live, writable values of the types the calls fill.
    check("aiml_health", unsafe {
        shim::aiml_health(code, &mut health)
    })?;
    // SAFETY: as above.
    check("aiml_info", unsafe { shim::aiml_info(code, &mut info) })?;
    Ok(SlotState {
        kind,
        health,
        info,
        last_output,
    })
}

/// Runs `trainer monitor`.
pub fn run(a: MonitorArgs) -> Result<(), Error> {
    if let Some(path) = &a.dump {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        print!(
            "{}",
            monitor::dump_report(&monitor::read_dump(path, &text)?)
        );
        return Ok(());
    }
    let Some(textfile) = a.textfile.clone() else {
        return Err(Error::Usage(
            "--textfile DIR or --dump FILE is needed".into(),
        ));
    };
    let interval = collect::parse_duration(&a.interval)?;
    let duration = if a.duration == "forever" {
        Duration::MAX
    } else {
        collect::parse_duration(&a.duration)?
    };
    if !textfile.is_dir() {
        return Err(Error::io(
            &textfile,
            std::io::Error::new(std::io::ErrorKind::NotFound, "not a directory"),
        ));
    }
    check(
        "aiml_set_clock",
        shim::aiml_set_clock(Some(clock_ns), std::ptr::null_mut()),
    )?;
    match &a.pub_key {
        Some(path) => {
            let key = trainer::registry::signing::load_public(path)?;
            // SAFETY: `key` is 32 readable bytes.
            check("aiml_set_key", unsafe {
                shim::aiml_set_key(key.as_ptr(), false)
            })?;
        }
        // the registry's own blobs, checked by the trainer that wrote them; unsigned ones load
        // SAFETY: a null key is allowed (no key).
        None => check("aiml_set_key", unsafe {
            shim::aiml_set_key(std::ptr::null(), true)
        })?,
    }
    check("aiml_init", shim::aiml_init())?;
    let (w, f) = (shim::AIML_KIND_WORKLOAD, shim::AIML_KIND_FAILURE);
    for (kind, code) in [(ModelKind::Workload, w), (ModelKind::Failure, f)] {
        match load(&a.models, kind, code)? {
            Some(n) => eprintln!("{kind}: {} ({n} bytes)", a.models.display()),
            None => eprintln!(
                "{kind}: no model in {}, the built-in default runs",
                a.models.display()
            ),
        }
    }
    let mut wh = shim::AimlWorkloadHistory {
        opaque: [0; shim::AIML_WORKLOAD_HISTORY_WORDS],
    };
    let mut fh = shim::AimlFailureHistory {
        opaque: [0; shim::AIML_FAILURE_HISTORY_WORDS],
    };
    // SAFETY: live, writable histories.
    check("history init", unsafe {
        shim::aiml_workload_history_init(&mut wh)
    })?;
    // SAFETY: as above.
    check("history init", unsafe {
        shim::aiml_failure_history_init(&mut fh)
    })?;
    let read = |p: &str| std::fs::read_to_string(p).ok();
    let mut prev_cpu = read("/proc/stat").as_deref().and_then(collect::cpu_times);
    let mut last_w: Option<shim::AimlWorkloadPrediction> = None;
    let mut last_f: Option<shim::AimlFailureForecast> = None;
    let start = Instant::now();
    let mut next = start + interval;
    let mut written = 0u64;
    eprintln!(
        "monitoring every {interval:?} into {}",
        textfile.join(monitor::FILE).display()
    );
    while start.elapsed() < duration {
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        }
        next += interval;
        let unix_s = trainer::data::time::unix_now();
        let cur = read("/proc/stat").as_deref().and_then(collect::cpu_times);
        if let (Some((b0, t0)), Some((b1, t1))) = (prev_cpu, cur) {
            if t1 > t0 {
                let cpu = (10_000.0 * (b1 - b0) as f64 / (t1 - t0) as f64).round() as u16;
                if let Some(p) = &last_w {
                    // SAFETY: `p` is a live prediction.
                    check("aiml_workload_outcome", unsafe {
                        shim::aiml_workload_outcome(p, cpu)
                    })?;
                }
                let mem = read("/proc/meminfo")
                    .as_deref()
                    .and_then(collect::mem_percent);
                let gpu = collect::gpu_percent();
                let sample = shim::AimlWorkloadSample {
                    unix_s,
                    cpu,
                    mem: mem.map_or(0, |m| (m * 100.0).round() as u16),
                    gpu: gpu.map_or(0, |g| (g * 100.0).round() as u16),
                    flags: if mem.is_some() { shim::AIML_HAS_MEM } else { 0 }
                        | if gpu.is_some() { shim::AIML_HAS_GPU } else { 0 },
                };
                let mut p = shim::AimlWorkloadPrediction::default();
                // SAFETY: live history, sample and output.
                unsafe {
                    check(
                        "aiml_workload_push",
                        shim::aiml_workload_push(&mut wh, &sample),
                    )?;
                    // too short a history is a refusal, counted by the shim: not an error here
                    if shim::aiml_workload_predict(&mut wh, &mut p) == shim::AimlStatus::Ok {
                        last_w = Some(p);
                    }
                }
            }
        }
        prev_cpu = cur;
        let files: Vec<String> = ["cpu", "memory", "io"]
            .iter()
            .filter_map(|r| read(&format!("/proc/pressure/{r}")))
            .collect();
        let health = collect::health_from_pressure(&files).unwrap_or(1000);
        if let Some(fc) = &last_f {
            // no failure of this host is observable here: every alarm is a false one
            // SAFETY: `fc` is a live forecast.
            check("aiml_failure_outcome", unsafe {
                shim::aiml_failure_outcome(fc, false)
            })?;
        }
        let hs = shim::AimlHealthSample {
            unix_s,
            health,
            reserved: [0; 3],
        };
        let mut fc = shim::AimlFailureForecast::default();
        // SAFETY: live history, sample and output.
        unsafe {
            check("aiml_failure_push", shim::aiml_failure_push(&mut fh, &hs))?;
            if shim::aiml_failure_predict(&fh, &mut fc) == shim::AimlStatus::Ok {
                last_f = Some(fc);
            }
        }
        let slots = [
            state(ModelKind::Workload, w, last_w.map(|p| p.cpu as f64 / 100.0))?,
            state(
                ModelKind::Failure,
                f,
                last_f.map(|f| f.probability as f64 / 1000.0),
            )?,
        ];
        monitor::write_textfile(&textfile, &monitor::render(&slots))?;
        written += 1;
    }
    eprintln!("wrote {} {written} times", monitor::FILE);
    Ok(())
}
