//! The `prometheus:` source over HTTP, against a small stand-in of Prometheus' `query_range`
//! API on a loopback port (CI also runs it against the real Prometheus: `.ci/prometheus.sh`).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use inference_core::ModelKind;
use trainer::data::collect::Anonymiser;
use trainer::data::prometheus::{self, Source};
use trainer::Error;

/// Decodes a query-string value.
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(if b[i] == b'+' { b' ' } else { b[i] });
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// Answers `query_range` like Prometheus for two hosts: CPU 10 % + step index mod 50 on `a`
/// and 20 % on `b`, memory 40 %, pressure 1 % (no GPU); `missing` names a metric it has no
/// data of. A range of more than 11 000 steps is refused as Prometheus does. Counts requests.
fn serve(missing: &'static str) -> (String, Arc<AtomicUsize>) {
    serve_with(missing, None)
}

/// As [`serve`], answering 401 to requests without `Authorization: Bearer <token>`.
fn serve_with(missing: &'static str, token: Option<&'static str>) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            c.fetch_add(1, Ordering::SeqCst);
            answer(stream, missing, token);
        }
    });
    (base, count)
}

fn answer(mut stream: TcpStream, missing: &str, token: Option<&str>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let mut authorized = token.is_none();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap() == 0 || h.trim().is_empty() {
            break;
        }
        if let (Some(t), Some((name, value))) = (token, h.split_once(':')) {
            authorized |=
                name.eq_ignore_ascii_case("authorization") && value.trim() == format!("Bearer {t}");
        }
    }
    if !authorized {
        let _ = write!(
            stream,
            "HTTP/1.1 401 Unauthorized\r\nContent-Length: 12\r\nConnection: close\r\n\r\nUnauthorized"
        );
        return;
    }
    let target = line.split_whitespace().nth(1).unwrap_or("");
    let (_, query) = target.split_once('?').unwrap_or((target, ""));
    let p: std::collections::HashMap<String, String> = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), decode(v)))
        .collect();
    let (start, end, step): (f64, f64, f64) = (
        p["start"].parse().unwrap(),
        p["end"].parse().unwrap(),
        p["step"].parse().unwrap(),
    );
    let q = &p["query"];
    let steps = ((end - start) / step).round() as usize + 1;
    let (status, body) = if steps > 11_000 {
        (
            400,
            r#"{"status":"error","errorType":"bad_data","error":"exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"}"#.to_string(),
        )
    } else {
        let series = |instance: &str, f: &dyn Fn(usize) -> f64| {
            let values: Vec<String> = (0..steps)
                .map(|k| format!("[{},\"{}\"]", start + k as f64 * step, f(k)))
                .collect();
            format!(
                r#"{{"metric":{{"instance":"{instance}"}},"values":[{}]}}"#,
                values.join(",")
            )
        };
        let result = if q.contains(missing) || q.contains("DCGM") {
            vec![]
        } else if q.contains("node_cpu_seconds_total") {
            vec![
                series("a:9100", &|k| 10.0 + (k % 50) as f64),
                series("b:9100", &|_| 20.0),
            ]
        } else if q.contains("node_memory") {
            vec![series("a:9100", &|_| 40.0), series("b:9100", &|_| 40.0)]
        } else if q.contains("node_pressure") {
            vec![series("a:9100", &|_| 1.0)]
        } else {
            vec![]
        };
        (
            200,
            format!(
                r#"{{"status":"success","data":{{"resultType":"matrix","result":[{}]}}}}"#,
                result.join(",")
            ),
        )
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

#[test]
fn long_ranges_are_paged_and_records_built() {
    let (base, count) = serve("nothing");
    let anon = Anonymiser::with_key(&[3; 32]);
    // 25 001 steps: three pages per query, where one query would be refused
    let src = Source::parse(&format!("{base}?start=0&end=25000&step=1s"), 0.0).unwrap();
    let records = prometheus::records(ModelKind::Workload, &src, &anon).unwrap();
    assert_eq!(count.load(Ordering::SeqCst), 9, "3 queries x 3 pages");
    assert_eq!(records.len(), 2 * 25_001, "every step of both hosts");
    let first = &records[0];
    assert_eq!(first["series"], anon.id("a"));
    assert_eq!(
        (first["cpu"].as_f64(), first["mem"].as_f64()),
        (Some(10.0), Some(40.0))
    );
    assert!(first["gpu"].is_null(), "no GPU metric: absent, not 0");
    let l = prometheus::load_with(
        ModelKind::Workload,
        &format!("{base}?start=0&end=600&step=1s"),
        &anon,
    )
    .unwrap();
    // 601 records per host, the first 11 of each fill the history
    assert_eq!(l.data.len(), 2 * (601 - 11));
    let f = prometheus::load_with(
        ModelKind::Failure,
        &format!("{base}?start=0&end=600&step=1s"),
        &anon,
    )
    .unwrap();
    assert!(f.data.len() > 500, "{}", f.data.len());
}

#[test]
fn a_missing_metric_or_server_is_a_clear_error() {
    let (base, _) = serve("node_memory");
    let anon = Anonymiser::with_key(&[3; 32]);
    let src = Source::parse(&format!("{base}?start=0&end=60&step=1s"), 0.0).unwrap();
    let e = prometheus::records(ModelKind::Workload, &src, &anon).unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, Error::Remote { .. }), "{e:?}");
    assert!(
        text.contains("node_memory_MemAvailable_bytes") && text.contains("no memory"),
        "{text}"
    );
    // a port nobody listens on
    let free = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let src = Source::parse(&format!("http://127.0.0.1:{port}?range=1m&step=1s"), 1e9).unwrap();
    let text = prometheus::records(ModelKind::Failure, &src, &anon)
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("cannot reach") && text.contains("node_pressure_cpu"),
        "{text}"
    );
    let e = prometheus::records(ModelKind::Threat, &src, &anon).unwrap_err();
    assert!(e.to_string().contains("no threat data"), "{e}");
}

