//! What several commands share: model names and progress display.

use indicatif::{ProgressBar, ProgressStyle};
use inference_core::ModelKind;
use trainer::Error;

/// The models named by `--model` (`all` or a comma-separated list).
pub fn kinds(model: &str) -> Result<Vec<ModelKind>, Error> {
    if model == "all" {
        return Ok(ModelKind::ALL.to_vec());
    }
    model.split(',').map(|m| kind(m.trim())).collect()
}

/// One model by name.
pub fn kind(name: &str) -> Result<ModelKind, Error> {
    ModelKind::from_name(name).ok_or_else(|| {
        Error::Usage(format!(
            "unknown model '{name}': expected workload, threat, failure, memory or all"
        ))
    })
}

/// A progress bar (`len` steps) or spinner (`len` `None`) drawn with `template`, only when
/// `on_terminal` (piped output gets plain lines instead).
pub fn progress(on_terminal: bool, len: Option<u64>, template: &str) -> Option<ProgressBar> {
    on_terminal.then(|| {
        let (bar, fallback) = match len {
            Some(n) => (ProgressBar::new(n), ProgressStyle::default_bar()),
            None => (ProgressBar::new_spinner(), ProgressStyle::default_spinner()),
        };
        bar.set_style(ProgressStyle::with_template(template).unwrap_or(fallback));
        bar
    })
}
