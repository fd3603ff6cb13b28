#!/usr/bin/env bash
# The performance benchmark of the service (one command, prints figures, asserts nothing about
# speed). On one private MariaDB and Redis, in the same run:
#   - ROUNDS interleaved rounds of: the GetProspect query in MariaDB alone (bench/prospect_lookup.lua,
#     one key, 32 threads); GetProspect under h2load (that key); the query alone with random keys
#     over PS_BENCH_TENANTS (100) x PS_BENCH_PER_TENANT (1000) records; GetProspect under the
#     closed-loop client (bench/closedloop.c) drawing the same random keys. Per phase: rate, server
#     and MariaDB CPU per call (/proc), context switches per call, the CPUs' idle share; ratios to
#     the query alone;
#   - latency (p50/p99) paced at half of the closed loop's peak (also as the server measured it, and
#     the query alone at the same rate and at half of its own peak as its baselines; with 32 slots,
#     then with 128 so that a late answer rarely holds back its slot's next call: an open loop),
#     and with one call in flight, with the host's steal and the machine's own stalls meanwhile
#     (bench/hiccup.c; on a virtual machine a share of the tails comes from them); the floor of a
#     gRPC call at the same rate (health checks through the same server and load generator, which
#     the server answers at once: no worker, no database); the floor of the
#     path at the same rate (bench/relay.c: three processes that pass messages over loopback TCP
#     and do nothing else, then burning what the server and MariaDB took per call, then with a bare
#     relay and that echo), and GetProspect and that path at 1,000 calls/s;
#   - ListProspects (a two-word query) and CreateProspect under h2load;
#   - cold start, idle RSS, RSS after 100,000 and after 1,000,000 random-key calls;
#   - GetProspect with Redis stopped;
#   - a merge of 200,000 links from 10 sources (bench/merge.py --runs 1).
# Takes about 10 minutes with the defaults.
#
#   bench/getprospect.sh [SECONDS]     (default 10 s per load phase)
#   PS_BENCH_ROUNDS=N                  interleaved rounds (3)
#   PS_BENCH_LONG_CALLS=N              calls of the memory phase (1000000; 0 skips it)
#   PS_BENCH_MERGE=0                   skips the merge
#   PS_BENCH_PERF=FILE                 also profile the server with perf during the first h2load
#                                      phase (top symbols into FILE) and the first closed-loop
#                                      phase (into FILE.closedloop)
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
# a tenant with searchable records for ListProspects, and a CreateProspect body
"$PY" "$PS_ROOT/bench/prep.py" prepare-more "127.0.0.1:$PORT" "$WORK" || ps_die "prepare-more failed"

echo "== sysbench oltp_point_select (MariaDB alone, TCP, 8 threads, ${DURATION}s)"
SB=(sysbench oltp_point_select --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$PS_MYSQL_PORT"
    --mysql-user="$PS_DB_MIGRATE_USER" --mysql-password="$PS_DB_MIGRATE_PASSWORD" --mysql-db=sbtest
    --tables=1 --table-size=100000)
"${SB[@]}" prepare >/dev/null
sb_qps=$("${SB[@]}" --threads=8 --time="$DURATION" run | awk '/queries:/ {gsub(/[()]/,"",$3); print $3; exit}')
echo "sysbench point selects/s: $sb_qps"

# ---- random keys: many tenants and records, a random one per call (h2load repeats one body and
# so hides cache and index effects); the same keys for the database alone and for the service
TENANTS=${PS_BENCH_TENANTS:-100}
PER_TENANT=${PS_BENCH_PER_TENANT:-1000}
# The rows are stored as the current version of the normal forms (server/core/normalize.h), so
# that the server's background reindex leaves them alone: at the default version 1 it would rebuild
# all of them during the first phases and load MariaDB. GetProspect reads no word index rows, so
# none are written (these records are not found by ListProspects' text query).
NORM_VERSION=$(sed -n 's/^#define PS_NORM_VERSION \([0-9][0-9]*\).*/\1/p' "$PS_ROOT/server/core/normalize.h")
[ -n "$NORM_VERSION" ] || ps_die "PS_NORM_VERSION not found in server/core/normalize.h"
echo "== loading random keys: $TENANTS tenants x $PER_TENANT prospects"
ps_mysql prospects -e "
INSERT INTO tenant_apps (tenant_id, prospects_enabled, version, update_time)
  SELECT CONCAT('bench-', seq), 1, 1, UTC_TIMESTAMP(6) FROM seq_1_to_$TENANTS;
