"""Test harness for the integration and interop tests (stdlib + grpc + protobuf only).

Databases
    shared_mariadb() / shared_redis()
        The MariaDB and Redis of this test run: the ones scripts/test started (PS_TEST_MYSQL_*,
        PS_TEST_REDIS_*) when those are set, else private ones started on first use and stopped at
        exit, so `ctest` alone works after a build.
    fresh_database(prefix="t") -> name
        A new, uniquely named database on shared_mariadb() (or the given one) with every migration
        applied by dbmate.
    private_mariadb() / private_redis()
        A dedicated instance for tests that stop, kill or restart the database; stop()/start()/
        restart() keep the same port and the same data. Context managers.
    GaleraCluster()
        A 3-node Galera cluster (scripts/galera) with one migrated database; kill(n)/restart(n) a
        node. Pass it as Server(mariadb=...): the server gets every node in PS_MYSQL_HOSTS.

The server
    Server(database=..., mariadb=..., redis=..., env={...}, args=[...])
        Starts PS_SERVER_BIN on a free port, waits until grpc.health.v1.Health/Check says SERVING,
        exposes .channel, .address, .port, .stop(sig) -> exit code, .log() -> its stderr/stdout.
        A context manager that always ends the process (SIGTERM, SIGKILL after 5 s) and fails the
        test when the log holds a sanitizer report.

Calls
    call(channel, "/prospects.v1.ProspectService/GetProspect", request, ResponseClass,
         metadata=[...], timeout=10)
    error_info(rpc_error) -> google.rpc.ErrorInfo or None; status_details(rpc_error) -> Status
    channel(address) -> grpc channel (fast reconnects, no proxy); health(channel) -> ServingStatus
    new_tenant() -> "t-<random hex>", a tenant id no other test uses.
"""

import atexit
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

# The tests fork (subprocess: mariadb, redis-cli, the server) while gRPC channels are open. grpcio's
# fork handlers can then deadlock in the child's pre-fork hook (seen: a test hung in fork()), and
# the tests never use gRPC in a child: turn them off before grpc is imported.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

import grpc  # noqa: E402

# grpcio 1.51 registers its event engine's fork handlers whatever the setting above (the check came
# in later releases). A thread pool that is being destroyed when a fork happens asserts
# (thread_pool.cc:225, "state_ == State::kRunning") and aborts the test process; seen twice, when a
# test started servers right after the previous test closed its channels. Each channel holds a
# reference to gRPC's global state, and gRPC tears its default event engine down when the last one
# goes. This channel is never used nor closed, so gRPC stays initialised for the whole process and
# its pools are not torn down between tests. It never connects: nothing calls on it.
_GRPC_KEEP_INITIALISED = grpc.insecure_channel("localhost:9")

SOURCE_DIR = os.environ.get("PS_SOURCE_DIR") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD_DIR = os.environ.get("PS_BUILD_DIR") or os.path.join(SOURCE_DIR, "build")
SERVER_BIN = os.environ.get("PS_SERVER_BIN") or os.path.join(BUILD_DIR, "prospect-server")
MIGRATIONS_DIR = os.environ.get("PS_MIGRATIONS_DIR") or os.path.join(SOURCE_DIR, "migrations")


def norm_version():
    """PS_NORM_VERSION of the source tree (server/core/normalize.h): the version of the normal forms
    and word index the server builds."""
    with open(os.path.join(SOURCE_DIR, "server", "core", "normalize.h")) as f:
        return int(re.search(r"#define PS_NORM_VERSION (\d+)", f.read()).group(1))


# Running a test file by hand (python3 tests/integration/test_x.py) finds the generated modules too.
_PY_DIR = os.path.join(BUILD_DIR, "py")
if os.path.isdir(_PY_DIR) and _PY_DIR not in sys.path:
    sys.path.insert(0, _PY_DIR)

# One page-token key for every server this test process starts (two replicas accept each other's
# tokens, as in production).
PAGE_TOKEN_KEY = secrets.token_hex(32)

