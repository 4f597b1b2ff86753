#!/usr/bin/env python3
"""The outside test of issue #12, repeated against freshly started gateways (and a standalone broker).

Usage: Benchmarks/outside-test.py [--bin PATH] [--only a,b,c,d,e,f,g] [--kills N] [--refused N]

Parts (each on its own scratch data directory and port; standard library only):
  a  malformed requests (>= 313): 5xx, refusals that are not problem+json, connections left open
  b  120 cross-tenant attempts (acme <-> globex): any leak of the other tenant's ids, titles or text
  c  262 plaintext canaries ingested and sent as prompts, then the data dir, log, audit log and DB searched
  d  kill -9 under ingest + query load, restart, every acknowledged document listed and retrieved,
     `audit verify --data-dir` on the killed state; documents ingested during queries retrieved at once
  e  broker mode: the broker killed mid-service (fail-closed reasons, time to fail closed, recovery time)
  f  slow clients (slow headers, slow body, idle) and 300 idle connections under `ulimit -n 256`
  g  refused 3 MiB POSTs with `Connection: close` (defect 1), also under `ulimit -n 256`, and against the broker
It prints one table of before (the issue's figures) -> after (this run). Timings depend on the machine's load.
"""
import argparse
import base64
import concurrent.futures as cf
import json
import os
import random
import re
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = []  # (part, measurement, before, after)


def result(part, what, before, after):
    RESULTS.append((part, what, before, after))
    print(f"  [{part}] {what}: {after}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_stat(pid):
    """(open fds, sockets among them, VmRSS KiB) of a process."""
    fds = os.listdir(f"/proc/{pid}/fd")
    socks = 0
    for fd in fds:
        try:
            socks += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except OSError:
            pass
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                rss = int(line.split()[1])
    return len(fds), socks, rss


def fmt_stat(st):
    return f"{st[0]} fds ({st[1]} sockets), {st[2] / 1024:.0f} MiB RSS"


class Proc:
    """A sealgate process (serve or broker) with its log in the work directory."""

    def __init__(self, binary, args, log, nofile=None):
        self.args, self.log_path = args, log
        limit = (lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))) if nofile else None
        self.log = open(log, "ab")
        self.p = subprocess.Popen([binary] + args, stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=limit)
        self.pid = self.p.pid

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.p.poll() is None:
            self.p.send_signal(sig)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()
        return self.p.returncode

    def alive(self):
        return self.p.poll() is None


def http(port, method, path, body=None, headers=None, timeout=30):
    """One request on a fresh connection: (status, headers dict lower-case, body bytes); status 0 on no answer."""
    data = b""
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
    h = {"Host": "127.0.0.1", "Connection": "close", "Content-Length": str(len(data))}
    if body is not None:
        h["Content-Type"] = "application/json"
    h.update(headers or {})
    raw = f"{method} {path} HTTP/1.1\r\n".encode() + b"".join(f"{k}: {v}\r\n".encode() for k, v in h.items()) + b"\r\n" + data
    r = raw_exchange(port, raw, timeout=timeout)
    return r["status"], r["headers"], r["body"]


