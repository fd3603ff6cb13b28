#!/usr/bin/env bash
# Benchmark: what metrics and access logging cost per call. GetProspect under h2load against the
# same server binary, database and data in two configurations, alternated round by round:
#   off: PS_LOG_LEVEL=warn (no access lines), no PS_METRICS_LISTEN (no counting)
#   on:  PS_LOG_LEVEL=info with PS_LOG_FORMAT=json (one access line per call, to a file) and
#        PS_METRICS_LISTEN, scraped every second while the load runs
# Prints, per configuration, the median over the rounds of the calls per second and of the server's
# CPU time per call, and the ratios on/off. Asserts nothing about speed.
#
#   bench/observability.sh [SECONDS] [ROUNDS]     (default 8 s per run, 3 rounds)
set -uo pipefail
. "$(dirname "$(readlink -f "$0")")/../scripts/lib.sh"

DURATION=${1:-8}
ROUNDS=${2:-3}
BUILD_DIR=${PS_BUILD_DIR:-$PS_ROOT/build}
PY=/usr/bin/python3
SERVER_PID=
SCRAPER_PID=

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

stop_server() {
    [ -n "$SCRAPER_PID" ] && { kill "$SCRAPER_PID" 2>/dev/null; wait "$SCRAPER_PID" 2>/dev/null; }
    SCRAPER_PID=
    if [ -n "$SERVER_PID" ] && ps_alive "$SERVER_PID"; then
        kill -TERM "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null
    fi
    SERVER_PID=
}
cleanup() {
    trap - EXIT INT TERM
    stop_server
    ps_redis_stop
    ps_mariadb_stop
    [ -n "${WORK:-}" ] && rm -rf "$WORK"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

ps_install_deps
ps_pkg_installed nghttp2-client || ps_apt_install nghttp2-client
ps_build "$BUILD_DIR"

mkdir -p "$PS_LOCAL"
WORK=$(mktemp -d "$PS_LOCAL/bench.XXXXXX")
PS_DB_NAME_PATTERN="prospects"
ps_mariadb_start "$WORK/mariadb"
ps_redis_start "$WORK/redis"
ps_create_database prospects
ps_migrate prospects
export PYTHONPATH=$BUILD_DIR/py

PORT=$(ps_free_port)
METRICS_PORT=$(ps_free_port)
KEY="bench-$RANDOM$RANDOM"
BASE_ENV=(PS_LISTEN="127.0.0.1:$PORT" PS_MYSQL_HOST=127.0.0.1 PS_MYSQL_PORT="$PS_MYSQL_PORT"
          PS_MYSQL_SOCKET= PS_MYSQL_USER="$PS_DB_USER" PS_MYSQL_PASSWORD="$PS_DB_PASSWORD"
          PS_MYSQL_DATABASE=prospects PS_REDIS_HOST=127.0.0.1 PS_REDIS_PORT="$PS_REDIS_PORT"
          PS_PLAINTEXT=1 PS_PAGE_TOKEN_KEY="$KEY")

start_server() { # off|on
    local extra=(PS_LOG_LEVEL=warn)
    [ "$1" = on ] && extra=(PS_LOG_LEVEL=info PS_LOG_FORMAT=json PS_METRICS_LISTEN="127.0.0.1:$METRICS_PORT")
    env "${BASE_ENV[@]}" "${extra[@]}" "$BUILD_DIR/prospect-server" </dev/null 2>"$WORK/server-$1.log" &
    SERVER_PID=$!
    "$PY" "$PS_ROOT/bench/prep.py" wait "127.0.0.1:$PORT" || ps_die "server did not become SERVING"
    if [ "$1" = on ]; then # Prometheus' part: a scrape every second
        (while sleep 1; do
            curl -sf -o /dev/null "http://127.0.0.1:$METRICS_PORT/metrics" 2>/dev/null ||
                "$PY" -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1]).read()" \
                    "http://127.0.0.1:$METRICS_PORT/metrics"
        done) &
        SCRAPER_PID=$!
    fi
}

# the data, once
start_server off
"$PY" "$PS_ROOT/bench/prep.py" prepare "127.0.0.1:$PORT" "$WORK/body.bin" || ps_die "prepare failed"
stop_server

load() { # -> "rps cpu_us_per_call"
    h2load -D 2 -c 4 -m 8 -t 1 -d "$WORK/body.bin" -H 'content-type: application/grpc' -H 'te: trailers' \
        "http://127.0.0.1:$PORT/prospects.v1.ProspectService/GetProspect" >/dev/null
    local c0 c1
    c0=$(cpu_ticks "$SERVER_PID")
    h2load -D "$DURATION" -c 4 -m 8 -t 1 -d "$WORK/body.bin" -H 'content-type: application/grpc' \
        -H 'te: trailers' "http://127.0.0.1:$PORT/prospects.v1.ProspectService/GetProspect" >"$WORK/h2load.txt"
    c1=$(cpu_ticks "$SERVER_PID")
    local rps n
    rps=$(awk '/^finished in/ {print $4; exit}' "$WORK/h2load.txt")
    n=$(awk '/^requests:/ {print $8; exit}' "$WORK/h2load.txt")
    awk -v r="$rps" -v t="$((c1 - c0))" -v n="$n" -v hz="$(getconf CLK_TCK)" \
        'BEGIN {printf "%s %.1f\n", r, t * 1e6 / hz / n}'
}

declare -A RPS CPU
for round in $(seq "$ROUNDS"); do
    for mode in off on; do
        start_server "$mode"
        read -r rps cpu < <(load)
        "$PY" "$PS_ROOT/bench/prep.py" check "127.0.0.1:$PORT" "$WORK/body.bin" ||
            ps_die "GetProspect no longer answers OK"
        if [ "$mode" = on ]; then
            lines=$(grep -c '"msg":"call"' "$WORK/server-on.log")
            scraped=$(curl -sf "http://127.0.0.1:$METRICS_PORT/metrics" 2>/dev/null |
                awk -F' ' '/^grpc_server_handled_total\{.*GetProspect.*grpc_code="OK"/ {print $2}')
            echo "round $round on:  $rps calls/s, server CPU $cpu µs/call ($lines access lines; /metrics says ${scraped:-?} OK GetProspect)"
        else
            echo "round $round off: $rps calls/s, server CPU $cpu µs/call"
        fi
        RPS[$mode]+="$rps "
        CPU[$mode]+="$cpu "
        stop_server
    done
done

median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
rps_off=$(median <<<"${RPS[off]}"); rps_on=$(median <<<"${RPS[on]}")
cpu_off=$(median <<<"${CPU[off]}"); cpu_on=$(median <<<"${CPU[on]}")
echo
echo "medians of $ROUNDS rounds of ${DURATION}s (h2load, 4 connections x 8 streams, GetProspect):"
echo "  off: $rps_off calls/s, server CPU $cpu_off µs/call"
echo "  on:  $rps_on calls/s, server CPU $cpu_on µs/call"
awk -v a="$rps_on" -v b="$rps_off" -v c="$cpu_on" -v d="$cpu_off" 'BEGIN {
    printf "  on/off: throughput %.3f, CPU per call %.3f (cost of metrics + access lines: %+.1f%% CPU per call)\n",
        a / b, c / d, (c / d - 1) * 100 }'
