//! `trainer report`: one self-contained HTML file for a registry — inline SVG charts drawn by
//! `plotters`, no script, no network, no external file.
//!
//! Per model kind with published versions:
//! - the versions (headline metric of the int8 model against the best naive baseline, size);
//! - loss and validation loss per epoch of the current version, the chosen epoch marked;
//! - the headline metric per version against every baseline;
//! - threat and failure: the ROC curve and the confusion counts at the operating threshold;
//! - workload: predicted against actual CPU;
//! - memory: miss reduction per prefetch policy, when an `evaluate --json` output of the
//!   memory model is given (the simulation needs the traces, which the registry does not
//!   hold).
//!
//! Everything comes from the manifests (`diagnostics` since 2026-11-30; older versions show
//! what they have).

use std::fmt::Write as _;
use std::path::Path;

use inference_core::ModelKind;
use plotters::chart::{ChartContext, MeshStyle};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde_json::Value;

use crate::error::{Error, Result};

const WIDTH: u32 = 560;
const HEIGHT: u32 = 340;
const MODEL: RGBColor = RGBColor(31, 119, 180);
const OTHER: [RGBColor; 6] = [
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(127, 127, 127),
];

/// The report of the registry at `root`; `memory_eval`: an `evaluate --json` output of a
/// memory model, drawn as miss reduction per policy.
pub fn render(root: &Path, memory_eval: Option<&Value>) -> Result<String> {
    let mut sections = String::new();
    let mut found = 0;
    for kind in ModelKind::ALL {
        let path = root.join(kind.name()).join("manifest.json");
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(&path, e)),
        };
        let manifest: Value = serde_json::from_str(&text)
            .map_err(|e| Error::Usage(format!("{}: invalid JSON: {e}", path.display())))?;
        let versions = manifest["versions"].as_array().cloned().unwrap_or_default();
        if versions.is_empty() {
            continue;
        }
        found += 1;
        sections.push_str(&section(
            kind,
            &manifest,
            &versions,
            memory_eval.filter(|_| kind == ModelKind::Memory),
        )?);
    }
    if found == 0 {
        return Err(Error::Usage(format!(
            "{}: no model with a published version (expected KIND/manifest.json)",
            root.display()
        )));
    }
    Ok(format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>aios-ml training report</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>aios-ml training report</h1>\n<p>Registry <code>{}</code>: {found} model(s). \
         Figures are the deployed int8 model's on each run's validation data; baselines on \
         the same data.</p>\n{sections}</body>\n</html>\n",
        escape(&root.display().to_string())
    ))
}

const STYLE: &str = "body{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}\
table{border-collapse:collapse;margin:0.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;\
text-align:right}th{background:#f3f3f3}td.l,th.l{text-align:left}.charts{display:flex;\
flex-wrap:wrap;gap:12px}figure{margin:0;max-width:600px}figcaption{font-size:0.9em;color:#555}";

fn section(
    kind: ModelKind,
    manifest: &Value,
    versions: &[Value],
    memory_eval: Option<&Value>,
) -> Result<String> {
    let current = manifest["current"].as_u64();
    let cur = versions
        .iter()
        .find(|v| v["version"].as_u64() == current)
        .unwrap_or(&versions[versions.len() - 1]);
    let headline = cur["metrics_int8"]["headline_name"]
        .as_str()
        .unwrap_or("headline")
        .to_string();
    let mut s = format!("<h2>{}</h2>\n", kind.name());
    s.push_str(&version_table(versions, current, &headline));
    s.push_str("<div class=\"charts\">\n");
    s.push_str(&figure(
        &curves(cur)?,
        &format!(
            "Training of the current version (v{}): loss and validation loss per epoch; the \
             dashed line is the epoch kept.",
            cur["version"]
        ),
    ));
    s.push_str(&figure(
        &headline_per_version(versions, &headline)?,
        &format!("{headline} per version: the int8 model against each baseline."),
    ));
    let diag = &cur["diagnostics"];
    if let Some(roc) = diag["roc"].as_array().filter(|r| !r.is_empty()) {
        s.push_str(&figure(
            &roc_chart(roc)?,
            "ROC curve of the current version on its validation data.",
        ));
    }
    if let Some(points) = diag["cpu_actual_predicted"]
        .as_array()
        .filter(|p| !p.is_empty())
    {
        s.push_str(&figure(
            &scatter(points)?,
            "Next CPU %: predicted against actual (validation samples, evenly spaced).",
        ));
    }
    if let Some(e) = memory_eval {
        s.push_str(&figure(
            &miss_reduction(e)?,
            "Miss reduction per policy, all programs of the evaluation (evaluate --json): \
             cache lines and pages.",
        ));
    }
    s.push_str("</div>\n");
    if let Some(c) = diag.get("confusion").filter(|c| c.is_object()) {
        s.push_str(&confusion_table(c));
    }
    if kind == ModelKind::Memory && memory_eval.is_none() {
        s.push_str(
            "<p>Miss reduction per policy needs the traces: give <code>--memory-evaluation \
             FILE</code> (the output of <code>trainer evaluate --json</code> for this model).</p>\n",
        );
    }
    Ok(s)
}

