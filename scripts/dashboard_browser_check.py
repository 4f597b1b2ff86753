#!/usr/bin/env python3
"""The gateway's dashboard in a real headless browser (Debian's chromium driven by Playwright).

Starts `sealgate serve --demo`, scripts allowed and denied requests, then opens /dashboard as the auditor
(HTTP Basic, as a person's browser would after the challenge) and as the tenant acme (bearer header), and
checks from the DOM: the count of each denial reason, that acme's view holds acme's figures only, no console
errors, no failed or external requests, and 401 without a credential. Then the same for `sealgate broker`'s
dashboard with its admin token (a refused bad range counted by reason, the reference values shown). Writes a screenshot outside the
repository and prints its path.

Usage: scripts/dashboard_browser_check.py BINARY [--chromium /usr/bin/chromium] [--screenshot PATH]
"""
import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request


def call(base, path, key=None, body=None):
    request = urllib.request.Request(base + path, data=body.encode() if body else None, method="POST" if body else "GET")
    if key:
        request.add_header("Authorization", "Bearer " + key)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def query(collections, data_class="internal"):
    return json.dumps({"question": "How many days may I work remotely?", "data_class": data_class, "scope": {"collections": collections}})


def reasons_in_dom(page):
    # Locators, not page.evaluate: the page's CSP forbids eval, and the check must not weaken it.
    rows = page.locator("#reasons tr[data-reason]")
    return {rows.nth(i).get_attribute("data-reason"): int(rows.nth(i).locator("td.count").inner_text()) for i in range(rows.count())}


def keys_in_dom(page, selector):
    rows = page.locator(selector)
    return [rows.nth(i).get_attribute("data-key") for i in range(rows.count())]


def watch(page, base, problems):
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} {r.failure}"))
    page.on("request", lambda r: problems.append(f"external request: {r.url}") if not r.url.startswith(base) and not r.url.startswith("data:") else None)
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)