#[test]
fn monitor_writes_the_shims_health_for_node_exporter() {
    let dir = std::env::temp_dir().join(format!("aios-monitor-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_trainer"))
        .args(["monitor", "--interval", "200ms", "--duration", "1s"])
        .arg("--models")
        .arg(dir.join("no-registry"))
        .arg("--textfile")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(dir.join("aiosml.prom")).unwrap();
    let value = |prefix: &str| -> f64 {
        let l = text
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("{prefix}:\n{text}"));
        l.rsplit(' ').next().unwrap().parse().unwrap()
    };
    // five intervals: the first has no CPU reading to compare with yet
    let predictions = value("aiosml_predictions_total{model=\"workload\"}");
    assert!((3.0..=5.0).contains(&predictions), "{predictions}");
    assert_eq!(
        value("aiosml_outcomes_total{model=\"workload\"}"),
        predictions - 1.0,
        "every prediction but the last has its outcome"
    );
    assert_eq!(value("aiosml_predictions_total{model=\"failure\"}"), 5.0);
    assert_eq!(
        value("aiosml_prediction_duration_seconds_count{model=\"failure\"}"),
        5.0,
        "the shim's clock is set: every prediction is timed"
    );
    assert!(text.contains("aiosml_model_info{model=\"workload\",version=\"1\",source=\"default\""));
    // a textfile directory that does not exist is refused before anything runs
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_trainer"))
        .args(["monitor", "--textfile"])
        .arg(dir.join("missing"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_bearer_token_is_sent_and_a_refusal_says_what_is_missing() {
    let (base, _) = serve_with("nothing", Some("s3cret-token"));
    let anon = Anonymiser::with_key(&[3; 32]);
    let dir = std::env::temp_dir().join(format!("aios-prom-token-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let token = dir.join("token");
    std::fs::write(&token, "s3cret-token\n").unwrap();
    let with = format!(
        "{base}?start=0&end=30&step=1s&bearer_token_file={}",
        token.display()
    );
    let src = Source::parse(&with, 0.0).unwrap();
    assert_eq!(
        prometheus::records(ModelKind::Workload, &src, &anon)
            .unwrap()
            .len(),
        62
    );
    let src = Source::parse(&format!("{base}?start=0&end=30&step=1s"), 0.0).unwrap();
    let e = prometheus::records(ModelKind::Workload, &src, &anon)
        .unwrap_err()
        .to_string();
    assert!(e.contains("401") && e.contains("bearer_token_file"), "{e}");
    // a CA file that holds no certificate is refused before any request
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, "not a certificate").unwrap();
    let src = Source::parse(&format!("{base}?range=1m&ca_file={}", ca.display()), 1e9).unwrap();
    let e = prometheus::records(ModelKind::Workload, &src, &anon)
        .unwrap_err()
        .to_string();
    assert!(e.contains("ca.pem") && e.contains("no certificate"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn monitor_with_a_public_key_refuses_unsigned_models() {
    let dir = std::env::temp_dir().join(format!("aios-monitor-key-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_trainer"))
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap()
    };
    let t = run(&[
        "train",
        "--model",
        "workload",
        "--epochs",
        "1",
        "--samples",
        "2000",
        "--allow-worse",
        "--distill",
        "off",
        "--out",
        "reg",
    ]);
    assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stderr));
    assert!(run(&["keygen", "--out", "keys"]).status.success());
    let o = run(&[
        "monitor",
        "--models",
        "reg",
        "--textfile",
        ".",
        "--duration",
        "1s",
        "--pub-key",
        "keys/aios-signing.pub",
    ]);
    assert!(!o.status.success(), "an unsigned model loaded under a key");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("v1.blob") && err.contains("Unsigned"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
