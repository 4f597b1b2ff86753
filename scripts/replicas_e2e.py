#!/usr/bin/env python3
"""Two gateways and two brokers on one PostgreSQL database, as real processes on loopback.

Usage: replicas_e2e.py PATH/TO/sealgate [--bench] [--chunks N] [--seconds S]

Starts a throwaway PostgreSQL cluster (scripts/pg_cluster.sh), two `sealgate broker --database` sharing it
and one master key, and two `sealgate serve --broker … --replica …` whose sealgate.yaml says
`storage: {type: postgres, url: …}`. Then checks, failing with exit 1 on the first broken promise:

  1. an ingest on one replica is answered by a query on the other (LISTEN/NOTIFY invalidation), and a delete
     on the other disappears from the first; each within 5 s (the latency is printed);
  2. PostgreSQL stopped: queries and ingests answer 503 storage_unavailable, /readyz says why; started again:
     both replicas serve again without a restart;
  3. under a loop of ingests to both replicas, kill -9 one gateway and one broker: the survivors keep
     answering and every acknowledged ingest is listed afterwards;
  4. `sealgate audit verify` over the set of logs (both gateways, both brokers) passes, origins distinct;
  5. a replica started against a database whose schema a newer build migrated refuses to start, clearly.

With --bench it measures instead (docs/benchmarks.md): query throughput and p99 against a gateway on SQLite
and one on PostgreSQL holding the same corpus, same run, and ingest→visibility latency across replicas
(p50/p99 over 50 documents).
"""
import argparse
import concurrent.futures
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

parser = argparse.ArgumentParser()
parser.add_argument("sealgate")
parser.add_argument("--bench", action="store_true")
parser.add_argument("--chunks", type=int, default=2000)
parser.add_argument("--seconds", type=float, default=10)
args = parser.parse_args()
BIN = os.path.abspath(args.sealgate)

work = tempfile.mkdtemp(prefix="sealgate-replicas-")
os.chmod(work, 0o755)
procs = {}


def fail(message):
    print(f"FAIL {message}", flush=True)
    for name, proc in procs.items():
        log = os.path.join(work, name + ".log")
        if os.path.exists(log):
            print(f"---- {name} log (tail)")
            print("".join(open(log, errors="replace").readlines()[-25:]))
    sys.exit(1)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def request(url, key=None, body=None, method=None, timeout=10):
    """(status, parsed JSON or text) of one HTTP request; connection failures are status 0."""
    req = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(), method=method)
    if key:
        req.add_header("Authorization", "Bearer " + key)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as error:
        return 0, repr(error)
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def start(name, argv, env=None):
    log = open(os.path.join(work, name + ".log"), "w")
    procs[name] = subprocess.Popen(argv, cwd=work, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})


