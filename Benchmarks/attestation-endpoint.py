#!/usr/bin/env python3
"""GET /v1/attestation throughput: fresh evidence (a new nonce per request) and cached evidence (no nonce).

  python3 Benchmarks/attestation-endpoint.py PATH/TO/sealgate [--sources 300] [--workers 8]

The endpoint is rate-limited per source address (5/s, bursts of 10), so the load comes from many loopback source
addresses (127.0.1.1, 127.0.1.2, …), each sending its burst of 10 over one keep-alive connection; nothing is
refused, which the script checks. Prints requests per second and p50/p99 latency for each mode.
"""
import argparse, base64, http.client, json, os, shutil, socket, subprocess, tempfile, time
from concurrent.futures import ThreadPoolExecutor


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def burst(port, source, fresh):
    conn = http.client.HTTPConnection("127.0.0.1", port, source_address=(source, 0), timeout=30)
    times, codes = [], []
    for _ in range(10):
        path = "/v1/attestation"
        if fresh:
            path += "?nonce=" + base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
        t = time.perf_counter()
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read()
        times.append((time.perf_counter() - t) * 1000)
        codes.append(r.status)
        if r.status == 200 and fresh:
            assert json.loads(body).get("fresh") is True
    conn.close()
    return times, codes


def main():
    p = argparse.ArgumentParser()
    p.add_argument("binary")
    p.add_argument("--sources", type=int, default=300)
    p.add_argument("--workers", type=int, default=8)
    a = p.parse_args()
    work = tempfile.mkdtemp()
    port = free_port()
    proc = subprocess.Popen([a.binary, "serve", "--demo", "--data-dir", work + "/d", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", "/readyz")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        print(f"machine: {os.cpu_count()} cores; {a.sources} source addresses × 10 requests, {a.workers} client threads")
        for mode, fresh in (("fresh evidence (nonce)", True), ("cached evidence (no nonce)", False)):
            base = 1 if fresh else 2
            sources = [f"127.0.{base}.{i % 250 + 1}" if i < 250 else f"127.{base}.{i // 250}.{i % 250 + 1}" for i in range(a.sources)]
            start = time.perf_counter()
            with ThreadPoolExecutor(a.workers) as pool:
                results = list(pool.map(lambda s: burst(port, s, fresh), sources))
            elapsed = time.perf_counter() - start
            times = sorted(t for r in results for t in r[0])
            codes = [c for r in results for c in r[1]]
            refused = sum(c != 200 for c in codes)
            print(f"{mode:28s} {len(codes) / elapsed:8.0f} req/s   p50 {times[len(times) // 2]:6.2f} ms   "
                  f"p99 {times[len(times) * 99 // 100]:6.2f} ms   non-200: {refused}")
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
