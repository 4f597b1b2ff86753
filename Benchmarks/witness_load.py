#!/usr/bin/env python3
"""Drives a running `sealgate witness` with valid add-checkpoint requests and reports cosignatures per second.

  witness_load.py keys N                      print N log verifier keys (and keep their seeds in ./witness-load-keys.json)
  witness_load.py run PORT --requests R [--mode grow|repeat]

Each of the N logs (one thread and one keep-alive connection each) submits R checkpoints in sequence:
  grow    each checkpoint adds one leaf: a consistency proof from the previous size; the witness verifies it,
          persists its state (write, fsync, rename, fsync) and cosigns
  repeat  the same checkpoint again (old size = size): signature check and cosignature, no state write
Requests are built (Merkle roots, proofs, Ed25519 log signatures) before the clock starts.
"""
import base64, functools, hashlib, http.client, json, sys, threading, time
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization

H = lambda b: hashlib.sha256(b).digest()
KEYS = "witness-load-keys.json"


def largest_pow2_below(n):
    return 1 << ((n - 1).bit_length() - 1)


class Tree:
    def __init__(self, tag):
        self.leaves = [H(b"\x00" + f"{tag}-{i}".encode()) for i in range(1 << 16)]

    @functools.lru_cache(maxsize=None)
    def mth(self, lo, hi):
        if hi - lo == 1:
            return self.leaves[lo]
        k = largest_pow2_below(hi - lo)
        return H(b"\x01" + self.mth(lo, lo + k) + self.mth(lo + k, hi))

    def root(self, n):
        return self.mth(0, n) if n else H(b"")

    def subproof(self, m, lo, hi, complete):  # RFC 9162 2.1.4.1 over leaves [lo, hi)
        n = hi - lo
        if m == n:
            return [] if complete else [self.mth(lo, hi)]
        k = largest_pow2_below(n)
        if m <= k:
            return self.subproof(m, lo, lo + k, complete) + [self.mth(lo + k, hi)]
        return self.subproof(m - k, lo + k, hi, False) + [self.mth(lo, lo + k)]

    def proof(self, old, new):
        return [] if old == 0 or old == new else self.subproof(old, 0, new, True)


def key_for(name, seed):
    private = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed))
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    kid = H(name.encode() + b"\n\x01" + raw)[:4]
    return private, kid, f"{name}+{kid.hex()}+{base64.b64encode(bytes([1]) + raw).decode()}"


def note(name, private, kid, size, root):
    text = f"{name}\n{size}\n{base64.b64encode(root).decode()}\n"
    return text + f"\n\u2014 {name} {base64.b64encode(kid + private.sign(text.encode())).decode()}\n"


def body(old, proof, signed):
    return ("old %d\n" % old + "".join(base64.b64encode(p).decode() + "\n" for p in proof) + "\n" + signed).encode()


def main():
    if sys.argv[1] == "keys":
        import os
        logs = [{"name": f"load.sealgate.local/log{i}", "seed": os.urandom(32).hex()} for i in range(int(sys.argv[2]))]
        json.dump(logs, open(KEYS, "w"))
        for log in logs:
            print(key_for(log["name"], log["seed"])[2])
        return
    port, requests = int(sys.argv[2]), int(sys.argv[sys.argv.index("--requests") + 1])
    mode = sys.argv[sys.argv.index("--mode") + 1] if "--mode" in sys.argv else "grow"
    logs = json.load(open(KEYS))
    plans = []
    for log in logs:
        private, kid, _ = key_for(log["name"], log["seed"])
        tree = Tree(log["name"])
        # Anchor the witness at size 1 first (old 0), then the timed requests.
        anchor = body(0, [], note(log["name"], private, kid, 1, tree.root(1)))
        if mode == "grow":
            timed = [body(n, tree.proof(n, n + 1), note(log["name"], private, kid, n + 1, tree.root(n + 1))) for n in range(1, requests + 1)]
        else:
            timed = [body(1, [], note(log["name"], private, kid, 1, tree.root(1)))] * requests
        plans.append((anchor, timed))
    failures = []

    def drive(anchor, timed):
        conn = http.client.HTTPConnection("127.0.0.1", port)
        for i, b in enumerate([anchor] + timed):
            if i == 1:
                barrier.wait()
            conn.request("POST", "/add-checkpoint", body=b)
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                failures.append(r.status)

    barrier = threading.Barrier(len(plans) + 1)
    threads = [threading.Thread(target=drive, args=p) for p in plans]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    total = len(plans) * requests
    print(f"mode={mode} logs={len(plans)} cosignatures={total - len(failures)} failed={len(failures)} "
          f"seconds={elapsed:.2f} cosignatures_per_s={total / elapsed:.0f}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
