#!/usr/bin/env python3
"""Checks a running Sealgate against openapi.yaml.

Usage: scripts/contract_check.py BASE_URL API_KEY [AUDITOR_KEY]
Validates the document (OpenAPI 3.1), then sends requests to every operation — successful ones and
refused ones — and validates each response's status, content type, headers and JSON body against the
schema the document gives for that status. Exits non-zero on any mismatch.
"""
import json
import sys
import urllib.error
import urllib.request

import jsonschema
import yaml
from openapi_spec_validator import validate

base, key = sys.argv[1].rstrip("/"), sys.argv[2]
auditor = sys.argv[3] if len(sys.argv) > 3 else None
doc = yaml.safe_load(open("openapi.yaml"))
validate(doc)

passed, failed = 0, 0


def resolve(node):
    while isinstance(node, dict) and "$ref" in node:
        target = doc
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def call(method, path, body=None, auth=True, headers=None, bearer=None):
    data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    req = urllib.request.Request(base + path, data=data, method=method)
    if auth:
        req.add_header("Authorization", "Bearer " + (bearer or key))
    if data is not None:
        req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def check(name, template, method, path, body=None, auth=True, headers=None, expect=None, bearer=None):
    global passed, failed
    status, hdrs, raw = call(method, path, body, auth, headers, bearer)
    op = doc["paths"][template][method.lower()]
    problems = []
    if expect is not None and status != expect:
        problems.append(f"status {status}, wanted {expect}")
    response = op["responses"].get(str(status))
    if response is None:
        problems.append(f"status {status} is not documented")
    else:
        response = resolve(response)
        for hname, hspec in (response.get("headers") or {}).items():
            if resolve(hspec).get("required") and hname.lower() not in {k.lower() for k in hdrs}:
                problems.append(f"missing required header {hname}")
        if template.startswith("/v1/") and template != "/v1/models" and "sealgate-audit-index" not in {k.lower() for k in hdrs}:
            problems.append("missing Sealgate-Audit-Index (every /v1 request except models is audited)")
        ctype = (hdrs.get("Content-Type") or hdrs.get("content-type") or "").split(";")[0].strip()
        content = response.get("content") or {}
        if content and ctype not in content:
            problems.append(f"content type {ctype!r} not in {list(content)}")
        elif ctype.endswith("json") and raw:
            schema = dict(resolve(content[ctype]["schema"]))
            schema["components"] = doc["components"]
            try:
                jsonschema.Draft202012Validator(schema).validate(json.loads(raw))
            except jsonschema.ValidationError as err:
                problems.append(f"body does not match schema: {err.message}")
    if problems:
        failed += 1
        print(f"FAIL {name}: " + "; ".join(problems))
    else:
        passed += 1
        print(f"ok   {name} ({status})")


