#!/usr/bin/env python3
"""Workload-certificate issuance latency at a live `sealgate broker` (issue #13's figure), from a client.

Usage: Benchmarks/cert-issuance.py PATH/TO/sealgate [--requests 2000]

Starts a broker on a scratch data directory with reference values for a demo gateway's mock evidence
(`sealgate measure --demo --reference-values`), enrols the `gateway` class, attests once binding a workload key
(runtime-data `workload-pubkey`; evidence from `sealgate attestation mock-evidence`), then POSTs
/kbs/v0/workload-certificate with that token over one keep-alive connection, one at a time, and prints the rate and
p50/p99 of the round trip (token check, key binding, enrolment, release policies, ECDSA P-384 signature, HTTP).
Needs the `cryptography` package. Not part of CI.
"""
import argparse
import base64
import hashlib
import http.client
import json
import os
import socket
import subprocess
import tempfile
import time

from cryptography.hazmat.primitives.asymmetric import ec


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwk(key) -> dict:
    numbers = key.public_key().public_numbers()
    return {"kty": "EC", "crv": "P-256", "x": b64u(numbers.x.to_bytes(32, "big")), "y": b64u(numbers.y.to_bytes(32, "big"))}


def canonical(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("sealgate")
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    binary = os.path.abspath(args.sealgate)
    work = tempfile.mkdtemp()
    gw, br = os.path.join(work, "gw"), os.path.join(work, "br")
    measured = json.loads(subprocess.check_output([binary, "measure", "--demo", "--data-dir", gw]))
    with open(os.path.join(work, "rv.json"), "w") as f:
        f.write(subprocess.check_output([binary, "measure", "--demo", "--data-dir", gw, "--reference-values"]).decode())
    port = free_port()
    broker = subprocess.Popen([binary, "broker", "--data-dir", br, "--port", str(port), "--reference-values", os.path.join(work, "rv.json")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            if os.path.exists(os.path.join(br, "admin-token")):
                break
            time.sleep(0.1)
        time.sleep(0.5)
        url = f"http://127.0.0.1:{port}"
        subprocess.check_call([binary, "keys", "enrol-workload", "gateway", "--name", "127.0.0.1", "--broker", url,
                               "--token-file", os.path.join(br, "admin-token")], stdout=subprocess.DEVNULL)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

        def call(method, path, body=None, headers=None):
            conn.request(method, path, body=json.dumps(body) if body is not None else None,
                         headers={"Content-Type": "application/json", **(headers or {})})
            response = conn.getresponse()
            return response, response.read()

        response, body = call("POST", "/kbs/v0/auth", {"version": "0.1.0", "tee": "mock", "extra-params": ""})
        nonce = json.loads(body)["nonce"]
        cookie = response.getheader("Set-Cookie").split(";")[0]
        workload = jwk(ec.generate_private_key(ec.SECP256R1()))
        runtime = {"nonce": nonce, "tee-pubkey": jwk(ec.generate_private_key(ec.SECP256R1())), "workload-pubkey": workload}
        report = hashlib.sha512(canonical(runtime)).hexdigest()
        evidence = subprocess.check_output([binary, "attestation", "mock-evidence", "--report-data", report, "--data-dir", gw,
                                            "--executable-digest", measured["executable_digest"],
                                            "--policy-digest", measured["policy_digest"]]).decode().strip()
        response, body = call("POST", "/kbs/v0/attest", {"runtime-data": runtime, "tee-evidence": evidence}, {"Cookie": cookie})
        assert response.status == 200, body
        token = json.loads(body)["token"]
        request = {"workload": "gateway", "public-key": workload}
        latencies = []
        started = time.perf_counter()
        for _ in range(args.requests):
            t0 = time.perf_counter()
            response, body = call("POST", "/kbs/v0/workload-certificate", request, {"Authorization": f"Bearer {token}"})
            latencies.append(time.perf_counter() - t0)
            assert response.status == 200, body
        elapsed = time.perf_counter() - started
        latencies.sort()
        p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000
        print(f"certificate issuance: {len(latencies)} in {elapsed:.2f} s = {len(latencies) / elapsed:.0f}/s, "
              f"p50 {p(0.50):.2f} ms, p99 {p(0.99):.2f} ms (one client, one keep-alive connection)")
    finally:
        broker.terminate()
        broker.wait()


if __name__ == "__main__":
    main()