INSERT INTO prospects (tenant_id, id, kind, display_name, company_name, email, phone, street,
                       postal_code, city, country_code, notes, email_norm, norm_version,
                       create_time, update_time)
  SELECT CONCAT('bench-', t.seq), UNHEX(REPLACE(UUID(), '-', '')), 2,
         CONCAT('Bench company ', t.seq, '-', p.seq), CONCAT('Bench company ', t.seq, '-', p.seq),
         CONCAT('info', p.seq, '@company', t.seq, '.example'), '+32 9 123 45 67', 'Veldstraat 1',
         '9000', 'Gent', 'BE', 'A prospect made by the benchmark.',
         CONCAT('info', p.seq, '@company', t.seq, '.example'), $NORM_VERSION, UTC_TIMESTAMP(6),
         UTC_TIMESTAMP(6)
  FROM seq_1_to_$TENANTS t, seq_1_to_$PER_TENANT p;" || ps_die "bulk insert failed"
ps_mysql prospects -e "SELECT tenant_id, LOWER(HEX(id)) FROM prospects WHERE tenant_id LIKE 'bench-%'" \
    >"$WORK/keys.txt"
awk '{h = $2; printf "tenants/%s/prospects/%s-%s-%s-%s-%s\n", $1, substr(h,1,8), substr(h,9,4),
      substr(h,13,4), substr(h,17,4), substr(h,21,12)}' "$WORK/keys.txt" >"$WORK/names.txt"
echo "records: $(wc -l <"$WORK/names.txt")"

