//! `trainer inspect`: a blob's header, shapes, quantization and metadata.

use std::path::PathBuf;

use inference_core::Model;
use trainer::Error;

/// Arguments of `trainer inspect`.
#[derive(clap::Args)]
pub struct InspectArgs {
    /// Blob file.
    file: PathBuf,
}

/// Runs `trainer inspect`.
pub fn run(a: InspectArgs) -> Result<(), Error> {
    let file = &a.file;
    let bytes = std::fs::read(file).map_err(|e| Error::io(file, e))?;
    let model = Model::from_blob(&bytes).map_err(|e| Error::blob(file, e))?;
    let h = model.header();
    let m = model.metadata();
    println!("{}: {} bytes, CRC-32 verified", file.display(), bytes.len());
    if inference_core::signature::split(&bytes).signature.is_some() {
        println!("  signed (Ed25519 trailer, not checked here: trainer verify FILE --pub KEY)");
    }
    println!(
        "  format v{}  kind {}  model version {}  schema {:#010x}",
        inference_core::blob::FORMAT_VERSION,
        model.kind(),
        h.model_version,
        h.schema_id
    );
    println!(
        "  features {}  outputs {}  threshold {} per-mille  MACs {}",
        h.n_features,
        h.n_outputs,
        h.threshold_permille,
        model.macs()
    );
    match model.monitor() {
        Some(m) => println!(
            "  monitor: degradation alert above rolling error {}, cleared below {}, after {} \
             outcomes; drift alert above {} per-mille of a spread, cleared below {} ({} input \
             statistics)",
            m.error_alert,
            m.error_clear,
            m.min_outcomes,
            m.drift_alert,
            m.drift_clear,
            m.input_stats.len() / inference_core::monitor::STAT_LEN
        ),
        None => println!("  monitor: none (no degradation alert)"),
    }
    for (i, l) in model.layers().iter().enumerate() {
        println!(
            "  layer {i}: {} -> {}  {:?}  output zero point {}  weights {} B",
            l.inputs(),
            l.outputs(),
            l.activation(),
            l.output_zero_point(),
            l.macs()
        );
    }
    let q: Vec<String> = (0..model.n_features().min(4))
        .filter_map(|i| model.input_quant(i))
        .map(|(o, r)| {
            format!(
                "(offset {o}, x{:.4})",
                r.multiplier as f64 * 2f64.powi(r.shift as i32 - 31)
            )
        })
        .collect();
    println!("  input quantization (first {}): {}", q.len(), q.join(" "));
    println!(
        "  created {}  train {} / val {} samples  source {}",
        utc(m.created_unix_s),
        m.train_samples,
        m.val_samples,
        m.source
    );
    println!(
        "  {}: f32 {:.3}  int8 {:.3}  baseline {:.3}",
        m.metric,
        m.metric_f32_milli as f64 / 1000.0,
        m.metric_int8_milli as f64 / 1000.0,
        m.baseline_milli as f64 / 1000.0
    );
    Ok(())
}

/// `YYYY-MM-DD HH:MM:SS UTC` of Unix seconds (0, the built-in models' fixed time, says so).
fn utc(unix_s: u64) -> String {
    if unix_s == 0 {
        return "0 (built-in, reproducible)".into();
    }
    trainer::data::time::format_utc(unix_s)
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_dates() {
        assert_eq!(super::utc(1_392_388_020), "2014-02-14 14:27:00 UTC");
        assert_eq!(super::utc(951_825_600), "2000-02-29 12:00:00 UTC");
        assert!(super::utc(0).starts_with("0 "));
    }
}
