#!/usr/bin/env python3
"""Write an overlay's generated/ kustomize component: everything that depends on the image, the cluster and the
gateway's policy, so that the gateway's configuration, the evidence it will produce and the broker's reference
values cannot drift apart.

    deploy/kubernetes/generate.py OVERLAY --image REPO@sha256:D --postgres-address IP --database-url URL
        [--binary SEALGATE] [--measurement HEX ...] [--min-svn N]

OVERLAY is dev, coco-snp or coco-tdx (a directory under deploy/kubernetes/overlays). Writes
overlays/OVERLAY/generated/:

- sealgate.yaml: the overlay's gateway configuration with storage.url set (a Secret: it holds the password);
- reference-values.json: the broker's reference values. dev: `sealgate measure --reference-values` of this
  configuration and the image's binary (the mock TEE's key is generated here and mounted into the gateway).
  coco-*: one set of tee snp/tdx with the guest launch measurements given by --measurement;
- init-data.toml (coco-*): the Confidential Containers init-data: the broker's URL for the attestation agent and
  the confidential data hub, an agent policy that refuses exec and log streaming, and the Sealgate policy digest.
  The runtime writes its digest into HOST_DATA (SNP, SHA-256) or MRCONFIGID (TDX, SHA-384);
- broker-tls/: the broker's HTTPS certificate (P-256, for sealgate-broker and its cluster names) under a CA made
  here (ca.key stays in this directory, like the mock key; kept across runs). Gateways trust only ca.crt for the
  broker, and the coco-* init-data carries it for the attestation agent, so nobody on the Pod network can stand
  in for the broker: a release is encrypted to the TEE, not signed, and plain HTTP would let them hand out keys;
- kustomization.yaml: a Component that pins the image by digest, generates the Secret and ConfigMaps, points the
  sealgate-postgres Service at --postgres-address, allows egress to it, and annotates the gateway Pods with the
  init-data.

--binary must be the sealgate of the image (its SHA-384 is part of the mock measurement); it also computes the
policy digest (`sealgate config check`). Prints what it wrote and the digests.
"""
import argparse
import base64
import gzip
import hashlib
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TEES = {"dev": "mock", "coco-snp": "snp", "coco-tdx": "tdx"}
MEASUREMENT_HEX = {"snp": 96, "tdx": 480}
BROKER_URL = "https://sealgate-broker.sealgate.svc.cluster.local:8081"
BROKER_NAMES = ["sealgate-broker", "sealgate-broker.sealgate.svc", "sealgate-broker.sealgate.svc.cluster.local"]
INIT_DATA_ANNOTATION = "io.katacontainers.config.hypervisor.cc_init_data"

AGENT_POLICY = """package agent_policy

# Everything the runtime needs to run the Pod is allowed; nothing that would let the host read the guest's
# memory through the agent: no exec into containers, no reading their output streams.
default AddARPNeighborsRequest := true
default AddSwapRequest := true
default CloseStdinRequest := true
default CopyFileRequest := true
default CreateContainerRequest := true
default CreateSandboxRequest := true
default DestroySandboxRequest := true
default ExecProcessRequest := false
default GetMetricsRequest := true
default GetOOMEventRequest := true
default GuestDetailsRequest := true
default ListInterfacesRequest := true
default ListRoutesRequest := true
default MemHotplugByProbeRequest := true
default OnlineCPUMemRequest := true
default PauseContainerRequest := true
default PullImageRequest := true
default ReadStreamRequest := false
default RemoveContainerRequest := true
default RemoveStaleVirtiofsShareMountsRequest := true
default ReseedRandomDevRequest := true
default ResumeContainerRequest := true
default SetGuestDateTimeRequest := true
default SetPolicyRequest := false
default SignalProcessRequest := true
default StartContainerRequest := true
default StartTracingRequest := false
default StatsContainerRequest := true
default StopTracingRequest := false
default TtyWinResizeRequest := true
default UpdateContainerRequest := true
default UpdateEphemeralMountsRequest := false
default UpdateInterfaceRequest := true
default UpdateRoutesRequest := true
default WaitProcessRequest := true
default WriteStreamRequest := false
"""


def fail(message):
    sys.exit(f"generate.py: {message}")


