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
  3. DEK re-wrap once across replicas: a KEK rotation at a broker; every DEK of the class is re-wrapped to the
     new version by the one replica holding job `dek-rewrap`, and the re-wraps counted across both replicas
     (`sealgate_dek_rewraps_total`) equal the number of DEKs, not twice that. A second rotation, and kill -9 of
     the holder mid-job: the other replica takes the lease once it lapses and finishes; it re-wraps exactly
     the DEKs the killed one had not (database rows), every DEK is at the new version and every document still
     opens. The killed replica is started again;
  4. under a loop of ingests to both replicas, kill -9 one gateway and one broker: the survivors keep
     answering and every acknowledged ingest is listed afterwards;
  5. `sealgate audit verify` over the set of logs (both gateways, both brokers) passes, origins distinct, and
     the `rewrap` audit records of both gateways account for every re-wrap of step 3 exactly once (the killed
     holder's last batch of at most 64 excepted, which died with it);
  6. a replica started against a database whose schema a newer build migrated refuses to start, clearly.

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
import subprocess
import sys
import time

from replicas_support import (Psql, audited_rewraps, cited, cleanup, fail, free_port, ingest, percentile, pg, procs, psql,
                              query, request, rewraps, start, visibility, wait_for, work)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

parser = argparse.ArgumentParser()
parser.add_argument("sealgate")
parser.add_argument("--bench", action="store_true")
parser.add_argument("--chunks", type=int, default=2000)
parser.add_argument("--seconds", type=float, default=10)
args = parser.parse_args()
# Short key leases, so a replica picks a rotation up within 2/3 of this and the re-wrap job lease (twice this)
# lapses soon after its holder dies. Part of the measured policy: measure and every serve take the same value.
# The benchmark keeps the default lease, so no renewal falls in a timed run.
LEASE = "300" if args.bench else "10"
REWRAP_BATCH = 64  # KeyRing.rewrapBatch: re-wraps per audit record
BIN = os.path.abspath(args.sealgate)

try:
    url = pg("start", str(free_port()))
    print(f"PostgreSQL: {url}")
    # One measured policy and one mock TEE for both gateways: the second replica's state is a copy of the first's.
    subprocess.run([BIN, "measure", "--demo", "--data-dir", "gw1", "--lease-seconds", LEASE, "--reference-values"], cwd=work, check=True,
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
        # b1 takes the URL (with its password) from the environment, b2 on the command line: both forms work.
        database = ["--database-env", "BROKER_DB_URL"] if name == "b1" else ["--database", url]
        start(name, [BIN, "broker", "--port", str(port), "--data-dir", "br-" + name, "--reference-values", "rv.json",
                     *database, "--replica", name], {**master, "BROKER_DB_URL": url})
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
        start(name, [BIN, "serve", "--demo", "--data-dir", data, "--port", str(port), "--broker", brokers[broker], "--replica", name,
                     "--lease-seconds", LEASE])
        wait_for(gateways[name] + "/readyz", "gateway " + name)
    g1, g2 = gateways["g1"], gateways["g2"]
    print("two brokers and two gateways on one database: ready")

    if args.bench:
        port = free_port()
        start("g-sqlite", [BIN, "serve", "--demo", "--data-dir", "gw-sqlite", "--port", str(port), "--broker", brokers["b1"],
                           "--lease-seconds", LEASE])
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

    # 3. DEK re-wrap done once across replicas, and finished by the other replica when its holder is killed.
    db = Psql(url)
    acme_internal = "FROM documents WHERE tenant = 'acme' AND data_class = 'internal'"
    per_gateway = {"g1": ("gw1", "b1"), "g2": ("gw2", "b2")}

    def at_version(version):
        return int(db.one(f"SELECT count(*) {acme_internal} AND dek_version = {version}"))

    def rotate(via):
        subprocess.run([BIN, "keys", "rotate", "acme", "internal", "--broker", brokers[via], "--token-file", "br-b1/admin-token"],
                       cwd=work, check=True, capture_output=True)

    def holder():
        return db.one("SELECT COALESCE((SELECT holder FROM job_leases WHERE job = 'dek-rewrap'), '-')")

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda i: ingest(g1 if i % 2 else g2, key, f"rot-{i}", f"Rotation document {i} about topic {i * 7}.",
                                               "rotation"), range(300)))
    if any(code not in (200, 201) for code in codes):
        fail(f"ingest of the rotation corpus refused: {sorted(set(codes))}")
    dek_count = int(db.one(f"SELECT count(*) {acme_internal}"))
    if at_version(1) != dek_count:
        fail("acme's internal DEKs are not all under KEK version 1 before the rotation")
    before = {name: rewraps(base) for name, base in gateways.items()}
    rotate("b1")
    begun = time.time()
    while at_version(2) != dek_count:
        if time.time() - begun > 60:
            fail(f"after the rotation to v2, {at_version(2)} of {dek_count} DEKs re-wrapped within 60 s")
        time.sleep(0.1)
    done = time.time() - begun
    first = holder()
    time.sleep(float(LEASE) * 2 / 3 + 1)  # a renewal round of both replicas after the job: nothing re-wraps again
    moved = {name: rewraps(base) - before[name] for name, base in gateways.items()}
    if sum(moved.values()) != dek_count or moved.get(first) != dek_count:
        fail(f"rotation to v2: {dek_count} DEKs, re-wraps counted {moved}, job held by {first}")
    print(f"rotation to v2: {dek_count} DEKs re-wrapped in {done:.1f} s, all by {first} (re-wraps per replica: {moved}), none twice")

    before = {name: rewraps(base) for name, base in gateways.items()}
    rotate("b2")
    begun = time.time()
    while True:
        partly = at_version(3)
        if REWRAP_BATCH < partly < dek_count:  # past its first batch, so the killed holder has records to count
            victim = holder()  # the replica holding the job while it runs
            if victim not in gateways:
                fail(f"DEKs are being re-wrapped while job dek-rewrap is held by {victim}")
            procs[victim].send_signal(signal.SIGKILL)
            procs[victim].wait(10)
            break
        if partly == dek_count:
            fail(f"the re-wrap to v3 finished before its holder could be killed mid-job ({dek_count} DEKs)")
        if time.time() - begun > 60:
            fail("no DEK re-wrapped to v3 within 60 s of the second rotation")
    killed_at = time.time()
    survivor = "g2" if victim == "g1" else "g1"
    base_survivor = before[survivor]
    killed_moved = at_version(3)
    if not REWRAP_BATCH < killed_moved < dek_count:
        fail(f"{victim} killed with {killed_moved} of {dek_count} DEKs re-wrapped: not mid-job")
    while at_version(3) != dek_count:
        if time.time() - killed_at > 90:
            fail(f"{survivor} did not finish the re-wrap to v3 within 90 s of {victim}'s kill: {at_version(3)} of {dek_count}")
        time.sleep(0.2)
    took_over = time.time() - killed_at
    if holder() != survivor:
        fail(f"the re-wrap job is held by {holder()}, not the surviving {survivor}")
    deadline = time.time() + 10
    while rewraps(gateways[survivor]) - base_survivor != dek_count - killed_moved:
        if time.time() > deadline:
            fail(f"{survivor} counted {rewraps(gateways[survivor]) - base_survivor} re-wraps, expected "
                 f"{dek_count - killed_moved} (the {dek_count} DEKs less the {killed_moved} {victim} did)")
        time.sleep(0.2)
    if int(db.one(f"SELECT count(*) {acme_internal} AND dek_version <> 3")) != 0:
        fail("DEKs left under an older version after the job")
    status, listed = request(f"{gateways[survivor]}/v1/collections/rotation/documents", key)
    ids = {d.get("id") for d in listed.get("documents", [])} if status == 200 else set()
    if ids != {f"rot-{i}" for i in range(300)}:
        fail(f"after the re-wrap to v3 the rotation corpus does not list in full on {survivor}: {status}, {len(ids)} documents")
    status, answer = query(gateways[survivor], key, "What is rotation document 123 about?", "rotation")
    if status != 200 or not any(c.get("document_id", "").startswith("rot-") for c in answer.get("citations", [])):
        fail(f"a query over the re-wrapped documents on {survivor}: {status} {answer}")
    print(f"rotation to v3, kill -9 of holder {victim} mid-job at {killed_moved}/{dek_count}: {survivor} took the job "
          f"and finished {took_over:.1f} s later, re-wrapping the other {dek_count - killed_moved} (none twice, none lost)")
    # The killed replica comes back (same data dir and name, a new port); the job stays with the survivor.
    data, broker = per_gateway[victim]
    port = free_port()
    gateways[victim] = f"http://127.0.0.1:{port}"
    start(victim + "-again", [BIN, "serve", "--demo", "--data-dir", data, "--port", str(port), "--broker", brokers[broker],
                              "--replica", victim, "--lease-seconds", LEASE])
    procs[victim] = procs.pop(victim + "-again")
    wait_for(gateways[victim] + "/readyz", f"{victim} restarted")
    if rewraps(gateways[victim]) != 0 or holder() != survivor:
        fail(f"the restarted {victim} re-wrapped again or took the job")
    db.close()
    g1, g2 = gateways["g1"], gateways["g2"]
    rewrap_audit = {"v2": (first, dek_count), "v3": (victim, killed_moved, survivor, dek_count - killed_moved)}
    print(f"{victim} restarted after kill -9: serves, re-wraps nothing")

    # 4. kill -9 one gateway and one broker under a loop of ingests.
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

    # 5. Every log verifies; origins are per replica.
    procs["g2"].send_signal(signal.SIGTERM)
    procs["g2"].wait(30)
    procs["b2"].send_signal(signal.SIGTERM)
    procs["b2"].wait(30)
    verify = subprocess.run([BIN, "audit", "verify", "--data-dir", "gw1", "gw2", "br-b1", "br-b2"], cwd=work, capture_output=True, text=True)
    print(verify.stdout.strip().splitlines()[-1] if verify.stdout.strip() else verify.stderr)
    if verify.returncode != 0:
        fail("audit verify over the set of logs:\n" + verify.stdout + verify.stderr)
    # The rewrap records of both logs: the v2 job by one replica, all of it; the v3 job by the survivor for what
    # it moved, and by the killed holder for what it moved less its last batch (it died before recording it).
    audited = {(name, v): audited_rewraps(per_gateway[name][0], f"acme/kek/internal#{v[1]}") for name in ("g1", "g2") for v in ("v2", "v3")}
    holder_v2, count_v2 = rewrap_audit["v2"]
    victim, killed_moved, survivor, survivor_moved = rewrap_audit["v3"]
    if audited[(holder_v2, "v2")] != count_v2 or sum(audited[(n, "v2")] for n in ("g1", "g2")) != count_v2:
        fail(f"rewrap audit records for v2 do not add up to {count_v2} by {holder_v2}: {audited}")
    if audited[(survivor, "v3")] != survivor_moved or not killed_moved - REWRAP_BATCH <= audited[(victim, "v3")] <= killed_moved:
        fail(f"rewrap audit records for v3: {audited}; expected {survivor_moved} by {survivor}, "
             f"{killed_moved} (less at most {REWRAP_BATCH}) by {victim}")
    print(f"rewrap audit records: v2 {count_v2} by {holder_v2}; v3 {audited[(survivor, 'v3')]} by {survivor} + "
          f"{audited[(victim, 'v3')]} of {killed_moved} by the killed {victim}")

    # 6. A database migrated by a newer build: this build refuses to start against it.
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