fn version_table(versions: &[Value], current: Option<u64>, headline: &str) -> String {
    let mut t = format!(
        "<table><tr><th>version</th><th class=\"l\">data</th><th>{} (int8)</th><th>best \
         naive baseline</th><th>MACs</th><th>blob bytes</th><th>epochs (kept)</th></tr>\n",
        escape(headline)
    );
    for v in versions {
        let id = v["version"].as_u64();
        let best = v["baselines"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|b| b["naive"].as_bool().unwrap_or(false))
            .filter_map(|b| Some((b["name"].as_str()?, headline_of(&b["metrics"], headline)?)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        let _ = writeln!(
            t,
            "<tr><td>v{}{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{} ({})</td></tr>",
            id.unwrap_or(0),
            if id == current { " (current)" } else { "" },
            escape(v["data_source"].as_str().unwrap_or("")),
            fmt3(headline_of(&v["metrics_int8"], headline)),
            best.map(|(n, x)| format!("{} {:.3}", escape(n), x))
                .unwrap_or_else(|| "–".into()),
            v["macs"],
            v["blob_bytes"],
            v["epochs"].as_array().map_or(0, |e| e.len()),
            v["hyperparameters"]["best_epoch"],
        );
    }
    t.push_str("</table>\n");
    t
}

fn confusion_table(c: &Value) -> String {
    let n = |k: &str| c[k].as_u64().unwrap_or(0);
    format!(
        "<table><tr><th class=\"l\">at {} ‰</th><th>alarm</th><th>no alarm</th></tr>\n\
         <tr><th class=\"l\">positive</th><td>{}</td><td>{}</td></tr>\n\
         <tr><th class=\"l\">negative</th><td>{}</td><td>{}</td></tr></table>\n\
         <p>Confusion counts of the current version at its operating threshold (validation \
         samples).</p>\n",
        n("threshold_permille"),
        n("true_positives"),
        n("false_negatives"),
        n("false_positives"),
        n("true_negatives"),
    )
}

fn headline_of(metrics: &Value, name: &str) -> Option<f64> {
    metrics[name].as_f64().filter(|x| x.is_finite())
}

fn fmt3(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.3}")).unwrap_or_else(|| "–".into())
}

fn figure(svg: &str, caption: &str) -> String {
    format!(
        "<figure>{svg}<figcaption>{}</figcaption></figure>\n",
        escape(caption)
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn plot_error(e: impl std::fmt::Display) -> Error {
    Error::Usage(format!("drawing a chart: {e}"))
}

/// `(lo, hi)` padded by 5 % (a flat series gets a unit range).
fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = if hi > lo { (hi - lo) * 0.05 } else { 0.5 };
    (lo - pad, hi + pad)
}

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Axes and labels drawn once for every chart: an SVG of `size` with `x` and `y` ranges and
/// axis names, the series drawn by `draw`, and a legend when `legend`.
struct Axes<'s> {
    size: (u32, u32),
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
    x_desc: &'s str,
    y_desc: &'s str,
    legend: bool,
}

impl Axes<'_> {
    fn svg(
        self,
        mesh: impl FnOnce(&mut MeshStyle<'_, '_, RangedCoordf64, RangedCoordf64, SVGBackend<'_>>),
        draw: impl FnOnce(&mut Chart<'_, '_>) -> Result<()>,
    ) -> Result<String> {
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, self.size).into_drawing_area();
            root.fill(&WHITE).map_err(plot_error)?;
            let mut chart = ChartBuilder::on(&root)
                .margin(10)
                .x_label_area_size(35)
                .y_label_area_size(55)
                .build_cartesian_2d(self.x, self.y)
                .map_err(plot_error)?;
            let mut m = chart.configure_mesh();
            m.label_style(("sans-serif", 12))
                .axis_desc_style(("sans-serif", 13))
                .x_desc(self.x_desc)
                .y_desc(self.y_desc);
            mesh(&mut m);
            m.draw().map_err(plot_error)?;
            draw(&mut chart)?;
            if self.legend {
                chart
                    .configure_series_labels()
                    .background_style(WHITE.mix(0.8))
                    .border_style(BLACK)
                    .draw()
                    .map_err(plot_error)?;
            }
            root.present().map_err(plot_error)?;
        }
        Ok(svg)
    }
}

