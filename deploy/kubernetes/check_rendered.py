#!/usr/bin/env python3
"""Check what the rendered manifests of an overlay promise (deploy/check.sh runs it after schema validation).

    check_rendered.py OVERLAY RENDERED.yaml GENERATED_DIR IMAGE

Exit 1 naming every broken promise: images pinned by the built digest, non-root and read-only root filesystems,
probes on /healthz and /readyz, two brokers, an HPA and PodDisruptionBudgets, NetworkPolicies that let the
gateway reach only the broker, model proxies, PostgreSQL and DNS, and, in the coco overlays, the runtime class
and init-data whose digest is the one generate.py recorded and which carries the policy digest and broker URL.
"""
import base64
import gzip
import hashlib
import json
import sys

import yaml

overlay, rendered, generated, image = sys.argv[1:5]
docs = [d for d in yaml.safe_load_all(open(rendered)) if d]
by_kind = {}
for d in docs:
    by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
problems = []


def expect(condition, message):
    if not condition:
        problems.append(message)


deployments = by_kind.get("Deployment", {})
expect(set(deployments) == {"sealgate-gateway", "sealgate-broker"}, f"Deployments are {sorted(deployments)}")
for name, d in deployments.items():
    pod = d["spec"]["template"]["spec"]
    sc = pod.get("securityContext", {})
    expect(sc.get("runAsNonRoot") is True and sc.get("runAsUser", 0) != 0, f"{name}: not forced to a non-root user")
    expect(pod.get("automountServiceAccountToken") is False, f"{name}: mounts a service account token")
    for c in pod["containers"]:
        csc = c.get("securityContext", {})
        expect(c["image"] == image, f"{name}/{c['name']}: image {c['image']} is not the built digest {image}")
        expect(csc.get("readOnlyRootFilesystem") is True, f"{name}/{c['name']}: root filesystem is writable")
        expect(csc.get("allowPrivilegeEscalation") is False, f"{name}/{c['name']}: privilege escalation allowed")
        expect(csc.get("capabilities", {}).get("drop") == ["ALL"], f"{name}/{c['name']}: capabilities not all dropped")
        expect(c.get("livenessProbe", {}).get("httpGet", {}).get("path") == "/healthz", f"{name}: liveness is not /healthz")
        ready = "/readyz" if name == "sealgate-gateway" else "/healthz"
        expect(c.get("readinessProbe", {}).get("httpGet", {}).get("path") == ready, f"{name}: readiness is not {ready}")
        writable = {m["mountPath"] for m in c.get("volumeMounts", []) if not m.get("readOnly")}
        expect(writable == {"/var/lib/sealgate", "/tmp"}, f"{name}: writable mounts {sorted(writable)}")

names = {(d["kind"], d["metadata"]["name"]) for d in docs}
for name, d in deployments.items():
    for v in d["spec"]["template"]["spec"].get("volumes", []):
        ref = ("Secret", v["secret"]["secretName"]) if "secret" in v else ("ConfigMap", v["configMap"]["name"]) if "configMap" in v else None
        expect(ref is None or ref in names, f"{name}: volume {v['name']} names {ref[1] if ref else ''}, which is not rendered")
    annotations = d["spec"]["template"]["metadata"].get("annotations", {})
    expect(any(k.startswith("sealgate.dev/") for k in annotations), f"{name}: no digest annotation (Pods would not roll on a change)")
broker = deployments.get("sealgate-broker", {}).get("spec", {})
expect(broker.get("replicas") == 2, "the broker does not run two replicas")
args = broker.get("template", {}).get("spec", {}).get("containers", [{}])[0].get("args", [])
expect("--database-env=SEALGATE_BROKER_DATABASE_URL" in args, "the broker is not given --database-env")
# The broker serves HTTPS under generate.py's CA and the gateway trusts only that CA for it: on plain HTTP anyone
# on the Pod network could hand the gateway keys of their own (a release is encrypted to the TEE, not signed).
expect("--tls-cert=/etc/sealgate-broker-tls/tls.crt" in args and "--tls-key=/etc/sealgate-broker-tls/tls.key" in args,
       "the broker does not serve HTTPS")
broker_probes = [c.get(p, {}).get("httpGet", {}).get("scheme") for c in broker.get("template", {}).get("spec", {}).get("containers", [])
                 for p in ("startupProbe", "livenessProbe", "readinessProbe")]
