#!/usr/bin/env bash
# The Prometheus source against the real thing: Debian's node_exporter and Prometheus on
# loopback ports, a 1 s scrape interval and their own temporary storage; Prometheus serves its
# API over TLS with a throwaway CA's certificate. Checks that the
# records `trainer collect --from prometheus:` builds match what node_exporter exposed (read
# directly, beside Prometheus), trains a workload model from the source, and that the health
# file `trainer monitor` writes is served by node_exporter's textfile collector and parses.
# Bounded: every wait has a limit, and everything started is stopped on exit.
#   bash .ci/prometheus.sh      (T=path/to/trainer to use another build; SECONDS_OF_DATA=90)
set -euo pipefail
cd "$(dirname "$0")/.."
T=${T:-./target/release/trainer}
secs=${SECONDS_OF_DATA:-90}
ne_port=${NE_PORT:-19100}
prom_port=${PROM_PORT:-19090}

if ! command -v prometheus >/dev/null || ! command -v prometheus-node-exporter >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    prometheus prometheus-node-exporter curl >/dev/null
fi
[ -x "$T" ] || cargo build --release -p trainer

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/textfile" "$work/tsdb"

prometheus-node-exporter --web.listen-address="127.0.0.1:$ne_port" \
  --collector.textfile.directory="$work/textfile" >"$work/node_exporter.log" 2>&1 &
pids+=($!)
# Prometheus serves its API over TLS, with a certificate of a throwaway CA: the trainer must
# check it against ca_file
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=aios-ml test CA" \
  -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
  -keyout "$work/server.key" -out "$work/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' >"$work/server.ext"
openssl x509 -req -in "$work/server.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
  -CAcreateserial -days 1 -extfile "$work/server.ext" -out "$work/server.pem" 2>/dev/null
cat >"$work/web.yml" <<EOF
tls_server_config:
  cert_file: $work/server.pem
  key_file: $work/server.key
EOF
cat >"$work/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ['127.0.0.1:$ne_port']
EOF
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.config.file="$work/web.yml" --web.listen-address="127.0.0.1:$prom_port" \
  >"$work/prometheus.log" 2>&1 &
pids+=($!)

ready() { curl -sf --max-time 2 --cacert "$work/ca.pem" "$1" >/dev/null; }
for _ in $(seq 1 60); do
  ready "https://127.0.0.1:$prom_port/-/ready" && ready "http://127.0.0.1:$ne_port/metrics" && break
  sleep 1
done
ready "https://127.0.0.1:$prom_port/-/ready" || { tail -20 "$work/prometheus.log"; exit 1; }

# what node_exporter exposes, read directly every 5 s while Prometheus scrapes it
start=$(date +%s)
: >"$work/direct.txt"
while [ $(($(date +%s) - start)) -lt "$secs" ]; do
  now=$(date +%s.%N)
  curl -sf --max-time 2 "http://127.0.0.1:$ne_port/metrics" |
    awk -v t="$now" '/^node_memory_MemTotal_bytes /{tot=$2} /^node_memory_MemAvailable_bytes /{av=$2}
      /^node_cpu_seconds_total\{/{ if ($1 ~ /mode="(idle|iowait)"/) idle+=$2; all+=$2 }
      END{printf "%s %.6f %.3f %.3f\n", t, 100*(1-av/tot), all-idle, all}' >>"$work/direct.txt"
  sleep 5
done
end=$(date +%s)
src="prometheus:https://127.0.0.1:$prom_port?start=$((start + 5))&end=$((end - 1))&step=1s&selector=job=%22node%22&ca_file=$work/ca.pem"
# without the CA the server's certificate is refused
if "$T" collect --model workload --from "${src%&ca_file=*}" --out "$work/no-ca.jsonl" 2>"$work/no-ca.err"; then
  echo "an https server with an unknown CA was accepted"; exit 1
fi
grep -qi "certificate\|UnknownIssuer" "$work/no-ca.err" || { cat "$work/no-ca.err"; exit 1; }
export AIOS_ANON_KEY=000102030405060708090a0b0c0d0e0f
"$T" collect --model workload --from "$src" --out "$work/workload.jsonl"
"$T" collect --model failure --from "$src" --out "$work/failure.jsonl"

python3 - "$work" "$secs" <<'PY'
import json, sys
work, secs = sys.argv[1], int(sys.argv[2])
rec = [json.loads(l) for l in open(f'{work}/workload.jsonl')]
direct = [list(map(float, l.split())) for l in open(f'{work}/direct.txt') if l.strip()]
assert len(rec) >= secs - 20, f'{len(rec)} records for {secs} s of data'
assert len({r['series'] for r in rec}) == 1, 'one host, one series'
ts = [r['t'] for r in rec]
assert all(b - a == 1 for a, b in zip(ts, ts[1:])), 'one record a second, no gap'
# memory: each direct reading against the record of the nearest step (both are
# 1 - MemAvailable / MemTotal of the same exporter, at most half a second apart)
worst = 0.0
for t, mem, _, _ in direct:
    r = min(rec, key=lambda r: abs(r['t'] - t))
    if abs(r['t'] - t) <= 1.0:
        worst = max(worst, abs(r['mem'] - mem))
assert worst < 1.0, f'memory differs by {worst:.3f} pp from node_exporter'
# CPU: the records' mean against the busy share of node_cpu_seconds_total between the first
# and last direct readings (the same counters, one rate over the whole span)
a, b = direct[1], direct[-1]
busy = 100 * (b[2] - a[2]) / (b[3] - a[3])
inside = [r['cpu'] for r in rec if a[0] + 4 <= r['t'] <= b[0]]
mean = sum(inside) / len(inside)
assert abs(mean - busy) < 5.0, f'CPU: records mean {mean:.2f} %, node_exporter {busy:.2f} %'
fail = [json.loads(l) for l in open(f'{work}/failure.jsonl')]
assert len(fail) >= secs - 20 and all(0 <= r['health'] <= 1000 for r in fail)
print(f'prometheus source: {len(rec)} workload records, memory within {worst:.3f} pp, '
      f'CPU mean {mean:.2f} % against {busy:.2f} %; {len(fail)} failure records')
PY

"$T" train --model workload --data "$src" --out "$work/models" --allow-worse --distill off
test -f "$work/models/workload/current"

# model health out: monitor this host for a few seconds, the file through node_exporter
"$T" monitor --models "$work/models" --textfile "$work/textfile" --interval 1s --duration 5s
test -f "$work/textfile/aiosml.prom"
curl -sf --max-time 5 "http://127.0.0.1:$ne_port/metrics" >"$work/scraped.txt"
python3 - "$work/scraped.txt" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
assert 'node_textfile_scrape_error 0' in text, 'node_exporter could not read the file'
ours = [l for l in text.splitlines() if l.startswith('aiosml_')]
sample = re.compile(r'^aiosml_[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [-+0-9.eE]+$')
assert ours and all(sample.match(l) for l in ours), ours[:5]
names = {l.split('{')[0].split(' ')[0] for l in ours}
for need in ['aiosml_predictions_total', 'aiosml_prediction_duration_seconds_bucket',
             'aiosml_outcomes_total', 'aiosml_model_info']:
    assert need in names, f'{need} missing from {sorted(names)}'
pred = [l for l in ours if l.startswith('aiosml_predictions_total{model="workload"')]
assert pred and float(pred[0].split()[-1]) >= 3, pred
print(f'monitor: {len(ours)} aiosml samples scraped back through node_exporter')
PY
echo "prometheus: ok"
