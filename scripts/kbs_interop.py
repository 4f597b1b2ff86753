#!/usr/bin/env python3
"""Independent Python client of the Sealgate key broker's KBS "RCAR" protocol: an interoperability check.

It speaks the protocol from its documentation only (stdlib urllib for HTTP, jwcrypto for JWK/JWE, cryptography
for a forged token) and shares no code with the Swift implementation. It starts nothing: point it at a running
`sealgate broker` whose reference values accept the gateway's mock evidence, with the tenant provisioned.
`scripts/kbs_interop.sh` does all of that on a free port and is what CI runs.

Usage:

    python3 scripts/kbs_interop.py --broker http://127.0.0.1:8081 --sealgate .build/debug/sealgate \\
        --gateway-data-dir GW --admin-token-file BROKER_DIR/admin-token \\
        --executable-digest HEX --policy-digest HEX [--tenant acme] [--data-class internal] \\
        [--secret gateway-salt] [--timeout 15]

    --broker              the broker's base URL
    --sealgate            the sealgate binary; only `attestation mock-evidence` is run, to play a mock TEE
    --gateway-data-dir    the data dir holding mock-tee/signing-key.pem (the key the reference values trust)
    --admin-token-file    a file with an admin bearer token (the broker's bootstrap <data-dir>/admin-token)
    --executable-digest   SHA-384 hex and --policy-digest SHA-256 hex of the measurement the reference values
    --policy-digest       accept (`sealgate measure --demo --data-dir GW` prints both)
    --tenant/--data-class the KEK resource <tenant>/kek/<data-class> (must exist); default acme/kek/internal
    --secret              the secret resource <tenant>/secret/<name>; checked when the broker has it, else skipped

What it checks, for an EC P-256 and an RSA-2048 TEE key generated with jwcrypto:
  POST /kbs/v0/auth {"version":"0.1.0","tee":"mock","extra-params":""} -> nonce + kbs-session-id cookie;
  REPORT_DATA = SHA-512 over the canonical JSON of {"nonce", "tee-pubkey"} (sorted keys, compact separators,
  slashes unescaped, only the RFC 7517/7518 JWK members the broker knows, absent members omitted);
  mock evidence over it; POST /kbs/v0/attest -> {"token"}; GET /kbs/v0/resource/<tenant>/kek/<class> with the
  cookie and with `Authorization: Bearer <token>`; the flattened JWE must decrypt with the TEE's private key
  under ECDH-ES+A256KW resp. RSA-OAEP-256 and A256GCM, to a KEKRelease JSON
  {resource, current, versions: [{version, key (32 bytes base64url), state}]} that agrees with the admin API's
  KEK listing and with every other release. An RSA key whose JWK names `alg: RSA-OAEP` must get an RSA-OAEP JWE;
  JWK members outside that set (`ext`, `key_ops`) must not enter REPORT_DATA.
Then refusals, each asserting the HTTP status, an application/problem+json body whose `type` starts with
https://github.com/confidential-containers/kbs/errors/, whose `status` matches, and the Sealgate `reason`:
nonce replay, evidence bound to another nonce, evidence bound to another key, runtime-data nonce mismatch,
malformed tee-pubkey (off-curve EC point, RSA-1024, private JWK, non-JWK), unsupported protocol version and TEE,
no credential, an unattested session, a token signed by another key, an unsigned token, unknown resources,
and the admin API with no token, an unknown token and a reader-only credential trying to rotate.

Output: one line per check, `ok   <name>`, `skip <name>: why` or `FAIL <name>: why`.
Exit status: 0 when every check passed (skips allowed), 1 when any failed, 2 for usage errors.
Requires `pip install jwcrypto cryptography`.
"""

import argparse
import base64
import hashlib
import json
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils
from jwcrypto import jwe, jwk