def check_broker(binary, browser, work, port, failures):
    """The broker's dashboard: 401 without a token, a refused bad range shown by reason, the reference values."""
    subprocess.run([binary, "measure", "--demo", "--data-dir", work + "/gw", "--reference-values"], check=True,
                   stdout=open(work + "/rv.json", "w"))
    base = f"http://127.0.0.1:{port}"
    log = open(work + "/broker.log", "w")
    broker = subprocess.Popen([binary, "broker", "--host", "127.0.0.1", "--port", str(port), "--data-dir", work + "/br",
                               "--reference-values", work + "/rv.json"], stdout=log, stderr=log)
    try:
        for _ in range(240):
            try:
                if call(base, "/healthz")[0] == 200 and os.path.getsize(work + "/br/admin-token") > 0:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        token = open(work + "/br/admin-token").read().strip()
        if call(base, "/dashboard")[0] != 401:
            failures.append("broker /dashboard without a token did not answer 401")
        if call(base, "/dashboard/data?range=year", token)[0] != 400:
            failures.append("broker /dashboard/data?range=year was not refused with 400")
        context = browser.new_context(viewport={"width": 1400, "height": 1400}, extra_http_headers={"Authorization": "Bearer " + token})
        page = context.new_page()
        problems = []
        watch(page, base, problems)
        page.goto(base + "/dashboard")
        page.wait_for_selector("#reasons tr[data-reason]", timeout=15000)
        seen = reasons_in_dom(page)
        if seen.get("unknown_time_range") != 1:
            failures.append(f"broker: unknown_time_range shows {seen.get('unknown_time_range')}, expected 1")
        facts = keys_in_dom(page, "#facts tr[data-key]")
        if "reference_sets" not in facts or "measurements" not in facts:
            failures.append(f"broker: facts {facts} lack the reference values")
        failures.extend(f"broker: {problem}" for problem in problems)
        print(f"broker view: {json.dumps(seen, sort_keys=True)}")
        context.close()
    finally:
        broker.terminate()
        broker.wait(timeout=30)
        log.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--screenshot", default=os.path.join(tempfile.gettempdir(), "sealgate-dashboard.png"))
    parser.add_argument("--port", type=int, default=18093)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    work = tempfile.mkdtemp(prefix="sealgate-dashboard-")
    base = f"http://127.0.0.1:{args.port}"
    log = open(os.path.join(work, "serve.log"), "w")
    server = subprocess.Popen([args.binary, "serve", "--demo", "--data-dir", work + "/data", "--port", str(args.port)], stdout=log, stderr=log)
    failures = []
    try:
        for _ in range(240):
            try:
                if call(base, "/readyz")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        else:
            sys.exit("the gateway did not become ready")
        creds = json.load(open(work + "/data/demo-credentials.json"))
        acme, globex, auditor = creds["tenants"]["acme"]["api_key"], creds["tenants"]["globex"]["api_key"], creds["auditor"]["api_key"]

        def denials(key=None):
            status, _, body = call(base, "/dashboard/data?range=hour", auditor if key is None else key)
            assert status == 200, (status, body)
            return {r["reason"]: r["count"] for r in json.loads(body)["reasons"]}

        before = denials()
        # Without a credential: 401 for the page and the data, with both challenges.
        for path in ("/dashboard", "/dashboard/data"):
            status, headers, _ = call(base, path)
            if status != 401:
                failures.append(f"{path} without a credential answered {status}, not 401")
        expected = {"missing_credentials": 2}
        # Allowed requests.
        for _ in range(3):
            status, _, body = call(base, "/v1/query", acme, query(["handbook"]))
            assert status == 200, body
        # Denied requests: acme's, globex's and ones with no tenant.
        for _ in range(2):
            assert call(base, "/v1/query", acme, query([]))[0] == 403
        assert call(base, "/v1/query", globex, query(["handbook"], data_class="no-such-class"))[0] == 400
        for _ in range(3):
            assert call(base, "/v1/query", "sg_not_a_key_0123456789", query(["handbook"]))[0] == 401
        assert call(base, "/dashboard/data?range=week", acme)[0] == 400
        assert call(base, "/dashboard/data?range=hour&buckets=100000", acme)[0] == 400
        assert call(base, "/dashboard/data?tenant=globex", acme)[0] == 403
        expected.update({"scope_not_permitted": 2, "unknown_data_class": 1, "invalid_credentials": 3, "unknown_time_range": 1,
                         "bucket_count_out_of_range": 1, "tenant_not_permitted": 1})
        want = dict(before)
        for reason, count in expected.items():
            want[reason] = want.get(reason, 0) + count
        acme_want = {"scope_not_permitted": 2, "unknown_time_range": 1, "bucket_count_out_of_range": 1, "tenant_not_permitted": 1}

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, headless=True, args=["--no-sandbox"])
            for who, options in (
                # The auditor's key as the password of HTTP Basic, sent up front (a browser that waits for the challenge
                # first gets one audited 401, which would make the expected counts depend on the browser).
                ("auditor", {"extra_http_headers": {"Authorization": "Basic " + base64.b64encode(b"auditor:" + auditor.encode()).decode()}}),
                ("acme", {"extra_http_headers": {"Authorization": "Bearer " + acme}}),
            ):
                context = browser.new_context(viewport={"width": 1400, "height": 1800}, **options)
                page = context.new_page()
                problems = []
                watch(page, base, problems)
                response = page.goto(base + "/dashboard")
                weight = len(response.body())
                csp = response.headers.get("content-security-policy", "")
                page.wait_for_selector("#reasons tr[data-reason]", timeout=15000)
                page.click("button[data-range=day]")
                page.wait_for_selector("#status:has-text('day in')", timeout=15000)
                seen = reasons_in_dom(page)
                target = want if who == "auditor" else acme_want
                for reason, count in target.items():
                    if seen.get(reason) != count:
                        failures.append(f"{who}: {reason} shows {seen.get(reason)} in the page, expected {count}")
                if who == "acme":
                    tenants = keys_in_dom(page, "#by-tenant tr[data-key]")
                    if tenants != ["acme"]:
                        failures.append(f"acme's view lists tenants {tenants}")
                    for foreign in ("unknown_data_class", "invalid_credentials"):
                        if foreign in seen:
                            failures.append(f"acme's view shows {foreign}, which only others caused")
                    facts = keys_in_dom(page, "#facts tr[data-key]")
                    if "audit_size" in facts:
                        failures.append("acme's view shows the audit log's figures")
                else:
                    page.screenshot(path=args.screenshot, full_page=True)
                    print(f"auditor view: {json.dumps(seen, sort_keys=True)}")
                    print(f"page weight: {weight} bytes uncompressed (target < 100 KB); CSP: {csp}")
                    if weight >= 100 * 1024:
                        failures.append(f"page weight {weight} bytes")
                    if "'unsafe-inline'" in csp or "default-src 'none'" not in csp:
                        failures.append(f"weak CSP: {csp}")
                failures.extend(f"{who}: {problem}" for problem in problems)
                context.close()
            check_broker(args.binary, browser, work, args.port + 1, failures)
            browser.close()
        print(f"screenshot: {args.screenshot}")
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
        if failures:
            print(open(os.path.join(work, "serve.log")).read()[-3000:], file=sys.stderr)
    if failures:
        print("\n".join(failures), file=sys.stderr)
        sys.exit(1)
    print("dashboard in a headless browser: ok")


if __name__ == "__main__":
    main()
