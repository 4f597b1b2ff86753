#!/usr/bin/env python3
"""End to end: the official openai client over sealgate_verify against a live `sealgate serve --demo --attested-tls`.

  python3 clients/python/tests/e2e.py PATH/TO/sealgate

Checks: a chat answer arrives through a verified, pinned connection; reference values for another measurement refuse
the connection before any request is sent (the gateway's audit log does not grow); after max_age the attestation is
fetched and verified again when a connection opens, and a re-verification that fails refuses (and keeps refusing)
before anything is sent; a gateway restarted with a new in-memory TLS key is refused mid-session (TLSKeyChanged)
while a fresh client verifies and accepts it.
"""
import json, os, shutil, socket, subprocess, sys, tempfile, time

import sealgate_verify
from openai import OpenAI

BIN = os.path.abspath(sys.argv[1])
work = tempfile.mkdtemp(prefix="sealgate-pyclient-")
data = os.path.join(work, "gw")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PORT = free_port()
URL = f"https://127.0.0.1:{PORT}"


def start():
    log = open(os.path.join(work, "serve.log"), "ab")
    proc = subprocess.Popen([BIN, "serve", "--demo", "--data-dir", data, "--port", str(PORT), "--attested-tls"], stdout=log, stderr=log)
    for _ in range(400):
        try:
            with socket.create_connection(("127.0.0.1", PORT), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.1)
    raise SystemExit("gateway did not start: " + open(os.path.join(work, "serve.log")).read()[-2000:])


def chat_records():
    """The audit records of chat requests (answered or refused), read from the log's entries file."""
    raw = open(os.path.join(data, "audit", "entries"), "rb").read()
    count, offset = 0, 0
    while offset + 4 <= len(raw):
        length = int.from_bytes(raw[offset:offset + 4], "big")
        entry = raw[offset + 4:offset + 4 + length]
        offset += 4 + length
        try:
            count += json.loads(entry)["record"]["kind"] in ("chat", "chat_completion")
        except ValueError:
            break
    return count


def chain(error):
    parts = []
    while error is not None:
        parts.append(f"{type(error).__name__}: {error}")
        error = error.__cause__ or error.__context__
    return " <- ".join(parts)