def raw_exchange(port, raw, timeout=15.0, shut_wr=False, close_after=False):
    """Sends raw bytes, reads one response. Returns status (0: none), headers, body, and whether the server closed."""
    out = {"status": 0, "headers": {}, "body": b"", "closed": False, "error": None}
    s = socket.socket()
    s.settimeout(timeout)
    try:
        s.connect(("127.0.0.1", port))
        if raw:
            try:
                s.sendall(raw)
            except OSError as e:
                out["error"] = f"send: {e.__class__.__name__}"
        if shut_wr:
            try:
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        if close_after:
            return out
        buf = b""
        deadline = time.time() + timeout
        while b"\r\n\r\n" not in buf and time.time() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                out["closed"] = True
                break
            buf += chunk
        if b"\r\n\r\n" in buf or (buf and out["closed"]):
            head, _, rest = buf.partition(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            m = re.match(rb"HTTP/1\.[01] (\d{3})", lines[0])
            out["status"] = int(m.group(1)) if m else -1
            for line in lines[1:]:
                k, _, v = line.partition(b":")
                out["headers"][k.strip().lower().decode("latin-1")] = v.strip().decode("latin-1")
            cl = out["headers"].get("content-length")
            chunked = "chunked" in out["headers"].get("transfer-encoding", "")
            while not out["closed"] and time.time() < deadline:
                if cl is not None and len(rest) >= int(cl):
                    break
                if chunked and rest.endswith(b"0\r\n\r\n"):
                    break
                chunk = s.recv(65536)
                if not chunk:
                    out["closed"] = True
                    break
                rest += chunk
            out["body"] = rest[: int(cl)] if cl is not None else rest
        elif not buf and out["closed"]:
            out["status"] = 0
    except (socket.timeout, TimeoutError):
        out["error"] = out["error"] or "timeout"
    except OSError as e:
        out["error"] = out["error"] or e.__class__.__name__
    finally:
        s.close()
    return out


def problem_type(body):
    try:
        return json.loads(body).get("type", "")
    except (ValueError, AttributeError):
        return ""


class Gateway:
    """`sealgate serve --demo` on a scratch data directory."""

    def __init__(self, binary, work, name, extra=(), nofile=None, data=None):
        self.binary, self.work, self.name = binary, work, name
        self.data = data or os.path.join(work, name)
        self.port = free_port()
        self.extra, self.nofile = list(extra), nofile
        self.log = os.path.join(work, f"{name}.log")
        self.start()
        creds = json.load(open(os.path.join(self.data, "demo-credentials.json")))
        self.keys = {t: v["api_key"] for t, v in creds["tenants"].items()}
        self.auditor = creds.get("auditor", {}).get("api_key", "")

    def start(self, ready_timeout=120):
        self.proc = Proc(self.binary, ["serve", "--demo", "--data-dir", self.data, "--port", str(self.port)] + self.extra,
                         self.log, self.nofile)
        t0 = time.time()
        while time.time() - t0 < ready_timeout:
            if not self.proc.alive():
                sys.exit(f"{self.name}: gateway exited; see {self.log}")
            if http(self.port, "GET", "/readyz", timeout=2)[0] == 200:
                return time.time() - t0
            time.sleep(0.2)
        sys.exit(f"{self.name}: gateway not ready in {ready_timeout} s; see {self.log}")

    def auth(self, tenant):
        return {"Authorization": f"Bearer {self.keys[tenant]}"}

    def ingest(self, tenant, collection, doc, timeout=30):
        return http(self.port, "POST", f"/v1/collections/{collection}/documents", doc, self.auth(tenant), timeout)

    def query(self, tenant, question, collections, data_class="internal", top_k=5, timeout=30):
        return http(self.port, "POST", "/v1/query",
                    {"question": question, "data_class": data_class, "scope": {"collections": collections}, "top_k": top_k},
                    self.auth(tenant), timeout)

    def stat(self):
        return proc_stat(self.proc.pid)


# ---------------------------------------------------------------------------------------------------- (a)

def malformed_cases(key, auditor):
    """(name, raw request bytes, options) — every kind of malformed request the issue lists."""
    cases = []

    def req(method, path, body=b"", headers=None, cl=True, version="HTTP/1.1"):
        h = [("Host", "127.0.0.1")] + (headers if headers is not None else [("Authorization", f"Bearer {key}")])
        if body and cl:
            h.append(("Content-Length", str(len(body))))
        elif cl and method in ("POST", "PUT", "PATCH"):
            h.append(("Content-Length", "0"))
        return f"{method} {path} {version}\r\n".encode() + b"".join(
            (k.encode() if isinstance(k, str) else k) + b": " + (v.encode("utf-8", "surrogatepass") if isinstance(v, str) else v) + b"\r\n"
            for k, v in h) + b"\r\n" + body

    def add(name, raw, **opt):
        cases.append((name, raw, opt))

    json_h = lambda extra=(): [("Authorization", f"Bearer {key}"), ("Content-Type", "application/json")] + list(extra)
    chat_h = json_h([("Sealgate-Data-Class", "internal"), ("Sealgate-Scope", "handbook")])
    endpoints = [("query", "/v1/query", json_h()), ("chat", "/v1/chat/completions", chat_h),
                 ("ingest", "/v1/collections/notes/documents", json_h())]
    bad_json = [b"", b"{", b"}", b"[", b"null", b"true", b"1", b'"s"', b"[]", b"{'a':1}", b'{"question":}',
                b'{"question":"x",}', b'{"question":"x"', b"\x00", b'{"a":1}{"b":2}', b"[" * 5000 + b"]" * 5000,
                b'{"question":"\\ud800","data_class":"internal","scope":{"collections":["handbook"]}}',
                b'{"question":NaN}', b'{"top_k":1e999}', b"\xef\xbb\xbf{}", b"{" * 3000, b'{"a":' * 2000]
    for ep, path, h in endpoints:
        for i, body in enumerate(bad_json):
            add(f"bad-json/{ep}/{i}", req("POST", path, body, h))
    q = lambda **kw: json.dumps({**{"question": "remote work?", "data_class": "internal",
                                   "scope": {"collections": ["handbook"]}}, **kw}).encode()
    for field, values in {
        "question": [1, [], {}, None, True, "", "   ", "\t\n", 1.5],
        "data_class": [1, "", "UNKNOWN", "../x", "a" * 100, None, [], "internal ", "Internal"],
        "scope": ["handbook", [], {"collections": "handbook"}, {"collections": [1]}, {"collections": []},
                  {"collections": ["../acme"]}, {"collections": [None]}, None, {"collections": ["a" * 300]}],
        "top_k": ["5", -1, 10 ** 9, 1.5, 2 ** 70, [], {}],
        "model_policy": [1, "x y", "nope", [], "a" * 100],
    }.items():
        for i, v in enumerate(values):
            add(f"query-type/{field}/{i}", req("POST", "/v1/query", q(**{field: v}), json_h()))
    c = lambda **kw: json.dumps({**{"model": "extractive", "messages": [{"role": "user", "content": "hi"}]}, **kw}).encode()
    for i, v in enumerate(["hi", [], [{}], [{"role": "bogus", "content": "x"}], [{"role": "user", "content": 1}],
                           [{"role": "user", "content": [{"type": "text", "text": 1}]}], [{"role": "user"}],
                           [{"role": "system", "content": "only system"}], None, [None], [{"role": 1, "content": "x"}]]):
        add(f"chat-type/messages/{i}", req("POST", "/v1/chat/completions", c(messages=v), chat_h))
    for i, v in enumerate([1, "gpt-4o", [], "a" * 200]):
        add(f"chat-type/model/{i}", req("POST", "/v1/chat/completions", c(model=v), chat_h))
    for i, v in enumerate(["yes", 1, [], {}]):
        add(f"chat-type/stream/{i}", req("POST", "/v1/chat/completions", c(stream=v), chat_h))
    for i, h in enumerate([json_h(), json_h([("Sealgate-Data-Class", "bogus"), ("Sealgate-Scope", "handbook")]),
                           json_h([("Sealgate-Data-Class", "internal"), ("Sealgate-Scope", ",,,")]),
                           json_h([("Sealgate-Data-Class", "internal"), ("Sealgate-Scope", "handbook"), ("Sealgate-Model-Policy", "nope")]),
                           json_h([("Sealgate-Data-Class", ""), ("Sealgate-Scope", "handbook")]),
                           json_h([("Sealgate-Data-Class", "internal"), ("Sealgate-Scope", "../../etc")])]):
        add(f"chat-headers/{i}", req("POST", "/v1/chat/completions", c(), h))
    d = lambda **kw: json.dumps({**{"id": "x1", "title": "t", "text": "some text", "data_class": "internal"}, **kw}).encode()
    for field, values in {
        "id": [1, "", "../x", "a" * 300, "a/b", "\u0000", "a b", [], "%2e%2e"],
        "text": [1, None, "", [], {}],
        "title": [1, [], {}],
        "data_class": ["bogus", 1, None, ""],
        "metadata": ["str", [1], 5, {"a": {"b": {"c": [1, 2, {"d": None}]}}}],
    }.items():
        for i, v in enumerate(values):
            add(f"ingest-type/{field}/{i}", req("POST", "/v1/collections/notes/documents", d(**{field: v}), json_h()))
    add("ingest-type/text-oversized", req("POST", "/v1/collections/notes/documents", d(text="a" * 1_100_000), json_h()))
    for i, coll in enumerate(["..", "%2e%2e", "a" * 300, "a%20b", "%00", "%ff", "a/b", "UPPER", "-x", "%2Fetc"]):
        add(f"ingest-collection/{i}", req("POST", f"/v1/collections/{coll}/documents", d(), json_h()))
    # headers
    add("hdr/one-40KB", req("GET", "/v1/collections", headers=[("X-Big", "a" * 40000), ("Authorization", f"Bearer {key}")]))
    add("hdr/one-64KB", req("GET", "/v1/collections", headers=[("X-Big", "a" * 65536)]))
    add("hdr/1000-headers", req("GET", "/v1/collections", headers=[(f"X-H{i}", "v" * 30) for i in range(1000)]))
    add("hdr/200-headers-ok-size", req("GET", "/v1/collections", headers=[(f"X-H{i}", "v") for i in range(200)]))
    add("hdr/space-in-name", req("GET", "/healthz", headers=[("X Bad", "v")]))
    add("hdr/nul-in-value", req("GET", "/healthz", headers=[("X-A", b"a\x00b")]))
    add("hdr/bare-cr", req("GET", "/healthz", headers=[("X-A", b"a\rb")]))
    add("hdr/bare-lf-line-ends", b"GET /healthz HTTP/1.1\nHost: x\n\n")
    add("hdr/obs-fold", req("GET", "/healthz", headers=[("X-A", b"a\r\n b")]))
    add("hdr/no-colon", b"GET /healthz HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n")
    add("hdr/empty-name", b"GET /healthz HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n")
    add("hdr/non-ascii-value", req("GET", "/healthz", headers=[("X-A", b"\xff\xfe")]))
    add("hdr/non-ascii-name", req("GET", "/healthz", headers=[(b"X-\xff", "v")]))
    add("hdr/no-host", b"GET /healthz HTTP/1.1\r\n\r\n")
    add("hdr/two-hosts", b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
    add("hdr/long-url-40KB", req("GET", "/v1/collections?" + "a" * 40000))
    add("hdr/url-space", b"GET /v1/ query HTTP/1.1\r\nHost: x\r\n\r\n")
    add("hdr/url-nul", b"GET /v1/\x00query HTTP/1.1\r\nHost: x\r\n\r\n")
    add("hdr/url-bad-percent", req("GET", "/v1/collections/%zz/documents"))
    add("hdr/absolute-uri", req("GET", "http://evil.example/v1/collections"))
    add("hdr/asterisk", req("OPTIONS", "*"))
    add("hdr/connect", req("CONNECT", "evil.example:443"))
    add("hdr/header-line-only-spaces", b"GET /healthz HTTP/1.1\r\nHost: x\r\n   \r\n\r\n")
    add("hdr/tab-in-name", req("GET", "/healthz", headers=[("X\tA", "v")]))
    add("hdr/content-type-garbage", req("POST", "/v1/query", q(), [("Authorization", f"Bearer {key}"), ("Content-Type", "\x01\x02")]))
    # Content-Length and Transfer-Encoding
    body = q()
    for i, v in enumerate(["abc", "-1", "1.5", "+5", " 5 x", "99999999999999999999", "0x10", "", f"{len(body)}, {len(body)}"]):
        add(f"cl/bad-{i}", req("POST", "/v1/query", body, json_h([("Content-Length", v)]), cl=False))
    add("cl/two-differing", req("POST", "/v1/query", body, json_h([("Content-Length", str(len(body))), ("Content-Length", "3")]), cl=False))
    add("cl/two-same", req("POST", "/v1/query", body, json_h([("Content-Length", str(len(body))), ("Content-Length", str(len(body)))]), cl=False))
    add("cl/too-small-then-garbage", req("POST", "/v1/query", body, json_h([("Content-Length", "5")]), cl=False))
    chunked = lambda b: f"{len(b):x}\r\n".encode() + b + b"\r\n0\r\n\r\n"
    add("te/cl-and-te", req("POST", "/v1/query", chunked(body), json_h([("Content-Length", "4"), ("Transfer-Encoding", "chunked")]), cl=False))
    add("te/te-and-cl", req("POST", "/v1/query", chunked(body), json_h([("Transfer-Encoding", "chunked"), ("Content-Length", str(len(body)))]), cl=False))
    add("te/cl-and-te-same", req("POST", "/v1/query", chunked(body), json_h([("Content-Length", str(len(chunked(body)))), ("Transfer-Encoding", "chunked")]), cl=False))
    add("te/gzip", req("POST", "/v1/query", body, json_h([("Transfer-Encoding", "gzip")]), cl=False))
    add("te/chunked-chunked", req("POST", "/v1/query", chunked(body), json_h([("Transfer-Encoding", "chunked, chunked")]), cl=False))
    add("te/bad-size", req("POST", "/v1/query", b"zz\r\nabc\r\n0\r\n\r\n", json_h([("Transfer-Encoding", "chunked")]), cl=False))
    add("te/size-overflow", req("POST", "/v1/query", b"ffffffffffffffffff\r\nabc\r\n0\r\n\r\n", json_h([("Transfer-Encoding", "chunked")]), cl=False))
    add("te/valid-chunked", req("POST", "/v1/query", chunked(body), json_h([("Transfer-Encoding", "chunked")]), cl=False))
    add("te/http10-chunked", req("POST", "/v1/query", chunked(body), json_h([("Transfer-Encoding", "chunked")]), cl=False, version="HTTP/1.0"))
    add("te/chunk-ext-garbage", req("POST", "/v1/query", b"5;\x00\r\nabcde\r\n0\r\n\r\n", json_h([("Transfer-Encoding", "chunked")]), cl=False))
    # unknown routes and methods
    for m in ["PUT", "PATCH", "TRACE", "OPTIONS", "FOO", "get", "HEAD"]:
        for p in ["/v1/query", "/v1/chat/completions", "/v1/collections", "/healthz", "/metrics", "/audit/checkpoint"]:
            add(f"method/{m}{p}", req(m, p))
    for i, p in enumerate(["/v2/query", "/v1/../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/v1/query/", "//v1/query",
                           "/v1/query?x=%ff", "/v1/collections/handbook/documents/../../query", "/admin/v0/tenants",
                           "/kbs/v0/auth", "/v1", "/", "/v1/collections/handbook", "/v1/collections/handbook/documents/x/y"]):
        add(f"route/{i}", req("GET", p))
    aud = [("Authorization", f"Bearer {auditor}")]
    for i, p in enumerate(["/audit/tile/0/x999/999", "/audit/entries/-1", "/audit/entries/99999999999999999999",
                           "/audit/proof/inclusion?index=a&size=1", "/audit/tile/99/0", "/audit/proof/consistency?from=5&to=1",
                           "/audit/proof/inclusion?index=0&size=999999999", "/audit/tile/entries/x", "/audit/tile/0/0.p/0",
                           "/audit/tile/0/0.p/257", "/audit/entries/0x1"]):
        add(f"audit-route/{i}", req("GET", p, headers=aud))
    # bad auth forms
    for i, auth in enumerate([None, "Basic dXNlcjpwYXNz", "Bearer", "Bearer ", f"Bearer  {key} extra", f"Bearer {key},{key}",
                              f"Bearer {key}\x00", key, f"Token {key}", "Bearer " + "a" * 10000, f"Bearer {key[:-1]}",
                              "Bearer ü", f"Bearer {key}=x", f"Bearer\t{key}", f"Bearer {auditor}", "Bearer ../../etc"]):
        for ep, path, body in [("list", "/v1/collections", b""), ("query", "/v1/query", q())]:
            h = [("Content-Type", "application/json")] + ([("Authorization", auth)] if auth is not None else [])
            add(f"auth/{i}/{ep}", req("POST" if body else "GET", path, body, h))
    for ep, path, body in [("list", "/v1/collections", b""), ("query", "/v1/query", q())]:
        add(f"auth/two-fields/{ep}", req("POST" if body else "GET", path, body,
                                         [("Authorization", f"Bearer {key}"), ("Authorization", f"Bearer {key}")]))
    add("auth/tenant-key-on-audit", req("GET", "/audit/entries/0"))
    # truncated bodies (the client half-closes, or just goes away)
    for ep, path, h in endpoints:
        b = q() if ep == "query" else c() if ep == "chat" else d()
        add(f"truncated/{ep}/half-close", req("POST", path, b[:10], h + [("Content-Length", str(len(b)))], cl=False), shut_wr=True)
        add(f"truncated/{ep}/gone", req("POST", path, b[:10], h + [("Content-Length", str(len(b)))], cl=False), close_after=True)
        add(f"truncated/{ep}/chunked", req("POST", path, b"ff\r\nabc", h + [("Transfer-Encoding", "chunked")], cl=False), shut_wr=True)
    # non-UTF-8
    for ep, path, h in endpoints:
        add(f"non-utf8/{ep}/json-string", req("POST", path, b'{"question":"\xff\xfe","text":"\xc0\xaf","messages":[{"role":"user","content":"\xff"}],'
                                                           b'"data_class":"internal","scope":{"collections":["handbook"]}}', h))
        add(f"non-utf8/{ep}/utf16-bom", req("POST", path, "\ufeff" .encode("utf-16-le") + q().decode().encode("utf-16-le"), h))
        add(f"non-utf8/{ep}/latin1", req("POST", path, q(question="caf\u00e9").decode().replace("\\u00e9", "\u00e9").encode("latin-1"), h))
    add("non-utf8/path", req("GET", "/v1/collections/\xff/documents".encode("latin-1").decode("latin-1")))
    add("non-utf8/path-raw", b"GET /v1/collections/\xff\xfe/documents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + key.encode() + b"\r\n\r\n")
    add("non-utf8/scope-header", req("POST", "/v1/chat/completions", c(), json_h([("Sealgate-Data-Class", "internal"), ("Sealgate-Scope", b"\xff\xfe")])))
    add("non-utf8/class-header", req("POST", "/v1/chat/completions", c(), json_h([("Sealgate-Data-Class", b"\xc3\x28"), ("Sealgate-Scope", "handbook")])))
    # protocol
    add("proto/http09", b"GET /healthz\r\n\r\n")
    add("proto/http20-line", b"GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n")
    add("proto/http3-line", b"GET /healthz HTTP/3\r\nHost: x\r\n\r\n")
    add("proto/h2-preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
    add("proto/tls-hello", bytes.fromhex("160301002a0100002603035f") + os.urandom(40))
    add("proto/random-1KB", bytes(random.Random(7).getrandbits(8) for _ in range(1024)))
    add("proto/empty-connection", b"", close_after=True)
    add("proto/only-crlf", b"\r\n\r\n", shut_wr=True)
    add("proto/incomplete-headers", b"GET /healthz HTTP/1.1\r\nHost: x\r\n", shut_wr=True)
    add("proto/http10-keepalive", b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    add("proto/lowercase-version", b"GET /healthz http/1.1\r\nHost: x\r\n\r\n")
    add("proto/extra-spaces", b"GET  /healthz  HTTP/1.1\r\nHost: x\r\n\r\n")
    add("proto/pipelined-bad-second", b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE\r\n\r\n")
    return cases


def part_a(binary, work):
    print("(a) malformed requests", flush=True)
    gw = Gateway(binary, work, "a")
    cases = malformed_cases(gw.keys["acme"], gw.auditor)
    time.sleep(1)
    before = gw.stat()

    def run(case):
        name, raw, opt = case
        return name, raw_exchange(gw.port, raw, timeout=15, **opt)

    with cf.ThreadPoolExecutor(16) as pool:
        outs = list(pool.map(run, cases))
    fivexx = [(n, o["status"]) for n, o in outs if o["status"] >= 500]
    # HEAD answers carry no body, and NIO sends none after CONNECT (a tunnel request): their Content-Type must say problem
    bodiless = lambda n: n.startswith("method/HEAD") or n == "hdr/connect"
    nonproblem = [(n, o["status"], o["headers"].get("content-type")) for n, o in outs
                  if o["status"] >= 400 and not (o["headers"].get("content-type", "").startswith("application/problem+json")
                                                 and (bodiless(n) or problem_type(o["body"]).startswith("urn:sealgate:problem:")))]
    unparsable = [n for n, o in outs if o["status"] == -1]
    silent = [n for n, o in outs if o["status"] == 0]
    statuses = {}
    for _, o in outs:
        statuses[o["status"]] = statuses.get(o["status"], 0) + 1
    reasons = {}
    for _, o in outs:
        t = problem_type(o["body"]).rsplit(":", 1)[-1]
        if t:
            reasons[t] = reasons.get(t, 0) + 1
    time.sleep(3)
    after = gw.stat()
    healthy = http(gw.port, "GET", "/healthz")[0] == 200 and gw.query("acme", "remote work", ["handbook"])[0] == 200
    print(f"    statuses: {dict(sorted(statuses.items()))}")
    print(f"    reasons: {dict(sorted(reasons.items(), key=lambda kv: -kv[1]))}")
    if silent:
        print(f"    closed without an answer ({len(silent)}): {', '.join(silent)}")
    for n in nonproblem[:20]:
        print(f"    non-problem refusal: {n}")
    for n in fivexx[:20]:
        print(f"    5xx: {n}")
    result("a", f"malformed requests sent", "313", f"{len(cases)}")
    result("a", "5xx answers", "0", f"{len(fivexx)}")
    result("a", "refusals not problem+json", "framing errors: bare 400, empty body", f"{len(nonproblem)} (+{len(unparsable)} unparsable answers)")
    result("a", "closed without an answer", "n/a", f"{len(silent)} (truncated/garbage input the client abandoned or half-closed)")
    result("a", "gateway sockets open 3 s after clients closed (vs before)", "n/a", f"{before[1]} -> {after[1]}")
    result("a", "gateway answers after the run", "yes", "yes" if healthy else "NO")
    return gw


# ---------------------------------------------------------------------------------------------------- (b)

def part_b(gw):
    print("(b) cross-tenant attempts", flush=True)
    rnd = secrets.token_hex
    secret = {}
    for tenant in ("acme", "globex"):
        coll = f"vault-{tenant[0]}{rnd(3)}"
        docs = []
        for i, cls in enumerate(["public", "internal", "confidential", "restricted"]):
            did, tok = f"d{rnd(6)}", f"xt{rnd(10)}"
            st = gw.ingest(tenant, coll, {"id": did, "title": f"title {tok}", "text": f"The vault code is {tok}. {tok} is secret.",
                                          "data_class": cls, "metadata": {"m": tok}})[0]
            assert st == 201, (tenant, st)
            docs.append((did, tok, cls))
        secret[tenant] = (coll, docs)
    attempts = []
    for attacker, victim in (("acme", "globex"), ("globex", "acme")):
        vcoll, vdocs = secret[victim]
        A = gw.auth(attacker)
        mine = []
        for cls in ["public", "internal", "confidential", "restricted"]:
            for did, tok, _ in vdocs:
                mine.append(("POST", "/v1/query", {"question": f"What is the vault code {tok}?", "data_class": cls,
                                                   "scope": {"collections": [vcoll]}, "top_k": 50}, A))
        for did, tok, cls in vdocs:
            mine.append(("POST", "/v1/chat/completions", {"model": "extractive", "messages": [{"role": "user", "content": f"vault {tok}"}]},
                         {**A, "Sealgate-Data-Class": cls, "Sealgate-Scope": vcoll}))
            mine.append(("POST", "/v1/chat/completions", {"model": "extractive", "stream": True,
                                                          "messages": [{"role": "user", "content": f"vault {tok}"}]},
                         {**A, "Sealgate-Data-Class": cls, "Sealgate-Scope": f"{vcoll},handbook"}))
            mine.append(("DELETE", f"/v1/collections/{vcoll}/documents/{did}", None, A))
            mine.append(("GET", f"/v1/collections/{vcoll}/documents/{did}", None, A))
        for path in [f"/v1/collections/{vcoll}/documents", f"/v1/collections/{victim}%2F{vcoll}/documents",
                     f"/v1/collections/{victim}:{vcoll}/documents", f"/v1/collections/..%2F{victim}%2F{vcoll}/documents",
                     "/v1/collections/*/documents", "/v1/collections/%2A/documents", "/v1/collections",
                     "/v1/collections/clinical/documents" if victim == "acme" else "/v1/collections/finance/documents",
                     "/v1/models", "/audit/entries/1", "/audit/tile/entries/000", "/audit/proof/inclusion?index=0&size=2"]:
            mine.append(("GET", path, None, A))
        for scope in [["*"], [f"{victim}/{vcoll}"], [f"{victim}:{vcoll}"], [vcoll.upper()], [vcoll, "handbook", "clinical", "finance"],
                      [f"../{victim}/{vcoll}"], [f" {vcoll}"]]:
            mine.append(("POST", "/v1/query", {"question": f"vault code {vdocs[0][1]}", "data_class": "restricted",
                                               "scope": {"collections": scope}, "top_k": 50}, A))
        for hdr in ["X-Sealgate-Tenant", "Sealgate-Tenant", "X-Tenant"]:
            mine.append(("POST", "/v1/query", {"question": f"vault {vdocs[1][1]}", "data_class": "internal",
                                               "scope": {"collections": [vcoll]}, "tenant": victim}, {**A, hdr: victim}))
        mine.append(("GET", f"/v1/collections/{vcoll}/documents?tenant={victim}", None, {**A, "Sealgate-Tenant": victim}))
        mine.append(("GET", f"/v1/collections?tenant={victim}", None, A))
        mine.append(("POST", "/v1/query", {"question": f"vault {vdocs[2][1]}", "data_class": "confidential",
                                           "scope": {"collections": ["handbook"]}}, {**A, "Sealgate-Scope": vcoll}))
        did0, tok0, cls0 = vdocs[0]
        mine.append(("POST", f"/v1/collections/{vcoll}/documents", {"id": did0, "title": "overwrite", "text": "overwritten",
                                                                     "data_class": cls0, "tenant": victim}, A))
        mine.append(("POST", "/v1/query", {"question": "overwritten", "data_class": cls0, "scope": {"collections": [vcoll]}}, A))
        mine.append(("DELETE", f"/v1/collections/{vcoll}/documents/{did0}", None, A))
        attempts += [(attacker, victim) + m for m in mine[:60]]
        if len(mine) < 60:
            sys.exit(f"only {len(mine)} attempts for {attacker}")
    leaks, own = [], set()  # ids an attacker created itself in its own namespace (the overwrite attempt) are its own
    for attacker, victim, method, path, body, headers in attempts:
        st, _, resp = http(gw.port, method, path, body, headers)
        if method == "POST" and "/documents" in path and st == 201:
            own.add((attacker, body["id"]))
        vcoll, vdocs = secret[victim]
        text = resp.decode("utf-8", "replace")
        for did, tok, _ in vdocs:
            if tok in text or (did in text and (attacker, did) not in own):
                leaks.append((attacker, method, path, st))
        if path.endswith("/v1/collections") and vcoll in text:
            leaks.append((attacker, method, path, "collection name"))
    intact = 0
    for victim, (vcoll, vdocs) in secret.items():
        listing = http(gw.port, "GET", f"/v1/collections/{vcoll}/documents", None, gw.auth(victim))[2].decode()
        for did, tok, cls in vdocs:
            ok = did in listing and any(c.get("document_id") == did for c in json.loads(
                gw.query(victim, f"vault code {tok}", [vcoll], data_class=cls, top_k=10)[2]).get("citations", []))
            intact += ok
    for leak in leaks:
        print(f"    LEAK: {leak}")
    result("b", "cross-tenant attempts", "120", f"{len(attempts)}")
    result("b", "leaks (other tenant's ids, titles, text or collection names in an answer)", "0", f"{len(leaks)}")
    result("b", "victim documents still listed and retrieved by their owner", "n/a", f"{intact}/8")
    return secret


# ---------------------------------------------------------------------------------------------------- (c)

def part_c(gw, n=262):
    print("(c) plaintext canaries", flush=True)
    canaries = [f"cnry{secrets.token_hex(12)}" for _ in range(n)]
    codes = {}
    for i, tok in enumerate(canaries):
        cls = ["public", "internal", "confidential", "restricted"][i % 4]
        doc = {"id": f"canary-{i}", "title": f"Note {tok}" if i % 4 == 0 else "Note", "text": f"The canary of note {i} is {tok}. Keep {tok} safe.",
               "data_class": cls, "metadata": {"canary": tok}}
        st = gw.ingest("acme", "canaries", doc)[0]
        codes[st] = codes.get(st, 0) + 1
    for i, tok in enumerate(canaries):
        cls = ["public", "internal", "confidential", "restricted"][i % 4]
        if i % 2:
            st = gw.query("acme", f"What is the canary {tok}?", ["canaries"], data_class=cls)[0]
        else:
            st = http(gw.port, "POST", "/v1/chat/completions",
                      {"model": "extractive", "stream": i % 4 == 0, "messages": [{"role": "user", "content": f"Which note has {tok}?"}]},
                      {**gw.auth("acme"), "Sealgate-Data-Class": cls, "Sealgate-Scope": "canaries"})[0]
        codes[st] = codes.get(st, 0) + 1
    print(f"    ingest + prompt statuses: {codes}")

    def search(label):
        variants = {}
        for tok in canaries:
            b = tok.encode()
            forms = [b, tok.upper().encode(), tok.encode("utf-16-le"), b.hex().encode()]
            forms += [base64.b64encode(b"x" * k + b)[4:-4] for k in range(3)]
            variants[tok] = forms
        hits, files, nbytes = [], 0, 0
        for top in [gw.data, gw.log]:
            paths = [top] if os.path.isfile(top) else [os.path.join(dp, f) for dp, _, fs in os.walk(top) for f in fs]
            for path in paths:
                try:
                    blob = open(path, "rb").read()
                except OSError:
                    continue
                files += 1
                nbytes += len(blob)
                for tok, forms in variants.items():
                    if any(f in blob for f in forms):
                        hits.append((path, tok))
        for h in hits[:10]:
            print(f"    HIT {label}: {h}")
        return hits, files, nbytes

    live, files, nbytes = search("running")
    gw.proc.stop()
    stopped, files2, nbytes2 = search("stopped")
    result("c", "canaries (each ingested as a document and sent as a prompt)", "262", f"{n}")
    result("c", f"hits in data dir + log, running ({files} files, {nbytes / 1e6:.1f} MB)", "0", f"{len(live)}")
    result("c", f"hits after SIGTERM ({files2} files: SQLite + WAL, audit log, events, broker, log)", "0", f"{len(stopped)}")


# ---------------------------------------------------------------------------------------------------- (d)

def part_d(binary, work, kills):
    print(f"(d) {kills} x kill -9 under load", flush=True)
    gw = Gateway(binary, work, "d")
    acked = {}  # id -> token
    lock = threading.Lock()
    total_answers = {}
    lost_list, lost_retrieval, verify_fail, immediate_miss, immediate_total = [], [], [], 0, 0
    restart_times = []
    for cycle in range(kills):
        stop, killed = threading.Event(), threading.Event()

        def ingester(w):
            k = 0
            while not stop.is_set() and not killed.is_set():  # no new request after the kill: only those in flight fail
                did, tok = f"c{cycle}w{w}n{k}", f"dur{secrets.token_hex(8)}"
                k += 1
                try:
                    st = gw.ingest("acme", "durable", {"id": did, "title": did, "text": f"Durable record {tok} written in cycle {cycle}.",
                                                       "data_class": "internal"}, timeout=10)[0]
                except Exception:
                    st = -2
                with lock:
                    total_answers[st] = total_answers.get(st, 0) + 1
                    if st == 201:
                        acked[did] = tok

        def querier():
            while not stop.is_set():
                try:
                    gw.query("acme", "durable record", ["durable", "handbook"], timeout=10)
                except Exception:
                    pass

        threads = [threading.Thread(target=ingester, args=(w,)) for w in range(2)] + [threading.Thread(target=querier) for _ in range(2)]
        for t in threads:
            t.start()
        time.sleep(random.uniform(1.5, 4.0))
        killed.set()
        os.kill(gw.proc.pid, signal.SIGKILL)
        gw.proc.p.wait()
        gw.proc.log.close()
        stop.set()
        for t in threads:
            t.join()
        v = subprocess.run([binary, "audit", "verify", "--data-dir", gw.data], capture_output=True, text=True)
        if v.returncode != 0:
            verify_fail.append((cycle, v.stdout[-300:] + v.stderr[-300:]))
        restart_times.append(gw.start())
        listing = http(gw.port, "GET", "/v1/collections/durable/documents", None, gw.auth("acme"))[2].decode()
        listed = {d["id"] for d in json.loads(listing).get("documents", [])} if listing.startswith("{") else set()
        for did in acked:
            if did not in listed:
                lost_list.append((cycle, did))
        for did, tok in [(d, t) for d, t in acked.items() if d.startswith(f"c{cycle}w")]:
            cites = json.loads(gw.query("acme", f"Durable record {tok}", ["durable"], top_k=5)[2]).get("citations", [])
            if not any(c.get("document_id") == did for c in cites):
                lost_retrieval.append((cycle, did))
        # defect 2: documents acknowledged while queries run must be retrievable at once, without a restart
        stop2 = threading.Event()
        qs = [threading.Thread(target=lambda: [gw.query("acme", "durable record", ["durable"], timeout=10) for _ in iter(lambda: stop2.is_set(), True)])
              for _ in range(3)]
        for t in qs:
            t.start()
        fresh = []
        for k in range(3):
            did, tok = f"fresh{cycle}n{k}", f"frs{secrets.token_hex(8)}"
            if gw.ingest("acme", "durable", {"id": did, "title": did, "text": f"Fresh record {tok}.", "data_class": "internal"})[0] == 201:
                fresh.append((did, tok))
                acked[did] = tok
        stop2.set()
        for t in qs:
            t.join()
        for did, tok in fresh:
            immediate_total += 1
            cites = json.loads(gw.query("acme", f"Fresh record {tok}", ["durable"], top_k=5)[2]).get("citations", [])
            immediate_miss += not any(c.get("document_id") == did for c in cites)
        print(f"    cycle {cycle + 1}: acked so far {len(acked)}, restart {restart_times[-1]:.1f} s, "
              f"listing misses {len(lost_list)}, retrieval misses {len(lost_retrieval)}, verify failures {len(verify_fail)}", flush=True)
    # final: every acknowledged document retrieved by its token
    final_miss = 0
    for did, tok in acked.items():
        cites = json.loads(gw.query("acme", f"{'Fresh' if did.startswith('fresh') else 'Durable'} record {tok}", ["durable"], top_k=5)[2]).get("citations", [])
        final_miss += not any(c.get("document_id") == did for c in cites)
    gw.proc.stop()
    v = subprocess.run([binary, "audit", "verify", "--data-dir", gw.data], capture_output=True, text=True)
    for f in verify_fail[:5]:
        print(f"    verify failed after kill {f[0]}: {f[1]}")
    result("d", "kill -9 cycles under ingest + query load", "30", f"{kills}")
    result("d", "acknowledged (201) documents", "n/a", f"{len(acked)} (ingest answers under load: {dict(sorted(total_answers.items()))}, 0 = in flight at the kill)")
    result("d", "acknowledged documents missing from the listing after restart", "0", f"{len(lost_list)}")
    result("d", "acknowledged documents not retrieved after restart (per cycle + final pass)", "0", f"{len(lost_retrieval)} + {final_miss}")
    result("d", "`audit verify --data-dir` failures on the killed log", "fails after a kill within 10 s of start (defect 6)", f"{len(verify_fail)}/{kills}")
    result("d", "`audit verify` after the final graceful stop", "n/a", "ok" if v.returncode == 0 else f"exit {v.returncode}")
    result("d", "documents acked during query load, not retrieved until a restart (defect 2)", "39 of 80", f"{immediate_miss} of {immediate_total}")
    result("d", "restart to ready, median (max)", "n/a", f"{statistics.median(restart_times):.1f} s ({max(restart_times):.1f} s)")


# ---------------------------------------------------------------------------------------------------- (e)

def part_e(binary, work, lease=15):
    print("(e) broker killed mid-service", flush=True)
    gwdata, brdata = os.path.join(work, "e-gw"), os.path.join(work, "e-br")
    rv = os.path.join(work, "e-rv.json")
    with open(rv, "w") as f:
        subprocess.run([binary, "measure", "--demo", "--data-dir", gwdata, "--lease-seconds", str(lease), "--reference-values"],
                       stdout=f, check=True)
    bport = free_port()
    bargs = ["broker", "--data-dir", brdata, "--port", str(bport), "--reference-values", rv,
             "--policies", os.path.join(ROOT, "examples/policies/acme.json")]
    broker = Proc(binary, bargs, os.path.join(work, "e-broker.log"))
    token = os.path.join(brdata, "admin-token")
    for _ in range(300):
        if os.path.exists(token) and os.path.getsize(token) > 0:
            break
        time.sleep(0.1)
    burl = f"http://127.0.0.1:{bport}"
    for t in ("acme", "globex"):
        subprocess.run([binary, "keys", "provision", t, "--token-file", token, "--broker", burl], check=True, capture_output=True)
    gw = Gateway(binary, work, "e-gw", extra=["--broker", burl, "--lease-seconds", str(lease)], data=gwdata)
    probe_results = {}

    def probes():
        a = gw.auth("acme")
        return {
            "readyz": http(gw.port, "GET", "/readyz", timeout=5),
            "query": gw.query("acme", "remote work", ["handbook"], timeout=5),
            "chat": http(gw.port, "POST", "/v1/chat/completions", {"model": "extractive", "messages": [{"role": "user", "content": "remote?"}]},
                         {**a, "Sealgate-Data-Class": "internal", "Sealgate-Scope": "handbook"}, timeout=5),
            "list": http(gw.port, "GET", "/v1/collections/handbook/documents", None, a, timeout=5),
            "collections": http(gw.port, "GET", "/v1/collections", None, a, timeout=5),
            "ingest": gw.ingest("acme", "notes", {"id": "e1", "title": "t", "text": "broker outage test", "data_class": "internal"}, timeout=5),
        }

    pre = {k: v[0] for k, v in probes().items()}
    print(f"    before the kill: {pre}")
    time.sleep(random.uniform(0, lease / 3))
    os.kill(broker.pid, signal.SIGKILL)
    broker.p.wait()
    broker.log.close()
    t_kill = time.time()
    t_closed = None
    reasons, statuses_during, timeline, last_snapshot = {}, {}, [], ""
    while time.time() - t_kill < lease * 2 + 10:
        res = probes()
        failing = all(v[0] >= 400 for k, v in res.items())
        snapshot = " ".join(f"{k}={v[0]}:{problem_type(v[2]).rsplit(':', 1)[-1]}" for k, v in res.items())
        if snapshot != last_snapshot:
            timeline.append(f"{time.time() - t_kill:5.1f} s {snapshot}")
            last_snapshot = snapshot
        for k, (st, _, body) in res.items():
            if st >= 400:
                reasons.setdefault(k, set()).add(f"{st} {problem_type(body).rsplit(':', 1)[-1]}")
            statuses_during.setdefault(k, set()).add(st)
        if failing and t_closed is None:
            t_closed = time.time() - t_kill
        if t_closed is not None and time.time() - t_kill > t_closed + 5:
            break
        time.sleep(0.25)
    broker = Proc(binary, bargs, os.path.join(work, "e-broker.log"))
    t_restart = time.time()
    t_ready = t_query = None
    while time.time() - t_restart < 120:
        if t_ready is None and http(gw.port, "GET", "/readyz", timeout=5)[0] == 200:
            t_ready = time.time() - t_restart
        if t_query is None and gw.query("acme", "remote work", ["handbook"], timeout=5)[0] == 200:
            t_query = time.time() - t_restart
        if t_ready is not None and t_query is not None:
            break
        time.sleep(0.25)
    every = sorted(set().union(*reasons.values())) if reasons else []
    for line in timeline:
        print(f"    {line}")
    for k, v in sorted(reasons.items()):
        print(f"    during the outage {k}: {sorted(v)}")
    # the broker's own listener: refused 3 MiB POSTs to /kbs/v0/auth
    bst0 = proc_stat(broker.pid)
    statuses = refused_posts(bport, 500, "/kbs/v0/auth", None)
    time.sleep(5)
    bst1 = proc_stat(broker.pid)
    broker_ok = http(bport, "GET", "/healthz")[0] == 200
    gw.proc.stop()
    broker.stop()
    result("e", "lease length in this run", "n/a", f"{lease} s (renewal at 2/3)")
    result("e", "time from broker kill -9 to every endpoint failing closed", "n/a", f"{t_closed:.1f} s" if t_closed else "never")
    result("e", "refusal reasons during the outage (readyz, query, chat, list, collections, ingest)",
           "list: key_lease_unavailable, others: broker_unavailable", ", ".join(every))
    result("e", "recovery after broker restart: /readyz 200, first query 200", "5 s",
           f"{t_ready:.1f} s, {t_query:.1f} s" if t_ready and t_query else f"{t_ready}, {t_query}")
    result("e", "broker: 500 refused 3 MiB POSTs /kbs/v0/auth (Connection: close)", "not measured",
           f"{statuses}; {fmt_stat(bst0)} -> {fmt_stat(bst1)}; answers after: {'yes' if broker_ok else 'NO'}")


# ---------------------------------------------------------------------------------------------------- (f)

def part_f(binary, work):
    print("(f) slow clients (defaults: header 10 s, body 30 s, idle 60 s)", flush=True)
    gw = Gateway(binary, work, "f")
    key = gw.keys["acme"]
    st0 = gw.stat()
    closes = {"header": [], "body": [], "idle": []}
    answers = {"header": {}, "body": {}, "idle": {}}
    lock = threading.Lock()

    def slow(kind):
        s = socket.socket()
        s.settimeout(1.0)
        t0 = time.time()
        try:
            s.connect(("127.0.0.1", gw.port))
            if kind == "body":
                s.sendall(f"POST /v1/query HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\n"
                          f"Content-Length: 1000\r\n\r\n".encode())
                t0 = time.time()
            elif kind == "header":
                s.sendall(b"POST /v1/query HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            got = b""
            while time.time() - t0 < 100:
                try:
                    if kind != "idle":
                        s.send(b"a")
                except OSError:
                    break
                try:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    got += chunk
                except socket.timeout:
                    pass
                except OSError:
                    break
            elapsed = time.time() - t0
            reason = problem_type(got.partition(b"\r\n\r\n")[2]).rsplit(":", 1)[-1] or ("(no answer)" if not got else got[:12].decode("latin-1"))
            with lock:
                closes[kind].append(elapsed)
                answers[kind][reason] = answers[kind].get(reason, 0) + 1
        finally:
            s.close()

    threads = [threading.Thread(target=slow, args=(k,)) for k, n in (("header", 100), ("body", 50), ("idle", 50)) for _ in range(n)]
    for t in threads:
        t.start()
    peak = gw.stat()
    lat = []
    t0 = time.time()
    while any(t.is_alive() for t in threads) and time.time() - t0 < 110:
        s = time.time()
        ok = gw.query("acme", "remote work", ["handbook"], timeout=10)[0] == 200
        lat.append((time.time() - s, ok))
        cur = gw.stat()
        peak = max(peak, cur, key=lambda x: x[0])
        time.sleep(2)
    for t in threads:
        t.join(5)
    time.sleep(2)
    st1 = gw.stat()
    gw.proc.stop()
    for kind in closes:
        v = sorted(closes[kind])
        desc = f"{len(v)} closed, after {v[0]:.1f}/{statistics.median(v):.1f}/{v[-1]:.1f} s (min/median/max); answers {answers[kind]}" if v else "none closed"
        before = {"header": "never timed out (1 byte/s)", "body": "never timed out", "idle": "open after 240 s"}[kind]
        result("f", f"{len(closes[kind]) and len(closes[kind])} slow-{kind} connections", before, desc)
    result("f", "gateway fds / RSS: before -> peak -> after", "n/a", f"{st0[0]} -> {peak[0]} -> {st1[0]} fds; "
           f"{st0[2] / 1024:.0f} -> {max(peak[2], st1[2]) / 1024:.0f} -> {st1[2] / 1024:.0f} MiB")
    result("f", "queries during the slow clients: answered 200, max latency", "n/a",
           f"{sum(ok for _, ok in lat)}/{len(lat)}, {max(l for l, _ in lat):.2f} s")

    print("(f2) 300 idle connections under ulimit -n 256 (--idle-timeout 15)", flush=True)
    gw = Gateway(binary, work, "f2", extra=["--idle-timeout", "15"], nofile=256)
    socks, early = [], {}
    for _ in range(300):
        s = socket.socket()
        try:
            s.connect(("127.0.0.1", gw.port))
            socks.append(s)
        except OSError as e:
            early[e.__class__.__name__] = early.get(e.__class__.__name__, 0) + 1
    time.sleep(1)
    refused = 0
    for s in socks:
        s.settimeout(0.05)
        try:
            if b"connection_limit" in s.recv(4096):
                refused += 1
        except OSError:
            pass
    t = time.time()
    st, _, body = gw.query("acme", "remote work", ["handbook"], timeout=30)
    during = f"{st} {problem_type(body).rsplit(':', 1)[-1]} in {time.time() - t:.2f} s"
    t = time.time()
    while time.time() - t < 40:
        if gw.query("acme", "remote work", ["handbook"], timeout=5)[0] == 200:
            break
        time.sleep(0.5)
    recovered = time.time() - t
    for s in socks:
        s.close()
    gw.proc.stop()
    result("f", "300 idle connections, ulimit -n 256: refused at once with 503 connection_limit", "n/a", f"{refused} (connect errors {early})")
    result("f", "  a query while they are held", "times out", during)
    result("f", "  first 200 query after that (idle timeout 15 s)", "none", f"after {recovered:.1f} s")


# ---------------------------------------------------------------------------------------------------- (g)

def refused_posts(port, n, path, key, threads=4, size=3 * 1024 * 1024):
    body = b"a" * size
    auth = f"Authorization: Bearer {key}\r\n" if key else ""
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Type: application/json\r\nConnection: close\r\n"
            f"Content-Length: {size}\r\n\r\n").encode()
    counts = {}
    lock = threading.Lock()

    def one(_):
        r = raw_exchange(port, head + body, timeout=30)
        k = r["status"]
        with lock:
            counts[k] = counts.get(k, 0) + 1

    with cf.ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(n)))
    return dict(sorted(counts.items()))


def part_g(binary, work, n):
    print(f"(g) {n} refused 3 MiB POSTs with Connection: close", flush=True)
    for label, nofile, before in (("", None, "RSS 60 -> 676 MB, 1,526 fds left open"),
                                  (" under ulimit -n 256", 256, "~270 requests stopped the gateway; no recovery after 24 min")):
        gw = Gateway(binary, work, f"g{nofile or ''}", nofile=nofile)
        time.sleep(1)
        st0 = gw.stat()
        t = time.time()
        c1 = refused_posts(gw.port, n // 2, "/v1/query", gw.keys["acme"])
        c2 = refused_posts(gw.port, n - n // 2, "/v1/query", None)
        took = time.time() - t
        time.sleep(5)
        st1 = gw.stat()
        ok = gw.query("acme", "remote work", ["handbook"], timeout=10)[0] == 200
        gw.proc.stop()
        result("g", f"{n} refused POSTs{label} ({n // 2} with a key: {c1}; {n - n // 2} without: {c2}; {took:.0f} s)", before,
               f"{fmt_stat(st0)} -> {fmt_stat(st1)}; query after: {'200' if ok else 'FAILED'}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(ROOT, ".build/debug/sealgate"))
    ap.add_argument("--only", default="a,b,c,d,e,f,g")
    ap.add_argument("--kills", type=int, default=30)
    ap.add_argument("--refused", type=int, default=2000)
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = ap.parse_args()
    binary = os.path.abspath(args.bin)
    parts = set(args.only.split(","))
    work = tempfile.mkdtemp(prefix="outside-test-")
    ver = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.splitlines()
    print(f"binary: {binary}\n  {ver[0] if ver else '?'}; {ver[-1] if ver else ''}\nmachine: {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.1f}; scratch {work}", flush=True)
    started = time.time()
    try:
        if "a" in parts or "b" in parts or "c" in parts:
            gw = part_a(binary, work) if "a" in parts else Gateway(binary, work, "a")
            if "b" in parts:
                part_b(gw)
            if "c" in parts:
                part_c(gw)
            gw.proc.stop()
        if "d" in parts:
            part_d(binary, work, args.kills)
        if "e" in parts:
            part_e(binary, work)
        if "f" in parts:
            part_f(binary, work)
        if "g" in parts:
            part_g(binary, work, args.refused)
    finally:
        print(f"\n== outside test, before (issue #12) -> after (this run, {time.time() - started:.0f} s)\n")
        print("| part | measurement | before | after |\n|---|---|---|---|")
        for part, what, before, after in RESULTS:
            print(f"| {part} | {what} | {before} | {after} |")
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