def wait_for(url, what, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if request(url)[0] == 200:
            return
        time.sleep(0.2)
    fail(f"{what} did not answer {url} within {seconds} s")


def pg(command, *extra):
    out = subprocess.run(["bash", os.path.join(HERE, "pg_cluster.sh"), command, os.path.join(work, "pg"), *extra],
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


def psql(url, sql):
    user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run(user + ["psql", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", sql], check=True, capture_output=True)


def cleanup():
    for proc in procs.values():
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    try:
        pg("stop")
    except subprocess.CalledProcessError:
        pass
    shutil.rmtree(work, ignore_errors=True)


def query(base, key, question, collection="notes"):
    return request(base + "/v1/query", key, {"question": question, "data_class": "internal", "scope": {"collections": [collection]}})


def cited(base, key, question, document):
    status, answer = query(base, key, question)
    return status == 200 and any(c.get("document_id") == document for c in answer.get("citations", []))


LAST = {}


def ingest(base, key, document, text, collection="notes"):
    status, body = request(f"{base}/v1/collections/{collection}/documents", key,
                           {"id": document, "title": document, "text": text, "data_class": "internal"})
    LAST["ingest"] = (status, body)
    return status


def visibility(one, two, key, n):
    """Seconds from an acknowledged ingest on `one` to the first query on `two` citing it, for n documents."""
    latencies = []
    for i in range(n):
        word = "zq" + secrets.token_hex(4)
        document = f"vis-{i}-{word}"
        if ingest(one, key, document, f"The {word} procedure is documented for replica visibility.") not in (200, 201):
            fail(f"ingest of {document} on replica 1 was not acknowledged: {LAST['ingest']}")
        acknowledged = time.perf_counter()
        while not cited(two, key, f"What about the {word} procedure?", document):
            if time.perf_counter() - acknowledged > 5:
                fail(f"{document} ingested on replica 1 is not visible on replica 2 after 5 s")
            time.sleep(0.005)
        latencies.append(time.perf_counter() - acknowledged)
    return sorted(latencies)


def percentile(values, p):
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


try:
    url = pg("start", str(free_port()))
    print(f"PostgreSQL: {url}")
    # One measured policy and one mock TEE for both gateways: the second replica's state is a copy of the first's.
    subprocess.run([BIN, "measure", "--demo", "--data-dir", "gw1", "--reference-values"], cwd=work, check=True,
                   stdout=open(os.path.join(work, "rv.json"), "w"))
    shutil.copytree(os.path.join(work, "gw1"), os.path.join(work, "gw-sqlite"))
    for replica in ("gw1", "gw2"):
        if replica == "gw2":
            shutil.copytree(os.path.join(work, "gw1"), os.path.join(work, "gw2"))
        with open(os.path.join(work, replica, "sealgate.yaml"), "a") as config:
            config.write(f"\nstorage:\n  type: postgres\n  url: {url}\n")
    key = json.load(open(os.path.join(work, "gw1", "demo-credentials.json")))["tenants"]["acme"]["api_key"]
    master = {"SEALGATE_BROKER_MASTER_KEY": secrets.token_hex(32)}

    brokers = {}
    for name in ("b1", "b2"):
        port = free_port()
        brokers[name] = f"http://127.0.0.1:{port}"
        start(name, [BIN, "broker", "--port", str(port), "--data-dir", "br-" + name, "--reference-values", "rv.json",
                     "--database", url, "--replica", name], master)
        wait_for(brokers[name] + "/healthz", "broker " + name)
    for tenant in ("acme", "globex"):
        steps = [["create-tenant", tenant]] + [["create", tenant, c] for c in ("public", "internal", "confidential", "restricted")]
        for step in steps + [["put-secret", tenant, "gateway-salt"]]:
            # Alternate brokers: what one stores, the other serves.
            via = "b1" if len(step) % 2 else "b2"
            subprocess.run([BIN, "keys", *step, "--broker", brokers[via], "--token-file", "br-b1/admin-token"], cwd=work,
                           check=True, capture_output=True)

    gateways = {}
    for name, data, broker in (("g1", "gw1", "b1"), ("g2", "gw2", "b2")):
        port = free_port()
        gateways[name] = f"http://127.0.0.1:{port}"
        start(name, [BIN, "serve", "--demo", "--data-dir", data, "--port", str(port), "--broker", brokers[broker], "--replica", name])
        wait_for(gateways[name] + "/readyz", "gateway " + name)
    g1, g2 = gateways["g1"], gateways["g2"]
    print("two brokers and two gateways on one database: ready")

    if args.bench:
        port = free_port()
        start("g-sqlite", [BIN, "serve", "--demo", "--data-dir", "gw-sqlite", "--port", str(port), "--broker", brokers["b1"]])
        lite = f"http://127.0.0.1:{port}"
        wait_for(lite + "/readyz", "the SQLite gateway")
        for base in (lite, g1):
            subprocess.run([sys.executable, os.path.join(ROOT, "Benchmarks", "ingest_corpus.py"), base, key, "--chunks", str(args.chunks)],
                           check=True, stdout=subprocess.DEVNULL)
        body = {"question": "Who approves the invoice request?", "data_class": "internal", "scope": {"collections": ["bench"]}}

        def load(base, seconds, workers=8):
            if request(base + "/v1/query", key, body, timeout=900)[0] != 200:  # builds the index, not timed
                fail(f"the warm-up query to {base} failed")
            stop = time.perf_counter() + seconds

            def worker():
                times, errors = [], []
                while time.perf_counter() < stop:
                    begun = time.perf_counter()
                    status, answer = request(base + "/v1/query", key, body, timeout=120)
                    if status != 200:
                        errors.append((status, answer))
                    times.append(time.perf_counter() - begun)
                return times, errors

            with concurrent.futures.ThreadPoolExecutor(workers) as pool:
                results = list(pool.map(lambda _: worker(), range(workers)))
            errors = [e for _, es in results for e in es]
            if errors:
                fail(f"{len(errors)} benchmark queries to {base} failed, first: {errors[0]}")
            times = sorted(t for ts, _ in results for t in ts)
            return len(times) / seconds, percentile(times, 99) * 1000

        results = {name: load(base, args.seconds) for name, base in (("sqlite", lite), ("postgres", g1))}
        for name, (rate, p99) in results.items():
            print(f"query {name}: {rate:.0f} req/s, p99 {p99:.1f} ms ({args.chunks} chunks, 8 clients, {args.seconds:.0f} s)")
        print(f"postgres/sqlite: throughput {results['postgres'][0] / results['sqlite'][0]:.2f}x, "
              f"p99 {results['postgres'][1] / results['sqlite'][1]:.2f}x")
        latencies = visibility(g1, g2, key, 50)
        print(f"ingest on g1 -> visible on g2: p50 {percentile(latencies, 50) * 1000:.1f} ms, "
              f"p99 {percentile(latencies, 99) * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms (n=50)")
        sys.exit(0)

    # 1. Visibility across replicas, both ways.
    latencies = visibility(g1, g2, key, 5)
    print(f"ingest on g1 visible on g2: max {latencies[-1] * 1000:.0f} ms over 5 documents")
    word = "zq" + secrets.token_hex(4)
    if ingest(g2, key, "gone", f"The {word} badge is issued at reception.") not in (200, 201):
        fail("ingest on g2 refused")
    deadline = time.time() + 5
    while not cited(g1, key, f"Where is the {word} badge issued?", "gone"):
        if time.time() > deadline:
            fail("ingest on g2 not visible on g1 within 5 s")
        time.sleep(0.01)
    if request(f"{g2}/v1/collections/notes/documents/gone", key, method="DELETE")[0] not in (200, 204):
        fail("delete on g2 refused")
    deadline = time.time() + 5
    while cited(g1, key, f"Where is the {word} badge issued?", "gone"):
        if time.time() > deadline:
            fail("delete on g2 still cited on g1 after 5 s")
        time.sleep(0.01)
    print("delete on g2 gone from g1: ok")

    # 2. PostgreSQL stopped, then started again.
    pg("stop")
    status, problem = query(g2, key, "How many days per week may I work remotely?", "handbook")
    if status != 503 or "storage_unavailable" not in json.dumps(problem):
        fail(f"query with PostgreSQL stopped: expected 503 storage_unavailable, got {status} {problem}")
    if ingest(g1, key, "while-down", "Written while the database was down.") != 503:
        fail("ingest with PostgreSQL stopped was not refused with 503")
    status, problem = request(g1 + "/readyz")
    if status != 503 or "does not answer" not in json.dumps(problem):
        fail(f"/readyz with PostgreSQL stopped: expected 503 naming the database, got {status} {problem}")
    print(f"PostgreSQL stopped: 503 storage_unavailable, /readyz: {problem.get('detail')}")
    pg("resume")
    for base in (g1, g2):
        deadline = time.time() + 30
        while query(base, key, "How many days per week may I work remotely?", "handbook")[0] != 200:
            if time.time() > deadline:
                fail(f"{base} did not serve again within 30 s of PostgreSQL's restart")
            time.sleep(0.2)
        wait_for(base + "/readyz", base + " readiness after the restart", 30)
    status, listed = request(f"{g1}/v1/collections/notes/documents", key)
    if status != 200 or any(d.get("id") == "while-down" for d in listed.get("documents", [])):
        fail("a refused ingest was stored half")
    print("PostgreSQL started again: both replicas serve, no restart, nothing half-written")

    # 3. kill -9 one gateway and one broker under a loop of ingests.
    acknowledged = []
    for i in range(60):
        if i == 20:
            procs["g1"].send_signal(signal.SIGKILL)
            procs["b1"].send_signal(signal.SIGKILL)
        base = g1 if i % 2 else g2
        document = f"load-{i}"
        if ingest(base, key, document, f"Load document {i} for the kill test.") in (200, 201):
            acknowledged.append(document)
    status, listed = request(f"{g2}/v1/collections/notes/documents", key)
    stored = {d.get("id") for d in listed.get("documents", [])} if status == 200 else set()
    lost = [d for d in acknowledged if d not in stored]
    if lost or len(acknowledged) < 40:
        fail(f"after kill -9: {len(acknowledged)} ingests acknowledged, lost: {lost}")
    if query(g2, key, "How many days per week may I work remotely?", "handbook")[0] != 200:
        fail("the surviving gateway stopped answering after kill -9")
    print(f"kill -9 of g1 and b1 under load: {len(acknowledged)} acknowledged ingests, 0 lost; g2 serves")

    # 4. Every log verifies; origins are per replica.
    procs["g2"].send_signal(signal.SIGTERM)
    procs["g2"].wait(30)
    procs["b2"].send_signal(signal.SIGTERM)
    procs["b2"].wait(30)
    verify = subprocess.run([BIN, "audit", "verify", "--data-dir", "gw1", "gw2", "br-b1", "br-b2"], cwd=work, capture_output=True, text=True)
    print(verify.stdout.strip().splitlines()[-1] if verify.stdout.strip() else verify.stderr)
    if verify.returncode != 0:
        fail("audit verify over the set of logs:\n" + verify.stdout + verify.stderr)

    # 5. A database migrated by a newer build: this build refuses to start against it.
    psql(url, "UPDATE sealgate_schema SET version = version + 1 WHERE component = 'documents'")
    refused = subprocess.run([BIN, "serve", "--data-dir", "gw2", "--port", str(free_port()), "--broker", brokers["b2"], "--replica", "g2"],
                             cwd=work, capture_output=True, text=True, timeout=60)
    output = refused.stdout + refused.stderr
    if refused.returncode == 0 or "newer than this build" not in output:
        fail(f"an older replica started against a newer schema (exit {refused.returncode}): {output[-400:]}")
    print("older replica against a newer schema: refused (" + next(line for line in output.splitlines() if "newer" in line).strip()[:160] + ")")
    print("replicas e2e: ok")
finally:
    cleanup()