/// A line with its legend entry.
fn line(
    chart: &mut Chart<'_, '_>,
    pts: Vec<(f64, f64)>,
    color: RGBColor,
    name: &str,
) -> Result<()> {
    chart
        .draw_series(LineSeries::new(pts, color.stroke_width(2)))
        .map_err(plot_error)?
        .label(name)
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], color));
    Ok(())
}

/// A dashed reference line from `a` to `b`.
fn dashed(chart: &mut Chart<'_, '_>, a: (f64, f64), b: (f64, f64), color: RGBColor) -> Result<()> {
    chart
        .draw_series(DashedLineSeries::new([a, b], 5, 4, color.stroke_width(1)))
        .map_err(plot_error)?;
    Ok(())
}

fn curves(v: &Value) -> Result<String> {
    let epochs: Vec<(f64, Option<f64>, Option<f64>)> = v["epochs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["epoch"].as_f64().unwrap_or(0.0),
                e["loss"].as_f64(),
                e["val_loss"].as_f64(),
            )
        })
        .collect();
    let best = v["hyperparameters"]["best_epoch"].as_f64();
    let (ylo, yhi) = range(epochs.iter().flat_map(|e| [e.1, e.2]).flatten());
    let ylo = ylo.min(0.0);
    let xmax = epochs.iter().map(|e| e.0).fold(1.0, f64::max);
    let axes = Axes {
        size: (WIDTH, HEIGHT),
        x: 0.0..xmax + 1.0,
        y: ylo..yhi,
        x_desc: "epoch",
        y_desc: "loss",
        legend: true,
    };
    axes.svg(
        |_| {},
        |chart| {
            let training = epochs.iter().filter_map(|e| Some((e.0, e.1?))).collect();
            line(chart, training, MODEL, "training loss")?;
            let validation = epochs.iter().filter_map(|e| Some((e.0, e.2?))).collect();
            line(chart, validation, OTHER[0], "validation loss")?;
            match best {
                Some(b) => dashed(chart, (b, ylo), (b, yhi), BLACK),
                None => Ok(()),
            }
        },
    )
}

fn headline_per_version(versions: &[Value], headline: &str) -> Result<String> {
    // series: the model, then each baseline by name
    let mut series: Vec<(String, Vec<(f64, f64)>)> = vec![("model (int8)".into(), vec![])];
    for v in versions {
        let x = v["version"].as_f64().unwrap_or(0.0);
        if let Some(y) = headline_of(&v["metrics_int8"], headline) {
            series[0].1.push((x, y));
        }
        for b in v["baselines"].as_array().into_iter().flatten() {
            let (Some(name), Some(y)) = (b["name"].as_str(), headline_of(&b["metrics"], headline))
            else {
                continue;
            };
            match series.iter_mut().find(|s| s.0 == name) {
                Some(s) => s.1.push((x, y)),
                None => series.push((name.to_string(), vec![(x, y)])),
            }
        }
    }
    let (ylo, yhi) = range(series.iter().flat_map(|s| s.1.iter().map(|p| p.1)));
    let xmax = versions
        .iter()
        .filter_map(|v| v["version"].as_f64())
        .fold(1.0, f64::max);
    let axes = Axes {
        size: (WIDTH, HEIGHT),
        x: 0.5..xmax + 0.5,
        y: ylo..yhi,
        x_desc: "version",
        y_desc: headline,
        legend: true,
    };
    axes.svg(
        |m| {
            m.x_labels(versions.len().clamp(2, 12))
                .x_label_formatter(&|x| format!("v{x:.0}"));
        },
        |chart| {
            for (i, (name, pts)) in series.into_iter().enumerate() {
                let color = if i == 0 {
                    MODEL
                } else {
                    OTHER[(i - 1) % OTHER.len()]
                };
                line(chart, pts.clone(), color, &name)?;
                chart
                    .draw_series(pts.into_iter().map(|p| Circle::new(p, 4, color.filled())))
                    .map_err(plot_error)?;
            }
            Ok(())
        },
    )
}

