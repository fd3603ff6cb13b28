"""Helper of bench/getprospect.sh: wait for SERVING, prepare data, check a call."""
import concurrent.futures
import struct
import sys
import time

import grpc
from grpc_protos.health.v1 import health_pb2
from prospects.v1 import resources_pb2, service_pb2
from google.protobuf import field_mask_pb2

TENANT = "bench"
LIST_TENANT = "bench-list"
LIST_QUERY = "brouwerij leuven"
SVC = "/prospects.v1.ProspectService/"


def unary(ch, method, req, resp_cls, timeout=5):
    return ch.unary_unary(SVC + method, request_serializer=lambda m: m.SerializeToString(),
                          response_deserializer=resp_cls.FromString)(req, timeout=timeout)


def frame(path, msg):
    """Writes msg as one gRPC message frame (h2load's request body)."""
    body = msg.SerializeToString()
    with open(path, "wb") as f:
        f.write(struct.pack(">BI", 0, len(body)) + body)


def main():
    cmd, target = sys.argv[1], sys.argv[2]
    ch = grpc.insecure_channel(target)
    if cmd == "wait":
        check = ch.unary_unary("/grpc.health.v1.Health/Check",
                               request_serializer=lambda m: m.SerializeToString(),
                               response_deserializer=health_pb2.HealthCheckResponse.FromString)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if check(health_pb2.HealthCheckRequest(), timeout=1).status == 1:
                    return 0
            except grpc.RpcError:
                pass
            time.sleep(0.01)
        return 1
    if cmd == "prepare":
        unary(ch, "UpdateTenantApps", service_pb2.UpdateTenantAppsRequest(
            apps=resources_pb2.TenantApps(name=f"tenants/{TENANT}/apps", prospects_enabled=True),
            update_mask=field_mask_pb2.FieldMask(paths=["prospects_enabled"])), resources_pb2.TenantApps)
        p = unary(ch, "CreateProspect", service_pb2.CreateProspectRequest(
            parent=f"tenants/{TENANT}", prospect=resources_pb2.Prospect(
                kind=resources_pb2.COMPANY, company_name="Bench B.V.", email="info@bench.example",
                phone="+31 20 123 4567", vat_number="NL123456789B01",
                address=resources_pb2.Address(street="Damrak 1", postal_code="1012 LG",
                                              city="Amsterdam", country_code="NL"))),
            resources_pb2.Prospect)
        body = service_pb2.GetProspectRequest(name=p.name).SerializeToString()
        with open(sys.argv[3], "wb") as f:
            f.write(struct.pack(">BI", 0, len(body)) + body)
        with open(sys.argv[3] + ".name", "w") as f:
            f.write(p.name)
        return 0
    if cmd == "prepare-more":
        # ListProspects: 2,000 records in a tenant of their own, made through the server (so that the
        # word index holds them), of which a two-word query matches 1 in 16; CreateProspect: a body
        # without request_id (each call makes a record)
        work = sys.argv[3]
        unary(ch, "UpdateTenantApps", service_pb2.UpdateTenantAppsRequest(
            apps=resources_pb2.TenantApps(name=f"tenants/{LIST_TENANT}/apps", prospects_enabled=True),
            update_mask=field_mask_pb2.FieldMask(paths=["prospects_enabled"])), resources_pb2.TenantApps)
        trades = ["Bakkerij", "Slagerij", "Drukkerij", "Brouwerij"]
        cities = ["Gent", "Antwerpen", "Utrecht", "Leuven"]

        def make(i):
            unary(ch, "CreateProspect", service_pb2.CreateProspectRequest(
                parent=f"tenants/{LIST_TENANT}", prospect=resources_pb2.Prospect(
                    kind=resources_pb2.COMPANY, company_name="%s %s %d" % (trades[i % 4], cities[i // 4 % 4], i),
                    address=resources_pb2.Address(city=cities[i // 4 % 4], country_code="BE"))),
                resources_pb2.Prospect, timeout=30)
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(make, range(2000)))
        frame(work + "/list.bin", service_pb2.ListProspectsRequest(
            parent=f"tenants/{LIST_TENANT}", query=LIST_QUERY, page_size=20))
        frame(work + "/create.bin", service_pb2.CreateProspectRequest(
            parent=f"tenants/{TENANT}", prospect=resources_pb2.Prospect(
                kind=resources_pb2.COMPANY, company_name="Nieuwe Klant B.V.", email="info@klant.example",
                address=resources_pb2.Address(city="Gent", country_code="BE"))))
        return 0
    if cmd == "check-more":
        r = unary(ch, "ListProspects", service_pb2.ListProspectsRequest(
            parent=f"tenants/{LIST_TENANT}", query=LIST_QUERY, page_size=20), service_pb2.ListProspectsResponse)
        return 0 if len(r.prospects) == 20 and r.next_page_token else 1
    if cmd == "check":
        with open(sys.argv[3] + ".name") as f:
            name = f.read()
        p = unary(ch, "GetProspect", service_pb2.GetProspectRequest(name=name), resources_pb2.Prospect)
        return 0 if p.name == name else 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
