//! `prometheus:URL?PARAMS`: workload and failure records from a Prometheus server's HTTP API
//! (`/api/v1/query_range`), the same records `trainer collect` takes from `/proc`, for every
//! host that node_exporter reports to that server.
//!
//! | record | `collect` reads | the query (`SEL`: the `selector` parameter) |
//! |---|---|---|
//! | workload `cpu` | `/proc/stat`: 1 − (idle + iowait) / all | `100 * (1 - sum by (instance) (rate(node_cpu_seconds_total{mode=~"idle\|iowait",SEL}[W])) / sum by (instance) (rate(node_cpu_seconds_total{SEL}[W])))` |
//! | workload `mem` | `/proc/meminfo`: 1 − MemAvailable / MemTotal | `100 * (1 - sum by (instance) (node_memory_MemAvailable_bytes{SEL}) / sum by (instance) (node_memory_MemTotal_bytes{SEL}))` |
//! | workload `gpu` | `nvidia-smi` | `avg by (instance) (DCGM_FI_DEV_GPU_UTIL{SEL})` (the DCGM exporter; absent when it is not there) |
//! | failure `health` | `/proc/pressure/*`: 1000 − 10 × the worst `some avg10` % | `100 * max by (instance) (rate(node_pressure_R_waiting_seconds_total{SEL}[W]))` for R in cpu, memory, io; the worst of the three, then the same formula |
//!
//! `rate()` is Prometheus' own: counter resets (a node_exporter restart) are handled there.
//! A host is an `instance` label without its port, so the DCGM exporter's GPU series joins
//! node_exporter's of the same host; host names are anonymised with the same key as `collect`'s.
//! A step where Prometheus has no CPU (or pressure) value — the host was down, or its series
//! went stale — is a gap: the host's series is cut there and goes on under a new id
//! (`<id>-2`, …), so no history window spans a gap.
//!
//! Parameters (after `?`, `&`-separated; values may be percent-encoded):
//! - `start`, `end`: Unix seconds or `YYYY-MM-DDTHH:MM:SS` (UTC); `end` defaults to now, `start`
//!   to `end` minus `range` (default `1h`);
//! - `step`: the records' interval (default `60s`); `window`: the `rate()` window (default four
//!   steps, at least `1s`);
//! - `selector`: label matchers added to every query, e.g. `job="node",instance=~"db.*"`;
//! - `gpu_metric`: the GPU utilisation metric (default `DCGM_FI_DEV_GPU_UTIL`);
//! - `ca_file`: a PEM file of the certificate authorities an `https://` server is checked
//!   against (default: the Mozilla roots built in); `bearer_token_file`: a file whose one line
//!   is sent as `Authorization: Bearer …`, as Prometheus' own `bearer_token_file`.
//!
//! Prometheus answers at most 11 000 points per series and query, so long ranges are asked in
//! pages of [`MAX_POINTS`] steps and joined.

use std::collections::BTreeMap;
use std::time::Duration;

use inference_core::ModelKind;
use serde_json::{json, Value};

use super::collect::{parse_duration, Anonymiser};
use super::dataset::Dataset;
use super::jsonl::{self, Record};
use super::{Loaded, Skips};
use crate::error::{Error, Result};

/// Steps asked per query (Prometheus refuses more than 11 000 points per series).
pub const MAX_POINTS: u64 = 10_000;
/// Time a request may take, headers and body.
const TIMEOUT: Duration = Duration::from_secs(60);
/// Largest answer read, bytes.
const MAX_BODY: u64 = 512 << 20;
/// The parameters a spec may have.
const PARAMS: [&str; 9] = [
    "start",
    "end",
    "range",
    "step",
    "window",
    "selector",
    "gpu_metric",
    "ca_file",
    "bearer_token_file",
];

/// A parsed `prometheus:` source.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    /// Server base URL, e.g. `http://127.0.0.1:9090` (no trailing slash).
    pub base: String,
    /// First step, Unix seconds.
    pub start: f64,
    /// Last step, Unix seconds.
    pub end: f64,
    /// Seconds between records.
    pub step: f64,
    /// `rate()` window, seconds.
    pub window: f64,
    /// Label matchers added to every query (without braces).
    pub selector: String,
    /// GPU utilisation metric.
    pub gpu_metric: String,
    /// PEM file of the certificate authorities an `https://` server is checked against
    /// (default: the Mozilla roots built in).
    pub ca_file: Option<std::path::PathBuf>,
    /// File holding a bearer token sent as `Authorization: Bearer …` (as Prometheus' own
    /// `bearer_token_file`).
    pub bearer_token_file: Option<std::path::PathBuf>,
}

