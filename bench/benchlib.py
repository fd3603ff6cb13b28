"""What the Python benchmarks share: a private MariaDB sized for millions of rows, and a database
loaded once and reused across runs (--data DIR)."""

import os
import signal
import subprocess
import time

import harness

COMMON_OPTS = ["--innodb-flush-log-at-trx-commit=2", "--skip-log-bin", "--skip-name-resolve",
               "--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci",
               "--max-allowed-packet=256M"]


def tuned_mariadb(buffer_pool="4G", log_file="1G", extra=(), directory=None):
    """A private MariaDB (not started) with a buffer pool and redo log of these sizes. In a kept
    folder (directory), close() shuts it down cleanly, and it keeps its whole buffer pool's page
    list for the next start: killed, every later run would begin with a crash recovery, a cold
    buffer pool, and the recovered pages written out while the calls are timed."""
    class Tuned(harness.PrivateMariaDB):
        OPTS = (["--innodb-buffer-pool-size=" + buffer_pool, "--innodb-log-file-size=" + log_file,
                 "--innodb-buffer-pool-dump-pct=100"] + COMMON_OPTS + list(extra))

        def close(self):
            if directory and harness._alive(self.proc):
                self.stop(timeout=900)
            super().close()
    return Tuned(directory=directory) if directory else Tuned()


def settled(db, timeout=1800):
    """Waits until MariaDB's background work is done, so that it does not compete with the timed
    calls: the buffer pool loaded back from the last shutdown's page list, the pages a load left
    dirty written out, and the undo log of its transactions purged. Prints how long it waited when
    that was more than a second."""
    t0 = time.monotonic()
    # an idle page cleaner writes innodb_io_capacity pages a second: ask for all of them now
    pct = db.sql("SELECT @@GLOBAL.innodb_max_dirty_pages_pct")[0][0]
    db.sql("SET GLOBAL innodb_max_dirty_pages_pct = 0")
    try:
        while time.monotonic() - t0 <= timeout:
            st = global_status(db, "Innodb_buffer_pool_load_status", "Innodb_buffer_pool_pages_dirty",
                               "Innodb_buffer_pool_pages_total", "Innodb_history_list_length")
            load = st["Innodb_buffer_pool_load_status"]
            # "Loading buffer pool(s) from FILE", then "Loaded N/M pages"; done when it has
            # completed, failed or was not asked for (no page list: "Cannot open ...")
            if (load and not load.startswith(("Loading", "Loaded"))
                    and int(st["Innodb_buffer_pool_pages_dirty"]) * 100
                    < int(st["Innodb_buffer_pool_pages_total"])
                    and int(st["Innodb_history_list_length"]) < 1000):
                break
            time.sleep(1)
    finally:
        db.sql("SET GLOBAL innodb_max_dirty_pages_pct = %s" % pct)
    waited = time.monotonic() - t0
    if waited > 1:
        print("waited %.0f s for MariaDB's background work (buffer pool load, dirty pages, purge)"
              % waited, flush=True)


def loaded_database(db, database, data_dir, load):
    """Creates database, applies the migrations and runs load(db, database); with data_dir (the
    MariaDB's kept folder), a database loaded by an earlier run there is reused instead."""
    have = db.sql("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '%s'"
                  " AND table_name = 'bench_loaded'" % database)
    if data_dir and have[0][0] == "1":
        print("reusing the data loaded in %s" % data_dir, flush=True)
        return
    db.drop_database(database)
    db.create_database(database)
    harness.dbmate(db, database, "up")
    load(db, database)
    db.sql("CREATE TABLE bench_loaded (n INT)", database)


def data_dir(path):
    """--data: made when given; '' stays ''."""
    if path:
        os.makedirs(path, exist_ok=True)
    return path


def global_status(db, *names):
    """MariaDB's global status variables of these names: {name: value as text}."""
    rows = db.sql("SHOW GLOBAL STATUS WHERE Variable_name IN (%s)" % ", ".join("'%s'" % n for n in names))
    return {n: v for n, v in rows}


def disk_reads(db):
    """Pages MariaDB has read from disk so far, for any reason: a page a statement missed in its
    buffer pool, read-ahead, and the buffer pool's load at start (Innodb_buffer_pool_reads counts
    only the first)."""
    return int(global_status(db, "Innodb_pages_read")["Innodb_pages_read"])


def steal_ticks():
    """The machine's CPU time so far, in clock ticks: (stolen by the hypervisor, all)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[7], sum(v[:8])  # user nice system idle iowait irq softirq steal



def steal_share(before, after):
    """Of the machine's CPU time between two steal_ticks(), the percentage the hypervisor took for
    other guests. While it takes time, every thread of the client, the server and MariaDB waits:
    on the 2-core virtual machines of these benchmarks, a call of 0.8 ms took 4 in windows of
    50-400 ms with steal, and the p99 of a case depends on how many of its calls fell in them."""
    return 100.0 * (after[0] - before[0]) / (after[1] - before[1]) if after[1] > before[1] else 0.0


class Hiccups:
    """The machine's own stalls while a block runs (bench/hiccup.c, built with the tests as
    build/client/hiccup): a thread that asks to wake every millisecond, and how late it got to run.
    A wake-up 2 ms late is 2 ms in which a runnable thread found no CPU, whatever took it: the
    benchmark's own load, a kernel thread, or a host that did not run the virtual CPU (which not
    every hypervisor reports as steal). Use as `with Hiccups() as h: ...`, then h.result:
    {samples, p50_us, p99_us, p999_us, max_us, stalls_1ms, stalls_2ms, stalls_5ms, stalled_ms},
    or None when the tool was not built."""
    PATH = os.path.join(harness.BUILD_DIR, "client", "hiccup")

    def __enter__(self):
        self.result = None
        self.proc = None
        if os.access(self.PATH, os.X_OK):
            self.proc = subprocess.Popen([self.PATH], stdout=subprocess.PIPE, text=True)
        return self

    def __exit__(self, *exc):
        if self.proc:
            self.proc.send_signal(signal.SIGTERM)
            out, _ = self.proc.communicate(timeout=30)
            fields = dict(kv.split("=", 1) for kv in out.split())
            self.result = {k: float(v) for k, v in fields.items()}
        return False

    def summary(self):
        """'stalls >= 2 ms: N (longest X ms)', or '' without the tool."""
        r = self.result
        if not r:
            return ""
        return "stalls >= 2 ms: %d (longest %.1f ms)" % (r["stalls_2ms"], r["max_us"] / 1000)