KBS_ERROR_PREFIX = "https://github.com/confidential-containers/kbs/errors/"
COOKIE = "kbs-session-id"
VERSION = "0.1.0"
# The JWK members the broker's JWK type carries (RFC 7518 §6 + alg/kid/use); others are dropped before REPORT_DATA.
JWK_MEMBERS = {"kty", "crv", "x", "y", "d", "n", "e", "p", "q", "dp", "dq", "qi", "k", "alg", "kid", "use"}


class CheckFailed(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text: str) -> bytes:
    if not isinstance(text, str) or any(c in text for c in "+/="):
        raise CheckFailed(f"not unpadded base64url: {text!r:.40}")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def canonical_json(value) -> bytes:
    """Sorted keys, no insignificant whitespace, slashes and non-ASCII unescaped (the broker's canonical form)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def report_data(nonce: str, tee_pubkey: dict) -> bytes:
    key = {k: v for k, v in tee_pubkey.items() if k in JWK_MEMBERS and v is not None}
    return hashlib.sha512(canonical_json({"nonce": nonce, "tee-pubkey": key})).digest()


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            raise CheckFailed(f"HTTP {self.status} body is not JSON: {self.body[:200]!r}")

    def cookie(self, name):
        for value in self.headers.get_all("Set-Cookie") or []:
            first = value.split(";", 1)[0].strip()
            if first.startswith(name + "="):
                return first[len(name) + 1:]
        return None

    def brief(self):
        return f"HTTP {self.status} {self.body[:300].decode('utf-8', 'replace')}"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Client:
    def __init__(self, base, timeout):
        self.base = base.rstrip("/")
        self.timeout = timeout
        self.opener = urllib.request.build_opener(NoRedirect)

    def request(self, method, path, body=None, cookie=None, bearer=None, raw=None):
        headers = {"Accept": "application/json"}
        data = None
        if raw is not None:
            data = raw
            headers["Content-Type"] = "application/json"
        elif body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if cookie is not None:
            headers["Cookie"] = f"{COOKIE}={cookie}"
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with self.opener.open(req, timeout=self.timeout) as resp:
                return Response(resp.status, resp.headers, resp.read())
        except urllib.error.HTTPError as err:
            return Response(err.code, err.headers, err.read())


class Broker:
    """The KBS protocol, plus the mock TEE (the sealgate binary signs mock evidence)."""

    def __init__(self, args):
        self.args = args
        self.http = Client(args.broker, args.timeout)

    def auth(self, version=VERSION, tee="mock"):
        return self.http.request("POST", "/kbs/v0/auth", {"version": version, "tee": tee, "extra-params": ""})

    def session(self):
        """A fresh session: (session id, nonce)."""
        resp = self.auth()
        expect(resp.status == 200, f"auth: {resp.brief()}")
        body = resp.json()
        nonce = body.get("nonce")
        expect(isinstance(nonce, str) and nonce, f"auth: no nonce in {body}")
        expect(body.get("extra-params", "") == "", f"auth: unexpected extra-params {body.get('extra-params')!r}")
        sid = resp.cookie(COOKIE)
        expect(sid, f"auth: no {COOKIE} cookie (Set-Cookie: {resp.headers.get_all('Set-Cookie')})")
        return sid, nonce

    def evidence(self, data: bytes) -> str:
        a = self.args
        cmd = [a.sealgate, "attestation", "mock-evidence", "--report-data", data.hex(), "--data-dir", a.gateway_data_dir,
               "--executable-digest", a.executable_digest, "--policy-digest", a.policy_digest]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            raise CheckFailed(f"mock-evidence exited {proc.returncode}: {proc.stderr.strip()[:300]}")
        text = proc.stdout.strip()
        expect(text.count(".") == 2, f"mock-evidence printed no compact JWS: {text[:100]!r}")
        return text

    def attest(self, sid, runtime, evidence):
        return self.http.request("POST", "/kbs/v0/attest", {"runtime-data": runtime, "tee-evidence": evidence}, cookie=sid)

    def resource(self, path, cookie=None, bearer=None):
        return self.http.request("GET", "/kbs/v0/resource/" + path, cookie=cookie, bearer=bearer)

    def admin(self, method, path, body=None, token=None):
        return self.http.request(method, "/admin/v0" + path, body, bearer=token)


def expect_problem(resp, status, reason, kbs_name=None):
    """Asserts a KBS problem response: HTTP status, problem+json, type prefix, status member, reason."""
    where = resp.brief()
    expect(resp.status == status, f"expected HTTP {status} {reason}, got {where}")
    ctype = resp.headers.get("Content-Type", "")
    expect(ctype.startswith("application/problem+json"), f"Content-Type {ctype!r}, expected application/problem+json")
    body = resp.json()
    kind = body.get("type", "")
    expect(isinstance(kind, str) and kind.startswith(KBS_ERROR_PREFIX), f"type {kind!r} lacks prefix {KBS_ERROR_PREFIX}")
    expect(len(kind) > len(KBS_ERROR_PREFIX), "type names no KBS error")
    if kbs_name is not None:
        expect(kind == KBS_ERROR_PREFIX + kbs_name, f"type {kind!r}, expected {KBS_ERROR_PREFIX + kbs_name}")
    expect(body.get("status") == status, f"status member {body.get('status')!r} != {status}")
    wanted = reason if isinstance(reason, (set, frozenset)) else {reason}
    expect(body.get("reason") in wanted, f"reason {body.get('reason')!r}, expected {' or '.join(sorted(wanted))} ({where})")
    if status == 401:
        expect("Bearer" in (resp.headers.get("WWW-Authenticate") or ""), "401 without a WWW-Authenticate: Bearer challenge")
    return body


class TEE:
    """A TEE key pair generated with jwcrypto, as the broker's RCAR client would hold it."""

    def __init__(self, label, key, alg):
        self.label = label
        self.key = key
        self.alg = alg
        self.public = json.loads(key.export_public())
        expect("d" not in self.public, "export_public leaked d")
        self.session = None
        self.nonce = None
        self.runtime = None
        self.evidence = None
        self.token = None

    def decrypt(self, body: dict) -> bytes:
        expect(isinstance(body, dict), f"resource body is not a JSON object: {body!r:.100}")
        expect("recipients" not in body, "general JWE serialization; expected flattened")
        for member in ("protected", "encrypted_key", "iv", "ciphertext", "tag"):
            expect(isinstance(body.get(member), str) and body.get(member), f"flattened JWE lacks {member}")
        protected = json.loads(b64u_decode(body["protected"]))
        expect(protected.get("alg") == self.alg, f"alg {protected.get('alg')!r}, expected {self.alg}")
        expect(protected.get("enc") == "A256GCM", f"enc {protected.get('enc')!r}, expected A256GCM")
        if self.alg.startswith("ECDH-ES"):
            epk = protected.get("epk") or {}
            expect(epk.get("kty") == "EC" and epk.get("crv") == "P-256" and "d" not in epk, f"bad epk {epk}")
        token = jwe.JWE()
        token.allowed_algs = [self.alg, "A256GCM"]
        try:
            token.deserialize(json.dumps(body), key=self.key)
        except Exception as err:  # jwcrypto raises several types
            raise CheckFailed(f"jwcrypto could not decrypt: {type(err).__name__}: {err}")
        return token.payload


