#!/usr/bin/env bash
# Records valgrind lackey memory traces of fourteen real programs of different kinds
# (compressors, sorting, a database, interpreters, a compiler, numeric code, hashing, regex
# search, an archiver) into DIR (default /tmp/traces), gzip-compressed and cut at 8 million
# lines each (valgrind stops 2 minutes in at the latest). The project does not commit traces.
# About 10 minutes on 2 cores.
#   bash scripts/record_lackey_traces.sh [DIR]
set -euo pipefail
dir=${1:-/tmp/traces}
mkdir -p "$dir"
cd "$dir"
head -c 45000 /dev/urandom | base64 > small.txt
# A C file for the compiler: many small functions, loops and a switch.
{
  echo '#include <stddef.h>'
  for i in $(seq 1 60); do
    echo "int f$i(int *a, size_t n) { int s = 0; for (size_t k = 0; k < n; k++) { switch (a[k] % 5) { case 0: s += a[k] * $i; break; case 1: s ^= a[k] << 2; break; default: s -= $i; } } return s; }"
  done
} > prog.c
# The real interpreter binary, not a wrapper script (valgrind does not follow exec).
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3)
cc1=$(ls /usr/lib/gcc/x86_64-linux-gnu/*/cc1 2>/dev/null | head -n 1 || true)
run() {
  local name=$1; shift
  if ! command -v "$1" >/dev/null 2>&1; then echo "$name: skipped ($1 not installed)"; return; fi
  { timeout -s KILL 120 valgrind --tool=lackey --trace-mem=yes --log-fd=3 "$@" 3>&1 1>/dev/null 2>/dev/null; } \
    | head -n 8000000 | gzip -1 > "$name.lackey.gz" || true
  echo "$name: $(stat -c %s "$name.lackey.gz") bytes"
}
run gzip gzip -c small.txt
run bzip2 bzip2 -c small.txt
run xz xz -c small.txt
run zstd zstd -c -19 small.txt
run sort sort small.txt
run sqlite sqlite3 :memory: "create table t(a,b); with recursive c(x) as (select 1 union all select x+1 from c where x<3000) insert into t select x, x*7%101 from c; create index i on t(b); select sum(a) from t where b<50;"
run perl perl -e 'my %h; for my $i (1..20000) { $h{$i % 997} += $i } print scalar(keys %h), "\n"'
run python "$py" -S -c "print(sum(i*i for i in range(30000)))"
run bc bc -l <<< 'scale=400; 4*a(1)'
run awk awk 'BEGIN { for (i = 0; i < 200; i++) for (j = 0; j < 200; j++) m[i, j] = (i * j) % 7; s = 0; for (k in m) s += m[k]; print s }'
[ -n "$cc1" ] && run cc1 "$cc1" -quiet -O2 prog.c -o /dev/null
run sha256 sha256sum small.txt
run grep grep -c -E '[A-Z]{3}[0-9]+' small.txt
run tar tar -cf - small.txt prog.c
