//! `trainer models list|show|diff|promote|rollback`: the registry as an operator sees it; the
//! work is in `trainer::registry::ops`.

use std::path::{Path, PathBuf};

use inference_core::ModelKind;
use trainer::data::time::format_utc;
use trainer::registry::ops::{self, VersionSummary};
use trainer::registry::signing;
use trainer::registry::Registry;
use trainer::Error;

use super::common;

/// Arguments of `trainer models`.
#[derive(clap::Args)]
pub struct ModelsArgs {
    #[command(subcommand)]
    command: ModelsCommand,
    /// Registry folder.
    #[arg(long, global = true, default_value = "models")]
    registry: PathBuf,
}

#[derive(clap::Subcommand)]
enum ModelsCommand {
    /// Every version of each model: date, data, headline metric against the best baseline,
    /// signed or not; `*` marks the current one.
    List {
        /// Models: workload, threat, failure, memory, a comma-separated list, or all.
        #[arg(long, default_value = "all")]
        model: String,
    },
    /// One version's manifest entry: metrics, baselines, data, hyperparameters.
    Show {
        /// The model.
        #[arg(long)]
        model: String,
        /// Version number (`3` or `v3`).
        version: String,
        /// Print the entry as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Two versions side by side: the metrics, data and hyperparameters that differ.
    Diff {
        /// The model.
        #[arg(long)]
        model: String,
        /// First version.
        a: String,
        /// Second version.
        b: String,
    },
    /// Make a version current. A newer one than current becomes current as it is; an older
    /// one is republished under the next version number (devices refuse versions below the
    /// newest they accepted).
    Promote {
        /// The model.
        #[arg(long)]
        model: String,
        /// Version number.
        version: String,
        /// Private key to sign a republished version (default: $AIOS_SIGNING_KEY).
        #[arg(long)]
        sign_key: Option<PathBuf>,
    },
    /// Go back to the version that was current before (or --to V): its weights are
    /// republished under the next version number, so the devices' anti-rollback floor keeps
    /// working.
    Rollback {
        /// The model.
        #[arg(long)]
        model: String,
        /// Version to go back to (default: the one current before the current one).
        #[arg(long)]
        to: Option<String>,
        /// Private key to sign the republished version (default: $AIOS_SIGNING_KEY).
        #[arg(long)]
        sign_key: Option<PathBuf>,
    },
}

fn version(text: &str) -> Result<u32, Error> {
    text.trim_start_matches('v')
        .parse()
        .map_err(|_| Error::Usage(format!("'{text}' is not a version (e.g. 3 or v3)")))
}

/// Opens an existing registry (never creates one).
fn open(root: &Path) -> Result<Registry, Error> {
    if !root.is_dir() {
        return Err(Error::Usage(format!(
            "{}: no registry there (train into it first, or pass --registry DIR)",
            root.display()
        )));
    }
    Ok(Registry::open(root)?)
}

fn metric(v: &Option<(String, f64)>) -> String {
    v.as_ref()
        .map_or("–".into(), |(n, x)| format!("{n} {x:.3}"))
}

fn line(s: &VersionSummary) -> String {
    let created = if s.created_unix_s == 0 {
        "–".to_string()
    } else {
        format_utc(s.created_unix_s)
    };
    let note = s
        .republished_from
        .map_or(String::new(), |v| format!("  (weights of v{v})"));
    format!(
        "{} v{:<4} {:<24} {:<24} {:<28} {:<30} {}{}",
        if s.current { '*' } else { ' ' },
        s.version,
        created,
        metric(&s.headline),
        metric(&s.best_baseline),
        s.data_source,
        if s.signed { "signed" } else { "unsigned" },
        note
    )
}

/// Runs `trainer models`.
pub fn run(a: ModelsArgs) -> Result<(), Error> {
    let reg = open(&a.registry)?;
    match a.command {
        ModelsCommand::List { model } => {
            for kind in common::kinds(&model)? {
                let list = reg.summaries(kind)?;
                println!("{} ({} versions)", kind.name(), list.len());
                if list.is_empty() {
                    continue;
                }
                println!(
                    "  {:<5} {:<24} {:<24} {:<28} {:<30} signed",
                    "ver", "created (UTC)", "metric (int8)", "best baseline", "data"
                );
                for s in list.iter().rev() {
                    println!("{}", line(s));
                }
            }
        }
        ModelsCommand::Show {
            model,
            version: v,
            json,
        } => {
            let kind = common::kind(&model)?;
            let e = reg.entry(kind, version(&v)?)?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&e).unwrap_or_else(|_| e.to_string())
                );
            } else {
                show(&reg, kind, &e)?;
            }
        }
        ModelsCommand::Diff { model, a: x, b: y } => {
            let kind = common::kind(&model)?;
            let (vx, vy) = (version(&x)?, version(&y)?);
            let rows = ops::diff(&reg.entry(kind, vx)?, &reg.entry(kind, vy)?);
            println!(
                "{:<40} {:<24} {:<24}",
                "field",
                format!("v{vx}"),
                format!("v{vy}")
            );
            if rows.is_empty() {
                println!("(no difference)");
            }
            for (k, p, q) in rows {
                println!("{k:<40} {p:<24} {q:<24}");
            }
        }
        ModelsCommand::Promote {
            model,
            version: v,
            sign_key,
        } => {
            let kind = common::kind(&model)?;
            let key = signing::configured_key(sign_key.as_deref())?;
            let p = reg.promote(kind, version(&v)?, key.as_ref())?;
            report(kind, &p);
        }
        ModelsCommand::Rollback {
            model,
            to,
            sign_key,
        } => {
            let kind = common::kind(&model)?;
            let key = signing::configured_key(sign_key.as_deref())?;
            let to = to.as_deref().map(version).transpose()?;
            let p = reg.rollback(kind, to, key.as_ref())?;
            report(kind, &p);
        }
    }
    Ok(())
}