def check_kek_release(plaintext: bytes, resource: str) -> dict:
    try:
        release = json.loads(plaintext)
    except ValueError:
        raise CheckFailed(f"KEK plaintext is not JSON: {plaintext[:80]!r}")
    expect(isinstance(release, dict), "KEK plaintext is not an object")
    expect(set(release) == {"resource", "current", "versions"}, f"KEKRelease members {sorted(release)}")
    expect(release["resource"] == resource, f"resource {release['resource']!r}, expected {resource!r}")
    current = release["current"]
    expect(isinstance(current, int) and not isinstance(current, bool) and current >= 1, f"current {current!r}")
    versions = release["versions"]
    expect(isinstance(versions, list) and versions, "versions is empty")
    numbers = []
    for item in versions:
        expect(isinstance(item, dict) and set(item) == {"version", "key", "state"}, f"version entry {item!r:.120}")
        expect(isinstance(item["version"], int) and item["version"] >= 1, f"version {item['version']!r}")
        expect(len(b64u_decode(item["key"])) == 32, f"version {item['version']}: key is not 32 bytes")
        want = "active" if item["version"] == current else "decrypt_only"
        expect(item["state"] == want, f"version {item['version']} state {item['state']!r}, expected {want}")
        numbers.append(item["version"])
    expect(numbers == sorted(set(numbers)), f"versions not ascending and unique: {numbers}")
    expect(numbers[-1] == current, f"current {current} is not the newest released version {numbers[-1]}")
    keys = [item["key"] for item in versions]
    expect(len(set(keys)) == len(keys), "two versions share key material")
    return release


