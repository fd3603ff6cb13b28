"""ExportProspects (server streaming) against the real server and MariaDB: a complete and exact
export (records and contact persons as GetProspect/ListContactPersons give them, the state filter,
several messages for more than one page, read_time in every message and total_count on the last),
other tenants untouched, an export racing merges, updates and creations that stays consistent (one
snapshot: every record exactly once, nothing merged away before read_time, no half-done merge),
the stream limit (PS_EXPORT_STREAMS) and its slot freed by a cancel or a deadline, the apps gate,
validation, a database killed mid-stream, and the server's memory over a large export."""

import threading
import time
import unittest

import grpc

import harness
import ps_testlib as lib
from prospects.v1 import resources_pb2, service_pb2

Code = grpc.StatusCode
R = resources_pb2
S = service_pb2


def exporter(channel):
    return channel.unary_stream(lib.method("ExportProspects"),
                                request_serializer=lambda m: m.SerializeToString(),
                                response_deserializer=S.ExportProspectsResponse.FromString)


def export(channel, tenant, state_filter=0, timeout=60, parent=None):
    """Every message of an export, as a list."""
    req = S.ExportProspectsRequest(parent="tenants/%s" % tenant if parent is None else parent,
                                   state_filter=state_filter)
    return list(exporter(channel)(req, timeout=timeout))


def bundles(msgs):
    return [b for m in msgs for b in m.prospects]


def bulk_hex(prefix, seq):
    """The 32 hex digits of bulk record number seq (ids sort like seq)."""
    return "%s%024x" % (prefix, seq)


def uuid_of(h):
    return "%s-%s-%s-%s-%s" % (h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])


def insert_bulk(db, database, tenant, n, prefix="0190aaaa", notes_len=0, contacts_every=0,
                contact_prefix="0190bbbb"):
    """n COMPANY records by SQL (ids prefix + seq), and a contact person for every contacts_every-th."""
    db.sql("INSERT INTO prospects (tenant_id, id, kind, state, display_name, company_name, city,"
           " notes, create_time, update_time)"
           " SELECT '%s', UNHEX(CONCAT('%s', LPAD(HEX(seq), 24, '0'))), 2, 1, CONCAT('Bulk ', seq),"
           " CONCAT('Bulk ', seq), 'Gent', REPEAT('n', %d), UTC_TIMESTAMP(6), UTC_TIMESTAMP(6)"
           " FROM seq_1_to_%d" % (tenant, prefix, notes_len, n), database)
    if contacts_every:
        db.sql("INSERT INTO contact_persons (tenant_id, id, prospect_id, first_name, last_name, email,"
               " create_time, update_time)"
               " SELECT '%s', UNHEX(CONCAT('%s', LPAD(HEX(seq), 24, '0'))),"
               " UNHEX(CONCAT('%s', LPAD(HEX(seq), 24, '0'))), 'Eva', CONCAT('Contact ', seq),"
               " CONCAT('eva', seq, '@example.be'), UTC_TIMESTAMP(6), UTC_TIMESTAMP(6)"
               " FROM seq_1_to_%d WHERE seq %% %d = 0"
               % (tenant, contact_prefix, prefix, n, contacts_every), database)


