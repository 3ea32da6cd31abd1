//! `trainer report`: one self-contained HTML file for a registry, checked by parsing it.

mod common;

use std::path::Path;
use std::process::Command;

use common::{ok, refused, temp_dir};

fn trainer(args: &[&str], extra: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_trainer"))
        .args(args)
        .arg(extra)
        .output()
        .unwrap()
}

/// Element names in document order (start tags), after checking that the document is well
/// formed: every tag closed in order (void and self-closed elements aside), every attribute
/// value quoted, no `<` or `>` left in text.
fn parse(html: &str) -> Vec<String> {
    const VOID: [&str; 2] = ["meta", "br"];
    let mut open: Vec<String> = Vec::new();
    let mut starts = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        let text = &rest[..i];
        assert!(!text.contains('>'), "stray '>' in text: {text:.80}");
        let end = rest[i..].find('>').expect("unterminated tag") + i;
        let tag = &rest[i + 1..end];
        rest = &rest[end + 1..];
        if tag.starts_with("!DOCTYPE") {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            let top = open
                .pop()
                .unwrap_or_else(|| panic!("</{name}> closes nothing"));
            assert_eq!(top, name, "</{name}> closes <{top}>");
            continue;
        }
        let self_closed = tag.ends_with('/');
        let tag = tag.trim_end_matches('/');
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        assert!(!name.is_empty(), "bad tag <{tag:.60}>");
        // attributes: name="value" pairs
        let mut attrs = tag[name.len()..].trim();
        while !attrs.is_empty() {
            let eq = attrs
                .find('=')
                .unwrap_or_else(|| panic!("attribute without value: {attrs:.60}"));
            let after = &attrs[eq + 1..];
            assert!(
                after.starts_with('"'),
                "unquoted attribute value in <{name}>: {after:.40}"
            );
            let close = after[1..].find('"').expect("unterminated attribute value") + 1;
            attrs = after[close + 1..].trim_start();
        }
        starts.push(name.clone());
        if !self_closed && !VOID.contains(&name.as_str()) {
            open.push(name);
        }
    }
    assert!(open.is_empty(), "unclosed: {open:?}");
    starts
}

fn count(names: &[String], name: &str) -> usize {
    names.iter().filter(|n| *n == name).count()
}

#[test]
fn a_report_draws_every_model_and_parses() {
    let dir = temp_dir("report", "all");
    let reg = dir.join("models");
    let quick = [
        "train",
        "--epochs",
        "3",
        "--samples",
        "2000",
        "--allow-worse",
        "--seed",
        "5",
        "--out",
    ];
    ok(&trainer(&quick, &reg));
    // a second threat version: the per-version chart gets two points
    let mut again = vec!["train", "--model", "threat"];
    again.extend_from_slice(&quick[1..]);
    let seed_at = again.len() - 2;
    again[seed_at] = "6"; // another seed
    ok(&trainer(&again, &reg));

    let out = ok(&trainer(&["report", "--registry"], &reg));
    let file = reg.join("report.html");
    assert!(out.contains("report.html"), "{out}");
    let html = std::fs::read_to_string(&file).unwrap();
    let names = parse(&html);

    // self-contained: no script, nothing fetched (the SVG namespace is a name, not a fetch)
    assert_eq!(count(&names, "script"), 0);
    assert_eq!(count(&names, "img") + count(&names, "link"), 0);
    assert!(!html
        .replace("http://www.w3.org/2000/svg", "")
        .contains("http"));
    // four sections; per model the loss curves and the headline per version, then ROC for
    // threat and failure and predicted-vs-actual for the workload
    assert_eq!(count(&names, "h2"), 4);
    assert_eq!(count(&names, "svg"), 4 * 2 + 2 + 1);
    assert_eq!(count(&names, "figure"), count(&names, "svg"));
    for caption in [
        "ROC curve",
        "predicted against actual",
        "loss and validation loss",
    ] {
        assert!(html.contains(caption), "no {caption}");
    }
    // confusion counts for threat and failure, and the memory model's note
    assert_eq!(html.matches("Confusion counts").count(), 2);
    assert!(html.contains("--memory-evaluation"));
    // the threat table lists both versions, the second as current
    let threat = &html[html.find("<h2>threat</h2>").unwrap()..];
    let threat = &threat[..threat[1..].find("<h2>").map_or(threat.len(), |i| i + 1)];
    assert!(threat.contains("v1</td>") && threat.contains("v2 (current)"));
    // charts are drawn: lines for curves, circles for points
    assert!(
        count(&names, "polyline") >= 8,
        "{}",
        count(&names, "polyline")
    );
    assert!(
        count(&names, "circle") >= 100,
        "{}",
        count(&names, "circle")
    );
}

#[test]
fn a_memory_evaluation_adds_miss_reduction_per_policy() {
    let dir = temp_dir("report", "memory");
    let reg = dir.join("models");
    ok(&trainer(
        &[
            "train",
            "--model",
            "memory",
            "--epochs",
            "2",
            "--samples",
            "2000",
            "--allow-worse",
            "--out",
        ],
        &reg,
    ));
    let eval = dir.join("eval.json");
    std::fs::write(
        &eval,
        r#"{"line": {"none": {"miss_reduction": 0.0}, "next_line": {"miss_reduction": 0.5},
             "model": {"miss_reduction": 0.55}},
            "page": {"none": {"miss_reduction": 0.0}, "next_line": {"miss_reduction": -3.0},
             "model": {"miss_reduction": 0.02}, "leap": {"miss_reduction": 0.03}}}"#,
    )
    .unwrap();
    let out = dir.join("r.html");
    let o = Command::new(env!("CARGO_BIN_EXE_trainer"))
        .args(["report", "--registry"])
        .arg(&reg)
        .arg("--memory-evaluation")
        .arg(&eval)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    ok(&o);
    let html = std::fs::read_to_string(&out).unwrap();
    let names = parse(&html);
    assert_eq!(count(&names, "svg"), 3);
    assert!(html.contains("Miss reduction per policy"));
    // one bar per policy and level with a value (next_line, model at both; leap at page)
    assert!(count(&names, "rect") >= 5);
    for policy in ["next_line", "model", "leap"] {
        assert!(
            html.contains(&format!("\n{policy}\n</text>")),
            "no label {policy}"
        );
    }

    // a file that is not an evaluation is refused, naming it
    std::fs::write(&eval, "{not json").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_trainer"))
        .args(["report", "--registry"])
        .arg(&reg)
        .arg("--memory-evaluation")
        .arg(&eval)
        .output()
        .unwrap();
    assert!(refused(&o).contains("eval.json"));
}

#[test]
fn an_empty_registry_is_refused() {
    let dir = temp_dir("report", "empty");
    let err = refused(&trainer(&["report", "--registry"], &dir));
    assert!(err.contains("no model with a published version"), "{err}");
    assert!(!dir.join("report.html").exists());
}