def run(binary, *args):
    result = subprocess.run([binary, *args], capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"'sealgate {' '.join(args)}' failed ({result.returncode}): {(result.stdout + result.stderr).strip()}")
    return result.stdout


def policy_digest(binary, config_path):
    out = run(binary, "config", "check", config_path)
    match = re.search(r"policy digest ([0-9a-f]{64})", out)
    if not match:
        fail(f"'sealgate config check' printed no policy digest: {out.strip()}")
    return match.group(1)


def broker_tls(out):
    """The broker's CA and HTTPS certificate in out/broker-tls (made once, then kept); returns the CA's PEM."""
    tls = os.path.join(out, "broker-tls")
    os.makedirs(tls, exist_ok=True)
    names = {n: os.path.join(tls, n) for n in ("ca.key", "ca.crt", "tls.key", "tls.crt")}
    if not all(os.path.exists(p) for p in names.values()):
        def openssl(*args):
            result = subprocess.run(["openssl", *args], capture_output=True, text=True)
            if result.returncode != 0:
                fail(f"openssl {args[0]} failed: {(result.stdout + result.stderr).strip()}")
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        openssl("req", "-x509", *ec, "-keyout", names["ca.key"], "-out", names["ca.crt"], "-days", "825",
                "-subj", "/CN=sealgate broker CA", "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        csr = os.path.join(tls, "tls.csr")
        openssl("req", *ec, "-keyout", names["tls.key"], "-out", csr, "-subj", "/CN=sealgate-broker")
        ext = os.path.join(tls, "tls.ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
                    f"subjectAltName={','.join('DNS:' + n for n in BROKER_NAMES)}\n")
        openssl("x509", "-req", "-in", csr, "-CA", names["ca.crt"], "-CAkey", names["ca.key"], "-CAcreateserial",
                "-days", "825", "-out", names["tls.crt"], "-extfile", ext)
        for leftover in (csr, ext, os.path.join(tls, "ca.srl")):
            if os.path.exists(leftover):
                os.remove(leftover)
        for key in ("ca.key", "tls.key"):
            os.chmod(names[key], 0o600)
    with open(names["ca.crt"]) as f:
        return f.read()


def init_data(tee, digest, image, broker_ca):
    algorithm = "sha384" if tee == "tdx" else "sha256"
    aa = f"[token_configs]\n[token_configs.kbs]\nurl = '{BROKER_URL}'\ncert = \"\"\"\n{broker_ca}\"\"\"\n"
    cdh = (f"socket = 'unix:///run/confidential-containers/cdh.sock'\ncredentials = []\n\n[kbc]\nname = 'cc_kbc'\n"
           f"url = '{BROKER_URL}'\nkbs_cert = \"\"\"\n{broker_ca}\"\"\"\n")
    sealgate = f"policy_digest = '{digest}'\nbroker_url = '{BROKER_URL}'\nimage = '{image}'\n"
    return (f'algorithm = "{algorithm}"\nversion = "0.1.0"\n\n[data]\n'
            f"\"aa.toml\" = '''\n{aa}'''\n\n\"cdh.toml\" = '''\n{cdh}'''\n\n"
            f"\"policy.rego\" = '''\n{AGENT_POLICY}'''\n\n\"sealgate.toml\" = '''\n{sealgate}'''\n")


def dump_yaml(obj):
    # JSON is YAML: no dependency, and kustomize reads it.
    return json.dumps(obj, indent=2) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("overlay", choices=sorted(TEES))
    parser.add_argument("--image", required=True, help="the image by digest: REPOSITORY@sha256:<64 hex>")
    parser.add_argument("--postgres-address", required=True, help="IPv4 address of the external PostgreSQL")
    parser.add_argument("--database-url", required=True, help="the gateway's postgres://user:password@sealgate-postgres:5432/db URL")
    parser.add_argument("--binary", default=shutil.which("sealgate"), help="the sealgate executable that is in the image")
    parser.add_argument("--measurement", action="append", default=[], help="coco-*: a guest launch measurement (hex), repeatable")
    parser.add_argument("--min-svn", type=int, default=0, help="coco-*: minimum TCB SVN")
    parser.add_argument("--policy-digest", help="the policy digest, when --binary cannot read this configuration")
    parser.add_argument("--reference-values", help="dev: reference values made elsewhere (with --mock-key), instead of measuring --binary")
    parser.add_argument("--mock-key", help="dev: the mock TEE key (PEM) that --reference-values names")
    parser.add_argument("--root", default=HERE, help=argparse.SUPPRESS)
    args = parser.parse_args()

    tee = TEES[args.overlay]
    if not re.fullmatch(r"[a-z0-9][a-z0-9._/:-]*@sha256:[0-9a-f]{64}", args.image):
        fail(f"--image must name the image by digest (REPOSITORY@sha256:<64 hex>), not '{args.image}'")
    try:
        address = ipaddress.IPv4Address(args.postgres_address)
    except ValueError:
        fail(f"--postgres-address must be an IPv4 address, not '{args.postgres_address}'")
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        fail("--database-url must be a postgres:// URL")
    if bool(args.reference_values) != bool(args.mock_key) or (args.reference_values and tee != "mock"):
        fail("--reference-values and --mock-key go together, and only with dev")
    needs_binary = not args.policy_digest or (tee == "mock" and not args.reference_values)
    if needs_binary and (not args.binary or not os.access(args.binary, os.X_OK)):
        fail("give --binary: the sealgate executable that is in the image")
    if args.policy_digest and not re.fullmatch(r"[0-9a-f]{64}", args.policy_digest):
        fail("--policy-digest is 64 lowercase hex digits (sealgate config check prints it)")
    if tee == "mock" and args.measurement:
        fail("--measurement is for coco-snp and coco-tdx; dev measures the binary itself")
    if tee != "mock":
        if not args.measurement:
            fail(f"{args.overlay} needs --measurement: the guest's launch measurement (docs/deploy.md, 'Reference values')")
        for m in args.measurement:
            if not re.fullmatch(r"[0-9a-fA-F]{%d}" % MEASUREMENT_HEX[tee], m):
                fail(f"a {tee} measurement is {MEASUREMENT_HEX[tee]} hex digits (docs/reference-values.md), not '{m}'")

    overlay = os.path.join(args.root, "overlays", args.overlay)
    with open(os.path.join(overlay, "sealgate.yaml")) as f:
        template = f.read()
    if template.count("${DATABASE_URL}") != 1:
        fail(f"{overlay}/sealgate.yaml must contain ${{DATABASE_URL}} exactly once (storage.url)")
    out = os.path.join(overlay, "generated")
    os.makedirs(out, exist_ok=True)
    config_path = os.path.join(out, "sealgate.yaml")
    with open(config_path, "w") as f:
        f.write(template.replace("${DATABASE_URL}", args.database_url))
    os.chmod(config_path, 0o600)
    digest = args.policy_digest or policy_digest(args.binary, config_path)

    component = {
        "apiVersion": "kustomize.config.k8s.io/v1alpha1",
        "kind": "Component",
        # Fixed names, so the base's references hold; the Pods roll when the digests below change.
        "generatorOptions": {"disableNameSuffixHash": True},
        "images": [{"name": "sealgate", "newName": args.image.split("@")[0], "digest": args.image.split("@")[1]}],
        "secretGenerator": [{"name": "sealgate-gateway-config", "files": ["sealgate.yaml"]}],
        "configMapGenerator": [{"name": "sealgate-broker-reference-values", "files": ["reference-values.json", "policies.json"]},
                               {"name": "sealgate-broker-ca", "files": ["ca.crt=broker-tls/ca.crt"]}],
        "resources": ["postgres.yaml"],
        "patches": [],
    }
    shutil.copyfile(os.path.join(overlay, "policies.json"), os.path.join(out, "policies.json"))
    broker_ca = broker_tls(out)
    component["secretGenerator"].append({"name": "sealgate-broker-tls", "files": ["tls.crt=broker-tls/tls.crt", "tls.key=broker-tls/tls.key"]})
    # The policy digest covers the whole configuration but `server` (which the Pod's arguments set), so the Pods
    # roll whenever the configuration changes.
    gateway_annotations = {"sealgate.dev/policy-digest": digest}

    if tee == "mock":
        with tempfile.TemporaryDirectory() as state:
            key_dir = os.path.join(out, "mock-tee")
            os.makedirs(key_dir, exist_ok=True)
            key = os.path.join(key_dir, "signing-key.pem")
            if args.mock_key:
                shutil.copyfile(args.mock_key, key)
            if os.path.exists(key):   # keep the key across runs: the broker's mock_signers name it
                os.makedirs(os.path.join(state, "mock-tee"))
                shutil.copyfile(key, os.path.join(state, "mock-tee", "signing-key.pem"))
            if args.reference_values:
                with open(args.reference_values) as f:
                    values = json.load(f)
            else:
                values = json.loads(run(args.binary, "measure", "--reference-values", "--data-dir", state,
                                        "--config", config_path, "--set-id", "sealgate-gateway-dev"))
            shutil.copyfile(os.path.join(state, "mock-tee", "signing-key.pem"), key)
            os.chmod(key, 0o600)
        component["secretGenerator"].append({"name": "sealgate-mock-tee", "files": ["signing-key.pem=mock-tee/signing-key.pem"]})
        measurements = values["sets"][0]["measurements"]
    else:
        values = {"sets": [{"id": f"sealgate-gateway-{tee}", "tee": tee, "measurements": [m.lower() for m in args.measurement],
                            "min_svn": args.min_svn, "insecure_allow_debug": False}],
                  "accept_mock_evidence": False, "mock_signers": []}
        measurements = values["sets"][0]["measurements"]
        document = init_data(tee, digest, args.image, broker_ca)
        with open(os.path.join(out, "init-data.toml"), "w") as f:
            f.write(document)
        hash_name = "sha384" if tee == "tdx" else "sha256"
        init_digest = hashlib.new(hash_name, document.encode()).hexdigest()
        with open(os.path.join(out, "init-data.digest"), "w") as f:
            f.write(f"{hash_name}:{init_digest}\n")
        encoded = base64.b64encode(gzip.compress(document.encode(), mtime=0)).decode()
        gateway_annotations[INIT_DATA_ANNOTATION] = encoded
    rv_text = json.dumps(values, indent=2, sort_keys=True) + "\n"
    with open(os.path.join(out, "reference-values.json"), "w") as f:
        f.write(rv_text)
    with open(os.path.join(out, "policies.json"), "rb") as f:
        policies_digest = hashlib.sha256(f.read()).hexdigest()
    broker_annotations = {"sealgate.dev/reference-values-sha256": hashlib.sha256(rv_text.encode()).hexdigest(),
                          "sealgate.dev/policies-sha256": policies_digest}
    for name, annotations in (("sealgate-gateway", gateway_annotations), ("sealgate-broker", broker_annotations)):
        component["patches"].append({"target": {"kind": "Deployment", "name": name}, "patch": dump_yaml([
            {"op": "add", "path": "/spec/template/metadata/annotations", "value": annotations}])})

    with open(os.path.join(out, "postgres.yaml"), "w") as f:
        f.write(dump_yaml({
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": "sealgate-postgres-1", "labels": {
                "kubernetes.io/service-name": "sealgate-postgres", "app.kubernetes.io/name": "sealgate",
                "app.kubernetes.io/component": "postgres"}},
            "addressType": "IPv4",
            "ports": [{"name": "postgres", "port": 5432, "protocol": "TCP"}],
            "endpoints": [{"addresses": [str(address)]}]}))
        f.write("---\n")
        f.write(dump_yaml({
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "sealgate-postgres-egress"},
            "spec": {"podSelector": {"matchExpressions": [{"key": "app.kubernetes.io/component", "operator": "In", "values": ["gateway", "broker"]}],
                                     "matchLabels": {"app.kubernetes.io/name": "sealgate"}},
                     "policyTypes": ["Egress"],
                     "egress": [{"to": [{"ipBlock": {"cidr": f"{address}/32"}}], "ports": [{"port": 5432, "protocol": "TCP"}]}]}}))
    with open(os.path.join(out, "kustomization.yaml"), "w") as f:
        f.write("# Written by deploy/kubernetes/generate.py: do not edit, run it again.\n" + dump_yaml(component))

    print(f"{out}: image {args.image}")
    print(f"  policy digest {digest}")
    print(f"  reference values: tee {tee}, measurements {', '.join(m[:16] + '…' for m in measurements)}")
    if tee != "mock":
        print(f"  init-data {hash_name}:{init_digest} (the {'MRCONFIGID' if tee == 'tdx' else 'HOST_DATA'} the guest will report)")


if __name__ == "__main__":
    main()
