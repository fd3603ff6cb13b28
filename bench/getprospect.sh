#!/usr/bin/env bash
# Benchmark: GetProspect throughput under h2load beside MariaDB's own sysbench oltp_point_select,
# measured in the same run on the same private MariaDB, plus the server's cold start and idle RSS.
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
h2load -D "$DURATION" -c 4 -m 8 -t 1 -d "$WORK/body.bin" -H 'content-type: application/grpc' \
    -H 'te: trailers' "http://127.0.0.1:$PORT/prospects.v1.ProspectService/GetProspect" >"$WORK/h2load.txt"
cpu1=$(cpu_ticks "$SERVER_PID"); db1=$(cpu_ticks "$PS_MYSQL_PID"); sys1=$(sys_ticks "$SERVER_PID")
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
# Redis round trips per call at steady state, from the server's own counters
kill -USR1 "$SERVER_PID"; sleep 0.3
stats=$(grep "stats: calls" "$WORK/server.log" | tail -1)
calls=$(sed -n 's/.* ok=\([0-9]*\).*/\1/p' <<<"$stats")
redis_cmds=$(sed -n 's/.*redis commands=\([0-9]*\).*/\1/p' <<<"$stats")

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
echo "GetProspect RPS: $rps; the same query in MariaDB alone: $lookup_qps/s; ratio: $(awk -v a="$rps" -v b="$lookup_qps" 'BEGIN {printf "%.2f", a / b}')"
echo "GetProspect RPS with Redis stopped: $rps_noredis; ratio to Redis up: $(awk -v a="$rps_noredis" -v b="$rps" 'BEGIN {printf "%.2f", a / b}')"
echo "Redis round trips per call (Redis up, whole run so far): $redis_cmds / $calls = $(awk -v a="$redis_cmds" -v b="$calls" 'BEGIN {printf "%.5f", a / b}')"