def main():
    gateway = start()
    try:
        creds = json.load(open(os.path.join(data, "demo-credentials.json")))
        key = creds["tenants"]["acme"]["api_key"]
        ca = os.path.join(data, "ca.pem")
        rv = os.path.join(work, "rv.json")
        with open(rv, "w") as f:
            f.write(subprocess.run([BIN, "measure", "--demo", "--data-dir", data, "--reference-values"], check=True, capture_output=True, text=True).stdout)
        headers = {"Sealgate-Data-Class": "internal", "Sealgate-Scope": "handbook"}
        question = [{"role": "user", "content": "How many remote days per week?"}]

        # 1. Verified and pinned: the answer arrives, with its receipt.
        http = sealgate_verify.client(URL, reference_values=rv, ca=ca, sealgate=BIN)
        ai = OpenAI(base_url=URL + "/v1", api_key=key, http_client=http, max_retries=0)
        raw = ai.chat.completions.with_raw_response.create(model="extractive", messages=question, extra_headers=headers)
        answer = raw.parse().choices[0].message.content
        assert "three days per week" in answer, answer
        assert raw.headers.get("sealgate-receipt", "").startswith("log="), "no Sealgate-Receipt on the answer"
        pinned = http._transport.verifier.pinned
        assert pinned and pinned.report["tee"] == "mock" and pinned.report["workload"] == "gateway", pinned
        print(f"verified and pinned {pinned.tls_pubkey_sha256[:16]}… ({pinned.report['tee']}, {pinned.report['measurement'][:16]}…)")
        # Without --ca the attestation binding alone vouches for the key.
        bare = OpenAI(base_url=URL + "/v1", api_key=key, http_client=sealgate_verify.client(URL, reference_values=rv, sealgate=BIN), max_retries=0)
        assert "three days" in bare.chat.completions.create(model="extractive", messages=question, extra_headers=headers).choices[0].message.content

        # 2. Reference values for another measurement: refused before any request byte is sent.
        other = os.path.join(work, "rv-other.json")
        values = json.load(open(rv))
        values["sets"][0]["measurements"] = ["ab" * 48]
        json.dump(values, open(other, "w"))
        before = chat_records()
        refused = OpenAI(base_url=URL + "/v1", api_key=key, http_client=sealgate_verify.client(URL, reference_values=other, ca=ca, sealgate=BIN), max_retries=0)
        try:
            refused.chat.completions.create(model="extractive", messages=question, extra_headers=headers)
            raise SystemExit("a gateway that does not appraise was used")
        except Exception as error:  # noqa: BLE001
            text = chain(error)
            assert "GatewayNotVerified" in text and "evidence_rejected" in text, text
            print("wrong reference values: refused before sending:", text.split(" <- ")[-1][:140])
        assert chat_records() == before, "the gateway recorded a request from a client that had refused it"

        # 3. max_age: an attestation older than max_age is fetched and verified again when the next connection opens;
        #    a re-verification that fails refuses that connection before anything is sent, and every one after it.
        runs = os.path.join(work, "verify-runs")
        counting = os.path.join(work, "sealgate-counting")
        with open(counting, "w") as f:
            f.write(f'#!/bin/sh\necho "$*" >> "{runs}"\nexec "{BIN}" "$@"\n')
        os.chmod(counting, 0o755)
        verifications = lambda: len(open(runs).read().splitlines()) if os.path.exists(runs) else 0  # noqa: E731
        rv_aging = os.path.join(work, "rv-aging.json")
        shutil.copy(rv, rv_aging)
        max_age = 6.0
        # No keep-alive: every request opens (and checks) a new connection, as a long-lived client eventually does.
        aging = sealgate_verify.transport(URL, reference_values=rv_aging, ca=ca, sealgate=counting, max_age=max_age,
                                          max_keepalive_connections=0)
        httpx_flavour = sys.modules[type(aging).__module__.split(".")[0]]
        ai_aging = OpenAI(base_url=URL + "/v1", api_key=key, http_client=httpx_flavour.Client(transport=aging), max_retries=0)

        def ask():
            return ai_aging.chat.completions.create(model="extractive", messages=question, extra_headers=headers).choices[0].message.content

        def wait_past_max_age():
            time.sleep(max(0.0, aging.verifier.pinned.verified_at + max_age + 0.3 - time.monotonic()))

        assert "three days" in ask() and verifications() == 1
        first = aging.verifier.pinned
        assert "three days" in ask()
        assert verifications() == 1, f"re-verified within max_age ({time.monotonic() - first.verified_at:.1f} s after the first)"
        wait_past_max_age()
        assert "three days" in ask(), "the gateway was not accepted after a successful re-verification"
        second = aging.verifier.pinned
        assert verifications() == 2, f"{verifications()} verify-gateway runs: the aged attestation was not fetched again"
        assert second.verified_at > first.verified_at and second.tls_pubkey_sha256 == first.tls_pubkey_sha256
        print(f"max_age: an attestation {max_age:.0f} s old was fetched and verified again on the next connection")
        shutil.copy(other, rv_aging)  # the next appraisal fails: the gateway no longer matches the reference values
        wait_past_max_age()
        before = chat_records()
        for attempt in range(2):
            try:
                ask()
                raise SystemExit("a gateway whose re-verification failed was used")
            except Exception as error:  # noqa: BLE001
                text = chain(error)
                assert "GatewayNotVerified" in text and "evidence_rejected" in text, text
        assert verifications() == 4, f"{verifications()} verify-gateway runs: a failed re-verification was not retried"
        assert aging.verifier.pinned is second, "a failed re-verification refreshed the pin"
        assert chat_records() == before, "the gateway recorded a request sent after a failed re-verification"
        print("max_age: a failed re-verification refuses before sending, and keeps refusing:", text.split(" <- ")[-1][:120])

        # 4. A restarted gateway has a new in-memory TLS key: the pinned client refuses it; a new client verifies it.
        gateway.terminate()
        gateway.wait(timeout=30)
        gateway = start()
        for _ in range(100):
            if os.path.exists(ca):
                break
            time.sleep(0.1)
        time.sleep(1.0)
        try:
            ai.chat.completions.create(model="extractive", messages=question, extra_headers=headers)
            raise SystemExit("a changed TLS key was accepted mid-session")
        except Exception as error:  # noqa: BLE001
            text = chain(error)
            assert "TLSKeyChanged" in text, text
            print("restarted gateway, new key: refused mid-session:", text.split(" <- ")[-1][:140])
        fresh = OpenAI(base_url=URL + "/v1", api_key=key, http_client=sealgate_verify.client(URL, reference_values=rv, ca=ca, sealgate=BIN), max_retries=0)
        for _ in range(50):
            try:
                reply = fresh.chat.completions.create(model="extractive", messages=question, extra_headers=headers)
                break
            except Exception as error:  # noqa: BLE001 - the lease may still be on its way after the restart
                last = chain(error)
                time.sleep(0.3)
        else:
            raise SystemExit("a fresh client could not use the restarted gateway: " + last)
        assert "three days" in reply.choices[0].message.content
        print("fresh client: verified the restarted gateway and got an answer")
        print("python client end to end: ok")
    finally:
        gateway.terminate()
        gateway.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