class Export(lib.ServerTestCase):
    def setUp(self):
        self.t = lib.new_enabled_tenant(self.channel)

    def test_complete_and_exact(self):
        ch = self.channel
        person = lib.create(ch, self.t, lib.person(first_name="Zoë", last_name="Peeters",
                                                   email="zoe@example.be", notes="a;b\n\"c\""))
        company = lib.create(ch, self.t, lib.company(company_name="Brouwerij Ş.A.", vat_number="BE0123456789",
                                                     address=R.Address(street="Kerkstraat 1", city="Gent",
                                                                             country_code="BE")))
        c1 = lib.create_contact(ch, company.name, R.ContactPerson(first_name="Eva", email="eva@example.be"))
        c2 = lib.create_contact(ch, company.name, R.ContactPerson(last_name="Jans", role="CFO"))
        customer = lib.create(ch, self.t, lib.person(first_name="Cas"))
        lib.convert(ch, customer.name, R.Document(document_id="inv-1"))
        other = lib.new_enabled_tenant(ch)
        lib.create(ch, other, lib.person(first_name="Other"))

        t0 = time.time()
        msgs = export(ch, self.t)
        self.assertEqual(len(msgs), 1)
        m = msgs[0]
        self.assertEqual(m.total_count, 3)
        self.assertTrue(m.HasField("read_time"))
        self.assertLess(abs(m.read_time.ToDatetime().timestamp() - t0), 60)
        got = {b.prospect.name: b for b in m.prospects}
        self.assertEqual(set(got), {person.name, company.name, customer.name})
        # records in id order, each exactly as GetProspect gives it
        self.assertEqual([b.prospect.name for b in m.prospects],
                         sorted(got, key=lambda n: lib.prospect_id(n)))
        for name, b in got.items():
            self.assertEqual(b.prospect, lib.get(ch, name))
        self.assertEqual(got[customer.name].prospect.state, R.CUSTOMER)
        self.assertEqual(list(got[company.name].contact_persons),
                         list(lib.list_contacts(ch, company.name).contact_persons))
        self.assertEqual({c.name for c in got[company.name].contact_persons}, {c1.name, c2.name})
        self.assertEqual(len(got[person.name].contact_persons), 0)

        only = export(ch, self.t, state_filter=S.CUSTOMERS_ONLY)
        self.assertEqual([b.prospect.name for b in bundles(only)], [customer.name])
        self.assertEqual(only[-1].total_count, 1)
        prospects = export(ch, self.t, state_filter=S.PROSPECTS_ONLY)
        self.assertEqual({b.prospect.name for b in bundles(prospects)}, {person.name, company.name})
        every = export(ch, self.t, state_filter=S.ALL_STATES)
        self.assertEqual(len(bundles(every)), 3)
        # the other tenant: its own record only
        self.assertEqual([b.prospect.first_name for b in bundles(export(ch, other))], ["Other"])

    def test_empty_tenant_is_one_message(self):
        msgs = export(self.channel, self.t)
        self.assertEqual(len(msgs), 1)
        self.assertEqual(len(msgs[0].prospects), 0)
        self.assertEqual(msgs[0].total_count, 0)
        self.assertTrue(msgs[0].HasField("read_time"))

    def test_many_records_in_several_messages(self):
        n = 1203
        insert_bulk(self.db, self.database, self.t, n, contacts_every=7)
        msgs = export(self.channel, self.t)
        self.assertGreaterEqual(len(msgs), 3)
        self.assertTrue(all(len(m.prospects) <= 500 for m in msgs))
        names = [b.prospect.name for b in bundles(msgs)]
        want = ["tenants/%s/prospects/%s" % (self.t, uuid_of(bulk_hex("0190aaaa", i))) for i in range(1, n + 1)]
        self.assertEqual(names, want)  # each once, in id order
        self.assertEqual([m.total_count for m in msgs], [0] * (len(msgs) - 1) + [n])
        self.assertEqual(len({m.read_time.ToNanoseconds() for m in msgs}), 1)
        # one access line for the whole stream, with its messages and bytes
        want = "messages=%d bytes=%d" % (len(msgs), sum(m.ByteSize() for m in msgs))
        line = lambda: [l for l in self.server.log().splitlines()  # noqa: E731
                        if "ExportProspects" in l and "tenant=%s " % self.t in l]
        lib.wait_for(lambda: line(), 5, what="the export's access line")
        self.assertEqual(len(line()), 1)
        self.assertIn("code=OK", line()[0])
        self.assertIn(want, line()[0])
        for b in bundles(msgs):
            seq = int(lib.prospect_id(b.prospect.name).replace("-", "")[8:], 16)
            self.assertEqual(len(b.contact_persons), 1 if seq % 7 == 0 else 0, b.prospect.name)
            for c in b.contact_persons:
                self.assertTrue(c.name.startswith(b.prospect.name + "/contactPersons/"))
                self.assertEqual(c.last_name, "Contact %d" % seq)

    def test_large_records_split_messages_under_a_mebibyte(self):
        insert_bulk(self.db, self.database, self.t, 300, notes_len=9000)
        msgs = export(self.channel, self.t)
        self.assertGreater(len(msgs), 2)
        for m in msgs:
            self.assertLess(m.ByteSize(), 1 << 20)
        self.assertEqual(len(bundles(msgs)), 300)
        self.assertEqual(len({b.prospect.name for b in bundles(msgs)}), 300)
        self.assertEqual(msgs[-1].total_count, 300)

    def test_apps_gate(self):
        t = harness.new_tenant("off")
        self.assertRpcError(lambda: export(self.channel, t), Code.FAILED_PRECONDITION,
                            reason="PROSPECTS_APP_DISABLED")

    def test_validation(self):
        for parent in ("", "tenants/", "tenants/UPPER", "tenants/%s/prospects" % self.t, "x"):
            with self.subTest(parent=parent):
                self.assertRpcError(lambda: export(self.channel, self.t, parent=parent),
                                    Code.INVALID_ARGUMENT, field="parent")
        self.assertRpcError(lambda: export(self.channel, self.t, state_filter=99),
                            Code.INVALID_ARGUMENT, field="state_filter")