fn usage(spec: &str, message: impl std::fmt::Display) -> Error {
    Error::Usage(format!("--data prometheus:{spec}: {message}"))
}

/// Percent-decodes `%XX` (and `+` as a space, as in a query string).
fn decode(s: &str) -> String {
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let pair = (
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        );
        match (b[i], pair) {
            (b'%', (Some(hi), Some(lo))) => {
                out.push(hi << 4 | lo);
                i += 3;
                continue;
            }
            (b'+', _) => out.push(b' '),
            (c, _) => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A time parameter: Unix seconds or `YYYY-MM-DDTHH:MM:SS` (UTC).
fn time_param(spec: &str, name: &str, v: &str) -> Result<f64> {
    if let Ok(t) = v.parse::<f64>() {
        if t.is_finite() && t >= 0.0 {
            return Ok(t);
        }
    }
    super::time::parse_timestamp(v)
        .map(|t| t as f64)
        .map_err(|e| usage(spec, format!("{name}: {e} or Unix seconds")))
}

impl Source {
    /// Parses what follows `prometheus:`; `now` is the default end (Unix seconds).
    pub fn parse(spec: &str, now: f64) -> Result<Source> {
        let (base, query) = spec.split_once('?').unwrap_or((spec, ""));
        let base = base.trim_end_matches('/').to_string();
        if !base.starts_with("http://") && !base.starts_with("https://") {
            return Err(usage(
                spec,
                "expected a URL such as http://127.0.0.1:9090 or https://prometheus.example",
            ));
        }
        let mut params: BTreeMap<String, String> = BTreeMap::new();
        for kv in query.split('&').filter(|kv| !kv.is_empty()) {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let k = decode(k);
            if !PARAMS.contains(&k.as_str()) {
                return Err(usage(
                    spec,
                    format!("unknown parameter '{k}' ({})", PARAMS.join(", ")),
                ));
            }
            params.insert(k, decode(v));
        }
        let secs = |name: &str, default: &str| -> Result<f64> {
            let v = params.get(name).map_or(default, String::as_str);
            parse_duration(v)
                .map(|d| d.as_secs_f64())
                .map_err(|e| usage(spec, format!("{name}: {e}")))
        };
        let end = match params.get("end") {
            Some(v) => time_param(spec, "end", v)?,
            None => now,
        };
        let start = match params.get("start") {
            Some(v) => time_param(spec, "start", v)?,
            None => end - secs("range", "1h")?,
        };
        let step = secs("step", "60s")?;
        let window = match params.get("window") {
            Some(_) => secs("window", "")?,
            None => (4.0 * step).max(1.0),
        };
        if start >= end {
            return Err(usage(spec, "start must be before end"));
        }
        Ok(Source {
            base,
            start,
            end,
            step,
            window,
            selector: params.get("selector").cloned().unwrap_or_default(),
            gpu_metric: params
                .get("gpu_metric")
                .cloned()
                .unwrap_or_else(|| "DCGM_FI_DEV_GPU_UTIL".into()),
            ca_file: params.get("ca_file").map(Into::into),
            bearer_token_file: params.get("bearer_token_file").map(Into::into),
        })
    }

    /// `{matchers}` with the selector added (`extra` first).
    fn braces(&self, extra: &str) -> String {
        let parts: Vec<&str> = [extra, self.selector.as_str()]
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect();
        format!("{{{}}}", parts.join(","))
    }

    fn window_text(&self) -> String {
        format!("{}ms", (self.window * 1000.0).round() as u64)
    }

    /// The CPU busy percentage per instance.
    pub fn cpu_query(&self) -> String {
        let w = self.window_text();
        format!(
            "100 * (1 - sum by (instance) (rate(node_cpu_seconds_total{}[{w}])) / sum by (instance) (rate(node_cpu_seconds_total{}[{w}])))",
            self.braces("mode=~\"idle|iowait\""),
            self.braces("")
        )
    }

    /// Memory in use, percent, per instance.
    pub fn mem_query(&self) -> String {
        format!(
            "100 * (1 - sum by (instance) (node_memory_MemAvailable_bytes{}) / sum by (instance) (node_memory_MemTotal_bytes{}))",
            self.braces(""),
            self.braces("")
        )
    }

    /// GPU utilisation per instance.
    pub fn gpu_query(&self) -> String {
        format!("avg by (instance) ({}{})", self.gpu_metric, self.braces(""))
    }

    /// The pressure stall ("some") percentage of one resource (`cpu`, `memory`, `io`) per
    /// instance. The worst of the three is taken here, not in PromQL: one `rate()` over the
    /// three metrics would give three series with the same labels, which Prometheus refuses.
    pub fn pressure_query(&self, resource: &str) -> String {
        format!(
            "100 * max by (instance) (rate(node_pressure_{resource}_waiting_seconds_total{}[{}]))",
            self.braces(""),
            self.window_text()
        )
    }

    /// The pages `(start, end)` of at most [`MAX_POINTS`] steps covering the range.
    pub fn pages(&self) -> Vec<(f64, f64)> {
        let span = self.step * (MAX_POINTS - 1) as f64;
        let mut out = Vec::new();
        let mut s = self.start;
        while s <= self.end {
            let e = (s + span).min(self.end);
            out.push((s, e));
            s = e + self.step;
        }
        out
    }
}

/// Values per host (instance without its port) and step time (ms).
pub type Series = BTreeMap<String, BTreeMap<i64, f64>>;

/// An `instance` label without its port (`host:9100` → `host`, `[::1]:9100` → `[::1]`).
pub fn host_of(instance: &str) -> String {
    match instance.rsplit_once(':') {
        Some((h, port)) if !h.is_empty() && port.chars().all(|c| c.is_ascii_digit()) => {
            h.to_string()
        }
        _ => instance.to_string(),
    }
}

/// Parses a `query_range` answer into `out` (non-finite values are left out). `what` names the
/// query in errors.
pub fn parse_answer(what: &str, status: u16, body: &str, out: &mut Series) -> Result<()> {
    let remote = |message: String| Error::Remote {
        what: what.to_string(),
        message,
    };
    let v: Value = serde_json::from_str(body).map_err(|e| {
        let head: String = body.chars().take(120).collect();
        remote(format!(
            "HTTP {status}: the answer is not Prometheus JSON ({e}): {head}"
        ))
    })?;
    if v.get("status").and_then(Value::as_str) != Some("success") {
        let kind = v
            .get("errorType")
            .and_then(Value::as_str)
            .unwrap_or("error");
        let msg = v
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("no message");
        return Err(remote(format!("HTTP {status}: Prometheus {kind}: {msg}")));
    }
    let result = v
        .pointer("/data/result")
        .and_then(Value::as_array)
        .ok_or_else(|| remote("the answer has no data.result".into()))?;
    for s in result {
        let instance = s
            .pointer("/metric/instance")
            .and_then(Value::as_str)
            .unwrap_or("");
        let points = out.entry(host_of(instance)).or_default();
        for p in s
            .get("values")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let (Some(t), Some(x)) = (
                p.get(0).and_then(Value::as_f64),
                p.get(1)
                    .and_then(Value::as_str)
                    .and_then(|x| x.parse::<f64>().ok()),
            ) else {
                return Err(remote(format!("a point is not [time, \"value\"]: {p}")));
            };
            if x.is_finite() {
                points.insert((t * 1000.0).round() as i64, x);
            }
        }
    }
    Ok(())
}

/// The HTTP client of a source: its CA file, if any.
fn agent(src: &Source) -> Result<ureq::Agent> {
    let mut tls = ureq::tls::TlsConfig::builder();
    if let Some(path) = &src.ca_file {
        let pem = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let mut certs = Vec::new();
        for item in ureq::tls::parse_pem(&pem) {
            match item {
                Ok(ureq::tls::PemItem::Certificate(c)) => certs.push(c),
                Ok(_) => {}
                Err(e) => return Err(Error::key(path, format!("not a PEM certificate file: {e}"))),
            }
        }
        if certs.is_empty() {
            return Err(Error::key(path, "no certificate in this PEM file"));
        }
        tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&certs));
    }
    Ok(ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .http_status_as_error(false)
        .tls_config(tls.build())
        .build()
        .into())
}

