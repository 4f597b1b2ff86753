#!/usr/bin/env python3
"""What receipts add to a response: two gateways (a build before receipts and one with them) serve the same demo
data side by side; sequential keep-alive requests alternate between them so both see the same machine noise.

  python3 Benchmarks/receipt-latency.py BEFORE_BIN AFTER_BIN [--requests 3000]

Prints p50/p99 of /v1/query and of /v1/chat/completions (built-in model) for each, and checks the second carries
Sealgate-Receipt. Figures in docs/benchmarks.md ("Receipts").
"""
import argparse, http.client, json, os, shutil, socket, subprocess, tempfile, time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(binary, work, name):
    data, port = os.path.join(work, name), free_port()
    proc = subprocess.Popen([binary, "serve", "--demo", "--data-dir", data, "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(600):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/readyz")
            if c.getresponse().status == 200:
                break
        except OSError:
            pass
        time.sleep(0.1)
    key = json.load(open(os.path.join(data, "demo-credentials.json")))["tenants"]["acme"]["api_key"]
    return proc, port, key


def main():
    p = argparse.ArgumentParser()
    p.add_argument("before")
    p.add_argument("after")
    p.add_argument("--requests", type=int, default=3000)
    a = p.parse_args()
    work = tempfile.mkdtemp()
    servers = {"before": start(a.before, work, "before"), "after": start(a.after, work, "after")}
    try:
        routes = {
            "query": ("/v1/query", json.dumps({"question": "How many remote days per week?", "data_class": "internal",
                                                "scope": {"collections": ["handbook"]}}), {}),
            "chat": ("/v1/chat/completions", json.dumps({"model": "extractive", "messages": [{"role": "user", "content": "How many remote days per week?"}]}),
                     {"Sealgate-Data-Class": "internal", "Sealgate-Scope": "handbook"}),
        }
        conns = {name: http.client.HTTPConnection("127.0.0.1", port) for name, (_, port, _) in servers.items()}
        print(f"machine: {os.cpu_count()} cores; {a.requests} sequential requests per route and build, alternating")
        for route, (path, body, extra) in routes.items():
            times = {"before": [], "after": []}
            for n in range(a.requests + 100):
                for name in ("before", "after") if n % 2 == 0 else ("after", "before"):
                    headers = {"Authorization": f"Bearer {servers[name][2]}", "Content-Type": "application/json", **extra}
                    t = time.perf_counter()
                    conns[name].request("POST", path, body=body, headers=headers)
                    response = conns[name].getresponse()
                    response.read()
                    elapsed = (time.perf_counter() - t) * 1e6
                    assert response.status == 200, response.status
                    if name == "after":
                        assert response.getheader("Sealgate-Receipt"), "no receipt"
                    if n >= 100:  # warm-up
                        times[name].append(elapsed)
            for name in ("before", "after"):
                t = sorted(times[name])
                print(f"{route:6s} {name:7s} p50 {t[len(t) // 2]:8.0f} µs   p99 {t[len(t) * 99 // 100]:8.0f} µs")
    finally:
        for proc, _, _ in servers.values():
            proc.terminate()
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
