"""Processes, HTTP and PostgreSQL helpers of scripts/replicas_e2e.py: a scratch directory (`work`) whose
child processes (`procs`) are killed, and whose PostgreSQL cluster is stopped, by `cleanup()`."""
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))

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


class Psql:
    """One psql session for quick polls: each statement must return exactly one row of one column."""

    def __init__(self, url):
        user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.proc = subprocess.Popen(user + ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", url],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)

    def one(self, sql):
        self.proc.stdin.write(sql + ";\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            fail(f"psql ended on: {sql}")
        return line.strip()

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(10)


def rewraps(base):
    """acme's sealgate_dek_rewraps_total at a gateway (0 before its first re-wrap)."""
    status, text = request(base + "/metrics")
    if status != 200:
        fail(f"{base}/metrics answered {status}")
    for line in text.splitlines():
        if line.startswith("sealgate_dek_rewraps_total") and 'tenant="acme"' in line:
            return int(float(line.split()[-1]))
    return 0


def audited_rewraps(data_dir, target):
    """Documents moved to key `target` per the `rewrap` records in a gateway's audit log (entries file; a torn
    tail left by kill -9 is ignored)."""
    raw = open(os.path.join(work, data_dir, "audit", "entries"), "rb").read()
    total, at = 0, 0
    while at + 4 <= len(raw):
        size = int.from_bytes(raw[at:at + 4], "big")
        if at + 4 + size > len(raw):
            break
        record = json.loads(raw[at + 4:at + 4 + size])["record"]
        at += 4 + size
        # keyIDs: the versions moved off, then the one that wraps them now (one class here: the last).
        if record.get("kind") == "rewrap" and record.get("tenant") == "acme" and record.get("keyIDs", [""])[-1] == target:
            total += record.get("chunkCount", 0)
    return total


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
