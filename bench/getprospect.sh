#!/usr/bin/env bash
# Benchmark: GetProspect throughput under h2load beside MariaDB's own sysbench oltp_point_select,
# measured in the same run on the same private MariaDB, plus the server's cold start and idle RSS;
# then random keys over PS_BENCH_TENANTS (100) x PS_BENCH_PER_TENANT (1000) records, through a
# closed-loop client (bench/closedloop.c) and, for the baseline, the same query with the same keys
# in MariaDB alone (bench/prospect_lookup.lua): rate, CPU and context switches per call, latency at
# half of the peak and with one call in flight.
# Prints figures; asserts nothing about speed.
#
#   bench/getprospect.sh [SECONDS]     (default 10 s per load phase)
#   PS_BENCH_PERF=FILE                 also profile the server with perf; top symbols into FILE
set -uo pipefail
. "$(dirname "$(readlink -f "$0")")/../scripts/lib.sh"

DURATION=${1:-10}
BUILD_DIR=${PS_BUILD_DIR:-$PS_ROOT/build}
PY=/usr/bin/python3
SERVER_PID=

# user + system CPU time of a process, in clock ticks
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
sys_ticks() { awk '{print $15}' "/proc/$1/stat"; }
# context switches (voluntary + involuntary) of all threads of a process
ctx_switches() { cat /proc/"$1"/task/*/status 2>/dev/null |
    awk '/^(non)?voluntary_ctxt_switches/ {n += $2} END {print n + 0}'; }

cleanup() {
    trap - EXIT INT TERM
    if [ -n "$SERVER_PID" ] && ps_alive "$SERVER_PID"; then
        kill -TERM "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null
    fi
    ps_redis_stop
    ps_mariadb_stop
    [ -n "${WORK:-}" ] && rm -rf "$WORK"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

ps_install_deps
for p in nghttp2-client sysbench; do ps_pkg_installed "$p" || ps_apt_install "$p"; done
ps_build "$BUILD_DIR"

mkdir -p "$PS_LOCAL"
WORK=$(mktemp -d "$PS_LOCAL/bench.XXXXXX")
PS_DB_NAME_PATTERN="prospects sbtest"
ps_mariadb_start "$WORK/mariadb"
ps_redis_start "$WORK/redis"
ps_create_database prospects
ps_migrate prospects
ps_create_database sbtest

PORT=$(ps_free_port)
# TCP like sysbench (PS_MYSQL_SOCKET stays the scripts' own variable: it is not the server's here)
SERVER_ENV=(PS_LISTEN="127.0.0.1:$PORT" PS_MYSQL_HOST=127.0.0.1 PS_MYSQL_PORT="$PS_MYSQL_PORT"
            PS_MYSQL_SOCKET= PS_MYSQL_USER="$PS_DB_USER" PS_MYSQL_PASSWORD="$PS_DB_PASSWORD"
            PS_MYSQL_DATABASE=prospects PS_REDIS_HOST=127.0.0.1 PS_REDIS_PORT="$PS_REDIS_PORT"
            PS_LOG_LEVEL=info PS_PLAINTEXT=1 PS_PAGE_TOKEN_KEY="bench-$RANDOM$RANDOM")
export PYTHONPATH=$BUILD_DIR/py

t0=$(date +%s%N)
env "${SERVER_ENV[@]}" "$BUILD_DIR/prospect-server" </dev/null 2>"$WORK/server.log" &
SERVER_PID=$!
"$PY" "$PS_ROOT/bench/prep.py" wait "127.0.0.1:$PORT" || ps_die "server did not become SERVING"
t1=$(date +%s%N)
sleep 1
rss_kb=$(awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status")

# one tenant with the app on and one prospect; the request body for h2load
"$PY" "$PS_ROOT/bench/prep.py" prepare "127.0.0.1:$PORT" "$WORK/body.bin" || ps_die "prepare failed"

echo "== sysbench oltp_point_select (MariaDB alone, TCP, 8 threads, ${DURATION}s)"
SB=(sysbench oltp_point_select --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$PS_MYSQL_PORT"
    --mysql-user="$PS_DB_MIGRATE_USER" --mysql-password="$PS_DB_MIGRATE_PASSWORD" --mysql-db=sbtest
    --tables=1 --table-size=100000)
"${SB[@]}" prepare >/dev/null
sb_qps=$("${SB[@]}" --threads=8 --time="$DURATION" run | awk '/queries:/ {gsub(/[()]/,"",$3); print $3; exit}')
echo "sysbench point selects/s: $sb_qps"

echo "== sysbench: the GetProspect query alone (22 columns by primary key, prepared, TCP, 32 threads, ${DURATION}s)"
id_hex=$(sed 's|.*/||; s/-//g' "$WORK/body.bin.name")
lookup_qps=$(sysbench "$PS_ROOT/bench/prospect_lookup.lua" --db-driver=mysql --mysql-host=127.0.0.1 \
    --mysql-port="$PS_MYSQL_PORT" --mysql-user="$PS_DB_USER" --mysql-password="$PS_DB_PASSWORD" \
    --mysql-db=prospects --tenant=bench --id-hex="$id_hex" --threads=32 --time="$DURATION" run |
    awk '/queries:/ {gsub(/[()]/,"",$3); print $3; exit}')
echo "prospect lookups/s: $lookup_qps"

echo "== h2load GetProspect (4 connections x 8 streams, ${DURATION}s)"
# warm-up, then the measured run
h2load -D 2 -c 4 -m 8 -t 1 -d "$WORK/body.bin" -H 'content-type: application/grpc' -H 'te: trailers' \
    "http://127.0.0.1:$PORT/prospects.v1.ProspectService/GetProspect" >/dev/null
PERF_PID=
if [ -n "${PS_BENCH_PERF:-}" ]; then # profile the server during the measured run
    perf record -g -o "$WORK/perf.data" -p "$SERVER_PID" -- sleep "$DURATION" 2>/dev/null &
    PERF_PID=$!
fi
cpu0=$(cpu_ticks "$SERVER_PID"); db0=$(cpu_ticks "$PS_MYSQL_PID"); sys0=$(sys_ticks "$SERVER_PID")
cs0=$(ctx_switches "$SERVER_PID"); dbcs0=$(ctx_switches "$PS_MYSQL_PID")
h2load -D "$DURATION" -c 4 -m 8 -t 1 -d "$WORK/body.bin" -H 'content-type: application/grpc' \
    -H 'te: trailers' "http://127.0.0.1:$PORT/prospects.v1.ProspectService/GetProspect" >"$WORK/h2load.txt"
cpu1=$(cpu_ticks "$SERVER_PID"); db1=$(cpu_ticks "$PS_MYSQL_PID"); sys1=$(sys_ticks "$SERVER_PID")
cs1=$(ctx_switches "$SERVER_PID"); dbcs1=$(ctx_switches "$PS_MYSQL_PID")
if [ -n "$PERF_PID" ]; then
    wait "$PERF_PID"
    perf report -i "$WORK/perf.data" --no-children --sort dso,symbol -g none --stdio 2>/dev/null |
        grep -v '^#' | grep '%' | head -40 >"$PS_BENCH_PERF"
    echo "profile written to $PS_BENCH_PERF"
fi
grep -E "^finished in|^requests:|^status codes:" "$WORK/h2load.txt"
rps=$(awk '/^finished in/ {print $4; exit}' "$WORK/h2load.txt")
done_n=$(awk '/^requests:/ {print $8; exit}' "$WORK/h2load.txt")
hz=$(getconf CLK_TCK)
server_us=$(awk -v t="$((cpu1 - cpu0))" -v n="$done_n" -v hz="$hz" 'BEGIN {printf "%.1f", t * 1e6 / hz / n}')
db_us=$(awk -v t="$((db1 - db0))" -v n="$done_n" -v hz="$hz" 'BEGIN {printf "%.1f", t * 1e6 / hz / n}')
sys_us=$(awk -v t="$((sys1 - sys0))" -v n="$done_n" -v hz="$hz" 'BEGIN {printf "%.1f", t * 1e6 / hz / n}')
cs_call=$(awk -v c="$((cs1 - cs0))" -v n="$done_n" 'BEGIN {printf "%.2f", c / n}')
dbcs_call=$(awk -v c="$((dbcs1 - dbcs0))" -v n="$done_n" 'BEGIN {printf "%.2f", c / n}')
# Redis round trips per call at steady state, from the server's own counters
kill -USR1 "$SERVER_PID"; sleep 0.3
stats=$(grep "stats: calls" "$WORK/server.log" | tail -1)
calls=$(sed -n 's/.* ok=\([0-9]*\).*/\1/p' <<<"$stats")
redis_cmds=$(sed -n 's/.*redis commands=\([0-9]*\).*/\1/p' <<<"$stats")
batches=$(sed -n 's/.* coalesced_batches=\([0-9]*\).*/\1/p' <<<"$stats")
batched=$(sed -n 's/.* coalesced_calls=\([0-9]*\).*/\1/p' <<<"$stats")

# ---- random keys: many tenants and records, a random one per call (h2load repeats one body and
# so hides cache and index effects); the same keys for the database alone and for the service
TENANTS=${PS_BENCH_TENANTS:-100}
PER_TENANT=${PS_BENCH_PER_TENANT:-1000}
echo "== random keys: $TENANTS tenants x $PER_TENANT prospects"
ps_mysql prospects -e "
INSERT INTO tenant_apps (tenant_id, prospects_enabled, version, update_time)
  SELECT CONCAT('bench-', seq), 1, 1, UTC_TIMESTAMP(6) FROM seq_1_to_$TENANTS;
INSERT INTO prospects (tenant_id, id, kind, display_name, company_name, email, phone, street,
                       postal_code, city, country_code, notes, email_norm, create_time, update_time)
  SELECT CONCAT('bench-', t.seq), UNHEX(REPLACE(UUID(), '-', '')), 2,
         CONCAT('Bench company ', t.seq, '-', p.seq), CONCAT('Bench company ', t.seq, '-', p.seq),
         CONCAT('info', p.seq, '@company', t.seq, '.example'), '+32 9 123 45 67', 'Veldstraat 1',
         '9000', 'Gent', 'BE', 'A prospect made by the benchmark.',
         CONCAT('info', p.seq, '@company', t.seq, '.example'), UTC_TIMESTAMP(6), UTC_TIMESTAMP(6)
  FROM seq_1_to_$TENANTS t, seq_1_to_$PER_TENANT p;" || ps_die "bulk insert failed"
ps_mysql prospects -e "SELECT tenant_id, LOWER(HEX(id)) FROM prospects WHERE tenant_id LIKE 'bench-%'" \
    >"$WORK/keys.txt"
awk '{h = $2; printf "tenants/%s/prospects/%s-%s-%s-%s-%s\n", $1, substr(h,1,8), substr(h,9,4),
      substr(h,13,4), substr(h,17,4), substr(h,21,12)}' "$WORK/keys.txt" >"$WORK/names.txt"