/// The `Authorization` header value of a source's bearer token file, if it has one.
fn bearer(src: &Source) -> Result<Option<String>> {
    let Some(path) = &src.bearer_token_file else {
        return Ok(None);
    };
    let token = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let token = token.trim();
    if token.is_empty() || token.chars().any(|c| c.is_control() || c == ' ') {
        return Err(Error::key(path, "expected one token on one line"));
    }
    Ok(Some(format!("Bearer {token}")))
}

/// The connection to one source: its HTTP agent (CA file read once, connections kept) and
/// its bearer token, shared by all the queries of a fetch.
pub struct Client<'s> {
    src: &'s Source,
    agent: ureq::Agent,
    auth: Option<String>,
}

impl<'s> Client<'s> {
    /// Reads the source's CA and token files.
    pub fn new(src: &'s Source) -> Result<Client<'s>> {
        Ok(Client {
            src,
            agent: agent(src)?,
            auth: bearer(src)?,
        })
    }

    /// Runs `query` over the source's range, page by page.
    pub fn query_range(&self, query: &str) -> Result<Series> {
        query_range(self, query)
    }
}

fn query_range(client: &Client<'_>, query: &str) -> Result<Series> {
    let (src, agent, auth) = (client.src, &client.agent, &client.auth);
    let url = format!("{}/api/v1/query_range", src.base);
    let what = format!("Prometheus {url} query {query}");
    let mut out = Series::new();
    for (s, e) in src.pages() {
        let mut req = agent.get(&url);
        if let Some(a) = &auth {
            req = req.header("Authorization", a);
        }
        let mut resp = req
            .query("query", query)
            .query("start", format!("{s:.3}"))
            .query("end", format!("{e:.3}"))
            .query("step", format!("{:.3}", src.step))
            .call()
            .map_err(|e| Error::Remote {
                what: what.clone(),
                message: format!("cannot reach the server: {e}"),
            })?;
        let status = resp.status().as_u16();
        if status == 401 || status == 403 {
            return Err(Error::Remote {
                what: what.clone(),
                message: format!(
                    "HTTP {status}: the server wants credentials (bearer_token_file=PATH)"
                ),
            });
        }
        let body = resp
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_string()
            .map_err(|e| Error::Remote {
                what: what.clone(),
                message: format!("reading the answer: {e}"),
            })?;
        parse_answer(&what, status, &body, &mut out)?;
    }
    Ok(out)
}

/// Fails when a query that must have data has none.
fn required(what: &str, query: &str, src: &Source, s: &Series) -> Result<()> {
    if s.values().all(BTreeMap::is_empty) {
        return Err(Error::Remote {
            what: format!("Prometheus {} query {query}", src.base),
            message: format!(
                "no {what} between {} and {} (is node_exporter scraped by this server, and does the selector match?)",
                super::time::format_utc(src.start as u64),
                super::time::format_utc(src.end as u64)
            ),
        });
    }
    Ok(())
}

/// Splits a host's step times where a step is missing: the runs of consecutive steps.
fn runs(times: &[i64], step_ms: i64) -> Vec<&[i64]> {
    let mut out = Vec::new();
    let mut from = 0;
    for k in 1..=times.len() {
        if k == times.len() || times[k] - times[k - 1] > step_ms + step_ms / 2 {
            out.push(&times[from..k]);
            from = k;
        }
    }
    out.retain(|r| !r.is_empty());
    out
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// The records of `kind` (workload or failure) from answers already fetched: `main` (CPU or
/// pressure) decides which steps exist, `mem` and `gpu` join them (workload only).
pub fn build_records(
    kind: ModelKind,
    step: f64,
    main: &Series,
    mem: &Series,
    gpu: &Series,
    anon: &Anonymiser,
) -> Vec<Value> {
    let step_ms = (step * 1000.0).round() as i64;
    let mut out = Vec::new();
    for (host, points) in main {
        let id = anon.id(host);
        let times: Vec<i64> = points.keys().copied().collect();
        for (k, run) in runs(&times, step_ms).into_iter().enumerate() {
            let series = if k == 0 {
                id.clone()
            } else {
                format!("{id}-{}", k + 1)
            };
            for &t_ms in run {
                let t = t_ms as f64 / 1000.0;
                let v = points[&t_ms];
                let at = |s: &Series| s.get(host).and_then(|p| p.get(&t_ms)).copied();
                let pct = |v: f64| round2(v.clamp(0.0, 100.0));
                out.push(match kind {
                    ModelKind::Failure => {
                        let health = (1000.0 - 10.0 * v).clamp(0.0, 1000.0) as u16;
                        json!({"model": "failure", "t": t, "component": series,
                            "health": health, "failed": false})
                    }
                    _ => json!({"model": "workload", "t": t, "series": series,
                        "cpu": pct(v), "mem": at(mem).map(pct), "gpu": at(gpu).map(pct)}),
                });
            }
        }
    }
    out
}

/// Fetches the source and returns the records of `kind`, as `trainer collect` writes them.
pub fn records(kind: ModelKind, src: &Source, anon: &Anonymiser) -> Result<Vec<Value>> {
    let none = Series::new();
    let client = Client::new(src)?;
    match kind {
        ModelKind::Workload => {
            let (cq, mq, gq) = (src.cpu_query(), src.mem_query(), src.gpu_query());
            let cpu = client.query_range(&cq)?;
            required("CPU time (node_cpu_seconds_total)", &cq, src, &cpu)?;
            let mem = client.query_range(&mq)?;
            required("memory (node_memory_MemAvailable_bytes)", &mq, src, &mem)?;
            // absent GPU metric: no GPU (null), as collect records a host without one
            let gpu = client.query_range(&gq)?;
            Ok(build_records(kind, src.step, &cpu, &mem, &gpu, anon))
        }
        ModelKind::Failure => {
            let mut worst = Series::new();
            for resource in ["cpu", "memory", "io"] {
                let q = src.pressure_query(resource);
                let p = client.query_range(&q)?;
                required("pressure stall time (node_pressure_*)", &q, src, &p)?;
                for (host, points) in p {
                    let w = worst.entry(host).or_default();
                    for (t, v) in points {
                        let e = w.entry(t).or_insert(v);
                        *e = e.max(v);
                    }
                }
            }
            Ok(build_records(kind, src.step, &worst, &none, &none, anon))
        }
        _ => Err(Error::Usage(format!(
            "--data prometheus: has no {kind} data (workload, failure)"
        ))),
    }
}

/// `--data prometheus:SPEC` for `kind`, anonymised with `anon`.
pub fn load_with(kind: ModelKind, spec: &str, anon: &Anonymiser) -> Result<Loaded> {
    let src = Source::parse(spec, super::time::unix_now() as f64)?;
    let values = records(kind, &src, anon)?;
    let mut parsed: Vec<Record> = Vec::with_capacity(values.len());
    for v in &values {
        let r =
            jsonl::parse_record(kind, &v.to_string()).map_err(|(field, msg)| Error::Remote {
                what: format!("Prometheus {}", src.base),
                message: format!("a record it gave has a bad {field}: {msg}"),
            })?;
        parsed.push(r);
    }
    let d: Dataset = jsonl::dataset(kind, parsed, format!("prometheus:{}", src.base));
    let mut l = Loaded::new(d, Skips::default());
    l.notes.push(format!(
        "{} records from {} (step {} s)",
        values.len(),
        src.base,
        src.step
    ));
    Ok(l)
}

/// `--data prometheus:SPEC` with the default anonymisation key (`collect`'s).
pub fn load(kind: ModelKind, spec: &str) -> Result<Loaded> {
    let anon = Anonymiser::load(&super::collect::default_key_file())?;
    load_with(kind, spec, &anon)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_parameters_and_their_errors() {
        let s = Source::parse(
            "http://127.0.0.1:9090/?start=1000&end=4600&step=30s&selector=job%3D%22node%22",
            0.0,
        )
        .unwrap();
        assert_eq!(s.base, "http://127.0.0.1:9090");
        assert_eq!(
            (s.start, s.end, s.step, s.window),
            (1000.0, 4600.0, 30.0, 120.0)
        );
        assert_eq!(s.selector, "job=\"node\"");
        assert!(s
            .cpu_query()
            .contains("node_cpu_seconds_total{mode=~\"idle|iowait\",job=\"node\"}[120000ms]"));
        assert!(s
            .mem_query()
            .contains("node_memory_MemTotal_bytes{job=\"node\"}"));
        let d = Source::parse("http://h:9090?range=2h&step=1m", 10_000.0).unwrap();
        assert_eq!((d.start, d.end, d.window), (2800.0, 10_000.0, 240.0));
        let t = Source::parse(
            "http://h:9090?start=2026-01-01T00:00:00&end=2026-01-01T01:00:00",
            0.0,
        )
        .unwrap();
        assert_eq!(t.end - t.start, 3600.0);
        let t = Source::parse("https://h/prom?range=1m&ca_file=/etc/ca.pem", 100.0).unwrap();
        assert_eq!(
            (t.base.as_str(), t.ca_file.as_deref()),
            ("https://h/prom", Some(std::path::Path::new("/etc/ca.pem")))
        );
        for (bad, word) in [
            ("h:9090", "URL"),
            ("http://h:9090?steps=1s", "unknown parameter 'steps'"),
            ("http://h:9090?step=soon", "step"),
            ("http://h:9090?start=20&end=10", "before"),
            ("http://h:9090?start=yesterday", "start"),
        ] {
            let e = Source::parse(bad, 100.0).unwrap_err().to_string();
            assert!(e.contains(word), "{bad}: {e}");
        }
    }

    #[test]
    fn long_ranges_are_paged() {
        let s = Source::parse("http://h:9090?start=0&end=25000&step=1s", 0.0).unwrap();
        let p = s.pages();
        assert_eq!(
            p,
            vec![(0.0, 9999.0), (10_000.0, 19_999.0), (20_000.0, 25_000.0)]
        );
        let steps: f64 = p.iter().map(|(a, b)| (b - a) / s.step + 1.0).sum();
        assert_eq!(steps, 25_001.0, "every step once");
    }

    #[test]
    fn hosts_and_answers() {
        assert_eq!(host_of("db1:9100"), "db1");
        assert_eq!(host_of("[::1]:9100"), "[::1]");
        assert_eq!(host_of("db1"), "db1");
        let body = r#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"instance":"a:9100"},"values":[[100,"12.5"],[101,"NaN"],[102,"13"]]},
            {"metric":{"instance":"b:9100"},"values":[[100.5,"1e2"]]}]}}"#;
        let mut s = Series::new();
        parse_answer("q", 200, body, &mut s).unwrap();
        assert_eq!(s["a"].len(), 2, "NaN left out");
        assert_eq!(s["a"][&102_000], 13.0);
        assert_eq!(s["b"][&100_500], 100.0);
        let err = r#"{"status":"error","errorType":"bad_data","error":"exceeded maximum resolution of 11,000 points per timeseries"}"#;
        let e = parse_answer("Q", 400, err, &mut s).unwrap_err().to_string();
        assert!(
            e.contains("Q") && e.contains("HTTP 400") && e.contains("11,000"),
            "{e}"
        );
        let e = parse_answer("Q", 502, "<html>Bad Gateway</html>", &mut s)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("not Prometheus JSON") && e.contains("Bad Gateway"),
            "{e}"
        );
    }

    #[test]
    fn records_cut_at_gaps_and_join_memory() {
        let anon = Anonymiser::with_key(&[7; 32]);
        let mut cpu = Series::new();
        let mut mem = Series::new();
        for k in [0i64, 1, 2, 5, 6] {
            cpu.entry("a".into())
                .or_default()
                .insert(k * 10_000, 10.0 + k as f64);
        }
        mem.entry("a".into()).or_default().insert(0, 55.555);
        cpu.entry("b".into()).or_default().insert(0, 100.0001);
        let r = build_records(ModelKind::Workload, 10.0, &cpu, &mem, &Series::new(), &anon);
        assert_eq!(r.len(), 6);
        let id = anon.id("a");
        let series: Vec<&str> = r.iter().map(|v| v["series"].as_str().unwrap()).collect();
        let cut = format!("{id}-2");
        assert_eq!(&series[..5], &[&id[..], &id, &id, &cut, &cut]);
        assert_eq!(r[0]["mem"], json!(55.56));
        assert_eq!(r[1]["mem"], Value::Null);
        assert_eq!(r[0]["gpu"], Value::Null);
        assert_eq!(
            r[5]["cpu"],
            json!(100.0),
            "rate noise above 100 % is clamped"
        );
        for v in &r {
            jsonl::parse_record(ModelKind::Workload, &v.to_string()).unwrap();
        }
        let mut p = Series::new();
        p.entry("a".into()).or_default().insert(0, 12.5);
        let f = build_records(
            ModelKind::Failure,
            10.0,
            &p,
            &Series::new(),
            &Series::new(),
            &anon,
        );
        assert_eq!(f[0]["health"], json!(875));
        jsonl::parse_record(ModelKind::Failure, &f[0].to_string()).unwrap();
    }
}