doc_body = {"id": "contract-doc", "title": "Contract", "text": "Contract tests run against every endpoint of the gateway.", "data_class": "internal"}
check("ingest", "/v1/collections/{collection}/documents", "POST", "/v1/collections/contract/documents", doc_body, expect=201)
check("ingest unknown class", "/v1/collections/{collection}/documents", "POST", "/v1/collections/contract/documents", dict(doc_body, data_class="nope"), expect=400)
check("ingest without key", "/v1/collections/{collection}/documents", "POST", "/v1/collections/contract/documents", doc_body, auth=False, expect=401)
check("ingest too large", "/v1/collections/{collection}/documents", "POST", "/v1/collections/contract/documents", dict(doc_body, text="x" * (2 << 20)), expect=413)
check("list", "/v1/collections/{collection}/documents", "GET", "/v1/collections/contract/documents", expect=200)
q = {"question": "What do contract tests run against?", "data_class": "internal", "scope": {"collections": ["contract"]}}
check("query", "/v1/query", "POST", "/v1/query", q, expect=200)
check("query malformed", "/v1/query", "POST", "/v1/query", b"{", expect=400)
check("query empty question", "/v1/query", "POST", "/v1/query", dict(q, question=""), expect=400)
chat = {"model": "extractive", "messages": [{"role": "user", "content": "What do contract tests run against?"}]}
chat_headers = {"Sealgate-Data-Class": "internal", "Sealgate-Scope": "contract"}
check("chat", "/v1/chat/completions", "POST", "/v1/chat/completions", chat, headers=chat_headers, expect=200)
check("chat stream", "/v1/chat/completions", "POST", "/v1/chat/completions", dict(chat, stream=True), headers=chat_headers, expect=200)
check("chat unknown model", "/v1/chat/completions", "POST", "/v1/chat/completions", dict(chat, model="nope"), headers=chat_headers, expect=400)
check("models", "/v1/models", "GET", "/v1/models", expect=200)
check("models without key", "/v1/models", "GET", "/v1/models", auth=False, expect=401)
check("delete", "/v1/collections/{collection}/documents/{id}", "DELETE", "/v1/collections/contract/documents/contract-doc", expect=204)
check("delete missing", "/v1/collections/{collection}/documents/{id}", "DELETE", "/v1/collections/contract/documents/contract-doc", expect=404)
check("receipt missing", "/v1/receipts/{index}", "GET", "/v1/receipts/999999999", expect=404)
check("receipt without key", "/v1/receipts/{index}", "GET", "/v1/receipts/0", auth=False, expect=401)
check("healthz", "/healthz", "GET", "/healthz", auth=False, expect=200)
check("readyz", "/readyz", "GET", "/readyz", auth=False, expect=200)
check("metrics", "/metrics", "GET", "/metrics", auth=False, expect=200)
check("audit checkpoint", "/audit/checkpoint", "GET", "/audit/checkpoint", auth=False, expect=200)
check("audit key", "/audit/key", "GET", "/audit/key", auth=False, expect=200)
check("audit entry without auditor key", "/audit/entries/{index}", "GET", "/audit/entries/0", auth=False, expect=401)
check("audit entry with a tenant key", "/audit/entries/{index}", "GET", "/audit/entries/0", expect=401)
if auditor:
    check("audit entry", "/audit/entries/{index}", "GET", "/audit/entries/0", expect=200, bearer=auditor)
    check("audit inclusion proof", "/audit/proof/inclusion", "GET", "/audit/proof/inclusion?index=0&size=1", expect=200, bearer=auditor)
    check("audit inclusion proof out of range", "/audit/proof/inclusion", "GET", "/audit/proof/inclusion?index=5&size=1", expect=400, bearer=auditor)
    check("audit consistency proof", "/audit/proof/consistency", "GET", "/audit/proof/consistency?from=1&to=2", expect=200, bearer=auditor)
    check("audit entry bundle", "/audit/tile/{tilePath}", "GET", "/audit/tile/entries/000.p/1", expect=200, bearer=auditor)
    check("audit tile beyond the log", "/audit/tile/{tilePath}", "GET", "/audit/tile/0/x999/999", expect=404, bearer=auditor)
    check("dashboard page", "/dashboard", "GET", "/dashboard", expect=200, bearer=auditor)
    check("dashboard data (auditor)", "/dashboard/data", "GET", "/dashboard/data?range=day&buckets=24", expect=200, bearer=auditor)
check("dashboard without key", "/dashboard", "GET", "/dashboard", auth=False, expect=401)
check("dashboard data (tenant)", "/dashboard/data", "GET", "/dashboard/data?range=hour", expect=200)
check("dashboard data, another tenant", "/dashboard/data", "GET", "/dashboard/data?tenant=globex", expect=403)
check("dashboard data, unknown range", "/dashboard/data", "GET", "/dashboard/data?range=week", expect=400)
check("dashboard data, too many buckets", "/dashboard/data", "GET", "/dashboard/data?buckets=100000", expect=400)
print(f"contract check: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
