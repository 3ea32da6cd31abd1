#!/usr/bin/env bash
# Records valgrind lackey memory traces of six real programs of different kinds (two
# compressors, a sort, a database, two interpreters) into DIR (default /tmp/traces), gzip-
# compressed and cut at 8 million lines each. The project does not commit traces.
#   bash scripts/record_lackey_traces.sh [DIR]
set -euo pipefail
dir=${1:-/tmp/traces}
mkdir -p "$dir"
cd "$dir"
head -c 45000 /dev/urandom | base64 > small.txt
run() {
  local name=$1; shift
  { valgrind --tool=lackey --trace-mem=yes --log-fd=3 "$@" 3>&1 1>/dev/null 2>/dev/null; } \
    | head -n 8000000 | gzip -1 > "$name.lackey.gz" || true
  echo "$name: $(stat -c %s "$name.lackey.gz") bytes"
}
run gzip gzip -c small.txt
run bzip2 bzip2 -c small.txt
run sort sort small.txt
run sqlite sqlite3 :memory: "create table t(a,b); with recursive c(x) as (select 1 union all select x+1 from c where x<3000) insert into t select x, x*7%101 from c; create index i on t(b); select sum(a) from t where b<50;"
run perl perl -e 'my %h; for my $i (1..20000) { $h{$i % 997} += $i } print scalar(keys %h), "\n"'
run python python3 -S -c "print(sum(i*i for i in range(30000)))"
