"""What the Python benchmarks share: a private MariaDB sized for millions of rows, and a database
loaded once and reused across runs (--data DIR)."""

import os

import harness

COMMON_OPTS = ["--innodb-flush-log-at-trx-commit=2", "--skip-log-bin", "--skip-name-resolve",
               "--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci",
               "--max-allowed-packet=256M"]


def tuned_mariadb(buffer_pool="4G", log_file="1G", extra=(), directory=None):
    """A private MariaDB (not started) with a buffer pool and redo log of these sizes."""
    class Tuned(harness.PrivateMariaDB):
        OPTS = (["--innodb-buffer-pool-size=" + buffer_pool, "--innodb-log-file-size=" + log_file]
                + COMMON_OPTS + list(extra))
    return Tuned(directory=directory) if directory else Tuned()


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