class ExportRacingMerges(lib.ServerTestCase):
    N = 4000            # records, 8 pages
    NOTES = 800         # bytes of notes each: the stream outruns no slow reader by much
    MERGES = 24
    SLEEP_S = 0.25      # between messages read

    def test_export_racing_merges_stays_consistent(self):
        ch = self.channel
        t = lib.new_enabled_tenant(ch)
        insert_bulk(self.db, self.database, t, self.N, notes_len=self.NOTES, contacts_every=1)
        name = lambda seq: "tenants/%s/prospects/%s" % (t, uuid_of(bulk_hex("0190aaaa", seq)))
        # targets in the first page, sources in the last ones: an export that read each page at
        # its own moment would see targets before and sources after their merges
        pairs = [(name(1 + i), name(self.N - i)) for i in range(self.MERGES)]
        initial = {name(i) for i in range(1, self.N + 1)}
        contacts_before = {c for (c,) in self.db.sql(
            "SELECT LOWER(HEX(id)) FROM contact_persons WHERE tenant_id = '%s'" % t, self.database)}

        merges, creates, updates = [], [], []   # (t_start, t_end, ...)
        errors = []
        started = threading.Event()

        def racer():
            started.wait(30)
            try:
                for i, (target, source) in enumerate(pairs):
                    t0 = time.time()
                    lib.merge(ch, target, [source], request_id="race-%d" % i, move_contact_persons=True)
                    merges.append((t0, time.time(), target, source))
                    t0 = time.time()
                    p = lib.create(ch, t, lib.person(first_name="New%d" % i))
                    creates.append((t0, time.time(), p.name))
                    t0 = time.time()
                    lib.update(ch, R.Prospect(name=name(self.N // 2 + i), notes="changed %d" % i), ["notes"])
                    updates.append((t0, time.time()))
            except Exception as e:  # reported below
                errors.append(e)

        th = threading.Thread(target=racer)
        th.start()
        msgs = []
        try:
            for m in exporter(ch)(S.ExportProspectsRequest(parent="tenants/%s" % t), timeout=120):
                msgs.append(m)
                started.set()
                time.sleep(self.SLEEP_S)
        finally:
            started.set()
            th.join(120)
        self.assertEqual(errors, [])
        read_time = msgs[0].read_time.ToNanoseconds() / 1e9
        self.assertTrue(all(m.read_time == msgs[0].read_time for m in msgs))
        got = [b.prospect.name for b in bundles(msgs)]
        self.assertEqual(len(got), len(set(got)), "a record exported twice")
        self.assertEqual(len(got), msgs[-1].total_count)
        got_set = set(got)
        during = sum(1 for t0, t1, _, _ in merges if t0 > read_time)
        print("\nexport of %d messages over %.1f s; %d of %d merges committed during it"
              % (len(msgs), time.time() - read_time, during, len(merges)))
        self.assertGreater(during, 0, "the merges must race the export")
        merged_before = {s for t0, t1, _, s in merges if t1 < read_time}
        merged_after = {s for t0, t1, _, s in merges if t0 > read_time}
        for s in merged_before:
            self.assertTrue(s not in got_set, "%s merged away before read_time was exported" % s)
        for s in merged_after:
            self.assertTrue(s in got_set, "%s merged away after read_time is missing" % s)
        unsure = {s for _, _, _, s in merges} - merged_before - merged_after
        self.assertEqual((initial - merged_before - unsure) - got_set, set(),
                         "a record of the snapshot missing from the export")
        new_before = {n for t0, t1, n in creates if t1 < read_time}
        new_after = {n for t0, t1, n in creates if t0 > read_time}
        self.assertEqual(new_before - got_set, set())
        self.assertEqual(new_after & got_set, set(), "a record created after read_time was exported")
        # contact persons: each exactly once, with the source or (merge visible) with the target
        seen = [c.name.rsplit("/", 1)[1].replace("-", "") for b in bundles(msgs) for c in b.contact_persons]
        self.assertEqual(len(seen), len(set(seen)), "a contact person exported twice")
        self.assertEqual(set(seen), contacts_before, "a contact person missing from the export")
        by_record = {b.prospect.name: b for b in bundles(msgs)}
        for target, source in pairs:
            if source in got_set:  # the merge is not in the snapshot: the target has its own only
                self.assertEqual(len(by_record[target].contact_persons), 1)
            else:
                self.assertEqual(len(by_record[target].contact_persons), 2)


class ExportLimits(lib.ServerTestCase):
    server_env = {"PS_EXPORT_STREAMS": "1"}
    N = 6000
    NOTES = 1000

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.t = lib.new_enabled_tenant(cls.channel)
        insert_bulk(cls.db, cls.database, cls.t, cls.N, notes_len=cls.NOTES)

    def req(self):
        return S.ExportProspectsRequest(parent="tenants/%s" % self.t)

    def quick_export_works(self, timeout=3.0):
        """An export started now succeeds (the slot is free), within timeout for it to be freed."""
        small = lib.new_enabled_tenant(self.channel)
        deadline = time.monotonic() + timeout
        while True:
            try:
                return export(self.channel, small, timeout=30)
            except grpc.RpcError as e:
                if e.code() != Code.RESOURCE_EXHAUSTED or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def test_limit_gives_resource_exhausted_with_retry_info(self):
        it = exporter(self.channel)(self.req(), timeout=60)
        next(it)  # running, and held by its slow reader
        try:
            e = self.assertRpcError(lambda: export(self.channel, self.t), Code.RESOURCE_EXHAUSTED,
                                    reason="TOO_MANY_STREAMS")
            from google.rpc import error_details_pb2
            retry = [d for d in harness.status_details(e).details if d.Is(error_details_pb2.RetryInfo.DESCRIPTOR)]
            self.assertEqual(len(retry), 1)
        finally:
            it.cancel()
        self.quick_export_works()

    def test_cancel_mid_stream_frees_the_slot(self):
        it = exporter(self.channel)(self.req(), timeout=60)
        next(it)
        it.cancel()
        t0 = time.monotonic()
        self.assertEqual(self.quick_export_works(timeout=2.0)[-1].total_count, 0)
        print("\nafter a cancel, a new export ran %.3f s later" % (time.monotonic() - t0))
        # and a whole export still works after
        self.assertEqual(export(self.channel, self.t, timeout=120)[-1].total_count, self.N)

    def test_deadline_mid_stream(self):
        it = exporter(self.channel)(self.req(), timeout=1.0)
        next(it)
        time.sleep(1.5)
        t0 = time.monotonic()
        with self.assertRaises(grpc.RpcError) as cm:
            for _ in it:
                pass
        self.assertEqual(cm.exception.code(), Code.DEADLINE_EXCEEDED)
        self.assertLess(time.monotonic() - t0, 5)
        self.quick_export_works(timeout=2.0)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


class ExportMemory(lib.ServerTestCase):
    N = 50000

    @unittest.skipIf(harness.sanitized(), "RSS under the sanitizers says nothing")
    def test_rss_stays_bounded(self):
        t = lib.new_enabled_tenant(self.channel)
        insert_bulk(self.db, self.database, t, self.N, notes_len=1000, contacts_every=5)
        export(self.channel, lib.new_enabled_tenant(self.channel))  # a worker's first stream
        before = rss_kib(self.server.proc.pid)
        for _ in range(2):
            n = 0
            for m in exporter(self.channel)(S.ExportProspectsRequest(parent="tenants/%s" % t), timeout=240):
                n += len(m.prospects)
            self.assertEqual(n, self.N)
        after = rss_kib(self.server.proc.pid)
        print("\nserver RSS %d KiB before, %d KiB after two exports of %d records (~%d MB each)"
              % (before, after, self.N, self.N * 1100 // 1000000))
        self.assertLess(after - before, 48 * 1024, "the export's memory must not grow with the tenant")


class ExportDatabaseKilled(unittest.TestCase, lib.RpcAssertions):
    def test_database_killed_mid_stream_ends_with_unavailable(self):
        with harness.private_mariadb() as mdb:
            database = harness.fresh_database(mdb)
            with harness.Server(database=database, mariadb=mdb) as server:
                ch = server.channel
                t = lib.new_enabled_tenant(ch)
                insert_bulk(mdb, database, t, 6000, notes_len=1000)
                it = exporter(ch)(S.ExportProspectsRequest(parent="tenants/%s" % t), timeout=30)
                first = next(it)
                self.assertEqual(len(first.prospects), 500)
                mdb.kill()
                n = 1
                with self.assertRaises(grpc.RpcError) as cm:
                    for _ in it:
                        n += 1
                self.assertEqual(cm.exception.code(), Code.UNAVAILABLE, cm.exception.details())
                self.assertLess(n, 12)


if __name__ == "__main__":
    unittest.main()