# The server's user (rows only) and the migrations' (schema), as scripts/db-users.sql makes them;
# the harness itself works as root over the unix socket (creating databases, inspecting rows).
DB_USER = "prospects"
DB_PASSWORD = "prospects"
DB_MIGRATE_USER = "prospects_migrate"
DB_MIGRATE_PASSWORD = "prospects_migrate"
DB_NAME_PATTERN = "ps\\_%"  # the databases fresh_database() makes: ps_<prefix>_<pid>_<hex>


def db_users_sql(pattern=DB_NAME_PATTERN):
    """scripts/db-users.sql with the test users, for the databases matching pattern."""
    with open(os.path.join(SOURCE_DIR, "scripts", "db-users.sql")) as f:
        text = f.read()
    for k, v in (("@APP_USER@", DB_USER), ("@APP_PASSWORD@", DB_PASSWORD),
                 ("@MIGRATE_USER@", DB_MIGRATE_USER), ("@MIGRATE_PASSWORD@", DB_MIGRATE_PASSWORD),
                 ("@DATABASE@", pattern)):
        text = text.replace(k, v)
    return text
HEALTH_CHECK = "/grpc.health.v1.Health/Check"


_sanitized = None


def sanitized():
    """True when the server binary is built with AddressSanitizer (memory figures mean little
    then: ASan keeps freed memory in quarantine and adds shadow memory)."""
    global _sanitized
    if _sanitized is None:
        out = subprocess.run(["ldd", SERVER_BIN], capture_output=True, text=True)
        _sanitized = "libasan" in out.stdout
    return _sanitized


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def new_tenant(prefix="t"):
    """A tenant id no other test uses ([a-z0-9-], <= 63 chars)."""
    return "%s-%s" % (prefix, secrets.token_hex(6))


