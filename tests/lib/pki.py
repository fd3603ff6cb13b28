"""Certificates made at test time with the openssl command-line tool: a CA, server certificates
and client certificates with SPIFFE URI SANs and/or DNS SANs (EC P-256, valid for two days).

    pki = Pki()                                    # a new CA in a temporary directory
    srv = pki.issue("server", dns=["localhost"], ip=["127.0.0.1"])
    quoting = pki.issue("quoting", uri=["spiffe://prospects.test/ns/prod/sa/quoting"])
    srv.cert, srv.key                              # PEM file paths; .cert_pem / .key_pem bytes
    server_env = pki.server_env(srv, policy_path)  # PS_TLS_* + PS_AUTHZ_POLICY_FILE for Server()
    ch = pki.channel(address, quoting)             # a grpc secure channel presenting that cert
"""

import atexit
import os
import shutil
import subprocess
import tempfile

import grpc

import harness


class Cert:
    def __init__(self, cert, key):
        self.cert, self.key = cert, key

    @property
    def cert_pem(self):
        with open(self.cert, "rb") as f:
            return f.read()

    @property
    def key_pem(self):
        with open(self.key, "rb") as f:
            return f.read()


def _openssl(*args):
    out = subprocess.run(["openssl"] + list(args), capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError("openssl %s: %s" % (" ".join(args[:2]), out.stderr.strip()))


class Pki:
    def __init__(self, name="test-ca", directory=None):
        self.dir = directory or tempfile.mkdtemp(prefix="ps-pki-")
        atexit.register(shutil.rmtree, self.dir, True)
        self.ca_cert = os.path.join(self.dir, name + ".pem")
        self.ca_key = os.path.join(self.dir, name + ".key")
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                 "-nodes", "-keyout", self.ca_key, "-out", self.ca_cert, "-days", "2",
                 "-subj", "/CN=" + name)
        self._serial = 0

    @property
    def ca_pem(self):
        with open(self.ca_cert, "rb") as f:
            return f.read()

    def issue(self, name, uri=(), dns=(), ip=(), out_dir=None, days=2):
        """A certificate for CN=name with the given SANs, signed by this CA."""
        out_dir = out_dir or self.dir
        self._serial += 1
        base = os.path.join(out_dir, "%s-%d" % (name, self._serial))
        key, csr, cert, ext = base + ".key", base + ".csr", base + ".pem", base + ".ext"
        _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                 "-keyout", key, "-out", csr, "-subj", "/CN=" + name)
        sans = ["URI:" + u for u in uri] + ["DNS:" + d for d in dns] + ["IP:" + i for i in ip]
        with open(ext, "w") as f:
            if sans:
                f.write("subjectAltName=%s\n" % ",".join(sans))
            f.write("basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n"
                    "extendedKeyUsage=serverAuth,clientAuth\n")
        _openssl("x509", "-req", "-in", csr, "-CA", self.ca_cert, "-CAkey", self.ca_key,
                 "-set_serial", str(1000 + self._serial), "-out", cert, "-days", str(days),
                 "-extfile", ext)
        return Cert(cert, key)

    def server_env(self, server_cert, policy=None, client_ca=None, reload_s=1):
        """Environment of a TLS server presenting server_cert, verifying clients against this CA
        (or client_ca), with the policy file `policy`."""
        env = {"PS_PLAINTEXT": "0", "PS_TLS_CERT_FILE": server_cert.cert,
               "PS_TLS_KEY_FILE": server_cert.key,
               "PS_TLS_CLIENT_CA_FILE": client_ca or self.ca_cert,
               "PS_TLS_RELOAD_S": str(reload_s), "PS_AUTHZ_RELOAD_S": str(reload_s)}
        if policy:
            env["PS_AUTHZ_POLICY_FILE"] = policy
        return env

    def credentials(self, client=None):
        """grpc channel credentials trusting this CA, presenting client (a Cert) when given."""
        if client is None:
            return grpc.ssl_channel_credentials(self.ca_pem)
        return grpc.ssl_channel_credentials(self.ca_pem, client.key_pem, client.cert_pem)

    def channel(self, address, client=None, server_name="localhost"):
        """A secure channel to address; server_name is the name checked against the server's
        certificate."""
        options = harness.CHANNEL_OPTIONS + [("grpc.ssl_target_name_override", server_name)]
        return grpc.secure_channel(address, self.credentials(client), options=options)