echo "records: $(wc -l <"$WORK/names.txt")"
CL="$BUILD_DIR/client/closedloop"
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<" $2"; }
lookup_random() { # the database alone, random keys, 32 threads
    sysbench "$PS_ROOT/bench/prospect_lookup.lua" --db-driver=mysql --mysql-host=127.0.0.1 \
        --mysql-port="$PS_MYSQL_PORT" --mysql-user="$PS_DB_USER" --mysql-password="$PS_DB_PASSWORD" \
        --mysql-db=prospects --keys="$WORK/keys.txt" --threads=32 --time="$DURATION" run |
        awk '/queries:/ {gsub(/[()]/,"",$3); print $3; exit}'
}
"$CL" "127.0.0.1:$PORT" "$WORK/names.txt" 32 4 2 >/dev/null # warm-up (the buffer pool, the caches)
base_a=$(lookup_random)
cpu0=$(cpu_ticks "$SERVER_PID"); db0=$(cpu_ticks "$PS_MYSQL_PID"); cs0=$(ctx_switches "$SERVER_PID")
closed=$("$CL" "127.0.0.1:$PORT" "$WORK/names.txt" 32 4 "$DURATION")
cpu1=$(cpu_ticks "$SERVER_PID"); db1=$(cpu_ticks "$PS_MYSQL_PID"); cs1=$(ctx_switches "$SERVER_PID")
base_b=$(lookup_random)
rand_calls=$(field calls "$closed"); rand_rate=$(field rate "$closed")
rand_server_us=$(awk -v t="$((cpu1 - cpu0))" -v n="$rand_calls" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", t * 1e6 / hz / n}')
rand_db_us=$(awk -v t="$((db1 - db0))" -v n="$rand_calls" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", t * 1e6 / hz / n}')
rand_cs=$(awk -v c="$((cs1 - cs0))" -v n="$rand_calls" 'BEGIN {printf "%.2f", c / n}')
base_rand=$(awk -v a="$base_a" -v b="$base_b" 'BEGIN {printf "%.0f", (a + b) / 2}')
half=$(awk -v r="$rand_rate" 'BEGIN {printf "%.0f", r / 2}')
at_half=$("$CL" "127.0.0.1:$PORT" "$WORK/names.txt" 32 4 "$DURATION" "$half")
lone=$("$CL" "127.0.0.1:$PORT" "$WORK/names.txt" 1 1 3)
echo "closed loop, 32 calls in flight over 4 connections: $closed"
echo "paced at half of that ($half/s): $at_half"
echo "one call in flight: $lone"
echo "the query alone, random keys, 32 threads: $base_a/s before, $base_b/s after"

# ---- memory over many calls: RSS after the first 100,000 random-key calls and after 1,000,000
# (PS_BENCH_LONG_CALLS; 0 skips it), on a server started for it
LONG_CALLS=${PS_BENCH_LONG_CALLS:-1000000}
rss_100k=; rss_long=
if [ "$LONG_CALLS" -gt 100000 ]; then
    echo "== memory: $LONG_CALLS random-key calls on a new server"
    kill -TERM "$SERVER_PID"; wait "$SERVER_PID"; SERVER_PID=
    env "${SERVER_ENV[@]}" "$BUILD_DIR/prospect-server" </dev/null 2>>"$WORK/server.log" &
    SERVER_PID=$!
    "$PY" "$PS_ROOT/bench/prep.py" wait "127.0.0.1:$PORT" || ps_die "server did not become SERVING"
    "$CL" "127.0.0.1:$PORT" "$WORK/names.txt" 32 4 600 0 100000 >/dev/null
    rss_100k=$(awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status")
    "$CL" "127.0.0.1:$PORT" "$WORK/names.txt" 32 4 3600 0 "$((LONG_CALLS - 100000))" >/dev/null
    rss_long=$(awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status")
    echo "RSS after 100,000 calls: $((rss_100k / 1024)) MiB; after $LONG_CALLS: $((rss_long / 1024)) MiB"
fi

echo "== h2load GetProspect with Redis stopped (4 connections x 8 streams, ${DURATION}s)"
ps_redis_stop
h2load -D "$DURATION" -c 4 -m 8 -t 1 -d "$WORK/body.bin" -H 'content-type: application/grpc' \
    -H 'te: trailers' "http://127.0.0.1:$PORT/prospects.v1.ProspectService/GetProspect" >"$WORK/h2load-noredis.txt"
grep -E "^finished in|^requests:" "$WORK/h2load-noredis.txt"
rps_noredis=$(awk '/^finished in/ {print $4; exit}' "$WORK/h2load-noredis.txt")

# h2load counts any gRPC status as success: the server must have answered OK to all of them
"$PY" "$PS_ROOT/bench/prep.py" check "127.0.0.1:$PORT" "$WORK/body.bin" || ps_die "GetProspect no longer answers OK"

kill -TERM "$SERVER_PID"; wait "$SERVER_PID"; SERVER_PID=
# the server's own count: every call answered OK, none failed or shed
grep "stopped: calls" "$WORK/server.log"
grep -q "failed=0 shed=0" "$WORK/server.log" || ps_die "some calls were not answered OK"
echo
echo "cold start to SERVING: $(( (t1 - t0) / 1000000 )) ms"
echo "idle RSS: $((rss_kb / 1024)) MiB"
echo "GetProspect RPS: $rps; sysbench point selects/s: $sb_qps; ratio: $(awk -v a="$rps" -v b="$sb_qps" 'BEGIN {printf "%.2f", a / b}')"
echo "CPU per GetProspect: server $server_us µs (of which kernel $sys_us µs), MariaDB $db_us µs (process CPU time / calls)"
echo "coalesced reads (whole run so far): $batched of $calls calls in $batches batches, $(awk -v a="$batched" -v b="$batches" 'BEGIN {printf "%.1f", b ? a / b : 0}') calls per batch"
echo "context switches per GetProspect: server $cs_call, MariaDB $dbcs_call (all threads, /proc)"
echo "GetProspect RPS: $rps; the same query in MariaDB alone: $lookup_qps/s; ratio: $(awk -v a="$rps" -v b="$lookup_qps" 'BEGIN {printf "%.2f", a / b}')"
echo "GetProspect RPS with Redis stopped: $rps_noredis; ratio to Redis up: $(awk -v a="$rps_noredis" -v b="$rps" 'BEGIN {printf "%.2f", a / b}')"
echo "GetProspect, random keys (closed loop): $rand_rate/s; the same query with the same keys in MariaDB alone: $base_rand/s; ratio: $(awk -v a="$rand_rate" -v b="$base_rand" 'BEGIN {printf "%.2f", a / b}')"
echo "  CPU per call: server $rand_server_us µs, MariaDB $rand_db_us µs; context switches per call (server): $rand_cs"
echo "  latency at half of peak ($half/s): p50 $(field p50_us "$at_half") µs, p99 $(field p99_us "$at_half") µs; one call in flight: p50 $(field p50_us "$lone") µs, p99 $(field p99_us "$lone") µs"
[ -n "$rss_long" ] && echo "RSS after 100,000 random-key calls: $((rss_100k / 1024)) MiB; after $LONG_CALLS: $((rss_long / 1024)) MiB; ratio $(awk -v a="$rss_long" -v b="$rss_100k" 'BEGIN {printf "%.3f", a / b}')"
echo "Redis round trips per call (Redis up, whole run so far): $redis_cmds / $calls = $(awk -v a="$redis_cmds" -v b="$calls" 'BEGIN {printf "%.5f", a / b}')"