expect(broker_probes and all(s == "HTTPS" for s in broker_probes), f"broker probes are not HTTPS: {broker_probes}")
gateway = deployments.get("sealgate-gateway", {}).get("spec", {}).get("template", {})
gateway_args = (gateway.get("spec", {}).get("containers") or [{}])[0].get("args", [])
expect("--broker=https://sealgate-broker:8081" in gateway_args and "--broker-ca=/etc/sealgate-broker-ca/ca.crt" in gateway_args
       and not any(a.startswith("--insecure-broker-http") for a in gateway_args), f"the gateway does not reach the broker over HTTPS under its CA: {gateway_args}")
hpa = by_kind.get("HorizontalPodAutoscaler", {}).get("sealgate-gateway", {})
expect(hpa.get("spec", {}).get("scaleTargetRef", {}).get("name") == "sealgate-gateway", "no HPA on the gateway")
expect(set(by_kind.get("PodDisruptionBudget", {})) == {"sealgate-gateway", "sealgate-broker"}, "PodDisruptionBudgets missing")

config = by_kind.get("Secret", {})
config = [s for n, s in config.items() if n.startswith("sealgate-gateway-config")]
expect(len(config) == 1, "no gateway configuration Secret")
if config:
    text = base64.b64decode(config[0]["data"]["sealgate.yaml"]).decode()
    storage = yaml.safe_load(text).get("storage", {})
    expect(storage.get("type") == "postgres" and storage.get("url", "").startswith("postgres://"), "the gateway's storage is not postgres")

policies = by_kind.get("NetworkPolicy", {})
expect(policies.get("default-deny", {}).get("spec", {}).get("podSelector") == {}, "no default-deny NetworkPolicy")
gw_egress = policies.get("sealgate-gateway", {}).get("spec", {}).get("egress", [])
targets = [json.dumps(rule.get("to"), sort_keys=True) for rule in gw_egress]
expect(len(gw_egress) == 3 and any("broker" in t for t in targets) and any("model-proxy" in t for t in targets)
       and any("kube-dns" in t for t in targets), f"gateway egress is not broker + model proxies + DNS: {targets}")
pg = policies.get("sealgate-postgres-egress", {}).get("spec", {})
expect(pg.get("egress", [{}])[0].get("to") == [{"ipBlock": {"cidr": "192.0.2.10/32"}}], "egress to PostgreSQL is not its one address")
slices = by_kind.get("EndpointSlice", {})
expect(slices.get("sealgate-postgres-1", {}).get("endpoints") == [{"addresses": ["192.0.2.10"]}], "sealgate-postgres has no endpoint")
broker_in = policies.get("sealgate-broker", {}).get("spec", {}).get("ingress", [])
expect(len(broker_in) == 1 and "gateway" in json.dumps(broker_in), "the broker accepts more than the gateway")

pod = gateway.get("spec", {})
annotations = gateway.get("metadata", {}).get("annotations", {}) or {}
init = annotations.get("io.katacontainers.config.hypervisor.cc_init_data")
if overlay == "dev":
    expect("runtimeClassName" not in pod, "dev runs under a runtime class")
    expect(init is None, "dev carries init-data")
else:
    tee = overlay.split("-")[1]
    expect(pod.get("runtimeClassName") == f"kata-qemu-{tee}", f"runtime class is {pod.get('runtimeClassName')}")
    expect(init is not None, "no init-data annotation")
    if init:
        document = gzip.decompress(base64.b64decode(init))
        algorithm = "sha384" if tee == "tdx" else "sha256"
        recorded = open(f"{generated}/init-data.digest").read().strip()
        expect(recorded == f"{algorithm}:{hashlib.new(algorithm, document).hexdigest()}", "init-data digest differs from init-data.digest")
        expect(document == open(f"{generated}/init-data.toml", "rb").read(), "annotation is not init-data.toml")
        text = document.decode()
        expect(f'algorithm = "{algorithm}"' in text, "init-data algorithm does not match the TEE's digest")
        expect("https://sealgate-broker.sealgate.svc.cluster.local:8081" in text, "init-data does not name the broker over HTTPS")
        ca = open(f"{generated}/broker-tls/ca.crt").read()
        expect(text.count(ca) == 2, "init-data does not carry the broker's CA for the attestation agent and the data hub")
        expect(f"image = '{image}'" in text, "init-data does not name the image")
        expect("default ExecProcessRequest := false" in text, "the agent policy allows exec")
    rv = json.load(open(f"{generated}/reference-values.json"))
    expect(rv["accept_mock_evidence"] is False and [s["tee"] for s in rv["sets"]] == [tee], f"reference values: {rv}")

if problems:
    print(f"{overlay}: {len(problems)} problem(s):\n  " + "\n  ".join(problems))
    sys.exit(1)
print(f"{overlay}: image pinned, non-root, read-only root, probes, 2 brokers, HPA, PDBs, NetworkPolicies"
      + ("" if overlay == "dev" else ", runtime class and init-data") + ": ok")