fn pairs(v: &[Value]) -> Vec<(f64, f64)> {
    v.iter()
        .filter_map(|p| Some((p[0].as_f64()?, p[1].as_f64()?)))
        .collect()
}

fn roc_chart(roc: &[Value]) -> Result<String> {
    let pts = pairs(roc);
    let axes = Axes {
        size: (HEIGHT + 40, HEIGHT),
        x: 0.0..1.0,
        y: 0.0..1.0,
        x_desc: "false-positive rate",
        y_desc: "true-positive rate",
        legend: false,
    };
    axes.svg(
        |_| {},
        |chart| {
            dashed(chart, (0.0, 0.0), (1.0, 1.0), OTHER[5])?;
            line(chart, pts, MODEL, "model")
        },
    )
}

fn scatter(points: &[Value]) -> Result<String> {
    let pts = pairs(points);
    let (lo, hi) = range(pts.iter().flat_map(|p| [p.0, p.1]));
    let axes = Axes {
        size: (HEIGHT + 40, HEIGHT),
        x: lo..hi,
        y: lo..hi,
        x_desc: "actual CPU %",
        y_desc: "predicted CPU %",
        legend: false,
    };
    axes.svg(
        |_| {},
        |chart| {
            dashed(chart, (lo, lo), (hi, hi), OTHER[5])?;
            chart
                .draw_series(
                    pts.into_iter()
                        .map(|p| Circle::new(p, 2, MODEL.mix(0.6).filled())),
                )
                .map_err(plot_error)?;
            Ok(())
        },
    )
}

/// Grouped bars: miss reduction of each policy at line and page level (the `line` and `page`
/// objects of `evaluate --json`, summed over its programs).
fn miss_reduction(e: &Value) -> Result<String> {
    let mut bars: Vec<(String, f64, f64)> = Vec::new();
    if let Some(line) = e["line"].as_object() {
        for (name, m) in line {
            if name == "none" {
                continue;
            }
            let page = e["page"][name.as_str()]["miss_reduction"].as_f64();
            bars.push((
                name.clone(),
                m["miss_reduction"].as_f64().unwrap_or(f64::NAN),
                page.unwrap_or(f64::NAN),
            ));
        }
    }
    if let Some(page) = e["page"].as_object() {
        for (name, m) in page {
            if name != "none" && !bars.iter().any(|b| &b.0 == name) {
                bars.push((
                    name.clone(),
                    f64::NAN,
                    m["miss_reduction"].as_f64().unwrap_or(f64::NAN),
                ));
            }
        }
    }
    if bars.is_empty() {
        return Err(Error::Usage(
            "the memory evaluation has no `line` or `page` results (expected the output of \
             `trainer evaluate --json` for a memory model)"
                .into(),
        ));
    }
    // bars below -1 (a policy that doubles the faults) are cut at -1 so the others stay readable
    let (lo, hi) = range(
        bars.iter()
            .flat_map(|b| [b.1, b.2])
            .map(|v| v.max(-1.0))
            .chain([0.0]),
    );
    let n = bars.len() as f64;
    let axes = Axes {
        size: (WIDTH, HEIGHT),
        x: 0.0..n,
        y: lo..hi,
        x_desc: "",
        y_desc: "miss reduction",
        legend: true,
    };
    axes.svg(
        |m| {
            m.disable_x_mesh().x_labels(0);
        },
        |chart| {
            // the policy names under their bars, inside the plot (the axis has no categories)
            let label = TextStyle::from(("sans-serif", 12).into_font())
                .pos(Pos::new(HPos::Center, VPos::Bottom));
            chart
                .draw_series(bars.iter().enumerate().map(|(i, b)| {
                    Text::new(
                        b.0.clone(),
                        (i as f64 + 0.5, lo + (hi - lo) * 0.02),
                        label.clone(),
                    )
                }))
                .map_err(plot_error)?;
            for (level, color, offset) in [("cache lines", MODEL, 0.1), ("pages", OTHER[0], 0.5)] {
                let rects: Vec<_> = bars
                    .iter()
                    .enumerate()
                    .filter_map(|(i, b)| {
                        let v = if offset < 0.3 { b.1 } else { b.2 };
                        v.is_finite().then(|| {
                            let x = i as f64 + offset;
                            Rectangle::new([(x, 0.0), (x + 0.4, v.max(-1.0))], color.filled())
                        })
                    })
                    .collect();
                chart
                    .draw_series(rects)
                    .map_err(plot_error)?
                    .label(level)
                    .legend(move |(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
                    });
            }
            Ok(())
        },
    )
}