class Run:
    def __init__(self, args):
        self.args = args
        self.broker = Broker(args)
        self.failures = 0
        self.admin_token = open(args.admin_token_file, encoding="utf-8").read().strip()
        self.kek_path = f"{args.tenant}/kek/{args.data_class}"
        self.secret_path = f"{args.tenant}/secret/{args.secret}"
        self.releases = {}  # label -> KEKRelease dict
        self.secrets = {}  # label -> bytes

    def check(self, name, fn, *fnargs):
        try:
            note = fn(*fnargs)
        except CheckFailed as err:
            self.failures += 1
            print(f"FAIL {name}: {err}", flush=True)
            return False
        except Exception as err:  # a crash is a failure of this check, not of the run
            self.failures += 1
            print(f"FAIL {name}: {type(err).__name__}: {err}", flush=True)
            return False
        if isinstance(note, str) and note.startswith("skip:"):
            print(f"skip {name}:{note[5:]}", flush=True)
        else:
            print(f"ok   {name}" + (f" ({note})" if note else ""), flush=True)
        return True

    # ---- positive path -------------------------------------------------------------------------------------

    def attest_ok(self, tee: TEE):
        tee.session, tee.nonce = self.broker.session()
        tee.runtime = {"nonce": tee.nonce, "tee-pubkey": tee.public}
        tee.evidence = self.broker.evidence(report_data(tee.nonce, tee.public))
        resp = self.broker.attest(tee.session, tee.runtime, tee.evidence)
        expect(resp.status == 200, f"attest: {resp.brief()}")
        token = resp.json().get("token")
        expect(isinstance(token, str) and token.count(".") == 2, f"no compact JWS token in {resp.body[:200]!r}")
        header_b64, payload_b64, _ = token.split(".")
        header = json.loads(b64u_decode(header_b64))
        claims = json.loads(b64u_decode(payload_b64))
        expect(header.get("alg") == "ES256", f"token alg {header.get('alg')!r}")
        expect(str(claims.get("iss", "")).startswith("sealgate-broker:"), f"token iss {claims.get('iss')!r}")
        expect(isinstance(claims.get("exp"), int) and claims["exp"] > time.time(), f"token exp {claims.get('exp')!r}")
        expect(claims.get("tee-pubkey") == tee.public, f"token tee-pubkey {claims.get('tee-pubkey')} != attested key")
        ear = claims.get("ear")
        expect(isinstance(ear, dict) and ear.get("status") in ("affirming", "warning"), f"token ear status {ear and ear.get('status')!r}")
        tee.token = token
        return f"ear status {ear.get('status')}"

    def kek(self, tee: TEE, via: str):
        expect(tee.token, "no token (attestation failed)")
        if via == "cookie":
            resp = self.broker.resource(self.kek_path, cookie=tee.session)
        else:
            resp = self.broker.resource(self.kek_path, bearer=tee.token)
        expect(resp.status == 200, f"GET {self.kek_path}: {resp.brief()}")
        expect(resp.headers.get("Cache-Control") == "no-store", "a released key must not be cacheable (Cache-Control: no-store)")
        expect(resp.headers.get("Sealgate-Release-Rule"), "no Sealgate-Release-Rule header naming the deciding policy")
        release = check_kek_release(tee.decrypt(resp.json()), self.kek_path)
        self.releases[f"{tee.label}/{via}"] = release
        return f"current v{release['current']}, versions {[v['version'] for v in release['versions']]}"

    def secret(self, tee: TEE):
        expect(tee.token, "no token (attestation failed)")
        resp = self.broker.resource(self.secret_path, bearer=tee.token)
        if resp.status == 404 and resp.json().get("reason") == "unknown_resource":
            return f"skip: {self.secret_path} is not provisioned"
        expect(resp.status == 200, f"GET {self.secret_path}: {resp.brief()}")
        value = tee.decrypt(resp.json())
        expect(len(value) > 0, "empty secret")
        self.secrets[tee.label] = value
        return f"{len(value)} bytes"

    def jwk_alg_honoured(self):
        """A tee-pubkey naming its key management alg (as Trustee's RCAR client does) gets a JWE under that alg."""
        tee = TEE("rsa-2048 alg=RSA-OAEP", jwk.JWK.generate(kty="RSA", size=2048), "RSA-OAEP")
        tee.public["alg"] = "RSA-OAEP"  # part of REPORT_DATA: alg is a JWK member the broker keeps
        self.attest_ok(tee)
        resp = self.broker.resource(self.kek_path, bearer=tee.token)
        expect(resp.status == 200, f"GET {self.kek_path}: {resp.brief()}")
        expect(resp.headers.get("Cache-Control") == "no-store", "a released key must not be cacheable (Cache-Control: no-store)")
        expect(resp.headers.get("Sealgate-Release-Rule"), "no Sealgate-Release-Rule header naming the deciding policy")
        release = check_kek_release(tee.decrypt(resp.json()), self.kek_path)
        self.releases[tee.label] = release

    def unknown_jwk_member(self):
        """Members outside RFC 7518 §6 (+ alg/kid/use) are dropped before REPORT_DATA is computed."""
        key = jwk.JWK.generate(kty="EC", crv="P-256")
        public = json.loads(key.export_public())
        sent = dict(public, ext=True, key_ops=["deriveKey"])
        sid, nonce = self.broker.session()
        resp = self.broker.attest(sid, {"nonce": nonce, "tee-pubkey": sent}, self.broker.evidence(report_data(nonce, public)))
        expect(resp.status == 200, f"evidence over the JOSE members only was refused: {resp.brief()}")
        sid, nonce = self.broker.session()
        over_all = hashlib.sha512(canonical_json({"nonce": nonce, "tee-pubkey": sent})).digest()
        expect_problem(self.broker.attest(sid, {"nonce": nonce, "tee-pubkey": sent}, self.broker.evidence(over_all)), 403,
                       "attestation_contraindicated")

    def releases_agree(self):
        expect(len(self.releases) == 5, f"only {len(self.releases)} of 5 KEK releases succeeded")
        distinct = {canonical_json(r) for r in self.releases.values()}
        expect(len(distinct) == 1, "KEK releases differ between recipients/credentials")
        release = next(iter(self.releases.values()))
        resp = self.broker.admin("GET", f"/tenants/{self.args.tenant}/keks", token=self.admin_token)
        expect(resp.status == 200, f"admin KEK list: {resp.brief()}")
        listed = sorted(i["version"] for i in resp.json() if i.get("resource") == self.kek_path and i.get("state") == "active")
        released = [v["version"] for v in release["versions"]]
        expect(listed == released, f"admin lists active versions {listed}, broker released {released}")
        if len(self.secrets) == 2:
            expect(len(set(self.secrets.values())) == 1, "secret differs between recipients")
        return f"versions {released}"

    # ---- attestation refusals ------------------------------------------------------------------------------

    def replay(self, tee: TEE):
        expect(tee.token, "no attested session to replay on")
        expect_problem(self.broker.attest(tee.session, tee.runtime, tee.evidence), 401, "nonce_replayed")

    def other_nonce(self, tee: TEE):
        sid, nonce = self.broker.session()
        _, other = self.broker.session()
        evidence = self.broker.evidence(report_data(other, tee.public))
        body = expect_problem(self.broker.attest(sid, {"nonce": nonce, "tee-pubkey": tee.public}, evidence), 403,
                              "attestation_contraindicated")
        # The nonce is single-use whatever the outcome: a failed attest ends the session, so a retry is refused
        # (the broker forgets the session, hence unknown_session rather than nonce_replayed).
        expect_problem(self.broker.attest(sid, {"nonce": nonce, "tee-pubkey": tee.public}, evidence), 401,
                       {"unknown_session", "nonce_replayed"})
        return body.get("detail", "")[:80]

    def runtime_nonce_mismatch(self, tee: TEE):
        sid, _ = self.broker.session()
        _, other = self.broker.session()
        runtime = {"nonce": other, "tee-pubkey": tee.public}
        evidence = self.broker.evidence(report_data(other, tee.public))
        expect_problem(self.broker.attest(sid, runtime, evidence), 403, "nonce_mismatch")

    def other_key(self, bound: TEE, sent: TEE):
        sid, nonce = self.broker.session()
        evidence = self.broker.evidence(report_data(nonce, bound.public))
        body = expect_problem(self.broker.attest(sid, {"nonce": nonce, "tee-pubkey": sent.public}, evidence), 403,
                              "attestation_contraindicated")
        return body.get("detail", "")[:80]

    def malformed_jwk(self, make_key):
        sid, nonce = self.broker.session()
        pubkey = make_key()
        try:
            evidence = self.broker.evidence(report_data(nonce, pubkey))  # correctly bound: only the key is wrong
        except Exception:
            evidence = "e30.e30.AAAA"
        expect_problem(self.broker.attest(sid, {"nonce": nonce, "tee-pubkey": pubkey}, evidence), 400, "malformed_jwk")

    @staticmethod
    def off_curve_key():
        key = json.loads(jwk.JWK.generate(kty="EC", crv="P-256").export_public())
        y = bytearray(b64u_decode(key["y"]))
        y[-1] ^= 1
        key["y"] = b64u(bytes(y))
        return key

    @staticmethod
    def rsa1024_key():
        return json.loads(jwk.JWK.generate(kty="RSA", size=1024).export_public())

    @staticmethod
    def private_key():
        return json.loads(jwk.JWK.generate(kty="EC", crv="P-256").export_private())

    @staticmethod
    def not_a_jwk():
        return {"kty": 7, "crv": ["P-256"]}

    def bad_version(self):
        expect_problem(self.broker.auth(version="9.9.9"), 400, "unsupported_protocol_version", "ProtocolVersion")

    def bad_tee(self):
        expect_problem(self.broker.auth(tee="no-such-tee"), 400, "unsupported_tee", "UnsupportedTee")

    # ---- resource refusals ---------------------------------------------------------------------------------

    def no_credential(self):
        expect_problem(self.broker.resource(self.kek_path), 401, "unauthenticated")

    def unattested_session(self):
        sid, _ = self.broker.session()
        expect_problem(self.broker.resource(self.kek_path, cookie=sid), 401, "unauthenticated")

    def forged_token(self, tee: TEE):
        expect(tee.token, "no genuine token to copy claims from")
        header_b64, payload_b64, _ = tee.token.split(".")
        other = ec.generate_private_key(ec.SECP256R1())
        der = other.sign(f"{header_b64}.{payload_b64}".encode("ascii"), ec.ECDSA(hashes.SHA256()))
        r, s = utils.decode_dss_signature(der)
        forged = f"{header_b64}.{payload_b64}.{b64u(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"
        expect_problem(self.broker.resource(self.kek_path, bearer=forged), 401, "token_invalid")

    def unsigned_token(self, tee: TEE):
        expect(tee.token, "no genuine token to copy claims from")
        _, payload_b64, _ = tee.token.split(".")
        header = b64u(canonical_json({"alg": "none", "typ": "JWT"}))
        expect_problem(self.broker.resource(self.kek_path, bearer=f"{header}.{payload_b64}."), 401, "token_invalid")

    def unknown_resource(self, tee: TEE):
        expect(tee.token, "no token (attestation failed)")
        t = self.args.tenant
        for path in (f"{t}/kek/no-such-class", f"no-such-tenant/kek/{self.args.data_class}", f"{t}/secret/no-such-secret",
                     f"{t}/no-such-type/x"):
            try:
                expect_problem(self.broker.resource(path, bearer=tee.token), 404, "unknown_resource", "ResourceNotFound")
            except CheckFailed as err:
                raise CheckFailed(f"{path}: {err}")

    # ---- admin API -----------------------------------------------------------------------------------------

    def admin_no_token(self):
        expect_problem(self.broker.admin("GET", "/tenants"), 401, "admin_unauthenticated")
        expect_problem(self.broker.admin("POST", f"/tenants/{self.args.tenant}/keks/{self.args.data_class}/rotate"), 401,
                       "admin_unauthenticated")

    def admin_unknown_token(self):
        expect_problem(self.broker.admin("GET", "/tenants", token="sgk_" + secrets.token_urlsafe(32)), 401,
                       "admin_unauthenticated")

    def reader_rotate(self):
        name = "kbs-interop-reader-" + secrets.token_hex(6)
        resp = self.broker.admin("POST", "/credentials", {"name": name, "roles": ["reader"]}, token=self.admin_token)
        expect(resp.status == 201, f"creating the reader credential: {resp.brief()}")
        reader = resp.json().get("token")
        expect(isinstance(reader, str) and reader, f"no token in {resp.body[:200]!r}")
        listing = self.broker.admin("GET", f"/tenants/{self.args.tenant}/keks", token=reader)
        expect(listing.status == 200, f"reader cannot list KEKs: {listing.brief()}")
        before = len(listing.json())
        rotate = self.broker.admin("POST", f"/tenants/{self.args.tenant}/keks/{self.args.data_class}/rotate", token=reader)
        expect_problem(rotate, 403, "role_missing", "AdminAuth")
        after = self.broker.admin("GET", f"/tenants/{self.args.tenant}/keks", token=reader)
        expect(after.status == 200 and len(after.json()) == before, "the refused rotation still added a KEK version")

    # ---- driver --------------------------------------------------------------------------------------------

    def run(self):
        resp = self.broker.http.request("GET", "/healthz")
        if resp.status != 200:
            print(f"FAIL broker reachable: {resp.brief()}")
            return 1
        tees = [
            TEE("ec-p256", jwk.JWK.generate(kty="EC", crv="P-256"), "ECDH-ES+A256KW"),
            TEE("rsa-2048", jwk.JWK.generate(kty="RSA", size=2048), "RSA-OAEP-256"),
        ]
        for tee in tees:
            self.check(f"{tee.label}: auth + attest -> token", self.attest_ok, tee)
            self.check(f"{tee.label}: {self.kek_path} via cookie, JWE {tee.alg}/A256GCM", self.kek, tee, "cookie")
            self.check(f"{tee.label}: {self.kek_path} via bearer token, JWE {tee.alg}/A256GCM", self.kek, tee, "bearer")
            self.check(f"{tee.label}: {self.secret_path}", self.secret, tee)
        self.check("rsa-2048 tee-pubkey with alg=RSA-OAEP: JWE RSA-OAEP/A256GCM", self.jwk_alg_honoured)
        self.check("non-JOSE tee-pubkey members are not part of REPORT_DATA", self.unknown_jwk_member)
        self.check("KEK releases agree (all keys, both credentials, admin listing)", self.releases_agree)
        ec_tee, rsa_tee = tees
        self.check("attest again on the same session -> 401 nonce_replayed", self.replay, ec_tee)
        self.check("evidence bound to another nonce -> 403 attestation_contraindicated", self.other_nonce, ec_tee)
        self.check("runtime-data carries another session's nonce -> 403 nonce_mismatch", self.runtime_nonce_mismatch, ec_tee)
        self.check("evidence bound to EC key, runtime-data RSA key -> 403 attestation_contraindicated", self.other_key,
                   ec_tee, rsa_tee)
        self.check("evidence bound to RSA key, runtime-data EC key -> 403 attestation_contraindicated", self.other_key,
                   rsa_tee, ec_tee)
        self.check("tee-pubkey EC point off the curve -> 400 malformed_jwk", self.malformed_jwk, self.off_curve_key)
        self.check("tee-pubkey RSA-1024 -> 400 malformed_jwk", self.malformed_jwk, self.rsa1024_key)
        self.check("tee-pubkey with private member d -> 400 malformed_jwk", self.malformed_jwk, self.private_key)
        self.check("tee-pubkey not a JWK -> 400 malformed_jwk", self.malformed_jwk, self.not_a_jwk)
        self.check("auth with protocol version 9.9.9 -> 400 unsupported_protocol_version", self.bad_version)
        self.check("auth with an unknown tee -> 400 unsupported_tee", self.bad_tee)
        self.check("resource with no credential -> 401 unauthenticated", self.no_credential)
        self.check("resource with an unattested session cookie -> 401 unauthenticated", self.unattested_session)
        self.check("resource with a token signed by another key -> 401 token_invalid", self.forged_token, ec_tee)
        self.check("resource with an alg=none token -> 401 token_invalid", self.unsigned_token, ec_tee)
        self.check("unknown resources -> 404 unknown_resource", self.unknown_resource, rsa_tee)
        self.check("admin call with no token -> 401 admin_unauthenticated", self.admin_no_token)
        self.check("admin call with an unknown token -> 401 admin_unauthenticated", self.admin_unknown_token)
        self.check("reader credential tries to rotate -> 403 role_missing", self.reader_rotate)
        return 1 if self.failures else 0


def main(argv=None):
    parser = argparse.ArgumentParser(description="KBS RCAR interop check against a running sealgate broker.")
    parser.add_argument("--broker", required=True, help="the broker's base URL")
    parser.add_argument("--sealgate", required=True, help="the sealgate binary (for attestation mock-evidence)")
    parser.add_argument("--gateway-data-dir", required=True, help="data dir with mock-tee/signing-key.pem")
    parser.add_argument("--admin-token-file", required=True, help="file holding an admin bearer token")
    parser.add_argument("--executable-digest", required=True, help="measurement: executable SHA-384, hex")
    parser.add_argument("--policy-digest", required=True, help="measurement: policy digest SHA-256, hex")
    parser.add_argument("--tenant", default="acme")
    parser.add_argument("--data-class", default="internal")
    parser.add_argument("--secret", default="gateway-salt")
    parser.add_argument("--timeout", type=float, default=15.0, help="per HTTP request, seconds")
    args = parser.parse_args(argv)
    try:
        run = Run(args)
    except OSError as err:
        print(f"kbs_interop: {err}", file=sys.stderr)
        return 2
    status = run.run()
    print(f"kbs_interop: {'all checks passed' if status == 0 else f'{run.failures} check(s) failed'}", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