def _wait(predicate, timeout, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if time.monotonic() >= deadline:
            raise TimeoutError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(interval)


def _die_with_parent():
    """preexec_fn: the child gets SIGKILL when the test process dies (even by SIGKILL), so no
    server outlives an aborted test. (Linux ties this to the thread that started the child.)"""
    try:
        import ctypes
        ctypes.CDLL(None).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _alive(proc):
    return proc is not None and proc.poll() is None


def _pause_process(proc, timeout=10):
    """SIGSTOP, then wait until every thread of proc has stopped. kill() returns once the signal is
    queued: one thread is woken to carry out the stop, and until the scheduler runs it, the other
    threads go on (a loaded machine can take milliseconds), answering whatever reaches them."""
    proc.send_signal(signal.SIGSTOP)
    task = "/proc/%d/task" % proc.pid
    deadline = time.monotonic() + timeout
    while True:
        states = []
        try:
            for tid in os.listdir(task):
                with open(os.path.join(task, tid, "stat")) as f:
                    states.append(f.read().rpartition(")")[2].split()[0])
        except OSError:  # a thread that ended while we looked: look again
            states = ["?"]
        if states and all(s in ("T", "t") for s in states):
            return
        if time.monotonic() > deadline:
            raise TimeoutError("pid %d did not stop within %s s (thread states %s)" % (proc.pid, timeout, states))
        time.sleep(0.001)


def _stop_process(proc, sig=signal.SIGTERM, timeout=30):
    """Signal proc, wait for it (SIGKILL after timeout) and return its exit code."""
    if proc is None:
        return None
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


# ---------------------------------------------------------------- MariaDB

class MariaDB:
    """Connection parameters of a MariaDB, plus a SQL helper using the mariadb command-line client."""

    def __init__(self, host="127.0.0.1", port=None, socket_path=None, user=DB_USER,
                 password=DB_PASSWORD, migrate_user=DB_MIGRATE_USER,
                 migrate_password=DB_MIGRATE_PASSWORD):
        self.host, self.port, self.socket = host, port, socket_path
        self.user, self.password = user, password
        self.migrate_user, self.migrate_password = migrate_user, migrate_password

    def url(self, database=""):
        """dbmate's DATABASE_URL for this server (the migrations' user)."""
        return "mysql://%s:%s@%s:%d/%s" % (self.migrate_user, self.migrate_password, self.host,
                                           self.port, database)

    def server_env(self, database):
        """The server's environment variables for this database."""
        env = {"PS_MYSQL_HOST": self.host, "PS_MYSQL_PORT": str(self.port),
               "PS_MYSQL_USER": self.user, "PS_MYSQL_PASSWORD": self.password,
               "PS_MYSQL_DATABASE": database}
        return env

    def sql(self, statement, database=None, timeout=30, as_user=None):
        """Run SQL with the mariadb client as root over the unix socket (or, with as_user=(user,
        password), as that user over TCP); returns the rows as lists of strings."""
        if as_user is None and self.socket:
            cmd = ["mariadb", "--no-defaults", "-uroot", "--socket=" + self.socket, "-N", "-B",
                   "-e", statement]
        else:
            user, password = as_user or (self.migrate_user, self.migrate_password)
            cmd = ["mariadb", "--no-defaults", "-h", self.host, "-P", str(self.port), "-u", user,
                   "-p" + password, "-N", "-B", "-e", statement]
        if database:
            cmd.append(database)
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if out.returncode != 0:
            raise RuntimeError("mariadb: %s: %s" % (statement, out.stderr.strip()))
        return [line.split("\t") for line in out.stdout.splitlines()]

    def ping(self):
        try:
            self.sql("SELECT 1", timeout=5)
            return True
        except (RuntimeError, subprocess.TimeoutExpired):
            return False

    def create_database(self, name):
        self.sql("CREATE DATABASE `%s` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci" % name)

    def drop_database(self, name):
        self.sql("DROP DATABASE IF EXISTS `%s`" % name)


class PrivateMariaDB(MariaDB):
    """A MariaDB of its own (data in a temporary directory) that a test may stop, kill and restart.
    stop()/start() keep the port and the data. Stopped at interpreter exit at the latest."""

    OPTS = ["--innodb-buffer-pool-size=64M", "--innodb-log-file-size=16M",
            "--innodb-flush-log-at-trx-commit=2", "--skip-log-bin", "--skip-name-resolve",
            "--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci"]

    def __init__(self, directory=None, extra_opts=()):
        self._own_dir = directory is None
        self.dir = directory or tempfile.mkdtemp(prefix="ps-mariadb-")
        super().__init__(port=free_port(), socket_path=os.path.join(self.dir, "mysqld.sock"))
        self.datadir = os.path.join(self.dir, "data")
        self.proc = None
        self._user = ["--user=root"] if os.geteuid() == 0 else []
        # Its own tmpdir: a starting MariaDB deletes every #sql* file in its tmpdir, which breaks
        # another instance that shares /tmp while it runs mariadb-install-db.
        tmpdir = os.path.join(self.dir, "tmp")
        os.makedirs(tmpdir, exist_ok=True)
        self.opts = self.OPTS + ["--tmpdir=" + tmpdir] + list(extra_opts)
        atexit.register(self.close)

    def _install(self):
        init = os.path.join(self.dir, "init.sql")
        with open(init, "w") as f:
            f.write("FLUSH PRIVILEGES;\n")
            f.write(db_users_sql())
        out = subprocess.run(
            ["mariadb-install-db", "--no-defaults", "--datadir=" + self.datadir] + self._user +
            ["--auth-root-authentication-method=normal", "--skip-test-db", "--force",
             "--extra-file=" + init] + self.opts, capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError("mariadb-install-db failed:\n" + out.stdout + out.stderr)

    def _is_ours(self):
        try:
            rows = self.sql("SELECT @@datadir", timeout=5)
        except (RuntimeError, subprocess.TimeoutExpired):
            return False
        return rows and rows[0][0].rstrip("/") == self.datadir

    def start(self, timeout=60):
        if _alive(self.proc):
            return self
        if not os.path.isdir(os.path.join(self.datadir, "mysql")):
            self._install()
        log = open(os.path.join(self.dir, "error.log"), "ab")
        self.proc = subprocess.Popen(
            ["mariadbd", "--no-defaults", "--datadir=" + self.datadir] + self._user +
            ["--socket=" + self.socket, "--pid-file=" + os.path.join(self.dir, "mysqld.pid"),
             "--port=%d" % self.port, "--bind-address=127.0.0.1"] + self.opts,
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            preexec_fn=_die_with_parent)
        log.close()
        try:
            _wait(lambda: self._is_ours() or not _alive(self.proc), timeout, 0.1, "MariaDB")
        except TimeoutError:
            self.kill()
            raise
        if not _alive(self.proc):
            raise RuntimeError("MariaDB exited at start (port %d taken?):\n%s" % (self.port, self.log()))
        return self

    def stop(self, timeout=60):
        """Clean shutdown; returns the exit code."""
        rc = _stop_process(self.proc, signal.SIGTERM, timeout)
        self.proc = None
        return rc

    def kill(self):
        """SIGKILL: a crash, as far as the clients can tell."""
        rc = _stop_process(self.proc, signal.SIGKILL)
        self.proc = None
        return rc

    def pause(self):
        """SIGSTOP: a database that hangs (connections open, no answers), from the moment this
        returns: every thread has stopped. resume() undoes it."""
        _pause_process(self.proc)

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)

    def restart(self):
        self.stop()
        return self.start()

    def log(self):
        try:
            with open(os.path.join(self.dir, "error.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def close(self):
        if _alive(self.proc):
            self.resume()
            self.kill()
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()


class GaleraCluster:
    """scripts/galera's 3-node MariaDB Galera cluster, in a directory of its own, with `database`
    created and migrated. start()/stop() the whole cluster; kill(n) (SIGKILL) and restart(n) one
    node (1-3); nodes[n - 1] is a MariaDB for node n (root SQL over its socket). Stopped and removed
    at interpreter exit at the latest. Like MariaDB, it gives the server's environment
    (PS_MYSQL_HOSTS: every node) and runs SQL (on the first node that answers)."""

    SCRIPT = os.path.join(SOURCE_DIR, "scripts", "galera")

    def __init__(self, database=None):
        self.dir = tempfile.mkdtemp(prefix="ps-galera-")
        self.database = database or "ps_galera_%d_%s" % (os.getpid(), secrets.token_hex(4))
        self.env = dict(os.environ, PS_GALERA_DIR=self.dir, PS_GALERA_DATABASE=self.database,
                        PS_DB_NAME_PATTERN=self.database, PS_MIGRATIONS_DIR=MIGRATIONS_DIR,
                        PS_DBMATE=dbmate_path())
        self.nodes = []
        self.user, self.password = DB_USER, DB_PASSWORD
        atexit.register(self.close)

    def _script(self, *args, timeout=240):
        out = subprocess.run([self.SCRIPT] + list(args), env=self.env, capture_output=True,
                             text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if out.returncode != 0:
            raise RuntimeError("scripts/galera %s failed:\n%s%s" % (" ".join(args), out.stdout,
                                                                    out.stderr))
        return out.stdout + out.stderr

    def start(self, attempts=3):
        for attempt in range(attempts):
            try:
                self._script("start")
                break
            except RuntimeError as e:
                # the free ports were picked before the nodes bind them: another process may take
                # one meanwhile. Start afresh on new ports.
                if "Address already in use" not in str(e) or attempt + 1 == attempts:
                    raise
                sys.stderr.write("harness: a Galera port was taken; starting on new ports\n")
                self.stop()
                shutil.rmtree(self.dir, ignore_errors=True)
                os.makedirs(self.dir)
        self.nodes = []
        with open(os.path.join(self.dir, "ports")) as f:
            for line in f:
                n, port = line.split()[:2]
                self.nodes.append(MariaDB(port=int(port), socket_path=os.path.join(
                    self.dir, "n" + n, "mysqld.sock")))
        return self

    def stop(self):
        return self._script("stop")

    def kill(self, n):
        """SIGKILL node n: a crash, as far as the clients and the other nodes can tell."""
        return self._script("kill", str(n))

    def restart(self, n):
        """Start node n again (stopped first if it runs); returns once it is Synced."""
        return self._script("restart", str(n))

    def hosts(self):
        return ",".join("127.0.0.1:%d" % node.port for node in self.nodes)

    def server_env(self, database):
        return {"PS_MYSQL_HOSTS": self.hosts(), "PS_MYSQL_USER": self.user,
                "PS_MYSQL_PASSWORD": self.password, "PS_MYSQL_DATABASE": database}

    def status(self, n, name):
        """A global status value of node n (e.g. wsrep_cluster_size), or None when it is down."""
        try:
            rows = self.nodes[n - 1].sql("SHOW GLOBAL STATUS LIKE '%s'" % name, timeout=5)
        except (RuntimeError, subprocess.TimeoutExpired):
            return None
        return rows[0][1] if rows else None

    def sql(self, statement, database=None, timeout=30, as_user=None):
        last = None
        for node in self.nodes:
            try:
                return node.sql(statement, database=database, timeout=timeout, as_user=as_user)
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                last = e
        raise last or RuntimeError("the cluster has not been started")

    def close(self):
        if os.path.isdir(self.dir):
            try:
                self.stop()
            finally:
                shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()


# ---------------------------------------------------------------- Redis

class Redis:
    """Where a Redis listens, plus redis-cli."""

    def __init__(self, host="127.0.0.1", port=None):
        self.host, self.port = host, port

    def server_env(self):
        return {"PS_REDIS_HOST": self.host, "PS_REDIS_PORT": str(self.port)}

    def cli(self, *args, timeout=10):
        """Run one redis-cli command; returns its output (stripped)."""
        out = subprocess.run(["redis-cli", "-h", self.host, "-p", str(self.port)] + [str(a) for a in args],
                             capture_output=True, text=True, timeout=timeout)
        if out.returncode != 0:
            raise RuntimeError("redis-cli %s: %s" % (" ".join(map(str, args)), out.stderr.strip()))
        return out.stdout.strip()

    def ping(self):
        try:
            return self.cli("PING", timeout=5) == "PONG"
        except (RuntimeError, subprocess.TimeoutExpired):
            return False


class PrivateRedis(Redis):
    """A Redis of its own (no persistence) that a test may stop, kill, pause and restart on the
    same port."""

    def __init__(self):
        super().__init__(port=free_port())
        self.dir = tempfile.mkdtemp(prefix="ps-redis-")
        self.proc = None
        atexit.register(self.close)

    def _is_ours(self):
        try:
            info = self.cli("INFO", "server", timeout=5)
        except (RuntimeError, subprocess.TimeoutExpired):
            return False
        return ("process_id:%d" % self.proc.pid) in info

    def start(self, timeout=20):
        if _alive(self.proc):
            return self
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no", "--dir", self.dir,
             "--logfile", os.path.join(self.dir, "redis.log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, preexec_fn=_die_with_parent)
        try:
            _wait(lambda: not _alive(self.proc) or self._is_ours(), timeout, 0.05, "Redis")
        except TimeoutError:
            self.kill()
            raise
        if not _alive(self.proc):
            raise RuntimeError("Redis exited at start (port %d taken?)" % self.port)
        return self

    def stop(self, timeout=20):
        rc = _stop_process(self.proc, signal.SIGTERM, timeout)
        self.proc = None
        return rc

    def kill(self):
        rc = _stop_process(self.proc, signal.SIGKILL)
        self.proc = None
        return rc

    def pause(self):
        """SIGSTOP: a Redis that accepts connections but never answers, from the moment this returns
        (every thread has stopped). resume() undoes it."""
        _pause_process(self.proc)

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)

    def restart(self):
        self.stop()
        return self.start()

    def close(self):
        if _alive(self.proc):
            self.resume()
            self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()


def private_mariadb(extra_opts=()):
    """A started MariaDB for this test alone (use as a context manager or call close());
    extra_opts: more mariadbd options (e.g. --ssl-cert=...)."""
    return PrivateMariaDB(extra_opts=extra_opts).start()


def private_redis():
    """A started Redis for this test alone (use as a context manager or call close())."""
    return PrivateRedis().start()


_shared = {}


def shared_mariadb():
    """The MariaDB shared by this test run (scripts/test's, else one started for this process)."""
    if "mariadb" not in _shared:
        env = os.environ
        if env.get("PS_TEST_MYSQL_PORT"):
            _shared["mariadb"] = MariaDB(
                host=env.get("PS_TEST_MYSQL_HOST") or "127.0.0.1",
                port=int(env["PS_TEST_MYSQL_PORT"]),
                socket_path=env.get("PS_TEST_MYSQL_SOCKET") or None,
                user=env.get("PS_TEST_MYSQL_USER") or DB_USER,
                password=env.get("PS_TEST_MYSQL_PASSWORD", DB_PASSWORD),
                migrate_user=env.get("PS_TEST_MYSQL_MIGRATE_USER") or DB_MIGRATE_USER,
                migrate_password=env.get("PS_TEST_MYSQL_MIGRATE_PASSWORD", DB_MIGRATE_PASSWORD))
        else:
            _shared["mariadb"] = private_mariadb()
    return _shared["mariadb"]


def shared_redis():
    """The Redis shared by this test run (scripts/test's, else one started for this process)."""
    if "redis" not in _shared:
        if os.environ.get("PS_TEST_REDIS_PORT"):
            _shared["redis"] = Redis(host=os.environ.get("PS_TEST_REDIS_HOST") or "127.0.0.1",
                                     port=int(os.environ["PS_TEST_REDIS_PORT"]))
        else:
            _shared["redis"] = private_redis()
    return _shared["redis"]


def dbmate_path():
    path = os.environ.get("PS_TEST_DBMATE") or os.path.join(
        SOURCE_DIR, ".local", "npm", "node_modules", ".bin", "dbmate")
    if not os.access(path, os.X_OK):
        raise RuntimeError("dbmate not found at %s: run scripts/test once (it installs dbmate), "
                           "or set PS_TEST_DBMATE" % path)
    return path


def dbmate(mariadb, database, *args, migrations_dir=None):
    """Run dbmate against DATABASE (e.g. dbmate(db, name, "up")); returns its output."""
    cmd = [dbmate_path(), "--url", mariadb.url(database),
           "--migrations-dir", migrations_dir or MIGRATIONS_DIR, "--no-dump-schema"] + list(args)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError("%s failed:\n%s%s" % (" ".join(cmd[:1] + list(args)), out.stdout, out.stderr))
    return out.stdout


def fresh_database(mariadb=None, prefix="t", migrate=True, migrations_dir=None):
    """Create a new uniquely named database, apply all migrations, return its name."""
    mariadb = mariadb or shared_mariadb()
    name = "ps_%s_%d_%s" % (prefix, os.getpid(), secrets.token_hex(4))
    mariadb.create_database(name)
    if migrate:
        dbmate(mariadb, name, "up", migrations_dir=migrations_dir)
    return name


# ---------------------------------------------------------------- gRPC helpers

# Reconnect quickly (the default backoff grows to minutes) and never through an HTTP proxy.
# (Not grpc.min_reconnect_backoff_ms: that is the connect timeout, and a short one makes every
# attempt give up while a just-started server is still coming up.)
CHANNEL_OPTIONS = [("grpc.enable_http_proxy", 0),
                   ("grpc.initial_reconnect_backoff_ms", 100),
                   ("grpc.max_reconnect_backoff_ms", 1000)]


def channel(address, options=()):
    """grpc.insecure_channel(address) with CHANNEL_OPTIONS (plus options)."""
    return grpc.insecure_channel(address, options=CHANNEL_OPTIONS + list(options))


def call(channel, method, request, response_class, metadata=None, timeout=10, with_call=False,
         wait_for_ready=None):
    """Call a unary method by its full path without generated stubs.
    Returns the response (or (response, grpc.Call) with with_call=True); raises grpc.RpcError.
    wait_for_ready=True waits (up to timeout) for a connection instead of failing at once with
    UNAVAILABLE while the channel is reconnecting."""
    fn = channel.unary_unary(method, request_serializer=lambda m: m.SerializeToString(),
                             response_deserializer=response_class.FromString)
    kw = {"metadata": metadata, "timeout": timeout, "wait_for_ready": wait_for_ready}
    if with_call:
        return fn.with_call(request, **kw)
    return fn(request, **kw)


def status_details(rpc_error):
    """The google.rpc.Status of grpc-status-details-bin in an RpcError's trailers, or None."""
    from google.rpc import status_pb2
    for key, value in (rpc_error.trailing_metadata() or ()):
        if key == "grpc-status-details-bin":
            return status_pb2.Status.FromString(value)
    return None


def error_info(rpc_error):
    """The google.rpc.ErrorInfo (reason, domain, metadata) of an RpcError, or None."""
    from google.rpc import error_details_pb2
    status = status_details(rpc_error)
    if status is None:
        return None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info
    return None


def health_module():
    """The generated grpc.health.v1 module. The build puts it under grpc_protos/ (a top-level `grpc`
    package would be shadowed by grpcio's own)."""
    try:
        from grpc_protos.health.v1 import health_pb2 as mod
    except ImportError:
        from grpc.health.v1 import health_pb2 as mod
    return mod


def health(channel, service="", timeout=2, wait_for_ready=None):
    """grpc.health.v1 Check -> the ServingStatus number (raises grpc.RpcError)."""
    health_pb2 = health_module()
    return call(channel, HEALTH_CHECK, health_pb2.HealthCheckRequest(service=service),
                health_pb2.HealthCheckResponse, timeout=timeout,
                wait_for_ready=wait_for_ready).status


# ---------------------------------------------------------------- the server

class Server:
    """The real server binary on a free port, against a database and a Redis.

    database: a database name on `mariadb` (default: a fresh_database()); mariadb/redis: default the
    shared ones; env: extra/overriding environment variables (a value of None removes one);
    args: command-line arguments; wait: wait until Health/Check says SERVING; make_channel: how
    .channel is made (default: plaintext)."""

    def __init__(self, database=None, mariadb=None, redis=None, env=None, args=(), port=None,
                 binary=None, wait=True, timeout=15, log_level="info", make_channel=None):
        self.mariadb = mariadb or shared_mariadb()
        self.redis = redis or shared_redis()
        self.database = database or fresh_database(self.mariadb)
        self.port = port or free_port()
        self.address = "127.0.0.1:%d" % self.port
        self.binary = binary or SERVER_BIN
        self.dir = tempfile.mkdtemp(prefix="ps-server-")
        atexit.register(shutil.rmtree, self.dir, True)
        self.log_path = os.path.join(self.dir, "server.log")
        full_env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("PS_TEST_", "PS_MYSQL_", "PS_REDIS_"))}
        # Plaintext unless a test configures TLS (tests/lib/pki.py); a real key, never the
        # development fallback.
        full_env.update({"PS_LISTEN": self.address, "PS_LOG_LEVEL": log_level,
                         "PS_PLAINTEXT": "1", "PS_PAGE_TOKEN_KEY": PAGE_TOKEN_KEY})
        full_env.update(self.mariadb.server_env(self.database))
        full_env.update(self.redis.server_env())
        for k, v in (env or {}).items():
            if v is None:
                full_env.pop(k, None)
            else:
                full_env[k] = str(v)
        self.env = full_env
        self.args = list(args)
        self._start()
        # make_channel(address): e.g. a TLS channel (tests/lib/pki.py) for a server with TLS
        self.channel = (make_channel or channel)(self.address)
        self.returncode = None
        if wait:
            try:
                try:
                    self.wait_serving(timeout)
                except RuntimeError:
                    if not self._died_in_library_start():
                        raise
                    # Seen once in ~15 CI runs of the sanitizer build: the process aborts in
                    # Debian's abseil 20220623 ("mutex.cc ... RAW: Check ... failed") before main
                    # has run a line of ours. That is the library's race, not the service's; start
                    # once more and say so, anything else still fails the test.
                    sys.stderr.write("harness: the server aborted inside a library before main;"
                                     " starting it again. Its log:\n%s\n" % self.log())
                    self._start()
                    self.wait_serving(timeout)
            except BaseException:
                self.close()
                raise

    def _start(self):
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen([self.binary] + self.args, env=self.env,
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         preexec_fn=_die_with_parent)

    def _died_in_library_start(self):
        """The process aborted (SIGABRT) with an abseil check and no log line of the server's own."""
        text = self.log()
        return (self.proc.returncode == -signal.SIGABRT and "mutex.cc" in text
                and " info starting: " not in text)

    def wait_serving(self, timeout=15):
        """Wait until Health/Check says SERVING; raises with the server's log otherwise."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if not self.running():
                raise RuntimeError("server exited with %s before serving; log:\n%s"
                                   % (self.proc.returncode, self.log()))
            try:
                # wait_for_ready: a client-only process polls a connection attempt only while a
                # call waits on it (else only gRPC's 5 s backup poller notices it connected).
                if health(self.channel, timeout=1, wait_for_ready=True) == 1:  # SERVING
                    return
                last = "not SERVING"
            except grpc.RpcError as e:
                last = "%s %s" % (e.code(), e.details())
            time.sleep(0.05)
        raise TimeoutError("server not SERVING after %.0f s (last: %s); log:\n%s"
                           % (timeout, last, self.log()))

    def running(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Send sig, wait for the exit (SIGKILL after timeout), return the exit code
        (negative: killed by that signal)."""
        self.returncode = _stop_process(self.proc, sig, timeout)
        return self.returncode

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def sanitizer_report(self):
        """The lines of an ASan/LSan/UBSan report in the log ("" when none)."""
        lines = [line for line in self.log().splitlines()
                 if "Sanitizer" in line or ": runtime error:" in line]
        return "\n".join(lines)

    def close(self, grace=5):
        """Stop the server: SIGTERM (so a sanitizer build reports leaks), SIGKILL after grace."""
        if self.running():
            self.returncode = _stop_process(self.proc, signal.SIGTERM, grace)
        self.channel.close()

    def call(self, method, request, response_class, **kw):
        return call(self.channel, method, request, response_class, **kw)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            sys.stderr.write("---- server log (%s) ----\n%s\n" % (self.address, self.log()))
        self.close()
        report = self.sanitizer_report()
        if exc_type is None and report:
            raise AssertionError("sanitizer report in the server log:\n" + report)


def main():
    """unittest.main() for a test file: verbose, exit status non-zero on failure."""
    unittest.main(verbosity=2)


def node_modules(*tools):
    """The node_modules folder holding the npm packages the interop tests use (scripts/lib.sh installs
    them): PS_TEST_NODE_MODULES (scripts/test sets it), else .local/npm/node_modules of the checkout.
    Each of tools (a path inside it, e.g. ".bin/buf") must exist; raises RuntimeError otherwise."""
    path = os.environ.get("PS_TEST_NODE_MODULES") or os.path.join(
        SOURCE_DIR, ".local", "npm", "node_modules")
    for tool in tools:
        if not os.path.exists(os.path.join(path, tool)):
            raise RuntimeError("%s not found in %s: run scripts/test once (it installs the npm "
                               "packages), or set PS_TEST_NODE_MODULES" % (tool, path))
    return path