CL="$BUILD_DIR/client/closedloop"
[ -x "$CL" ] || ps_die "$CL was not built (it needs libnghttp2-dev)"
HZ=$(getconf CLK_TCK)
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<" $2"; }
# counters of the server and MariaDB: CPU ticks, context switches, kernel ticks
snap() { echo "$(cpu_ticks "$SERVER_PID") $(cpu_ticks "$PS_MYSQL_PID") $(ctx_switches "$SERVER_PID") $(sys_ticks "$SERVER_PID") $(ctx_switches "$PS_MYSQL_PID")"; }
# per_call BEFORE AFTER N: "server_us db_us server_cs kernel_us db_cs" per call
per_call() {
    awk -v a="$1" -v b="$2" -v n="$3" -v hz="$HZ" 'BEGIN {split(a, x, " "); split(b, y, " ");
        printf "%.1f %.1f %.2f %.1f %.2f", (y[1] - x[1]) * 1e6 / hz / n, (y[2] - x[2]) * 1e6 / hz / n,
               (y[3] - x[3]) / n, (y[4] - x[4]) * 1e6 / hz / n, (y[5] - x[5]) / n}'
}
# the machine's CPU ticks so far: "stolen all" (steal: the time the hypervisor gave other guests; on
# a virtual machine every thread waits meanwhile: a share of the latency tails comes from it)
# stat_ticks PART: "part all" of /proc/stat's CPU ticks so far, PART an awk sum of its columns
stat_ticks() { awk "/^cpu / {print $1, \$2 + \$3 + \$4 + \$5 + \$6 + \$7 + \$8 + \$9; exit}" /proc/stat; }
steal_ticks() { stat_ticks '$9'; }
# tick_share BEFORE AFTER, of two "part all" tick counts (steal_ticks, idle_ticks): the percentage
# of the CPUs' time that the part took in between
tick_share() {
    awk -v a="$1" -v b="$2" 'BEGIN {split(a, x, " "); split(b, y, " ");
        printf "%.1f", (y[2] > x[2] ? (y[1] - x[1]) * 100 / (y[2] - x[2]) : 0)}'
}
# the machine's idle CPU ticks so far: "idle all" (idle and iowait). The query alone keeps both
# CPUs busy with its 32 threads; idle time in a service phase is time no thread of the pipeline
# was ready to run
idle_ticks() { stat_ticks '$5 + $6'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
id_hex=$(sed 's|.*/||; s/-//g' "$WORK/body.bin.name")
# the GetProspect query alone (bench/prospect_lookup.lua), 32 threads, on the private MariaDB
LOOKUP=(sysbench "$PS_ROOT/bench/prospect_lookup.lua" --db-driver=mysql --mysql-host=127.0.0.1
        --mysql-port="$PS_MYSQL_PORT" --mysql-user="$PS_DB_USER" --mysql-password="$PS_DB_PASSWORD"
        --mysql-db=prospects --threads=32)
# the database alone, 32 threads: one key (the record of body.bin) or the random keys; prints
# "queries/s db_us_per_query". The rate is the queries over the phase's time: sysbench's own
# "per sec." divides by a total time that also counts its threads' ending (0.8 s with the random
# keys: 303,229 queries in 10 s reported as 28,048/s), which made the baseline low. Its first
# second, with new connections, stays in (10-35 % slower than the next ones, about 2 % of a phase).
lookup() {
    local sel=(--tenant=bench --id-hex="$id_hex")
    [ "$1" = random ] && sel=(--keys="$WORK/keys.txt")
    local d0 d1 out
    d0=$(cpu_ticks "$PS_MYSQL_PID")
    out=$("${LOOKUP[@]}" "${sel[@]}" --time="$DURATION" run |
        awk -v t="$DURATION" '/queries:/ {printf "%d %.2f", $2, $2 / t; exit}')
    d1=$(cpu_ticks "$PS_MYSQL_PID")
    awk -v n="${out% *}" -v q="${out#* }" -v t="$((d1 - d0))" -v hz="$HZ" \
        'BEGIN {printf "%s %.1f", q, (n > 0 ? t * 1e6 / hz / n : 0)}'
}
H2=(-H 'content-type: application/grpc' -H 'te: trailers')
# the query alone paced at RATE queries/s (the same random keys, 32 threads): sysbench's --rate starts
# them at Poisson arrival times (more bunched than the closed-loop client's fixed ones) and counts
# the time a query waited for a free thread in its latency; prints "p50_ms p99_ms" (p50 from the
# histogram's buckets)
lookup_paced() {
    "${LOOKUP[@]}" --keys="$WORK/keys.txt" --rate="$1" --percentile=99 --histogram \
        --time="$DURATION" run 2>&1 |
        awk '$2 ~ /^\|/ && $1 ~ /^[0-9.]+$/ {v[++n] = $1; c[n] = $NF; total += $NF}
             /99th percentile:/ {p99 = $3}
             END {for (i = 1; i <= n && 2 * seen < total; i++) {seen += c[i]; p50 = v[i]}
                  printf "%s %s", (p50 == "" ? "-" : p50), (p99 == "" ? "-" : p99)}'
}
h2() { # h2load, 4 connections x 8 streams: h2load BODY METHOD SECONDS OUT
    h2load -D "$3" -c 4 -m 8 -t 1 -d "$1" "${H2[@]}" "http://127.0.0.1:$PORT/prospects.v1.ProspectService/$2" >"$4"
}

# PS_BENCH_PERF: perf records the server during a phase of the first round (profile_start ROUND),
# and its top symbols go to a file (profile_end FILE)
PERF_PID=
profile_start() {
    PERF_PID=
    if [ "$1" = 1 ] && [ -n "${PS_BENCH_PERF:-}" ]; then
        perf record -g -o "$WORK/perf.data" -p "$SERVER_PID" -- sleep "$DURATION" 2>/dev/null &
        PERF_PID=$!
    fi
}
profile_end() {
    [ -n "$PERF_PID" ] || return 0
    wait "$PERF_PID"
    perf report -i "$WORK/perf.data" --no-children --sort dso,symbol -g none --stdio 2>/dev/null |
        grep -v '^#' | grep '%' | head -40 >"$1"
    echo "profile written to $1"
}

# warm-up: the buffer pool, the caches, the connections
h2 "$WORK/body.bin" GetProspect 2 /dev/null
"$CL" "127.0.0.1:$PORT" "$WORK/names.txt" 32 4 2 >/dev/null

ROUNDS=${PS_BENCH_ROUNDS:-3}
echo "== $ROUNDS interleaved rounds of ${DURATION}s phases: the query alone (one key, 32 threads), GetProspect"
echo "   under h2load (one key, 4 connections x 8 streams), the query alone (random keys), GetProspect"
echo "   under the closed-loop client (random keys, 32 calls in flight over 4 connections)"
R_H2=; R_CL=; B_ONE=; B_RAND=; S_H2=; D_H2=; C_H2=; K_H2=; DC_H2=; S_CL=; D_CL=; C_CL=; DB_ONE=; DB_RAND=; LG_CL=
RATIO_H2=; RATIO_CL=; I_H2=; I_CL=
for round in $(seq 1 "$ROUNDS"); do
    i0=$(idle_ticks); base1=$(lookup one); i1=$(idle_ticks)
    profile_start "$round"
    a=$(snap); h2 "$WORK/body.bin" GetProspect "$DURATION" "$WORK/h2load.txt"; b=$(snap); i2=$(idle_ticks)
    profile_end "${PS_BENCH_PERF:-}"
    rps=$(awk '/^finished in/ {print $4; exit}' "$WORK/h2load.txt")
    done_n=$(awk '/^requests:/ {print $8; exit}' "$WORK/h2load.txt")
    pc_h2=$(per_call "$a" "$b" "$done_n")
    i3=$(idle_ticks); baser=$(lookup random); i4=$(idle_ticks)
    profile_start "$round"
    a=$(snap); closed=$("$CL" "127.0.0.1:$PORT" "$WORK/names.txt" 32 4 "$DURATION"); b=$(snap); i5=$(idle_ticks)
    profile_end "${PS_BENCH_PERF:-}.closedloop"
    rate=$(field rate "$closed")
    pc_cl=$(per_call "$a" "$b" "$(field calls "$closed")")
    r1=$(ratio "$rps" "${base1% *}"); r2=$(ratio "$rate" "${baser% *}")
    echo "round $round: query alone (one key) ${base1% *}/s; h2load $rps/s: ratio $r1 | query alone (random) ${baser% *}/s; closed loop $rate/s: ratio $r2"
    echo "  per call, h2load: server ${pc_h2%% *} µs, MariaDB $(cut -d' ' -f2 <<<"$pc_h2") µs (alone: ${base1#* } µs), server context switches $(cut -d' ' -f3 <<<"$pc_h2")"
    echo "  per call, closed loop: server ${pc_cl%% *} µs, MariaDB $(cut -d' ' -f2 <<<"$pc_cl") µs (alone: ${baser#* } µs), server context switches $(cut -d' ' -f3 <<<"$pc_cl"), load generator $(field cpu_us_per_call "$closed") µs"
    idle_h2=$(tick_share "$i1" "$i2"); idle_cl=$(tick_share "$i4" "$i5")
    echo "  the CPUs idle: query alone (one key) $(tick_share "$i0" "$i1") %, h2load $idle_h2 %, query alone (random) $(tick_share "$i3" "$i4") %, closed loop $idle_cl %"
    I_H2+=" $idle_h2"; I_CL+=" $idle_cl"
    R_H2+=" $rps"; R_CL+=" $rate"; B_ONE+=" ${base1% *}"; B_RAND+=" ${baser% *}"
    RATIO_H2+=" $r1"; RATIO_CL+=" $r2"
    S_H2+=" ${pc_h2%% *}"; D_H2+=" $(cut -d' ' -f2 <<<"$pc_h2")"; C_H2+=" $(cut -d' ' -f3 <<<"$pc_h2")"
    K_H2+=" $(cut -d' ' -f4 <<<"$pc_h2")"; DC_H2+=" $(cut -d' ' -f5 <<<"$pc_h2")"
    S_CL+=" ${pc_cl%% *}"; D_CL+=" $(cut -d' ' -f2 <<<"$pc_cl")"; C_CL+=" $(cut -d' ' -f3 <<<"$pc_cl")"
    DB_ONE+=" ${base1#* }"; DB_RAND+=" ${baser#* }"; LG_CL+=" $(field cpu_us_per_call "$closed")"
done
grep -E "^status codes:" "$WORK/h2load.txt"
rand_rate=$(median <<<"$R_CL")
half=$(awk -v r="$rand_rate" 'BEGIN {printf "%.0f", r / 2}')
echo "== latency: paced at half of the closed loop's median rate ($half/s), then one call in flight"
# the machine's own stalls during each phase (bench/hiccup.c; none without the tool)
HICCUP="$BUILD_DIR/client/hiccup"
hiccup_start() { HPID=; [ -x "$HICCUP" ] && { "$HICCUP" >"$1" & HPID=$!; }; return 0; }
hiccup_end() {
    [ -n "$HPID" ] || return 0
    kill -TERM "$HPID"; wait "$HPID" 2>/dev/null
    local out; out=$(cat "$1")
    echo "stalls >= 2 ms: $(field stalls_2ms "$out") (longest $(awk -v u="$(field max_us "$out")" 'BEGIN {printf "%.1f", u / 1000}') ms)"
}
hiccup_start "$WORK/hiccup-idle.txt"; sleep 5; stalls_idle=$(hiccup_end "$WORK/hiccup-idle.txt")
s0=$(steal_ticks)
mark=$(stat -c %s "$WORK/server.log")
hiccup_start "$WORK/hiccup-half.txt"
a=$(snap)
at_half=$("$CL" "127.0.0.1:$PORT" "$WORK/names.txt" 32 4 "$DURATION" "$half")
b=$(snap)
stalls_half=$(hiccup_end "$WORK/hiccup-half.txt")
s1=$(steal_ticks)
pc_half=$(per_call "$a" "$b" "$(field calls "$at_half")")
srv_us=${pc_half%% *} db_us=$(cut -d' ' -f2 <<<"$pc_half")
# the same calls as the server measured them (its access lines: from a call's arrival to its
# answer), without the client's and the sockets' share; a line is written as its call is answered
sleep 0.2
srv_half=$(tail -c +"$((mark + 1))" "$WORK/server.log" | grep '/GetProspect ' |
           sed -n 's/.* duration_us=\([0-9]*\).*/\1/p' | sort -n |
           awk '{v[NR] = $1} END {if (NR) printf "p50 %d µs, p99 %d µs (%d calls)", v[int((NR - 1) * 0.5) + 1],
                                       v[int((NR - 1) * 0.99) + 1], NR}')
# the same rate with 128 slots: a slot whose last answer is late rarely holds back its next call,
# so the calls are not queued in the generator (where "from each call's start" would not see the
# wait): the latency of an open loop, from the due time
at_half_open=$("$CL" "127.0.0.1:$PORT" "$WORK/names.txt" 128 4 "$DURATION" "$half")
hiccup_start "$WORK/hiccup-lone.txt"
lone=$("$CL" "127.0.0.1:$PORT" "$WORK/names.txt" 1 1 "$DURATION")
stalls_lone=$(hiccup_end "$WORK/hiccup-lone.txt")
s2=$(steal_ticks)
steal_half=$(tick_share "$s0" "$s1"); steal_lone=$(tick_share "$s1" "$s2")
echo "paced: $at_half (the host's steal: $steal_half %)"
echo "paced, 128 slots: $at_half_open"
echo "one call in flight: $lone (the host's steal: $steal_lone %)"
# The floor of a gRPC call through the same server and load generator at the same rate: health
# checks, which the server answers at once on its transport thread (no worker, no database, no
# Redis). Whatever GetProspect's tail has beyond it comes from the work behind the call.
a=$(snap)
grpc_floor=$("$CL" --health "127.0.0.1:$PORT" "$WORK/names.txt" 32 4 "$DURATION" "$half")
b=$(snap)
pc_floor=$(per_call "$a" "$b" "$(field calls "$grpc_floor")")
grpc_floor_open=$("$CL" --health "127.0.0.1:$PORT" "$WORK/names.txt" 128 4 "$DURATION" "$half")
echo "health checks paced: $grpc_floor"
echo "health checks paced, 128 slots: $grpc_floor_open"
# the baselines of the paced figure: the database alone at the same rate, and at half of its own
# peak (the median of its random-key phases)
db_peak_half=$(median <<<"$B_RAND" | awk '{printf "%.0f", $1 / 2}')
hiccup_start "$WORK/hiccup-dbhalf.txt"
db_half=$(lookup_paced "$half")
stalls_dbhalf=$(hiccup_end "$WORK/hiccup-dbhalf.txt")
echo "the query alone paced at $half/s: p50 ${db_half% *} ms, p99 ${db_half#* } ms"
db_own=$(lookup_paced "$db_peak_half")
echo "the query alone paced at $db_peak_half/s: p50 ${db_own% *} ms, p99 ${db_own#* } ms"
# The floor of the path on this machine (bench/relay.c): at the same rate, messages from a paced
# client through a relay process (the server's place) to an echo process (MariaDB's) and back, on
# loopback TCP, with nothing done on them; then the same with the relay and the echo burning CPU
# until they cost what the server and MariaDB took per call in the paced phase (beyond their own
# system calls and wake-ups): the machine as loaded as by the service, without the service's code.
# And GetProspect and the bare path at a low rate (1,000/s): the tail left when the machine is idle.
RELAY="$BUILD_DIR/client/relay"
floor= model= model_db= low= floor_low=
if [ -x "$RELAY" ]; then
    floor=$("$RELAY" "$half" "$DURATION")
    # burn BURN TARGET GOT: BURN corrected by what a run with it fell short of TARGET (or overshot)
    burn() { awk -v b="$1" -v t="$2" -v g="$3" 'BEGIN {b += t - g; printf "%.0f", (b > 0 ? b : 0)}'; }
    burn_relay=$(burn 0 "$srv_us" "$(field relay_cpu_us "$floor")")
    burn_echo=$(burn 0 "$db_us" "$(field echo_cpu_us "$floor")")
    # a burning relay reads more messages per system call, so it costs less than the bare one plus
    # its burn: short runs correct the burns towards the server's and MariaDB's CPU per call, until
    # both are within 5 % of it (at most three: one step alone fell 10 % short)
    for step in 1 2 3; do
        cal=$("$RELAY" "$half" 3 "$burn_relay" "$burn_echo")
        got_relay=$(field relay_cpu_us "$cal") got_echo=$(field echo_cpu_us "$cal")
        close=$(awk -v a="$got_relay" -v b="$srv_us" -v c="$got_echo" -v d="$db_us" \
                'BEGIN {print (a >= 0.95 * b && a <= 1.05 * b && c >= 0.95 * d && c <= 1.05 * d)}')
        [ "$close" = 1 ] && break
        burn_relay=$(burn "$burn_relay" "$srv_us" "$got_relay")
        burn_echo=$(burn "$burn_echo" "$db_us" "$got_echo")
    done
    model=$("$RELAY" "$half" "$DURATION" "$burn_relay" "$burn_echo")
    # and a server that would cost nothing beyond passing the messages on: the bare relay, with the
    # echo costing what MariaDB did
    model_db=$("$RELAY" "$half" "$DURATION" 0 "$burn_echo")
    low=$("$CL" "127.0.0.1:$PORT" "$WORK/names.txt" 128 4 "$DURATION" 1000)
    floor_low=$("$RELAY" 1000 "$DURATION")
    echo "the path alone at $half/s: $floor"
    echo "the path alone at $half/s, burning $burn_relay and $burn_echo µs per call: $model"
    echo "the path alone at $half/s, burning 0 and $burn_echo µs per call: $model_db"
    echo "GetProspect paced at 1000/s, 128 slots: $low"
    echo "the path alone at 1000/s: $floor_low"
fi

echo "== ListProspects (a two-word query, page of 20) and CreateProspect under h2load (${DURATION}s each)"
a=$(snap); h2 "$WORK/list.bin" ListProspects "$DURATION" "$WORK/h2list.txt"; b=$(snap)
list_rps=$(awk '/^finished in/ {print $4; exit}' "$WORK/h2list.txt")
pc_list=$(per_call "$a" "$b" "$(awk '/^requests:/ {print $8; exit}' "$WORK/h2list.txt")")
a=$(snap); h2 "$WORK/create.bin" CreateProspect "$DURATION" "$WORK/h2create.txt"; b=$(snap)
create_rps=$(awk '/^finished in/ {print $4; exit}' "$WORK/h2create.txt")
pc_create=$(per_call "$a" "$b" "$(awk '/^requests:/ {print $8; exit}' "$WORK/h2create.txt")")
grep -E "^status codes:" "$WORK/h2list.txt" "$WORK/h2create.txt"
"$PY" "$PS_ROOT/bench/prep.py" check-more "127.0.0.1:$PORT" "$WORK" || ps_die "ListProspects/CreateProspect no longer answer OK"

kill -USR1 "$SERVER_PID"; sleep 0.3
stats=$(grep "stats: calls" "$WORK/server.log" | tail -1)
calls=$(sed -n 's/.* ok=\([0-9]*\).*/\1/p' <<<"$stats")
redis_cmds=$(sed -n 's/.*redis commands=\([0-9]*\).*/\1/p' <<<"$stats")
batches=$(sed -n 's/.* coalesced_batches=\([0-9]*\).*/\1/p' <<<"$stats")
batched=$(sed -n 's/.* coalesced_calls=\([0-9]*\).*/\1/p' <<<"$stats")

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
merge_line=
if [ "${PS_BENCH_MERGE:-1}" = 1 ]; then
    echo "== a merge of 200,000 links from 10 sources (bench/merge.py --runs 1: its own MariaDB and server)"
    merge_out=$(PS_BUILD_DIR="$BUILD_DIR" PYTHONPATH="$BUILD_DIR/py:$PS_ROOT/tests/lib" \
        "$PY" "$PS_ROOT/bench/merge.py" --runs 1 2>&1) || { echo "$merge_out" | tail -20; ps_die "bench/merge.py failed"; }
    echo "$merge_out" | grep -E "^run|^median|^largest"
    merge_line=$(grep "^median" <<<"$merge_out")
fi
echo
echo "==== figures (medians of $ROUNDS interleaved rounds)"
echo "cold start to SERVING: $(( (t1 - t0) / 1000000 )) ms"
echo "idle RSS: $((rss_kb / 1024)) MiB"
echo "GetProspect, h2load (one key): $(median <<<"$R_H2")/s; the query alone (one key, 32 threads): $(median <<<"$B_ONE")/s; ratio $(median <<<"$RATIO_H2") (rounds:$RATIO_H2)"
echo "GetProspect, closed loop (random keys): $rand_rate/s; the query alone (the same random keys): $(median <<<"$B_RAND")/s; ratio $(median <<<"$RATIO_CL") (rounds:$RATIO_CL)"
echo "  sysbench point selects/s (MariaDB's own, 8 threads): $sb_qps"
echo "CPU per GetProspect, h2load: server $(median <<<"$S_H2") µs (kernel $(median <<<"$K_H2") µs), MariaDB $(median <<<"$D_H2") µs; MariaDB per query alone: $(median <<<"$DB_ONE") µs"
echo "CPU per GetProspect, closed loop: server $(median <<<"$S_CL") µs, MariaDB $(median <<<"$D_CL") µs; MariaDB per query alone: $(median <<<"$DB_RAND") µs; load generator $(median <<<"$LG_CL") µs"
echo "context switches per GetProspect (server, all threads): h2load $(median <<<"$C_H2"), closed loop $(median <<<"$C_CL"); MariaDB (h2load) $(median <<<"$DC_H2")"
echo "the CPUs idle during GetProspect: h2load $(median <<<"$I_H2") %, closed loop $(median <<<"$I_CL") % (each round's query alone: see the rounds)"
echo "coalesced reads (whole run so far): $batched of $calls calls in $batches batches, $(awk -v a="$batched" -v b="$batches" 'BEGIN {printf "%.1f", b ? a / b : 0}') calls per batch"
echo "latency at half of peak ($half/s): p50 $(field p50_us "$at_half") µs, p99 $(field p99_us "$at_half") µs (of which the load generator's own lateness in starting calls: p50 $(field start_lag_p50_us "$at_half") µs, p99 $(field start_lag_p99_us "$at_half") µs, $(field slot_waits "$at_half") calls late as their slot still waited for an answer; from each call's start instead of its due time: p50 $(field sent_p50_us "$at_half") µs, p99 $(field sent_p99_us "$at_half") µs; at the server: ${srv_half:-no access lines}); with 128 slots (an open loop: $(field slot_waits "$at_half_open") slot waits) p50 $(field p50_us "$at_half_open") µs, p99 $(field p99_us "$at_half_open") µs; one call in flight: p50 $(field p50_us "$lone") µs, p99 $(field p99_us "$lone") µs; the host's steal meanwhile: $steal_half % and $steal_lone % of the CPUs' time"
echo "  the baseline, the query alone in MariaDB (the same random keys, 32 threads, sysbench --rate: Poisson arrivals, its wait for a thread included): at the same rate p50 ${db_half% *} ms, p99 ${db_half#* } ms; at half of its own peak ($db_peak_half/s) p50 ${db_own% *} ms, p99 ${db_own#* } ms"
echo "  CPU per GetProspect paced at half of peak: server $srv_us µs, MariaDB $db_us µs, load generator $(field cpu_us_per_call "$at_half") µs"
echo "  the floor of a gRPC call at that rate (health checks through the same server and load generator, answered at once on the server's transport thread: no worker, no database): p50 $(field p50_us "$grpc_floor") µs, p99 $(field p99_us "$grpc_floor") µs ($(field ok "$grpc_floor") of $(field calls "$grpc_floor") SERVING; the server's CPU per call ${pc_floor%% *} µs, the load generator's $(field cpu_us_per_call "$grpc_floor") µs); with 128 slots p50 $(field p50_us "$grpc_floor_open") µs, p99 $(field p99_us "$grpc_floor_open") µs"
if [ -n "$floor" ]; then
    echo "  the floor of the path at that rate (bench/relay.c: paced client -> relay -> echo and back over loopback TCP, three processes doing nothing; an open loop): p50 $(field p50_us "$floor") µs, p99 $(field p99_us "$floor") µs, p99.9 $(field p999_us "$floor") µs; its own CPU per call: relay $(field relay_cpu_us "$floor") µs, echo $(field echo_cpu_us "$floor") µs, client $(field client_cpu_us "$floor") µs"
    echo "  the same path with the relay and the echo burning CPU until they cost what the server and MariaDB did per call ($burn_relay and $burn_echo µs burnt): p50 $(field p50_us "$model") µs, p99 $(field p99_us "$model") µs, p99.9 $(field p999_us "$model") µs (CPU per call: relay $(field relay_cpu_us "$model") µs, echo $(field echo_cpu_us "$model") µs)"
    echo "  the same path with a bare relay (a server that would cost nothing beyond passing messages on) and the echo burning as above: p50 $(field p50_us "$model_db") µs, p99 $(field p99_us "$model_db") µs, p99.9 $(field p999_us "$model_db") µs"
    echo "  at 1,000 calls/s, 128 slots: GetProspect p50 $(field p50_us "$low") µs, p99 $(field p99_us "$low") µs (from each call's start $(field sent_p99_us "$low") µs); the path alone p50 $(field p50_us "$floor_low") µs, p99 $(field p99_us "$floor_low") µs, its relay's CPU per call $(field relay_cpu_us "$floor_low") µs"
fi
[ -n "$stalls_half" ] && echo "  the machine's own stalls (bench/hiccup.c, a wake-up due every ms): with no call for 5 s $stalls_idle; at half of peak $stalls_half; one call in flight $stalls_lone; the query alone at that rate $stalls_dbhalf"
echo "ListProspects (query, 20 per page): $list_rps/s, server ${pc_list%% *} µs and MariaDB $(cut -d' ' -f2 <<<"$pc_list") µs per call"
echo "CreateProspect: $create_rps/s, server ${pc_create%% *} µs and MariaDB $(cut -d' ' -f2 <<<"$pc_create") µs per call"
if [ -n "$rss_long" ]; then echo "RSS after 100,000 random-key calls: $((rss_100k / 1024)) MiB; after $LONG_CALLS: $((rss_long / 1024)) MiB; ratio $(awk -v a="$rss_long" -v b="$rss_100k" 'BEGIN {printf "%.3f", a / b}')"; fi
echo "GetProspect with Redis stopped (h2load): $rps_noredis/s; ratio to Redis up (last round): $(ratio "$rps_noredis" "$rps")"
echo "Redis round trips per call (Redis up, whole run so far): $redis_cmds / $calls = $(awk -v a="$redis_cmds" -v b="$calls" 'BEGIN {printf "%.5f", a / b}')"
if [ -n "$merge_line" ]; then echo "merge: ${merge_line#median of 1 runs: }"; fi