fn report(kind: ModelKind, p: &ops::Promotion) {
    let from = p.from.map_or("none".into(), |v| format!("v{v}"));
    match p.republished_from {
        _ if p.from == Some(p.to) => println!("{}: v{} is already current", kind.name(), p.to),
        Some(src) => println!(
            "{}: current {from} -> v{} (the weights of v{src}, republished under a new version \
             number so that devices' anti-rollback floor accepts them)",
            kind.name(),
            p.to
        ),
        None => println!("{}: current {from} -> v{}", kind.name(), p.to),
    }
}

fn show(reg: &Registry, kind: ModelKind, e: &serde_json::Value) -> Result<(), Error> {
    let s = ops::summary(e, reg.current_version(kind));
    println!(
        "{} v{}{}",
        kind.name(),
        s.version,
        if s.current { " (current)" } else { "" }
    );
    if let Some(src) = s.republished_from {
        println!("  weights of v{src}, republished");
    }
    let field = |k: &str| e[k].to_string().trim_matches('"').to_string();
    println!(
        "  created     {}",
        format_utc(e["created_unix_s"].as_u64().unwrap_or(0))
    );
    println!(
        "  data        {} (sha256 {})",
        field("data_source"),
        field("data_sha256")
    );
    println!(
        "  samples     train {}, validation {}",
        field("train_samples"),
        field("val_samples")
    );
    println!(
        "  blob        {} bytes, {} MACs, {}, sha256 {}",
        field("blob_bytes"),
        field("macs"),
        if e["signed"].as_bool() == Some(true) {
            "signed"
        } else {
            "unsigned"
        },
        field("blob_sha256")
    );
    println!("  params      {}", e["hyperparameters"]);
    println!("  int8        {}", e["metrics_int8"]);
    println!("  f32         {}", e["metrics_f32"]);
    for b in e["baselines"].as_array().into_iter().flatten() {
        println!("  baseline    {} {}", field_of(b, "name"), b["metrics"]);
    }
    Ok(())
}

fn field_of(v: &serde_json::Value, k: &str) -> String {
    v[k].as_str().unwrap_or("").to_string()
}
